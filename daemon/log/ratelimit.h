/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * At most `burst` log lines per interval for an event that a flood can repeat without end
 * (refused or bad connections, clients over a limit): occurrences beyond that within the
 * interval are only counted, and the next line logged says how many were left out.
 */

#include <stdbool.h>
#include <stdint.h>

struct vs_ratelimit {
        bool started;
        uint64_t begin_usec; /* start of the current interval */
        unsigned logged;     /* lines in the current interval */
        unsigned suppressed;
};

/* True when a line may be logged at now_usec (CLOCK_MONOTONIC); *ret_suppressed then receives
 * how many occurrences were not logged since the previous line, and that count starts over. */
static inline bool vs_ratelimit_allow(struct vs_ratelimit *rl, uint64_t now_usec, uint64_t interval_usec,
                                      unsigned burst, unsigned *ret_suppressed) {
        if (!rl->started || now_usec - rl->begin_usec >= interval_usec) {
                rl->started = true;
                rl->begin_usec = now_usec;
                rl->logged = 0;
        }
        if (rl->logged >= burst) {
                rl->suppressed++;
                return false;
        }
        rl->logged++;
        *ret_suppressed = rl->suppressed;
        rl->suppressed = 0;
        return true;
}
