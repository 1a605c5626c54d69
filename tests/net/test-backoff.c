/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>

#include "net/backoff.h"
#include "../check-run.h"

START_TEST(test_doubles_within_jitter_and_caps) {
        struct vs_backoff b;
        vs_backoff_init(&b, 100000, 5000000, 1);
        uint64_t step = 100000;
        for (int i = 0; i < 20; i++) {
                uint64_t d = vs_backoff_next(&b);
                ck_assert_uint_ge(d, step / 2);
                ck_assert_uint_le(d, step);
                step = step * 2 > 5000000 ? 5000000 : step * 2;
        }
        /* Long since capped: 100 ms doubling reaches 5 s after 6 steps. */
        ck_assert_uint_eq(b.step_usec, 5000000);
}
END_TEST

START_TEST(test_reset) {
        struct vs_backoff b;
        vs_backoff_init(&b, 1000, 64000, 7);
        for (int i = 0; i < 10; i++)
                vs_backoff_next(&b);
        vs_backoff_reset(&b);
        ck_assert_uint_le(vs_backoff_next(&b), 1000);
        ck_assert_uint_le(vs_backoff_next(&b), 2000);
}
END_TEST

START_TEST(test_seeded) {
        struct vs_backoff a, b, c;
        vs_backoff_init(&a, 100000, 5000000, 42);
        vs_backoff_init(&b, 100000, 5000000, 42);
        vs_backoff_init(&c, 100000, 5000000, 43);
        unsigned differ = 0;
        for (int i = 0; i < 32; i++) {
                uint64_t x = vs_backoff_next(&a), y = vs_backoff_next(&b), z = vs_backoff_next(&c);
                ck_assert_uint_eq(x, y);
                differ += x != z;
        }
        /* Jitter spreads nodes apart: another seed gives (nearly) every delay differently. */
        ck_assert_uint_ge(differ, 30);
}
END_TEST

START_TEST(test_jitter_spreads) {
        /* Over many draws at the cap, delays cover the lower and the upper half of [max/2, max]. */
        struct vs_backoff b;
        vs_backoff_init(&b, 1000000, 1000000, 9);
        unsigned low = 0, high = 0;
        for (int i = 0; i < 1000; i++) {
                uint64_t d = vs_backoff_next(&b);
                ck_assert_uint_ge(d, 500000);
                ck_assert_uint_le(d, 1000000);
                if (d < 750000)
                        low++;
                else
                        high++;
        }
        ck_assert_uint_gt(low, 400);
        ck_assert_uint_gt(high, 400);
}
END_TEST

START_TEST(test_degenerate_bounds) {
        struct vs_backoff b;
        vs_backoff_init(&b, 0, 0, 1);
        ck_assert_uint_ge(vs_backoff_next(&b), 1);
        vs_backoff_init(&b, 5000, 10, 1);
        ck_assert_uint_eq(b.max_usec, 5000);
        for (int i = 0; i < 5; i++)
                ck_assert_uint_le(vs_backoff_next(&b), 5000);
        /* Doubling near the top of the range must not wrap around. */
        vs_backoff_init(&b, UINT64_MAX / 2 + 1, UINT64_MAX, 1);
        vs_backoff_next(&b);
        ck_assert_uint_eq(b.step_usec, UINT64_MAX);
}
END_TEST

static Suite *backoff_suite(void) {
        Suite *s = suite_create("backoff");
        TCase *tc = tcase_create("arithmetic");
        tcase_add_test(tc, test_doubles_within_jitter_and_caps);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_seeded);
        tcase_add_test(tc, test_jitter_spreads);
        tcase_add_test(tc, test_degenerate_bounds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(backoff_suite());
}
