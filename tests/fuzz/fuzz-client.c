/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The client library's decoding of what a node sends back: the frame body's envelope, the
 * ClientReply in it, and the TreeResponse that becomes a vs_result (client/result.h), read
 * through every public accessor as an application would.
 *
 * Input: a mode byte, then the bytes. Mode bit 0: the bytes are a TreeResponse alone;
 * otherwise they are a frame body, decoded as client.c does.
 */
#include <errno.h>

#include "client/result.h"
#include "client/viewstamp.h"
#include "fuzz.h"
#include "wire/envelope.h"

static void check_string(const char *s) {
        if (s)
                (void) strlen(s); /* NUL-terminated, within its allocation */
}

static void read_result(const uint8_t *buf, size_t len) {
        vs_result *res = NULL;
        int r = result_new_reply(buf, len, &res);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                return;
        check_string(vs_strerror(vs_result_error(res)));
        check_string(vs_error_name(vs_result_error(res)));
        check_string(vs_result_message(res));
        struct vs_stat st;
        (void) vs_result_stat(res, &st);
        size_t vlen = SIZE_MAX;
        const char *v = vs_result_value(res, &vlen);
        fuzz_assert(!v || vlen != SIZE_MAX);
        if (v && vlen > 0)
                fuzz_assert(memchr(v, 0, vlen + 1));
        check_string(vs_result_path(res));
        size_t n = vs_result_children(res);
        for (size_t i = 0; i <= n; i++) {
                const char *name = vs_result_child_name(res, i);
                fuzz_assert(i < n ? name != NULL : name == NULL);
                check_string(name);
                (void) vs_result_child_stat(res, i, &st);
        }
        (void) vs_result_failed_op(res);
        n = vs_result_op_results(res);
        for (size_t i = 0; i <= n; i++) {
                check_string(vs_result_op_path(res, i));
                (void) vs_result_op_stat(res, i, &st);
        }
        vs_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_input in = { data, size };
        uint8_t mode = fuzz_u8(&in);
        if (mode & 1) {
                read_result(in.p, in.n);
                return 0;
        }
        _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
        if (vs_envelope_decode(in.p, in.n, &e) < 0)
                return 0;
        if (e->body_case != VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY)
                return 0;
        const Viewstamp__ClientReply *m = e->client_reply;
        check_string(m->primary);
        check_string(m->message);
        if (m->status == VIEWSTAMP__CLIENT_STATUS__CLIENT_OK)
                read_result(m->reply.data, m->reply.len);
        return 0;
}
