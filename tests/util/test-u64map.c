/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>

#include "util/u64map.h"
#include "../check-run.h"

/* Random puts and removes, checked against a plain array. Few keys keep the table small, so
 * probe runs often wrap around its end, where backward-shift deletion is easiest to get wrong. */
static const unsigned key_counts[] = { 7, 20, 300 };

START_TEST(test_against_reference) {
        const unsigned KEYS = key_counts[_i];
        void *ref[300] = {};
        struct u64map m = {};
        uint64_t x = 12345;
        for (int step = 0; step < 60000; step++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                unsigned k = (unsigned) (x >> 33) % KEYS;
                uint64_t key = k * 0x100000000ULL; /* spread keys; 0 is a valid key */
                if ((x >> 20) & 1) {
                        void *v = (void *) (uintptr_t) (step + 1);
                        ck_assert_int_eq(u64map_put(&m, key, v), 0);
                        ref[k] = v;
                } else {
                        ck_assert_ptr_eq(u64map_remove(&m, key), ref[k]);
                        ref[k] = NULL;
                }
                if (step % (KEYS / 4 + 1) == 0) {
                        size_t n = 0;
                        for (unsigned i = 0; i < KEYS; i++) {
                                ck_assert_ptr_eq(u64map_get(&m, i * 0x100000000ULL), ref[i]);
                                n += ref[i] != NULL;
                        }
                        ck_assert_uint_eq(u64map_size(&m), n);
                        size_t seen = 0, i = 0;
                        uint64_t k2;
                        void *v2;
                        while (u64map_next(&m, &i, &k2, &v2)) {
                                ck_assert_ptr_eq(ref[k2 / 0x100000000ULL], v2);
                                seen++;
                        }
                        ck_assert_uint_eq(seen, n);
                }
        }
        u64map_done(&m);
}
END_TEST

START_TEST(test_empty_map) {
        struct u64map m = {};
        ck_assert_ptr_null(u64map_get(&m, 0));
        ck_assert_ptr_null(u64map_remove(&m, 7));
        size_t i = 0;
        uint64_t k;
        void *v;
        ck_assert_int_eq(u64map_next(&m, &i, &k, &v), 0);
        ck_assert_int_eq(u64map_put(&m, 0, &m), 0);
        ck_assert_ptr_eq(u64map_get(&m, 0), &m);
        u64map_done(&m);
}
END_TEST

static Suite *u64map_suite(void) {
        Suite *s = suite_create("u64map");
        TCase *tc = tcase_create("u64map");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_against_reference, 0, 3);
        tcase_add_test(tc, test_empty_map);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(u64map_suite());
}
