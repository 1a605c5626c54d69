/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internals of the replica core shared by its source files (normal.c, view_change.c,
 * recovery.c, state_transfer.c, checkpoint.c, replica.c). Not for drivers: use vr.h.
 */

#include "vr/client_table.h"
#include "vr/vr.h"

/* Prepares kept when they arrive ahead of a gap (reordering), so that the late one closes it
 * without a state transfer. */
#define VR_EARLY_PREPARES 8

struct vr_held {
        uint64_t wait_seq; /* released once storage is durable up to here */
        struct vr_output out;
};

struct vr_seq_mark {
        uint64_t seq;
        uint64_t log_end; /* op of the last log entry once this record is durable */
};

struct vr_replica {
        struct vr_config cfg;
        const struct vr_sm_ops *ops;
        void *sm;
        uint32_t f;
        uint64_t rng;

        /* Replicated and durable state. */
        uint64_t epoch;
        uint64_t epoch_op;      /* the op that ended the previous epoch (0: epoch 0 or not known) */
        uint64_t self_id;
        uint64_t members[VR_MAX_REPLICAS]; /* cfg.n_replicas of them; cfg.self indexes it */
        uint32_t n_old;
        uint64_t old_members[VR_MAX_REPLICAS];
        uint64_t view;
        uint64_t last_normal_view;
        enum vr_status status;
        struct vr_entry *log; /* log[i].op == log_base + 1 + i */
        size_t log_n, log_cap;
        uint64_t *log_sum;    /* log_sum[i]: cost (vr_cost) of log[0..i], for the message budget */
        size_t log_sum_cap;
        uint64_t log_base;
        uint64_t commit;
        uint64_t applied;
        struct vr_client_table clients;

        /* Storage. */
        uint64_t next_seq;
        uint64_t durable_seq;
        uint64_t durable_op;    /* every entry up to here is durable */
        uint64_t view_meta_seq; /* the META that put us in this view/status */
        uint64_t meta_commit;   /* the commit number the last META recorded */
        struct vr_seq_mark *marks;
        size_t n_marks, cap_marks;

        /* Clock. */
        uint64_t now;
        uint64_t last_heard;      /* backup: last message from the primary */
        uint64_t timeout_jitter;
        uint64_t last_broadcast;  /* primary: last Prepare/Commit */
        uint64_t promise_until;   /* no votes before this tick */
        bool deposed;             /* restarted primary: never resumes its view */

        /* Primary of a normal view. */
        uint64_t acked[VR_MAX_REPLICAS];
        uint64_t grant[VR_MAX_REPLICAS];
        uint64_t prepared_op;
        uint64_t view_start_op;
        struct vr_msg *reads; /* lease reads waiting for a valid lease */
        size_t n_reads;

        /* Backup. */
        uint64_t lease_echo;
        uint64_t ok_sent_op;
        uint64_t ok_sent_view;
        uint64_t lease_sent;
        bool ok_sent_any;

        /* View change. */
        uint32_t svc_mask;
        struct vr_msg *dvc[VR_MAX_REPLICAS];
        uint32_t dvc_order[VR_MAX_REPLICAS];
        uint32_t n_dvc;
        bool dvc_sent;
        uint64_t vc_deadline;
        uint64_t vc_resend;

        /* Recovery. */
        uint64_t nonce;
        uint32_t rec_mask;
        uint64_t rec_view;
        struct vr_msg *rec_primary;
        uint64_t rec_resend;

        /* State transfer. */
        uint64_t seen_op;        /* highest op the primary of seen_view announced */
        uint64_t seen_view;
        struct vr_msg *early[VR_EARLY_PREPARES]; /* Prepares that arrived before their gap */
        uint64_t state_asked;
        uint64_t st_op;          /* checkpoint being received */
        uint8_t *st_buf;
        size_t st_len, st_total;
        uint64_t snap_op;        /* cached checkpoint served to others */
        uint8_t *snap_buf;
        size_t snap_len;

        /* Reconfiguration. */
        uint32_t confirmed;     /* members (bit per index) that sent EpochStarted */
        uint64_t announced;     /* tick of the last round of StartEpoch */
        uint32_t source_turn;   /* joining: whom it asks for state next */
        bool stopped;

        /* Checkpoints. */
        uint64_t ckpt_pending;  /* apply paused here until vr_checkpoint_take */
        uint64_t ckpt_taken;
        uint64_t checkpoint_op; /* newest durable */
        uint64_t ckpt_prev;
        uint64_t install_op;    /* a transferred checkpoint not yet durable here */
        bool install_unwritten; /* ... whose log is written only once it is taken */

        struct vr_stats stats;

        /* Outputs. */
        struct vr_record *records;
        size_t n_records, cap_records;
        struct vr_output *out;
        size_t n_out, cap_out;
        struct vr_held *held;
        size_t n_held, cap_held;
        /* Arrays a vr_ready gave back (vr_ready_done), reused by the next take. */
        struct vr_record *spare_records;
        size_t cap_spare_records;
        struct vr_output *spare_out;
        size_t cap_spare_out;
        bool status_changed;
        uint64_t reported_view;
        enum vr_status reported_status;
        uint64_t reported_epoch;
        bool reported_stopped;
};

static inline uint32_t vr_primary_of(const struct vr_replica *r, uint64_t view) {
        return (uint32_t) (view % r->cfg.n_replicas);
}

static inline bool vr_is_member(const struct vr_replica *r) {
        return r->cfg.self != VR_NO_INDEX;
}

/* Between epochs: a member still fetching the epoch's state, or a replica that left. */
static inline bool vr_transitioning(const struct vr_replica *r) {
        return r->status == VR_STATUS_TRANSITIONING;
}

static inline bool vr_is_primary(const struct vr_replica *r) {
        return r->status == VR_STATUS_NORMAL && !r->deposed &&
                vr_primary_of(r, r->view) == r->cfg.self;
}

static inline uint64_t vr_op(const struct vr_replica *r) {
        return r->log_base + r->log_n;
}

static inline struct vr_entry *vr_log_at(const struct vr_replica *r, uint64_t op) {
        if (op <= r->log_base || op > vr_op(r))
                return NULL;
        return &r->log[op - r->log_base - 1];
}

/* Whether the META that put us in the current view and status is durable: nothing that
 * depends on the view (acknowledgements, votes) may count before. */
static inline bool vr_view_durable(const struct vr_replica *r) {
        return r->view_meta_seq <= r->durable_seq;
}

/* Normal in a view whose log we have not received yet (we learned of the view from its
 * primary's messages, or its StartView did not connect to our log). Our log is still that of
 * last_normal_view and may diverge from the view's above our commit: we neither extend, apply
 * nor acknowledge it until state transfer replaces it. Derived from durable metadata, so it
 * survives a restart. */
static inline bool vr_log_stale(const struct vr_replica *r) {
        return r->status == VR_STATUS_NORMAL && r->last_normal_view < r->view;
}

/* Whether our storage alone would bring us back to where we are: no recovery in progress, no
 * hole below the log, no transferred checkpoint still on its way to disk. Only then may we
 * acknowledge anything, since an acknowledgement is a promise that survives a crash. */
static inline bool vr_self_sufficient(const struct vr_replica *r) {
        return r->status != VR_STATUS_RECOVERING && r->applied >= r->log_base && r->install_op == 0;
}

/* Whether a backup lacks what its primary has: a stale log, a hole below its log, or ops the
 * primary announced beyond its log. State transfer fills it. */
static inline bool vr_behind(const struct vr_replica *r) {
        if (r->status != VR_STATUS_NORMAL || vr_is_primary(r))
                return false;
        return vr_log_stale(r) || r->applied < r->log_base ||
                (r->seen_view == r->view && r->seen_op > r->log_base + r->log_n);
}

/* Bytes of entries one message may carry besides its data: the budget less the fixed part. */
static inline uint64_t vr_budget(const struct vr_replica *r) {
        return r->cfg.max_message_bytes - VR_MSG_FIXED_BYTES;
}

/* What an entry costs against the budget: its encoded bound, and never less than a share of the
 * budget that keeps a message within VR_MSG_MAX_ENTRIES entries. */
static inline uint64_t vr_cost(const struct vr_replica *r, const struct vr_entry *e) {
        uint64_t floor = (vr_budget(r) + VR_MSG_MAX_ENTRIES - 1) / VR_MSG_MAX_ENTRIES;
        uint64_t c = vr_entry_bytes(e);
        return c > floor ? c : floor;
}

/* Cost of the log entries after..upto (log_base <= after <= upto <= vr_op). */
static inline uint64_t vr_log_bytes(const struct vr_replica *r, uint64_t after, uint64_t upto) {
        uint64_t a = after > r->log_base ? r->log_sum[after - r->log_base - 1] : 0;
        uint64_t b = upto > r->log_base ? r->log_sum[upto - r->log_base - 1] : 0;
        return b - a;
}

static inline bool vr_promise_active(const struct vr_replica *r) {
        return r->now < r->promise_until;
}

uint64_t vr_random(struct vr_replica *r);

/* Outputs. */
int vr_emit_meta(struct vr_replica *r);
int vr_emit_truncate(struct vr_replica *r, uint64_t after);
int vr_emit_entry(struct vr_replica *r, const struct vr_entry *e);
/* Sends m once storage is durable up to wait_seq: a copy of it, sharing m's entries when m
 * borrows them and goes out at once (vr_msg_share), owning them otherwise. */
int vr_send(struct vr_replica *r, uint32_t to, const struct vr_msg *m, uint64_t wait_seq);
int vr_broadcast(struct vr_replica *r, const struct vr_msg *m, uint64_t wait_seq);
int vr_send_client(struct vr_replica *r, uint64_t client_id, const struct vr_msg *m);
/* Seq of the last record emitted (what a message depending on everything so far waits for). */
static inline uint64_t vr_last_seq(const struct vr_replica *r) {
        return r->next_seq - 1;
}
void vr_note_status(struct vr_replica *r);

/* Log. */
int vr_log_append(struct vr_replica *r, const struct vr_entry *e);
void vr_log_truncate(struct vr_replica *r, uint64_t after);
void vr_log_reset(struct vr_replica *r, uint64_t base);
void vr_log_drop_prefix(struct vr_replica *r, uint64_t upto);
/* Replaces everything above the committed prefix `keep` by entries[] (ops keep+1...),
 * writing only what differs from the current log. */
int vr_log_adopt(struct vr_replica *r, uint64_t keep, const struct vr_entry *entries, size_t n);
/* Appends (and writes) the entries of m that extend the log, ignoring those it already holds. */
int vr_log_extend(struct vr_replica *r, const struct vr_msg *m);
/* Copies the log above `after` into a message (its entries and n_entries): at most max
 * entries costing at most max_bytes. */
int vr_log_export(const struct vr_replica *r, uint64_t after, size_t max, uint64_t max_bytes, struct vr_msg *m);
/* The same entries, lent (m->entries_borrowed): they point into the log, valid until it changes. */
int vr_log_lend(const struct vr_replica *r, uint64_t after, size_t max, uint64_t max_bytes, struct vr_msg *m);
/* The longest suffix of the log that fits one message with room for `data` bytes: the op it
 * starts after (vr_op when not even one entry fits). */
uint64_t vr_log_fit(const struct vr_replica *r, uint64_t data);
/* Takes entries of m that are committed (op <= m->commit): below our log they are executed
 * straight into the state (a hole closes from below), in the log they replace ours from the
 * first that differs, beyond it they are appended. Our commit number covers what it took. */
int vr_take_committed(struct vr_replica *r, const struct vr_msg *m);

/* normal.c */
int vr_on_request(struct vr_replica *r, const struct vr_msg *m);
int vr_on_prepare(struct vr_replica *r, const struct vr_msg *m);
int vr_on_prepare_ok(struct vr_replica *r, const struct vr_msg *m);
int vr_on_commit(struct vr_replica *r, const struct vr_msg *m);
int vr_apply_committed(struct vr_replica *r);
/* Executes entry e (op applied + 1), pausing applying at a checkpoint boundary. */
int vr_apply_entry(struct vr_replica *r, const struct vr_entry *e);
int vr_advance_commit(struct vr_replica *r, uint64_t commit);
int vr_primary_flush(struct vr_replica *r);
int vr_primary_tick(struct vr_replica *r);
int vr_send_prepare_ok(struct vr_replica *r);
/* Learns the primary's commit number, applies, and acknowledges what is durable. */
int vr_backup_commit(struct vr_replica *r, uint64_t commit);
void vr_primary_reset(struct vr_replica *r);
int vr_serve_reads(struct vr_replica *r);
/* A message from the primary of a view we have not properly entered: join it and fetch state. */
int vr_enter_view_lagging(struct vr_replica *r, uint64_t view);

/* view_change.c */
int vr_start_view_change(struct vr_replica *r, uint64_t view);
int vr_on_start_view_change(struct vr_replica *r, const struct vr_msg *m);
int vr_on_do_view_change(struct vr_replica *r, const struct vr_msg *m);
int vr_on_start_view(struct vr_replica *r, const struct vr_msg *m);
int vr_view_change_tick(struct vr_replica *r);
/* NewState answering the would-be primary's fetch of committed ops (see complete()). */
int vr_on_view_change_state(struct vr_replica *r, const struct vr_msg *m);
void vr_view_change_reset(struct vr_replica *r);

/* recovery.c */
int vr_start_recovery(struct vr_replica *r);
int vr_on_recovery(struct vr_replica *r, const struct vr_msg *m);
int vr_on_recovery_response(struct vr_replica *r, const struct vr_msg *m);
int vr_recovery_tick(struct vr_replica *r);
void vr_recovery_reset(struct vr_replica *r);

/* state_transfer.c */
/* GetState to member id for what follows `have` (and the checkpoint transfer under way);
 * commit > 0 asks for committed state up to there only (vr_epoch_serve_state). */
int vr_ask_state(struct vr_replica *r, uint64_t id, uint64_t have, uint64_t commit);
int vr_request_state(struct vr_replica *r, bool now);
void vr_early_reset(struct vr_replica *r);
int vr_on_get_state(struct vr_replica *r, const struct vr_msg *m);
int vr_on_new_state(struct vr_replica *r, const struct vr_msg *m);
/* Stores one chunk of a checkpoint, installing it once whole: 0 (installed, or a bad checkpoint
 * dropped), VR_CHUNK_MORE, VR_CHUNK_IGNORED (not the chunk expected), or a negative errno. */
enum { VR_CHUNK_MORE = 1, VR_CHUNK_IGNORED = 2 };
int vr_receive_chunk(struct vr_replica *r, const struct vr_msg *m);
/* NewState carrying log entries (and a checkpoint, sent by send_chunk) up to `limit`. */
int vr_send_entries(struct vr_replica *r, const struct vr_msg *req, uint64_t limit);
int vr_send_chunk(struct vr_replica *r, const struct vr_msg *req, uint64_t limit);
void vr_state_transfer_reset(struct vr_replica *r);

/* epoch.c */
/* Index of member id in the current epoch, VR_NO_INDEX when it is none. */
uint32_t vr_member_index(const struct vr_replica *r, uint64_t id);
/* Sends m to a replica named by id (a member or not). */
int vr_send_id(struct vr_replica *r, uint64_t id, const struct vr_msg *m, uint64_t wait_seq);
/* Executes a committed reconfiguration entry (after its client-table bookkeeping). */
int vr_epoch_execute(struct vr_replica *r, const struct vr_entry *e, const uint64_t *members, uint32_t n);
/* Messages of other epochs, epoch messages, and anything reaching a transitioning replica. */
int vr_epoch_receive(struct vr_replica *r, const struct vr_msg *m);
int vr_epoch_tick(struct vr_replica *r);
/* A joining member whose state became durable starts the epoch. */
int vr_epoch_try_start(struct vr_replica *r);
/* A GetState from a joining member (commit: the op it needs): committed state only. */
int vr_epoch_serve_state(struct vr_replica *r, const struct vr_msg *m);
/* Whether f'+1 members (this one included when started) hold the epoch's state, as the
 * primary's acknowledgements tell. */
bool vr_epoch_confirmed_by_acks(const struct vr_replica *r);

/* checkpoint.c */
int vr_checkpoint_write(struct vr_replica *r, vr_sm_write_fn write, void *ctx);
int vr_checkpoint_read(struct vr_replica *r, vr_sm_read_fn read, void *ctx, uint64_t *op);
int vr_checkpoint_to_buffer(struct vr_replica *r, uint8_t **ret, size_t *ret_len);
/* Writes the log (and the view it belongs to) after a transferred checkpoint was taken. */
int vr_write_installed_log(struct vr_replica *r);
int vr_checkpoint_from_buffer(struct vr_replica *r, const uint8_t *buf, size_t len, uint64_t *op);
