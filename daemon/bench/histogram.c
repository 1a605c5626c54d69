/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bench/histogram.h"

static unsigned bucket_of(uint64_t v) {
        if (v < 64)
                return (unsigned) v;
        unsigned msb = 63u - (unsigned) __builtin_clzll(v);
        unsigned shift = msb - 5; /* v >> shift lands in [32, 63] */
        return 64 + (shift - 1) * 32 + (unsigned) ((v >> shift) - 32);
}

static uint64_t bucket_upper(unsigned b) {
        if (b < 64)
                return b;
        unsigned shift = (b - 64) / 32 + 1;
        uint64_t top = (uint64_t) ((b - 64) % 32 + 32);
        return ((top + 1) << shift) - 1;
}

void histogram_record(struct histogram *h, uint64_t value) {
        h->counts[bucket_of(value)]++;
        h->total++;
        if (value > h->max)
                h->max = value;
}

void histogram_merge(struct histogram *into, const struct histogram *from) {
        for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
                into->counts[i] += from->counts[i];
        into->total += from->total;
        if (from->max > into->max)
                into->max = from->max;
}

uint64_t histogram_quantile(const struct histogram *h, double q) {
        if (h->total == 0)
                return 0;
        uint64_t rank = (uint64_t) (q * (double) h->total);
        if (rank >= h->total)
                rank = h->total - 1;
        uint64_t seen = 0;
        for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
                seen += h->counts[i];
                if (seen > rank) {
                        uint64_t u = bucket_upper(i);
                        return u < h->max ? u : h->max;
                }
        }
        return h->max;
}
