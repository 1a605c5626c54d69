/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reconfiguration (§7) at one replica: the command, its execution into a new epoch as a member
 * or as a replica that leaves, stopping only on f'+1 EpochStarted, restart from the epoch's
 * metadata, and a joining member catching up by state transfer. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct vr_msg reconfigure_request(uint64_t client, uint64_t request, uint8_t **cmd, const uint64_t *ids,
                                         uint32_t n) {
        size_t len;
        ck_assert_int_eq(vr_reconfigure_cmd(ids, n, cmd, &len), 0);
        return (struct vr_msg) { .type = VR_MSG_REQUEST, .client_id = client, .request = request,
                                 .len = (uint32_t) len, .data = *cmd };
}

static const struct vr_output *find_output(const struct harness *h, enum vr_msg_type t) {
        for (size_t i = h->n_out; i > 0; i--)
                if (h->out[i - 1].msg.type == t)
                        return &h->out[i - 1];
        return NULL;
}

/* Primary 0 of {0, 1, 2} with client 7 registered executes a reconfiguration to ids[]. */
static void execute(struct harness *h, const uint64_t *ids, uint32_t n) {
        harness_new(h, 3, 0, false);
        harness_register(h, 7);
        _cleanup_free_ uint8_t *cmd = NULL;
        struct vr_msg req = reconfigure_request(7, 2, &cmd, ids, n);
        harness_recv(h, &req);
        harness_persist(h);
        uint64_t op = vr_replica_op(h->r);

        /* Nothing is taken after it: the epoch ends there. */
        struct vr_entry w = harness_entry(0, 0, 7, 3, 1);
        struct vr_msg write = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 3, .len = w.len, .data = w.data };
        harness_recv(h, &write);
        ck_assert_uint_eq(vr_replica_op(h->r), op);

        struct vr_msg ok = { .type = VR_MSG_PREPARE_OK, .from = 1, .view = 0, .op = op };
        harness_recv(h, &ok);
        ck_assert_uint_eq(vr_replica_epoch(h->r), 1);
        ck_assert_uint_eq(vr_replica_epoch_op(h->r), op);
        /* The old group hears of the commit at once. */
        const struct vr_output *c = find_output(h, VR_MSG_COMMIT);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->msg.epoch, 0);
        ck_assert_uint_eq(c->msg.commit, op);
        /* No reply yet: it comes once the new epoch holds the state. */
        ck_assert_ptr_null(harness_find(h, VR_MSG_REPLY, -1));
        harness_persist(h);
}

START_TEST(test_command_encoding) {
        uint64_t ids[VR_MAX_REPLICAS + 1] = { 9, 1ull << 63, 4 }, got[VR_MAX_REPLICAS];
        uint32_t n;
        uint8_t *cmd;
        size_t len;
        ck_assert_int_eq(vr_reconfigure_cmd(ids, 3, &cmd, &len), 0);
        ck_assert_int_eq(vr_reconfigure_parse(cmd, len, got, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert(memcmp(got, ids, 3 * sizeof(*ids)) == 0);
        ck_assert_int_eq(vr_reconfigure_parse(cmd, len - 1, got, &n), -EINVAL);
        free(cmd);
        ck_assert_int_eq(vr_reconfigure_cmd(ids, 2, &cmd, &len), -EINVAL);
        ck_assert_int_eq(vr_reconfigure_cmd(ids, VR_MAX_REPLICAS + 1, &cmd, &len), -EINVAL);
        ids[1] = ids[0];
        ck_assert_int_eq(vr_reconfigure_cmd(ids, 3, &cmd, &len), -EINVAL);
        ck_assert_int_eq(vr_reconfigure_parse((const uint8_t *) VR_REGISTER_CMD, VR_REGISTER_CMD_LEN, got, &n), -ENOENT);
}
END_TEST

START_TEST(test_bad_config_refused) {
        struct harness h;
        harness_new(&h, 3, 0, false);
        harness_register(&h, 7);
        uint64_t op = vr_replica_op(h.r);
        /* Two members with the same id, as a client could send them. */
        uint8_t cmd[VR_RECONFIGURE_CMD_LEN + 4 + 16] = {};
        memcpy(cmd, VR_RECONFIGURE_CMD, VR_RECONFIGURE_CMD_LEN);
        cmd[VR_RECONFIGURE_CMD_LEN] = 2;
        struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 2, .len = sizeof(cmd), .data = cmd };
        harness_recv(&h, &req);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_BAD_CONFIG);
        ck_assert_uint_eq(vr_replica_op(h.r), op);
        ck_assert_uint_eq(vr_replica_epoch(h.r), 0);
        harness_free(&h);
}
END_TEST

START_TEST(test_member_goes_on) {
        struct harness h;
        const uint64_t ids[] = { 0, 1, 3 };
        execute(&h, ids, 3);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert_uint_eq(vr_replica_view(h.r), 0);
        ck_assert(vr_replica_is_primary(h.r));
        ck_assert(vr_replica_epoch_started(h.r));
        uint64_t end = vr_replica_epoch_op(h.r);

        /* The new member hears of the epoch: who it is, where it begins, whom to ask. */
        harness_clear(&h);
        harness_ticks(&h, 1);
        const struct vr_output *se = find_output(&h, VR_MSG_START_EPOCH);
        ck_assert_ptr_nonnull(se);
        ck_assert_uint_eq(se->to_id, 3);
        ck_assert_uint_eq(se->replica, 2);
        ck_assert_uint_eq(se->msg.epoch, 1);
        ck_assert_uint_eq(se->msg.op, end);
        ck_assert_uint_eq(se->msg.n_members, 3);
        ck_assert_uint_eq(se->msg.members[2], 3);
        ck_assert_uint_eq(se->msg.n_old_members, 3);
        ck_assert_uint_eq(se->msg.old_members[2], 2);

        /* The retry is answered only once f'+1 members hold the state. */
        _cleanup_free_ uint8_t *cmd = NULL;
        struct vr_msg retry = reconfigure_request(7, 2, &cmd, ids, 3);
        harness_clear(&h);
        harness_recv(&h, &retry);
        ck_assert_ptr_null(harness_find(&h, VR_MSG_REPLY, -1));
        struct vr_msg ok = { .type = VR_MSG_PREPARE_OK, .from = 1, .epoch = 1, .view = 0, .op = end };
        harness_recv(&h, &ok);
        harness_recv(&h, &retry);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_OK);
        ck_assert_uint_eq(rep->epoch, 1);

        /* A straggler of epoch 0 is told where the group went. */
        harness_clear(&h);
        struct vr_msg old = { .type = VR_MSG_START_VIEW_CHANGE, .from = 2, .sender = 2, .epoch = 0, .view = 3 };
        harness_recv(&h, &old);
        se = find_output(&h, VR_MSG_START_EPOCH);
        ck_assert_ptr_nonnull(se);
        ck_assert_uint_eq(se->to_id, 2);
        ck_assert_uint_eq(se->replica, VR_NO_INDEX);
        harness_free(&h);
}
END_TEST

START_TEST(test_leaving_stops_after_quorum) {
        struct harness h;
        const uint64_t ids[] = { 1, 2, 3 };
        execute(&h, ids, 3);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_TRANSITIONING);
        struct vr_ready rd;
        ck_assert_int_eq(vr_ready_take(h.r, &rd), 0);
        ck_assert(!rd.member);
        ck_assert(!rd.stopped);
        ck_assert_uint_eq(rd.epoch, 1);
        vr_ready_done(&rd);

        harness_clear(&h);
        struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 9 };
        harness_recv(&h, &req);
        const struct vr_msg *rep = harness_find(&h, VR_MSG_REPLY, -1);
        ck_assert_ptr_nonnull(rep);
        ck_assert_uint_eq(rep->reply_status, VR_REPLY_NEW_EPOCH);
        ck_assert_uint_eq(rep->n_members, 3);
        ck_assert_uint_eq(rep->members[0], 1);

        /* f'+1 = 2 distinct members must confirm; one twice is not enough. */
        struct vr_msg started = { .type = VR_MSG_EPOCH_STARTED, .from = 0, .sender = 1, .epoch = 1 };
        harness_recv(&h, &started);
        harness_recv(&h, &started);
        ck_assert(!vr_replica_stopped(h.r));
        started.sender = 3;
        started.from = 2;
        harness_recv(&h, &started);
        ck_assert(vr_replica_stopped(h.r));
        ck_assert_int_eq(vr_ready_take(h.r, &rd), 0);
        ck_assert(rd.stopped);
        vr_ready_done(&rd);
        harness_free(&h);
}
END_TEST

START_TEST(test_restart_takes_epoch_from_meta) {
        struct kv kv;
        kv_init(&kv, 3);
        struct vr_config c;
        vr_config_default(&c, 3, 0);
        c.jitter_ticks = 0;
        struct vr_record rec = {
                .kind = VR_RECORD_META, .seq = 1,
                .meta = { .epoch = 2, .status = VR_STATUS_NORMAL, .epoch_op = 0, .n_members = 3,
                          .members = { 5, 0, 7 }, .n_old_members = 3, .old_members = { 0, 1, 2 } },
        };
        struct vr_durable d = { .records = &rec, .n_records = 1, .next_seq = 2, .have_meta = true, .meta = rec.meta };
        _cleanup_(vr_replica_freep) struct vr_replica *r = NULL;
        ck_assert_int_eq(vr_replica_restart(&c, &kv_ops, &kv, &d, 1, &r), 0);
        ck_assert_uint_eq(vr_replica_epoch(r), 2);
        ck_assert(!vr_replica_is_primary(r)); /* id 0 is index 1 now: view 0 belongs to id 5 */
        struct vr_ready rd;
        ck_assert_int_eq(vr_ready_take(r, &rd), 0);
        ck_assert(rd.member);
        ck_assert_uint_eq(rd.n_members, 3);
        ck_assert_uint_eq(rd.members[0], 5);
        vr_ready_done(&rd);
        vr_replica_free(TAKE_PTR(r));

        /* Metadata that leaves this replica out: it is between epochs and sends clients on. */
        rec.meta.members[1] = 9;
        rec.meta.status = VR_STATUS_TRANSITIONING;
        d.meta = rec.meta;
        kv_init(&kv, 3);
        ck_assert_int_eq(vr_replica_restart(&c, &kv_ops, &kv, &d, 2, &r), 0);
        ck_assert_int_eq(vr_replica_status(r), VR_STATUS_TRANSITIONING);
        struct vr_msg req = { .type = VR_MSG_REQUEST, .client_id = 7, .request = 9 };
        ck_assert_int_eq(vr_receive(r, &req), 0);
        ck_assert_int_eq(vr_ready_take(r, &rd), 0);
        ck_assert(!rd.member);
        ck_assert_uint_eq(rd.n_msgs, 1);
        ck_assert_uint_eq(rd.msgs[0].msg.reply_status, VR_REPLY_NEW_EPOCH);
        vr_ready_done(&rd);

        vr_replica_free(TAKE_PTR(r));
        /* ... but outside its members in any other status it was not written by the core (a
         * fuzzed journal once drove such a replica into a view change with no index). */
        rec.meta.status = VR_STATUS_NORMAL;
        d.meta = rec.meta;
        kv_init(&kv, 3);
        ck_assert_int_eq(vr_replica_restart(&c, &kv_ops, &kv, &d, 2, &r), -EBADMSG);

        /* Metadata naming members twice is refused rather than trusted. */
        rec.meta.members[1] = 5;
        d.meta = rec.meta;
        ck_assert_int_eq(vr_replica_restart(&c, &kv_ops, &kv, &d, 3, &r), -EBADMSG);
}
END_TEST

START_TEST(test_joining_member_catches_up) {
        struct harness h = {};
        kv_init(&h.kv, 3);
        vr_config_default(&h.cfg, 3, 2);
        h.cfg.epoch = 1;
        h.cfg.members[2] = 3;
        h.cfg.joining = true;
        h.cfg.lease_ticks = 0;
        h.cfg.reads_through_log = true;
        ck_assert_int_eq(vr_replica_new(&h.cfg, &kv_ops, &h.kv, &h.r), 0);
        harness_persist(&h);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_TRANSITIONING);
        ck_assert(!vr_replica_epoch_started(h.r));

        /* The old group's log: a session, a write, the reconfiguration that ended epoch 0. */
        const uint64_t ids[] = { 0, 1, 3 };
        uint8_t *cmd;
        size_t len;
        ck_assert_int_eq(vr_reconfigure_cmd(ids, 3, &cmd, &len), 0);
        struct vr_entry w = harness_entry(2, 0, 7, 2, 42);
        uint8_t wdata[64];
        memcpy(wdata, w.data, w.len);
        struct vr_entry log[] = {
                { .op = 1, .client_id = 7, .request = 1, .len = VR_REGISTER_CMD_LEN, .data = (uint8_t *) VR_REGISTER_CMD },
                { .op = 2, .client_id = 7, .request = 2, .len = w.len, .data = wdata },
                { .op = 3, .client_id = 7, .request = 3, .len = (uint32_t) len, .data = cmd },
        };

        struct vr_msg se = { .type = VR_MSG_START_EPOCH, .from = VR_NO_INDEX, .sender = 2, .epoch = 1, .op = 3,
                             .n_members = 3, .members = { 0, 1, 3 }, .n_old_members = 3, .old_members = { 0, 1, 2 } };
        harness_recv(&h, &se);
        const struct vr_output *gs = find_output(&h, VR_MSG_GET_STATE);
        ck_assert_ptr_nonnull(gs);
        ck_assert_uint_eq(gs->to_id, 2);
        ck_assert_uint_eq(gs->msg.commit, 3);
        ck_assert_uint_eq(gs->msg.op, 0);
        /* Asked before it holds anything: no EpochStarted. */
        ck_assert_ptr_null(find_output(&h, VR_MSG_EPOCH_STARTED));

        struct vr_msg ns = { .type = VR_MSG_NEW_STATE, .from = VR_NO_INDEX, .sender = 2, .epoch = 1, .op = 3,
                             .commit = 3, .n_entries = 3, .entries = log };
        harness_recv(&h, &ns);
        ck_assert_uint_eq(vr_replica_applied(h.r), 3);
        ck_assert_uint_eq(vr_replica_epoch(h.r), 1); /* op 3 began this epoch: not executed again */
        harness_persist(&h);
        ck_assert_int_eq(vr_replica_status(h.r), VR_STATUS_NORMAL);
        ck_assert(vr_replica_epoch_started(h.r));

        harness_clear(&h);
        harness_recv(&h, &se);
        const struct vr_output *es = find_output(&h, VR_MSG_EPOCH_STARTED);
        ck_assert_ptr_nonnull(es);
        ck_assert_uint_eq(es->to_id, 2);
        free(cmd);
        harness_free(&h);
}
END_TEST

int main(void) {
        Suite *s = suite_create("vr-reconfig");
        TCase *tc = tcase_create("vr-reconfig");
        tcase_add_test(tc, test_command_encoding);
        tcase_add_test(tc, test_bad_config_refused);
        tcase_add_test(tc, test_member_goes_on);
        tcase_add_test(tc, test_leaving_stops_after_quorum);
        tcase_add_test(tc, test_restart_takes_epoch_from_meta);
        tcase_add_test(tc, test_joining_member_catches_up);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
