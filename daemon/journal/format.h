/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The journal's on-disk encoding and its recovery scan, with no file I/O: the daemon's file layer
 * and the simulator's disk both keep these exact bytes and run this exact scan, so one piece of code
 * decides what survives a crash.
 *
 * Format version 1 (all integers little-endian, every checksum is vs_checksum() from
 * util/checksum.h):
 *
 *   file header, 64 bytes at offset 0:
 *     0  magic "VSJOURN\0"     8  u32 version (1)     12 u32 reserved (0)
 *     16 u64 cluster id        24 u64 node id         32 u64 generation
 *     40 16 reserved bytes (0) 56 u64 checksum of bytes 0..55
 *
 *   records follow back to back, each starting at an 8-byte aligned offset:
 *     0  u32 magic 0x3152_5356 ("VSR1")   4 u8 kind   5 3 reserved bytes (0)
 *     8  u64 generation (the file's: a record left over from another file never matches)
 *     16 u64 tenant            24 u64 seq             32 u64 prev_seq
 *     40 u64 arg (ENTRY: op; TRUNCATE: after; MISSING: from; META: 0)
 *     48 u32 body length       52 u32 reserved (0)
 *     56 u64 batch (the write batch: one write and one fdatasync; 0 in a rewritten image)
 *     64 u64 checksum of the body
 *     72 u64 checksum of bytes 0..71 (so it covers the body checksum too)
 *     80 body, then zero padding to the next multiple of 8
 *
 *   bodies:  ENTRY    u64 view, u64 client id, u64 request, then the command bytes
 *            META     u64 epoch, view, last normal view, u32 status, u32 0, u64 commit, checkpoint op,
 *                     then, only when the metadata names the epoch's members (vr_meta.n_members > 0:
 *                     the core writes them once its group was reconfigured; until then, and in older
 *                     files, a META keeps the 48-byte body, which older versions read):
 *                     u64 epoch op, u32 members, u32 old members, u64 ids of each
 *            TRUNCATE, MISSING: empty
 *
 * Zero bytes from a record boundary to the end of the buffer are preallocated space, not damage:
 * the file layer writes zeros ahead of the records so that appending does not change the file's
 * size (an fdatasync then has no metadata to commit).
 *
 * Batches are numbered in file order (nondecreasing); a writer starts batch N+1 only after batch N
 * is durable. So damage followed only by records of its own batch is a torn write of a batch that
 * was never durable, even when the device persisted that batch's sectors out of order.
 *
 * prev_seq chains each tenant's records within one file: it is the seq of the tenant's previous
 * record in the same file (0 for its first). A record whose prev_seq is not the last seq the scan
 * accepted for that tenant proves that records of that tenant were lost in between, even when the
 * damaged bytes did not say whose they were.
 *
 * FORGET (no body) is written by the journal when its tenant is deleted: the scan then knows
 * nothing of the tenant (vs_scan_find() gives NULL) and a rewritten image leaves it out.
 *
 * MISSING is written by the journal itself (never by the core) when it rewrites a file that still
 * has an unrepaired hole, so that the hole is not forgotten by the rewrite. SEAL (tenant 0, seq 0,
 * no body) is a batch the journal writes when it goes idle and when it closes; the scan uses it
 * only for its batch number.
 *
 * Records replay as vr/vr.h says: ENTRY continues the log at its op, dropping every entry from that
 * op on; TRUNCATE drops every entry above `after`, and when `after` is beyond the log's end the
 * log restarts after it; META replaces the metadata.
 *
 * Recovery contract (vs_scan_buffer()):
 *  - Only records whose header and body checksums verify are ever used; one whose content no
 *    writer produces counts as damage: header damage for a seq outside 1..VS_FORMAT_MAX_SEQ,
 *    body damage for an ENTRY at op 0 or a META with an unknown status.
 *  - Damage after the last valid record, or followed only by records of its own batch (batch 0, a
 *    rewritten image, excepted: it was durable as a whole), is a torn write of a batch that was
 *    never reported durable: it is cut with everything after it (valid_end tells where; the file
 *    layer truncates there before appending again). Rot in the last batch before a crash looks
 *    the same and cannot be told apart; the file layer's SEAL after every idle moment and at
 *    close keeps that window to the batches in flight when the node went down.
 *  - Damage followed by a later batch is a hole. For each tenant that lost (or may have lost) records
 *    in it, the scan sets missing_from = X: the tenant's entries below X are correct, entries from
 *    op X on are not returned and must be repaired from peers (for the core, vr/vr.h: a damaged
 *    restart). X is exact when the damaged record's header still verifies (its op is known);
 *    otherwise it is the conservative
 *    min(last op held, commit or checkpoint op from the tenant's last metadata) + 1, since a record
 *    the core writes never changes an op at or below the commit number (it may drop some, when it
 *    restarts its log at an installed checkpoint: the entries below X are then correct but may be
 *    more than the tenant last had). A tenant whose last record precedes a hole whose owner is
 *    unknown is conservatively treated as having lost records in it.
 *  - A hole stays in effect for a tenant until a later record of that tenant drops everything from
 *    X on: an ENTRY at an op <= X or a TRUNCATE with after < X. That is how the core's repair
 *    (discard from the hole, then fetch) heals it durably. Until then the tenant's later ENTRY
 *    records above X and TRUNCATEs with after >= X are ignored.
 *  - Metadata is the last valid META record of the tenant anywhere in the file (holes do not hide
 *    later metadata): after any single damaged record it is one of the two last written.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "vr/record.h"

#define VS_FORMAT_VERSION 1
#define VS_FORMAT_FILE_HEADER_SIZE 64
#define VS_FORMAT_RECORD_HEADER_SIZE 80
#define VS_FORMAT_ENTRY_FIXED 24
#define VS_FORMAT_META_SIZE 48
#define VS_FORMAT_META_EPOCH_FIXED 16
/* Largest command an ENTRY may carry; bigger ones are refused with -EMSGSIZE. */
#define VS_FORMAT_MAX_COMMAND (16u * 1024u * 1024u)

/* Every record but SEAL carries a seq in 1..VS_FORMAT_MAX_SEQ (far beyond any real journal's
 * lifetime), so that the next seq of a tenant never wraps around. */
#define VS_FORMAT_MAX_SEQ ((uint64_t) INT64_MAX)

/* Journal-internal record kinds, beside enum vr_record_kind. */
#define VS_RECORD_MISSING 4
/* A batch of its own, of no tenant, written when the journal goes idle: it proves the batches
 * before it durable, so that rot in them is told from a torn write (see the recovery contract). */
#define VS_RECORD_SEAL 5
/* The tenant is deleted: everything before it of that tenant is void, and a rewrite drops the
 * tenant (tenant ids are never reused, so nothing of it follows). */
#define VS_RECORD_FORGET 6

struct vs_file_header {
        uint32_t version;
        uint64_t cluster_id;
        uint64_t node_id;
        uint64_t generation;
};

void vs_format_file_header_encode(uint8_t out[VS_FORMAT_FILE_HEADER_SIZE], const struct vs_file_header *h);
/* 0; -EBADMSG if shorter than a header or its checksum fails; -EMEDIUMTYPE if the magic is not
 * ours (not a journal); -EPROTONOSUPPORT if written by a newer format version. */
int vs_format_file_header_decode(const uint8_t *buf, size_t len, struct vs_file_header *ret);

/* Where a record goes: its file, its write batch, its tenant and its place in the tenant's chain. */
struct vs_record_place {
        uint64_t generation;
        uint64_t batch;
        uint64_t tenant;
        uint64_t prev_seq;
};

/* Bytes the record will occupy, padding included; 0 for an invalid record. */
size_t vs_format_record_size(const struct vr_record *r);

/* Appends one record to b. -EINVAL for an unknown kind, a seq outside 1..VS_FORMAT_MAX_SEQ, an
 * ENTRY at op 0 or a META with an unknown status, -EMSGSIZE for a command above
 * VS_FORMAT_MAX_COMMAND, -ENOMEM; b is unchanged on error. */
int vs_format_record_encode(struct vs_buf *b, const struct vs_record_place *at, const struct vr_record *r);
int vs_format_missing_encode(struct vs_buf *b, const struct vs_record_place *at, uint64_t seq, uint64_t from);
int vs_format_seal_encode(struct vs_buf *b, uint64_t generation, uint64_t batch);
int vs_format_forget_encode(struct vs_buf *b, const struct vs_record_place *at, uint64_t seq);
/* Moves an encoded record to another place (file, batch, tenant, chain), resealing its header. */
void vs_format_record_place(uint8_t *rec, const struct vs_record_place *at);

enum vs_damage_reason {
        VS_DAMAGE_HEADER,   /* record header unreadable: owner unknown */
        VS_DAMAGE_BODY,     /* header verifies, body checksum does not: owner and op known */
};

/* One step of a walk over the records of a buffer, in file order. */
struct vs_walk_item {
        uint64_t offset;
        uint64_t length;     /* bytes covered, padding included */
        bool damaged;
        /* For valid records and VS_DAMAGE_BODY damage: */
        unsigned kind;       /* enum vr_record_kind, VS_RECORD_MISSING or VS_RECORD_SEAL */
        uint64_t tenant;
        uint64_t prev_seq;
        uint64_t arg;        /* for MISSING: from */
        uint64_t batch;
        struct vr_record rec; /* valid records only; entry data points into the walked buffer */
        enum vs_damage_reason reason;
};

typedef int (*vs_walk_fn)(void *ctx, const struct vs_walk_item *item);

/* Walks the records after the file header. Damaged regions are reported as one item each, whose
 * length reaches the next valid record or the end of the buffer. Stops early with the callback's
 * negative return. Returns 0, or the file header decode error. */
int vs_format_walk(const uint8_t *buf, size_t len, vs_walk_fn fn, void *ctx);

struct vs_damage {
        uint64_t offset;
        uint64_t length;
        enum vs_damage_reason reason;
        bool tail;           /* a torn write (or after one): cut */
        bool attributed;     /* tenant and seq are known */
        uint64_t tenant;
        uint64_t seq;
};

struct vs_scan_tenant {
        uint64_t tenant;
        bool has_meta;
        struct vr_meta meta;
        uint64_t max_seq;      /* highest seq seen for the tenant (the core continues above it) */
        uint64_t chain_seq;    /* seq of the tenant's last record in this file: next prev_seq */
        uint64_t missing_from; /* 0, or the first op that must be repaired from peers */
        uint64_t log_base;     /* the op the log last restarted after (TRUNCATE beyond its end) */
        bool forgotten;        /* its last record is a FORGET: deleted, of no further use */
        size_t n_entries;      /* sorted by op, no duplicates; data points into the scanned buffer */
        size_t cap_entries;
        struct vr_entry *entries;
        /* scan-internal */
        uint64_t last_offset;
};

struct vs_scan {
        struct vs_file_header header;
        uint64_t valid_end;    /* end of the last valid record: where appends continue */
        uint64_t n_records;    /* valid records used */
        uint64_t n_cut_records; /* valid records after a torn write, cut with it */
        uint64_t last_batch;   /* batch of the last valid record used: writers continue above it */
        size_t n_tenants;      /* sorted by tenant id */
        struct vs_scan_tenant *tenants;
        size_t n_damage;
        struct vs_damage *damage;
};

/* Recovers the state held by a journal image (see the contract above). The result's entries point
 * into buf, which must outlive it. Returns 0 (damage is described in the result, not an error),
 * the file header's decode error, or -ENOMEM. */
int vs_scan_buffer(const uint8_t *buf, size_t len, struct vs_scan *ret);
void vs_scan_done(struct vs_scan *s);
/* NULL for a tenant the scan never saw, or saw forgotten. */
const struct vs_scan_tenant *vs_scan_find(const struct vs_scan *s, uint64_t tenant);
/* Whether the tenant's last record is a FORGET. */
bool vs_scan_forgotten(const struct vs_scan *s, uint64_t tenant);

/* Records that rebuild the tenant's state when replayed in order under vr/vr.h's rules (what the
 * core's restart takes): its metadata, a TRUNCATE restarting the log at log_base when that is above
 * the checkpoint op, and its entries above the checkpoint op. Their seqs are 0 (the core continues
 * at max_seq + 1); entry data points into the scanned buffer. *ret is malloc()ed. A tenant with
 * missing_from set must be handed over as damaged (its log is not complete). 0 or -ENOMEM. */
int vs_scan_tenant_replay(const struct vs_scan_tenant *t, struct vr_record **ret, size_t *ret_n);

/* Appends to b a compacted image of the scanned state for a new file of `generation`: per tenant
 * the records of vs_scan_tenant_replay(), then a MISSING record if a hole is unrepaired;
 * forgotten tenants are left out.
 * The rewritten records carry consecutive seqs ending at the tenant's max_seq, and each tenant's
 * chain_seq is set to its chain in the image (0 if the image holds nothing of it), so that appends
 * can continue the chain. b must already hold the new file header. Returns 0 or -ENOMEM. */
int vs_format_image_encode(struct vs_buf *b, uint64_t generation, struct vs_scan *s);

