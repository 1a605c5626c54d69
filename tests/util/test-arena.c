/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"
#include "../check-run.h"

/* Allocations of assorted sizes, some far above a chunk, are aligned and never overlap: each is
 * filled with its own byte and all are checked at the end. */
START_TEST(test_aligned_and_disjoint) {
        struct vs_arena a = {};
        unsigned char *p[500];
        size_t len[500];
        uint64_t x = 7;
        for (int i = 0; i < 500; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                len[i] = i % 50 == 0 ? 20000 + (x >> 40) % 50000 : (x >> 33) % 300;
                p[i] = vs_arena_alloc(&a, len[i]);
                ck_assert_ptr_nonnull(p[i]);
                ck_assert_uint_eq((uintptr_t) p[i] % alignof(max_align_t), 0);
                memset(p[i], i & 0xff, len[i]);
        }
        for (int i = 0; i < 500; i++) {
                size_t k = 0;
                while (k < len[i] && p[i][k] == (i & 0xff))
                        k++;
                ck_assert_msg(k == len[i], "allocation %d overwritten at byte %zu", i, k);
        }
        ck_assert_ptr_ne(vs_arena_alloc(&a, 0), vs_arena_alloc(&a, 0));
        vs_arena_done(&a);
        ck_assert_ptr_null(a.chunks);
}
END_TEST

/* After a reset the same sequence of allocations fits in the kept chunk: no new memory, and the
 * first allocation starts where it did. */
START_TEST(test_reset_reuses_memory) {
        struct vs_arena a = {};
        void *first = NULL;
        for (int i = 0; i < 100; i++) {
                void *q = vs_arena_alloc(&a, 100 + (size_t) i * 13);
                ck_assert_ptr_nonnull(q);
                if (i == 0)
                        first = q;
        }
        vs_arena_reset(&a);
        struct vs_arena_chunk *kept = a.chunks;
        ck_assert_ptr_nonnull(kept);
        for (int round = 0; round < 3; round++) {
                void *q = vs_arena_alloc(&a, 100);
                for (int i = 1; i < 100; i++)
                        ck_assert_ptr_nonnull(vs_arena_alloc(&a, 100 + (size_t) i * 13));
                ck_assert_ptr_eq(a.chunks, kept);
                if (round > 0)
                        ck_assert_ptr_eq(q, first);
                first = q;
                vs_arena_reset(&a);
        }
        vs_arena_done(&a);
}
END_TEST

START_TEST(test_refuses_huge) {
        struct vs_arena a = {};
        ck_assert_ptr_null(vs_arena_alloc(&a, SIZE_MAX - 8));
        ck_assert_ptr_null(a.chunks);
        vs_arena_done(&a);
}
END_TEST

int main(void) {
        Suite *s = suite_create("arena");
        TCase *tc = tcase_create("arena");
        tcase_add_test(tc, test_aligned_and_disjoint);
        tcase_add_test(tc, test_reset_reuses_memory);
        tcase_add_test(tc, test_refuses_huge);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
