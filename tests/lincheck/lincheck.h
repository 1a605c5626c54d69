/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Linearizability checking of register histories (read, write, compare-and-set) per key.
 *
 * A history is the sequence of events a test harness observed, in real-time order:
 * an `invoke` when a client issues an op, then at most one completion for it from the same
 * process: `ok` (took effect, result known), `fail` (certainly did not take effect) or `info`
 * (indeterminate: may or may not have taken effect, at any time after the invoke). A process
 * has at most one op outstanding. Keys are independent registers, so the check is partitioned
 * per key. Registers start as "absent" (a read of a never-written key returns LC_NIL).
 *
 * JSON-lines form, one event per line (what lc_history_write_jsonl emits and the standalone
 * checker reads):
 *   {"process":P,"type":"invoke|ok|fail|info","f":"read|write|cas","key":K,"value":V,"time":T}
 * V is an integer or null (a read's invoke, an unknown read result, an absent register);
 * for cas it is [expected,new].
 *
 * Precise rules this implementation relies on and enforces (lc_history_add):
 *   - an invoke names a key; a completion may leave key NULL (inherits the invoke's) or repeat it;
 *   - a read's invoke carries no value; an ok read's value is the result, LC_NIL meaning the
 *     register was absent; an info or fail read carries no information and is ignored;
 *   - a write or cas completion either leaves value (and expected) LC_NIL or repeats the
 *     invoke's; it is stored with the invoke's arguments;
 *   - LC_NIL is a legal write value and cas argument: it means "absent" (delete, create-if-absent);
 *   - after an info completion the process is free to invoke again; the info op stays open to
 *     the end of the history. An invoke with no completion at all is treated like info.
 *   - ok cas means it found `expected` and stored `value`; fail means it did not take effect.
 * In JSON all six fields are required, unknown fields are ignored, `time` is a non-negative
 * integer and integers must fit int64 (INT64_MIN is reserved for LC_NIL).
 *
 * Checking: per key, Lowe's just-in-time linearization (Wing & Gong's search with the cache of
 * (set of linearized ops, register value) already explored). Before searching, each key's ops
 * are simplified in ways that never change the verdict: fail ops and info reads are dropped;
 * an info write or cas whose new value no read result or cas expectation ever mentions is
 * dropped (placing it can never help); an info write or cas that is the only possible source
 * of a value some ok read or ok cas observed must have happened, so it gets the earliest such
 * observer's completion as its deadline. Writing unique values keeps the search near linear.
 *
 * The failing window: for a key that fails, the checker finds the shortest prefix of that key's
 * events that already fails (ops still open at the cut count as info), then repeatedly drops
 * ok reads and then relaxes ok writes and cas to info while the result still fails (chunks of
 * ops at a time, halving the chunk down to single ops). Each step can only make a history easier
 * to linearize, so if the window cannot be linearized neither can the original: the window is a
 * proof of the violation, usually of a handful of ops. The explanation lists the window's events
 * as JSON lines with their 1-based position in the history, relaxed ops marked
 * "[treated as indeterminate]" and ops whose completion lies past the cut "[still open ...]".
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/cleanup.h"

#define LC_NIL INT64_MIN /* "no value": absent register, or unknown */

enum lc_type { LC_INVOKE, LC_OK, LC_FAIL, LC_INFO };
enum lc_fn { LC_READ, LC_WRITE, LC_CAS };

struct lc_event {
        int64_t process;
        enum lc_type type;
        enum lc_fn f;
        const char *key;   /* copied by lc_history_add */
        int64_t value;     /* read result / written value / cas new value; LC_NIL if none */
        int64_t expected;  /* cas only */
        uint64_t time;     /* harness time, for reports only; order is the order of adding */
};

struct lc_history;

int lc_history_new(struct lc_history **ret);
void lc_history_free(struct lc_history *h);
/* Appends an event; -EINVAL for an event that breaks the rules above (completion without an
 * outstanding invoke, second invoke while one is outstanding, mismatched f). */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lc_history *, lc_history_free)

int lc_history_add(struct lc_history *h, const struct lc_event *e);
size_t lc_history_size(const struct lc_history *h);
int lc_history_write_jsonl(const struct lc_history *h, FILE *f);
/* The i-th event added (i < lc_history_size()), completions normalised as described above. */
const struct lc_event *lc_history_get(const struct lc_history *h, size_t i);
int lc_history_write_event_jsonl(const struct lc_event *e, FILE *f);
/* Parses JSON lines; -EBADMSG with *line set to the first bad line's number. A line that parses
 * but breaks the event rules gives -EINVAL, also with *line set; -ENOMEM and read errors leave
 * *line at the line being read. */
int lc_history_read_jsonl(FILE *f, struct lc_history **ret, unsigned *line);
/* The same, also setting *why (if not NULL) to a static description of what was wrong. */
int lc_history_read_jsonl_why(FILE *f, struct lc_history **ret, unsigned *line, const char **why);

struct lc_result {
        bool linearizable;
        char *key;          /* first key found not linearizable (malloc'ed), NULL if none */
        char *explanation;  /* human-readable: the smallest failing window found, as events */
};

/* Returns 0 with *res filled, or a negative errno (e.g. -ENOMEM, -E2BIG when the search
 * exceeds its budget; then res->linearizable is meaningless). */
int lc_check(const struct lc_history *h, struct lc_result *res);

/* lc_check() with an explicit budget: the most search steps (attempts to linearize one op) for
 * any one key, and the same again for shrinking a failing key's window. A key that is proved
 * not linearizable is reported even if another key ran out of budget; -E2BIG only when no key
 * failed and at least one was undecided. Shrinking that runs out of budget is not an error: the
 * window found so far is reported. Memory is bounded as well: the cache of one key's search
 * is capped at LC_CACHE_MAX_BYTES and hitting it is reported as -E2BIG too. */
#define LC_DEFAULT_BUDGET (UINT64_C(1) << 23)
#define LC_CACHE_MAX_BYTES (UINT64_C(1) << 28)
int lc_check_budget(const struct lc_history *h, uint64_t budget, struct lc_result *res);
void lc_result_done(struct lc_result *res);
#define _cleanup_lc_result_ _cleanup_(lc_result_done)
