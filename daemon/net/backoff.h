/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Capped exponential backoff with jitter, for anything that retries a connection.
 *
 * Each vs_backoff_next() returns a delay drawn uniformly from [step/2, step] and then doubles
 * step up to max; vs_backoff_reset() returns step to min after a success. The jitter comes from
 * a splitmix64 generator seeded by the caller: a fixed seed repeats the exact sequence (tests,
 * simulation), different seeds keep nodes restarted together from retrying in lockstep. Pure
 * arithmetic: no clock, no global state.
 */

#include <stdint.h>

struct vs_backoff {
        uint64_t min_usec, max_usec, step_usec;
        uint64_t prng;
};

/* min_usec at least 1; max_usec below min_usec is taken as min_usec. */
void vs_backoff_init(struct vs_backoff *b, uint64_t min_usec, uint64_t max_usec, uint64_t seed);
uint64_t vs_backoff_next(struct vs_backoff *b);
void vs_backoff_reset(struct vs_backoff *b);
