/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Comparing secrets: the time taken depends on the length only, never on where the bytes first
 * differ, so a remote guesser learns nothing from how fast it is refused.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool vs_consteq(const void *a, const void *b, size_t len) {
        const volatile uint8_t *x = a, *y = b;
        uint8_t d = 0;
        for (size_t i = 0; i < len; i++)
                d |= x[i] ^ y[i];
        return d == 0;
}
