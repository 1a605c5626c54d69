/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where replicas go: a new tenant's, and a replica moving off a node being drained. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/placement.h"
#include "../check-run.h"

static void add_member(struct vs_members *s, const char *name, enum vs_member_state state) {
        struct vs_member m = { .state = state };
        strcpy(m.node.name, name);
        ck_assert_int_eq(vs_members_put(s, &m), 1);
}

static struct vs_tenant_config tenant(const char *name, const char *a, const char *b, const char *c) {
        struct vs_tenant_config t = { .n_replicas = 3 };
        strcpy(t.name, name);
        strcpy(t.replicas[0], a);
        strcpy(t.replicas[1], b);
        strcpy(t.replicas[2], c);
        vs_tenant_config_number(&t);
        return t;
}

/* A drained node's replica goes to the least loaded active member without one of that tenant:
 * never to a node draining, one holding it, or one that just left its group. */
START_TEST(test_pick_move) {
        struct vs_members members = {};
        add_member(&members, "a", VS_MEMBER_ACTIVE);
        add_member(&members, "b", VS_MEMBER_ACTIVE);
        add_member(&members, "c", VS_MEMBER_ACTIVE);
        add_member(&members, "d", VS_MEMBER_ACTIVE);
        add_member(&members, "e", VS_MEMBER_ACTIVE);
        add_member(&members, "f", VS_MEMBER_DRAINING);
        struct vs_tenant_config root = { .n_replicas = 1, .replicas = { "a" } };
        struct vs_cluster_state st = {};
        struct vs_cluster_tenant t1 = { .config = tenant("t1", "a", "b", "c") };
        struct vs_cluster_tenant t2 = { .config = tenant("t2", "b", "d", "f") };
        ck_assert_int_eq(vs_cluster_state_keep_tenant(&st, &t1), 0);
        ck_assert_int_eq(vs_cluster_state_keep_tenant(&st, &t2), 0);

        /* t1 off c: d holds one replica, e none. */
        char to[VS_CONF_NAME_MAX + 1];
        ck_assert_int_eq(vs_placement_pick_move(&members, &st, &root, &t1.config, to), 0);
        ck_assert_str_eq(to, "e");
        /* t2 off f: a (root + t1) and c (t1) and e (none): e, the least loaded. */
        ck_assert_int_eq(vs_placement_pick_move(&members, &st, &root, &t2.config, to), 0);
        ck_assert_str_eq(to, "e");

        /* t1 once moved from c to e: c left in that reconfiguration, so d is the only choice. */
        struct vs_tenant_config moved;
        ck_assert_int_eq(vs_tenant_config_next_epoch(&t1.config, (const char *[]) { "a", "b", "e" }, 3, &moved), 0);
        ck_assert_int_eq(vs_placement_pick_move(&members, &st, &root, &moved, to), 0);
        ck_assert_str_eq(to, "d");

        /* Nowhere to go. */
        struct vs_tenant_config full = tenant("t3", "c", "d", "e");
        ck_assert_int_eq(vs_tenant_config_next_epoch(&full, (const char *[]) { "a", "b", "e" }, 3, &moved), 0);
        ck_assert_int_eq(vs_placement_pick_move(&members, &st, &root, &moved, to), -ENOSPC);

        vs_cluster_state_done(&st);
        vs_members_done(&members);
}
END_TEST

START_TEST(test_pick_new) {
        struct vs_members members = {};
        add_member(&members, "a", VS_MEMBER_ACTIVE);
        add_member(&members, "b", VS_MEMBER_ACTIVE);
        add_member(&members, "c", VS_MEMBER_DRAINING);
        struct vs_tenant_config root = { .n_replicas = 1, .replicas = { "a" } };
        struct vs_cluster_state st = {};
        struct vs_tenant_config c = {};
        ck_assert_int_eq(vs_placement_pick(&members, &st, &root, "t", 1, &c), 0);
        ck_assert_str_eq(c.replicas[0], "b"); /* a holds the root's replica */
        ck_assert_int_eq(vs_placement_pick(&members, &st, &root, "t", 3, &c), -ENOSPC);
        ck_assert_int_eq(vs_placement_pick(&members, &st, &root, "t", 2, &c), -EINVAL);
        vs_members_done(&members);
}
END_TEST

static Suite *placement_suite(void) {
        Suite *s = suite_create("placement");
        TCase *tc = tcase_create("placement");
        tcase_add_test(tc, test_pick_move);
        tcase_add_test(tc, test_pick_new);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(placement_suite());
}
