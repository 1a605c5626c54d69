/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cluster's identity file and join tokens. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/identity.h"
#include "util/consteq.h"
#include "../check-run.h"

START_TEST(test_new) {
        struct vs_identity a, b;
        ck_assert_int_eq(vs_identity_new("n1", &a), 0);
        ck_assert_int_eq(vs_identity_new("n1", &b), 0);
        ck_assert_uint_ne(a.cluster_id, 0);
        ck_assert_uint_ne(a.cluster_id, b.cluster_id);
        ck_assert(!vs_consteq(a.join_secret.bytes, b.join_secret.bytes, VS_SECRET_SIZE));
        ck_assert_str_eq(a.root.name, VS_ROOT_TENANT_NAME);
        ck_assert_uint_eq(a.root.id, VS_ROOT_TENANT_ID);
        ck_assert_uint_eq(a.root.n_replicas, 1);
        ck_assert_str_eq(a.root.replicas[0], "n1");
}
END_TEST

START_TEST(test_token) {
        struct vs_identity id;
        ck_assert_int_eq(vs_identity_new("n1", &id), 0);
        char token[VS_JOIN_TOKEN_MAX];
        vs_join_token_format(&id, token);
        ck_assert_uint_eq(strlen(token), VS_JOIN_TOKEN_MAX - 1);
        ck_assert(strncmp(token, "vsjoin1-", 8) == 0);
        uint64_t cluster;
        struct vs_secret secret;
        ck_assert_int_eq(vs_join_token_parse(token, &cluster, &secret), 0);
        ck_assert_uint_eq(cluster, id.cluster_id);
        ck_assert(vs_consteq(secret.bytes, id.join_secret.bytes, VS_SECRET_SIZE));

        /* Shorter, longer, another prefix, upper case, a missing separator: refused. */
        char bad[VS_JOIN_TOKEN_MAX + 1];
        ck_assert_int_eq(vs_join_token_parse("", &cluster, &secret), -EINVAL);
        strcpy(bad, token);
        bad[strlen(bad) - 1] = 0;
        ck_assert_int_eq(vs_join_token_parse(bad, &cluster, &secret), -EINVAL);
        snprintf(bad, sizeof bad, "%s0", token);
        ck_assert_int_eq(vs_join_token_parse(bad, &cluster, &secret), -EINVAL);
        strcpy(bad, token);
        bad[2] = 'J';
        ck_assert_int_eq(vs_join_token_parse(bad, &cluster, &secret), -EINVAL);
        strcpy(bad, token);
        bad[30] = bad[30] >= 'a' ? 'G' : 'x';
        ck_assert_int_eq(vs_join_token_parse(bad, &cluster, &secret), -EINVAL);
        strcpy(bad, token);
        bad[24] = '0';
        ck_assert_int_eq(vs_join_token_parse(bad, &cluster, &secret), -EINVAL);
}
END_TEST

START_TEST(test_file) {
        char dir[] = "/tmp/test-identity-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        struct vs_identity id, back;
        ck_assert_int_eq(vs_identity_load(fd, &back), -ENOENT);
        ck_assert_int_eq(vs_identity_new("n1", &id), 0);
        ck_assert_int_eq(vs_identity_save(fd, &id), 0);
        ck_assert_int_eq(vs_identity_load(fd, &back), 0);
        ck_assert_int_eq(memcmp(&id, &back, sizeof id), 0);

        /* Every flipped bit of the file is found. */
        int f = openat(fd, "cluster.id", O_RDWR);
        struct stat st;
        ck_assert_int_eq(fstat(f, &st), 0);
        for (off_t i = 0; i < st.st_size; i++)
                for (int bit = 0; bit < 8; bit++) {
                        uint8_t c;
                        ck_assert_int_eq(pread(f, &c, 1, i), 1);
                        c ^= (uint8_t) (1u << bit);
                        ck_assert_int_eq(pwrite(f, &c, 1, i), 1);
                        ck_assert_int_eq(vs_identity_load(fd, &back), -EBADMSG);
                        c ^= (uint8_t) (1u << bit);
                        ck_assert_int_eq(pwrite(f, &c, 1, i), 1);
                }
        close(f);

        /* A well-sealed file whose content is not a whole identity. */
        Viewstamp__ClusterIdentity pb;
        Viewstamp__TenantConfig root;
        struct vs_tenant_config_pb_buf names;
        vs_identity_to_pb(&id, &pb, &root, &names);
        ck_assert_int_eq(vs_identity_from_pb(&pb, &back), 0);
        pb.join_secret.len = 16;
        ck_assert_int_eq(vs_identity_from_pb(&pb, &back), -EBADMSG);
        pb.join_secret.len = VS_SECRET_SIZE;
        pb.cluster_id = 0;
        ck_assert_int_eq(vs_identity_from_pb(&pb, &back), -EBADMSG);
        pb.cluster_id = id.cluster_id;
        pb.root = NULL;
        ck_assert_int_eq(vs_identity_from_pb(&pb, &back), -EBADMSG);
        pb.root = &root;
        names.names[0] = (char *) "bad name";
        ck_assert_int_eq(vs_identity_from_pb(&pb, &back), -EBADMSG);

        ck_assert_int_eq(unlinkat(fd, "cluster.id", 0), 0);
        close(fd);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_consteq) {
        ck_assert(vs_consteq("abc", "abc", 3));
        ck_assert(!vs_consteq("abc", "abd", 3));
        ck_assert(!vs_consteq("xbc", "abc", 3));
        ck_assert(vs_consteq("", "", 0));
}
END_TEST

static Suite *identity_suite(void) {
        Suite *s = suite_create("identity");
        TCase *tc = tcase_create("identity");
        tcase_add_test(tc, test_new);
        tcase_add_test(tc, test_token);
        tcase_add_test(tc, test_file);
        tcase_add_test(tc, test_consteq);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(identity_suite());
}
