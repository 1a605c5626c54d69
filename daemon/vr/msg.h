/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The messages replicas and clients exchange, as plain C (the protobuf codec lives with the
 * daemon). One flat struct tagged by `type`; each type uses the fields listed next to it and
 * leaves the others zero. A message owns its entries and byte buffers, except entries marked
 * entries_borrowed, which belong to whoever made the message (the replica's log, for a Prepare
 * handed out by vr_ready_take(): vr.h says how long they stay valid). vr_msg_copy() makes an
 * independent deep copy (owning its entries, borrowed or not), vr_msg_share() a copy that borrows
 * the same entries when the original borrows them; vr_msg_done() releases what a message owns
 * (not the struct itself, nor borrowed entries), vr_msg_free() releases a heap-allocated message
 * entirely.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vr/record.h"

enum vr_msg_type {
        /* client -> replica: client_id, request, data (state-machine command). */
        VR_MSG_REQUEST = 1,
        /* replica -> client: view, client_id, request, reply_status, data (reply). */
        VR_MSG_REPLY,
        /* primary -> backup: view, entries (a run of consecutive ops), op (= last entry's op),
         * commit, lease (primary's tick when sent). */
        VR_MSG_PREPARE,
        /* backup -> primary: view, op ("I hold every op up to op durably"), lease (echo). */
        VR_MSG_PREPARE_OK,
        /* primary -> backup when idle: view, op, commit, lease. */
        VR_MSG_COMMIT,
        /* view, commit. */
        VR_MSG_START_VIEW_CHANGE,
        /* to the new primary: view, last_normal_view, op, commit, entries (the log above the
         * sender's checkpoint, ending at op). */
        VR_MSG_DO_VIEW_CHANGE,
        /* new primary -> all: view, op, commit, entries (its log above its checkpoint). */
        VR_MSG_START_VIEW,
        /* recovering replica -> all: nonce. */
        VR_MSG_RECOVERY,
        /* view, nonce; from the primary also op, commit, entries. */
        VR_MSG_RECOVERY_RESPONSE,
        /* view, op (the requester's op number); snap_op/snap_offset when fetching a checkpoint. */
        VR_MSG_GET_STATE,
        /* view, op, commit, entries after the requester's op; or, when that prefix is gone, a
         * chunk of a checkpoint at snap_op (snap_total bytes, this chunk at snap_offset) and
         * entries after snap_op in the last chunk. log_end: the sender's last op; the entries
         * are the sender's whole log after their start when op == log_end (or log_end is 0),
         * else a prefix of it that fits the message budget (see vr.h, Message budget). */
        VR_MSG_NEW_STATE,
        /* a replica that holds the state up to the reconfiguration op (or knows of the epoch) ->
         * members of the epoch that have not confirmed it, and answer to any message of an older
         * epoch: epoch, op (the op that ended the previous epoch), members, old_members. */
        VR_MSG_START_EPOCH,
        /* member of an epoch that holds its state durably -> the sender of a StartEpoch: epoch. */
        VR_MSG_EPOCH_STARTED,
};

enum vr_reply_status {
        VR_REPLY_OK = 0,
        VR_REPLY_NOT_PRIMARY = 1,     /* view tells the client who the primary is */
        VR_REPLY_SESSION_EXPIRED = 2, /* unknown or evicted client: not executed */
        VR_REPLY_NEW_EPOCH = 3,       /* the replica left the group: epoch and members tell the new one */
        VR_REPLY_BAD_CONFIG = 4,      /* a reconfiguration naming an unusable member list: not executed */
        VR_REPLY_TOO_LARGE = 5,       /* a command no message budget could replicate: not executed */
};

/* The command a client sends to open a session. Its request number must be 0 and it is itself
 * a logged op; any other command from a client the table does not know is refused with
 * VR_REPLY_SESSION_EXPIRED at apply time, on every replica alike. */
#define VR_REGISTER_CMD "\0vr-register"
#define VR_REGISTER_CMD_LEN 12

/* The command that asks for a reconfiguration (§7): this prefix, then u32 n (little-endian) and n
 * u64 member ids, the new epoch's replicas in index order. A logged op like any other (the
 * client needs a session); the primary refuses a list that is not 1 to VR_MAX_REPLICAS distinct
 * ids of odd count with VR_REPLY_BAD_CONFIG, and takes no other request after it until it is
 * executed. Its reply (empty, VR_REPLY_OK) comes from the new epoch's primary once f'+1 members of
 * the new epoch hold the state; the old group answers a retry with VR_REPLY_NEW_EPOCH. */
#define VR_RECONFIGURE_CMD "\0vr-reconfigure"
#define VR_RECONFIGURE_CMD_LEN 15

struct vr_msg {
        enum vr_msg_type type;
        uint32_t from; /* sending replica index (replica messages only) */
        uint64_t epoch;
        uint64_t view;
        uint64_t op;
        uint64_t commit;
        uint64_t last_normal_view;
        uint64_t nonce;
        uint64_t lease;

        uint64_t client_id;
        uint64_t request;
        uint32_t reply_status;
        uint32_t len;
        uint8_t *data;

        size_t n_entries;
        struct vr_entry *entries;
        bool entries_borrowed; /* entries (and their data) are not this message's to free */

        uint64_t snap_op;
        uint64_t snap_total;
        uint64_t snap_offset;
        uint64_t log_end;

        uint64_t sender; /* the sending replica's member id (replica messages only) */
        /* StartEpoch; replies VR_REPLY_NOT_PRIMARY and VR_REPLY_NEW_EPOCH: the epoch's members. */
        uint32_t n_members;
        uint64_t members[VR_MAX_REPLICAS];
        /* StartEpoch: the previous epoch's members. */
        uint32_t n_old_members;
        uint64_t old_members[VR_MAX_REPLICAS];
};

/* 0 when members[0..n-1] can form a group: 1 to VR_MAX_REPLICAS distinct ids, odd count. */
int vr_members_check(const uint64_t *members, uint32_t n);
/* A reconfiguration command for members[0..n-1] into a malloc()ed buffer. -EINVAL for a list
 * the primary would refuse. */
int vr_reconfigure_cmd(const uint64_t *members, uint32_t n, uint8_t **ret, size_t *ret_len);
/* Whether cmd is a reconfiguration command; when it is, the list it names (valid or not) goes to
 * members/n and the result says whether it is usable (0) or not (-EINVAL). 0 / -EINVAL / -ENOENT
 * (not a reconfiguration command). */
int vr_reconfigure_parse(const uint8_t *cmd, size_t len, uint64_t members[VR_MAX_REPLICAS], uint32_t *n);

/* Upper bounds on what a message costs once encoded (protobuf, daemon/wire/vr.proto): every
 * field but the entries and data, and one entry without its data. The core keeps the sum of
 * these at or below vr_config.max_message_bytes for every message it emits. */
#define VR_MSG_FIXED_BYTES 512u
#define VR_ENTRY_FIXED_BYTES 64u
/* Entries in one message, at most (what a decoder accepts). */
#define VR_MSG_MAX_ENTRIES 65536u

static inline uint64_t vr_entry_bytes(const struct vr_entry *e) {
        return VR_ENTRY_FIXED_BYTES + (uint64_t) e->len;
}
uint64_t vr_msg_bytes(const struct vr_msg *m);

int vr_entry_copy(struct vr_entry *dst, const struct vr_entry *src);
void vr_entry_done(struct vr_entry *e);

int vr_msg_copy(struct vr_msg *dst, const struct vr_msg *src);
int vr_msg_share(struct vr_msg *dst, const struct vr_msg *src);
int vr_msg_dup(const struct vr_msg *src, struct vr_msg **ret);
void vr_msg_done(struct vr_msg *m);
void vr_msg_free(struct vr_msg *m);

const char *vr_msg_type_name(enum vr_msg_type t);
/* "normal", "view-change", "recovering" or "transitioning": the names D-Bus and logs show. */
const char *vr_status_name(enum vr_status s);

#include "util/cleanup.h"
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vr_msg *, vr_msg_free)
