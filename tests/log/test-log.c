/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "../check-run.h"

/* Runs the logging calls with stderr redirected to a file and returns what was written. */
static char captured[4096];

static void capture_begin(FILE **tmp, int *saved) {
        unsetenv("JOURNAL_STREAM");
        vs_log_open();
        fflush(stderr);
        *tmp = tmpfile();
        ck_assert_ptr_nonnull(*tmp);
        *saved = dup(STDERR_FILENO);
        dup2(fileno(*tmp), STDERR_FILENO);
}

static const char *capture_end(FILE *tmp, int saved) {
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        rewind(tmp);
        size_t n = fread(captured, 1, sizeof captured - 1, tmp);
        captured[n] = 0;
        fclose(tmp);
        return captured;
}

START_TEST(test_plain_lines_with_context) {
        FILE *tmp;
        int saved;
        vs_log_set_level(VS_LOG_INFO);
        capture_begin(&tmp, &saved);
        const struct vs_log_ctx ctx = { .tenant = "accounts", .view = 7, .has_view = true, .op = 42, .has_op = true,
                                        .peer = "127.0.0.1:7402" };
        log_info(&ctx, "prepared %d entries", 3);
        log_info(NULL, "no context");
        ck_assert_int_eq(log_error_errno(&(struct vs_log_ctx) { .tenant = "t" }, -ENOSPC, "append failed"), -ENOSPC);
        log_debug(NULL, "filtered out");
        ck_assert_str_eq(capture_end(tmp, saved),
                         "info: [tenant=accounts view=7 op=42 peer=127.0.0.1:7402] prepared 3 entries\n"
                         "info: no context\n"
                         "err: [tenant=t] append failed: No space left on device\n");
}
END_TEST

START_TEST(test_level_change_is_live) {
        FILE *tmp;
        int saved;
        capture_begin(&tmp, &saved);
        vs_log_set_level(VS_LOG_WARNING);
        log_info(NULL, "hidden");
        vs_log_set_level(VS_LOG_DEBUG);
        log_debug(NULL, "shown");
        ck_assert_str_eq(capture_end(tmp, saved), "debug: shown\n");
        ck_assert_int_eq(vs_log_get_level(), VS_LOG_DEBUG);
}
END_TEST

START_TEST(test_level_names) {
        enum vs_log_level l;
        ck_assert_int_eq(vs_log_level_from_string("notice", &l), 0);
        ck_assert_int_eq(l, VS_LOG_NOTICE);
        ck_assert_str_eq(vs_log_level_to_string(VS_LOG_WARNING), "warning");
        ck_assert_int_eq(vs_log_level_from_string("verbose", &l), -EINVAL);
}
END_TEST

START_TEST(test_errno_preserved) {
        FILE *tmp;
        int saved;
        capture_begin(&tmp, &saved);
        errno = EAGAIN;
        log_info(NULL, "x");
        ck_assert_int_eq(errno, EAGAIN);
        capture_end(tmp, saved);
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");
        tcase_add_test(tc, test_plain_lines_with_context);
        tcase_add_test(tc, test_level_change_is_live);
        tcase_add_test(tc, test_level_names);
        tcase_add_test(tc, test_errno_preserved);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(log_suite());
}
