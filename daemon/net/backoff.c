/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net/backoff.h"

/* splitmix64: statistically fine for jitter, and one word of state. */
static uint64_t prng_next(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

void vs_backoff_init(struct vs_backoff *b, uint64_t min_usec, uint64_t max_usec, uint64_t seed) {
        if (min_usec == 0)
                min_usec = 1;
        *b = (struct vs_backoff) {
                .min_usec = min_usec,
                .max_usec = max_usec < min_usec ? min_usec : max_usec,
                .step_usec = min_usec,
                .prng = seed,
        };
}

uint64_t vs_backoff_next(struct vs_backoff *b) {
        uint64_t s = b->step_usec;
        uint64_t delay = s - prng_next(&b->prng) % (s / 2 + 1);
        b->step_usec = s > b->max_usec / 2 ? b->max_usec : s * 2;
        return delay;
}

void vs_backoff_reset(struct vs_backoff *b) {
        b->step_usec = b->min_usec;
}
