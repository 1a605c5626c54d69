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
        vs_tenant_config_number(&c);
        c.epoch = 3;
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

static struct vs_tenant_config roundtrip(const struct vs_tenant_config *c) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct vs_tenant_config back;
        ck_assert_int_eq(vs_tenant_config_encode(c, &buf, &len), 0);
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &back), 0);
        return back;
}

/* Configurations written before member ids existed number their replicas 0..n-1. */
START_TEST(test_old_config_ids) {
        char *names[] = { (char *) "a", (char *) "b", (char *) "c" };
        Viewstamp__TenantConfig pb = VIEWSTAMP__TENANT_CONFIG__INIT;
        pb.name = (char *) "t";
        pb.id = 7;
        pb.replicas = names;
        pb.n_replicas = 3;
        uint8_t buf[128];
        size_t len = viewstamp__tenant_config__pack(&pb, buf);
        struct vs_tenant_config c;
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &c), 0);
        for (uint32_t i = 0; i < 3; i++)
                ck_assert_uint_eq(c.member_ids[i], i);
        ck_assert_uint_eq(c.next_member_id, 3);
        ck_assert_uint_eq(c.n_old, 0);
        ck_assert(!c.reconfiguring);

        /* Ids given must be as many as the replicas, distinct and below next_member_id. */
        uint64_t ids[] = { 4, 9, 4 };
        pb.member_ids = ids;
        pb.n_member_ids = 2;
        len = viewstamp__tenant_config__pack(&pb, buf);
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &c), -EBADMSG);
        pb.n_member_ids = 3;
        len = viewstamp__tenant_config__pack(&pb, buf);
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &c), -EBADMSG);
        pb.member_ids[2] = 5;
        pb.next_member_id = 9;
        len = viewstamp__tenant_config__pack(&pb, buf);
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &c), -EBADMSG);
        pb.next_member_id = 10;
        len = viewstamp__tenant_config__pack(&pb, buf);
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &c), 0);
        ck_assert_uint_eq(c.member_ids[1], 9);
        ck_assert_uint_eq(c.next_member_id, 10);
}
END_TEST

/* 3 -> 5 -> 3, then a move: kept nodes keep their ids, new ones get fresh ids, never reused. */
START_TEST(test_next_epoch) {
        struct vs_tenant_config c = { .name = "t", .id = 9, .n_replicas = 3, .replicas = { "a", "b", "c" } };
        vs_tenant_config_number(&c);
        const char *five[] = { "a", "b", "c", "d", "e" };
        struct vs_tenant_config x;
        ck_assert_int_eq(vs_tenant_config_next_epoch(&c, five, 5, &x), 0);
        ck_assert_uint_eq(x.epoch, 1);
        ck_assert(x.reconfiguring);
        ck_assert_uint_eq(x.n_replicas, 5);
        ck_assert_uint_eq(x.member_ids[2], 2);
        ck_assert_uint_eq(x.member_ids[3], 3);
        ck_assert_uint_eq(x.member_ids[4], 4);
        ck_assert_uint_eq(x.next_member_id, 5);
        ck_assert_uint_eq(x.n_old, 3);
        ck_assert_str_eq(x.old_replicas[1], "b");
        struct vs_tenant_config back = roundtrip(&x);
        ck_assert_int_eq(memcmp(&back, &x, sizeof x), 0);
        ck_assert(vs_tenant_config_same_nodes(&x, (const char *[]) { "e", "d", "c", "b", "a" }, 5));
        ck_assert(!vs_tenant_config_same_nodes(&x, five, 3));

        x.reconfiguring = false;
        const char *three[] = { "e", "b", "d" };
        struct vs_tenant_config y;
        ck_assert_int_eq(vs_tenant_config_next_epoch(&x, three, 3, &y), 0);
        ck_assert_uint_eq(y.epoch, 2);
        ck_assert_uint_eq(y.member_ids[0], 4);
        ck_assert_uint_eq(y.member_ids[1], 1);
        ck_assert_uint_eq(y.member_ids[2], 3);
        ck_assert_uint_eq(y.next_member_id, 5);
        uint64_t id;
        ck_assert_int_eq(vs_tenant_config_member_id(&y, "a", &id), 0); /* left: still routable */
        ck_assert_uint_eq(id, 0);
        ck_assert_int_eq(vs_tenant_config_member_id(&y, "d", &id), 0);
        ck_assert_uint_eq(id, 3);
        ck_assert_int_eq(vs_tenant_config_member_id(&y, "z", &id), -ENOENT);

        /* Moving b to a: a is a new member now, with an id never used. */
        const char *moved[] = { "e", "a", "d" };
        struct vs_tenant_config z;
        ck_assert_int_eq(vs_tenant_config_next_epoch(&y, moved, 3, &z), 0);
        ck_assert_uint_eq(z.member_ids[1], 5);
        ck_assert_uint_eq(z.next_member_id, 6);
        back = roundtrip(&z);
        ck_assert_int_eq(memcmp(&back, &z, sizeof z), 0);

        /* The same move computed from the configuration, and asked again once recorded. */
        const char *nodes[VS_TENANT_REPLICAS_MAX];
        uint32_t n;
        ck_assert_int_eq(vs_tenant_config_move(&y, "b", "a", nodes, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(nodes[0], "e");
        ck_assert_str_eq(nodes[1], "a");
        ck_assert_str_eq(nodes[2], "d");
        ck_assert_int_eq(vs_tenant_config_move(&z, "b", "a", nodes, &n), 0);
        ck_assert(vs_tenant_config_same_nodes(&z, nodes, n));
        ck_assert_int_eq(vs_tenant_config_move(&y, "b", "e", nodes, &n), -EEXIST);
        ck_assert_int_eq(vs_tenant_config_move(&y, "x", "z", nodes, &n), -ENOENT);

        ck_assert_int_eq(vs_tenant_config_next_epoch(&y, moved, 2, &z), -EINVAL);
        ck_assert_int_eq(vs_tenant_config_next_epoch(&y, (const char *[]) { "a", "a", "b" }, 3, &z), -EINVAL);
}
END_TEST

static Suite *tenant_config_suite(void) {
        Suite *s = suite_create("tenant-config");
        TCase *tc = tcase_create("tenant-config");
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_config_rules);
        tcase_add_test(tc, test_root_group_size);
        tcase_add_test(tc, test_files);
        tcase_add_test(tc, test_old_config_ids);
        tcase_add_test(tc, test_next_epoch);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(tenant_config_suite());
}
