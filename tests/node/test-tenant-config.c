/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/tenant_config.h"
#include "util/cleanup.h"
#include "../check-run.h"

static struct vs_conf conf3(void) {
        struct vs_conf c;
        vs_conf_defaults(&c);
        strcpy(c.name, "a");
        const char *names[] = { "a", "b", "c" };
        for (size_t i = 0; i < 3; i++) {
                strcpy(c.nodes[i].name, names[i]);
                c.n_nodes++;
        }
        return c;
}

START_TEST(test_names) {
        ck_assert(vs_tenant_name_valid("accounts", false));
        ck_assert(vs_tenant_name_valid("a.b_c-9", false));
        ck_assert(!vs_tenant_name_valid("", false));
        ck_assert(!vs_tenant_name_valid("-x", false));
        ck_assert(!vs_tenant_name_valid(".root", false)); /* reserved for the cluster's own */
        ck_assert(vs_tenant_name_valid(".root", true));
        ck_assert(!vs_tenant_name_valid("..", true));
        ck_assert(!vs_tenant_name_valid("a/b", false));
        ck_assert(!vs_tenant_name_valid("a b", false));
        char longest[VS_TENANT_NAME_MAX + 2];
        memset(longest, 'x', sizeof longest);
        longest[VS_TENANT_NAME_MAX] = 0;
        ck_assert(vs_tenant_name_valid(longest, false));
        longest[VS_TENANT_NAME_MAX] = 'x';
        longest[VS_TENANT_NAME_MAX + 1] = 0;
        ck_assert(!vs_tenant_name_valid(longest, false));
}
END_TEST

START_TEST(test_config_rules) {
        struct vs_conf conf = conf3();
        struct vs_members members = {};
        ck_assert_int_eq(vs_members_from_conf(&members, &conf), 0);
        struct vs_tenant_config c = { .name = "t", .n_replicas = 3, .replicas = { "a", "b", "c" } };
        char err[256];
        ck_assert_int_eq(vs_tenant_config_check(&c, &members, err, sizeof err), 0);
        ck_assert_int_eq(vs_tenant_config_index(&c, "c"), 2);
        ck_assert_int_eq(vs_tenant_config_index(&c, "z"), -ENOENT);

        c.n_replicas = 2;
        ck_assert_int_eq(vs_tenant_config_check(&c, &members, err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "a tenant has 1, 3 or 5 replicas, not 2");
        c.n_replicas = 3;
        strcpy(c.replicas[2], "a");
        ck_assert_int_eq(vs_tenant_config_check(&c, &members, err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "node 'a' named twice: replicas must be on distinct nodes");
        strcpy(c.replicas[2], "zz");
        ck_assert_int_eq(vs_tenant_config_check(&c, &members, err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "'zz' is not a node of this cluster");
        vs_members_done(&members);
}
END_TEST

START_TEST(test_root_group_size) {
        struct vs_conf conf = conf3();
        struct vs_tenant_config root;
        for (size_t n = 1; n <= 7; n++) {
                conf.n_nodes = n;
                for (size_t i = 0; i < n; i++)
                        snprintf(conf.nodes[i].name, sizeof conf.nodes[i].name, "n%zu", i);
                vs_tenant_config_root(&conf, &root);
                ck_assert_uint_eq(root.n_replicas, n >= 5 ? 5 : n >= 3 ? 3 : 1);
                ck_assert_str_eq(root.replicas[0], "n0");
                ck_assert_str_eq(root.name, VS_ROOT_TENANT_NAME);
                ck_assert_uint_eq(root.id, VS_ROOT_TENANT_ID);
        }
}
END_TEST

static int count_loaded(void *ctx, const struct vs_tenant_config *c) {
        struct vs_tenant_config *out = ctx;
        *out = *c;
        return 0;
}

START_TEST(test_files) {
        char dir[] = "/tmp/test-tenant-config-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);

        struct vs_tenant_config c = { .name = "accounts", .id = 42, .epoch = 3, .n_replicas = 3,
                                      .replicas = { "a", "b", "c" } }, back = {};
        char err[256] = "";
        ck_assert(!vs_tenant_config_exists(fd, 42));
        ck_assert_int_eq(vs_tenant_config_save(fd, &c), 0);
        ck_assert(vs_tenant_config_exists(fd, 42));
        ck_assert_int_eq(vs_tenant_config_load_all(fd, count_loaded, &back, err, sizeof err), 0);
        ck_assert_int_eq(memcmp(&c, &back, sizeof c), 0);

        /* A flipped byte is found, and the error names the file. */
        int f = openat(fd, "tenant-000000000000002a.conf", O_RDWR);
        ck_assert_int_ge(f, 0);
        char b;
        ck_assert_int_eq(pread(f, &b, 1, 3), 1);
        b ^= 0x10;
        ck_assert_int_eq(pwrite(f, &b, 1, 3), 1);
        close(f);
        ck_assert_int_eq(vs_tenant_config_load_all(fd, count_loaded, &back, err, sizeof err), -EBADMSG);
        ck_assert_str_eq(err, "tenant-000000000000002a.conf: damaged tenant configuration");

        ck_assert_int_eq(vs_tenant_config_remove(fd, 42), 0);
        ck_assert(!vs_tenant_config_exists(fd, 42));
        close(fd);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *tenant_config_suite(void) {
        Suite *s = suite_create("tenant-config");
        TCase *tc = tcase_create("tenant-config");
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_config_rules);
        tcase_add_test(tc, test_root_group_size);
        tcase_add_test(tc, test_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(tenant_config_suite());
}
