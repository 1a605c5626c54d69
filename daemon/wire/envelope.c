/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "wire/envelope.h"
#include "wire/frame.h"

int vs_envelope_frame_size(const Viewstamp__Envelope *env, uint32_t max_body, size_t *ret) {
        size_t n = viewstamp__envelope__get_packed_size(env);
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        int r = vs_frame_header(hdr, n, max_body);
        if (r < 0)
                return r;
        *ret = VS_FRAME_HEADER_SIZE + n;
        return 0;
}

void vs_envelope_frame_write(const Viewstamp__Envelope *env, size_t frame_len, uint8_t *out) {
        /* The size was checked against the maximum by vs_envelope_frame_size(). */
        (void) vs_frame_header(out, frame_len - VS_FRAME_HEADER_SIZE, UINT32_MAX);
        viewstamp__envelope__pack(env, out + VS_FRAME_HEADER_SIZE);
}

int vs_envelope_frame(const Viewstamp__Envelope *env, uint32_t max_body, uint8_t **ret, size_t *ret_len) {
        size_t n;
        int r = vs_envelope_frame_size(env, max_body, &n);
        if (r < 0)
                return r;
        uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        vs_envelope_frame_write(env, n, buf);
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int check(const Viewstamp__Envelope *e) {
        if (!e || !e->header || e->body_case == VIEWSTAMP__ENVELOPE__BODY__NOT_SET)
                return -EBADMSG;
        if (e->header->version != VS_WIRE_VERSION)
                return -EPROTONOSUPPORT;
        return 0;
}

int vs_envelope_decode(const uint8_t *body, size_t len, Viewstamp__Envelope **ret) {
        _cleanup_envelope_ Viewstamp__Envelope *e = viewstamp__envelope__unpack(NULL, len, body);
        int r = check(e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

int vs_envelope_decode_in(struct vs_pb_arena *a, const uint8_t *body, size_t len, Viewstamp__Envelope **ret) {
        Viewstamp__Envelope *e = viewstamp__envelope__unpack(vs_pb_arena_start(a), len, body);
        if (!e && a->failed)
                return -ENOMEM;
        int r = check(e);
        if (r < 0)
                return r;
        *ret = e;
        return 0;
}
