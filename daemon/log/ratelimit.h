/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One log line per interval for an event that a flood can repeat without end (refused
 * connections, clients over a limit): the first occurrence is logged at once, later ones within
 * the interval are only counted, and the next line logged says how many were left out.
 */

#include <stdbool.h>
#include <stdint.h>

struct vs_ratelimit {
        uint64_t last_usec; /* 0: never logged */
        unsigned suppressed;
};

/* True when a line may be logged at now_usec (CLOCK_MONOTONIC); *ret_suppressed then receives
 * how many occurrences were not logged since the previous line, and the count starts over. */
static inline bool vs_ratelimit_allow(struct vs_ratelimit *rl, uint64_t now_usec, uint64_t interval_usec,
                                      unsigned *ret_suppressed) {
        if (rl->last_usec != 0 && now_usec - rl->last_usec < interval_usec) {
                rl->suppressed++;
                return false;
        }
        *ret_suppressed = rl->suppressed;
        rl->suppressed = 0;
        rl->last_usec = now_usec ? now_usec : 1;
        return true;
}
