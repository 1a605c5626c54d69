/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>

#include "log/ratelimit.h"
#include "../check-run.h"

#define SEC 1000000u

START_TEST(test_burst_then_count) {
        struct vs_ratelimit rl = {};
        unsigned left_out = 99;
        /* Three lines in the first second, the rest counted. */
        for (unsigned i = 0; i < 3; i++) {
                ck_assert(vs_ratelimit_allow(&rl, 5 * SEC + i, SEC, 3, &left_out));
                ck_assert_uint_eq(left_out, 0);
        }
        for (unsigned i = 0; i < 7; i++)
                ck_assert(!vs_ratelimit_allow(&rl, 5 * SEC + 10 + i, SEC, 3, &left_out));
        /* The next interval's first line says how many were left out, and the count restarts. */
        ck_assert(vs_ratelimit_allow(&rl, 6 * SEC, SEC, 3, &left_out));
        ck_assert_uint_eq(left_out, 7);
        ck_assert(vs_ratelimit_allow(&rl, 6 * SEC + 1, SEC, 3, &left_out));
        ck_assert_uint_eq(left_out, 0);
}
END_TEST

START_TEST(test_clock_at_zero) {
        /* A loop whose clock reads 0 (sd_event_now() before the first iteration) still limits. */
        struct vs_ratelimit rl = {};
        unsigned left_out;
        ck_assert(vs_ratelimit_allow(&rl, 0, SEC, 1, &left_out));
        ck_assert(!vs_ratelimit_allow(&rl, 0, SEC, 1, &left_out));
        ck_assert(vs_ratelimit_allow(&rl, SEC + 1, SEC, 1, &left_out));
        ck_assert_uint_eq(left_out, 1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ratelimit");
        TCase *tc = tcase_create("ratelimit");
        tcase_add_test(tc, test_burst_then_count);
        tcase_add_test(tc, test_clock_at_zero);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
