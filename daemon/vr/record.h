/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a replica asks its storage to keep. The core emits these in order, each with a
 * sequence number; the driver persists them in that order and reports "durable up to seq"
 * back. The core never sends a message that depends on a record before that record is
 * reported durable (PrepareOK after the entry, DoViewChange after the view, ...).
 *
 * The journal stores exactly these; the simulator's disk and the daemon's files share the
 * journal's encoding and recovery scan, so the same code decides what survives a crash.
 */

#include <stdint.h>

#define VR_MAX_REPLICAS 16

enum vr_status {
        VR_STATUS_NORMAL = 0,
        VR_STATUS_VIEW_CHANGE = 1,
        VR_STATUS_RECOVERING = 2,
        VR_STATUS_TRANSITIONING = 3, /* reconfiguration: between epochs */
};

/* One client request placed in the log at op number `op` by the primary of `view`. */
struct vr_entry {
        uint64_t op;        /* 1-based op number */
        uint64_t view;      /* view in which the op was assigned */
        uint64_t client_id;
        uint64_t request;   /* client's request number */
        uint32_t len;
        uint8_t *data;      /* state-machine command, len bytes */
};

/* Replica metadata that must be durable before messages depending on it are sent. */
struct vr_meta {
        uint64_t epoch;
        uint64_t view;             /* highest view this replica has entered or voted for */
        uint64_t last_normal_view; /* latest view in which status was normal */
        uint32_t status;           /* enum vr_status */
        uint64_t commit;           /* commit number known at write time (a hint: may lag) */
        uint64_t checkpoint_op;    /* op of the newest durable checkpoint, 0 if none */
        /* The epoch's configuration (§7). n_members 0: no reconfiguration happened yet (or the
         * metadata is older than reconfiguration), the driver's configuration holds. */
        uint64_t epoch_op;         /* the op that ended the previous epoch, 0: not known yet */
        uint32_t n_members;
        uint64_t members[VR_MAX_REPLICAS];
        uint32_t n_old_members;    /* the previous epoch's members, 0 when not known */
        uint64_t old_members[VR_MAX_REPLICAS];
};

enum vr_record_kind {
        VR_RECORD_ENTRY = 1,    /* continue the log at op, dropping every entry from op on */
        VR_RECORD_TRUNCATE = 2, /* drop every entry with op > `after`; beyond the log's end, restart it after `after` */
        VR_RECORD_META = 3,     /* replace the metadata */
};

struct vr_record {
        enum vr_record_kind kind;
        uint64_t seq; /* storage sequence number, increasing by one per record */
        union {
                struct vr_entry entry;
                uint64_t after;
                struct vr_meta meta;
        };
};
