/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "vr/replica.h"

void vr_config_default(struct vr_config *c, uint32_t n, uint32_t self) {
        *c = (struct vr_config) {
                .n_replicas = n,
                .self = self,
                .heartbeat_ticks = 4,
                .view_change_ticks = 40,
                .jitter_ticks = 20,
                .lease_ticks = 24,
                .drift_ppm = 20000,
                .checkpoint_interval = 256,
                .max_batch = 64,
                .client_table_size = 1024,
                .state_chunk = 64 * 1024,
                .max_message_bytes = 16u << 20,
                .seed = self,
        };
        for (uint32_t i = 0; i < n && i < VR_MAX_REPLICAS; i++)
                c->members[i] = i;
}

int vr_config_check(const struct vr_config *c) {
        if (c->n_replicas == 0 || c->n_replicas % 2 == 0 || c->n_replicas > VR_MAX_REPLICAS)
                return -EINVAL;
        if (c->self >= c->n_replicas || vr_members_check(c->members, c->n_replicas) < 0)
                return -EINVAL;
        if (c->heartbeat_ticks == 0 || c->view_change_ticks <= 2 * c->heartbeat_ticks)
                return -EINVAL;
        /* A backup must be able to keep its promise and still suspect a silent primary. */
        if (c->lease_ticks > 0 && (c->lease_ticks < 4 || c->lease_ticks >= c->view_change_ticks))
                return -EINVAL;
        if (c->drift_ppm >= 100000)
                return -EINVAL;
        if (c->lease_ticks == 0 && !c->reads_through_log)
                return -EINVAL;
        if (c->max_batch == 0 || c->client_table_size == 0 || c->state_chunk == 0)
                return -EINVAL;
        if (c->max_message_bytes < VR_MIN_MESSAGE_BYTES)
                return -EINVAL;
        return 0;
}

uint64_t vr_random(struct vr_replica *r) {
        /* splitmix64: jitter only, from the driver's seed. */
        uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static int replica_alloc(const struct vr_config *c, const struct vr_sm_ops *ops, void *sm,
                         struct vr_replica **ret) {
        int k = vr_config_check(c);
        if (k < 0)
                return k;
        struct vr_replica *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->cfg = *c;
        r->ops = ops;
        r->sm = sm;
        r->f = c->n_replicas / 2;
        r->rng = c->seed;
        r->epoch = c->epoch;
        r->self_id = c->members[c->self];
        memcpy(r->members, c->members, sizeof(r->members));
        r->next_seq = 1;
        r->now = 1;
        r->last_heard = 1;
        vr_client_table_init(&r->clients, c->client_table_size);
        *ret = r;
        return 0;
}

int vr_replica_new(const struct vr_config *c, const struct vr_sm_ops *ops, void *sm,
                   struct vr_replica **ret) {
        struct vr_replica *r;
        int k = replica_alloc(c, ops, sm, &r);
        if (k < 0)
                return k;
        /* A member new in its epoch holds nothing yet: it catches up before taking part. */
        r->status = c->joining ? VR_STATUS_TRANSITIONING : VR_STATUS_NORMAL;
        r->timeout_jitter = c->jitter_ticks ? vr_random(r) % c->jitter_ticks : 0;
        k = vr_emit_meta(r);
        if (k < 0) {
                vr_replica_free(r);
                return k;
        }
        r->view_meta_seq = vr_last_seq(r);
        r->status_changed = true;
        *ret = r;
        return 0;
}

/* Replays the records into the in-memory log and metadata. Returns false when the log does
 * not reach down to the checkpoint (a transfer that was installed but never checkpointed). */
static int replay(struct vr_replica *r, const struct vr_durable *d, struct vr_meta *meta,
                  bool *usable) {
        for (size_t i = 0; i < d->n_records; i++) {
                const struct vr_record *rec = &d->records[i];
                int k;
                switch (rec->kind) {
                case VR_RECORD_ENTRY:
                        if (rec->entry.op == 0)
                                return -EBADMSG;
                        if (rec->entry.op <= r->log_base)
                                vr_log_reset(r, rec->entry.op - 1);
                        else if (rec->entry.op <= vr_op(r))
                                vr_log_truncate(r, rec->entry.op - 1);
                        else if (rec->entry.op > vr_op(r) + 1)
                                vr_log_reset(r, rec->entry.op - 1);
                        k = vr_log_append(r, &rec->entry);
                        if (k < 0)
                                return k;
                        break;
                case VR_RECORD_TRUNCATE:
                        if (rec->after < r->log_base || rec->after > vr_op(r))
                                vr_log_reset(r, rec->after);
                        else
                                vr_log_truncate(r, rec->after);
                        break;
                case VR_RECORD_META:
                        *meta = rec->meta;
                        break;
                default:
                        return -EBADMSG;
                }
        }
        *usable = r->log_base <= d->checkpoint_op;
        if (*usable) {
                if (vr_op(r) < d->checkpoint_op)
                        vr_log_reset(r, d->checkpoint_op);
                else
                        vr_log_drop_prefix(r, d->checkpoint_op);
        }
        return 0;
}

int vr_replica_restart(const struct vr_config *c, const struct vr_sm_ops *ops, void *sm,
                       const struct vr_durable *d, uint64_t nonce, struct vr_replica **ret) {
        _cleanup_(vr_replica_freep) struct vr_replica *r = NULL;
        int k = replica_alloc(c, ops, sm, &r);
        if (k < 0)
                return k;
        r->next_seq = d->next_seq > 0 ? d->next_seq : 1;
        r->durable_seq = r->next_seq - 1;
        r->nonce = nonce;

        if (d->checkpoint_op > 0) {
                if (!d->checkpoint_read)
                        return -EINVAL;
                uint64_t op;
                k = vr_checkpoint_read(r, d->checkpoint_read, d->checkpoint_ctx, &op);
                if (k < 0)
                        return k;
                if (op != d->checkpoint_op)
                        return -EBADMSG;
                r->ckpt_taken = op;
                r->applied = r->commit = r->checkpoint_op = r->ckpt_prev = d->checkpoint_op;
                r->log_base = d->checkpoint_op;
        }

        struct vr_meta meta = {
                .epoch = c->epoch,
                .status = c->joining ? VR_STATUS_TRANSITIONING : VR_STATUS_NORMAL,
        };
        bool usable = true;
        k = replay(r, d, &meta, &usable);
        if (k < 0)
                return k;
        if (d->have_meta)
                meta = d->meta;
        r->epoch = meta.epoch;
        if (meta.n_members > 0) {
                if (vr_members_check(meta.members, meta.n_members) < 0 || meta.n_old_members > VR_MAX_REPLICAS)
                        return -EBADMSG;
                memcpy(r->members, meta.members, sizeof(r->members));
                r->cfg.n_replicas = meta.n_members;
                r->f = meta.n_members / 2;
                r->cfg.self = vr_member_index(r, r->self_id);
                r->epoch_op = meta.epoch_op;
                r->n_old = meta.n_old_members;
                memcpy(r->old_members, meta.old_members, sizeof(r->old_members));
        }
        r->view = meta.view;
        r->last_normal_view = meta.last_normal_view;
        r->status = (enum vr_status) meta.status;
        /* The core leaves its epoch's members only between epochs (it left, or is yet to join):
         * a journal outside them in any other status was not written by it. */
        if (!vr_is_member(r) && r->status != VR_STATUS_TRANSITIONING)
                return -EBADMSG;
        r->durable_op = vr_op(r);
        /* It forgot the lease promises it made: no votes for a full lease. */
        r->promise_until = r->now + c->lease_ticks;
        r->timeout_jitter = c->jitter_ticks ? vr_random(r) % c->jitter_ticks : 0;
        r->status_changed = true;

        if (r->status == VR_STATUS_TRANSITIONING) {
                /* Between epochs nothing it holds was promised to anyone: damage only means
                 * fetching again (cutting from op 1 tells storage the hole is repaired). */
                if (d->damaged || !usable) {
                        vr_log_reset(r, r->applied);
                        k = vr_emit_truncate(r, 0);
                        if (k < 0)
                                return k;
                }
                r->commit = meta.commit < vr_op(r) ? meta.commit : vr_op(r);
                if (r->commit < r->applied)
                        r->commit = r->applied;
                r->view_meta_seq = r->durable_seq;
                k = vr_apply_committed(r);
                if (k < 0)
                        return k;
                *ret = TAKE_PTR(r);
                return 0;
        }

        if (d->damaged || !usable || r->status == VR_STATUS_RECOVERING) {
                vr_log_reset(r, r->applied);
                k = vr_start_recovery(r);
                if (k < 0)
                        return k;
                *ret = TAKE_PTR(r);
                return 0;
        }

        uint64_t commit = meta.commit > r->commit ? meta.commit : r->commit;
        r->commit = commit < vr_op(r) ? commit : vr_op(r);
        if (r->commit < r->applied)
                r->commit = r->applied;
        r->meta_commit = r->commit;
        /* Entries it assigned may have reached backups without reaching its own disk: it
         * must not assign those op numbers again, so it never resumes as primary. */
        if (r->status == VR_STATUS_NORMAL && vr_primary_of(r, r->view) == r->cfg.self)
                r->deposed = true;
        if (r->status == VR_STATUS_VIEW_CHANGE)
                r->vc_deadline = r->now + c->view_change_ticks + r->timeout_jitter;
        r->view_meta_seq = r->durable_seq;
        k = vr_apply_committed(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

void vr_replica_free(struct vr_replica *r) {
        if (!r)
                return;
        vr_log_truncate(r, r->log_base);
        free(r->log);
        free(r->log_sum);
        vr_client_table_done(&r->clients);
        free(r->marks);
        vr_primary_reset(r);
        vr_view_change_reset(r);
        vr_recovery_reset(r);
        vr_state_transfer_reset(r);
        vr_early_reset(r);
        free(r->snap_buf);
        struct vr_ready rd = {
                .records = r->records, .n_records = r->n_records,
                .msgs = r->out, .n_msgs = r->n_out,
        };
        vr_ready_done(&rd);
        free(r->spare_records);
        free(r->spare_out);
        for (size_t i = 0; i < r->n_held; i++)
                vr_msg_done(&r->held[i].out.msg);
        free(r->held);
        free(r);
}

/* ---- outputs ---- */

static int push_record(struct vr_replica *r, struct vr_record *rec, uint64_t log_end) {
        int k = vs_array_grow((void **) &r->records, &r->cap_records, r->n_records + 1, sizeof(*rec));
        if (k < 0)
                return k;
        k = vs_array_grow((void **) &r->marks, &r->cap_marks, r->n_marks + 1, sizeof(*r->marks));
        if (k < 0)
                return k;
        rec->seq = r->next_seq++;
        r->records[r->n_records++] = *rec;
        r->marks[r->n_marks++] = (struct vr_seq_mark) { .seq = rec->seq, .log_end = log_end };
        return 0;
}

static uint64_t pending_log_end(const struct vr_replica *r) {
        return r->n_marks > 0 ? r->marks[r->n_marks - 1].log_end : r->durable_op;
}

int vr_emit_meta(struct vr_replica *r) {
        struct vr_record rec = {
                .kind = VR_RECORD_META,
                .meta = {
                        .epoch = r->epoch,
                        .view = r->view,
                        .last_normal_view = r->last_normal_view,
                        .status = r->status,
                        .commit = r->commit,
                        .checkpoint_op = r->checkpoint_op,
                        .epoch_op = r->epoch_op,
                        /* Before any reconfiguration the driver's configuration is the epoch's:
                         * the short form keeps such journals readable by older versions. */
                        .n_members = r->epoch_op > 0 ? r->cfg.n_replicas : 0,
                        .n_old_members = r->epoch_op > 0 ? r->n_old : 0,
                },
        };
        memcpy(rec.meta.members, r->members, sizeof(rec.meta.members));
        memcpy(rec.meta.old_members, r->old_members, sizeof(rec.meta.old_members));
        r->meta_commit = r->commit;
        vr_note_status(r);
        return push_record(r, &rec, pending_log_end(r));
}

int vr_emit_truncate(struct vr_replica *r, uint64_t after) {
        /* Entries above `after` that are still on their way to disk will be cut by this record,
         * so they must never count as durable. */
        for (size_t i = 0; i < r->n_marks; i++)
                if (r->marks[i].log_end > after)
                        r->marks[i].log_end = after;
        if (r->durable_op > after)
                r->durable_op = after;
        if (r->ok_sent_op > after)
                r->ok_sent_op = after;
        if (r->install_unwritten)
                return 0; /* the whole log is written once the checkpoint is taken */
        struct vr_record rec = { .kind = VR_RECORD_TRUNCATE, .after = after };
        return push_record(r, &rec, after);
}

int vr_emit_entry(struct vr_replica *r, const struct vr_entry *e) {
        if (r->install_unwritten)
                return 0;
        struct vr_record rec = { .kind = VR_RECORD_ENTRY };
        int k = vr_entry_copy(&rec.entry, e);
        if (k < 0)
                return k;
        k = push_record(r, &rec, e->op);
        if (k < 0)
                vr_entry_done(&rec.entry);
        return k;
}

static int push_out(struct vr_replica *r, const struct vr_output *o) {
        int k = vs_array_grow((void **) &r->out, &r->cap_out, r->n_out + 1, sizeof(*o));
        if (k < 0)
                return k;
        r->out[r->n_out++] = *o;
        return 0;
}

static int queue(struct vr_replica *r, struct vr_output *o, uint64_t wait_seq) {
        int k;
        if (wait_seq <= r->durable_seq)
                k = push_out(r, o);
        else {
                o->same_msg = false; /* released later, maybe among others */
                k = vs_array_grow((void **) &r->held, &r->cap_held, r->n_held + 1, sizeof(*r->held));
                if (k >= 0)
                        r->held[r->n_held++] = (struct vr_held) { .wait_seq = wait_seq, .out = *o };
        }
        if (k < 0)
                vr_msg_done(&o->msg);
        return k;
}

/* same: m is what the previous call sent, with the same wait_seq (a broadcast). */
static int send_to(struct vr_replica *r, uint32_t to, uint64_t id, const struct vr_msg *m, uint64_t wait_seq,
                   bool same) {
        struct vr_output o = { .replica = to, .to_id = id, .same_msg = same };
        /* Borrowed entries stay valid only until the ready is done: a held message owns its own. */
        int k = wait_seq <= r->durable_seq ? vr_msg_share(&o.msg, m) : vr_msg_copy(&o.msg, m);
        if (k < 0)
                return k;
        o.msg.from = r->cfg.self;
        o.msg.sender = r->self_id;
        o.msg.epoch = r->epoch;
        return queue(r, &o, wait_seq);
}

int vr_send(struct vr_replica *r, uint32_t to, const struct vr_msg *m, uint64_t wait_seq) {
        return send_to(r, to, r->members[to], m, wait_seq, false);
}

int vr_send_id(struct vr_replica *r, uint64_t id, const struct vr_msg *m, uint64_t wait_seq) {
        return send_to(r, vr_member_index(r, id), id, m, wait_seq, false);
}

int vr_broadcast(struct vr_replica *r, const struct vr_msg *m, uint64_t wait_seq) {
        bool same = false;
        for (uint32_t i = 0; i < r->cfg.n_replicas; i++) {
                if (i == r->cfg.self)
                        continue;
                int k = send_to(r, i, r->members[i], m, wait_seq, same);
                if (k < 0)
                        return k;
                same = true;
        }
        return 0;
}

int vr_send_client(struct vr_replica *r, uint64_t client_id, const struct vr_msg *m) {
        struct vr_output o = { .to_client = true, .client_id = client_id };
        int k = vr_msg_copy(&o.msg, m);
        if (k < 0)
                return k;
        o.msg.from = r->cfg.self;
        o.msg.sender = r->self_id;
        o.msg.epoch = r->epoch;
        if (m->reply_status == VR_REPLY_NOT_PRIMARY || m->reply_status == VR_REPLY_NEW_EPOCH) {
                o.msg.n_members = r->cfg.n_replicas;
                memcpy(o.msg.members, r->members, sizeof(o.msg.members));
        }
        return push_out(r, &o);
}

void vr_note_status(struct vr_replica *r) {
        if (r->view != r->reported_view || r->status != r->reported_status || r->epoch != r->reported_epoch ||
            r->stopped != r->reported_stopped)
                r->status_changed = true;
}

int vr_persisted(struct vr_replica *r, uint64_t seq) {
        if (seq >= r->next_seq)
                return -EINVAL;
        if (seq <= r->durable_seq)
                return 0;
        r->durable_seq = seq;

        size_t i = 0;
        while (i < r->n_marks && r->marks[i].seq <= seq)
                r->durable_op = r->marks[i++].log_end;
        memmove(r->marks, r->marks + i, (r->n_marks - i) * sizeof(*r->marks));
        r->n_marks -= i;

        size_t kept = 0;
        for (size_t j = 0; j < r->n_held; j++) {
                if (r->held[j].wait_seq <= seq) {
                        int k = push_out(r, &r->held[j].out);
                        if (k < 0)
                                return k;
                } else
                        r->held[kept++] = r->held[j];
        }
        r->n_held = kept;

        if (vr_is_primary(r))
                return vr_advance_commit(r, r->commit);
        int k = vr_epoch_try_start(r);
        if (k < 0)
                return k;
        return vr_send_prepare_ok(r);
}

int vr_ready_take(struct vr_replica *r, struct vr_ready *ret) {
        int k = vr_primary_flush(r);
        if (k < 0)
                return k;
        *ret = (struct vr_ready) {
                .records = r->records,
                .n_records = r->n_records,
                .msgs = r->out,
                .n_msgs = r->n_out,
                .checkpoint_op = r->ckpt_pending,
                .status_changed = r->status_changed,
                .view = r->view,
                .status = r->status,
                .primary = vr_primary_of(r, r->view),
                .epoch = r->epoch,
                .n_members = r->cfg.n_replicas,
                .members = r->members,
                .member = vr_is_member(r),
                .stopped = r->stopped,
                .owner = r,
                .cap_records = r->cap_records,
                .cap_msgs = r->cap_out,
        };
        r->records = TAKE_PTR(r->spare_records);
        r->cap_records = r->cap_spare_records;
        r->out = TAKE_PTR(r->spare_out);
        r->cap_out = r->cap_spare_out;
        r->cap_spare_records = r->cap_spare_out = 0;
        r->n_records = 0;
        r->n_out = 0;
        r->status_changed = false;
        r->reported_view = r->view;
        r->reported_status = r->status;
        r->reported_epoch = r->epoch;
        r->reported_stopped = r->stopped;
        return 0;
}

void vr_ready_done(struct vr_ready *rd) {
        struct vr_replica *r = rd->owner;
        for (size_t i = 0; i < rd->n_records; i++)
                if (rd->records[i].kind == VR_RECORD_ENTRY)
                        vr_entry_done(&rd->records[i].entry);
        if (r && !r->spare_records) {
                r->spare_records = rd->records;
                r->cap_spare_records = rd->cap_records;
        } else
                free(rd->records);
        for (size_t i = 0; i < rd->n_msgs; i++)
                vr_msg_done(&rd->msgs[i].msg);
        if (r && !r->spare_out) {
                r->spare_out = rd->msgs;
                r->cap_spare_out = rd->cap_msgs;
        } else
                free(rd->msgs);
        *rd = (struct vr_ready) {};
}

/* ---- inputs ---- */

/* Entries, when a message carries any, are consecutive ops ending at m->op. */
static bool entries_valid(const struct vr_msg *m) {
        if (m->n_entries == 0)
                return true;
        if (!m->entries || m->entries[0].op == 0 || m->op != m->entries[0].op + m->n_entries - 1)
                return false;
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].op != m->entries[0].op + i || (m->entries[i].len > 0 && !m->entries[i].data))
                        return false;
        return true;
}

int vr_receive(struct vr_replica *r, const struct vr_msg *m) {
        if (!entries_valid(m) || (m->len > 0 && !m->data))
                return -EBADMSG;
        if (m->type != VR_MSG_REQUEST) {
                if (m->epoch != r->epoch || m->type == VR_MSG_START_EPOCH || m->type == VR_MSG_EPOCH_STARTED ||
                    vr_transitioning(r) || m->from == VR_NO_INDEX)
                        return vr_epoch_receive(r, m);
                if (m->from >= r->cfg.n_replicas || m->from == r->cfg.self)
                        return -EINVAL;
        }
        switch (m->type) {
        case VR_MSG_REQUEST:
                return vr_on_request(r, m);
        case VR_MSG_PREPARE:
                return vr_on_prepare(r, m);
        case VR_MSG_PREPARE_OK:
                return vr_on_prepare_ok(r, m);
        case VR_MSG_COMMIT:
                return vr_on_commit(r, m);
        case VR_MSG_START_VIEW_CHANGE:
                return vr_on_start_view_change(r, m);
        case VR_MSG_DO_VIEW_CHANGE:
                return vr_on_do_view_change(r, m);
        case VR_MSG_START_VIEW:
                return vr_on_start_view(r, m);
        case VR_MSG_RECOVERY:
                return vr_on_recovery(r, m);
        case VR_MSG_RECOVERY_RESPONSE:
                return vr_on_recovery_response(r, m);
        case VR_MSG_GET_STATE:
                return vr_on_get_state(r, m);
        case VR_MSG_NEW_STATE:
                return vr_on_new_state(r, m);
        case VR_MSG_REPLY:
        default:
                return -EINVAL;
        }
}

int vr_tick(struct vr_replica *r) {
        r->now++;
        int k = vr_epoch_tick(r);
        if (k < 0)
                return k;
        switch (r->status) {
        case VR_STATUS_RECOVERING:
                return vr_recovery_tick(r);
        case VR_STATUS_VIEW_CHANGE:
                return vr_view_change_tick(r);
        case VR_STATUS_NORMAL:
                if (vr_is_primary(r))
                        return vr_primary_tick(r);
                if (vr_behind(r)) {
                        k = vr_request_state(r, false);
                        if (k < 0)
                                return k;
                }
                if (r->now >= r->last_heard + r->cfg.view_change_ticks + r->timeout_jitter &&
                    !vr_promise_active(r))
                        return vr_start_view_change(r, r->view + 1);
                return 0;
        default:
                return 0;
        }
}

/* ---- log ---- */

int vr_log_append(struct vr_replica *r, const struct vr_entry *e) {
        if (e->op != vr_op(r) + 1)
                return -EINVAL;
        int k = vs_array_grow((void **) &r->log, &r->log_cap, r->log_n + 1, sizeof(*r->log));
        if (k < 0)
                return k;
        k = vs_array_grow((void **) &r->log_sum, &r->log_sum_cap, r->log_n + 1, sizeof(*r->log_sum));
        if (k < 0)
                return k;
        k = vr_entry_copy(&r->log[r->log_n], e);
        if (k < 0)
                return k;
        r->log_sum[r->log_n] = (r->log_n > 0 ? r->log_sum[r->log_n - 1] : 0) + vr_cost(r, e);
        r->log_n++;
        return 0;
}

void vr_log_truncate(struct vr_replica *r, uint64_t after) {
        while (vr_op(r) > after && r->log_n > 0)
                vr_entry_done(&r->log[--r->log_n]);
        if (r->prepared_op > vr_op(r))
                r->prepared_op = vr_op(r);
}

void vr_log_reset(struct vr_replica *r, uint64_t base) {
        vr_log_truncate(r, r->log_base);
        r->log_base = base;
        r->prepared_op = base;
}

void vr_log_drop_prefix(struct vr_replica *r, uint64_t upto) {
        if (upto <= r->log_base)
                return;
        if (upto >= vr_op(r)) {
                vr_log_reset(r, upto);
                return;
        }
        size_t n = upto - r->log_base;
        for (size_t i = 0; i < n; i++)
                vr_entry_done(&r->log[i]);
        memmove(r->log, r->log + n, (r->log_n - n) * sizeof(*r->log));
        /* The sums keep counting from the old start: only differences are ever used. */
        memmove(r->log_sum, r->log_sum + n, (r->log_n - n) * sizeof(*r->log_sum));
        r->log_n -= n;
        r->log_base = upto;
}

int vr_log_adopt(struct vr_replica *r, uint64_t keep, const struct vr_entry *entries, size_t n) {
        size_t i = 0;
        /* Skip what we already hold: an op number is assigned once per view, so equal views
         * mean equal entries. */
        while (i < n && entries[i].op <= keep)
                i++;
        while (i < n) {
                const struct vr_entry *mine = vr_log_at(r, entries[i].op);
                if (!mine || mine->view != entries[i].view)
                        break;
                i++;
        }
        uint64_t cut = i < n ? entries[i].op - 1 : (n > 0 ? entries[n - 1].op : keep);
        if (cut < keep)
                cut = keep;
        if (cut < vr_op(r)) {
                vr_log_truncate(r, cut);
                int k = vr_emit_truncate(r, cut);
                if (k < 0)
                        return k;
        }
        for (; i < n; i++) {
                int k = vr_log_append(r, &entries[i]);
                if (k < 0)
                        return k;
                k = vr_emit_entry(r, &entries[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

int vr_log_extend(struct vr_replica *r, const struct vr_msg *m) {
        /* Up to what we know to be committed (ours or m's) any amount; beyond, no more than one
         * message holds, so that our DoViewChange can always carry all of it. What we leave out
         * comes again by state transfer. */
        uint64_t committed = m->commit > r->commit ? m->commit : r->commit;
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct vr_entry *e = &m->entries[i];
                if (e->op != vr_op(r) + 1)
                        continue;
                if (e->op > committed) {
                        uint64_t base = committed > r->log_base ? committed : r->log_base;
                        if (vr_log_bytes(r, base, vr_op(r)) + vr_cost(r, e) > vr_budget(r))
                                break;
                }
                int k = vr_log_append(r, e);
                if (k < 0)
                        return k;
                k = vr_emit_entry(r, e);
                if (k < 0)
                        return k;
        }
        return 0;
}

int vr_take_committed(struct vr_replica *r, const struct vr_msg *m) {
        uint64_t upto = 0;
        for (size_t i = 0; i < m->n_entries && m->entries[i].op <= m->commit; i++) {
                const struct vr_entry *e = &m->entries[i];
                int k;
                if (e->op <= r->applied) {
                        upto = e->op;
                        continue;
                }
                if (e->op <= r->log_base) {
                        if (e->op != r->applied + 1 || r->ckpt_pending > 0)
                                break;
                        k = vr_apply_entry(r, e);
                        if (k < 0)
                                return k;
                        if (r->applied == r->log_base) {
                                /* Closed in memory only: storage holds no log below log_base,
                                 * so it gives this state back only from a checkpoint here. */
                                r->ckpt_pending = r->applied;
                                r->install_op = r->applied;
                        }
                        upto = e->op;
                        continue;
                }
                /* A committed entry that differs from ours proves ours, and all after it,
                 * uncommitted: an op number is assigned once per view. */
                const struct vr_entry *mine = vr_log_at(r, e->op);
                if (!mine || mine->view != e->view) {
                        if (e->op > vr_op(r) + 1)
                                break;
                        if (e->op <= vr_op(r)) {
                                vr_log_truncate(r, e->op - 1);
                                k = vr_emit_truncate(r, e->op - 1);
                                if (k < 0)
                                        return k;
                        }
                        k = vr_log_append(r, e);
                        if (k < 0)
                                return k;
                        k = vr_emit_entry(r, e);
                        if (k < 0)
                                return k;
                }
                upto = e->op;
        }
        if (upto > r->commit)
                r->commit = upto;
        return vr_apply_committed(r);
}

int vr_log_lend(const struct vr_replica *r, uint64_t after, size_t max, uint64_t max_bytes, struct vr_msg *m) {
        if (after < r->log_base)
                return -ERANGE;
        uint64_t end = vr_op(r);
        if (after > end)
                end = after;
        if (end - after > max)
                end = after + max;
        /* The sums are increasing: the last op whose cost from `after` fits. */
        uint64_t lo = after, hi = end;
        while (lo < hi) {
                uint64_t mid = lo + (hi - lo + 1) / 2;
                if (vr_log_bytes(r, after, mid) <= max_bytes)
                        lo = mid;
                else
                        hi = mid - 1;
        }
        m->n_entries = lo - after;
        m->entries = m->n_entries > 0 ? vr_log_at(r, after + 1) : NULL;
        m->entries_borrowed = m->n_entries > 0;
        return 0;
}

int vr_log_export(const struct vr_replica *r, uint64_t after, size_t max, uint64_t max_bytes, struct vr_msg *m) {
        struct vr_msg lent = {};
        int k = vr_log_lend(r, after, max, max_bytes, &lent);
        if (k < 0)
                return k;
        m->entries_borrowed = false;
        m->n_entries = 0;
        m->entries = lent.n_entries > 0 ? calloc(lent.n_entries, sizeof(struct vr_entry)) : NULL;
        if (lent.n_entries > 0 && !m->entries)
                return -ENOMEM;
        for (size_t i = 0; i < lent.n_entries; i++) {
                k = vr_entry_copy(&m->entries[i], &lent.entries[i]);
                if (k < 0)
                        return k;
                m->n_entries++;
        }
        return 0;
}

uint64_t vr_log_fit(const struct vr_replica *r, uint64_t data) {
        uint64_t room = vr_budget(r) > data ? vr_budget(r) - data : 0;
        uint64_t lo = r->log_base, hi = vr_op(r);
        while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (vr_log_bytes(r, mid, vr_op(r)) <= room)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

/* ---- introspection ---- */

uint64_t vr_replica_view(const struct vr_replica *r) {
        return r->view;
}

uint64_t vr_replica_epoch(const struct vr_replica *r) {
        return r->epoch;
}

uint64_t vr_replica_epoch_op(const struct vr_replica *r) {
        return r->epoch_op;
}

bool vr_replica_stopped(const struct vr_replica *r) {
        return r->stopped;
}

enum vr_status vr_replica_status(const struct vr_replica *r) {
        return r->status;
}

uint64_t vr_replica_op(const struct vr_replica *r) {
        return vr_op(r);
}

uint64_t vr_replica_commit(const struct vr_replica *r) {
        return r->commit;
}

uint64_t vr_replica_applied(const struct vr_replica *r) {
        return r->applied;
}

uint64_t vr_replica_checkpoint(const struct vr_replica *r) {
        return r->checkpoint_op;
}

bool vr_replica_is_primary(const struct vr_replica *r) {
        return vr_is_primary(r);
}

const struct vr_stats *vr_replica_stats(const struct vr_replica *r) {
        return &r->stats;
}

bool vr_replica_needs_repair(const struct vr_replica *r) {
        return !vr_self_sufficient(r);
}

const struct vr_entry *vr_replica_entry(const struct vr_replica *r, uint64_t op) {
        return vr_log_at(r, op);
}
