/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../check-run.h"

void harness_config(struct vr_config *c, uint32_t n, uint32_t self, bool lease) {
        vr_config_default(c, n, self);
        c->jitter_ticks = 0;
        c->reads_through_log = !lease;
        if (!lease)
                c->lease_ticks = 0;
}

void harness_new(struct harness *h, uint32_t n, uint32_t self, bool lease) {
        struct vr_config c;
        harness_config(&c, n, self, lease);
        harness_new_config(h, &c);
}

void harness_new_config(struct harness *h, const struct vr_config *c) {
        *h = (struct harness) { .cfg = *c };
        kv_init(&h->kv, 3);
        ck_assert_int_eq(vr_replica_new(&h->cfg, &kv_ops, &h->kv, &h->r), 0);
        harness_persist(h);
        harness_clear(h);
}

void harness_clear(struct harness *h) {
        for (size_t i = 0; i < h->n_out; i++)
                vr_msg_done(&h->out[i].msg);
        free(h->out);
        h->out = NULL;
        h->n_out = 0;
        h->n_records = 0;
}

void harness_free(struct harness *h) {
        harness_clear(h);
        vr_replica_free(h->r);
}

void harness_drain(struct harness *h) {
        struct vr_ready rd;
        ck_assert_int_eq(vr_ready_take(h->r, &rd), 0);
        if (rd.n_records > 0)
                h->last_seq = rd.records[rd.n_records - 1].seq;
        h->n_records += rd.n_records;
        h->checkpoint_op = rd.checkpoint_op;
        if (rd.n_msgs > 0) {
                h->out = reallocarray(h->out, h->n_out + rd.n_msgs, sizeof(*h->out));
                ck_assert_ptr_nonnull(h->out);
                /* Copied: a Prepare's entries are only lent until the next input. */
                for (size_t i = 0; i < rd.n_msgs; i++) {
                        h->out[h->n_out] = rd.msgs[i];
                        ck_assert_int_eq(vr_msg_copy(&h->out[h->n_out].msg, &rd.msgs[i].msg), 0);
                        h->n_out++;
                }
        }
        vr_ready_done(&rd);
}

void harness_persist(struct harness *h) {
        harness_drain(h);
        if (h->last_seq > 0)
                ck_assert_int_eq(vr_persisted(h->r, h->last_seq), 0);
        harness_drain(h);
}

void harness_recv(struct harness *h, const struct vr_msg *m) {
        ck_assert_int_eq(vr_receive(h->r, m), 0);
        harness_drain(h);
}

void harness_ticks(struct harness *h, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                ck_assert_int_eq(vr_tick(h->r), 0);
        harness_drain(h);
}

size_t harness_count(const struct harness *h, enum vr_msg_type t) {
        size_t n = 0;
        for (size_t i = 0; i < h->n_out; i++)
                n += h->out[i].msg.type == t;
        return n;
}

const struct vr_msg *harness_find(const struct harness *h, enum vr_msg_type t, int to) {
        for (size_t i = h->n_out; i > 0; i--) {
                const struct vr_output *o = &h->out[i - 1];
                if (o->msg.type == t && (to < 0 || (!o->to_client && o->replica == (uint32_t) to)))
                        return &o->msg;
        }
        return NULL;
}

struct vr_entry harness_entry(uint64_t op, uint64_t view, uint64_t client, uint64_t request, int64_t value) {
        static uint8_t cmd[KV_CMD_LEN];
        kv_encode(cmd, KV_WRITE, 0, value, 0);
        return (struct vr_entry) {
                .op = op, .view = view, .client_id = client, .request = request,
                .len = sizeof(cmd), .data = cmd,
        };
}

void harness_register(struct harness *h, uint64_t client) {
        struct vr_msg req = {
                .type = VR_MSG_REQUEST, .client_id = client, .request = 1,
                .len = VR_REGISTER_CMD_LEN, .data = (uint8_t *) VR_REGISTER_CMD,
        };
        harness_recv(h, &req);
        harness_persist(h);
        for (uint32_t i = 0; i < h->cfg.n_replicas; i++) {
                if (i == h->cfg.self)
                        continue;
                struct vr_msg ok = {
                        .type = VR_MSG_PREPARE_OK, .from = i, .view = vr_replica_view(h->r),
                        .op = vr_replica_op(h->r),
                };
                harness_recv(h, &ok);
        }
        ck_assert_uint_eq(vr_replica_commit(h->r), vr_replica_op(h->r));
        harness_clear(h);
}

int harness_run(Suite *s) {
        return vs_check_run(s);
}
