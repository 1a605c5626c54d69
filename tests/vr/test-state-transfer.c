/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* State transfer and checkpoints: GetState/NewState with stale views, bad offsets, and a whole
 * checkpoint moved in chunks from a primary whose log no longer reaches back. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Takes and reports durable whatever checkpoint the replica asks for. */
static void checkpoint_if_asked(struct harness *h) {
        if (h->checkpoint_op == 0)
                return;
        uint64_t op = h->checkpoint_op;
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(vr_checkpoint_take_buffer(h->r, &buf, &len), 0);
        free(buf);
        harness_persist(h);
        ck_assert_int_eq(vr_checkpoint_durable(h->r, op), 0);
        harness_persist(h);
}

/* A primary of view 0 (3 replicas) that committed `writes` writes, checkpointing every 2 ops. */
static void busy_primary(struct harness *h, unsigned writes) {
        harness_new(h, 3, 0, false);
        vr_replica_free(h->r);
        h->cfg.checkpoint_interval = 2;
        h->cfg.state_chunk = 16;
        kv_init(&h->kv, 3);
        ck_assert_int_eq(vr_replica_new(&h->cfg, &kv_ops, &h->kv, &h->r), 0);
        harness_persist(h);
        harness_register(h, 7);
        checkpoint_if_asked(h);
        for (unsigned i = 0; i < writes; i++) {
                struct vr_entry e = harness_entry(0, 0, 7, 2 + i, 100 + i);
                struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 2 + i,
                                      .len = e.len, .data = e.data };
                harness_recv(h, &req);
                harness_persist(h);
                struct vr_msg ok = { .type = VR_MSG_PREPARE_OK, .from = 1, .view = 0, .op = vr_replica_op(h->r) };
                harness_recv(h, &ok);
                checkpoint_if_asked(h);
        }
        ck_assert_uint_eq(vr_replica_commit(h->r), writes + 1);
        harness_clear(h);
}

START_TEST(test_get_state_entries) {
        struct harness p;
        busy_primary(&p, 3);
        /* Checkpoints at 2 and 4 keep the log above 2. */
        ck_assert_uint_eq(vr_replica_checkpoint(p.r), 4);
        struct vr_msg gs = { .type = VR_MSG_GET_STATE, .from = 1, .view = 0, .op = 2 };
        harness_recv(&p, &gs);
        const struct vr_msg *ns = harness_find(&p, VR_MSG_NEW_STATE, 1);
        ck_assert_ptr_nonnull(ns);
        ck_assert_uint_eq(ns->snap_total, 0);
        ck_assert_uint_eq(ns->n_entries, 2);
        ck_assert_uint_eq(ns->entries[0].op, 3);

        harness_clear(&p);
        struct vr_msg stale = gs;
        stale.view = 1;
        harness_recv(&p, &stale);
        ck_assert_uint_eq(p.n_out, 0);
        harness_free(&p);
}
END_TEST

START_TEST(test_checkpoint_in_chunks) {
        struct harness p, b;
        busy_primary(&p, 5);
        harness_new(&b, 3, 1, false);

        /* The backup hears of op 6 and asks from 0: the log below 4 is gone, so a checkpoint. */
        struct vr_msg c = { .type = VR_MSG_COMMIT, .from = 0, .view = 0, .op = 6, .commit = 6 };
        harness_recv(&b, &c);
        unsigned chunks = 0;
        for (;;) {
                const struct vr_msg *gs = harness_find(&b, VR_MSG_GET_STATE, 0);
                ck_assert_ptr_nonnull(gs);
                struct vr_msg req = *gs;
                req.from = 1;
                harness_clear(&p);
                harness_recv(&p, &req);
                const struct vr_msg *ns = harness_find(&p, VR_MSG_NEW_STATE, 1);
                ck_assert_ptr_nonnull(ns);
                ck_assert_uint_gt(ns->snap_total, 0);
                ck_assert_uint_le(ns->len, 16);
                struct vr_msg n = *ns;
                n.from = 0;
                if (chunks == 1) {
                        /* A chunk at the wrong offset changes nothing. */
                        struct vr_msg bad = n;
                        bad.snap_offset += 1;
                        harness_clear(&b);
                        harness_recv(&b, &bad);
                        ck_assert_uint_eq(b.n_out + b.n_records, 0);
                }
                harness_clear(&b);
                harness_recv(&b, &n);
                chunks++;
                if (n.snap_offset + n.len == n.snap_total)
                        break;
        }
        ck_assert_uint_gt(chunks, 2);
        ck_assert_uint_eq(vr_replica_applied(b.r), 6);
        ck_assert_int_eq(b.kv.v[0], 104);
        /* Nothing of the new log is written before the checkpoint it continues from. */
        ck_assert_uint_eq(b.n_records, 0);
        ck_assert_uint_eq(b.checkpoint_op, 6);
        ck_assert(vr_replica_needs_repair(b.r));
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(vr_checkpoint_take_buffer(b.r, &buf, &len), 0);
        free(buf);
        harness_drain(&b);
        ck_assert_uint_gt(b.n_records, 0);
        harness_persist(&b);
        ck_assert_uint_eq(harness_count(&b, VR_MSG_PREPARE_OK), 0); /* checkpoint not durable */
        ck_assert_int_eq(vr_checkpoint_durable(b.r, 6), 0);
        ck_assert(!vr_replica_needs_repair(b.r));
        harness_free(&b);
        harness_free(&p);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vr-state-transfer");
        TCase *tc = tcase_create("state-transfer");
        tcase_add_test(tc, test_get_state_entries);
        tcase_add_test(tc, test_checkpoint_in_chunks);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run(suite());
}
