/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "node/routes.h"
#include "../check-run.h"

static struct vs_tenant_config three(void) {
        struct vs_tenant_config c = { .name = "t", .id = 9, .n_replicas = 3, .replicas = { "a", "b", "c" } };
        vs_tenant_config_number(&c);
        return c;
}

START_TEST(test_epoch_zero) {
        struct vs_routes r = {};
        struct vs_tenant_config c = three();
        vs_routes_learn_config(&r, &c);
        ck_assert_str_eq(vs_routes_node(&r, 2), "c");
        ck_assert_ptr_null(vs_routes_node(&r, 3));
        uint64_t id;
        uint32_t index;
        ck_assert_int_eq(vs_routes_sender(&r, "b", 0, &id, &index), 0);
        ck_assert_uint_eq(id, 1);
        ck_assert_uint_eq(index, 1);
        /* An epoch nobody told this node of: the sender is known, its index is not. */
        ck_assert_int_eq(vs_routes_sender(&r, "b", 1, &id, &index), 0);
        ck_assert_uint_eq(index, VR_NO_INDEX);
        ck_assert_int_eq(vs_routes_sender(&r, "z", 0, &id, &index), -ENOENT);
}
END_TEST

/* 3 -> 5 -> 3: during and after each step, members of both epochs are reachable by id, and a
 * sender's index is its place in the epoch its message names. */
START_TEST(test_reconfigurations) {
        struct vs_routes r = {};
        struct vs_tenant_config c = three(), five, back;
        vs_routes_learn_config(&r, &c);
        ck_assert_int_eq(vs_tenant_config_next_epoch(&c, (const char *[]) { "d", "a", "b", "c", "e" }, 5, &five), 0);
        vs_routes_learn_config(&r, &five);
        ck_assert_str_eq(vs_routes_node(&r, 3), "d");
        ck_assert_str_eq(vs_routes_node(&r, 4), "e");
        uint64_t id;
        uint32_t index;
        ck_assert_int_eq(vs_routes_sender(&r, "a", 0, &id, &index), 0);
        ck_assert_uint_eq(index, 0);
        ck_assert_int_eq(vs_routes_sender(&r, "a", 1, &id, &index), 0);
        ck_assert_uint_eq(id, 0);
        ck_assert_uint_eq(index, 1);
        ck_assert_int_eq(vs_routes_sender(&r, "d", 0, &id, &index), 0);
        ck_assert_uint_eq(id, 3);
        ck_assert_uint_eq(index, VR_NO_INDEX); /* not a member of epoch 0 */

        five.reconfiguring = false;
        ck_assert_int_eq(vs_tenant_config_next_epoch(&five, (const char *[]) { "e", "b", "d" }, 3, &back), 0);
        vs_routes_learn_config(&r, &back);
        ck_assert_int_eq(vs_routes_sender(&r, "e", 2, &id, &index), 0);
        ck_assert_uint_eq(id, 4);
        ck_assert_uint_eq(index, 0);
        ck_assert_int_eq(vs_routes_sender(&r, "a", 2, &id, &index), 0); /* left, still routable */
        ck_assert_uint_eq(index, VR_NO_INDEX);
        ck_assert_str_eq(vs_routes_node(&r, 0), "a");

        /* What the replica reports of an epoch the configuration has not reached yet. */
        uint64_t next[] = { 4, 1, 3, 7, 8 };
        vs_routes_learn_epoch(&r, 3, 5, next);
        ck_assert_int_eq(vs_routes_sender(&r, "d", 3, &id, &index), 0);
        ck_assert_uint_eq(index, 2);
        ck_assert_ptr_null(vs_routes_node(&r, 7)); /* no node until a configuration names it */
}
END_TEST

/* The table keeps the newest ids and epochs: older ones are replicas long stopped. */
START_TEST(test_bounded) {
        struct vs_routes r = {};
        struct vs_tenant_config c = three();
        vs_routes_learn_config(&r, &c);
        for (int k = 0; k < 10; k++) {
                const char *nodes[] = { "a", "b", k % 2 ? "c" : "x" };
                struct vs_tenant_config next;
                ck_assert_int_eq(vs_tenant_config_next_epoch(&c, nodes, 3, &next), 0);
                next.reconfiguring = false;
                vs_routes_learn_config(&r, &next);
                c = next;
        }
        ck_assert_uint_le(r.n, VS_ROUTES_MAX);
        ck_assert_uint_eq(r.n_epochs, VS_ROUTES_EPOCHS);
        uint64_t id;
        uint32_t index;
        ck_assert_int_eq(vs_routes_sender(&r, "c", c.epoch, &id, &index), 0);
        ck_assert_uint_eq(id, c.member_ids[2]);
        ck_assert_uint_eq(index, 2);
        ck_assert_str_eq(vs_routes_node(&r, c.member_ids[2]), "c");
        ck_assert_str_eq(vs_routes_node(&r, 0), "a");
        ck_assert_int_eq(vs_routes_sender(&r, "a", 0, &id, &index), 0);
        ck_assert_uint_eq(index, VR_NO_INDEX); /* epoch 0 forgotten */
}
END_TEST

static Suite *routes_suite(void) {
        Suite *s = suite_create("routes");
        TCase *tc = tcase_create("routes");
        tcase_add_test(tc, test_epoch_zero);
        tcase_add_test(tc, test_reconfigurations);
        tcase_add_test(tc, test_bounded);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(routes_suite());
}
