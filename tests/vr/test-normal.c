/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Normal operation and the client table: each handler with stale, future, duplicate and
 * out-of-order input. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct vr_msg write_request(uint64_t client, uint64_t request, int64_t value) {
        static uint8_t cmd[KV_CMD_LEN];
        kv_encode(cmd, KV_WRITE, 0, value, 0);
        return (struct vr_msg) {
                .type = VR_MSG_REQUEST, .client_id = client, .request = request,
                .len = sizeof(cmd), .data = cmd,
        };
}

static void ack(struct harness *h, uint32_t from, uint64_t op) {
        struct vr_msg m = { .type = VR_MSG_PREPARE_OK, .from = from, .view = vr_replica_view(h->r), .op = op };
        harness_recv(h, &m);
}

START_TEST(test_primary_counts_itself_only_when_durable) {
        struct harness h;
        harness_new(&h, 3, 0, false);
        harness_register(&h, 7);
        uint64_t op = vr_replica_op(h.r);

        struct vr_msg req = write_request(7, 2, 5);
        harness_recv(&h, &req);
        ck_assert_uint_eq(vr_replica_op(h.r), op + 1);
        ck_assert_uint_eq(h.n_records, 1);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_PREPARE), 2); /* before its own write */

        ack(&h, 1, op + 1);
        ck_assert_uint_eq(vr_replica_commit(h.r), op); /* one backup is not f+1 */
        ck_assert_uint_eq(harness_count(&h, VR_MSG_REPLY), 0);

        harness_persist(&h);
        ck_assert_uint_eq(vr_replica_commit(h.r), op + 1);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->request, 2);
        ck_assert_int_eq(h.kv.v[0], 5);
        harness_free(&h);
}
END_TEST

/* The Prepares a primary hands out borrow their entries from its log: one message, marked as
 * the same for every backup after the first; a copy owns its entries. The arrays come back to
 * the replica for later batches. */
START_TEST(test_prepares_borrow_the_log) {
        struct harness h;
        harness_new(&h, 5, 0, false);
        harness_register(&h, 7);
        harness_persist(&h);

        struct vr_msg req = write_request(7, 2, 5);
        ck_assert_int_eq(vr_receive(h.r, &req), 0);
        struct vr_ready rd;
        ck_assert_int_eq(vr_ready_take(h.r, &rd), 0);
        ck_assert_uint_eq(rd.n_records, 1);
        const struct vr_entry *e = vr_replica_entry(h.r, vr_replica_op(h.r));
        ck_assert_ptr_nonnull(e);
        size_t n = 0;
        for (size_t i = 0; i < rd.n_msgs; i++) {
                const struct vr_output *o = &rd.msgs[i];
                if (o->msg.type != VR_MSG_PREPARE)
                        continue;
                ck_assert(o->msg.entries_borrowed);
                ck_assert_ptr_eq(o->msg.entries, e);
                ck_assert_uint_eq(o->msg.n_entries, 1);
                ck_assert_int_eq(o->same_msg, n > 0);
                ck_assert_uint_eq(o->replica, n + 1);
                n++;
        }
        ck_assert_uint_eq(n, 4);

        struct vr_msg copy;
        ck_assert_int_eq(vr_msg_copy(&copy, &rd.msgs[0].msg), 0);
        ck_assert(!copy.entries_borrowed);
        ck_assert_ptr_ne(copy.entries, e);
        ck_assert_ptr_ne(copy.entries[0].data, e->data);
        ck_assert_mem_eq(copy.entries[0].data, e->data, e->len);
        struct vr_msg shared;
        ck_assert_int_eq(vr_msg_share(&shared, &rd.msgs[0].msg), 0);
        ck_assert(shared.entries_borrowed);
        ck_assert_ptr_eq(shared.entries, e);
        vr_msg_done(&shared);
        const struct vr_record *records = rd.records;
        vr_ready_done(&rd);
        ck_assert_uint_eq(copy.entries[0].op, vr_replica_op(h.r));
        vr_msg_done(&copy);

        /* Two arrays take turns: one fills while the driver holds the other. */
        for (uint64_t request = 3; request <= 4; request++) {
                req = write_request(7, request, 6);
                ck_assert_int_eq(vr_receive(h.r, &req), 0);
                ck_assert_int_eq(vr_ready_take(h.r, &rd), 0);
                ck_assert_uint_eq(rd.n_records, 1);
                ck_assert_uint_eq(rd.records[0].entry.op, vr_replica_op(h.r));
                if (request == 4)
                        ck_assert_ptr_eq(rd.records, records);
                vr_ready_done(&rd);
        }
        harness_free(&h);
}
END_TEST

START_TEST(test_prepare_ok_duplicate_and_stale_view) {
        struct harness h;
        harness_new(&h, 5, 0, false);
        harness_register(&h, 7);
        uint64_t op = vr_replica_op(h.r);
        struct vr_msg req = write_request(7, 2, 5);
        harness_recv(&h, &req);
        harness_persist(&h);

        ack(&h, 1, op + 1);
        ack(&h, 1, op + 1); /* the same backup twice is still one of f */
        ck_assert_uint_eq(vr_replica_commit(h.r), op);

        struct vr_msg stale = { .type = VR_MSG_PREPARE_OK, .from = 2, .view = 7, .op = op + 1 };
        harness_recv(&h, &stale);
        ck_assert_uint_eq(vr_replica_commit(h.r), op);

        ack(&h, 2, op + 1);
        ck_assert_uint_eq(vr_replica_commit(h.r), op + 1);
        harness_free(&h);
}
END_TEST

static struct vr_msg prepare(uint64_t view, uint32_t from, struct vr_entry *e, size_t n, uint64_t commit) {
        return (struct vr_msg) {
                .type = VR_MSG_PREPARE, .from = from, .view = view,
                .entries = e, .n_entries = n, .op = n > 0 ? e[n - 1].op : 0, .commit = commit,
        };
}

START_TEST(test_backup_acknowledges_after_durable) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_entry e = harness_entry(1, 0, 7, 2, 9);
        struct vr_msg p = prepare(0, 0, &e, 1, 0);
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_op(h.r), 1);
        ck_assert_uint_eq(h.n_records, 1);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_PREPARE_OK), 0);

        harness_persist(&h);
        const struct vr_msg *ok = harness_find(&h, VR_MSG_PREPARE_OK, 0);
        ck_assert_ptr_nonnull(ok);
        ck_assert_uint_eq(ok->op, 1);
        harness_free(&h);
}
END_TEST

/* Backup 1 of view 0 holding op 1 durably; returns the Prepare that brought it. */
static struct vr_msg backup_with_one_op(struct harness *h) {
        static struct vr_entry e;
        e = harness_entry(1, 0, 7, 2, 9);
        harness_new(h, 3, 1, false);
        struct vr_msg p = prepare(0, 0, &e, 1, 0);
        harness_recv(h, &p);
        harness_persist(h);
        harness_clear(h);
        return p;
}

START_TEST(test_backup_duplicate_prepare) {
        struct harness h;
        struct vr_msg p = backup_with_one_op(&h);
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_op(h.r), 1);
        ck_assert_uint_eq(h.n_records, 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_gap_asks_for_state) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_entry e = harness_entry(3, 0, 7, 4, 9);
        struct vr_msg p = prepare(0, 0, &e, 1, 0);
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        ck_assert_uint_eq(h.n_records, 0);
        /* The missing Prepares get a heartbeat to arrive first. */
        ck_assert_uint_eq(harness_count(&h, VR_MSG_GET_STATE), 0);
        harness_ticks(&h, h.cfg.heartbeat_ticks);
        const struct vr_msg *gs = harness_find(&h, VR_MSG_GET_STATE, 0);
        ck_assert_ptr_nonnull(gs);
        ck_assert_uint_eq(gs->op, 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_reordered_prepares) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_entry e1 = harness_entry(1, 0, 7, 2, 9);
        uint8_t cmd[KV_CMD_LEN];
        memcpy(cmd, e1.data, sizeof(cmd));
        e1.data = cmd;
        struct vr_entry e23[2] = { harness_entry(2, 0, 7, 3, 10), harness_entry(3, 0, 7, 4, 10) };
        struct vr_msg late = prepare(0, 0, &e1, 1, 0), early = prepare(0, 0, e23, 2, 0);
        harness_recv(&h, &early);
        harness_recv(&h, &early); /* a duplicate is kept once */
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        harness_recv(&h, &late);
        ck_assert_uint_eq(vr_replica_op(h.r), 3);
        ck_assert_uint_eq(h.n_records, 3);
        harness_ticks(&h, h.cfg.heartbeat_ticks);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_GET_STATE), 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_ignores_non_primary_and_stale_view) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_entry e = harness_entry(1, 0, 7, 2, 9);
        struct vr_msg p = prepare(0, 2, &e, 1, 0); /* replica 2 is not primary of view 0 */
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);

        /* Into view 3 (primary 0) by its StartView, then a Prepare of view 0 is stale. */
        struct vr_msg sv = { .type = VR_MSG_START_VIEW, .from = 0, .view = 3 };
        harness_recv(&h, &sv);
        ck_assert_uint_eq(vr_replica_view(h.r), 3);
        harness_clear(&h);
        struct vr_msg old = prepare(0, 0, &e, 1, 0);
        harness_recv(&h, &old);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        ck_assert_uint_eq(h.n_records + h.n_out, 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_future_view_fetches_log) {
        struct harness h;
        backup_with_one_op(&h);

        /* A Prepare of view 3 means a view we never saw formed: our log may not be its log. */
        struct vr_entry e2 = harness_entry(2, 3, 7, 3, 10);
        struct vr_msg p = prepare(3, 0, &e2, 1, 2);
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_view(h.r), 3);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert_uint_eq(vr_replica_op(h.r), 1);     /* not extended */
        ck_assert_uint_eq(vr_replica_commit(h.r), 0); /* nor applied */
        harness_persist(&h);
        ck_assert_uint_eq(harness_count(&h, VR_MSG_PREPARE_OK), 0);
        ck_assert_ptr_nonnull(harness_find(&h, VR_MSG_GET_STATE, 0));
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_applies_only_committed) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_msg reg = {
                .type = VR_MSG_PREPARE, .from = 0, .view = 0, .op = 1, .n_entries = 1,
        };
        struct vr_entry re = { .op = 1, .client_id = 7, .request = 1, .len = VR_REGISTER_CMD_LEN,
                               .data = (uint8_t *) VR_REGISTER_CMD };
        reg.entries = &re;
        harness_recv(&h, &reg);
        struct vr_entry e[2] = { harness_entry(2, 0, 7, 2, 9), harness_entry(3, 0, 7, 3, 10) };
        e[1].data = e[0].data; /* same static buffer: both write 10 */
        struct vr_msg p = prepare(0, 0, e, 2, 2);
        harness_recv(&h, &p);
        ck_assert_uint_eq(vr_replica_op(h.r), 3);
        ck_assert_uint_eq(vr_replica_applied(h.r), 2);
        struct vr_msg c = { .type = VR_MSG_COMMIT, .from = 0, .view = 0, .op = 3, .commit = 3 };
        harness_recv(&h, &c);
        ck_assert_uint_eq(vr_replica_applied(h.r), 3);
        harness_free(&h);
}
END_TEST

START_TEST(test_retry_answered_from_table) {
        struct harness h;
        harness_new(&h, 3, 0, false);
        harness_register(&h, 7);
        struct vr_msg req = write_request(7, 2, 5);
        harness_recv(&h, &req);
        harness_persist(&h);
        ack(&h, 1, vr_replica_op(h.r));
        ck_assert_int_eq(h.kv.v[0], 5);
        harness_clear(&h);

        /* Someone else overwrites the register; the retry must not write 5 again. */
        harness_register(&h, 8);
        struct vr_msg other = write_request(8, 2, 6);
        harness_recv(&h, &other);
        harness_persist(&h);
        ack(&h, 1, vr_replica_op(h.r));
        uint64_t op = vr_replica_op(h.r);
        harness_clear(&h);

        harness_recv(&h, &req);
        ck_assert_uint_eq(vr_replica_op(h.r), op);
        ck_assert_uint_eq(h.n_records, 0);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->request, 2);
        ck_assert_int_eq(h.kv.v[0], 6);

        harness_clear(&h);
        struct vr_msg older = write_request(7, 1, 4);
        harness_recv(&h, &older);
        ck_assert_uint_eq(h.n_out + h.n_records, 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_unknown_and_evicted_sessions) {
        struct harness h;
        harness_new(&h, 3, 0, false);
        vr_replica_free(h.r);
        h.cfg.client_table_size = 2;
        kv_init(&h.kv, 3);
        ck_assert_int_eq(vr_replica_new(&h.cfg, &kv_ops, &h.kv, &h.r), 0);
        harness_persist(&h);
        harness_clear(&h);

        struct vr_msg stranger = write_request(99, 5, 1);
        harness_recv(&h, &stranger);
        harness_persist(&h);
        ack(&h, 1, vr_replica_op(h.r));
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_SESSION_EXPIRED);
        ck_assert_int_eq(h.kv.v[0], KV_ABSENT); /* not executed */

        harness_register(&h, 1);
        harness_register(&h, 2);
        harness_register(&h, 3); /* evicts 1, whose last op is oldest */
        struct vr_msg req = write_request(1, 2, 1);
        harness_recv(&h, &req);
        harness_persist(&h);
        ack(&h, 1, vr_replica_op(h.r));
        rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_SESSION_EXPIRED);
        ck_assert_int_eq(h.kv.v[0], KV_ABSENT);
        harness_free(&h);
}
END_TEST

START_TEST(test_backup_redirects_clients) {
        struct harness h;
        harness_new(&h, 3, 2, false);
        struct vr_msg req = write_request(7, 2, 5);
        harness_recv(&h, &req);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_NOT_PRIMARY);
        ck_assert_uint_eq(rep->view, 0);
        ck_assert_uint_eq(h.n_records, 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_malformed_prepare_changes_nothing) {
        struct harness h;
        harness_new(&h, 3, 1, false);
        struct vr_entry e[2] = { harness_entry(1, 0, 7, 2, 9), harness_entry(3, 0, 7, 3, 9) };
        struct vr_msg p = prepare(0, 0, e, 2, 0); /* ops 1 and 3: not consecutive */
        ck_assert_int_eq(vr_receive(h.r, &p), -EBADMSG);
        struct vr_msg self = prepare(0, 1, e, 1, 0); /* from ourselves */
        ck_assert_int_eq(vr_receive(h.r, &self), -EINVAL);
        harness_drain(&h);
        ck_assert_uint_eq(vr_replica_op(h.r), 0);
        ck_assert_uint_eq(h.n_records + h.n_out, 0);
        harness_free(&h);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vr-normal");
        TCase *tc = tcase_create("normal");
        tcase_add_test(tc, test_primary_counts_itself_only_when_durable);
        tcase_add_test(tc, test_prepares_borrow_the_log);
        tcase_add_test(tc, test_prepare_ok_duplicate_and_stale_view);
        tcase_add_test(tc, test_backup_acknowledges_after_durable);
        tcase_add_test(tc, test_backup_duplicate_prepare);
        tcase_add_test(tc, test_backup_gap_asks_for_state);
        tcase_add_test(tc, test_backup_reordered_prepares);
        tcase_add_test(tc, test_backup_ignores_non_primary_and_stale_view);
        tcase_add_test(tc, test_backup_future_view_fetches_log);
        tcase_add_test(tc, test_backup_applies_only_committed);
        tcase_add_test(tc, test_retry_answered_from_table);
        tcase_add_test(tc, test_unknown_and_evicted_sessions);
        tcase_add_test(tc, test_backup_redirects_clients);
        tcase_add_test(tc, test_malformed_prepare_changes_nothing);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run(suite());
}
