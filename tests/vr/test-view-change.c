/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* View change, recovery and leases: each handler with stale, future and duplicate input. */
#include <check.h>
#include <stdlib.h>

#include "harness.h"

static struct vr_msg svc(uint32_t from, uint64_t view) {
        return (struct vr_msg) { .type = VR_MSG_START_VIEW_CHANGE, .from = from, .view = view };
}

static struct vr_msg dvc(uint32_t from, uint64_t view, uint64_t lnv, struct vr_entry *e, size_t n) {
        return (struct vr_msg) {
                .type = VR_MSG_DO_VIEW_CHANGE, .from = from, .view = view, .last_normal_view = lnv,
                .entries = e, .n_entries = n, .op = n > 0 ? e[n - 1].op : 0,
        };
}

START_TEST(test_svc_stale_ignored_future_joined) {
        struct harness h;
        harness_new(&h, 3, 2, false);
        struct vr_msg old = svc(0, 0);
        harness_recv(&h, &old);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert_uint_eq(h.n_records + h.n_out, 0);

        struct vr_msg m = svc(0, 4);
        harness_recv(&h, &m);
        ck_assert_uint_eq(vr_replica_view(h.r), 4);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);
        ck_assert_uint_eq(h.n_records, 1); /* the new view, persisted first */
        ck_assert_uint_eq(h.n_out, 0);     /* votes wait for it */
        harness_persist(&h);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_START_VIEW_CHANGE), 2);
        /* f = 1 other StartViewChange: DoViewChange to the primary of view 4, replica 1. */
        const struct vr_msg *d = harness_find(&h, VR_MSG_DO_VIEW_CHANGE, 1);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(d->view, 4);
        harness_free(&h);
}
END_TEST

START_TEST(test_new_primary_takes_best_log) {
        struct harness h;
        harness_new(&h, 5, 1, false); /* primary of view 1 */
        struct vr_entry mine = harness_entry(1, 0, 7, 2, 1);
        struct vr_msg p = {
                .type = VR_MSG_PREPARE, .from = 0, .view = 0, .op = 1, .entries = &mine, .n_entries = 1,
        };
        harness_recv(&h, &p);
        harness_persist(&h);

        struct vr_msg s2 = svc(2, 1), s3 = svc(3, 1);
        harness_recv(&h, &s2);
        harness_recv(&h, &s3);
        harness_persist(&h);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);

        /* First a shorter log, then a longer one from the same last normal view. */
        struct vr_entry shorter[1] = { harness_entry(1, 0, 7, 2, 1) };
        struct vr_msg d2 = dvc(2, 1, 0, shorter, 1);
        harness_recv(&h, &d2);
        harness_recv(&h, &d2); /* duplicate: still one vote */
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);

        struct vr_entry longer[3] = { harness_entry(1, 0, 7, 2, 1), harness_entry(2, 0, 7, 3, 1),
                                      harness_entry(3, 0, 7, 4, 1) };
        struct vr_msg d3 = dvc(3, 1, 0, longer, 3);
        harness_recv(&h, &d3);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert_uint_eq(vr_replica_op(h.r), 3);
        ck_assert(vr_replica_is_primary(h.r));
        ck_assert_uint_eq(harness_count(&h, VR_MSG_START_VIEW), 0); /* held until durable */
        harness_persist(&h);
        const struct vr_msg *sv = harness_find(&h, VR_MSG_START_VIEW, 4);
        ck_assert_ptr_nonnull(sv);
        ck_assert_uint_eq(sv->op, 3);
        harness_free(&h);
}
END_TEST

START_TEST(test_start_view_stale_and_gap) {
        struct harness h;
        harness_new(&h, 3, 2, false);
        struct vr_msg sv = { .type = VR_MSG_START_VIEW, .from = 0, .view = 3 };
        harness_recv(&h, &sv);
        ck_assert_uint_eq(vr_replica_view(h.r), 3);
        harness_persist(&h);
        harness_clear(&h);
        harness_recv(&h, &sv); /* duplicate */
        ck_assert_uint_eq(h.n_records + h.n_out, 0);

        /* View 6's log starts at op 10: it does not connect to our empty log. */
        struct vr_entry e = harness_entry(10, 6, 7, 2, 1);
        struct vr_msg gap = { .type = VR_MSG_START_VIEW, .from = 0, .view = 6, .op = 10, .entries = &e,
                              .n_entries = 1, .commit = 10 };
        harness_recv(&h, &gap);
        ck_assert_uint_eq(vr_replica_view(h.r), 6);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        ck_assert_uint_eq(vr_replica_commit(h.r), 0);
        const struct vr_msg *gs = harness_find(&h, VR_MSG_GET_STATE, 0);
        ck_assert_ptr_nonnull(gs);
        ck_assert_uint_eq(gs->op, 0);
        harness_free(&h);
}
END_TEST

/* A backup whose log holds far more than one message: its DoViewChange carries the longest
 * suffix that fits the budget, ending at its last op (its commit number lies inside it). */
START_TEST(test_do_view_change_fits_budget) {
        struct vr_config c;
        harness_config(&c, 3, 2, false);
        c.max_message_bytes = VR_MIN_MESSAGE_BYTES;
        c.checkpoint_interval = 0;
        struct harness h;
        harness_new_config(&h, &c);
        for (uint64_t op = 1; op <= 60; op++) {
                struct vr_entry e = harness_entry(op, 0, 7, op + 1, (int64_t) op);
                struct vr_msg p = {
                        .type = VR_MSG_PREPARE, .from = 0, .view = 0, .op = op, .commit = op,
                        .entries = &e, .n_entries = 1,
                };
                harness_recv(&h, &p);
        }
        harness_persist(&h);
        ck_assert_uint_eq(vr_replica_op(h.r), 60);
        ck_assert_uint_eq(vr_replica_commit(h.r), 60);

        struct vr_msg s1 = svc(0, 1);
        harness_recv(&h, &s1);
        harness_persist(&h);
        const struct vr_msg *d = harness_find(&h, VR_MSG_DO_VIEW_CHANGE, 1);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_le(vr_msg_bytes(d), c.max_message_bytes);
        ck_assert_uint_eq(d->op, 60);
        ck_assert_uint_gt(d->n_entries, 0);
        ck_assert_uint_lt(d->n_entries, 60);
        ck_assert_uint_eq(d->entries[d->n_entries - 1].op, 60);
        harness_free(&h);
}
END_TEST

/* The best DoViewChange starts above the new primary's commit number: it fetches the
 * committed ops it lacks from the sender that knows most of them, then forms the view. */
START_TEST(test_new_primary_fetches_committed_prefix) {
        struct harness h;
        harness_new(&h, 3, 1, false); /* primary of view 1, empty log */
        struct vr_msg s2 = svc(2, 1);
        harness_recv(&h, &s2);
        harness_persist(&h);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);

        struct vr_entry all[6];
        for (uint64_t i = 0; i < 6; i++) {
                all[i] = harness_entry(i + 1, 0, 7, i + 2, (int64_t) i);
                ck_assert_int_eq(vr_entry_copy(&all[i], &all[i]), 0);
        }
        struct vr_msg d2 = dvc(2, 1, 0, all + 4, 2); /* ops 5 and 6, committed up to 5 */
        d2.commit = 5;
        harness_clear(&h);
        harness_recv(&h, &d2);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);
        const struct vr_msg *gs = harness_find(&h, VR_MSG_GET_STATE, 2);
        ck_assert_ptr_nonnull(gs);
        ck_assert_uint_eq(gs->op, 0);
        ck_assert_uint_eq(gs->commit, 4);

        /* Committed state only, ops 1..5; a first piece that stops short changes nothing but
         * the commit number and asks on at once. */
        struct vr_msg piece = {
                .type = VR_MSG_NEW_STATE, .from = 2, .view = 1, .op = 2, .commit = 5, .log_end = 5,
                .entries = all, .n_entries = 2,
        };
        harness_clear(&h);
        harness_recv(&h, &piece);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);
        ck_assert_uint_eq(vr_replica_commit(h.r), 2);
        struct vr_msg rest = {
                .type = VR_MSG_NEW_STATE, .from = 2, .view = 1, .op = 5, .commit = 5, .log_end = 5,
                .entries = all + 2, .n_entries = 3,
        };
        harness_recv(&h, &rest);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert(vr_replica_is_primary(h.r));
        ck_assert_uint_eq(vr_replica_op(h.r), 6);
        ck_assert_uint_eq(vr_replica_commit(h.r), 5);
        for (size_t i = 0; i < 6; i++)
                vr_entry_done(&all[i]);
        harness_free(&h);
}
END_TEST

START_TEST(test_lease_promise_delays_votes) {
        struct harness h;
        harness_new(&h, 3, 1, true);
        struct vr_msg c = { .type = VR_MSG_COMMIT, .from = 0, .view = 0, .lease = 5 };
        harness_recv(&h, &c);
        const struct vr_msg *ok = harness_find(&h, VR_MSG_PREPARE_OK, 0);
        ck_assert_ptr_nonnull(ok);
        ck_assert_uint_eq(ok->lease, 5);

        struct vr_msg m = svc(2, 1);
        harness_recv(&h, &m);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL); /* promised: no vote yet */
        harness_ticks(&h, h.cfg.lease_ticks);
        harness_recv(&h, &m);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);
        ck_assert_uint_eq(vr_replica_view(h.r), 1);
        harness_free(&h);
}
END_TEST

START_TEST(test_primary_timeout_starts_view_change) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        harness_ticks(&h, h.cfg.view_change_ticks - 1);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        harness_ticks(&h, 1);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_VIEW_CHANGE);
        ck_assert_uint_eq(vr_replica_view(h.r), 1);
        harness_free(&h);
}
END_TEST

START_TEST(test_recovery_nonce_and_primary) {
        struct harness h;
        harness_new(&h, 3, 2, false);
        vr_replica_free(h.r);
        kv_init(&h.kv, 3);
        struct vr_durable d = { .next_seq = 10, .damaged = true, .have_meta = true,
                                .meta = { .view = 3, .last_normal_view = 3 } };
        ck_assert_int_eq(vr_replica_restart(&h.cfg, &kv_ops, &h.kv, &d, 77, &h.r), 0);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_RECOVERING);
        harness_persist(&h);
        const struct vr_msg *rec = harness_find(&h, VR_MSG_RECOVERY, 0);
        ck_assert_ptr_nonnull(rec);
        ck_assert_uint_eq(rec->nonce, 77);

        struct vr_entry e[2] = { harness_entry(1, 3, 7, 2, 1), harness_entry(2, 3, 7, 3, 1) };
        struct vr_msg wrong = { .type = VR_MSG_RECOVERY_RESPONSE, .from = 0, .view = 3, .nonce = 76,
                                .op = 2, .commit = 1, .entries = e, .n_entries = 2 };
        struct vr_msg backup = { .type = VR_MSG_RECOVERY_RESPONSE, .from = 1, .view = 3, .nonce = 77 };
        harness_recv(&h, &wrong);
        harness_recv(&h, &backup);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_RECOVERING); /* no primary yet */

        struct vr_msg primary = wrong;
        primary.nonce = 77;
        harness_recv(&h, &primary);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert_uint_eq(vr_replica_view(h.r), 3);
        ck_assert_uint_eq(vr_replica_op(h.r), 2);
        ck_assert_uint_eq(vr_replica_commit(h.r), 1);
        harness_free(&h);
}
END_TEST

START_TEST(test_restarted_primary_does_not_resume) {
        struct harness h;
        harness_new(&h, 3, 0, false);
        vr_replica_free(h.r);
        kv_init(&h.kv, 3);
        struct vr_record meta = { .kind = VR_RECORD_META, .seq = 1, .meta = { .view = 3, .last_normal_view = 3 } };
        struct vr_durable d = { .records = &meta, .n_records = 1, .next_seq = 2 };
        ck_assert_int_eq(vr_replica_restart(&h.cfg, &kv_ops, &h.kv, &d, 1, &h.r), 0);
        ck_assert(!vr_replica_is_primary(h.r));
        struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 1,
                              .len = VR_REGISTER_CMD_LEN, .data = (uint8_t *) VR_REGISTER_CMD };
        harness_recv(&h, &req);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        harness_free(&h);
}
END_TEST

static void read_request(struct harness *h, uint64_t client, uint64_t request) {
        static uint8_t cmd[KV_CMD_LEN];
        kv_encode(cmd, KV_READ, 0, 0, 0);
        struct vr_msg m = { .type = VR_MSG_REQUEST, .client_id = client, .request = request,
                            .len = sizeof(cmd), .data = cmd };
        harness_recv(h, &m);
}

START_TEST(test_lease_read_only_while_granted) {
        struct harness h;
        harness_new(&h, 3, 0, true);
        harness_register(&h, 7);
        uint64_t op = vr_replica_op(h.r);

        /* No grant yet: the read waits, nothing is logged. */
        read_request(&h, 7, 2);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_REPLY), 0);
        ck_assert_uint_eq(vr_replica_op(h.r), op);

        /* A backup acknowledges the heartbeat the primary sent now: f = 1 grant. */
        harness_ticks(&h, h.cfg.heartbeat_ticks);
        const struct vr_msg *hb = harness_find(&h, VR_MSG_COMMIT, 1);
        ck_assert_ptr_nonnull(hb);
        struct vr_msg ok = { .type = VR_MSG_PREPARE_OK, .from = 1, .view = 0, .op = op, .lease = hb->lease };
        harness_recv(&h, &ok);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->request, 2);
        ck_assert_uint_eq(vr_replica_op(h.r), op);

        /* Once the grant may have run out by the backup's clock, reads wait again. */
        harness_clear(&h);
        uint32_t d = h.cfg.drift_ppm;
        uint64_t limit = (uint64_t) (h.cfg.lease_ticks - 2) * (1000000 - d) / (1000000 + d);
        harness_ticks(&h, (unsigned) limit);
        ck_assert_uint_eq(vr_replica_stats(h.r)->lease_reads, 1);
        read_request(&h, 7, 3);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_REPLY), 0);
        harness_free(&h);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vr-view-change");
        TCase *tc = tcase_create("view-change");
        tcase_add_test(tc, test_svc_stale_ignored_future_joined);
        tcase_add_test(tc, test_new_primary_takes_best_log);
        tcase_add_test(tc, test_start_view_stale_and_gap);
        tcase_add_test(tc, test_do_view_change_fits_budget);
        tcase_add_test(tc, test_new_primary_fetches_committed_prefix);
        tcase_add_test(tc, test_lease_promise_delays_votes);
        tcase_add_test(tc, test_primary_timeout_starts_view_change);
        tcase_add_test(tc, test_recovery_nonce_and_primary);
        tcase_add_test(tc, test_restarted_primary_does_not_resume);
        tcase_add_test(tc, test_lease_read_only_while_granted);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run(suite());
}
