/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One node of the tree, laid out for memory: a node links into its parent's ordered set of
 * children (an intrusive AVL tree, children.h) and into the path index (index.h), and carries its
 * own name only; the full path is implied by the parent chain. Allocated as one block with the
 * name inline; the value is a separate block (NULL when empty).
 */

#include <stddef.h>
#include <stdint.h>

#include "tree/tree.h"

struct tree_node {
        struct tree_node *parent;       /* NULL for the root and for a detached subtree's top */
        struct tree_node *left, *right; /* siblings, see children.h */
        struct tree_node *children;     /* root of the children's AVL tree */
        uint8_t *value;
        uint64_t hash;                  /* path hash, see path.h */
        uint64_t version, cversion, created_op, modified_op;
        uint32_t num_children, value_len;
        uint16_t name_len;
        uint8_t height;                 /* of the AVL subtree rooted here */
        char name[];                    /* NUL-terminated */
};

/* A node with a copy of name and value and zero stats and links, or NULL. */
struct tree_node *node_new(const char *name, size_t name_len, const void *value, size_t value_len);
void node_free(struct tree_node *n);

static inline struct tree_stat node_stat(const struct tree_node *n) {
        return (struct tree_stat) {
                .version = n->version,
                .cversion = n->cversion,
                .created_op = n->created_op,
                .modified_op = n->modified_op,
                .num_children = n->num_children,
                .value_len = n->value_len,
        };
}

/* Copy of value[0..len) for a node: NULL for an empty value, -ENOMEM otherwise on failure. */
int node_value_dup(const void *value, size_t len, uint8_t **ret);
