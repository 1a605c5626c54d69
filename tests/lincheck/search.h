/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The just-in-time linearization search for one register (Lowe, "Testing for linearizability",
 * 2017, after Wing & Gong 1993): ops are taken in order of their call; an op may be linearized
 * once every op that returned before it was called already is, and each (set of linearized
 * ops, register value) configuration is explored at most once.
 *
 * Input ops carry positions instead of event indices so that callers can place a synthetic
 * return between two real events. An op whose `ret` is LC_OPEN may be linearized at any point
 * after its call or not at all; every other op must be linearized before its `ret`.
 */

#include <stddef.h>
#include <stdint.h>

#include "lincheck.h"

#define LC_OPEN UINT64_MAX

struct lc_sop {
        enum lc_fn f;
        int64_t value;     /* read: the result; write, cas: the value stored */
        int64_t expected;  /* cas only */
        uint64_t call, ret;
        size_t origin;     /* caller's reference, not used by the search */
};

/* Returns 1 when a linearization exists, 0 when none does, -E2BIG when more than *budget steps
 * or LC_CACHE_MAX_BYTES of cache would be needed, -ENOMEM. Steps taken are subtracted from
 * *budget in every case. The register starts as LC_NIL (absent). */
int lc_search(const struct lc_sop *ops, size_t n, uint64_t *budget);
