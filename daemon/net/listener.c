/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log/log.h"
#include "log/ratelimit.h"
#include "net/listener.h"
#include "util/cleanup.h"

#define ACCEPTS_PER_WAKEUP 64
#define EMFILE_PAUSE_USEC (100u * 1000u)
#define REFUSAL_LOG_INTERVAL_USEC (1000u * 1000u)

struct vs_listener {
        sd_event *event;
        int fd;
        sd_event_source *io, *pause;
        struct vs_address addr;
        char addr_str[VS_ADDRESS_STRING_MAX];

        unsigned max_connections, connections;
        vs_listener_accept_fn on_accept;
        void *userdata;

        struct vs_ratelimit refusal_log;
};

struct vs_listener *vs_listener_free(struct vs_listener *l) {
        if (!l)
                return NULL;
        sd_event_source_disable_unref(l->io);
        sd_event_source_disable_unref(l->pause);
        closep(&l->fd);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

static void refuse_full(struct vs_listener *l, int fd, const struct vs_address *remote) {
        close(fd);
        uint64_t now = 0;
        (void) sd_event_now(l->event, CLOCK_MONOTONIC, &now);
        unsigned unlogged;
        if (!vs_ratelimit_allow(&l->refusal_log, now, REFUSAL_LOG_INTERVAL_USEC, 1, &unlogged))
                return;
        char buf[VS_ADDRESS_STRING_MAX];
        struct vs_log_ctx ctx = { .peer = vs_address_to_string(remote, buf) };
        if (unlogged > 0)
                log_warning(&ctx, "refusing connection on %s: all %u connection slots in use (and %u more since the last report)",
                            l->addr_str, l->max_connections, unlogged);
        else
                log_warning(&ctx, "refusing connection on %s: all %u connection slots in use",
                            l->addr_str, l->max_connections);
}

static int on_pause_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vs_listener *l = userdata;
        return sd_event_source_set_enabled(l->io, SD_EVENT_ON);
}

/* Out of file descriptors: the pending connection stays in the backlog and epoll would report
 * it again at once, so stop listening for a moment rather than spin. The timer exists from the
 * start: creating one now could need the very file descriptor that is missing. */
static int pause_accepting(struct vs_listener *l, int err) {
        struct vs_log_ctx ctx = {};
        log_warning_errno(&ctx, err, "pausing accept on %s for %u ms", l->addr_str, EMFILE_PAUSE_USEC / 1000);
        uint64_t now;
        int r = sd_event_now(l->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(l->pause, now + EMFILE_PAUSE_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->pause, SD_EVENT_ONESHOT);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->io, SD_EVENT_OFF);
        return r;
}

static int on_listen_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct vs_listener *l = userdata;

        for (unsigned i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                struct vs_address remote = { .len = sizeof remote.in6 };
                int cfd = accept4(l->fd, &remote.sa, &remote.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                return pause_accepting(l, -errno);
                        /* EAGAIN: drained. ECONNABORTED, EPROTO, ...: that one connection's problem. */
                        if (errno == EAGAIN)
                                return 0;
                        continue;
                }
                if (l->connections >= l->max_connections) {
                        refuse_full(l, cfd, &remote);
                        continue;
                }
                if (l->on_accept(l, cfd, &remote, l->userdata) < 0)
                        continue; /* the callback owned and closed it */
                l->connections++;
        }
        return 0;
}

int vs_listener_new(sd_event *e, const struct vs_address *addr, unsigned max_connections,
                    vs_listener_accept_fn on_accept, void *userdata, struct vs_listener **ret) {
        _cleanup_listener_ struct vs_listener *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->fd = -1;
        l->event = sd_event_ref(e);
        l->addr = *addr;
        l->max_connections = max_connections ? max_connections : 1;
        l->on_accept = on_accept;
        l->userdata = userdata;
        vs_address_to_string(addr, l->addr_str);
        struct vs_log_ctx ctx = {};

        l->fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
                return log_error_errno(&ctx, -errno, "cannot create a socket for %s", l->addr_str);
        if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)) < 0)
                return log_error_errno(&ctx, -errno, "cannot set SO_REUSEADDR on %s", l->addr_str);
        if (addr->sa.sa_family == AF_INET6 &&
            setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int) { 1 }, sizeof(int)) < 0)
                return log_error_errno(&ctx, -errno, "cannot set IPV6_V6ONLY on %s", l->addr_str);
        if (bind(l->fd, &addr->sa, addr->len) < 0)
                return log_error_errno(&ctx, -errno, "cannot bind %s", l->addr_str);
        if (listen(l->fd, SOMAXCONN) < 0)
                return log_error_errno(&ctx, -errno, "cannot listen on %s", l->addr_str);

        l->addr.len = sizeof l->addr.in6;
        if (getsockname(l->fd, &l->addr.sa, &l->addr.len) < 0)
                return log_error_errno(&ctx, -errno, "cannot read the address bound for %s", l->addr_str);
        vs_address_to_string(&l->addr, l->addr_str);

        int r = sd_event_add_io(e, &l->io, l->fd, EPOLLIN, on_listen_io, l);
        if (r >= 0)
                r = sd_event_add_time(e, &l->pause, CLOCK_MONOTONIC, 0, 0, on_pause_end, l);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->pause, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(&ctx, r, "cannot watch %s", l->addr_str);
        log_debug(&ctx, "listening on %s", l->addr_str);
        *ret = TAKE_PTR(l);
        return 0;
}

const struct vs_address *vs_listener_address(const struct vs_listener *l) {
        return &l->addr;
}

void vs_listener_release(struct vs_listener *l) {
        if (l->connections > 0)
                l->connections--;
}

unsigned vs_listener_connections(const struct vs_listener *l) {
        return l->connections;
}
