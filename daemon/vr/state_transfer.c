/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* State transfer (§5.2): GetState / NewState, with a whole checkpoint in chunks when the
 * requester needs a prefix the sender no longer holds as log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vr/replica.h"

void vr_state_transfer_reset(struct vr_replica *r) {
        free(r->st_buf);
        r->st_buf = NULL;
        r->st_len = r->st_total = 0;
        r->st_op = 0;
}

/* The op we hold everything up to: below our log there may be a hole (recovery adopted a log
 * that starts above our checkpoint). */
static uint64_t have_op(const struct vr_replica *r) {
        if (vr_log_stale(r))
                return r->commit < r->applied ? r->applied : r->commit;
        return r->applied < r->log_base ? r->applied : vr_op(r);
}

int vr_ask_state(struct vr_replica *r, uint64_t id, uint64_t have, uint64_t commit) {
        struct vr_msg m = {
                .type = VR_MSG_GET_STATE,
                .view = r->view,
                .op = have,
                .commit = commit,
                .snap_op = r->st_op,
                .snap_offset = r->st_len,
        };
        r->state_asked = r->now;
        return vr_send_id(r, id, &m, 0);
}

int vr_request_state(struct vr_replica *r, bool now) {
        if (r->status != VR_STATUS_NORMAL || vr_is_primary(r))
                return 0;
        if (!now && r->state_asked > 0 && r->now < r->state_asked + r->cfg.heartbeat_ticks)
                return 0;
        return vr_ask_state(r, r->members[vr_primary_of(r, r->view)], have_op(r), 0);
}

int vr_send_entries(struct vr_replica *r, const struct vr_msg *req, uint64_t limit) {
        struct vr_msg m = {
                .type = VR_MSG_NEW_STATE,
                .view = r->view,
                .op = limit,
                .commit = r->commit < limit ? r->commit : limit,
                .log_end = limit,
        };
        int k = vr_log_export(r, req->op, limit > req->op ? limit - req->op : 0, vr_budget(r), &m);
        if (m.n_entries > 0)
                m.op = req->op + m.n_entries;
        if (k >= 0)
                k = vr_send(r, req->from, &m, r->view_meta_seq);
        vr_msg_done(&m);
        return k;
}

int vr_send_chunk(struct vr_replica *r, const struct vr_msg *req, uint64_t limit) {
        uint64_t offset = req->snap_offset;
        if (req->snap_op != r->snap_op || !r->snap_buf || offset > r->snap_len ||
            r->snap_op < r->log_base) {
                /* A fresh transfer: snapshot what we have applied now (the cached one is not
                 * what was asked for, or the log after it is gone). */
                free(r->snap_buf);
                r->snap_buf = NULL;
                int k = vr_checkpoint_to_buffer(r, &r->snap_buf, &r->snap_len);
                if (k < 0)
                        return k;
                r->snap_op = r->applied;
                offset = 0;
        }
        size_t len = r->snap_len - offset;
        if (len > r->cfg.state_chunk)
                len = r->cfg.state_chunk;
        if (len > vr_budget(r))
                len = vr_budget(r);
        /* The last chunk carries the log after the checkpoint when it fits beside the data:
         * leave the final byte to a chunk of its own when it does not, since a stale log is
         * replaced only by a transfer that brings the whole log (vr_on_new_state). */
        if (offset + len == r->snap_len && len > 1 && limit > r->snap_op &&
            vr_log_bytes(r, r->snap_op, limit) > vr_budget(r) - len)
                len--;
        struct vr_msg m = {
                .type = VR_MSG_NEW_STATE,
                .view = r->view,
                .commit = r->commit < limit ? r->commit : limit,
                .op = r->snap_op,
                .snap_op = r->snap_op,
                .snap_total = r->snap_len,
                .snap_offset = offset,
                .len = (uint32_t) len,
                .data = r->snap_buf + offset,
                .log_end = limit,
        };
        int k = 0;
        if (offset + len == r->snap_len && limit > r->snap_op) {
                k = vr_log_export(r, r->snap_op, limit - r->snap_op, vr_budget(r) - len, &m);
                m.op = r->snap_op + m.n_entries;
        }
        if (k >= 0)
                k = vr_send(r, req->from, &m, r->view_meta_seq);
        m.data = NULL;
        vr_msg_done(&m);
        return k;
}

int vr_on_get_state(struct vr_replica *r, const struct vr_msg *m) {
        if (m->commit > 0)
                return vr_epoch_serve_state(r, m);
        if (r->status != VR_STATUS_NORMAL || m->view != r->view || r->applied < r->log_base ||
            vr_log_stale(r))
                return 0;
        if (m->snap_op == 0 && m->op >= r->log_base && m->op <= vr_op(r))
                return vr_send_entries(r, m, vr_op(r));
        if (m->op > vr_op(r))
                return 0;
        return vr_send_chunk(r, m, vr_op(r));
}

/* Our log is now the view's log: record that (after the log records, so that a restart never
 * sees the new view with the old log). */
static int take_view_log(struct vr_replica *r) {
        if (!vr_log_stale(r))
                return 0;
        r->last_normal_view = r->view;
        int k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        return 0;
}

int vr_write_installed_log(struct vr_replica *r) {
        if (!r->install_unwritten)
                return 0;
        r->install_unwritten = false;
        int k = vr_emit_truncate(r, r->log_base);
        for (uint64_t op = r->log_base + 1; k >= 0 && op <= vr_op(r); op++)
                k = vr_emit_entry(r, vr_log_at(r, op));
        if (k >= 0)
                k = take_view_log(r);
        return k;
}

static int install(struct vr_replica *r, const struct vr_msg *m) {
        uint64_t op;
        int k = vr_checkpoint_from_buffer(r, r->st_buf, r->st_len, &op);
        vr_state_transfer_reset(r);
        if (k == -EBADMSG || (k >= 0 && op != m->snap_op))
                return 0; /* a bad checkpoint changes nothing; we ask again later */
        if (k < 0)
                return k;
        /* A checkpoint below our log (a hole that recovery left) only fills the hole: our log
         * stays as it is, and the committed entries up to it come by vr_take_committed(). */
        if (!vr_log_stale(r) && !vr_transitioning(r) && r->log_n > 0 && r->log_base > m->op) {
                r->applied = op;
                if (r->commit < op)
                        r->commit = op;
                r->ckpt_pending = op;
                r->install_op = op;
                r->stats.state_installs++;
                return 0;
        }
        /* Entries we received from this view's primary beyond what the transfer carries are
         * still good: keep them after the transferred ones (not so between epochs: a joining
         * member's log beyond its commit number is a finished epoch's). */
        struct vr_msg keep = {};
        if (!vr_log_stale(r) && !vr_transitioning(r) && vr_op(r) > m->op) {
                k = vr_log_export(r, m->op > r->log_base ? m->op : r->log_base, SIZE_MAX, UINT64_MAX, &keep);
                if (k < 0) {
                        vr_msg_done(&keep);
                        return k;
                }
        }
        r->applied = op;
        if (r->commit < op)
                r->commit = op;
        vr_log_reset(r, op);
        /* Nothing of the new log reaches storage before the checkpoint it continues from:
         * until then our storage still holds our old, consistent state. */
        r->install_unwritten = true;
        k = vr_emit_truncate(r, op);
        if (k >= 0)
                k = vr_log_extend(r, m);
        if (k >= 0)
                k = vr_log_extend(r, &keep);
        vr_msg_done(&keep);
        if (k < 0)
                return k;
        /* Commit knowledge beyond a hole we could not bridge is fetched again. */
        if (r->commit > vr_op(r))
                r->commit = vr_op(r);
        r->ckpt_pending = op;
        r->install_op = op;
        r->stats.state_installs++;
        return 0;
}

int vr_receive_chunk(struct vr_replica *r, const struct vr_msg *m) {
        if (m->snap_op <= r->applied)
                return VR_CHUNK_IGNORED;
        if (m->snap_offset == 0) {
                free(r->st_buf);
                r->st_buf = malloc(m->snap_total);
                if (!r->st_buf)
                        return -ENOMEM;
                r->st_op = m->snap_op;
                r->st_total = m->snap_total;
                r->st_len = 0;
        } else if (m->snap_op != r->st_op || m->snap_offset != r->st_len)
                return VR_CHUNK_IGNORED;
        if (m->snap_total != r->st_total || m->len > r->st_total - r->st_len)
                return VR_CHUNK_IGNORED;
        if (m->len > 0)
                memcpy(r->st_buf + r->st_len, m->data, m->len);
        r->st_len += m->len;
        if (r->st_len < r->st_total)
                return VR_CHUNK_MORE;
        return install(r, m);
}

/* The rest of the sender's log after a transfer that carried only a prefix of it. */
static int after_prefix(struct vr_replica *r, const struct vr_msg *m) {
        int k = vr_take_committed(r, m);
        if (k < 0)
                return k;
        k = vr_backup_commit(r, m->commit);
        if (k < 0 || !vr_behind(r))
                return k;
        return vr_request_state(r, true);
}

int vr_on_new_state(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status == VR_STATUS_VIEW_CHANGE && m->commit > 0)
                return vr_on_view_change_state(r, m);
        if (r->status != VR_STATUS_NORMAL || m->view != r->view || vr_is_primary(r))
                return 0;
        if (m->from != vr_primary_of(r, r->view) || m->op < m->n_entries)
                return 0;
        /* Whether the entries are the sender's log up to its end, or a prefix that fits a
         * message (older senders always send the whole). */
        bool whole = m->log_end == 0 || m->op >= m->log_end;
        int k = 0;
        if (m->snap_total > 0) {
                /* A stale log is replaced only by the view's whole log (see vr_log_stale): a
                 * checkpoint without it starts over from a fresh one, whose log fits. */
                if (vr_log_stale(r) && !whole && m->snap_offset + m->len == m->snap_total) {
                        vr_state_transfer_reset(r);
                        return vr_request_state(r, false);
                }
                k = vr_receive_chunk(r, m);
                if (k == VR_CHUNK_IGNORED)
                        return 0;
                if (k == VR_CHUNK_MORE)
                        return vr_request_state(r, true);
                if (k >= 0 && !whole)
                        return after_prefix(r, m);
        } else if (!whole) {
                return after_prefix(r, m);
        } else {
                if (m->n_entries > 0 && m->entries[0].op > have_op(r) + 1)
                        return 0;
                if (m->n_entries == 0 && m->op > have_op(r))
                        return 0;
                if (vr_log_stale(r)) {
                        k = vr_log_adopt(r, have_op(r), m->entries, m->n_entries);
                        if (k >= 0)
                                k = take_view_log(r);
                        if (k < 0)
                                return k;
                } else if (r->applied < r->log_base && m->n_entries > 0) {
                        /* Fill the hole below our log by taking the sender's log over. */
                        vr_log_reset(r, r->applied);
                        k = vr_emit_truncate(r, r->applied);
                        if (k < 0)
                                return k;
                }
                if (k >= 0)
                        k = vr_log_extend(r, m);
                r->stats.log_transfers++;
        }
        if (k < 0)
                return k;
        return vr_backup_commit(r, m->commit);
}
