/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The benchmark's client history, written as JSON lines in the linearizability checker's format
 * (tests/lincheck/lincheck.h: {"process","type","f","key","value","time"}), so that a run against
 * a real cluster, faults included, can be checked with vs-lincheck. Thread-safe: every event is
 * stamped and written under one lock, so the file's order is the real-time order the checker
 * requires. Values are integers; null is an absent register (an empty node value).
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define HISTORY_NIL INT64_MIN

enum history_type { HISTORY_INVOKE, HISTORY_OK, HISTORY_FAIL, HISTORY_INFO };
enum history_fn { HISTORY_READ, HISTORY_WRITE, HISTORY_CAS };

struct history {
        FILE *f;
        pthread_mutex_t lock;
        uint64_t t0;
        int error; /* first write error, sticky */
};

/* Opens path for writing (truncating). */
int history_open(struct history *h, const char *path);
/* Flushes and closes; returns the first error of the whole run, if any. */
int history_close(struct history *h);
/* value: the read result (completions), the written value, or the cas's new value; expected:
 * the cas's expected value. HISTORY_NIL for none. */
void history_add(struct history *h, uint64_t process, enum history_type type, enum history_fn fn, const char *key,
                 int64_t value, int64_t expected);
