/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's session table against a plain array, through random adds and removes, with ids
 * dense enough (up to half the table full) that removal has probe chains to repair. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "client/session.h"
#include "../check-run.h"

START_TEST(test_against_model) {
        enum { N = 512, STEPS = 20000 };
        struct session_table t = {};
        struct session *model[N] = {};
        uint64_t rng = 42;

        for (int step = 0; step < STEPS; step++) {
                rng = rng * 6364136223846793005u + 1442695040888963407u;
                uint64_t id = (rng >> 33) % N + 1;
                struct session *s = model[id - 1];
                if (!s) {
                        s = calloc(1, sizeof *s);
                        ck_assert_ptr_nonnull(s);
                        s->id = id;
                        ck_assert_int_eq(session_table_add(&t, s), 0);
                        model[id - 1] = s;
                        struct session dup = { .id = id };
                        ck_assert_int_eq(session_table_add(&t, &dup), -EEXIST);
                } else if (rng & 1) {
                        session_table_remove(&t, s);
                        free(s);
                        model[id - 1] = NULL;
                }
                if (step % 97 == 0) {
                        size_t n = 0;
                        for (uint64_t i = 1; i <= N; i++) {
                                ck_assert_ptr_eq(session_table_find(&t, i), model[i - 1]);
                                n += model[i - 1] != NULL;
                        }
                        ck_assert_uint_eq(t.n, n);
                        ck_assert_ptr_null(session_table_find(&t, N + 1));
                }
        }
        session_table_done(&t); /* frees the sessions still in it */
}
END_TEST

static Suite *session_suite(void) {
        Suite *s = suite_create("session");
        TCase *tc = tcase_create("session");
        tcase_add_test(tc, test_against_model);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(session_suite());
}
