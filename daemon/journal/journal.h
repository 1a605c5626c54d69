/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node's durable journal: every tenant's vr_records (vr/record.h) in one file, written by group
 * commit from an I/O thread, recovered on open by the scan in journal/format.h.
 *
 * One node-wide journal rather than one per tenant, by measurement (bench-journal, ext4 on the
 * project's virtio disk): a batch costs about one fdatasync whatever its size, so 100 tenants
 * sharing the file pay one sync per event-loop turn (100 tenants x 1 record per turn: 260k-475k
 * records/s over several runs), while one file per tenant pays 100 syncs per turn for the same work
 * (1.3k-7.4k records/s, 0.5-1.6% of it). 100 tenants taking turns in batches reach 92-225% of one
 * tenant's records/s at the same batch size. The shared file's price, a hole whose owner is unknown, is bounded by the
 * per-tenant prev_seq chain (format.h).
 *
 * State directory layout (default /var/lib/viewstamp):
 *   (the directory itself)          flock()ed while a journal is open: one writer per directory
 *   journal-<generation:016x>.vsj   the journal (format.h); the highest generation is current.
 *                                   Up to 1 MiB of zeros past the records is preallocated space
 *                                   (batches overwrite it, so fdatasync commits no size change).
 *   checkpoint-<tenant:016x>-<op:016x>.vsc   checkpoints (journal/checkpoint.h)
 *   *.tmp                           unfinished rewrites and checkpoints, deleted on open
 *
 * Contract:
 *  - vs_journal_open() refuses, with a negative errno and a message, a missing (-ENOENT) or
 *    unwritable (-EACCES, -EROFS) directory, one locked by another process (-EBUSY), a foreign file
 *    (-EMEDIUMTYPE), a newer format (-EPROTONOSUPPORT), a journal of another cluster or node
 *    (-EXDEV), an unreadable header (-EBADMSG); it changes nothing on disk when it refuses.
 *  - On success it has recovered: torn tails are cut (truncated away), holes are logged and kept as
 *    explicit MISSING records by an immediate rewrite, and vs_journal_recovery() describes each
 *    tenant's state (its metadata, entries, missing_from, max_seq) until vs_journal_recovery_done().
 *  - vs_journal_append() only encodes into memory (never blocks on I/O). Records of one tenant must
 *    come with increasing seqs; they are written in append order. The caller ends each event-loop
 *    turn with vs_journal_commit(): everything appended since the last batch goes to disk with one
 *    write and one fdatasync, across tenants, while the caller keeps running (or, with
 *    vs_journal_commit_here() and an idle I/O thread, on the caller's thread).
 *  - When a batch is durable the journal's eventfd (vs_journal_fd()) becomes readable; then
 *    vs_journal_dispatch() calls back "tenant T durable up to seq S", once per tenant per batch, in
 *    order. Only after that callback may the core act on those records.
 *  - Out of space (a real ENOSPC/EDQUOT, or the max_bytes limit): the batch is not made durable, the
 *    file is cut back to its last durable end, the callback reports -ENOSPC for the tenants waiting
 *    (their durable seq does not move, so they stop acknowledging), and the batch is retried every
 *    second and at each commit, in order, until space returns; appends keep queueing in memory up
 *    to max_pending bytes, then fail with -ENOBUFS. Nothing already durable is touched.
 *  - Any other write or sync error is fatal for this journal instance (after a failed fdatasync the
 *    page cache cannot be trusted): callbacks and later appends report it, and the daemon must
 *    reopen (i.e. restart), which recovers from what is really on disk.
 *  - The file is rewritten (compacted) when it exceeds max(compact_bytes, twice the image the
 *    last rewrite kept): each tenant keeps its metadata and its entries above its checkpoint op
 *    (journal/checkpoint.h), and its checkpoint files older than that op are deleted, so disk use
 *    is bounded under steady load as long as tenants checkpoint. A compactor thread builds the new
 *    file beside the old one while batches go on being written and reported durable
 *    (journal/compact.h); only the switch holds batches back, for one small write and three syncs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/checkpoint.h"
#include "journal/format.h"
#include "vr/record.h"

#define VS_JOURNAL_DEFAULT_DIR "/var/lib/viewstamp"

struct vs_journal_options {
        const char *dir;          /* NULL: VS_JOURNAL_DEFAULT_DIR */
        uint64_t cluster_id;
        uint64_t node_id;
        uint64_t max_bytes;       /* 0: no limit of our own */
        uint64_t compact_bytes;   /* 0: 64 MiB */
        uint64_t max_pending;     /* 0: 256 MiB */
};

struct vs_journal;

/* Errors described in the header comment; err (may be NULL) receives a one-line explanation. */
int vs_journal_open(const struct vs_journal_options *o, struct vs_journal **ret, char *err, size_t errlen);
/* Waits for the I/O thread to finish the batch in flight and seals the journal (format.h: SEAL);
 * records not yet taken by the I/O thread are dropped (they were never reported durable). */
void vs_journal_close(struct vs_journal *j);

/* Whether open found no journal and created an empty one. A node that should have state (it was
 * a replica before) and gets true here lost its disk: its replicas must recover from their peers
 * (vr/vr.h's damaged restart), not start as brand-new members. */
bool vs_journal_created(const struct vs_journal *j);
const struct vs_scan *vs_journal_recovery(const struct vs_journal *j);
void vs_journal_recovery_done(struct vs_journal *j);

/* 0; -EINVAL for a malformed record or a seq not above the tenant's last; -EMSGSIZE; -ENOBUFS while
 * out of space with max_pending queued; the fatal error once the journal has failed. Changes nothing
 * on error. */
int vs_journal_append(struct vs_journal *j, uint64_t tenant, const struct vr_record *r);
void vs_journal_commit(struct vs_journal *j);

/* Deletes a tenant durably: queues a FORGET record (format.h) after the tenant's last, whose seq
 * is returned and reported durable through dispatch like any record. Once it is durable, recovery
 * no longer returns the tenant (a node restarting does not bring it back), the next rewrite drops
 * its records, and its checkpoint files may be removed (vs_checkpoint_prune(dir, tenant,
 * UINT64_MAX); the next rewrite removes them too). The caller appends nothing more for the
 * tenant. Errors as vs_journal_append(). */
int vs_journal_forget(struct vs_journal *j, uint64_t tenant, uint64_t *ret_seq);

int vs_journal_fd(const struct vs_journal *j);

/* Queues the tenant's checkpoint at op (len bytes of snapshot, as vr/sm.h streams it; the journal
 * takes ownership of the malloc()ed data) to be written by the I/O thread as a checkpoint file
 * (journal/checkpoint.h) before any record appended after this call, with the next commit, and
 * reported through dispatch's checkpoint callback. Errors as vs_journal_append(); -EINVAL for op 0;
 * on error the caller keeps the data. */
int vs_journal_checkpoint(struct vs_journal *j, uint64_t tenant, uint64_t op, uint8_t *data, size_t len);
/* Opens the tenant's checkpoint at op for restore (vs_checkpoint_read() streams it). */
int vs_journal_checkpoint_open(struct vs_journal *j, uint64_t tenant, uint64_t op,
                               struct vs_checkpoint_reader **ret);

/* error is 0 (seq is now durable) or a negative errno (seq is the tenant's last durable seq). */
typedef void (*vs_journal_durable_fn)(void *ctx, uint64_t tenant, uint64_t seq, int error);
/* error is 0 (the checkpoint file is durable) or a negative errno. */
typedef void (*vs_journal_checkpoint_fn)(void *ctx, uint64_t tenant, uint64_t op, int error);
/* Drains the eventfd and reports completions in the order they happened (a batch's checkpoints
 * before its records). checkpoint_fn may be NULL. Returns how many were reported. */
int vs_journal_dispatch(struct vs_journal *j, vs_journal_durable_fn fn, vs_journal_checkpoint_fn checkpoint_fn,
                        void *ctx);

/* How many records and checkpoints were appended since the last commit. */
size_t vs_journal_batch_size(struct vs_journal *j);
/* As vs_journal_commit(), but when the I/O thread is idle and the batch is only records, writes
 * and syncs it on the calling thread (blocking it for one write and one fdatasync) and reports
 * its completions (and any others ready) through the callbacks before returning, as
 * vs_journal_dispatch() would, without the eventfd. For a caller with nothing else to do
 * meanwhile: it saves the hand-off to the I/O thread and back, two thread wake-ups per batch, and
 * a loop iteration. Whatever else is in progress (a batch in flight, a retry for space, a
 * rewrite's switch, checkpoints) makes it hand the batch over like vs_journal_commit(), and then
 * it calls nothing. Returns 1 if it wrote the batch itself, 0 if it handed it over. */
int vs_journal_commit_here(struct vs_journal *j, vs_journal_durable_fn fn, vs_journal_checkpoint_fn checkpoint_fn,
                           void *ctx);

/* Raises or lowers max_bytes (0: no limit); a batch waiting for space is retried at once. */
void vs_journal_set_max_bytes(struct vs_journal *j, uint64_t max_bytes);
/* Current size of the journal file in bytes, as durable. */
uint64_t vs_journal_size(struct vs_journal *j);

struct vs_journal_stats {
        uint64_t rewrites;      /* rewrites completed since open (the one open may do included) */
        bool rewriting;         /* a rewrite is being built now */
};
void vs_journal_stats(struct vs_journal *j, struct vs_journal_stats *ret);
