/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/unaligned.h"
#include "wire/frame.h"

void vs_frame_reader_init(struct vs_frame_reader *r, uint32_t max_body) {
        *r = (struct vs_frame_reader) { .max_body = max_body ? max_body : 1 };
}

void vs_frame_reader_done(struct vs_frame_reader *r) {
        vs_buf_free(&r->b);
        *r = (struct vs_frame_reader) {};
}

int vs_frame_reader_feed(struct vs_frame_reader *r, const void *data, size_t n) {
        if (r->error)
                return r->error;
        if (n == 0)
                return 0;

        /* Reclaim consumed space before growing, so a long-lived connection stays small. */
        if (r->start > 0 && n > r->b.cap - r->b.len) {
                memmove(r->b.data, r->b.data + r->start, r->b.len - r->start);
                r->b.len -= r->start;
                r->start = 0;
        }
        int k = vs_buf_reserve(&r->b, n);
        if (k < 0)
                return k;
        memcpy(r->b.data + r->b.len, data, n);
        r->b.len += n;
        return 0;
}

int vs_frame_reader_next(struct vs_frame_reader *r, const uint8_t **body, size_t *len) {
        if (r->error)
                return r->error;

        size_t avail = vs_frame_reader_pending(r);
        if (avail < VS_FRAME_HEADER_SIZE)
                return 0;

        uint32_t n = vs_get_be32(r->b.data + r->start);
        if (n == 0)
                return (r->error = -EBADMSG);
        if (n > r->max_body)
                return (r->error = -EMSGSIZE);
        if (avail - VS_FRAME_HEADER_SIZE < n)
                return 0;

        *body = r->b.data + r->start + VS_FRAME_HEADER_SIZE;
        *len = n;
        r->start += VS_FRAME_HEADER_SIZE + n;
        if (r->start == r->b.len)
                r->start = r->b.len = 0;
        return 1;
}

bool vs_frame_reader_ready(const struct vs_frame_reader *r) {
        size_t avail = vs_frame_reader_pending(r);
        if (r->error)
                return true;
        if (avail < VS_FRAME_HEADER_SIZE)
                return false;
        uint32_t n = vs_get_be32(r->b.data + r->start);
        return n == 0 || n > r->max_body || avail - VS_FRAME_HEADER_SIZE >= n;
}

int vs_frame_reader_eof(const struct vs_frame_reader *r) {
        if (r->error)
                return r->error;
        return vs_frame_reader_pending(r) == 0 ? 0 : -EPIPE;
}

int vs_frame_header(uint8_t hdr[VS_FRAME_HEADER_SIZE], size_t len, uint32_t max_body) {
        if (len == 0 || len > max_body)
                return -EMSGSIZE;
        vs_put_be32(hdr, (uint32_t) len);
        return 0;
}
