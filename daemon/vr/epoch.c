/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reconfiguration (§7): epochs, StartEpoch / EpochStarted, members joining by state transfer, and
 * replicas that left stopping only once f'+1 members of the new epoch hold its state. */
#include <errno.h>
#include <string.h>

#include "vr/replica.h"

uint32_t vr_member_index(const struct vr_replica *r, uint64_t id) {
        for (uint32_t i = 0; i < r->cfg.n_replicas; i++)
                if (r->members[i] == id)
                        return i;
        return VR_NO_INDEX;
}

bool vr_replica_epoch_started(const struct vr_replica *r) {
        return vr_is_member(r) && (r->status == VR_STATUS_NORMAL || r->status == VR_STATUS_VIEW_CHANGE) &&
                vr_self_sufficient(r) && vr_view_durable(r);
}

bool vr_epoch_confirmed_by_acks(const struct vr_replica *r) {
        if (r->epoch_op == 0)
                return true;
        uint32_t n = vr_replica_epoch_started(r) ? 1 : 0;
        for (uint32_t i = 0; i < r->cfg.n_replicas; i++)
                if (i != r->cfg.self && r->acked[i] >= r->epoch_op)
                        n++;
        return n >= r->f + 1;
}

/* Takes over epoch `epoch` (between epochs until it holds the state: see start()). */
static void enter(struct vr_replica *r, uint64_t epoch, uint64_t op, const uint64_t *members, uint32_t n,
                  const uint64_t *old, uint32_t n_old) {
        vr_view_change_reset(r);
        vr_primary_reset(r);
        vr_recovery_reset(r);
        vr_state_transfer_reset(r);
        vr_early_reset(r);
        r->epoch = epoch;
        r->epoch_op = op;
        memcpy(r->members, members, n * sizeof(*members));
        r->cfg.n_replicas = n;
        r->f = n / 2;
        memcpy(r->old_members, old, n_old * sizeof(*old));
        r->n_old = n_old;
        r->cfg.self = vr_member_index(r, r->self_id);
        r->status = VR_STATUS_TRANSITIONING;
        r->view = r->last_normal_view = 0;
        r->deposed = false;
        r->confirmed = 0;
        r->announced = 0;
        r->stopped = false;
        r->lease_echo = 0;
        r->ok_sent_any = false;
        r->seen_view = r->seen_op = 0;
        r->state_asked = 0;
        r->last_heard = r->now;
}

/* A member holding the state up to epoch_op enters view 0 of its epoch. */
static void start(struct vr_replica *r) {
        r->status = VR_STATUS_NORMAL;
        r->view = r->last_normal_view = 0;
        r->last_heard = r->now;
        r->prepared_op = r->view_start_op = vr_op(r);
        r->last_broadcast = r->now;
        r->stats.epochs_started++;
}

static int emit_view_meta(struct vr_replica *r) {
        int k = vr_emit_meta(r);
        if (k < 0)
                return k;
        r->view_meta_seq = vr_last_seq(r);
        return 0;
}

int vr_epoch_execute(struct vr_replica *r, const struct vr_entry *e, const uint64_t *members, uint32_t n) {
        if (e->op <= r->epoch_op)
                return 0; /* executed again (restart, transfer): we are past that epoch already */
        int k;
        if (vr_is_primary(r)) {
                /* Tell the old group at once, rather than leaving it to time out. */
                struct vr_msg m = { .type = VR_MSG_COMMIT, .view = r->view, .op = e->op, .commit = e->op };
                k = vr_broadcast(r, &m, r->view_meta_seq);
                if (k < 0)
                        return k;
        }
        /* Nothing follows the op that ends an epoch (the primary appends nothing after it). */
        if (vr_op(r) > e->op) {
                /* Executed from below our log (vr_take_committed filling a hole): the log
                 * restarts after it. */
                if (e->op < r->log_base)
                        vr_log_reset(r, e->op);
                else
                        vr_log_truncate(r, e->op);
                k = vr_emit_truncate(r, e->op);
                if (k < 0)
                        return k;
        }
        r->commit = e->op;
        uint64_t old[VR_MAX_REPLICAS];
        uint32_t n_old = r->cfg.n_replicas;
        memcpy(old, r->members, sizeof(old));
        enter(r, r->epoch + 1, e->op, members, n, old, n_old);
        if (vr_is_member(r))
                start(r);
        return emit_view_meta(r);
}

int vr_epoch_try_start(struct vr_replica *r) {
        if (!vr_transitioning(r) || !vr_is_member(r) || r->epoch_op == 0 || r->applied < r->epoch_op ||
            !vr_self_sufficient(r))
                return 0;
        start(r);
        return emit_view_meta(r);
}

static int send_start_epoch(struct vr_replica *r, uint64_t id) {
        struct vr_msg m = {
                .type = VR_MSG_START_EPOCH,
                .op = r->epoch_op,
                .n_members = r->cfg.n_replicas,
                .n_old_members = r->n_old,
        };
        memcpy(m.members, r->members, sizeof(m.members));
        memcpy(m.old_members, r->old_members, sizeof(m.old_members));
        return vr_send_id(r, id, &m, r->view_meta_seq);
}

/* What a joining member holds for sure: its committed prefix, or less below a hole. */
static uint64_t joiner_have(const struct vr_replica *r) {
        if (r->applied < r->log_base)
                return r->applied;
        return r->commit < vr_op(r) ? r->commit : vr_op(r);
}

/* Once per heartbeat: the answer to the last request may still be on its way. */
static bool may_ask(const struct vr_replica *r) {
        return r->state_asked == 0 || r->now >= r->state_asked + r->cfg.heartbeat_ticks;
}

static int ask_state(struct vr_replica *r, uint64_t id) {
        return vr_ask_state(r, id, joiner_have(r), r->epoch_op);
}

int vr_epoch_serve_state(struct vr_replica *r, const struct vr_msg *m) {
        if (r->status == VR_STATUS_RECOVERING || m->epoch != r->epoch || m->from >= r->cfg.n_replicas ||
            m->from == r->cfg.self || !vr_self_sufficient(r) || r->applied < m->commit)
                return 0;
        /* Only committed state: the joining member adopts it as its epoch's beginning. */
        uint64_t limit = r->commit < vr_op(r) ? r->commit : vr_op(r);
        if (m->snap_op == 0 && m->op >= r->log_base && m->op <= limit)
                return vr_send_entries(r, m, limit);
        return vr_send_chunk(r, m, limit);
}

static int joiner_new_state(struct vr_replica *r, const struct vr_msg *m) {
        if (r->epoch_op == 0 || m->op < m->n_entries)
                return 0;
        int k;
        if (m->snap_total > 0) {
                k = vr_receive_chunk(r, m);
                if (k == VR_CHUNK_IGNORED)
                        return 0;
                if (k == VR_CHUNK_MORE)
                        return ask_state(r, m->sender);
        } else {
                if (m->n_entries > 0 && m->entries[0].op > joiner_have(r) + 1)
                        return 0;
                /* Only committed state is served: it fills a hole from below and replaces
                 * whatever of ours differs. */
                k = vr_take_committed(r, m);
                r->stats.log_transfers++;
        }
        if (k < 0)
                return k;
        k = vr_advance_commit(r, m->commit);
        if (k < 0)
                return k;
        k = vr_epoch_try_start(r);
        if (k < 0 || !vr_transitioning(r) || m->op >= m->log_end)
                return k;
        /* A prefix of what the sender holds (it fits one message): the rest from it at once. */
        return ask_state(r, m->sender);
}

static bool config_valid(const struct vr_msg *m) {
        return m->op > 0 && vr_members_check(m->members, m->n_members) >= 0 &&
                m->n_old_members <= VR_MAX_REPLICAS;
}

/* StartEpoch of an epoch newer than ours: a straggler moves on. */
static int learn(struct vr_replica *r, const struct vr_msg *m) {
        if (!config_valid(m))
                return 0;
        /* Above our commit number the log belongs to a view of an epoch that is over: whatever of
         * it was committed comes again with the state (and a transfer must not keep the rest). */
        uint64_t keep = r->commit > r->log_base ? r->commit : r->log_base;
        if (vr_op(r) > keep) {
                vr_log_truncate(r, keep);
                int k = vr_emit_truncate(r, keep);
                if (k < 0)
                        return k;
        }
        enter(r, m->epoch, m->op, m->members, m->n_members, m->old_members, m->n_old_members);
        int k = emit_view_meta(r);
        if (k < 0 || !vr_is_member(r))
                return k;
        return ask_state(r, m->sender);
}

static int on_start_epoch(struct vr_replica *r, const struct vr_msg *m) {
        if (r->epoch_op == 0) {
                /* A member the driver started: now it knows where the epoch begins. (Epoch 0
                 * began with the group: nothing to learn there.) */
                if (r->epoch == 0 || !config_valid(m))
                        return 0;
                r->epoch_op = m->op;
                r->n_old = m->n_old_members;
                memcpy(r->old_members, m->old_members, sizeof(r->old_members));
                int k = emit_view_meta(r);
                if (k < 0)
                        return k;
        }
        if (vr_replica_epoch_started(r)) {
                struct vr_msg ok = { .type = VR_MSG_EPOCH_STARTED };
                return vr_send_id(r, m->sender, &ok, r->view_meta_seq);
        }
        if (vr_transitioning(r) && vr_is_member(r) && may_ask(r))
                return ask_state(r, m->sender);
        return 0;
}

static int on_epoch_started(struct vr_replica *r, const struct vr_msg *m) {
        uint32_t i = vr_member_index(r, m->sender);
        if (i == VR_NO_INDEX)
                return 0;
        r->confirmed |= 1u << i;
        if (!vr_is_member(r) && !r->stopped && (uint32_t) __builtin_popcount(r->confirmed) >= r->f + 1) {
                r->stopped = true;
                vr_note_status(r);
        }
        return 0;
}

int vr_epoch_receive(struct vr_replica *r, const struct vr_msg *m) {
        if (m->epoch > r->epoch)
                return m->type == VR_MSG_START_EPOCH ? learn(r, m) : 0;
        if (m->epoch < r->epoch)
                /* A straggler of an older epoch: tell it where the group went. */
                return r->epoch_op > 0 ? send_start_epoch(r, m->sender) : 0;
        switch (m->type) {
        case VR_MSG_START_EPOCH:
                return on_start_epoch(r, m);
        case VR_MSG_EPOCH_STARTED:
                return on_epoch_started(r, m);
        case VR_MSG_NEW_STATE:
                return vr_transitioning(r) && vr_is_member(r) ? joiner_new_state(r, m) : 0;
        case VR_MSG_GET_STATE:
                return vr_transitioning(r) && !vr_is_member(r) && m->commit > 0 ? vr_epoch_serve_state(r, m) : 0;
        default:
                return 0;
        }
}

int vr_epoch_tick(struct vr_replica *r) {
        if (r->epoch_op == 0 || r->stopped)
                return 0;
        if (vr_transitioning(r) && vr_is_member(r)) {
                if (!may_ask(r))
                        return 0;
                /* Ask the replicas that may hold the state in turn: old members, then members. */
                uint32_t n = r->n_old + r->cfg.n_replicas;
                for (uint32_t tries = 0; tries < n; tries++) {
                        uint32_t i = r->source_turn++ % n;
                        uint64_t id = i < r->n_old ? r->old_members[i] : r->members[i - r->n_old];
                        if (id != r->self_id)
                                return ask_state(r, id);
                }
                return 0;
        }
        if (vr_is_member(r) && !vr_replica_epoch_started(r))
                return 0;
        if (r->announced > 0 && r->now < r->announced + 2 * r->cfg.heartbeat_ticks)
                return 0;
        r->announced = r->now;
        for (uint32_t i = 0; i < r->cfg.n_replicas; i++) {
                if (i == r->cfg.self || (r->confirmed & (1u << i)))
                        continue;
                int k = send_start_epoch(r, r->members[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}
