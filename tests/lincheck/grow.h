/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Amortised growth of a heap array: after a successful lc_grow(&p, &cap, need), p holds room
 * for at least `need` elements and the first old-capacity elements are preserved. Capacity at
 * least doubles, so appending n elements costs O(n) copies in total.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static inline int lc_grow_raw(void **p, size_t *cap, size_t need, size_t size) {
        if (need <= *cap)
                return 0;

        size_t n = *cap < 16 ? 16 : *cap;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return -ENOMEM;
                n *= 2;
        }
        if (n > SIZE_MAX / size)
                return -ENOMEM;

        void *q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

#define lc_grow(pp, capp, need) lc_grow_raw((void **) (pp), (capp), (need), sizeof(**(pp)))
