/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/peer_key.h"
#include "auth/secret.h"
#include "util/cleanup.h"
#include "../check-run.h"

static char dir[] = "/tmp/vs-secret-XXXXXX";
static char path[256];
static char err[4300];

static void setup(void) {
        strcpy(dir, "/tmp/vs-secret-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/cluster.key", dir);
        err[0] = 0;
}

static void teardown(void) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *text, size_t len, mode_t mode) {
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, len), (ssize_t) len);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static struct vs_secret counting(void) {
        struct vs_secret s;
        for (unsigned i = 0; i < VS_SECRET_SIZE; i++)
                s.bytes[i] = (uint8_t) i;
        return s;
}

START_TEST(test_save_then_load) {
        struct vs_secret s, back;
        ck_assert_int_eq(vs_secret_generate(&s), 0);
        ck_assert_int_eq(vs_secret_save(path, &s, err, sizeof err), 0);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(st.st_size, 65);
        ck_assert_int_eq(vs_secret_load(path, &back, err, sizeof err), 0);
        ck_assert_mem_eq(s.bytes, back.bytes, VS_SECRET_SIZE);

        /* Two secrets from the generator differ. */
        struct vs_secret t;
        ck_assert_int_eq(vs_secret_generate(&t), 0);
        ck_assert(memcmp(s.bytes, t.bytes, VS_SECRET_SIZE) != 0);
}
END_TEST

START_TEST(test_format) {
        /* The documented format, byte for byte: lowercase hex and one newline. */
        struct vs_secret s = counting();
        ck_assert_int_eq(vs_secret_save(path, &s, err, sizeof err), 0);
        char buf[100] = "";
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, buf, sizeof buf), 65);
        close(fd);
        ck_assert_int_eq(strncmp(buf, hex, 64), 0);
        ck_assert_int_eq(buf[64], '\n');

        /* Upper case and no newline are fine too. */
        char upper[65];
        for (int i = 0; i < 64; i++)
                upper[i] = (char) (hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
        write_file(upper, 64, 0400);
        struct vs_secret back;
        ck_assert_int_eq(vs_secret_load(path, &back, err, sizeof err), 0);
        ck_assert_mem_eq(back.bytes, s.bytes, VS_SECRET_SIZE);
}
END_TEST

START_TEST(test_save_never_replaces) {
        struct vs_secret s = counting(), other;
        ck_assert_int_eq(vs_secret_save(path, &s, err, sizeof err), 0);
        ck_assert_int_eq(vs_secret_generate(&other), 0);
        ck_assert_int_eq(vs_secret_save(path, &other, err, sizeof err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, path));
        struct vs_secret back;
        ck_assert_int_eq(vs_secret_load(path, &back, err, sizeof err), 0);
        ck_assert_mem_eq(back.bytes, s.bytes, VS_SECRET_SIZE);
}
END_TEST

/* path holds a bad secret: refused with r, a message naming the file and why, *ret untouched. */
static void refused(int r, const char *why) {
        struct vs_secret back = counting(), before = back;
        ck_assert_int_eq(vs_secret_load(path, &back, err, sizeof err), r);
        ck_assert_mem_eq(back.bytes, before.bytes, VS_SECRET_SIZE);
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_msg(strstr(err, why), "'%s' lacks '%s'", err, why);
        ck_assert_ptr_null(strstr(err, "0a0b0c"));
}

START_TEST(test_refusals) {
        refused(-ENOENT, "missing");
        char text[80];
        snprintf(text, sizeof text, "%s\n", hex);
        write_file(text, 65, 0640);
        refused(-EPERM, "group or others");
        write_file(text, 65, 0604);
        refused(-EPERM, "group or others");
        write_file(text, 65, 0620);
        refused(-EPERM, "group or others");
        write_file(text, 63, 0600);
        refused(-EINVAL, "64 hexadecimal digits");
        write_file("00", 2, 0600);
        refused(-EINVAL, "64 hexadecimal digits");
        write_file("", 0, 0600);
        refused(-EINVAL, "64 hexadecimal digits");
        snprintf(text, sizeof text, "%s\n\n", hex);
        write_file(text, 66, 0600);
        refused(-EINVAL, "64 hexadecimal digits");
        snprintf(text, sizeof text, "%s0", hex);
        write_file(text, 65, 0600);
        refused(-EINVAL, "64 hexadecimal digits");
        snprintf(text, sizeof text, "%s", hex);
        text[17] = 'g';
        write_file(text, 64, 0600);
        refused(-EINVAL, "64 hexadecimal digits");

        /* A symbolic link to a good file, and a directory. */
        char target[300];
        snprintf(target, sizeof target, "%s/real.key", dir);
        struct vs_secret s = counting();
        ck_assert_int_eq(vs_secret_save(target, &s, err, sizeof err), 0);
        unlink(path);
        ck_assert_int_eq(symlink(target, path), 0);
        refused(-EINVAL, "symbolic link");
        unlink(path);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        refused(-EINVAL, "not a regular file");
}
END_TEST

START_TEST(test_paths) {
        struct vs_conf c;
        vs_conf_defaults(&c);
        char buf[4200];
        ck_assert_int_eq(vs_secret_path(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "/var/lib/viewstamp/cluster.key");
        strcpy(c.secret_file, "/etc/viewstamp/cluster.key");
        ck_assert_int_eq(vs_secret_path(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "/etc/viewstamp/cluster.key");
        ck_assert_int_eq(vs_secret_path(&c, buf, 10), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_load_conf) {
        struct vs_conf c;
        vs_conf_defaults(&c);
        strcpy(c.state_dir, dir);
        c.n_nodes = 1;
        /* Alone in its cluster, a node needs no secret... */
        struct vs_secret s = counting(), zero = {};
        ck_assert_int_eq(vs_secret_load_conf(&c, &s, err, sizeof err), 0);
        ck_assert_mem_eq(s.bytes, zero.bytes, VS_SECRET_SIZE);
        /* ...with peers it does, and the message says which file. */
        c.n_nodes = 3;
        ck_assert_int_eq(vs_secret_load_conf(&c, &s, err, sizeof err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "cluster secret"));
        ck_assert_ptr_nonnull(strstr(err, path));
        struct vs_secret saved = counting();
        ck_assert_int_eq(vs_secret_save(path, &saved, err, sizeof err), 0);
        ck_assert_int_eq(vs_secret_load_conf(&c, &s, err, sizeof err), 0);
        ck_assert_mem_eq(s.bytes, saved.bytes, VS_SECRET_SIZE);
}
END_TEST

START_TEST(test_peer_key) {
        /* Known answer, computed independently (Python's hmac, RFC 5869 by hand): a change of the
         * derivation would split a cluster whose nodes run different versions. */
        static const uint8_t want[VS_PEER_KEY_SIZE] = {
                0x19, 0x60, 0x7d, 0xee, 0x6d, 0x2d, 0x90, 0xc6, 0x1d, 0x6a, 0x74, 0xa9, 0xed, 0x50, 0x52, 0xd2,
                0x84, 0x93, 0x34, 0x46, 0x07, 0xcc, 0xb7, 0xb0, 0x15, 0x16, 0x23, 0x11, 0x3b, 0xf1, 0xaa, 0x0c,
        };
        struct vs_secret s = counting();
        uint8_t k[VS_PEER_KEY_SIZE], other[VS_PEER_KEY_SIZE];
        ck_assert_int_eq(vs_peer_key(&s, 0x0123456789abcdefULL, "node1", k), 0);
        ck_assert_mem_eq(k, want, VS_PEER_KEY_SIZE);

        /* Name, cluster and secret each change the key. */
        ck_assert_int_eq(vs_peer_key(&s, 0x0123456789abcdefULL, "node2", other), 0);
        ck_assert(memcmp(k, other, VS_PEER_KEY_SIZE) != 0);
        ck_assert_int_eq(vs_peer_key(&s, 0x0123456789abcdeeULL, "node1", other), 0);
        ck_assert(memcmp(k, other, VS_PEER_KEY_SIZE) != 0);
        s.bytes[31] ^= 1;
        ck_assert_int_eq(vs_peer_key(&s, 0x0123456789abcdefULL, "node1", other), 0);
        ck_assert(memcmp(k, other, VS_PEER_KEY_SIZE) != 0);

        char long_name[VS_CONF_NAME_MAX + 2];
        memset(long_name, 'n', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        ck_assert_int_eq(vs_peer_key(&s, 1, long_name, other), -EINVAL);
}
END_TEST

static Suite *secret_suite(void) {
        Suite *s = suite_create("secret");
        TCase *tc = tcase_create("secret");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_save_then_load);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_save_never_replaces);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_paths);
        tcase_add_test(tc, test_load_conf);
        tcase_add_test(tc, test_peer_key);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(secret_suite());
}
