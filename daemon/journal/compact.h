/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One rewrite of a journal file (journal.h) into a compacted file of the next generation, built
 * while the old file keeps growing, so that batches are not held back for the time it takes.
 *
 * The old file is append-only, so its bytes below its durable end never change: the image of
 * [0, cut) is built from them (read, scanned, compacted) and written to "<new name>.tmp", and the
 * records appended to the old file since are then carried over to the new file after the image, in
 * rounds, each round re-placed (new generation, batch 0, the new file's chain). Replaying image +
 * carried records yields what replaying the old file does, because the image replays as the
 * state of [0, cut) and the carried records are the same records in the same order.
 *
 * Carried records take batch 0 like the image: the new file only becomes current after it was
 * synced whole, so they are durable as a whole too (format.h's recovery contract). SEAL records
 * are not carried (their only use is their batch number in the old file). Damage in a carried
 * range (rot after the write) fails the rewrite: the old file stays current and says what it says.
 *
 * Crash safety: the new file is only a .tmp (deleted by the next open) until install(), which
 * syncs it, renames it to its name and syncs the directory; from then on open keeps it (the highest
 * generation), and it holds everything the old file held. The caller must carry every durable
 * record of the old file (nothing may be written to the old file between the last carry and
 * install) and switch to the returned fd before it writes any further batch.
 *
 * Functions return 0 or a negative errno; none takes a lock: one thread at a time drives a
 * compaction, while another may append to the old file beyond what it reads.
 */

#include <stdint.h>

struct vs_compaction;

/* Starts a rewrite of the file open as old_fd (left open, not written) in dir_fd, into the file of
 * `generation` for cluster_id/node_id. Only allocates. */
int vs_compaction_new(int dir_fd, int old_fd, uint64_t generation, uint64_t cluster_id, uint64_t node_id,
                      struct vs_compaction **ret);
/* Builds and writes the image of the old file's first cut bytes (a durable end). */
int vs_compaction_build(struct vs_compaction *c, uint64_t cut);
/* Carries the old file's records up to end (a later durable end) over to the new file. */
int vs_compaction_carry(struct vs_compaction *c, uint64_t end);
/* The old file's bytes read so far: what the next carry starts from. */
uint64_t vs_compaction_carried(const struct vs_compaction *c);
/* Flushes the new file's data so that install() has little left to sync. */
int vs_compaction_sync(struct vs_compaction *c);
/* Makes the new file the journal (see above) and hands over its fd. -ENOTRECOVERABLE after the
 * rename when the directory sync failed: either file may be current after a crash, so the caller
 * must stop writing both; any other error leaves the old file current. */
int vs_compaction_install(struct vs_compaction *c, int *ret_fd);
/* The new file's size; of it, the compacted image's (without carried records); and the seq its
 * next record of tenant continues the chain from (0 if it holds none of the tenant's). */
uint64_t vs_compaction_size(const struct vs_compaction *c);
uint64_t vs_compaction_image_size(const struct vs_compaction *c);
uint64_t vs_compaction_chain(const struct vs_compaction *c, uint64_t tenant);
/* Deletes the tenants' checkpoint files that the image's metadata made obsolete; logs failures. */
void vs_compaction_prune(const struct vs_compaction *c);
/* Frees; a new file not installed is deleted. */
void vs_compaction_free(struct vs_compaction *c);
