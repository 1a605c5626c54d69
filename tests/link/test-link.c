/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "link/link.h"
#include "../check-run.h"

static struct vs_address addr(const char *s) {
        struct vs_address a;
        ck_assert_int_eq(vs_address_parse(s, &a), 0);
        return a;
}

static bool one_shot(const char *s) {
        struct vs_address a = addr(s);
        bool ok = false;
        ck_assert_int_eq(vs_link_address_available(&a, &ok), 0);
        return ok;
}

/* Runs inside the test's own network namespace (see main), where only a down lo exists. */

START_TEST(test_fresh_namespace) {
        ck_assert(!one_shot("127.0.0.1:7401"));
        ck_assert(one_shot("0.0.0.0:7401"));
        ck_assert(one_shot("[::]:7401"));
}
END_TEST

static void set_lo_up(struct nl_sock *sk, bool up) {
        struct rtnl_link *lo = NULL, *change = rtnl_link_alloc();
        ck_assert_int_eq(rtnl_link_get_kernel(sk, 0, "lo", &lo), 0);
        if (up)
                rtnl_link_set_flags(change, IFF_UP);
        else
                rtnl_link_unset_flags(change, IFF_UP);
        ck_assert_int_eq(rtnl_link_change(sk, lo, change, 0), 0);
        rtnl_link_put(change);
        rtnl_link_put(lo);
}

/* 198.51.100.0/24 is TEST-NET-2: assigned here to lo inside a private namespace, never routed. */
static void lo_address(struct nl_sock *sk, bool add) {
        struct rtnl_addr *a = rtnl_addr_alloc();
        struct nl_addr *local;
        ck_assert_int_eq(nl_addr_parse("198.51.100.7/32", AF_INET, &local), 0);
        rtnl_addr_set_local(a, local);
        rtnl_addr_set_ifindex(a, 1);
        ck_assert_int_eq(add ? rtnl_addr_add(sk, a, 0) : rtnl_addr_delete(sk, a, 0), 0);
        nl_addr_put(local);
        rtnl_addr_put(a);
}

static int changes;
static void on_changed(struct vs_link_watch *w, void *userdata) {
        changes++;
}

/* Runs the loop (bounded) until the watch sees `a` as `expected`; it must have called back. One
 * change can arrive as several rtnetlink messages, so wait for the state, not for one callback. */
static void wait_for(sd_event *e, struct vs_link_watch *w, const struct vs_address *a, bool expected) {
        int before = changes;
        for (int i = 0; i < 100 && (changes == before || vs_link_watch_available(w, a) != expected); i++)
                ck_assert_int_ge(sd_event_run(e, 50 * 1000), 0);
        ck_assert_int_gt(changes, before);
        ck_assert(vs_link_watch_available(w, a) == expected);
}

START_TEST(test_watch_follows_links_and_addresses) {
        sd_event *e;
        ck_assert_int_eq(sd_event_new(&e), 0);
        struct vs_link_watch *w;
        ck_assert_int_eq(vs_link_watch_new(e, on_changed, NULL, &w), 0);
        struct nl_sock *sk = nl_socket_alloc();
        ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);

        struct vs_address lo1 = addr("127.0.0.1:7401"), lo2 = addr("127.0.0.2:7401"), tn = addr("198.51.100.7:7401"),
                          tn8 = addr("198.51.100.8:7401");
        ck_assert(!vs_link_watch_available(w, &lo1));

        set_lo_up(sk, true);
        wait_for(e, w, &lo1, true);
        ck_assert(vs_link_watch_available(w, &lo2)); /* the loopback prefix is local as a whole */
        ck_assert(!vs_link_watch_available(w, &tn));

        lo_address(sk, true);
        wait_for(e, w, &tn, true);
        ck_assert(!vs_link_watch_available(w, &tn8));

        lo_address(sk, false);
        wait_for(e, w, &tn, false);

        set_lo_up(sk, false);
        wait_for(e, w, &lo1, false);

        nl_socket_free(sk);
        vs_link_watch_free(w);
        sd_event_unref(e);
}
END_TEST

static Suite *link_suite(void) {
        Suite *s = suite_create("link");
        TCase *tc = tcase_create("link");
        tcase_add_test(tc, test_fresh_namespace);
        tcase_add_test(tc, test_watch_follows_links_and_addresses);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        /* A namespace of our own, so the test controls every link and address it sees and touches
         * nothing of the host's. Without the privilege for it, skip (meson's exit code 77). */
        if (unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "cannot create a network namespace (%m); skipping\n");
                return 77;
        }
        return vs_check_run(link_suite());
}
