/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovery (§4.3) of a replica whose durable log cannot be trusted. */
#include <errno.h>
#include <stdlib.h>

#include "vr/replica.h"

void vr_recovery_reset(struct vr_replica *r) {
        vr_msg_free(r->rec_primary);
        r->rec_primary = NULL;
        r->rec_mask = 0;
        r->rec_view = 0;
}

static int send_recovery(struct vr_replica *r) {
        struct vr_msg m = { .type = VR_MSG_RECOVERY, .nonce = r->nonce };
        r->rec_resend = r->now;
        return vr_broadcast(r, &m, vr_last_seq(r));
}

int vr_start_recovery(struct vr_replica *r) {
        vr_recovery_reset(r);
        vr_view_change_reset(r);
        vr_primary_reset(r);
        r->status = VR_STATUS_RECOVERING;
        r->deposed = false;
        /* Only the checkpoint is trusted: the whole log goes, durably, before anything else.
         * Cutting from op 1 (not from the checkpoint) also tells storage that whatever hole it
         * found is repaired from here on, wherever it was. The status below remembers across a
         * crash that the replica is not whole until recovery completes. */
        int k = vr_emit_truncate(r, 0);
        if (k < 0)
                return k;
        k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        return send_recovery(r);
}

int vr_recovery_tick(struct vr_replica *r) {
        if (r->now < r->rec_resend + 2 * r->cfg.heartbeat_ticks)
                return 0;
        return send_recovery(r);
}

int vr_on_recovery(struct vr_replica *r, const struct vr_msg *m) {
        /* A restarted primary holds the primary's slot of its view without acting as primary:
         * its answer would pass for the primary's and carry no log. */
        if (r->status != VR_STATUS_NORMAL || r->deposed)
                return 0;
        struct vr_msg resp = {
                .type = VR_MSG_RECOVERY_RESPONSE,
                .view = r->view,
                .nonce = m->nonce,
        };
        int k = 0;
        if (vr_is_primary(r)) {
                resp.op = vr_op(r);
                resp.commit = r->commit;
                resp.last_normal_view = r->last_normal_view;
                k = vr_log_export(r, vr_log_fit(r, 0), SIZE_MAX, vr_budget(r), &resp);
        }
        if (k >= 0)
                k = vr_send(r, m->from, &resp, vr_last_seq(r));
        vr_msg_done(&resp);
        return k;
}

static int finish(struct vr_replica *r) {
        const struct vr_msg *p = r->rec_primary;
        uint64_t base = p->op - p->n_entries;
        int k;

        /* Nothing of our own log survives: the primary's log is the view's. */
        if (base > r->applied) {
                vr_log_reset(r, base);
                k = vr_emit_truncate(r, base);
        } else {
                vr_log_reset(r, r->applied);
                k = vr_emit_truncate(r, r->applied);
        }
        if (k >= 0)
                k = vr_log_extend(r, p);
        if (k < 0)
                return k;
        uint64_t commit = p->commit < vr_op(r) ? p->commit : vr_op(r);
        if (commit > r->commit)
                r->commit = commit;
        r->last_normal_view = p->view;
        r->last_heard = r->now;
        r->ok_sent_any = false;
        if (r->view > p->view) {
                /* We voted for a later view before losing our log: keep that promise by
                 * staying in its view change rather than going back. */
                r->status = VR_STATUS_VIEW_CHANGE;
                r->vc_deadline = r->now + r->cfg.view_change_ticks + r->timeout_jitter;
                r->vc_resend = 0;
        } else {
                r->view = p->view;
                r->status = VR_STATUS_NORMAL;
        }
        vr_recovery_reset(r);
        r->stats.recoveries++;
        k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        if (vr_behind(r)) {
                k = vr_request_state(r, true);
                if (k < 0)
                        return k;
        }
        return vr_apply_committed(r);
}

int vr_on_recovery_response(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status != VR_STATUS_RECOVERING || m->nonce != r->nonce)
                return 0;
        if (m->op < m->n_entries)
                return 0;
        r->rec_mask |= 1u << m->from;
        if (m->view > r->rec_view)
                r->rec_view = m->view;
        if (m->from == vr_primary_of(r, m->view) &&
            (!r->rec_primary || m->view >= r->rec_primary->view)) {
                vr_msg_free(r->rec_primary);
                r->rec_primary = NULL;
                int k = vr_msg_dup(m, &r->rec_primary);
                if (k < 0)
                        return k;
        }
        if ((uint32_t) __builtin_popcount(r->rec_mask) < r->f + 1 || !r->rec_primary ||
            r->rec_primary->view != r->rec_view)
                return 0;
        return finish(r);
}
