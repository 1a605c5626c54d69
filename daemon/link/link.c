/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"
#include "log/log.h"
#include "util/cleanup.h"

struct vs_link_watch {
        struct nl_cache_mngr *mngr;
        struct nl_sock *query; /* for refills: the manager's socket only receives events */
        struct nl_cache *links;
        struct nl_cache *addrs;
        sd_event_source *io;
        sd_event_source *defer; /* coalesces a burst of events into one callback */
        vs_link_changed_fn cb;
        void *userdata;
};

static bool is_wildcard(const struct vs_address *a) {
        if (a->sa.sa_family == AF_INET)
                return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
        static const struct in6_addr any = IN6ADDR_ANY_INIT;
        return memcmp(&a->in6.sin6_addr, &any, sizeof any) == 0;
}

/* Whether the first `bits` bits of two addresses of `len` bytes agree. */
static bool prefix_match(const uint8_t *x, const uint8_t *y, unsigned len, unsigned bits) {
        if (bits > len * 8)
                bits = len * 8;
        if (memcmp(x, y, bits / 8) != 0)
                return false;
        if (bits % 8 == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - bits % 8));
        return (x[bits / 8] & mask) == (y[bits / 8] & mask);
}

static bool available(struct nl_cache *links, struct nl_cache *addrs, const struct vs_address *a) {
        if (is_wildcard(a))
                return true;

        int family = a->sa.sa_family;
        const uint8_t *want = family == AF_INET ? (const uint8_t *) &a->in.sin_addr : (const uint8_t *) &a->in6.sin6_addr;
        unsigned len = family == AF_INET ? 4 : 16;

        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *ra = (struct rtnl_addr *) o;
                if (rtnl_addr_get_family(ra) != family)
                        continue;
                struct nl_addr *local = rtnl_addr_get_local(ra);
                if (!local || nl_addr_get_len(local) != len)
                        continue;

                struct rtnl_link *l = rtnl_link_get(links, rtnl_addr_get_ifindex(ra));
                if (!l)
                        continue;
                unsigned flags = rtnl_link_get_flags(l);
                rtnl_link_put(l);
                if (!(flags & IFF_UP))
                        continue;

                unsigned bits = (flags & IFF_LOOPBACK) ? nl_addr_get_prefixlen(local) : len * 8;
                if (prefix_match(nl_addr_get_binary_addr(local), want, len, bits))
                        return true;
        }
        return false;
}

bool vs_link_watch_available(struct vs_link_watch *w, const struct vs_address *a) {
        return available(w->links, w->addrs, a);
}

int vs_link_address_available(const struct vs_address *a, bool *ret) {
        struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        struct nl_cache *links = NULL, *addrs = NULL;
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r == 0)
                r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
        if (r == 0)
                r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r == 0)
                *ret = available(links, addrs, a);
        if (addrs)
                nl_cache_free(addrs);
        if (links)
                nl_cache_free(links);
        nl_socket_free(sk);
        return r == 0 ? 0 : -EIO;
}

/* libnl merges a changed link into its cached copy without clearing flags that went away
 * (IFF_UP stays set after a link goes down), so the caches are refilled from the kernel once
 * per burst of events instead of trusting the incremental updates. */
static int on_defer(sd_event_source *s, void *userdata) {
        struct vs_link_watch *w = userdata;
        sd_event_source_set_enabled(w->defer, SD_EVENT_OFF);
        int r = nl_cache_refill(w->query, w->links);
        if (r >= 0)
                r = nl_cache_refill(w->query, w->addrs);
        if (r < 0)
                log_warning(NULL, "rtnetlink: cannot refill link and address caches: %s", nl_geterror(r));
        w->cb(w, w->userdata);
        return 0;
}

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *data) {
        struct vs_link_watch *w = data;
        sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct vs_link_watch *w = userdata;
        int r = nl_cache_mngr_data_ready(w->mngr);
        if (r < 0) {
                /* Lost events (ENOBUFS on a busy host): the refill resynchronises. */
                log_warning(NULL, "rtnetlink: %s; refilling link and address caches", nl_geterror(r));
                sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
        }
        return 0;
}

struct vs_link_watch *vs_link_watch_free(struct vs_link_watch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->defer);
        if (w->mngr)
                nl_cache_mngr_free(w->mngr); /* frees the caches it manages */
        if (w->query)
                nl_socket_free(w->query);
        free(w);
        return NULL;
}

int vs_link_watch_new(sd_event *e, vs_link_changed_fn cb, void *userdata, struct vs_link_watch **ret) {
        _cleanup_(vs_link_watch_freep) struct vs_link_watch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->userdata = userdata;

        w->query = nl_socket_alloc();
        if (!w->query)
                return -ENOMEM;
        int r = nl_connect(w->query, NETLINK_ROUTE);
        if (r >= 0)
                r = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &w->mngr);
        if (r < 0)
                return log_error_errno(NULL, -EIO, "rtnetlink: cannot subscribe: %s", nl_geterror(r));
        r = nl_cache_mngr_add(w->mngr, "route/link", on_change, w, &w->links);
        if (r >= 0)
                r = nl_cache_mngr_add(w->mngr, "route/addr", on_change, w, &w->addrs);
        if (r < 0)
                return log_error_errno(NULL, -EIO, "rtnetlink: cannot fill caches: %s", nl_geterror(r));

        r = sd_event_add_io(e, &w->io, nl_cache_mngr_get_fd(w->mngr), EPOLLIN, on_netlink, w);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &w->defer, on_defer, w);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(w->defer, SD_EVENT_OFF);

        *ret = TAKE_PTR(w);
        return 0;
}
