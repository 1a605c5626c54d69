/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Random register histories that are linearizable by construction, for the checker's tests and
 * benchmark: concurrent processes invoke ops on a real register, each op takes effect at one
 * instant between its invoke and its completion (or, for some info ops, never), and the
 * completion reports what really happened. Same options and seed, same history.
 */

#include <stdint.h>

#include "lincheck.h"

#define LC_GEN_MAX 64

struct lc_gen_options {
        unsigned processes;     /* 1..LC_GEN_MAX */
        unsigned keys;          /* 1..LC_GEN_MAX */
        unsigned ops;           /* invokes in total */
        unsigned info_percent;  /* completions reported as info, half of them before taking effect */
        unsigned values;        /* written values drawn from 1..values; 0 makes every write unique */
        uint64_t seed;
};

int lc_gen_history(const struct lc_gen_options *o, struct lc_history **ret);
