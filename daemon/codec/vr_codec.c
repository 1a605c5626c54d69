/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/vr_codec.h"

int vs_vr_msg_from_pb(const Viewstamp__VrMessage *pb, struct vr_msg *ret) {
        if (pb->type < VR_MSG_REQUEST || pb->type > VR_MSG_EPOCH_STARTED)
                return -EBADMSG;
        if (pb->data.len > UINT32_MAX || pb->n_entries > VS_VR_MAX_ENTRIES ||
            pb->n_members > VR_MAX_REPLICAS || pb->n_old_members > VR_MAX_REPLICAS)
                return -EBADMSG;

        struct vr_msg m = {
                .type = (enum vr_msg_type) pb->type,
                .from = pb->from,
                .epoch = pb->epoch,
                .view = pb->view,
                .op = pb->op,
                .commit = pb->commit,
                .last_normal_view = pb->last_normal_view,
                .nonce = pb->nonce,
                .lease = pb->lease,
                .client_id = pb->client_id,
                .request = pb->request,
                .reply_status = pb->reply_status,
                .len = (uint32_t) pb->data.len,
                .data = pb->data.data,
                .snap_op = pb->snap_op,
                .snap_total = pb->snap_total,
                .snap_offset = pb->snap_offset,
                .log_end = pb->log_end,
                .sender = pb->sender,
                .n_members = (uint32_t) pb->n_members,
                .n_old_members = (uint32_t) pb->n_old_members,
        };
        /* protobuf-c leaves an empty repeated field NULL, which memcpy must not see. */
        if (pb->n_members > 0)
                memcpy(m.members, pb->members, pb->n_members * sizeof(*pb->members));
        if (pb->n_old_members > 0)
                memcpy(m.old_members, pb->old_members, pb->n_old_members * sizeof(*pb->old_members));
        if (pb->n_entries > 0) {
                m.entries = calloc(pb->n_entries, sizeof *m.entries);
                if (!m.entries)
                        return -ENOMEM;
                for (size_t i = 0; i < pb->n_entries; i++) {
                        const Viewstamp__VrEntry *e = pb->entries[i];
                        if (e->data.len > UINT32_MAX) {
                                free(m.entries);
                                return -EBADMSG;
                        }
                        m.entries[i] = (struct vr_entry) {
                                .op = e->op,
                                .view = e->view,
                                .client_id = e->client_id,
                                .request = e->request,
                                .len = (uint32_t) e->data.len,
                                .data = e->data.data,
                        };
                }
                m.n_entries = pb->n_entries;
        }
        *ret = m;
        return 0;
}

int vs_vr_msg_from_client_request(const Viewstamp__ClientRequest *req, struct vr_msg *ret) {
        if (req->command.len > UINT32_MAX)
                return -EBADMSG;
        *ret = (struct vr_msg) {
                .type = VR_MSG_REQUEST,
                .client_id = req->client_id,
                .request = req->request,
                .len = req->request == 0 ? VR_REGISTER_CMD_LEN : (uint32_t) req->command.len,
                .data = req->request == 0 ? (uint8_t *) VR_REGISTER_CMD : req->command.data,
        };
        return 0;
}

void vs_vr_msg_view_done(struct vr_msg *m) {
        free(m->entries);
        *m = (struct vr_msg) {};
}

int vs_vr_msg_to_pb(const struct vr_msg *m, Viewstamp__VrMessage *ret) {
        Viewstamp__VrMessage pb = VIEWSTAMP__VR_MESSAGE__INIT;
        pb.type = m->type;
        pb.from = m->from;
        pb.epoch = m->epoch;
        pb.view = m->view;
        pb.op = m->op;
        pb.commit = m->commit;
        pb.last_normal_view = m->last_normal_view;
        pb.nonce = m->nonce;
        pb.lease = m->lease;
        pb.client_id = m->client_id;
        pb.request = m->request;
        pb.reply_status = m->reply_status;
        pb.data = (ProtobufCBinaryData) { .len = m->len, .data = m->data };
        pb.snap_op = m->snap_op;
        pb.snap_total = m->snap_total;
        pb.snap_offset = m->snap_offset;
        pb.log_end = m->log_end;
        pb.sender = m->sender;
        /* The arrays stay the message's: the view lives no longer than it. */
        pb.n_members = m->n_members;
        pb.members = (uint64_t *) m->members;
        pb.n_old_members = m->n_old_members;
        pb.old_members = (uint64_t *) m->old_members;

        if (m->n_entries > 0) {
                /* One allocation: the pointer array, then the entries it points to. */
                void *block = malloc(m->n_entries * (sizeof(Viewstamp__VrEntry *) + sizeof(Viewstamp__VrEntry)));
                if (!block)
                        return -ENOMEM;
                Viewstamp__VrEntry **ptrs = block;
                Viewstamp__VrEntry *entries = (Viewstamp__VrEntry *) (ptrs + m->n_entries);
                for (size_t i = 0; i < m->n_entries; i++) {
                        const struct vr_entry *e = &m->entries[i];
                        entries[i] = (Viewstamp__VrEntry) VIEWSTAMP__VR_ENTRY__INIT;
                        entries[i].op = e->op;
                        entries[i].view = e->view;
                        entries[i].client_id = e->client_id;
                        entries[i].request = e->request;
                        entries[i].data = (ProtobufCBinaryData) { .len = e->len, .data = e->data };
                        ptrs[i] = &entries[i];
                }
                pb.entries = ptrs;
                pb.n_entries = m->n_entries;
        }
        *ret = pb;
        return 0;
}

void vs_vr_pb_view_done(Viewstamp__VrMessage *pb) {
        free(pb->entries);
        pb->entries = NULL;
        pb->n_entries = 0;
}
