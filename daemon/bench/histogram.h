/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A latency histogram in the manner of HdrHistogram: log-linear buckets (64 values exact, then
 * 32 buckets per power of two), so any recorded value is reported within 1/32 (3.1%) of itself,
 * in fixed memory, with O(1) recording. Histograms of several threads merge by adding.
 */

#include <stdint.h>

#define HISTOGRAM_BUCKETS (64 + 58 * 32)

struct histogram {
        uint64_t counts[HISTOGRAM_BUCKETS];
        uint64_t total;
        uint64_t max;
};

void histogram_record(struct histogram *h, uint64_t value);
void histogram_merge(struct histogram *into, const struct histogram *from);
/* The smallest bucket bound at or below which a fraction q (0..1) of the values lie; 0 when
 * empty. The upper bound of the bucket, so never below the true quantile. */
uint64_t histogram_quantile(const struct histogram *h, double q);
