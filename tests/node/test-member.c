/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Members (NodeInfo values, the sorted set, the cache file) and the cluster state built from the
 * root tree's entries. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cluster_state.h"
#include "node/member.h"
#include "util/cleanup.h"
#include "wire/cluster.pb-c.h"
#include "../check-run.h"

static struct vs_member member(const char *name, const char *peer, const char *client) {
        struct vs_member m = {};
        strcpy(m.node.name, name);
        ck_assert_int_eq(vs_address_parse(peer, &m.node.peer), 0);
        ck_assert_int_eq(vs_address_parse(client, &m.node.client), 0);
        return m;
}

/* A NodeInfo with arbitrary strings, as a hostile or damaged value would be. */
static size_t raw_info(const char *name, const char *peer, const char *client, int state, uint8_t *buf) {
        Viewstamp__NodeInfo pb = VIEWSTAMP__NODE_INFO__INIT;
        pb.name = (char *) name;
        pb.peer_address = (char *) peer;
        pb.client_address = (char *) client;
        pb.state = state;
        return viewstamp__node_info__pack(&pb, buf);
}

START_TEST(test_encode_decode) {
        struct vs_member m = member("n1", "127.0.0.1:7401", "[::1]:7501"), back;
        m.state = VS_MEMBER_DRAINING;
        m.joined_op = 17;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        ck_assert_int_eq(vs_member_encode(&m, &buf, &len), 0);
        ck_assert_int_eq(vs_member_decode(buf, len, &back), 0);
        ck_assert(vs_member_equal(&m, &back));
        ck_assert_str_eq(vs_member_state_name(back.state), "draining");

        uint8_t raw[512];
        size_t n = raw_info("n1", "127.0.0.1:7401", "127.0.0.1:7501", 0, raw);
        ck_assert_int_eq(vs_member_decode(raw, n, &back), 0);
        ck_assert_int_eq(back.state, VS_MEMBER_ACTIVE);
        /* What must never become a peer: a bad name, a host name, no port, an unknown state,
         * bytes that are no NodeInfo. */
        n = raw_info("n\n1", "127.0.0.1:7401", "127.0.0.1:7501", 0, raw);
        ck_assert_int_eq(vs_member_decode(raw, n, &back), -EBADMSG);
        n = raw_info("n1", "localhost:7401", "127.0.0.1:7501", 0, raw);
        ck_assert_int_eq(vs_member_decode(raw, n, &back), -EBADMSG);
        n = raw_info("n1", "127.0.0.1:7401", "127.0.0.1", 0, raw);
        ck_assert_int_eq(vs_member_decode(raw, n, &back), -EBADMSG);
        n = raw_info("n1", "127.0.0.1:7401", "127.0.0.1:7501", 7, raw);
        ck_assert_int_eq(vs_member_decode(raw, n, &back), -EBADMSG);
        ck_assert_int_eq(vs_member_decode((const uint8_t *) "\xff\xff\xff", 3, &back), -EBADMSG);
}
END_TEST

START_TEST(test_set) {
        struct vs_members s = {};
        struct vs_member c = member("c", "127.0.0.1:3", "127.0.0.1:4"), a = member("a", "127.0.0.1:1", "127.0.0.1:2");
        ck_assert_int_eq(vs_members_put(&s, &c), 1);
        ck_assert_int_eq(vs_members_put(&s, &a), 1);
        ck_assert_int_eq(vs_members_put(&s, &a), 0); /* already there */
        ck_assert_uint_eq(s.n, 2);
        ck_assert_str_eq(s.v[0].node.name, "a"); /* kept sorted */
        a.state = VS_MEMBER_DRAINING;
        ck_assert_int_eq(vs_members_put(&s, &a), 1);
        ck_assert_int_eq(vs_members_find(&s, "a")->state, VS_MEMBER_DRAINING);
        ck_assert_ptr_null(vs_members_find(&s, "b"));

        struct vs_members t = {};
        ck_assert_int_eq(vs_members_copy(&s, &t), 0);
        ck_assert(vs_members_equal(&s, &t));
        ck_assert(vs_members_remove(&t, "a"));
        ck_assert(!vs_members_remove(&t, "a"));
        ck_assert(!vs_members_equal(&s, &t));
        ck_assert_str_eq(t.v[0].node.name, "c");

        for (int i = 0; i < VS_CONF_NODES_MAX + 1; i++) {
                struct vs_member m = member("x", "127.0.0.1:1", "127.0.0.1:2");
                snprintf(m.node.name, sizeof m.node.name, "m%03d", i);
                int want = t.n < VS_CONF_NODES_MAX ? 1 : -E2BIG;
                ck_assert_int_eq(vs_members_put(&t, &m), want);
        }
        ck_assert_uint_eq(t.n, VS_CONF_NODES_MAX);
        vs_members_done(&s);
        vs_members_done(&t);
}
END_TEST

START_TEST(test_cache) {
        char dir[] = "/tmp/test-member-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);

        struct vs_members s = {}, back = {};
        ck_assert_int_eq(vs_members_load(fd, &back), -ENOENT);
        struct vs_member a = member("a", "127.0.0.1:1", "127.0.0.1:2"), b = member("b", "[::1]:3", "[::1]:4");
        b.joined_op = 9;
        ck_assert_int_eq(vs_members_put(&s, &a), 1);
        ck_assert_int_eq(vs_members_put(&s, &b), 1);
        ck_assert_int_eq(vs_members_save(fd, &s), 0);
        ck_assert_int_eq(vs_members_load(fd, &back), 0);
        ck_assert(vs_members_equal(&s, &back));

        /* Any flipped byte is found; what was loaded before stays. */
        struct stat st;
        int f = openat(fd, "members.cache", O_RDWR);
        ck_assert_int_ge(f, 0);
        ck_assert_int_eq(fstat(f, &st), 0);
        for (off_t i = 0; i < st.st_size; i++) {
                char c;
                ck_assert_int_eq(pread(f, &c, 1, i), 1);
                c ^= 0x40;
                ck_assert_int_eq(pwrite(f, &c, 1, i), 1);
                ck_assert_int_eq(vs_members_load(fd, &back), -EBADMSG);
                ck_assert(vs_members_equal(&s, &back));
                c ^= 0x40;
                ck_assert_int_eq(pwrite(f, &c, 1, i), 1);
        }
        ck_assert_int_eq(ftruncate(f, st.st_size - 1), 0);
        ck_assert_int_eq(vs_members_load(fd, &back), -EBADMSG);
        close(f);

        ck_assert_int_eq(unlinkat(fd, "members.cache", 0), 0);
        close(fd);
        ck_assert_int_eq(rmdir(dir), 0);
        vs_members_done(&s);
        vs_members_done(&back);
}
END_TEST

START_TEST(test_cluster_state) {
        struct vs_cluster_state st = {};
        struct vs_member a = member("a", "127.0.0.1:1", "127.0.0.1:2");
        _cleanup_free_ uint8_t *v = NULL;
        size_t len;
        ck_assert_int_eq(vs_member_encode(&a, &v, &len), 0);
        ck_assert_int_eq(vs_cluster_state_add_member(&st, "a", 5, v, len), 0);
        ck_assert_uint_eq(vs_members_find(&st.members, "a")->joined_op, 5); /* from the tree, not the value */
        ck_assert_int_eq(vs_cluster_state_add_member(&st, "b", 6, v, len), -EBADMSG); /* names another node */
        ck_assert_uint_eq(st.members.n, 1);

        struct vs_tenant_config c = { .name = "t2", .n_replicas = 3, .replicas = { "a", "b", "c" } };
        vs_tenant_config_number(&c);
        _cleanup_free_ uint8_t *tv = NULL;
        ck_assert_int_eq(vs_tenant_config_encode(&c, &tv, &len), 0);
        ck_assert_int_eq(vs_cluster_state_add_tenant(&st, "t2", 10, 12, tv, len), 0);
        ck_assert_int_eq(vs_cluster_state_add_tenant(&st, "t3", 10, 12, tv, len), -EBADMSG);
        ck_assert_int_eq(vs_cluster_state_add_tenant(&st, "t2", 10, 12, (const uint8_t *) "\xff", 1), -EBADMSG);
        const struct vs_cluster_tenant *t = vs_cluster_state_find_tenant(&st, "t2");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->config.id, 11);
        ck_assert_uint_eq(t->modified_op, 12);

        struct vs_cluster_tenant t1 = { .config = { .name = "t1", .id = 3, .n_replicas = 1, .replicas = { "c" } } };
        ck_assert_int_eq(vs_cluster_state_keep_tenant(&st, &t1), 0);
        ck_assert_uint_eq(st.n_tenants, 2);
        ck_assert_str_eq(st.tenants[0].config.name, "t1"); /* sorted */
        ck_assert_uint_eq(vs_cluster_state_hosted(&st, "c"), 2);
        ck_assert_uint_eq(vs_cluster_state_hosted(&st, "a"), 1);
        ck_assert_uint_eq(vs_cluster_state_hosted(&st, "z"), 0);
        ck_assert_ptr_null(vs_cluster_state_find_tenant(&st, "t0"));
        vs_cluster_state_done(&st);
}
END_TEST

START_TEST(test_capacity) {
        struct vs_cluster_state st = {};
        static const struct vs_cluster_tenant held[] = {
                { .config = { .name = "t1", .id = 1, .n_replicas = 3, .replicas = { "a", "b", "c" } } },
                { .config = { .name = "t2", .id = 2, .n_replicas = 3, .replicas = { "a", "b", "d" } } },
                { .config = { .name = "t3", .id = 3, .n_replicas = 1, .replicas = { "a" } } },
        };
        for (size_t i = 0; i < 3; i++)
                ck_assert_int_eq(vs_cluster_state_keep_tenant(&st, &held[i]), 0);
        struct vs_tenant_config c = { .name = "new", .n_replicas = 3, .replicas = { "b", "c", "d" } };
        char err[256];
        /* b hosts 2, c 1, d 1. */
        ck_assert_int_eq(vs_cluster_state_check_capacity(&st, "b", 2, 3, &c, err, sizeof err), 0);
        ck_assert_int_eq(vs_cluster_state_check_capacity(&st, "b", 2, 2, &c, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'b' hosts 2 tenants, its limit (MaxTenants=2)");
        /* a (3 tenants) is named only by the second. */
        struct vs_tenant_config on_a = { .name = "x", .n_replicas = 1, .replicas = { "a" } };
        ck_assert_int_eq(vs_cluster_state_check_capacity(&st, "b", 2, 3, &on_a, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'a' hosts 3 tenants, its limit (MaxTenants=3)");
        /* This node's own count wins when it hosts more than the state knows of. */
        ck_assert_int_eq(vs_cluster_state_check_capacity(&st, "c", 5, 3, &c, err, sizeof err), -EUSERS);
        ck_assert_str_eq(err, "node 'c' hosts 5 tenants, its limit (MaxTenants=3)");
        vs_cluster_state_done(&st);
}
END_TEST

static Suite *member_suite(void) {
        Suite *s = suite_create("member");
        TCase *tc = tcase_create("member");
        tcase_add_test(tc, test_encode_decode);
        tcase_add_test(tc, test_set);
        tcase_add_test(tc, test_cache);
        tcase_add_test(tc, test_cluster_state);
        tcase_add_test(tc, test_capacity);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(member_suite());
}
