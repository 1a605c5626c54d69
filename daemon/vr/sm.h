/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The replicated state machine as the VR core sees it.
 *
 * Contract for implementations (the tree store, the simulator's register machine):
 *  - Deterministic: the same commands applied in the same order give byte-identical state,
 *    replies and snapshots on every replica. No clocks, randomness, addresses or I/O.
 *  - A command that fails by the data model's own rules (node exists, bad version, ...) is not an
 *    error here: apply() returns 0 and encodes the failure in the reply, leaving state unchanged.
 *    A negative errno from apply() means the replica cannot continue (e.g. -ENOMEM).
 *  - read() answers a read-only command and never changes state (used for lease reads).
 *  - snapshot() streams the whole state through write() in bounded memory; restore() replaces the
 *    state with a snapshot read through read() and leaves the state unchanged when it fails
 *    (corrupted, truncated or foreign snapshot: -EBADMSG; newer format: -EPROTONOSUPPORT).
 *  - Replies are malloc()ed; the caller frees them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 0 or a negative errno; the snapshot writer stops at the first error and returns it. */
typedef int (*vr_sm_write_fn)(void *ctx, const void *buf, size_t len);
/* Reads exactly len bytes; returns 0, -EBADMSG at a premature end, or another negative errno. */
typedef int (*vr_sm_read_fn)(void *ctx, void *buf, size_t len);

struct vr_sm_ops {
        int (*apply)(void *sm, uint64_t op, const uint8_t *cmd, size_t len,
                     uint8_t **reply, size_t *reply_len);
        int (*read)(void *sm, const uint8_t *cmd, size_t len,
                    uint8_t **reply, size_t *reply_len);
        /* Whether cmd only reads, so that it may be answered by read() without going through the log. */
        bool (*is_read_only)(void *sm, const uint8_t *cmd, size_t len);
        int (*snapshot)(void *sm, vr_sm_write_fn write, void *ctx);
        int (*restore)(void *sm, vr_sm_read_fn read, void *ctx);
};
