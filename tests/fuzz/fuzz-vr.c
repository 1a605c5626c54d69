/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every message a peer or client can send, into the replica core through the daemon's decode
 * path (frame body -> Envelope -> codec -> vr_receive, as node/tenant.c does), on a replica of a
 * small group first put into one of its states: primary of a normal view, backup, in a view
 * change, or recovering. The message types are never listed here: whatever the codec accepts
 * reaches the core, so new types are fuzzed as soon as the codec knows them.
 *
 * Input: a setup byte (bits 0-1 the state, bit 2 leases, bit 3 five replicas instead of three),
 * then commands, each a byte c: c % 4 == 0 is followed by a u16 length and that many bytes of an
 * envelope delivered from replica (c / 4) % n; c % 4 == 1 by the fields of a replica message from
 * that replica (compose()); c % 4 == 2 is c / 4 + 1 ticks; c % 4 == 3 makes every record written
 * so far durable.
 */
#include <errno.h>

#include "codec/vr_codec.h"
#include "fuzz.h"
#include "replica.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "wire/envelope.h"

#define CLIENT 7

static bool receive(struct fuzz_replica *f, const struct vr_msg *m) {
        return fuzz_replica_after(f, vr_receive(f->r, m), -EINVAL, -EBADMSG);
}

/* Client 7 registers and creates /a, both logged at ops 1 and 2. */
static bool logged_entries(struct vr_entry e[2], uint8_t **cmd) {
        size_t len;
        if (tree_sm_encode_create("/a", "x", 1, 0, cmd, &len) < 0)
                return false;
        e[0] = (struct vr_entry) { .op = 1, .client_id = CLIENT, .len = VR_REGISTER_CMD_LEN,
                                   .data = (uint8_t *) VR_REGISTER_CMD };
        e[1] = (struct vr_entry) { .op = 2, .client_id = CLIENT, .request = 1, .len = (uint32_t) len, .data = *cmd };
        return true;
}

static bool setup_primary(struct fuzz_replica *f, const struct vr_entry e[2]) {
        for (size_t i = 0; i < 2; i++) {
                struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = e[i].client_id,
                                      .request = e[i].request, .len = e[i].len, .data = e[i].data };
                if (!receive(f, &req) || !fuzz_replica_persist(f))
                        return false;
                for (uint32_t from = 1; from < f->cfg.n_replicas; from++) {
                        struct vr_msg ok = { .type = VR_MSG_PREPARE_OK, .from = from, .op = i + 1 };
                        if (!receive(f, &ok))
                                return false;
                }
        }
        return true;
}

static bool setup_backup(struct fuzz_replica *f, struct vr_entry e[2]) {
        struct vr_msg prepare = { .type = VR_MSG_PREPARE, .op = 2, .commit = 1, .n_entries = 2, .entries = e };
        struct vr_msg commit = { .type = VR_MSG_COMMIT, .op = 2, .commit = 2 };
        return receive(f, &prepare) && fuzz_replica_persist(f) && receive(f, &commit);
}

static bool setup(struct fuzz_replica *f, uint8_t how) {
        uint32_t n = how & 8 ? 5 : 3;
        unsigned state = how & 3;
        struct vr_config c;
        fuzz_replica_config(&c, n, state == 0 ? 0 : 1, how & 4);
        if (state == 3) {
                /* A journal damaged in the middle: the replica restarts into recovery. */
                struct vr_durable d = { .next_seq = 1, .damaged = true };
                return fuzz_replica_start(f, &c, &d) == 0;
        }
        if (fuzz_replica_start(f, &c, NULL) < 0)
                return false;

        _cleanup_free_ uint8_t *cmd = NULL;
        struct vr_entry e[2];
        if (!logged_entries(e, &cmd))
                return false;
        if (state == 0)
                return setup_primary(f, e);
        if (!setup_backup(f, e))
                return false;
        /* The primary falls silent until the backup gives up on it. */
        for (unsigned i = 0; state == 2 && i < 100 && vr_replica_status(f->r) == VR_STATUS_NORMAL; i++)
                if (!fuzz_replica_ticks(f, 1))
                        return false;
        return true;
}

/* What node/tenant.c does with an envelope from a peer node or a client connection. */
static bool deliver(struct fuzz_replica *f, uint32_t from, const uint8_t *body, size_t len) {
        _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
        if (vs_envelope_decode(body, len, &e) < 0)
                return true;
        struct vr_msg m;
        if (e->body_case == VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST) {
                if (vs_vr_msg_from_client_request(e->client_request, &m) < 0)
                        return true;
                return fuzz_replica_after(f, vr_receive(f->r, &m), -EINVAL, 0);
        }
        if (e->body_case != VIEWSTAMP__ENVELOPE__BODY_VR || from == f->cfg.self)
                return true;
        int r = vs_vr_msg_from_pb(e->vr, &m);
        if (r == -ENOMEM)
                return false;
        if (r < 0)
                return true;
        bool ok = true;
        if (m.type != VR_MSG_REQUEST && m.type != VR_MSG_REPLY) {
                m.from = from;
                ok = receive(f, &m);
        }
        vs_vr_msg_view_done(&m);
        return ok;
}

/* A number near base (within -8..+7, not below 0), or one of two far ones. */
static uint64_t near(uint64_t base, uint8_t b) {
        if (b == 255)
                return UINT64_MAX;
        if (b == 254)
                return UINT64_C(1) << 62;
        uint64_t d = b % 16;
        return d >= 8 ? base + (d - 8) : (base > 8 - d ? base - (8 - d) : 0);
}

/* A replica message whose fields the input picks near the replica's own view and op numbers, so
 * that mutations reach the handlers' branches instead of being refused as far off; it is packed
 * into an envelope and delivered like any other. The type is the input's too: the codec decides. */
static bool compose(struct fuzz_replica *f, uint32_t from, struct fuzz_input *in) {
        static uint8_t *create;
        static size_t create_len;
        if (!create && tree_sm_encode_create("/x", "v", 1, 0, &create, &create_len) < 0)
                return false;
        uint64_t view = vr_replica_view(f->r), op = vr_replica_op(f->r), commit = vr_replica_commit(f->r);

        Viewstamp__VrMessage pb = VIEWSTAMP__VR_MESSAGE__INIT;
        pb.type = fuzz_u8(in);
        pb.view = near(view, fuzz_u8(in));
        pb.op = near(op, fuzz_u8(in));
        pb.commit = near(commit, fuzz_u8(in));
        pb.last_normal_view = near(view, fuzz_u8(in));
        pb.nonce = fuzz_u8(in) % 4;
        pb.lease = fuzz_u8(in);
        pb.client_id = CLIENT + fuzz_u8(in) % 4;
        pb.request = fuzz_u8(in) % 8;
        pb.snap_op = near(op, fuzz_u8(in));
        pb.snap_total = fuzz_u16(in);
        pb.snap_offset = fuzz_u16(in);
        size_t len;
        const uint8_t *d = fuzz_bytes(in, fuzz_u8(in) % 32, &len);
        pb.data = (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) d };

        Viewstamp__VrEntry entries[5], *ptrs[5];
        pb.n_entries = fuzz_u8(in) % 6;
        if (pb.n_entries > pb.op)
                pb.n_entries = pb.op;
        pb.entries = ptrs;
        for (size_t i = 0; i < pb.n_entries; i++) {
                Viewstamp__VrEntry *e = ptrs[i] = &entries[i];
                viewstamp__vr_entry__init(e);
                e->op = pb.op - (pb.n_entries - 1 - i);
                e->view = pb.view - (pb.view > 0 ? fuzz_u8(in) % 2 : 0);
                e->client_id = CLIENT;
                e->request = fuzz_u8(in) % 8;
                switch (fuzz_u8(in) % 3) {
                case 0:
                        e->data = (ProtobufCBinaryData) { VR_REGISTER_CMD_LEN, (uint8_t *) VR_REGISTER_CMD };
                        break;
                case 1:
                        e->data = (ProtobufCBinaryData) { create_len, create };
                        break;
                default:
                        d = fuzz_bytes(in, fuzz_u8(in) % 16, &len);
                        e->data = (ProtobufCBinaryData) { len, (uint8_t *) d };
                }
        }
        /* Last, so that older corpus entries keep their meaning: NewState's log end, around op
         * (a prefix when above it). */
        pb.log_end = near(op, fuzz_u8(in));

        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_VR;
        env.vr = &pb;
        _cleanup_free_ uint8_t *body = malloc(viewstamp__envelope__get_packed_size(&env));
        if (!body)
                return false;
        return deliver(f, from, body, viewstamp__envelope__pack(&env, body));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_input in = { data, size };
        struct fuzz_replica f = {};
        if (!setup(&f, fuzz_u8(&in)))
                goto out;
        while (in.n > 0) {
                uint8_t c = fuzz_u8(&in);
                bool ok;
                switch (c % 4) {
                case 2:
                        ok = fuzz_replica_ticks(&f, c / 4u + 1);
                        break;
                case 3:
                        ok = fuzz_replica_persist(&f);
                        break;
                case 1:
                        ok = compose(&f, (c / 4u) % f.cfg.n_replicas, &in);
                        break;
                default: {
                        size_t len;
                        const uint8_t *body = fuzz_bytes(&in, fuzz_u16(&in), &len);
                        ok = deliver(&f, (c / 4u) % f.cfg.n_replicas, body, len);
                        break;
                }
                }
                if (!ok)
                        break;
        }
out:
        fuzz_replica_done(&f);
        return 0;
}
