/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "wire/envelope.h"
#include "wire/frame.h"
#include "../check-run.h"

static void put_frame(struct vs_frame_reader *r, const void *body, size_t len, uint32_t max) {
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        ck_assert_int_eq(vs_frame_header(hdr, len, max), 0);
        ck_assert_int_eq(vs_frame_reader_feed(r, hdr, sizeof hdr), 0);
        ck_assert_int_eq(vs_frame_reader_feed(r, body, len), 0);
}

START_TEST(test_round_trip) {
        struct vs_frame_reader r;
        vs_frame_reader_init(&r, 64);
        put_frame(&r, "hello", 5, 64);
        put_frame(&r, "x", 1, 64);

        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 1);
        ck_assert_uint_eq(len, 5);
        ck_assert(memcmp(body, "hello", 5) == 0);
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 1);
        ck_assert_uint_eq(len, 1);
        ck_assert_int_eq(body[0], 'x');
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 0);
        ck_assert_int_eq(vs_frame_reader_eof(&r), 0);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_header_is_big_endian) {
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        ck_assert_int_eq(vs_frame_header(hdr, 0x01020304, UINT32_MAX), 0);
        ck_assert_int_eq(hdr[0], 1);
        ck_assert_int_eq(hdr[1], 2);
        ck_assert_int_eq(hdr[2], 3);
        ck_assert_int_eq(hdr[3], 4);
}
END_TEST

START_TEST(test_exact_maximum) {
        const uint32_t max = 100000;
        _cleanup_free_ uint8_t *big = malloc(max);
        ck_assert_ptr_nonnull(big);
        for (uint32_t i = 0; i < max; i++)
                big[i] = (uint8_t) (i * 7);

        struct vs_frame_reader r;
        vs_frame_reader_init(&r, max);
        put_frame(&r, big, max, max);
        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 1);
        ck_assert_uint_eq(len, max);
        ck_assert(memcmp(body, big, max) == 0);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_one_byte_over) {
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        ck_assert_int_eq(vs_frame_header(hdr, 101, 100), -EMSGSIZE);

        /* A peer announcing max+1 is refused on the header alone, and the stream stays refused. */
        ck_assert_int_eq(vs_frame_header(hdr, 101, 101), 0);
        struct vs_frame_reader r;
        vs_frame_reader_init(&r, 100);
        ck_assert_int_eq(vs_frame_reader_feed(&r, hdr, sizeof hdr), 0);
        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), -EMSGSIZE);
        ck_assert_int_eq(vs_frame_reader_feed(&r, "x", 1), -EMSGSIZE);
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), -EMSGSIZE);
        ck_assert_int_eq(vs_frame_reader_eof(&r), -EMSGSIZE);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_truncated_header) {
        for (size_t cut = 1; cut < VS_FRAME_HEADER_SIZE; cut++) {
                uint8_t hdr[VS_FRAME_HEADER_SIZE];
                ck_assert_int_eq(vs_frame_header(hdr, 3, 64), 0);
                struct vs_frame_reader r;
                vs_frame_reader_init(&r, 64);
                ck_assert_int_eq(vs_frame_reader_feed(&r, hdr, cut), 0);
                const uint8_t *body;
                size_t len;
                ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 0);
                ck_assert_int_eq(vs_frame_reader_eof(&r), -EPIPE);
                vs_frame_reader_done(&r);
        }
}
END_TEST

START_TEST(test_truncated_body) {
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        ck_assert_int_eq(vs_frame_header(hdr, 10, 64), 0);
        struct vs_frame_reader r;
        vs_frame_reader_init(&r, 64);
        ck_assert_int_eq(vs_frame_reader_feed(&r, hdr, sizeof hdr), 0);
        ck_assert_int_eq(vs_frame_reader_feed(&r, "123456789", 9), 0);
        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), 0);
        ck_assert_int_eq(vs_frame_reader_eof(&r), -EPIPE);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_zero_length) {
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        ck_assert_int_eq(vs_frame_header(hdr, 0, 64), -EMSGSIZE);

        static const uint8_t zero[VS_FRAME_HEADER_SIZE] = {};
        struct vs_frame_reader r;
        vs_frame_reader_init(&r, 64);
        ck_assert_int_eq(vs_frame_reader_feed(&r, zero, sizeof zero), 0);
        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), -EBADMSG);
        ck_assert_int_eq(vs_frame_reader_eof(&r), -EBADMSG);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_garbage_bytes) {
        /* Garbage whose first 4 bytes read as a huge length is refused as oversize. */
        static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        struct vs_frame_reader r;
        vs_frame_reader_init(&r, VS_FRAME_MAX_DEFAULT);
        ck_assert_int_eq(vs_frame_reader_feed(&r, junk, sizeof junk - 1), 0);
        const uint8_t *body;
        size_t len;
        ck_assert_int_eq(vs_frame_reader_next(&r, &body, &len), -EMSGSIZE);
        vs_frame_reader_done(&r);

        /* Garbage that frames correctly is refused by the envelope decoder, which allocates nothing. */
        static const uint8_t bodies[][8] = {
                { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* invalid varint/tag */
                { 0x0a, 0x7f, 0x00 },                               /* header length past the end */
                { 0x08, 0x01 },                                     /* unknown field only, no header */
        };
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                Viewstamp__Envelope *e = NULL;
                ck_assert_int_eq(vs_envelope_decode(bodies[i], sizeof bodies[i], &e), -EBADMSG);
                ck_assert_ptr_null(e);
        }
}
END_TEST

/* The frame of a Ping with this nonce for tenant. */
static void ping_frame(const char *tenant, uint64_t nonce, uint8_t **ret, size_t *ret_len) {
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        h.tenant = (char *) tenant;
        Viewstamp__Ping ping = VIEWSTAMP__PING__INIT;
        ping.nonce = nonce;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_PING;
        env.ping = &ping;
        ck_assert_int_eq(vs_envelope_frame(&env, VS_FRAME_MAX_DEFAULT, ret, ret_len), 0);
}

START_TEST(test_split_across_reads) {
        /* Three envelopes written as one stream, delivered one byte per read. */
        _cleanup_free_ uint8_t *stream = NULL;
        size_t stream_len = 0;
        for (uint64_t nonce = 1; nonce <= 3; nonce++) {
                _cleanup_free_ uint8_t *frame = NULL;
                size_t n;
                ping_frame("accounts", nonce, &frame, &n);
                uint8_t *s = realloc(stream, stream_len + n);
                ck_assert_ptr_nonnull(s);
                stream = s;
                memcpy(stream + stream_len, frame, n);
                stream_len += n;
        }

        struct vs_frame_reader r;
        vs_frame_reader_init(&r, VS_FRAME_MAX_DEFAULT);
        uint64_t expect = 1;
        for (size_t i = 0; i < stream_len; i++) {
                ck_assert_int_eq(vs_frame_reader_feed(&r, stream + i, 1), 0);
                const uint8_t *body;
                size_t len;
                int k;
                while ((k = vs_frame_reader_next(&r, &body, &len)) == 1) {
                        _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
                        ck_assert_int_eq(vs_envelope_decode(body, len, &e), 0);
                        ck_assert_int_eq(e->body_case, VIEWSTAMP__ENVELOPE__BODY_PING);
                        ck_assert_str_eq(e->header->tenant, "accounts");
                        ck_assert_uint_eq(e->ping->nonce, expect++);
                }
                ck_assert_int_eq(k, 0);
        }
        ck_assert_uint_eq(expect, 4);
        ck_assert_int_eq(vs_frame_reader_eof(&r), 0);
        vs_frame_reader_done(&r);
}
END_TEST

START_TEST(test_other_version_refused) {
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION + 1;
        Viewstamp__Pong pong = VIEWSTAMP__PONG__INIT;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_PONG;
        env.pong = &pong;

        _cleanup_free_ uint8_t *frame = NULL;
        size_t n;
        ck_assert_int_eq(vs_envelope_frame(&env, 1024, &frame, &n), 0);
        Viewstamp__Envelope *e = NULL;
        ck_assert_int_eq(vs_envelope_decode(frame + VS_FRAME_HEADER_SIZE, n - VS_FRAME_HEADER_SIZE, &e),
                         -EPROTONOSUPPORT);
        ck_assert_ptr_null(e);
        ck_assert_int_eq(vs_envelope_frame(&env, (uint32_t) (n - VS_FRAME_HEADER_SIZE - 1), &frame, &n),
                         -EMSGSIZE);
}
END_TEST

/* Decoding into an arena: each frame's envelope replaces the last in the same memory (no growth
 * after the first), garbage is refused as by the malloc decoder, and the arena is usable after. */
START_TEST(test_decode_in_arena) {
        struct vs_pb_arena a = {};
        static const uint8_t garbage[] = { 0x0a, 0x7f, 0x00 };
        Viewstamp__Envelope *e = NULL;
        ck_assert_int_eq(vs_envelope_decode_in(&a, garbage, sizeof garbage, &e), -EBADMSG);
        ck_assert_ptr_null(e);
        ck_assert(!a.failed);

        const struct vs_arena_chunk *chunk = NULL;
        for (uint64_t nonce = 1; nonce <= 50; nonce++) {
                const char *tenant = nonce % 2 ? "accounts" : "a-much-longer-tenant-name";
                _cleanup_free_ uint8_t *frame = NULL;
                size_t n;
                ping_frame(tenant, nonce, &frame, &n);

                ck_assert_int_eq(vs_envelope_decode_in(&a, frame + VS_FRAME_HEADER_SIZE,
                                                       n - VS_FRAME_HEADER_SIZE, &e), 0);
                ck_assert_str_eq(e->header->tenant, tenant);
                ck_assert_uint_eq(e->ping->nonce, nonce);
                if (nonce > 1)
                        ck_assert_ptr_eq(a.arena.chunks, chunk);
                chunk = a.arena.chunks;
        }
        vs_pb_arena_done(&a);
}
END_TEST

static Suite *frame_suite(void) {
        Suite *s = suite_create("frame");
        TCase *tc = tcase_create("frame");
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_header_is_big_endian);
        tcase_add_test(tc, test_exact_maximum);
        tcase_add_test(tc, test_one_byte_over);
        tcase_add_test(tc, test_truncated_header);
        tcase_add_test(tc, test_truncated_body);
        tcase_add_test(tc, test_zero_length);
        tcase_add_test(tc, test_garbage_bytes);
        tcase_add_test(tc, test_split_across_reads);
        tcase_add_test(tc, test_other_version_refused);
        tcase_add_test(tc, test_decode_in_arena);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(frame_suite());
}
