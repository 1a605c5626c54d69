/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Envelopes: the protobuf message carried by every frame (envelope.proto). Encoding produces a
 * complete frame ready to write; decoding accepts a frame body and refuses, before the caller
 * sees anything, bodies that are not protobuf, lack the header or a body, or speak another
 * protocol version.
 */

#include <stddef.h>
#include <stdint.h>

#include "wire/pb_arena.h"
#include "wire/envelope.pb-c.h"

#define VS_WIRE_VERSION 1u

/* Builds header + body into one malloc'ed buffer. -EMSGSIZE if the body exceeds max_body. */
int vs_envelope_frame(const Viewstamp__Envelope *env, uint32_t max_body, uint8_t **ret, size_t *ret_len);
/* The same in two steps, for a caller that owns the memory: the frame's size (header + body;
 * -EMSGSIZE as above), then writing exactly that many bytes of frame_len to out. */
int vs_envelope_frame_size(const Viewstamp__Envelope *env, uint32_t max_body, size_t *ret);
void vs_envelope_frame_write(const Viewstamp__Envelope *env, size_t frame_len, uint8_t *out);

/*
 * -EBADMSG: not a valid Envelope, no header, or no body.
 * -EPROTONOSUPPORT: header.version differs from VS_WIRE_VERSION.
 */
int vs_envelope_decode(const uint8_t *body, size_t len, Viewstamp__Envelope **ret);
/* The same (and -ENOMEM), decoding into arena a (wire/pb_arena.h), which it resets first: the
 * envelope lives until a is next used or freed; never free_unpacked() it. */
int vs_envelope_decode_in(struct vs_pb_arena *a, const uint8_t *body, size_t len, Viewstamp__Envelope **ret);

static inline void vs_envelope_freep(Viewstamp__Envelope **e) {
        if (*e)
                viewstamp__envelope__free_unpacked(*e, NULL);
}
#define _cleanup_envelope_ __attribute__((cleanup(vs_envelope_freep)))
