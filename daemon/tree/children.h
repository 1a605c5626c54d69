/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The ordered set of a node's children: an intrusive AVL tree threaded through the children's
 * left/right/height fields, ordered by strcmp() of names. No allocation, so inserting and removing
 * cannot fail; height stays below 1.45 log2(n), which bounds the recursion.
 */

#include "tree/node.h"

/* Inserts n (whose name is not yet in the set); returns the new root. */
struct tree_node *children_insert(struct tree_node *root, struct tree_node *n);
/* Removes n (a member); returns the new root. n's left/right are stale afterwards. */
struct tree_node *children_remove(struct tree_node *root, struct tree_node *n);
struct tree_node *children_first(struct tree_node *root);
/* The member with the smallest name greater than name, or NULL. */
struct tree_node *children_after(struct tree_node *root, const char *name);
/* In-order walk; a negative return from fn stops it and is returned. */
int children_walk(const struct tree_node *root, int (*fn)(void *ctx, const struct tree_node *n), void *ctx);

/* The node after n in depth-first pre-order (children in name order) within the subtree whose
 * top is top, or NULL at its end. Constant memory: climbs parent links. */
struct tree_node *children_next_preorder(const struct tree_node *n, const struct tree_node *top);
