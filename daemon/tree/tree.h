/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The replicated data store: a ZooKeeper-like tree of nodes addressed by absolute slash-separated
 * paths ("/", "/a", "/a/b"). Each node holds a binary value and a stat.
 *
 * Contract:
 *  - Deterministic: results, stats and snapshot bytes depend only on the sequence of calls and
 *    their arguments (op numbers come from the caller: the VR op number). The hash seed in the
 *    options changes memory layout only, never an observable result.
 *  - Mutators return 0 on success, a positive enum tree_error when the data model refuses (the
 *    tree is then unchanged), or a negative errno on resource failure (-ENOMEM; the tree is then
 *    unchanged as well). Readers take a const tree and never change it.
 *  - Paths: "/" is the root; otherwise "/" followed by components separated by single slashes, no
 *    trailing slash, no empty, "." or ".." component, no NUL byte, at most limits.max_path bytes.
 *    A sequential create may end in "/": the counter alone then names the node.
 *  - When several refusals apply, the first of these is reported: bad request (unknown flags or
 *    op kind), value too large, bad path, then for create: node exists (the root), parent missing,
 *    node exists; for the others: no such node, root, bad version, not empty.
 *  - Children are ordered by byte-wise comparison of their names (strcmp order).
 *  - Pointers into the tree returned by readers stay valid until the next mutation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree/error.h"
#include "vr/sm.h"

/* Expected-version argument meaning "any version". */
#define TREE_ANY_VERSION UINT64_MAX

/* Hard ceilings on the configurable limits: fixed by the node layout and the snapshot format. */
#define TREE_MAX_PATH_CEILING 65535u
#define TREE_MAX_VALUE_CEILING (64u * 1024u * 1024u)
#define TREE_MAX_OPS_CEILING 65536u

struct tree_limits {
        size_t max_value;     /* bytes in one value; default 1 MiB */
        size_t max_path;      /* bytes in a full path; default 4 KiB */
        size_t max_multi_ops; /* ops in one multi; default 1024 */
};

#define TREE_LIMITS_DEFAULT                                              \
        ((struct tree_limits) {                                          \
                .max_value = 1024 * 1024,                                \
                .max_path = 4096,                                        \
                .max_multi_ops = 1024,                                   \
        })

struct tree_options {
        struct tree_limits limits;
        /* Seeds the path index. The daemon should pass a random value so that clients cannot
         * choose names that collide in the index; replicas may differ. */
        uint64_t hash_seed;
};

struct tree_stat {
        uint64_t version;      /* changes of the value (0 after create) */
        uint64_t cversion;     /* creates and deletes of children */
        uint64_t created_op;   /* op number of the create */
        uint64_t modified_op;  /* op number of the last create or set */
        uint32_t num_children;
        uint32_t value_len;
};

struct tree;

/* opts NULL means defaults. -EINVAL when a limit is 0 or above its ceiling. */
int tree_new(const struct tree_options *opts, struct tree **ret);
void tree_free(struct tree *t);
static inline void tree_freep(struct tree **t) {
        if (*t)
                tree_free(*t);
}

const struct tree_limits *tree_get_limits(const struct tree *t);
/* Number of nodes, the root included. */
size_t tree_count(const struct tree *t);

/* Checks a path of len bytes (NUL bytes inside are refused) against the rules above. Returns 0
 * or TREE_ERR_BAD_PATH. Interfaces that receive byte strings use it before passing C strings. */
int tree_path_check(const struct tree *t, const char *path, size_t len, bool sequential);

#define TREE_CREATE_SEQUENTIAL (1u << 0)
#define TREE_DELETE_RECURSIVE (1u << 0)

/* Creates path with a copy of the value. The parent must exist. With TREE_CREATE_SEQUENTIAL the
 * parent's cversion, zero-padded to 10 digits, is appended to the last component. The actual path
 * is returned in *ret_path (malloc()ed) when ret_path is not NULL, the new stat in *ret_stat. */
int tree_create(struct tree *t, uint64_t op, const char *path, const void *value, size_t value_len,
                unsigned flags, char **ret_path, struct tree_stat *ret_stat);

/* *ret_value points into the tree (NULL for an empty value); length is ret_stat->value_len. */
int tree_get(const struct tree *t, const char *path, const void **ret_value, struct tree_stat *ret_stat);
int tree_exists(const struct tree *t, const char *path, struct tree_stat *ret_stat);

/* Replaces the value when expected_version is TREE_ANY_VERSION or equals the node's version. */
int tree_set(struct tree *t, uint64_t op, const char *path, const void *value, size_t value_len,
             uint64_t expected_version, struct tree_stat *ret_stat);

/* Deletes a leaf, or a whole subtree with TREE_DELETE_RECURSIVE. The expected version, if any,
 * is checked against the node named only. The root cannot be deleted (TREE_ERR_ROOT). */
int tree_delete(struct tree *t, const char *path, uint64_t expected_version, unsigned flags);

/* Whether the node exists and, unless expected_version is TREE_ANY_VERSION, has that version:
 * 0, TREE_ERR_BAD_PATH, TREE_ERR_NO_NODE or TREE_ERR_BAD_VERSION. */
int tree_check(const struct tree *t, const char *path, uint64_t expected_version);

/* Calls fn for each child in name order. A negative return from fn stops the walk and is returned. */
typedef int (*tree_list_fn)(void *ctx, const char *name, const struct tree_stat *st);
int tree_list(const struct tree *t, const char *path, tree_list_fn fn, void *ctx);

enum tree_op_kind {
        TREE_OP_CREATE,
        TREE_OP_SET,
        TREE_OP_DELETE,
        TREE_OP_CHECK, /* node exists, and has the expected version unless TREE_ANY_VERSION */
        _TREE_OP_KIND_MAX, /* not an op: refused with TREE_ERR_BAD_REQUEST */
};

struct tree_op {
        enum tree_op_kind kind;
        const char *path;
        const void *value; /* create, set */
        size_t value_len;
        uint64_t version;  /* expected version: set, delete, check */
        unsigned flags;    /* create: TREE_CREATE_*, delete: TREE_DELETE_* */
};

struct tree_op_result {
        char *path;            /* create: the actual path, malloc()ed; otherwise NULL */
        struct tree_stat stat; /* create, set: the node's new stat; otherwise zero */
};

/* Applies ops in order, all or nothing. On a refusal, *ret_failed is the index of the first op
 * that failed (n-th op over the limit for TREE_ERR_TOO_MANY_OPS) and results are left zeroed.
 * results, if not NULL, has n entries; on success the caller frees each results[i].path. */
int tree_multi(struct tree *t, uint64_t op, const struct tree_op *ops, size_t n,
               struct tree_op_result *results, size_t *ret_failed);

/*
 * Snapshot format, version 1 (all integers little-endian):
 *   header  "VSTREE\r\n" magic, u32 format version, u32 flags (0), u64 vs_checksum of those 16
 *           bytes (so that a damaged version number reads as damage, not as a newer format)
 *   nodes   in depth-first pre-order, children in name order, the root first:
 *           u8 tag 'N', u32 depth (root 0), u16 name length, name,
 *           u64 version, cversion, created_op, modified_op, u32 value length, value
 *   trailer u8 tag 'E', u64 node count, u64 vs_checksum over every preceding byte
 * Identical trees give identical bytes. tree_snapshot() buffers at most a fixed 64 KiB plus one
 * value. tree_restore() builds a new tree and swaps it in only once the checksum matched; it checks
 * the structure (names, order, depths, count) but not the configured limits, which bound requests,
 * so that lowering a limit never makes a replica unable to restore what its peers hold.
 */
int tree_snapshot(const struct tree *t, vr_sm_write_fn write, void *ctx);
int tree_restore(struct tree *t, vr_sm_read_fn read, void *ctx);

/* vs_checksum of the snapshot bytes, computed without storing them: trees with equal digests hold
 * the same state (to the checksum's certainty), whatever their hash seeds. 0 or -ENOMEM. */
int tree_digest(const struct tree *t, uint64_t *ret);
