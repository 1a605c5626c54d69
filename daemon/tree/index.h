/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The path index: an open-addressing hash table (linear probing, backward-shift deletion) of node
 * pointers keyed by the node's path hash. A hit is confirmed by walking the node's parent chain
 * against the path, so hash collisions cost time, never correctness.
 *
 * Only index_reserve() allocates; insert and remove never fail once room was reserved, which is
 * what lets a multi roll back without allocating. The table never shrinks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree/node.h"

struct tree_index {
        struct tree_node **slots;
        size_t mask;  /* slot count - 1; slot count is a power of two */
        size_t count;
};

int index_init(struct tree_index *idx);
void index_done(struct tree_index *idx);
/* Makes room for extra more nodes; 0 or -ENOMEM (index unchanged). */
int index_reserve(struct tree_index *idx, size_t extra);
void index_insert(struct tree_index *idx, struct tree_node *n);
void index_remove(struct tree_index *idx, struct tree_node *n);

/* The node whose path is path[0..len) (len 0 for the root), or NULL. */
struct tree_node *index_find(const struct tree_index *idx, uint64_t hash, const char *path, size_t len);

/* Whether n's path is path[0..len): compares names up the parent chain. */
bool node_has_path(const struct tree_node *n, const char *path, size_t len);
