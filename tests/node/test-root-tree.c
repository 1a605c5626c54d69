/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/root_tree.h"
#include "util/cleanup.h"
#include "../check-run.h"

static uint64_t op;

static void put(struct tree *t, const char *name, const char *r0, const char *r1, const char *r2) {
        struct vs_tenant_config c = { .n_replicas = r1 ? 3 : 1 };
        strcpy(c.name, name);
        strcpy(c.replicas[0], r0);
        if (r1) {
                strcpy(c.replicas[1], r1);
                strcpy(c.replicas[2], r2);
        }
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        ck_assert_int_eq(vs_tenant_config_encode(&c, &buf, &len), 0);
        char path[128];
        snprintf(path, sizeof path, VS_ROOT_TENANTS_PATH "/%s", name);
        ck_assert_int_eq(tree_create(t, ++op, path, buf, len, 0, NULL, NULL), 0);
}

static struct tree *root_with_tenants(void) {
        struct tree *t;
        ck_assert_int_eq(tree_new(NULL, &t), 0);
        op = 10;
        ck_assert_int_eq(tree_create(t, ++op, VS_ROOT_TENANTS_PATH, NULL, 0, 0, NULL, NULL), 0);
        put(t, "t1", "a", "b", "c");
        put(t, "t2", "a", "b", "d");
        put(t, "t3", "a", NULL, NULL);
        ck_assert_int_eq(tree_create(t, ++op, VS_ROOT_TENANTS_PATH "/junk", "x", 1, 0, NULL, NULL), 0);
        return t;
}

START_TEST(test_tenant) {
        _cleanup_(tree_freep) struct tree *t = root_with_tenants();
        struct vs_tenant_config c;
        ck_assert_int_eq(vs_root_tree_tenant(t, "t2", &c), 0);
        ck_assert_str_eq(c.name, "t2");
        ck_assert_uint_eq(c.id, 14); /* created by op 13 */
        ck_assert_str_eq(c.replicas[2], "d");
        ck_assert_int_eq(vs_root_tree_tenant(t, "none", &c), -ENOENT);
        ck_assert_int_eq(vs_root_tree_tenant(t, "junk", &c), -EBADMSG);
}
END_TEST

START_TEST(test_capacity) {
        _cleanup_(tree_freep) struct tree *t = root_with_tenants();
        struct vs_tenant_config c = { .name = "new", .n_replicas = 3, .replicas = { "b", "c", "d" } };
        char err[256];
        /* b hosts 2, c 1, d 1. */
        ck_assert_int_eq(vs_root_tree_check_capacity(t, "b", 2, 3, &c, err, sizeof err), 0);
        ck_assert_int_eq(vs_root_tree_check_capacity(t, "b", 2, 2, &c, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'b' hosts 2 tenants, its limit (MaxTenants=2)");
        /* a (3 tenants) is not named: no matter. */
        struct vs_tenant_config on_a = { .name = "x", .n_replicas = 1, .replicas = { "a" } };
        ck_assert_int_eq(vs_root_tree_check_capacity(t, "b", 2, 3, &on_a, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'a' hosts 3 tenants, its limit (MaxTenants=3)");
        /* This node's own count wins when it knows of more than the root's copy says. */
        ck_assert_int_eq(vs_root_tree_check_capacity(t, "c", 5, 3, &c, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'c' hosts 5 tenants, its limit (MaxTenants=3)");
        /* Without a copy of the root: only this node can be counted. */
        ck_assert_int_eq(vs_root_tree_check_capacity(NULL, "d", 0, 1, &c, err, sizeof err), 0);
        ck_assert_int_eq(vs_root_tree_check_capacity(NULL, "d", 1, 1, &c, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'd' hosts 1 tenants, its limit (MaxTenants=1)");
}
END_TEST

int main(void) {
        Suite *s = suite_create("root-tree");
        TCase *tc = tcase_create("root-tree");
        tcase_add_test(tc, test_tenant);
        tcase_add_test(tc, test_capacity);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
