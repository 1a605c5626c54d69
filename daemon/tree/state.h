/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The tree's internals, shared by its implementation files (not by callers): the tree itself and
 * the undoable changes a multi is made of.
 *
 * Every change either refuses (positive enum tree_error, or -ENOMEM) having changed nothing, or
 * applies and records in its struct change what undoing it needs. A recorded change must then be
 * either committed (releases what it replaced) or undone (restores the tree); undoing changes in
 * reverse order restores the tree exactly, and neither commit nor undo allocates, so neither fails.
 */

#include "tree/index.h"
#include "tree/node.h"
#include "tree/tree.h"

struct tree {
        struct tree_options opts;
        struct tree_index index;
        struct tree_node *root;
};

struct change {
        enum { CHANGE_NONE, CHANGE_CREATE, CHANGE_SET, CHANGE_DELETE } kind;
        struct tree_node *node;
        uint8_t *old_value; /* set: the replaced value and stats */
        uint32_t old_len;
        uint64_t old_version, old_modified;
};

/* The node at path: 0, TREE_ERR_BAD_PATH or TREE_ERR_NO_NODE. */
int tree_find(const struct tree *t, const char *path, struct tree_node **ret);

int change_apply(struct tree *t, uint64_t op, const struct tree_op *o, struct change *c,
                 struct tree_op_result *result);
void change_commit(struct change *c);
void change_undo(struct tree *t, struct change *c);

/* Frees a subtree that is not linked into any tree, iteratively. */
void subtree_free(struct tree_node *top);
