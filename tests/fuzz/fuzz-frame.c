/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The frame reader fed a byte stream in arbitrary chunks must give exactly the frames (and the
 * error) that a one-shot reading of the whole stream gives, and every frame body goes through
 * the envelope decoder, whose accepted envelopes must encode again.
 *
 * Input: u16 max body - 1, then repeatedly a chunk length byte and that many stream bytes.
 */
#include <errno.h>

#include "fuzz.h"
#include "util/cleanup.h"
#include "util/unaligned.h"
#include "wire/envelope.h"
#include "wire/frame.h"

struct expect {
        const uint8_t *stream;
        size_t len;
        size_t at;     /* next frame header in stream */
        uint32_t max_body;
};

/* The reference: where the next frame of the whole stream is, or its error. 1, 0 (incomplete
 * with `avail` bytes fed), or a negative errno. */
static int expect_next(struct expect *x, size_t avail, const uint8_t **body, size_t *len) {
        if (avail - x->at < VS_FRAME_HEADER_SIZE)
                return 0;
        uint32_t n = vs_get_be32(x->stream + x->at);
        if (n == 0)
                return -EBADMSG;
        if (n > x->max_body)
                return -EMSGSIZE;
        if (avail - x->at - VS_FRAME_HEADER_SIZE < n)
                return 0;
        *body = x->stream + x->at + VS_FRAME_HEADER_SIZE;
        *len = n;
        x->at += VS_FRAME_HEADER_SIZE + n;
        return 1;
}

static void check_envelope(const uint8_t *body, size_t len) {
        _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
        int r = vs_envelope_decode(body, len, &e);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -ENOMEM);
        if (r < 0)
                return;
        fuzz_assert(e->header && e->header->version == VS_WIRE_VERSION);
        fuzz_assert(e->body_case != VIEWSTAMP__ENVELOPE__BODY__NOT_SET);

        _cleanup_free_ uint8_t *frame = NULL;
        size_t frame_len;
        r = vs_envelope_frame(e, UINT32_MAX, &frame, &frame_len);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        fuzz_assert(frame_len > VS_FRAME_HEADER_SIZE);
        fuzz_assert(vs_get_be32(frame) == frame_len - VS_FRAME_HEADER_SIZE);
        _cleanup_envelope_ Viewstamp__Envelope *again = NULL;
        /* It need not decode again: protobuf-c 1.4.1 (as observed) accepts an unknown field numbered 0 when its
         * tag is encoded in more bytes than needed, keeps it, and writes it back in the short form it
         * then refuses (regress-unknown-field-0). Unknown fields are ignored, so this is harmless;
         * but what does decode must be the same message. */
        r = vs_envelope_decode(frame + VS_FRAME_HEADER_SIZE, frame_len - VS_FRAME_HEADER_SIZE, &again);
        fuzz_assert(r == 0 || r == -ENOMEM || r == -EBADMSG);
        if (r == 0)
                fuzz_assert(again->body_case == e->body_case);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_input in = { data, size };
        struct expect x = { .max_body = (uint32_t) fuzz_u16(&in) + 1 };

        /* The stream is what remains once the chunk lengths are taken out: gather it first. */
        _cleanup_free_ uint8_t *stream = malloc(size + 1);
        _cleanup_free_ size_t *chunks = malloc((size + 1) * sizeof *chunks);
        if (!stream || !chunks)
                return 0;
        size_t n_chunks = 0;
        while (in.n > 0) {
                size_t len;
                const uint8_t *p = fuzz_bytes(&in, fuzz_u8(&in), &len);
                memcpy(stream + x.len, p, len);
                x.len += len;
                chunks[n_chunks++] = len;
        }
        x.stream = stream;

        struct vs_frame_reader r;
        vs_frame_reader_init(&r, x.max_body);
        size_t fed = 0;
        int error = 0;
        for (size_t c = 0; c < n_chunks && error == 0; c++) {
                int k = vs_frame_reader_feed(&r, stream + fed, chunks[c]);
                if (k == -ENOMEM)
                        goto out;
                fuzz_assert(k == 0);
                fed += chunks[c];
                for (;;) {
                        const uint8_t *body, *want_body = NULL;
                        size_t len, want_len = 0;
                        k = vs_frame_reader_next(&r, &body, &len);
                        int want = expect_next(&x, fed, &want_body, &want_len);
                        fuzz_assert(k == want);
                        if (k <= 0) {
                                error = k;
                                break;
                        }
                        fuzz_assert(len == want_len && memcmp(body, want_body, len) == 0);
                        check_envelope(body, len);
                }
                fuzz_assert(error < 0 || vs_frame_reader_pending(&r) == fed - x.at);
        }
        if (error < 0) {
                /* Sticky: the stream is dead for good. */
                fuzz_assert(vs_frame_reader_feed(&r, "x", 1) == error);
                fuzz_assert(vs_frame_reader_eof(&r) == error);
        } else {
                fuzz_assert(vs_frame_reader_eof(&r) == (fed == x.at ? 0 : -EPIPE));
        }
out:
        vs_frame_reader_done(&r);
        return 0;
}
