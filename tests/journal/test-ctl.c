/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* viewstampctl journal verify|dump against real state directories: clean ones pass, every kind of
 * damage (hole, torn tail, bad checkpoint, foreign file) fails with a message. The binary's path is
 * argv[1]. */

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal/checkpoint.h"
#include "journal/journal.h"
#include "journal/statedir.h"
#include "log/log.h"
#include "util/cleanup.h"
#include "../check-run.h"

static const char *ctl;
static char dir[] = "/tmp/vs-ctl-test-XXXXXX";

/* Runs viewstampctl with args; returns its exit status and its stdout in out. */
static int run(char *out, size_t outlen, const char *verb, const char *d) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "%s journal %s %s 2>&1", ctl, verb, d);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        size_t n = fread(out, 1, outlen - 1, p);
        out[n] = 0;
        int status = pclose(p);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int snap(void *sm, vr_sm_write_fn write, void *ctx) {
        return write(ctx, "state", 5);
}

static void on_durable(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        ck_assert_int_eq(error, 0);
}

static void setup(void) {
        strcpy(dir, "/tmp/vs-ctl-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        struct vs_journal_options o = { .dir = dir, .cluster_id = 1, .node_id = 2 };
        struct vs_journal *j;
        ck_assert_int_eq(vs_journal_open(&o, &j, NULL, 0), 0);
        uint8_t data[40] = {};
        for (uint64_t seq = 1; seq <= 20; seq++) {
                struct vr_record e = { .kind = VR_RECORD_ENTRY, .seq = seq,
                                       .entry = { .op = seq, .view = 1, .len = sizeof(data), .data = data } };
                ck_assert_int_eq(vs_journal_append(j, 5, &e), 0);
        }
        vs_journal_commit(j);
        struct pollfd p = { .fd = vs_journal_fd(j), .events = POLLIN };
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ck_assert_int_eq(vs_journal_dispatch(j, on_durable, NULL, NULL), 1);
        /* a second batch: damage in the first is then a hole, not a torn write */
        struct vr_record m = { .kind = VR_RECORD_META, .seq = 21, .meta = { .epoch = 1, .view = 3, .commit = 7 } };
        ck_assert_int_eq(vs_journal_append(j, 5, &m), 0);
        vs_journal_commit(j);
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ck_assert_int_eq(vs_journal_dispatch(j, on_durable, NULL, NULL), 1);
        vs_journal_close(j);

        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        struct vs_checkpoint_id id = { .cluster_id = 1, .tenant = 5, .op = 7 };
        ck_assert_int_eq(vs_checkpoint_write(dfd, &id, snap, NULL), 0);
}

static void teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void flip(const char *name, off_t at) {
        char path[300];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        _cleanup_close_ int fd = open(path, O_RDWR);
        uint8_t b;
        ck_assert_int_eq(pread(fd, &b, 1, at), 1);
        b ^= 0x20;
        ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
}

START_TEST(test_clean) {
        static char out[1 << 16];
        ck_assert_int_eq(run(out, sizeof(out), "verify", dir), 0);
        ck_assert_ptr_nonnull(strstr(out, ": ok\n"));
        ck_assert_ptr_nonnull(strstr(out, "20 entries (ops 1..20)"));
        ck_assert_int_eq(run(out, sizeof(out), "dump", dir), 0);
        ck_assert_ptr_nonnull(strstr(out, "op=20 view=1"));
        ck_assert_ptr_nonnull(strstr(out, "view=3"));
        ck_assert_ptr_nonnull(strstr(out, "checkpoint-0000000000000005-0000000000000007.vsc: ok"));
}
END_TEST

START_TEST(test_hole) {
        static char out[1 << 16];
        char name[VS_JOURNAL_NAME_MAX];
        vs_journal_name(name, 1);
        flip(name, 64 + 3 * 144 + 88);
        ck_assert_int_eq(run(out, sizeof(out), "verify", dir), 1);
        ck_assert_ptr_nonnull(strstr(out, "MISSING ops from 4 on"));
        ck_assert_ptr_nonnull(strstr(out, "CORRUPTION FOUND"));
        ck_assert_int_eq(run(out, sizeof(out), "dump", dir), 1);
        ck_assert_ptr_nonnull(strstr(out, "DAMAGED 144 bytes: body checksum mismatch"));
}
END_TEST

START_TEST(test_torn_tail) {
        static char out[1 << 16];
        char name[VS_JOURNAL_NAME_MAX];
        vs_journal_name(name, 1);
        /* garbage where the next record would start: 20 entries and a meta record in */
        flip(name, 64 + 20 * 144 + 128 + 3);
        ck_assert_int_eq(run(out, sizeof(out), "verify", dir), 1);
        ck_assert_ptr_nonnull(strstr(out, "torn tail"));
}
END_TEST

START_TEST(test_bad_checkpoint) {
        static char out[1 << 16];
        char name[VS_JOURNAL_NAME_MAX];
        vs_checkpoint_name(name, 5, 7);
        flip(name, 66);
        ck_assert_int_eq(run(out, sizeof(out), "verify", dir), 1);
        ck_assert_ptr_nonnull(strstr(out, "BAD: damaged or truncated"));
}
END_TEST

START_TEST(test_not_a_journal) {
        static char out[1 << 16];
        char name[VS_JOURNAL_NAME_MAX];
        vs_journal_name(name, 1);
        flip(name, 0);
        ck_assert_int_eq(run(out, sizeof(out), "verify", dir), 1);
        ck_assert_ptr_nonnull(strstr(out, "not a viewstamp journal"));
        ck_assert_int_eq(run(out, sizeof(out), "verify", "/nonexistent"), 1);
        ck_assert_int_eq(run(out, sizeof(out), "frobnicate", dir), 2); /* usage */
        ck_assert_ptr_nonnull(strstr(out, "unknown command"));
}
END_TEST

static Suite *ctl_suite(void) {
        Suite *s = suite_create("viewstampctl-journal");
        TCase *tc = tcase_create("ctl");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_clean);
        tcase_add_test(tc, test_hole);
        tcase_add_test(tc, test_torn_tail);
        tcase_add_test(tc, test_bad_checkpoint);
        tcase_add_test(tc, test_not_a_journal);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s PATH-TO-VIEWSTAMPCTL\n", argv[0]);
                return EXIT_FAILURE;
        }
        ctl = argv[1];
        vs_log_set_level(VS_LOG_ERR);
        return vs_check_run(ctl_suite());
}
