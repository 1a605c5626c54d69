/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Growing a malloc()ed array: capacity at least doubles, so n appends cost O(n). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `need` elements of `size` bytes in *p (capacity *cap). 0, or -ENOMEM with *p and
 * *cap unchanged. */
static inline int vs_array_grow(void **p, size_t *cap, size_t need, size_t size) {
        if (need <= *cap)
                return 0;
        size_t n = *cap ? *cap * 2 : 16;
        while (n < need)
                n *= 2;
        void *q = reallocarray(*p, n, size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

/* Opens a gap at index i of the array *p of *n elements (capacity *cap), growing it as
 * vs_array_grow() does and moving elements i.. up by one; *n counts the gap, which the caller
 * fills. 0, or -ENOMEM with the array unchanged. */
static inline int vs_array_insert_at(void **p, size_t *n, size_t *cap, size_t i, size_t size) {
        int r = vs_array_grow(p, cap, *n + 1, size);
        if (r < 0)
                return r;
        memmove((char *) *p + (i + 1) * size, (char *) *p + i * size, (*n - i) * size);
        (*n)++;
        return 0;
}

/* Index of the first of the n elements of `array`, sorted by `field`, whose field is >= key (n if
 * none): binary search, O(log n). */
#define VS_LOWER_BOUND(array, n, field, key)                                    \
        ({                                                                      \
                size_t _lo = 0, _hi = (n);                                      \
                while (_lo < _hi) {                                             \
                        size_t _mid = _lo + (_hi - _lo) / 2;                    \
                        if ((array)[_mid].field < (key))                        \
                                _lo = _mid + 1;                                 \
                        else                                                    \
                                _hi = _mid;                                     \
                }                                                               \
                _lo;                                                            \
        })

/* The same for a string field, in strcmp() order. */
#define VS_LOWER_BOUND_STR(array, n, field, key)                                \
        ({                                                                      \
                size_t _lo = 0, _hi = (n);                                      \
                while (_lo < _hi) {                                             \
                        size_t _mid = _lo + (_hi - _lo) / 2;                    \
                        if (strcmp((array)[_mid].field, (key)) < 0)             \
                                _lo = _mid + 1;                                 \
                        else                                                    \
                                _hi = _mid;                                     \
                }                                                               \
                _lo;                                                            \
        })
