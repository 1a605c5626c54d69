/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A growable byte buffer that encoders append to. Capacity at least doubles on growth, so appending
 * n bytes in pieces costs O(n). A zero-initialised struct vs_buf is an empty buffer.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct vs_buf {
        uint8_t *data;
        size_t len;
        size_t cap;
};

/* Makes room for `extra` more bytes after len. 0 or -ENOMEM (buffer unchanged). */
static inline int vs_buf_reserve(struct vs_buf *b, size_t extra) {
        if (extra <= b->cap - b->len)
                return 0;
        if (extra > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < extra)
                cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

static inline void vs_buf_free(struct vs_buf *b) {
        free(b->data);
        *b = (struct vs_buf) {};
}
