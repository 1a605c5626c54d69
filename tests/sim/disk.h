/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulator's disk for one replica: the core's records, each with a checksum, and its
 * checkpoint. Fault model (and the only faults injected):
 *  - a crash loses every write not yet reported durable, except that a random prefix of them may
 *    have reached the platter and the first write after that prefix may be torn;
 *  - bit rot hits only durable log records (ENTRY, TRUNCATE) that have a later durable record
 *    after them, so a scan always tells rot (damage followed by valid records) from a torn tail.
 *    Rot of the very last durable record would look like a torn write without redundant
 *    headers, and metadata is kept in the journal's alternating slots, so neither is injected
 *    (future work);
 *  - checkpoints become durable atomically at a sync, or are lost by a crash before it; writes
 *    are ordered, so a record written after a checkpoint never survives without it (the
 *    contract in vr.h: the driver makes a checkpoint durable before any later record).
 * On load, the scan keeps the longest valid prefix, cuts a torn tail, and on rot drops
 * everything from the hole on but keeps the newest valid metadata (as the journal does), then
 * reports damage so the replica recovers from its peers; it keeps reporting it until the
 * replica's own record of being in recovery is durable.
 *
 * This is a seam: the journal's pure encoder and scan (daemon/journal/format.h) will replace
 * the record store here so that the simulator runs the journal's own recovery code.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "vr/vr.h"

struct disk_rec {
        struct vr_record rec;
        uint64_t sum;
        bool durable;
};

struct disk_blob {
        uint64_t op;
        size_t after_n; /* records written before it */
        uint8_t *buf;
        size_t len;
        uint64_t sum;
};

struct disk {
        struct disk_rec *recs;
        size_t n, cap;
        uint64_t next_seq;
        struct disk_blob ckpt;     /* durable, op 0: none */
        struct disk_blob pending;  /* written, not yet synced */
        bool pending_in_sync;
        uint64_t sync_target;      /* 0: no sync in flight */
        bool hole;                 /* damage was cut and the replica has not durably begun its
                                    * recovery yet: every load reports damage (the journal's
                                    * MISSING record) */
};

/* The loaded state handed to vr_replica_restart(); records point into the disk. */
struct disk_load {
        struct vr_durable d;
        struct vr_record *records;
        size_t read_pos;
        const struct disk_blob *ckpt;
        bool cut_tail;
};

void disk_done(struct disk *d);
int disk_append(struct disk *d, const struct vr_record *recs, size_t n);
int disk_write_checkpoint(struct disk *d, uint64_t op, uint8_t *buf, size_t len);
/* Starts a sync of everything written so far; returns its target seq (0: nothing to sync). */
uint64_t disk_sync_begin(struct disk *d);
/* The sync to target completed: returns the op of a checkpoint that became durable, or 0. */
uint64_t disk_sync_end(struct disk *d, uint64_t target);
void disk_crash(struct disk *d, struct prng *p);
bool disk_rot(struct disk *d, struct prng *p);
int disk_load(struct disk *d, struct disk_load *ret);
void disk_load_done(struct disk_load *l);
