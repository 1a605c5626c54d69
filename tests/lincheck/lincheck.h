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
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
int lc_history_add(struct lc_history *h, const struct lc_event *e);
size_t lc_history_size(const struct lc_history *h);
int lc_history_write_jsonl(const struct lc_history *h, FILE *f);
/* Parses JSON lines; -EBADMSG with *line set to the first bad line's number. */
int lc_history_read_jsonl(FILE *f, struct lc_history **ret, unsigned *line);

struct lc_result {
        bool linearizable;
        char *key;          /* first key found not linearizable (malloc'ed), NULL if none */
        char *explanation;  /* human-readable: the smallest failing window found, as events */
};

/* Returns 0 with *res filled, or a negative errno (e.g. -ENOMEM, -E2BIG when the search
 * exceeds its budget; then res->linearizable is meaningless). */
int lc_check(const struct lc_history *h, struct lc_result *res);
void lc_result_done(struct lc_result *res);
