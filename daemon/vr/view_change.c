/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* View change (§4.2): StartViewChange, DoViewChange, StartView. */
#include <errno.h>
#include <stdlib.h>

#include "vr/replica.h"

void vr_view_change_reset(struct vr_replica *r) {
        for (uint32_t i = 0; i < VR_MAX_REPLICAS; i++) {
                vr_msg_free(r->dvc[i]);
                r->dvc[i] = NULL;
        }
        r->n_dvc = 0;
        r->svc_mask = 0;
        r->dvc_sent = false;
}

static int send_svc(struct vr_replica *r) {
        struct vr_msg m = { .type = VR_MSG_START_VIEW_CHANGE, .view = r->view, .commit = r->commit };
        r->vc_resend = r->now;
        return vr_broadcast(r, &m, r->view_meta_seq);
}

static int build_dvc(const struct vr_replica *r, struct vr_msg *m) {
        *m = (struct vr_msg) {
                .type = VR_MSG_DO_VIEW_CHANGE,
                .from = r->cfg.self,
                .view = r->view,
                .last_normal_view = r->last_normal_view,
                .op = vr_op(r),
                .commit = r->commit,
        };
        return vr_log_export(r, vr_log_fit(r, 0), SIZE_MAX, vr_budget(r), m);
}

static int store_dvc(struct vr_replica *r, uint32_t from, struct vr_msg *m) {
        if (!r->dvc[from])
                r->dvc_order[r->n_dvc++] = from;
        else
                vr_msg_free(r->dvc[from]);
        return vr_msg_dup(m, &r->dvc[from]);
}

static int complete(struct vr_replica *r);

static int send_dvc(struct vr_replica *r) {
        struct vr_msg m;
        int k = build_dvc(r, &m);
        if (k >= 0) {
                uint32_t p = vr_primary_of(r, r->view);
                if (p == r->cfg.self)
                        k = store_dvc(r, p, &m);
                else
                        k = vr_send(r, p, &m, vr_last_seq(r));
        }
        vr_msg_done(&m);
        if (k < 0)
                return k;
        r->dvc_sent = true;
        return vr_primary_of(r, r->view) == r->cfg.self ? complete(r) : 0;
}

static int check_svc_quorum(struct vr_replica *r) {
        uint32_t others = (uint32_t) __builtin_popcount(r->svc_mask & ~(1u << r->cfg.self));
        if (r->dvc_sent || others < r->f)
                return 0;
        return send_dvc(r);
}

int vr_start_view_change(struct vr_replica *r, uint64_t view) {
        if (r->status == VR_STATUS_RECOVERING || view <= r->view || vr_promise_active(r))
                return 0;
        vr_view_change_reset(r);
        vr_primary_reset(r);
        vr_state_transfer_reset(r);
        r->view = view;
        r->status = VR_STATUS_VIEW_CHANGE;
        r->deposed = false;
        r->timeout_jitter = r->cfg.jitter_ticks ? vr_random(r) % r->cfg.jitter_ticks : 0;
        r->vc_deadline = r->now + r->cfg.view_change_ticks + r->timeout_jitter;
        int k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        k = send_svc(r);
        if (k < 0)
                return k;
        return check_svc_quorum(r); /* with f = 0 nobody else needs to agree */
}

/* Joins view m->view if it is newer; returns 1 when we are now changing to exactly that view. */
static int join(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status == VR_STATUS_RECOVERING || m->view < r->view)
                return 0;
        if (m->view > r->view) {
                int k = vr_start_view_change(r, m->view);
                if (k < 0)
                        return k;
        }
        return r->view == m->view && r->status == VR_STATUS_VIEW_CHANGE;
}

int vr_on_start_view_change(struct vr_replica *r, const struct vr_msg *m) {
        int k = join(r, m);
        if (k <= 0)
                return k;
        r->svc_mask |= 1u << m->from;
        return check_svc_quorum(r);
}

static int send_start_view(struct vr_replica *r, int to) {
        struct vr_msg m = {
                .type = VR_MSG_START_VIEW,
                .view = r->view,
                .op = vr_op(r),
                .commit = r->commit,
        };
        int k = vr_log_export(r, vr_log_fit(r, 0), SIZE_MAX, vr_budget(r), &m);
        if (k >= 0)
                k = to < 0 ? vr_broadcast(r, &m, r->view_meta_seq)
                           : vr_send(r, (uint32_t) to, &m, r->view_meta_seq);
        vr_msg_done(&m);
        return k;
}

static bool better(const struct vr_msg *a, const struct vr_msg *b) {
        return a->last_normal_view > b->last_normal_view ||
                (a->last_normal_view == b->last_normal_view && a->op > b->op);
}

/* Asks the DoViewChange sender with the highest commit number for the committed ops up to
 * `need` (what makes the best log connect): vr_epoch_serve_state answers with committed state
 * only, in pieces that fit a message, and vr_on_view_change_state takes them. */
static int fetch_committed(struct vr_replica *r, uint64_t need, bool now) {
        uint32_t src = VR_NO_INDEX;
        for (uint32_t i = 0; i < r->n_dvc; i++) {
                uint32_t from = r->dvc_order[i];
                if (from != r->cfg.self && (src == VR_NO_INDEX || r->dvc[from]->commit > r->dvc[src]->commit))
                        src = from;
        }
        if (src == VR_NO_INDEX || r->dvc[src]->commit < need)
                return 0;
        if (!now && r->state_asked > 0 && r->now < r->state_asked + r->cfg.heartbeat_ticks)
                return 0;
        return vr_ask_state(r, r->members[src], r->applied < r->log_base ? r->applied : r->commit,
                            need > 0 ? need : 1);
}

static int complete(struct vr_replica *r) {
        if (!r->dvc[r->cfg.self] || r->n_dvc < r->f + 1)
                return 0;

        const struct vr_msg *best = r->dvc[r->dvc_order[0]];
        uint64_t commit = r->commit;
        for (uint32_t i = 0; i < r->n_dvc; i++) {
                const struct vr_msg *d = r->dvc[r->dvc_order[i]];
                if (better(d, best))
                        best = d;
                if (d->commit > commit)
                        commit = d->commit;
        }
        /* The best log must connect to our committed prefix. When it starts above our commit
         * number (a DoViewChange carries only the suffix that fits a message), or our own state
         * has a hole below our log, we first fetch the committed ops we lack from the replica
         * that knows most of them; if none knows enough, the timeout moves on to another
         * primary. Nothing is adopted while a fetched checkpoint is not yet durable. */
        uint64_t start = best->op - best->n_entries;
        if (start > r->commit || r->applied < r->log_base)
                return fetch_committed(r, start > r->log_base ? start : r->log_base, false);
        if (r->install_op > 0)
                return 0;

        int k = vr_log_adopt(r, r->commit, best->entries, best->n_entries);
        if (k < 0)
                return k;
        r->status = VR_STATUS_NORMAL;
        r->last_normal_view = r->view;
        r->view_start_op = vr_op(r);
        r->stats.views_started++;
        r->prepared_op = vr_op(r);
        r->last_broadcast = r->now;
        vr_primary_reset(r);
        vr_view_change_reset(r);
        k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        k = send_start_view(r, -1);
        if (k < 0)
                return k;
        return vr_advance_commit(r, commit < vr_op(r) ? commit : vr_op(r));
}

int vr_on_do_view_change(struct vr_replica *r, const struct vr_msg *m) {
        if (m->view == r->view && vr_is_primary(r))
                return send_start_view(r, (int) m->from); /* it missed our StartView */
        int k = join(r, m);
        if (k <= 0)
                return k;
        if (vr_primary_of(r, r->view) != r->cfg.self)
                return 0;
        if (m->op < m->n_entries)
                return 0;
        /* A DoViewChange implies its sender's StartViewChange. */
        r->svc_mask |= 1u << m->from;
        k = store_dvc(r, m->from, (struct vr_msg *) m);
        if (k < 0)
                return k;
        k = check_svc_quorum(r);
        if (k < 0)
                return k;
        return r->status == VR_STATUS_VIEW_CHANGE ? complete(r) : 0;
}

int vr_on_start_view(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status == VR_STATUS_RECOVERING || m->view < r->view)
                return 0;
        if (m->view == r->view && r->status == VR_STATUS_NORMAL)
                return 0;
        if (m->from != vr_primary_of(r, m->view) || m->op < m->n_entries)
                return 0;

        vr_view_change_reset(r);
        vr_primary_reset(r);
        vr_state_transfer_reset(r);
        r->view = m->view;
        r->status = VR_STATUS_NORMAL;
        r->deposed = false;
        r->last_heard = r->now;
        r->lease_echo = 0;
        r->ok_sent_any = false;
        r->timeout_jitter = r->cfg.jitter_ticks ? vr_random(r) % r->cfg.jitter_ticks : 0;

        /* When its log starts above our commit we cannot adopt it: we stay with our log (see
         * vr_log_stale) and fetch the view's log by state transfer. */
        bool gap = m->op - m->n_entries > r->commit;
        int k;
        if (!gap) {
                k = vr_log_adopt(r, r->commit, m->entries, m->n_entries);
                if (k < 0)
                        return k;
                r->last_normal_view = m->view;
        }
        k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        if (gap) {
                k = vr_request_state(r, true);
                if (k < 0)
                        return k;
        }
        return vr_advance_commit(r, m->commit);
}

int vr_on_view_change_state(struct vr_replica *r, const struct vr_msg *m) {
        if (vr_primary_of(r, r->view) != r->cfg.self || !r->dvc_sent || m->op < m->n_entries)
                return 0;
        int k = m->snap_total > 0 ? vr_receive_chunk(r, m) : 0;
        if (k == VR_CHUNK_MORE)
                return fetch_committed(r, r->commit + 1, true);
        if (k != 0)
                return k == VR_CHUNK_IGNORED ? 0 : k;
        k = vr_take_committed(r, m);
        if (k < 0)
                return k;
        return complete(r);
}

int vr_view_change_tick(struct vr_replica *r) {
        if (vr_promise_active(r))
                return 0;
        if (r->now >= r->vc_deadline)
                return vr_start_view_change(r, r->view + 1);
        if (r->now < r->vc_resend + r->cfg.heartbeat_ticks)
                return 0;
        int k = send_svc(r);
        if (k < 0 || !r->dvc_sent)
                return k;
        if (vr_primary_of(r, r->view) == r->cfg.self)
                return complete(r);
        r->dvc_sent = false;
        return send_dvc(r);
}
