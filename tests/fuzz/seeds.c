/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of every fuzz target (tests/fuzz/corpus/<target>/) from what the code
 * itself produces: framed envelopes, the core's messages through the codec on a replica in each
 * state, a journal of every record kind, a tree snapshot and a replica checkpoint, and real
 * replies of the tree. The configuration seeds are written by hand and not produced here.
 *
 *   fuzz-seeds DIR    # DIR/<target>/seed-NN for frame, vr, journal, snapshot, client
 */
#include <errno.h>
#include <sys/stat.h>

#include "../tree/snapbuf.h"
#include "codec/vr_codec.h"
#include "fuzz.h"
#include "journal/format.h"
#include "replica.h"
#include "tree/tree_sm.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "wire/envelope.h"
#include "wire/frame.h"

static const char *dir;

static void put(struct vs_buf *b, const void *p, size_t n) {
        fuzz_assert(vs_buf_reserve(b, n) == 0);
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

static void put_u8(struct vs_buf *b, uint8_t v) {
        put(b, &v, 1);
}

static void put_u16(struct vs_buf *b, uint16_t v) {
        put_u8(b, (uint8_t) v);
        put_u8(b, (uint8_t) (v >> 8));
}

static void save(const char *target, const struct vs_buf *b) {
        static unsigned counter[6];
        static const char *const names[] = { "frame", "vr", "journal", "snapshot", "client", NULL };
        unsigned i = 0;
        while (names[i] && strcmp(names[i], target) != 0)
                i++;
        fuzz_assert(names[i]);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, target);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/seed-%02u", dir, target, counter[i]++);
        _cleanup_fclose_ FILE *f = fopen(path, "we");
        fuzz_assert(f && fwrite(b->data, 1, b->len, f) == b->len);
}

/* An envelope's frame body (no length prefix). */
static void envelope_body(Viewstamp__Envelope *e, struct vs_buf *out) {
        static Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        h.tenant = (char *) "t";
        e->header = &h;
        _cleanup_free_ uint8_t *frame = NULL;
        size_t len;
        fuzz_assert(vs_envelope_frame(e, UINT32_MAX, &frame, &len) == 0);
        put(out, frame + VS_FRAME_HEADER_SIZE, len - VS_FRAME_HEADER_SIZE);
}

static void vr_body(const struct vr_msg *m, struct vs_buf *out) {
        Viewstamp__VrMessage pb;
        fuzz_assert(vs_vr_msg_to_pb(m, &pb) == 0);
        Viewstamp__Envelope e = VIEWSTAMP__ENVELOPE__INIT;
        e.body_case = VIEWSTAMP__ENVELOPE__BODY_VR;
        e.vr = &pb;
        envelope_body(&e, out);
        vs_vr_pb_view_done(&pb);
}

static void request_body(uint64_t client, uint64_t request, const uint8_t *cmd, size_t len, struct vs_buf *out) {
        Viewstamp__ClientRequest req = VIEWSTAMP__CLIENT_REQUEST__INIT;
        req.client_id = client;
        req.request = request;
        req.command = (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) cmd };
        Viewstamp__Envelope e = VIEWSTAMP__ENVELOPE__INIT;
        e.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST;
        e.client_request = &req;
        envelope_body(&e, out);
}

static void frame_seeds(void) {
        _cleanup_(vs_buf_free) struct vs_buf bodies = {};
        Viewstamp__Ping ping = VIEWSTAMP__PING__INIT;
        ping.nonce = 42;
        Viewstamp__Envelope e = VIEWSTAMP__ENVELOPE__INIT;
        e.body_case = VIEWSTAMP__ENVELOPE__BODY_PING;
        e.ping = &ping;
        size_t ends[3];
        envelope_body(&e, &bodies);
        ends[0] = bodies.len;
        Viewstamp__Hello hello = VIEWSTAMP__HELLO__INIT;
        hello.node = (char *) "node1";
        e.body_case = VIEWSTAMP__ENVELOPE__BODY_HELLO;
        e.hello = &hello;
        envelope_body(&e, &bodies);
        ends[1] = bodies.len;
        request_body(7, 1, (const uint8_t *) "cmd", 3, &bodies);
        ends[2] = bodies.len;

        /* The three framed, in chunks of 1, 5 and 255 bytes; then oversized and empty frames. */
        _cleanup_(vs_buf_free) struct vs_buf stream = {};
        for (size_t i = 0, start = 0; i < 3; start = ends[i++]) {
                uint8_t hdr[VS_FRAME_HEADER_SIZE];
                fuzz_assert(vs_frame_header(hdr, ends[i] - start, UINT32_MAX) == 0);
                put(&stream, hdr, sizeof hdr);
                put(&stream, bodies.data + start, ends[i] - start);
        }
        const size_t chunk[] = { 1, 5, 255 };
        for (size_t c = 0; c < 3; c++) {
                _cleanup_(vs_buf_free) struct vs_buf b = {};
                put_u16(&b, 1023);
                for (size_t at = 0; at < stream.len; at += chunk[c]) {
                        size_t n = stream.len - at < chunk[c] ? stream.len - at : chunk[c];
                        put_u8(&b, (uint8_t) n);
                        put(&b, stream.data + at, n);
                }
                save("frame", &b);
        }
        const uint8_t bad[][6] = { { 4, 0, 0, 0, 0 }, { 4, 0, 0, 4, 1 }, { 5, 0, 0, 0, 1, 0x0a } };
        for (size_t i = 0; i < 3; i++) {
                _cleanup_(vs_buf_free) struct vs_buf b = {};
                put_u16(&b, 255);
                put(&b, bad[i], bad[i][0] + 1u);
                save("frame", &b);
        }
}

static void vr_seeds(void) {
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t cmd_len;
        fuzz_assert(tree_sm_encode_create("/b", "y", 1, 0, &cmd, &cmd_len) == 0);
        struct vr_entry e[2] = {
                { .op = 3, .view = 0, .client_id = 7, .request = 2, .len = (uint32_t) cmd_len, .data = cmd },
                { .op = 4, .view = 0, .client_id = 7, .request = 3, .len = (uint32_t) cmd_len, .data = cmd },
        };
        /* One message of each replica type, with fields that fit a group in view 0 or 1. */
        const struct vr_msg msgs[] = {
                { .type = VR_MSG_PREPARE, .op = 4, .commit = 2, .n_entries = 2, .entries = e },
                { .type = VR_MSG_PREPARE_OK, .op = 2 },
                { .type = VR_MSG_COMMIT, .op = 2, .commit = 2 },
                { .type = VR_MSG_START_VIEW_CHANGE, .view = 1, .commit = 2 },
                { .type = VR_MSG_DO_VIEW_CHANGE, .view = 1, .op = 4, .commit = 2, .n_entries = 2, .entries = e },
                { .type = VR_MSG_START_VIEW, .view = 1, .op = 4, .commit = 2, .n_entries = 2, .entries = e },
                { .type = VR_MSG_RECOVERY, .nonce = 9 },
                { .type = VR_MSG_RECOVERY_RESPONSE, .nonce = 1, .op = 4, .commit = 2, .n_entries = 2, .entries = e },
                { .type = VR_MSG_GET_STATE, .op = 0 },
                { .type = VR_MSG_NEW_STATE, .op = 4, .commit = 4, .n_entries = 2, .entries = e },
        };
        for (unsigned state = 0; state < 4; state++)
                for (size_t i = 0; i < ELEMENTSOF(msgs); i++) {
                        _cleanup_(vs_buf_free) struct vs_buf body = {};
                        vr_body(&msgs[i], &body);
                        _cleanup_(vs_buf_free) struct vs_buf b = {};
                        put_u8(&b, (uint8_t) state);
                        /* From the primary (replica 0), or to the primary from replica 1; then a
                         * persist and a tick. */
                        put_u8(&b, state == 0 ? 1 << 2 : 0);
                        put_u16(&b, (uint16_t) body.len);
                        put(&b, body.data, body.len);
                        put_u8(&b, 3);
                        put_u8(&b, 2);
                        save("vr", &b);
                }
        /* Composed messages (fuzz-vr.c's compose()): every type, fields at or just above the
         * replica's own numbers, one entry carrying a create. */
        for (uint8_t type = 1; type <= 13; type++) {
                _cleanup_(vs_buf_free) struct vs_buf b = {};
                put_u8(&b, type % 4);
                put_u8(&b, type % 4 == 0 ? 1 | 1 << 2 : 1);
                const uint8_t fields[] = { type, 8, 9, 8, 8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 1, 0, 0, 1 };
                put(&b, fields, sizeof fields);
                put_u8(&b, 3);
                put_u8(&b, 2);
                save("vr", &b);
        }
        _cleanup_(vs_buf_free) struct vs_buf body = {};
        request_body(7, 2, cmd, cmd_len, &body);
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        put_u8(&b, 4); /* primary with leases */
        put_u8(&b, 0);
        put_u16(&b, (uint16_t) body.len);
        put(&b, body.data, body.len);
        put_u8(&b, 3);
        save("vr", &b);
}

static void journal_seeds(void) {
        _cleanup_(vs_buf_free) struct vs_buf j = {};
        fuzz_assert(vs_buf_reserve(&j, VS_FORMAT_FILE_HEADER_SIZE) == 0);
        vs_format_file_header_encode(j.data, &(struct vs_file_header) { .version = VS_FORMAT_VERSION, .cluster_id = 1,
                                                                         .node_id = 2, .generation = 3 });
        j.len = VS_FORMAT_FILE_HEADER_SIZE;
        uint8_t data[8] = "command";
        for (uint64_t tenant = 1; tenant <= 2; tenant++) {
                struct vs_record_place at = { .generation = 3, .batch = 1, .tenant = tenant };
                struct vr_record recs[] = {
                        { .kind = VR_RECORD_META, .meta = { .view = 1, .last_normal_view = 1, .commit = 2 } },
                        { .kind = VR_RECORD_ENTRY, .entry = { .op = 1, .view = 1, .client_id = 7, .len = 8, .data = data } },
                        { .kind = VR_RECORD_ENTRY, .entry = { .op = 2, .view = 1, .client_id = 7, .request = 1, .len = 8, .data = data } },
                        { .kind = VR_RECORD_ENTRY, .entry = { .op = 3, .view = 1, .client_id = 7, .request = 2, .len = 8, .data = data } },
                        { .kind = VR_RECORD_TRUNCATE, .after = 2 },
                        { .kind = VR_RECORD_ENTRY, .entry = { .op = 3, .view = 2, .client_id = 7, .request = 2, .len = 8, .data = data } },
                };
                for (size_t i = 0; i < ELEMENTSOF(recs); i++) {
                        recs[i].seq = i + 1;
                        fuzz_assert(vs_format_record_encode(&j, &at, &recs[i]) == 0);
                        at.prev_seq = recs[i].seq;
                        at.batch += i % 2;
                }
                if (tenant == 2)
                        fuzz_assert(vs_format_missing_encode(&j, &at, 7, 3) == 0);
        }
        fuzz_assert(vs_format_seal_encode(&j, 3, 9) == 0);
        for (uint8_t flags = 0; flags < 2; flags++) {
                _cleanup_(vs_buf_free) struct vs_buf b = {};
                put_u8(&b, flags);
                put(&b, j.data, j.len);
                save("journal", &b);
        }
        /* The header alone, and the header followed by preallocated zeros. */
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        put_u8(&b, 0);
        put(&b, j.data, VS_FORMAT_FILE_HEADER_SIZE);
        save("journal", &b);
        static const uint8_t zeros[256];
        put(&b, zeros, sizeof zeros);
        save("journal", &b);
}

/* A tree with a few nodes, as the tree store and as a replica's checkpoint; real replies. */
static void tree_seeds(void) {
        struct vr_config c;
        fuzz_replica_config(&c, 1, 0, false);
        struct fuzz_replica f;
        fuzz_assert(fuzz_replica_start(&f, &c, NULL) == 0);
        const struct tree_sm_cmd {
                const char *path, *value;
                bool get;
        } cmds[] = { { "/a", "1", false }, { "/a/b", "22", false }, { "/c", "", false }, { "/a", NULL, true } };
        struct vr_msg reg = { .type = VR_MSG_REQUEST, .client_id = 7, .len = VR_REGISTER_CMD_LEN,
                              .data = (uint8_t *) VR_REGISTER_CMD };
        fuzz_assert(fuzz_replica_after(&f, vr_receive(f.r, &reg), 0, 0) && fuzz_replica_persist(&f));
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                _cleanup_free_ uint8_t *cmd = NULL, *reply = NULL;
                size_t len, reply_len;
                if (cmds[i].get)
                        fuzz_assert(tree_sm_encode_get(cmds[i].path, &cmd, &len) == 0);
                else
                        fuzz_assert(tree_sm_encode_create(cmds[i].path, cmds[i].value, strlen(cmds[i].value), 0,
                                                          &cmd, &len) == 0);
                struct vr_msg m = { .type = VR_MSG_REQUEST, .client_id = 7, .request = i + 1, .len = (uint32_t) len, .data = cmd };
                fuzz_assert(fuzz_replica_after(&f, vr_receive(f.r, &m), 0, 0) && fuzz_replica_persist(&f));

                /* The same command on a tree of its own gives the reply a client would get. */
                fuzz_assert(tree_sm_ops.apply(f.tree, 100, cmd, len, &reply, &reply_len) == 0);
                for (uint8_t mode = 0; mode < 2; mode++) {
                        _cleanup_(vs_buf_free) struct vs_buf b = {};
                        put_u8(&b, mode);
                        if (mode == 1) {
                                put(&b, reply, reply_len);
                        } else {
                                Viewstamp__ClientReply r = VIEWSTAMP__CLIENT_REPLY__INIT;
                                r.client_id = 7;
                                r.request = i + 1;
                                r.reply = (ProtobufCBinaryData) { .len = reply_len, .data = reply };
                                Viewstamp__Envelope e = VIEWSTAMP__ENVELOPE__INIT;
                                e.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
                                e.client_reply = &r;
                                envelope_body(&e, &b);
                        }
                        save("client", &b);
                }
        }
        struct snapbuf s = {};
        fuzz_assert(snapbuf_take(f.tree, &s) == 0);
        for (uint8_t flags = 0; flags < 4; flags += 2) {
                _cleanup_(vs_buf_free) struct vs_buf b = {};
                put_u8(&b, flags);
                put(&b, s.data, s.len);
                save("snapshot", &b);
        }
        snapbuf_done(&s);
        fuzz_assert(f.checkpoint); /* at op 4 */
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        put_u8(&b, 1);
        put(&b, f.checkpoint, f.checkpoint_len);
        save("snapshot", &b);
        fuzz_replica_done(&f);
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        dir = argv[1];
        (void) mkdir(dir, 0755);
        frame_seeds();
        vr_seeds();
        journal_seeds();
        tree_seeds();
        return 0;
}
