/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulator's disk for one replica: a journal file holding the journal's real bytes
 * (daemon/journal/format.h, one tenant), recovered by the journal's own scan, plus the
 * replica's checkpoint. Each sync writes the records appended since the last one as one batch,
 * as the journal's I/O thread does, and reports them durable when it completes.
 *
 * Fault model (the only faults injected):
 *  - a crash loses the batch being written except for a prefix of its bytes, which may end in
 *    the middle of a record (a torn write), and everything not yet handed to a sync;
 *  - bit rot hits only durable log records (ENTRY, TRUNCATE) followed by an intact record of a
 *    later durable batch, so the scan can tell rot (a hole) from a torn write. Rot of the very
 *    last durable batch looks like a torn write (the journal's SEAL batches narrow that window;
 *    the simulator does not write them) and metadata rot is left to the journal's own tests, so
 *    neither is injected;
 *  - checkpoints become durable at a sync, or survive a crash only together with a record
 *    written after them (writes are ordered: vr.h's checkpoint contract).
 * On load the journal scan decides what survives; the file is then rewritten as the scanned
 * image (which keeps an unrepaired hole as a MISSING record), as the journal does on open.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "util/buf.h"
#include "vr/vr.h"

struct disk_blob {
        uint64_t op;
        size_t after;   /* bytes of journal written before it */
        uint8_t *buf;
        size_t len;
        uint64_t sum;
};

struct disk {
        struct vs_buf file;     /* the journal file, header first */
        struct vs_buf next;     /* records appended since the last sync began */
        size_t durable_len;
        size_t sync_len;        /* file length the sync in flight makes durable */
        bool syncing;
        uint64_t generation, batch, chain, next_seq;
        struct disk_blob ckpt;     /* durable, op 0: none */
        struct disk_blob pending;  /* written, not yet durable */
        bool pending_in_sync;
};

/* What a restart is handed; records point into `old`, kept until the replica copied them. */
struct disk_load {
        struct vr_durable d;
        struct vr_record *records;
        struct vs_buf old;
        const struct disk_blob *ckpt;
        size_t read_pos;
};

void disk_done(struct disk *d);
int disk_append(struct disk *d, const struct vr_record *recs, size_t n);
/* Takes ownership of buf. */
int disk_write_checkpoint(struct disk *d, uint64_t op, uint8_t *buf, size_t len);
/* Whether a sync is due: records or a checkpoint are waiting and none is in flight. */
bool disk_sync_due(const struct disk *d);
/* Starts a sync of everything appended so far; returns the seq it makes durable (0: only a
 * checkpoint). */
uint64_t disk_sync_begin(struct disk *d);
/* The sync completed: returns the op of a checkpoint that became durable, or 0. */
uint64_t disk_sync_end(struct disk *d);
void disk_crash(struct disk *d, struct prng *p);
bool disk_rot(struct disk *d, struct prng *p);
int disk_load(struct disk *d, struct disk_load *ret);
void disk_load_done(struct disk_load *l);
