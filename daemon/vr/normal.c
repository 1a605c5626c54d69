/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Normal operation (§4.1), batching (§6), the client table and lease reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vr/replica.h"

#define VR_MAX_PENDING_READS 4096

static bool is_register(const uint8_t *data, size_t len) {
        return len == VR_REGISTER_CMD_LEN && memcmp(data, VR_REGISTER_CMD, VR_REGISTER_CMD_LEN) == 0;
}

static bool is_reconfigure(const uint8_t *data, size_t len) {
        return len >= VR_RECONFIGURE_CMD_LEN && memcmp(data, VR_RECONFIGURE_CMD, VR_RECONFIGURE_CMD_LEN) == 0;
}

static int reply(struct vr_replica *r, uint64_t client_id, uint64_t request, uint32_t status,
                 const uint8_t *data, uint32_t len) {
        struct vr_msg m = {
                .type = VR_MSG_REPLY,
                .view = r->view,
                .client_id = client_id,
                .request = request,
                .reply_status = status,
                .len = len,
                .data = (uint8_t *) data,
        };
        return vr_send_client(r, client_id, &m);
}

static int reply_from_table(struct vr_replica *r, const struct vr_client *c) {
        return reply(r, c->id, c->request, c->status, c->reply, c->len);
}

void vr_primary_reset(struct vr_replica *r) {
        for (size_t i = 0; i < r->n_reads; i++)
                vr_msg_done(&r->reads[i]);
        free(r->reads);
        r->reads = NULL;
        r->n_reads = 0;
        memset(r->acked, 0, sizeof(r->acked));
        memset(r->grant, 0, sizeof(r->grant));
}

static bool lease_valid(const struct vr_replica *r) {
        if (r->cfg.lease_ticks == 0 || r->commit < r->view_start_op)
                return false;
        uint64_t d = r->cfg.drift_ppm;
        uint64_t limit = (uint64_t) (r->cfg.lease_ticks - 2) * (1000000 - d) / (1000000 + d);
        uint32_t granted = 0;
        for (uint32_t i = 0; i < r->cfg.n_replicas; i++)
                if (i != r->cfg.self && r->grant[i] > 0 && r->now - r->grant[i] < limit)
                        granted++;
        return granted >= r->f;
}

int vr_serve_reads(struct vr_replica *r) {
        if (r->n_reads == 0)
                return 0;
        if (!vr_is_primary(r)) {
                vr_primary_reset(r);
                return 0;
        }
        if (!lease_valid(r) || r->applied < r->commit)
                return 0;
        for (size_t i = 0; i < r->n_reads; i++) {
                const struct vr_msg *m = &r->reads[i];
                const struct vr_client *c = vr_client_table_find(&r->clients, m->client_id);
                int k;
                if (!c)
                        k = reply(r, m->client_id, m->request, VR_REPLY_SESSION_EXPIRED, NULL, 0);
                else if (m->request < c->request)
                        k = 0;
                else if (m->request == c->request)
                        k = reply_from_table(r, c);
                else {
                        _cleanup_free_ uint8_t *out = NULL;
                        size_t out_len = 0;
                        k = r->ops->read(r->sm, m->data, m->len, &out, &out_len);
                        if (k >= 0)
                                k = reply(r, m->client_id, m->request, VR_REPLY_OK, out,
                                          (uint32_t) out_len);
                        r->stats.lease_reads++;
                }
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < r->n_reads; i++)
                vr_msg_done(&r->reads[i]);
        r->n_reads = 0;
        return 0;
}

static int queue_read(struct vr_replica *r, const struct vr_msg *m) {
        if (r->n_reads >= VR_MAX_PENDING_READS)
                return 0; /* the client retries */
        struct vr_msg *n = reallocarray(r->reads, r->n_reads + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        r->reads = n;
        int k = vr_msg_copy(&r->reads[r->n_reads], m);
        if (k < 0)
                return k;
        r->n_reads++;
        return vr_serve_reads(r);
}

int vr_on_request(struct vr_replica *r, const struct vr_msg *m) {
        if (!vr_is_member(r))
                return reply(r, m->client_id, m->request, VR_REPLY_NEW_EPOCH, NULL, 0);
        if (r->status != VR_STATUS_NORMAL)
                return 0;
        if (!vr_is_primary(r))
                return reply(r, m->client_id, m->request, VR_REPLY_NOT_PRIMARY, NULL, 0);

        bool reg = is_register(m->data, m->len);
        bool reconf = is_reconfigure(m->data, m->len);
        const struct vr_client *c = vr_client_table_find(&r->clients, m->client_id);
        if (c && m->request < c->request)
                return 0;
        /* The reconfiguration that began this epoch is answered once the epoch holds its state. */
        if (c && m->request == c->request && c->op == r->epoch_op && r->epoch_op > 0 &&
            !vr_epoch_confirmed_by_acks(r))
                return 0;
        if (c && m->request == c->request)
                return reply_from_table(r, c);
        if (reconf) {
                uint64_t members[VR_MAX_REPLICAS];
                uint32_t n;
                if (vr_reconfigure_parse(m->data, m->len, members, &n) < 0)
                        return reply(r, m->client_id, m->request, VR_REPLY_BAD_CONFIG, NULL, 0);
        }

        if (!reg && !reconf && !r->cfg.reads_through_log &&
            r->ops->is_read_only(r->sm, m->data, m->len))
                return queue_read(r, m);

        /* Already in the log and not yet executed: the reply comes when it commits. Nothing is
         * taken after a reconfiguration: the epoch ends there. */
        for (uint64_t op = r->commit + 1; op <= vr_op(r); op++) {
                const struct vr_entry *e = vr_log_at(r, op);
                if (e && ((e->client_id == m->client_id && e->request == m->request) ||
                          is_reconfigure(e->data, e->len)))
                        return 0;
        }

        struct vr_entry e = {
                .op = vr_op(r) + 1,
                .view = r->view,
                .client_id = m->client_id,
                .request = m->request,
                .len = m->len,
                .data = m->data,
        };
        if (vr_cost(r, &e) > vr_budget(r) / 2)
                return reply(r, m->client_id, m->request, VR_REPLY_TOO_LARGE, NULL, 0);
        /* No more than half a message of uncommitted log (the client retries): every
         * DoViewChange and StartView can carry all of it, and a restart's lagging commit
         * number (note_commit) fits the other half. */
        if (vr_log_bytes(r, r->commit, vr_op(r)) + vr_cost(r, &e) > vr_budget(r) / 2)
                return 0;
        int k = vr_log_append(r, &e);
        if (k < 0)
                return k;
        return vr_emit_entry(r, &e);
}

/* Executes one committed entry. Decided only from replicated state, so every replica makes the
 * same choice; only the primary answers the client. */
static int apply_one(struct vr_replica *r, const struct vr_entry *e) {
        bool primary = vr_is_primary(r);
        struct vr_client *c = vr_client_table_find(&r->clients, e->client_id);
        int k = 0;

        r->applied = e->op;
        if (is_register(e->data, e->len)) {
                if (c && e->request <= c->request)
                        return primary && e->request == c->request ? reply_from_table(r, c) : 0;
                k = vr_client_table_register(&r->clients, e->client_id, e->request, e->op, &c);
                if (k < 0)
                        return k;
                return primary ? reply_from_table(r, c) : 0;
        }
        if (!c)
                return primary ? reply(r, e->client_id, e->request, VR_REPLY_SESSION_EXPIRED, NULL, 0) : 0;
        if (e->request <= c->request)
                return primary && e->request == c->request ? reply_from_table(r, c) : 0;
        if (is_reconfigure(e->data, e->len)) {
                uint64_t members[VR_MAX_REPLICAS];
                uint32_t n;
                k = vr_reconfigure_parse(e->data, e->len, members, &n);
                vr_client_record(c, e->request, e->op, k < 0 ? VR_REPLY_BAD_CONFIG : VR_REPLY_OK, NULL, 0);
                if (k < 0)
                        return primary ? reply_from_table(r, c) : 0;
                /* Answered from the table by the new epoch's primary (vr_on_request). */
                return vr_epoch_execute(r, e, members, n);
        }

        uint8_t *out = NULL;
        size_t out_len = 0;
        k = r->ops->apply(r->sm, e->op, e->data, e->len, &out, &out_len);
        if (k < 0)
                return k;
        vr_client_record(c, e->request, e->op, VR_REPLY_OK, out, (uint32_t) out_len);
        return primary ? reply_from_table(r, c) : 0;
}

int vr_apply_entry(struct vr_replica *r, const struct vr_entry *e) {
        int k = apply_one(r, e);
        if (k < 0)
                return k;
        if (r->cfg.checkpoint_interval > 0 && r->applied % r->cfg.checkpoint_interval == 0)
                r->ckpt_pending = r->applied;
        return 0;
}

/* Records the commit number whenever a quarter of a message's worth of log was committed since
 * the last META: after a restart the log above the commit number we read back is then at most
 * that quarter plus what was uncommitted (half a message at the primary), so that our
 * DoViewChange still carries all of it. Never for a log that is not the committed one below
 * the commit number (stale, recovering, or a transferred checkpoint not yet written). */
static int note_commit(struct vr_replica *r) {
        if (r->commit <= r->meta_commit || vr_log_stale(r) || r->install_op > 0 ||
            r->status == VR_STATUS_RECOVERING || vr_transitioning(r))
                return 0;
        if (r->meta_commit >= r->log_base && r->commit <= vr_op(r) &&
            vr_log_bytes(r, r->meta_commit, r->commit) < vr_budget(r) / 4)
                return 0;
        return vr_emit_meta(r);
}

int vr_apply_committed(struct vr_replica *r) {
        while (r->applied < r->commit && r->ckpt_pending == 0) {
                const struct vr_entry *e = vr_log_at(r, r->applied + 1);
                if (!e)
                        break; /* the prefix comes by state transfer */
                int k = vr_apply_entry(r, e);
                if (k < 0)
                        return k;
        }
        int k = note_commit(r);
        if (k < 0)
                return k;
        return vr_serve_reads(r);
}

static int cmp_desc(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? 1 : x > y ? -1 : 0;
}

int vr_advance_commit(struct vr_replica *r, uint64_t commit) {
        if (vr_is_primary(r)) {
                uint64_t v[VR_MAX_REPLICAS];
                r->acked[r->cfg.self] = vr_view_durable(r) && vr_self_sufficient(r) ? r->durable_op : 0;
                memcpy(v, r->acked, sizeof(uint64_t) * r->cfg.n_replicas);
                qsort(v, r->cfg.n_replicas, sizeof(uint64_t), cmp_desc);
                /* f+1 replicas, this one included, hold every op up to v[f] durably. */
                if (v[r->f] > commit)
                        commit = v[r->f];
        }
        if (commit > vr_op(r))
                commit = vr_op(r);
        if (vr_log_stale(r))
                return 0;
        if (commit > r->commit)
                r->commit = commit;
        return vr_apply_committed(r);
}

int vr_primary_flush(struct vr_replica *r) {
        if (!vr_is_primary(r))
                return 0;
        while (r->prepared_op < vr_op(r)) {
                struct vr_msg m = {
                        .type = VR_MSG_PREPARE,
                        .view = r->view,
                        .commit = r->commit,
                        .lease = r->now,
                };
                /* Taken at vr_ready_take(), so the log stays as it is until the driver has sent
                 * the Prepares: they borrow their entries from it. */
                int k = vr_log_lend(r, r->prepared_op, r->cfg.max_batch, vr_budget(r), &m);
                if (k >= 0) {
                        m.op = r->prepared_op + m.n_entries;
                        k = vr_broadcast(r, &m, r->view_meta_seq);
                }
                vr_msg_done(&m);
                if (k < 0)
                        return k;
                r->prepared_op = m.op;
                r->last_broadcast = r->now;
        }
        return 0;
}

int vr_primary_tick(struct vr_replica *r) {
        if (r->now >= r->last_broadcast + r->cfg.heartbeat_ticks) {
                struct vr_msg m = {
                        .type = VR_MSG_COMMIT,
                        .view = r->view,
                        .op = vr_op(r),
                        .commit = r->commit,
                        .lease = r->now,
                };
                int k = vr_broadcast(r, &m, r->view_meta_seq);
                if (k < 0)
                        return k;
                r->last_broadcast = r->now;
        }
        return vr_serve_reads(r);
}

int vr_backup_commit(struct vr_replica *r, uint64_t commit) {
        int k = vr_advance_commit(r, commit);
        if (k < 0)
                return k;
        return vr_send_prepare_ok(r);
}

int vr_send_prepare_ok(struct vr_replica *r) {
        if (r->status != VR_STATUS_NORMAL || vr_is_primary(r) || r->deposed || !vr_view_durable(r) ||
            vr_log_stale(r) || !vr_self_sufficient(r))
                return 0;
        if (r->ok_sent_any && r->ok_sent_view == r->view && r->durable_op <= r->ok_sent_op &&
            r->lease_echo <= r->lease_sent)
                return 0;
        struct vr_msg m = {
                .type = VR_MSG_PREPARE_OK,
                .view = r->view,
                .op = r->durable_op,
                .lease = r->lease_echo,
        };
        r->ok_sent_any = true;
        r->ok_sent_view = r->view;
        r->ok_sent_op = r->durable_op;
        r->lease_sent = r->lease_echo;
        return vr_send(r, vr_primary_of(r, r->view), &m, 0);
}

int vr_enter_view_lagging(struct vr_replica *r, uint64_t view) {
        vr_view_change_reset(r);
        vr_primary_reset(r);
        vr_state_transfer_reset(r);
        r->view = view;
        r->status = VR_STATUS_NORMAL;
        r->deposed = false;
        r->lease_echo = 0;
        r->ok_sent_any = false;
        r->last_heard = r->now;
        r->timeout_jitter = r->cfg.jitter_ticks ? vr_random(r) % r->cfg.jitter_ticks : 0;
        /* Our log stays that of last_normal_view (see vr_log_stale): truncating it to the
         * commit number would drop ops we acknowledged, which may be committed. */
        int k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        return vr_request_state(r, true);
}

/* Checks common to messages from a primary: returns 1 when m should be processed. */
static int from_primary(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status == VR_STATUS_RECOVERING || m->view < r->view)
                return 0;
        if (m->from != vr_primary_of(r, m->view) || m->from == r->cfg.self)
                return 0;
        if (m->view > r->view || r->status == VR_STATUS_VIEW_CHANGE) {
                int k = vr_enter_view_lagging(r, m->view);
                if (k < 0)
                        return k;
        }
        r->last_heard = r->now;
        if (r->seen_view != r->view) {
                r->seen_view = r->view;
                r->seen_op = 0;
                vr_early_reset(r);
        }
        if (m->op > r->seen_op)
                r->seen_op = m->op;
        if (m->lease > 0 && r->cfg.lease_ticks > 0) {
                if (r->promise_until < r->now + r->cfg.lease_ticks)
                        r->promise_until = r->now + r->cfg.lease_ticks;
                if (m->lease > r->lease_echo)
                        r->lease_echo = m->lease;
        }
        return 1;
}

/* A backup whose log is not yet the view's: it only asks for the view's log. */
static int stale_wait(struct vr_replica *r) {
        return vr_request_state(r, false);
}

void vr_early_reset(struct vr_replica *r) {
        for (size_t i = 0; i < VR_EARLY_PREPARES; i++) {
                vr_msg_free(r->early[i]);
                r->early[i] = NULL;
        }
}

/* Keeps m, replacing the kept Prepare furthest ahead when all places are taken. */
static int keep_early(struct vr_replica *r, const struct vr_msg *m) {
        size_t slot = 0;
        for (size_t i = 0; i < VR_EARLY_PREPARES; i++)
                if (r->early[i] && r->early[i]->view == m->view && r->early[i]->op == m->op)
                        return 0; /* a duplicate */
        for (size_t i = 0; i < VR_EARLY_PREPARES; i++) {
                if (!r->early[i]) {
                        slot = i;
                        break;
                }
                if (r->early[i]->op > r->early[slot]->op)
                        slot = i;
        }
        if (r->early[slot] && r->early[slot]->op < m->op)
                return 0;
        vr_msg_free(r->early[slot]);
        r->early[slot] = NULL;
        return vr_msg_dup(m, &r->early[slot]);
}

/* Appends the kept Prepares that now connect to the log, dropping those that no longer can;
 * *commit learns the commit numbers they carried. */
static int extend_from_early(struct vr_replica *r, uint64_t *commit) {
        bool progress = true;
        while (progress) {
                progress = false;
                for (size_t i = 0; i < VR_EARLY_PREPARES; i++) {
                        struct vr_msg *e = r->early[i];
                        if (!e || (e->view == r->view && e->op > vr_op(r) && e->entries[0].op > vr_op(r) + 1))
                                continue;
                        int k = 0;
                        if (e->view == r->view && e->op > vr_op(r)) {
                                k = vr_log_extend(r, e);
                                if (e->commit > *commit)
                                        *commit = e->commit;
                        }
                        vr_msg_free(e);
                        r->early[i] = NULL;
                        if (k < 0)
                                return k;
                        progress = true;
                }
        }
        return 0;
}

int vr_on_prepare(struct vr_replica *r, const struct vr_msg *m) {
        uint64_t commit = m->commit;
        int k = from_primary(r, m);
        if (k <= 0)
                return k;
        if (vr_log_stale(r))
                return stale_wait(r);
        if (m->n_entries > 0) {
                if (m->entries[0].op > vr_op(r) + 1) {
                        /* Probably reordered: give the missing Prepare a heartbeat to arrive
                         * before asking for state. */
                        bool new_gap = true;
                        for (size_t i = 0; i < VR_EARLY_PREPARES; i++)
                                new_gap = new_gap && !r->early[i];
                        if (new_gap)
                                r->state_asked = r->now;
                        k = keep_early(r, m);
                } else {
                        k = vr_log_extend(r, m);
                        if (k >= 0)
                                k = extend_from_early(r, &commit);
                }
                if (k < 0)
                        return k;
        }
        return vr_backup_commit(r, commit);
}

int vr_on_commit(struct vr_replica *r, const struct vr_msg *m) {
        int k = from_primary(r, m);
        if (k <= 0)
                return k;
        if (vr_log_stale(r))
                return stale_wait(r);
        if (vr_behind(r)) {
                k = vr_request_state(r, false);
                if (k < 0)
                        return k;
        }
        return vr_backup_commit(r, m->commit);
}

int vr_on_prepare_ok(struct vr_replica *r, const struct vr_msg *m) {
        if (!vr_is_primary(r) || m->view != r->view)
                return 0;
        if (m->op > vr_op(r))
                return 0; /* never sent by a correct backup of this view */
        if (m->op > r->acked[m->from])
                r->acked[m->from] = m->op;
        if (m->lease <= r->now && m->lease > r->grant[m->from])
                r->grant[m->from] = m->lease;
        return vr_advance_commit(r, r->commit);
}
