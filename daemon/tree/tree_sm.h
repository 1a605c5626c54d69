/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The tree as the VR core's replicated state machine (vr/sm.h). The sm pointer is the struct tree
 * itself. A command is an encoded viewstamp.TreeRequest (wire/tree.proto), a reply an encoded
 * viewstamp.TreeResponse carrying the enum tree_error in its error field.
 *
 * Contract, beyond sm.h's:
 *  - A command that does not decode, or names no request, is answered TREE_ERR_BAD_REQUEST and
 *    changes nothing, identically on every replica. A path holding a NUL byte is answered
 *    TREE_ERR_BAD_PATH where the tree would report its other path errors.
 *  - apply() uses the op number for created_op/modified_op of what the command changes.
 *  - get, exists, list and check are read-only: is_read_only() says so and read() answers them;
 *    read() refuses any other command with -EINVAL. is_read_only() is false for undecodable
 *    commands, so they go through the log and are refused there.
 *  - -ENOMEM (also when decoding ran out of memory) means no reply was made and, as sm.h says,
 *    that the replica cannot continue: the command may have been applied.
 *
 * The encoders below build the commands a register workload needs. A register is a node created
 * up front with an empty value (absent); read = get (empty value: absent); write = set with any
 * version; compare-and-set(seen, new) = set with the version of the client's last get/set reply
 * for that key: the versions match only if no write came between, so the value is still `seen`,
 * and a mismatch (TREE_ERR_BAD_VERSION) is a cas that certainly did not take effect.
 * tree_digest() compares replicas' states at the same applied op.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree/tree.h"
#include "vr/sm.h"
#include "wire/tree.pb-c.h"

extern const struct vr_sm_ops tree_sm_ops;

/* Encodes any request into a malloc()ed buffer. */
int tree_sm_encode(const Viewstamp__TreeRequest *req, uint8_t **ret, size_t *ret_len);
int tree_sm_encode_create(const char *path, const void *value, size_t len, unsigned flags, uint8_t **ret, size_t *ret_len);
int tree_sm_encode_get(const char *path, uint8_t **ret, size_t *ret_len);
int tree_sm_encode_list(const char *path, bool with_stats, uint8_t **ret, size_t *ret_len);
/* Deletes a node with any version, not recursively. */
int tree_sm_encode_delete(const char *path, uint8_t **ret, size_t *ret_len);
int tree_sm_encode_set(const char *path, const void *value, size_t len, uint64_t expected_version,
                       uint8_t **ret, size_t *ret_len);

/* Decodes a reply: -EBADMSG if it is not a TreeResponse, -ENOMEM. Free with the cleanup below. */
int tree_sm_decode_reply(const uint8_t *buf, size_t len, Viewstamp__TreeResponse **ret);

static inline void tree_responsep(Viewstamp__TreeResponse **r) {
        if (*r)
                viewstamp__tree_response__free_unpacked(*r, NULL);
}
#define _cleanup_tree_response_ __attribute__((cleanup(tree_responsep)))
