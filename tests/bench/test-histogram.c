/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>

#include "bench/histogram.h"
#include "../check-run.h"

START_TEST(test_small_values_exact) {
        static struct histogram h;
        for (uint64_t v = 1; v <= 50; v++)
                histogram_record(&h, v);
        ck_assert_uint_eq(h.total, 50);
        ck_assert_uint_eq(histogram_quantile(&h, 0.5), 26);
        ck_assert_uint_eq(histogram_quantile(&h, 0.0), 1);
        ck_assert_uint_eq(histogram_quantile(&h, 1.0), 50);
}
END_TEST

START_TEST(test_relative_error_bounded) {
        /* Every value, alone, comes back within 1/32 above itself and never below. */
        for (uint64_t v = 1; v < (UINT64_C(1) << 62); v = v * 3 + 1) {
                static struct histogram h;
                h = (struct histogram) {};
                histogram_record(&h, v);
                uint64_t q = histogram_quantile(&h, 0.5);
                ck_assert_uint_ge(q, v);
                ck_assert_uint_le(q - v, v / 32 + 1);
        }
}
END_TEST

START_TEST(test_quantiles_and_merge) {
        static struct histogram a, b;
        for (int i = 0; i < 990; i++)
                histogram_record(&a, 1000);
        for (int i = 0; i < 10; i++)
                histogram_record(&b, 1000000);
        histogram_merge(&a, &b);
        ck_assert_uint_eq(a.total, 1000);
        ck_assert_uint_eq(a.max, 1000000);
        uint64_t p50 = histogram_quantile(&a, 0.5), p99 = histogram_quantile(&a, 0.99),
                 p999 = histogram_quantile(&a, 0.999);
        ck_assert(p50 >= 1000 && p50 <= 1000 + 1000 / 32);
        ck_assert(p99 >= 1000000 && p99 <= 1000000);
        ck_assert_uint_eq(p999, 1000000);
        static const struct histogram empty;
        ck_assert_uint_eq(histogram_quantile(&empty, 0.5), 0);
}
END_TEST

static Suite *histogram_suite(void) {
        Suite *s = suite_create("histogram");
        TCase *tc = tcase_create("histogram");
        tcase_add_test(tc, test_small_values_exact);
        tcase_add_test(tc, test_relative_error_bounded);
        tcase_add_test(tc, test_quantiles_and_merge);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(histogram_suite());
}
