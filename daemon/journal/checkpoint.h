/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Checkpoints: a tenant's state-machine snapshot (vr/sm.h) at an op number, in its own file in the
 * state directory, named checkpoint-<tenant:016x>-<op:016x>.vsc.
 *
 * Format version 1 (little-endian, checksums are vs_checksum()):
 *   header, 64 bytes: 0 magic "VSCHECK\0", 8 u32 version, 12 u32 0, 16 u64 cluster id,
 *                     24 u64 tenant, 32 u64 op, 40 16 bytes 0, 56 u64 checksum of bytes 0..55
 *   the snapshot bytes, as streamed by vr_sm_ops.snapshot()
 *   trailer, 16 bytes: u64 snapshot length, u64 checksum of the snapshot bytes
 *
 * Contract:
 *  - vs_checkpoint_write() is atomic: after a crash the file either does not exist or is whole
 *    (temporary file, fdatasync, rename, directory fsync). It blocks on I/O: the daemon runs it off
 *    its event loop. Only once it returned 0 may the core persist metadata naming this checkpoint
 *    op; only once that metadata is durable may older checkpoints be pruned and the journal drop
 *    the entries at or below it (journal.h does so at its next rewrite).
 *  - vs_checkpoint_open() verifies the whole file (header, identity, length, checksum) before the
 *    first byte is handed out, so restore() never sees unproven bytes: -ENOENT if missing, -EBADMSG
 *    if damaged or truncated, -EMEDIUMTYPE if not a checkpoint, -EPROTONOSUPPORT if newer, -EXDEV
 *    if it belongs to another cluster, tenant or op.
 */

#include <stdint.h>

#include "vr/sm.h"

struct vs_checkpoint_id {
        uint64_t cluster_id;
        uint64_t tenant;
        uint64_t op;
};

/* Streams the snapshot produced by snapshot(sm, ...) into a new checkpoint file. */
int vs_checkpoint_write(int dir_fd, const struct vs_checkpoint_id *id,
                        int (*snapshot)(void *sm, vr_sm_write_fn write, void *ctx), void *sm);

struct vs_checkpoint_reader;

int vs_checkpoint_open(int dir_fd, const struct vs_checkpoint_id *id, struct vs_checkpoint_reader **ret);
/* A vr_sm_read_fn over the verified snapshot bytes; ctx is the reader. */
int vs_checkpoint_read(void *ctx, void *buf, size_t len);
uint64_t vs_checkpoint_length(const struct vs_checkpoint_reader *r);
void vs_checkpoint_close(struct vs_checkpoint_reader *r);

/* Deletes the tenant's checkpoints below keep_op. Returns how many were removed, or a negative errno. */
int vs_checkpoint_prune(int dir_fd, uint64_t tenant, uint64_t keep_op);

/* Verifies a checkpoint file by name (the offline tool's check): its identity is taken from the
 * name and the header. 0 or the errors of vs_checkpoint_open(). */
int vs_checkpoint_verify(int dir_fd, const char *name, uint64_t *ret_cluster_id, uint64_t *ret_length);
