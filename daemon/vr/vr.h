/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Viewstamped Replication replica core (Liskov & Cowling, "Viewstamped Replication
 * Revisited", 2012): one pure, deterministic state machine per replica. No sockets, clocks,
 * randomness or file I/O: a driver (the simulator, the daemon) feeds it inputs and carries out
 * what it asks for.
 *
 * Inputs: vr_receive() (a replica or client message), vr_tick() (one unit of the replica's
 * clock), vr_persisted() (storage: records up to seq are durable), vr_checkpoint_take() and
 * vr_checkpoint_durable() (the checkpoint handshake).
 * Outputs, drained with vr_ready_take(): records to persist (in order, seq increasing by one),
 * messages to send (to a replica index or a client id), the op at which a checkpoint must be
 * taken, and the current view/status/primary with a flag when they changed.
 *
 * What a driver may rely on:
 *  - Every message handed out is safe to send now: a message that depends on a record (a
 *    backup's PrepareOK on its entries, votes and DoViewChange on the view they belong to,
 *    RecoveryResponse on the responder's view) is held inside the core until vr_persisted()
 *    covers that record. The primary may send Prepare before its own write; it counts itself
 *    toward the f+1 acknowledgements only for entries its storage reported durable.
 *  - Messages may be lost, duplicated, reordered or delayed; the core retransmits on ticks.
 *  - Identical inputs give identical outputs (including timeout jitter, drawn from
 *    config->seed).
 *  - A checkpoint taken through vr_checkpoint_take() must be durable no later than the records
 *    handed out after that call (write it before them, or make them durable together): a
 *    transferred checkpoint's log is written only after it is taken, so storage always holds a
 *    log that continues its checkpoint.
 *  - Records are replayed by the core itself on restart (vr_replica_restart), so storage only
 *    keeps them in order: ENTRY appends at op (dropping any entry >= op), TRUNCATE drops every
 *    entry > after and, when after is beyond the log's end, restarts the log after `after`
 *    (this happens once a transferred checkpoint at `after` was installed), META replaces the
 *    metadata. Entries at or below meta.checkpoint_op may be reclaimed once that META is
 *    durable.
 *  - Storage damage policy: storage hands vr_replica_restart() the longest valid prefix of the
 *    records. Damage at the tail (nothing valid after it) is a torn write of a batch that was
 *    never reported durable: cut it and pass damaged = false. Damage in the middle (a bad record
 *    followed by valid ones) means an acknowledged record is gone: pass damaged = true and the
 *    newest valid metadata; the replica keeps its view (it may have voted in it), discards its
 *    log, and runs the §4.3 recovery protocol before it votes or acknowledges anything. A
 *    checkpoint that does not reach the log (a transfer installed but its checkpoint never
 *    became durable) is treated the same way.
 *  - A replica that restarted (from an intact journal or through recovery) forgot the lease
 *    promises it made, so it waits a full lease period before it votes for a view change; a
 *    replica that was primary never resumes as primary of its old view.
 *  - A replica acknowledges (PrepareOK, or counting itself as primary) only what its own
 *    storage would give back after a crash: never while recovering, while its state has a hole
 *    below its log, or while a transferred checkpoint is not yet durable.
 *  - A replica that learns of a newer view from its primary's messages, or whose StartView does
 *    not connect to its log, keeps its old log and last normal view (status normal, last normal
 *    view < view) until state transfer brings the view's log; meanwhile it neither extends,
 *    applies nor acknowledges anything. Truncating to the commit number instead would drop
 *    acknowledged ops, and claiming the new view with a partial log would let a view change
 *    prefer it over a complete one.
 *
 * Client sessions: a client opens a session with the command VR_REGISTER_CMD (a logged op);
 * the request number it carries becomes the session's latest. Each later request carries a
 * larger number. A retry of the latest request is answered from the client table, an older one
 * is dropped, and a request from a client the table does not know (never registered, or evicted
 * because the table was full: the client whose latest op is oldest goes, decided at apply time
 * so every replica agrees) is answered VR_REPLY_SESSION_EXPIRED without being executed. A client
 * that sees that error must register again under a new client id. The table is part of every
 * checkpoint.
 *
 * Reconfiguration (§7): a client asks for it with VR_RECONFIGURE_CMD (vr/msg.h), a logged op of
 * epoch e. Executing it ends epoch e at that op n (the primary takes no request after it): every
 * replica that executes it enters epoch e+1 with the new member list. Views restart at 0 in each
 * epoch; op numbers continue. What a driver may rely on:
 *  - vr_ready reports the epoch, its members and whether this replica is one (status_changed
 *    marks a change). Messages go to member ids (vr_output.to_id), possibly outside the current
 *    epoch; a driver routes by id and delivers whatever arrives for its replica of the group.
 *    m->from is the sender's index in the epoch m->epoch names (VR_NO_INDEX from a replica that
 *    left it); m->sender its id, which the core itself uses for the epoch messages below.
 *  - A replica of epoch e that is also in e+1 goes on as a member (view 0) at once. A new member
 *    is started by the driver with config.joining, epoch e+1 and the new members (any time: it
 *    waits): it stays TRANSITIONING, acknowledges and votes for nothing, learns n and the old
 *    members from StartEpoch, fetches the committed state up to n by state transfer from any
 *    replica that holds it, and becomes NORMAL in view 0 once that state is durable.
 *  - Every replica that holds the state up to n sends StartEpoch to the members that have not
 *    confirmed it (EpochStarted, sent only by members whose state is durable), so new members
 *    always hear of the epoch. A replica of epoch e that is not in e+1 stays TRANSITIONING,
 *    serving state, and stops (vr_ready.stopped) once f'+1 members of e+1 confirmed: then and only
 *    then may the driver delete its storage; it may keep the object to answer clients.
 *  - A message of an older epoch is answered with StartEpoch, so that a straggler moves on: as a
 *    joining member when it is in the newer epoch, as a replica that left otherwise (it stops
 *    once the new epoch confirms). A replica that hears of a newer epoch it belongs to catches up
 *    the same way.
 *  - Clients: a replica that left answers any request with VR_REPLY_NEW_EPOCH carrying the epoch
 *    and members; VR_REPLY_NOT_PRIMARY carries them too. The reconfiguration's own reply comes
 *    from the new epoch's primary once f'+1 members hold the state (a retry of the request).
 *  - The epoch, its members, the old members and n are in every META (vr_meta), so a restart at
 *    any point resumes the reconfiguration where it was.
 *
 * Message budget: no message the core emits costs more than config.max_message_bytes
 * (vr_msg_bytes(), an upper bound on its protobuf encoding), however long the log and whatever
 * the values; a driver sets it to its frame limit less its envelope. How, and why it is safe
 * and live (§5.2, §5.3 of the paper: send only a suffix of the log):
 *  - DoViewChange, StartView and RecoveryResponse carry the longest suffix of the log that
 *    fits. Safety does not need more: the new primary adopts the best log only above its own
 *    commit number, and only when that log starts at or below it (its ops up to its commit
 *    number are committed, hence equal to everyone's). Which log is best is decided by the
 *    sender's whole log, (last_normal_view, op), as before: that log holds every op that may
 *    have committed, and the part the new primary takes from it is in the suffix sent.
 *  - So that the suffix above the commit number always fits: the primary keeps at most half a
 *    message of uncommitted log (a request beyond waits for commits; a command that alone
 *    exceeds half the budget is answered VR_REPLY_TOO_LARGE); a backup appends no more than one
 *    message above what it knows to be committed (the rest comes by state transfer); and every
 *    replica records its commit number in a META once a quarter message more is committed,
 *    so that after a restart the log above the commit number it reads back still fits.
 *  - A would-be primary whose best log starts above its commit number (or whose state has a
 *    hole) asks the DoViewChange sender with the highest commit number for the committed ops
 *    it lacks (GetState with commit, answered with committed state only, in pieces), takes
 *    them, and completes the view. Only if no sender knows enough does the timeout move on.
 *  - State transfer sends the sender's log in prefixes that fit (NewState.log_end names the
 *    sender's end). A prefix is used only up to the sender's commit number: committed entries
 *    replace ours from the first that differs (an op number is assigned once per view, so a
 *    differing one proves ours uncommitted), and below our log they are executed straight into
 *    the state, closing a hole from below without shortening the log (a replica whose log
 *    claims a view must never hold less of it than it did). A hole closed that way, like a
 *    checkpoint installed below the log, counts as a transfer not yet durable until a
 *    checkpoint at that op is. A stale log is replaced only by a transfer that brings the view's
 *    log to the sender's end; a checkpoint whose last chunk cannot carry it starts over.
 *
 * Reads: with reads_through_log they are ordinary logged ops. Otherwise the primary answers a
 * read-only command (sm is_read_only) from its applied state, without a log write, only while
 * its lease holds: f backups acknowledged a Prepare/Commit the primary sent at its tick t, and
 * now - t < (lease_ticks - 2) * (1 - d) / (1 + d) with d = drift_ppm / 1e6 the bound on each
 * clock's rate error; and only once it has committed every op of its log from the start of its
 * view. A backup that acknowledged a lease stamp does not join or start a view change until
 * lease_ticks of its own clock passed. Lease reads never change the client table.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vr/msg.h"
#include "vr/record.h"
#include "vr/sm.h"

/* The smallest message budget vr_config_check() accepts. */
#define VR_MIN_MESSAGE_BYTES 2048u

/* A replica index that names no member (a replica that left its group). */
#define VR_NO_INDEX UINT32_MAX

struct vr_config {
        uint32_t n_replicas;         /* 2f+1, at most VR_MAX_REPLICAS */
        uint32_t self;               /* this replica's index */
        uint64_t epoch;
        /* Stable member ids, index order (vr_config_default: 0...n-1). members[self] is this
         * replica's identity for good: after a reconfiguration its index is its place in the new
         * epoch's list, which its metadata records and a restart takes over. */
        uint64_t members[VR_MAX_REPLICAS];
        bool joining;                /* new in `epoch`: holds no state yet (see Reconfiguration) */
        uint32_t heartbeat_ticks;    /* primary sends Commit after this much idleness */
        uint32_t view_change_ticks;  /* silence from the primary before suspecting it */
        uint32_t jitter_ticks;       /* random extra added to view_change_ticks per view */
        uint32_t lease_ticks;        /* 0: no leases (reads must go through the log) */
        uint32_t drift_ppm;          /* bound on any clock's rate error */
        bool reads_through_log;
        uint32_t checkpoint_interval; /* ops between checkpoints, 0: never */
        uint32_t max_batch;          /* entries per Prepare */
        uint32_t client_table_size;  /* sessions kept */
        uint32_t state_chunk;        /* bytes of checkpoint per NewState */
        /* No message the core emits costs more than this (vr_msg_bytes(), an upper bound on its
         * encoded size): see Message budget. At least VR_MIN_MESSAGE_BYTES. */
        uint32_t max_message_bytes;
        uint64_t seed;               /* timeout jitter */
};

/* Fills in defaults for n replicas, replica self. */
void vr_config_default(struct vr_config *c, uint32_t n, uint32_t self);
/* -EINVAL when the config cannot work (even replica count, self out of range, lease not shorter
 * than the view-change timeout, ...). */
int vr_config_check(const struct vr_config *c);

struct vr_replica;

/* A replica of a brand-new group: view 0, empty log. */
int vr_replica_new(const struct vr_config *c, const struct vr_sm_ops *ops, void *sm,
                   struct vr_replica **ret);

struct vr_durable {
        const struct vr_record *records; /* the valid prefix, in order */
        size_t n_records;
        uint64_t next_seq;               /* seq of the next record to write */
        bool damaged;                    /* valid records followed a bad one */
        bool have_meta;
        struct vr_meta meta;             /* newest valid metadata (also when damaged) */
        uint64_t checkpoint_op;          /* 0: no checkpoint */
        vr_sm_read_fn checkpoint_read;   /* reads the checkpoint written by vr_checkpoint_take */
        void *checkpoint_ctx;
};

/* A replica restarting from what its storage holds. When that is damaged (or shows that a
 * transfer was interrupted), it runs recovery with `nonce`, which must differ from every
 * nonce this replica used before. -EBADMSG when the checkpoint cannot be restored. */
int vr_replica_restart(const struct vr_config *c, const struct vr_sm_ops *ops, void *sm,
                       const struct vr_durable *d, uint64_t nonce, struct vr_replica **ret);

void vr_replica_free(struct vr_replica *r);

/* -EINVAL for a sender index out of range (or ourselves), -EBADMSG for a message whose entries
 * are not consecutive ops ending at its op; either way nothing changes. */
int vr_receive(struct vr_replica *r, const struct vr_msg *m);
int vr_tick(struct vr_replica *r);
int vr_persisted(struct vr_replica *r, uint64_t seq);

/* Applying is paused at ready.checkpoint_op until the driver calls this; it streams the
 * checkpoint (client table + state machine) through write. */
int vr_checkpoint_take(struct vr_replica *r, vr_sm_write_fn write, void *ctx);
/* The same, into a malloc()ed buffer. */
int vr_checkpoint_take_buffer(struct vr_replica *r, uint8_t **ret, size_t *ret_len);
/* The checkpoint at op is durable: the core records it and drops log entries it covers. */
int vr_checkpoint_durable(struct vr_replica *r, uint64_t op);

struct vr_output {
        bool to_client;
        /* When !to_client: the destination's member id (route by it: it may be a replica of
         * another epoch) and its index in the sender's current epoch, VR_NO_INDEX when it is not a
         * member of it. */
        uint64_t to_id;
        uint32_t replica;
        uint64_t client_id; /* when to_client */
        /* msg is the same as the previous output's (one broadcast to several replicas): a
         * driver may encode it once for all of them. */
        bool same_msg;
        struct vr_msg msg;
};

struct vr_ready {
        struct vr_record *records;
        size_t n_records;
        struct vr_output *msgs;
        size_t n_msgs;
        uint64_t checkpoint_op; /* nonzero: call vr_checkpoint_take() */
        bool status_changed;    /* also set when the epoch changed or the replica stopped */
        uint64_t view;
        enum vr_status status;
        uint32_t primary;
        uint64_t epoch;
        uint32_t n_members;     /* the epoch's members, ids in index order */
        const uint64_t *members; /* valid until the next input */
        bool member;            /* this replica is one of them */
        bool stopped;           /* left the group for good: see Reconfiguration */
        /* Internal: vr_ready_done() gives the arrays back to the replica, whose next take
         * reuses them instead of growing new ones from empty. */
        struct vr_replica *owner;
        size_t cap_records, cap_msgs;
};

/* Moves everything pending into *ret, which the caller releases with vr_ready_done() before it
 * frees the replica. The Prepares among the messages borrow their entries from the replica's log
 * (msg.entries_borrowed) rather than copying them: they stay valid until the next input that may
 * change the log, i.e. any input but vr_checkpoint_take() and vr_checkpoint_take_buffer(). A
 * driver sends them before its next input, or keeps a vr_msg_copy(). */
int vr_ready_take(struct vr_replica *r, struct vr_ready *ret);
void vr_ready_done(struct vr_ready *rd);

/* Introspection for drivers, status displays and the simulator's invariant checks. */
uint64_t vr_replica_view(const struct vr_replica *r);
uint64_t vr_replica_epoch(const struct vr_replica *r);
/* The op that ended the previous epoch (0 in epoch 0, or while a joining replica waits to
 * learn it). */
uint64_t vr_replica_epoch_op(const struct vr_replica *r);
/* Whether the replica is a member of its epoch holding the epoch's state durably (what its
 * EpochStarted promises). */
bool vr_replica_epoch_started(const struct vr_replica *r);
bool vr_replica_stopped(const struct vr_replica *r);
enum vr_status vr_replica_status(const struct vr_replica *r);
uint64_t vr_replica_op(const struct vr_replica *r);
uint64_t vr_replica_commit(const struct vr_replica *r);
uint64_t vr_replica_applied(const struct vr_replica *r);
uint64_t vr_replica_checkpoint(const struct vr_replica *r);
bool vr_replica_is_primary(const struct vr_replica *r);
/* Counters since this replica object was created, for status displays and the simulator's
 * evidence that each path ran. */
struct vr_stats {
        uint64_t lease_reads;       /* reads answered by the primary without a log write */
        uint64_t views_started;     /* view changes completed as the new primary */
        uint64_t recoveries;        /* §4.3 recoveries completed */
        uint64_t checkpoints;       /* checkpoints taken */
        uint64_t state_installs;    /* checkpoints received by state transfer and installed */
        uint64_t log_transfers;     /* NewState with log entries only, applied */
        uint64_t epochs_started;    /* epochs this replica entered holding their state */
};
const struct vr_stats *vr_replica_stats(const struct vr_replica *r);

/* Whether the replica still depends on its peers to be whole again (recovering, or waiting
 * for a transferred checkpoint to be durable): it acknowledges nothing meanwhile. */
bool vr_replica_needs_repair(const struct vr_replica *r);
/* The log entry at op, or NULL when not held in memory. */
const struct vr_entry *vr_replica_entry(const struct vr_replica *r, uint64_t op);

#include "util/cleanup.h"
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vr_replica *, vr_replica_free)
