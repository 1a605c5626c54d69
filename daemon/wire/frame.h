/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Length-prefixed framing for byte streams.
 *
 * A frame is a 4-byte big-endian body length followed by that many bytes. The body length is
 * at least 1 (an empty frame carries nothing and is treated as garbage) and at most the reader's
 * maximum frame size, so a peer announcing a huge frame is refused on its 4 header bytes alone,
 * before any memory is committed to it.
 *
 * The reader is incremental: feed it whatever read() returned, then take complete frames out.
 * Any error it reports is final for the stream (the caller closes the connection); afterwards
 * the reader refuses further input with the same error.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define VS_FRAME_HEADER_SIZE 4u
#define VS_FRAME_MAX_DEFAULT (16u * 1024u * 1024u)

struct vs_frame_reader {
        struct vs_buf b; /* b.len: one past the last buffered byte */
        size_t start;    /* first unconsumed byte */
        uint32_t max_body;
        int error;    /* sticky: first error seen, 0 while the stream is healthy */
};

/* max_body: largest body accepted, 1..UINT32_MAX. */
void vs_frame_reader_init(struct vs_frame_reader *r, uint32_t max_body);
void vs_frame_reader_done(struct vs_frame_reader *r);

/* Buffers n bytes. Returns 0, -ENOMEM, or the stream's sticky error. */
int vs_frame_reader_feed(struct vs_frame_reader *r, const void *data, size_t n);

/*
 * Takes the next complete frame. Returns 1 with *body and *len pointing into the reader (valid until
 * the next feed/next/done call), 0 when more bytes are needed, or a negative errno:
 *   -EMSGSIZE  the header announces a body larger than max_body
 *   -EBADMSG   the header announces an empty body
 */
int vs_frame_reader_next(struct vs_frame_reader *r, const uint8_t **body, size_t *len);

/* Whether vs_frame_reader_next() would return a frame (or an error) now, without taking it. */
bool vs_frame_reader_ready(const struct vs_frame_reader *r);

/* Bytes buffered but not yet taken as frames. */
static inline size_t vs_frame_reader_pending(const struct vs_frame_reader *r) {
        return r->b.len - r->start;
}

/*
 * Call at end of stream. Returns 0 if the stream ended on a frame boundary, -EPIPE if it ended
 * inside a header or a body (truncated), or the stream's sticky error.
 */
int vs_frame_reader_eof(const struct vs_frame_reader *r);

/* Writes the 4-byte header for a body of len bytes. -EMSGSIZE if len is 0 or above max_body. */
int vs_frame_header(uint8_t hdr[VS_FRAME_HEADER_SIZE], size_t len, uint32_t max_body);
