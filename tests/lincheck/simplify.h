/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Verdict-preserving simplification of one key's ops before the search. Given the ops of a
 * window (those called before `cut`; ops completing at or after it, never completing, info or
 * relaxed are "open": they may have taken effect at any point after their call, or never), it
 * produces search input that is linearizable exactly when the window is:
 *
 *   - open reads are dropped: they constrain nothing;
 *   - a value is *needed* if an ok read returned it or an ok cas expected it, or if an open cas
 *     that is kept expects it; an open write or cas whose new value is not needed is dropped.
 *     Taking such an op out of any linearization leaves every remaining op seeing the same
 *     value, since whatever read the register next would have had to see an unneeded value;
 *   - an open op that is the only remaining producer of a needed value (other than the initial
 *     LC_NIL) gets a deadline: the earliest completion among ok ops that saw the value, or the
 *     deadline of a forced open cas that expects it. It must have taken effect by then.
 *
 * With unique written values nearly every open op is dropped or given a deadline, which keeps
 * the search close to linear however many info ops the history has.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "search.h"

/* One op of one key as the history shows it, in order of call. */
struct lc_kop {
        enum lc_fn f;
        int64_t value;     /* read: the ok result; write, cas: the value stored */
        int64_t expected;  /* cas only */
        size_t call, ret;  /* event indices; ret is SIZE_MAX for info or never completed */
        bool relaxed;      /* treat as info (used while shrinking a failing window) */
};

struct lc_simplifier;

int lc_simplifier_new(size_t n, struct lc_simplifier **ret);
void lc_simplifier_free(struct lc_simplifier *s);

/* Writes the search input for the window of ops[0..n) before `cut` to out (room for n) and
 * returns how many ops it holds; each names its op in `origin`. */
size_t lc_simplify(struct lc_simplifier *s, const struct lc_kop *ops, size_t n, size_t cut, struct lc_sop *out);
