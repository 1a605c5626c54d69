/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulator's only randomness: xoshiro256** seeded through splitmix64, so a seed fixes a
 * run on every host and build.
 */

#include <stdbool.h>
#include <stdint.h>

struct prng {
        uint64_t s[4];
};

static inline uint64_t prng_splitmix(uint64_t *x) {
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static inline void prng_seed(struct prng *p, uint64_t seed) {
        for (unsigned i = 0; i < 4; i++)
                p->s[i] = prng_splitmix(&seed);
}

static inline uint64_t prng_next(struct prng *p) {
        uint64_t *s = p->s;
        uint64_t x = s[1] * 5;
        uint64_t result = ((x << 7) | (x >> 57)) * 9;
        uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = (s[3] << 45) | (s[3] >> 19);
        return result;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t prng_below(struct prng *p, uint64_t n) {
        return prng_next(p) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi) {
        return lo + prng_below(p, hi - lo + 1);
}

/* True with probability ppm / 1e6. */
static inline bool prng_chance(struct prng *p, uint32_t ppm) {
        return prng_below(p, 1000000) < ppm;
}
