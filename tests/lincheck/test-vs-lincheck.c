/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vs-lincheck program as users run it: exit status, stdout and stderr. Its path is argv[1]. */
#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util/cleanup.h"
#include "../check-run.h"

extern char **environ;

static const char *program;

#define W1 "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":1}\n" \
           "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":2}\n"
#define W2 "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":2,\"time\":3}\n" \
           "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":2,\"time\":4}\n"
#define R1 "{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null,\"time\":5}\n" \
           "{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1,\"time\":6}\n"

/* Everything written to fd, which the caller keeps. */
static char *slurp(int fd) {
        off_t size = lseek(fd, 0, SEEK_END);
        char *text;

        ck_assert_int_ge(size, 0);
        text = malloc(size + 1);
        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(pread(fd, text, size, 0), size);
        text[size] = 0;
        return text;
}

static int temp_file(const char *content) {
        char path[] = "/tmp/test-vs-lincheck-XXXXXX";
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(unlink(path), 0);
        if (content)
                ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* Runs the program with `input` as stdin and returns its exit status. With `as_file`, the
 * input is named on the command line instead (after the extra arguments). */
static int run(const char *input, bool as_file, const char *extra, char **out, char **err) {
        _cleanup_close_ int in = temp_file(input), o = temp_file(NULL), e = temp_file(NULL);
        _cleanup_free_ char *path = NULL;
        posix_spawn_file_actions_t fa;
        char *argv[5] = { (char *) program };
        int n = 1, status;
        pid_t pid;

        if (extra)
                argv[n++] = (char *) extra;
        if (as_file) {
                ck_assert_int_ge(asprintf(&path, "/proc/self/fd/%d", in), 0);
                argv[n++] = path;
        }
        ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, in, 0), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, o, 1), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, e, 2), 0);
        ck_assert_int_eq(posix_spawn(&pid, program, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        *out = slurp(o);
        *err = slurp(e);
        return WEXITSTATUS(status);
}

START_TEST(test_linearizable) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1 R1 W2, _i, NULL, &out, &err), 0);
        ck_assert_str_eq(out, "linearizable\n");
        ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_violation) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1 W2 R1, _i, NULL, &out, &err), 1);
        ck_assert_msg(strncmp(out, "not linearizable: key \"x\"", 25) == 0, "%s", out);
        /* the stale read is in the window, as the event it is in the file */
        ck_assert_ptr_nonnull(strstr(out, "event 6: {\"process\":2,\"type\":\"ok\",\"f\":\"read\""));
}
END_TEST

START_TEST(test_bad_input) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1 "{\"process\":1}\n", _i, NULL, &out, &err), 2);
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err, ":3: missing \"type\"\n"), "%s", err);
}
END_TEST

START_TEST(test_rule_breaking_input) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1 "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":2}\n",
                             _i, NULL, &out, &err), 2);
        ck_assert_msg(strstr(err, ":3: completion without an outstanding invoke\n"), "%s", err);
}
END_TEST

START_TEST(test_undecided) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1 R1 W2, true, "--budget=1", &out, &err), 3);
        ck_assert_str_eq(out, "");
        ck_assert_ptr_nonnull(strstr(err, "undecided"));
}
END_TEST

START_TEST(test_usage) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(W1, true, "--budget=x", &out, &err), 2);
        free(out);
        free(err);
        ck_assert_int_eq(run(W1, true, "/nonexistent", &out, &err), 2);
        free(out);
        free(err);
        ck_assert_int_eq(run(W1, false, "/nonexistent", &out, &err), 2);
        ck_assert_ptr_nonnull(strstr(err, "/nonexistent"));
        free(out);
        free(err);
        ck_assert_int_eq(run(W1, false, "--help", &out, &err), 0);
        ck_assert_ptr_nonnull(strstr(out, "usage:"));
}
END_TEST

static Suite *vs_lincheck_suite(void) {
        Suite *s = suite_create("vs-lincheck");
        TCase *tc = tcase_create("cli");

        /* loop index 0 feeds stdin, 1 names the file */
        tcase_add_loop_test(tc, test_linearizable, 0, 2);
        tcase_add_loop_test(tc, test_violation, 0, 2);
        tcase_add_loop_test(tc, test_bad_input, 0, 2);
        tcase_add_loop_test(tc, test_rule_breaking_input, 0, 2);
        tcase_add_test(tc, test_undecided);
        tcase_add_test(tc, test_usage);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s PATH-TO-VS-LINCHECK\n", argv[0]);
                return EXIT_FAILURE;
        }
        program = argv[1];

        return vs_check_run(vs_lincheck_suite());
}
