/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/vr_codec.h"
#include "util/cleanup.h"
#include "../check-run.h"

/* Packs m through the protobuf form and back; the result views *buf. */
static void round_trip(const struct vr_msg *m, struct vr_msg *out, uint8_t **buf, Viewstamp__VrMessage **unpacked) {
        Viewstamp__VrMessage pb;
        ck_assert_int_eq(vs_vr_msg_to_pb(m, &pb), 0);
        size_t n = viewstamp__vr_message__get_packed_size(&pb);
        *buf = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(*buf);
        viewstamp__vr_message__pack(&pb, *buf);
        vs_vr_pb_view_done(&pb);
        *unpacked = viewstamp__vr_message__unpack(NULL, n, *buf);
        ck_assert_ptr_nonnull(*unpacked);
        ck_assert_int_eq(vs_vr_msg_from_pb(*unpacked, out), 0);
}

START_TEST(test_every_type_round_trips) {
        uint8_t d1[] = "abc", d2[] = { 0, 1, 2, 255 }, payload[] = "reply bytes";
        struct vr_entry entries[] = {
                { .op = 7, .view = 3, .client_id = UINT64_MAX, .request = 9, .len = 3, .data = d1 },
                { .op = 8, .view = 3, .client_id = 1, .request = 0, .len = 4, .data = d2 },
                { .op = 9, .view = 4, .client_id = 2, .request = 1, .len = 0, .data = NULL },
        };
        for (int t = VR_MSG_REQUEST; t <= VR_MSG_EPOCH_STARTED; t++) {
                struct vr_msg m = {
                        .type = (enum vr_msg_type) t, .from = 4, .epoch = 1, .view = 1ull << 40, .op = 9,
                        .commit = 8, .last_normal_view = 2, .nonce = 0xdeadbeefcafef00dull, .lease = 77,
                        .client_id = 42, .request = 43, .reply_status = 2, .len = sizeof payload, .data = payload,
                        .n_entries = ELEMENTSOF(entries), .entries = entries,
                        .snap_op = 100, .snap_total = 1u << 20, .snap_offset = 4096, .log_end = 1ull << 50,
                        .sender = UINT64_MAX - 5, .n_members = 3, .members = { 9, UINT64_MAX, 0 },
                        .n_old_members = 1, .old_members = { 1ull << 63 },
                };
                struct vr_msg out;
                _cleanup_free_ uint8_t *buf = NULL;
                Viewstamp__VrMessage *pb;
                round_trip(&m, &out, &buf, &pb);
                ck_assert_int_eq(out.type, m.type);
                ck_assert_uint_eq(out.from, m.from);
                ck_assert_uint_eq(out.epoch, m.epoch);
                ck_assert_uint_eq(out.view, m.view);
                ck_assert_uint_eq(out.op, m.op);
                ck_assert_uint_eq(out.commit, m.commit);
                ck_assert_uint_eq(out.last_normal_view, m.last_normal_view);
                ck_assert_uint_eq(out.nonce, m.nonce);
                ck_assert_uint_eq(out.lease, m.lease);
                ck_assert_uint_eq(out.client_id, m.client_id);
                ck_assert_uint_eq(out.request, m.request);
                ck_assert_uint_eq(out.reply_status, m.reply_status);
                ck_assert_uint_eq(out.len, m.len);
                ck_assert(memcmp(out.data, m.data, m.len) == 0);
                ck_assert_uint_eq(out.snap_op, m.snap_op);
                ck_assert_uint_eq(out.snap_total, m.snap_total);
                ck_assert_uint_eq(out.snap_offset, m.snap_offset);
                ck_assert_uint_eq(out.log_end, m.log_end);
                ck_assert_uint_eq(out.sender, m.sender);
                ck_assert_uint_eq(out.n_members, m.n_members);
                ck_assert(memcmp(out.members, m.members, sizeof(m.members)) == 0);
                ck_assert_uint_eq(out.n_old_members, m.n_old_members);
                ck_assert(memcmp(out.old_members, m.old_members, sizeof(m.old_members)) == 0);
                ck_assert_uint_eq(out.n_entries, m.n_entries);
                for (size_t i = 0; i < m.n_entries; i++) {
                        ck_assert_uint_eq(out.entries[i].op, entries[i].op);
                        ck_assert_uint_eq(out.entries[i].view, entries[i].view);
                        ck_assert_uint_eq(out.entries[i].client_id, entries[i].client_id);
                        ck_assert_uint_eq(out.entries[i].request, entries[i].request);
                        ck_assert_uint_eq(out.entries[i].len, entries[i].len);
                        if (entries[i].len)
                                ck_assert(memcmp(out.entries[i].data, entries[i].data, entries[i].len) == 0);
                }
                vs_vr_msg_view_done(&out);
                viewstamp__vr_message__free_unpacked(pb, NULL);
        }
}
END_TEST

START_TEST(test_empty_message) {
        struct vr_msg m = { .type = VR_MSG_COMMIT }, out;
        _cleanup_free_ uint8_t *buf = NULL;
        Viewstamp__VrMessage *pb;
        round_trip(&m, &out, &buf, &pb);
        ck_assert_int_eq(out.type, VR_MSG_COMMIT);
        ck_assert_uint_eq(out.n_entries, 0);
        ck_assert_ptr_null(out.entries);
        ck_assert_uint_eq(out.len, 0);
        vs_vr_msg_view_done(&out);
        viewstamp__vr_message__free_unpacked(pb, NULL);
}
END_TEST

START_TEST(test_unknown_types_refused) {
        static const uint32_t bad[] = { 0, VR_MSG_EPOCH_STARTED + 1, UINT32_MAX };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Viewstamp__VrMessage pb = VIEWSTAMP__VR_MESSAGE__INIT;
                pb.type = bad[i];
                struct vr_msg out = { .type = VR_MSG_COMMIT };
                ck_assert_int_eq(vs_vr_msg_from_pb(&pb, &out), -EBADMSG);
                ck_assert_int_eq(out.type, VR_MSG_COMMIT);
        }
}
END_TEST

START_TEST(test_too_many_entries_refused) {
        Viewstamp__VrMessage pb = VIEWSTAMP__VR_MESSAGE__INIT;
        pb.type = VR_MSG_PREPARE;
        pb.n_entries = VS_VR_MAX_ENTRIES + 1;
        struct vr_msg out;
        ck_assert_int_eq(vs_vr_msg_from_pb(&pb, &out), -EBADMSG);
}
END_TEST

/* Request number 0 registers, whatever command came with it; any other carries its command. */
START_TEST(test_client_request) {
        Viewstamp__ClientRequest req = VIEWSTAMP__CLIENT_REQUEST__INIT;
        req.client_id = 9;
        req.command = (ProtobufCBinaryData) { 3, (uint8_t *) "cmd" };
        struct vr_msg m;
        ck_assert_int_eq(vs_vr_msg_from_client_request(&req, &m), 0);
        ck_assert_int_eq(m.type, VR_MSG_REQUEST);
        ck_assert_uint_eq(m.client_id, 9);
        ck_assert_uint_eq(m.request, 0);
        ck_assert_uint_eq(m.len, VR_REGISTER_CMD_LEN);
        ck_assert(memcmp(m.data, VR_REGISTER_CMD, VR_REGISTER_CMD_LEN) == 0);

        req.request = 5;
        ck_assert_int_eq(vs_vr_msg_from_client_request(&req, &m), 0);
        ck_assert_uint_eq(m.request, 5);
        ck_assert_uint_eq(m.len, 3);
        ck_assert_ptr_eq(m.data, req.command.data);

        req.command.len = (size_t) UINT32_MAX + 1;
        ck_assert_int_eq(vs_vr_msg_from_client_request(&req, &m), -EBADMSG);
}
END_TEST

START_TEST(test_too_many_members_refused) {
        uint64_t ids[VR_MAX_REPLICAS + 1] = {};
        Viewstamp__VrMessage pb = VIEWSTAMP__VR_MESSAGE__INIT;
        pb.type = VR_MSG_START_EPOCH;
        pb.members = ids;
        pb.n_members = VR_MAX_REPLICAS + 1;
        struct vr_msg out;
        ck_assert_int_eq(vs_vr_msg_from_pb(&pb, &out), -EBADMSG);
        pb.n_members = 0;
        pb.old_members = ids;
        pb.n_old_members = VR_MAX_REPLICAS + 1;
        ck_assert_int_eq(vs_vr_msg_from_pb(&pb, &out), -EBADMSG);
}
END_TEST

static Suite *codec_suite(void) {
        Suite *s = suite_create("vr-codec");
        TCase *tc = tcase_create("vr-codec");
        tcase_add_test(tc, test_every_type_round_trips);
        tcase_add_test(tc, test_empty_message);
        tcase_add_test(tc, test_unknown_types_refused);
        tcase_add_test(tc, test_too_many_entries_refused);
        tcase_add_test(tc, test_client_request);
        tcase_add_test(tc, test_too_many_members_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(codec_suite());
}
