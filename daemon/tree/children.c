/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "tree/children.h"

static unsigned height(const struct tree_node *n) {
        return n ? n->height : 0;
}

static void update(struct tree_node *n) {
        unsigned l = height(n->left), r = height(n->right);
        n->height = (uint8_t) ((l > r ? l : r) + 1);
}

static struct tree_node *rotate_right(struct tree_node *n) {
        struct tree_node *l = n->left;
        n->left = l->right;
        l->right = n;
        update(n);
        update(l);
        return l;
}

static struct tree_node *rotate_left(struct tree_node *n) {
        struct tree_node *r = n->right;
        n->right = r->left;
        r->left = n;
        update(n);
        update(r);
        return r;
}

static struct tree_node *rebalance(struct tree_node *n) {
        int balance = (int) height(n->left) - (int) height(n->right);

        update(n);
        if (balance > 1) {
                if (height(n->left->left) < height(n->left->right))
                        n->left = rotate_left(n->left);
                return rotate_right(n);
        }
        if (balance < -1) {
                if (height(n->right->right) < height(n->right->left))
                        n->right = rotate_right(n->right);
                return rotate_left(n);
        }
        return n;
}

struct tree_node *children_insert(struct tree_node *root, struct tree_node *n) {
        if (!root) {
                n->left = n->right = NULL;
                n->height = 1;
                return n;
        }
        if (strcmp(n->name, root->name) < 0)
                root->left = children_insert(root->left, n);
        else
                root->right = children_insert(root->right, n);
        return rebalance(root);
}

static struct tree_node *remove_first(struct tree_node *root, struct tree_node **ret_first) {
        if (!root->left) {
                *ret_first = root;
                return root->right;
        }
        root->left = remove_first(root->left, ret_first);
        return rebalance(root);
}

struct tree_node *children_remove(struct tree_node *root, struct tree_node *n) {
        if (root == n) {
                struct tree_node *successor, *right;

                if (!n->left)
                        return n->right;
                if (!n->right)
                        return n->left;
                right = remove_first(n->right, &successor);
                successor->left = n->left;
                successor->right = right;
                return rebalance(successor);
        }
        if (strcmp(n->name, root->name) < 0)
                root->left = children_remove(root->left, n);
        else
                root->right = children_remove(root->right, n);
        return rebalance(root);
}

struct tree_node *children_first(struct tree_node *root) {
        if (!root)
                return NULL;
        while (root->left)
                root = root->left;
        return root;
}

struct tree_node *children_after(struct tree_node *root, const char *name) {
        struct tree_node *best = NULL;

        while (root) {
                if (strcmp(root->name, name) > 0) {
                        best = root;
                        root = root->left;
                } else
                        root = root->right;
        }
        return best;
}

int children_walk(const struct tree_node *root, int (*fn)(void *ctx, const struct tree_node *n), void *ctx) {
        while (root) {
                int r = children_walk(root->left, fn, ctx);
                if (r < 0)
                        return r;
                r = fn(ctx, root);
                if (r < 0)
                        return r;
                root = root->right;
        }
        return 0;
}

struct tree_node *children_next_preorder(const struct tree_node *n, const struct tree_node *top) {
        if (n->children)
                return children_first(n->children);
        for (; n != top; n = n->parent) {
                struct tree_node *s = children_after(n->parent->children, n->name);
                if (s)
                        return s;
        }
        return NULL;
}
