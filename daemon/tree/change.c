/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tree/children.h"
#include "tree/path.h"
#include "tree/state.h"
#include "util/cleanup.h"

int tree_find(const struct tree *t, const char *path, struct tree_node **ret) {
        struct path p;

        if (!path)
                return TREE_ERR_BAD_PATH;
        int r = path_parse(path, strlen(path), t->opts.limits.max_path, false, t->opts.hash_seed, &p);
        if (r != 0)
                return r;
        *ret = index_find(&t->index, p.hash, path, p.len);
        return *ret ? 0 : TREE_ERR_NO_NODE;
}

static struct tree_node *find_parent(const struct tree *t, const struct path *p) {
        return index_find(&t->index, p->parent_hash, p->s, p->name_off - 1);
}

static void link_child(struct tree_node *parent, struct tree_node *n) {
        parent->children = children_insert(parent->children, n);
        parent->num_children++;
}

/* The full path of a sequential create: the prefix with the parent's cversion appended. */
static int sequential_path(const struct tree *t, const struct path *p, const struct tree_node *parent,
                           char **ret, size_t *ret_len) {
        char digits[21];
        int d = snprintf(digits, sizeof(digits), "%010" PRIu64, parent->cversion);
        size_t len = p->len + (size_t) d;

        if (len > t->opts.limits.max_path)
                return TREE_ERR_BAD_PATH;
        char *s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, p->s, p->len);
        memcpy(s + p->len, digits, (size_t) d + 1);
        *ret = s;
        *ret_len = len;
        return 0;
}

static int create(struct tree *t, uint64_t op, const struct tree_op *o, struct change *c,
                  struct tree_op_result *result) {
        bool sequential = o->flags & TREE_CREATE_SEQUENTIAL;
        _cleanup_free_ char *built = NULL;
        struct path p;
        int r;

        if (o->flags & ~TREE_CREATE_SEQUENTIAL)
                return TREE_ERR_BAD_REQUEST;
        if (o->value_len > t->opts.limits.max_value)
                return TREE_ERR_VALUE_TOO_LARGE;
        if (!o->path)
                return TREE_ERR_BAD_PATH;
        r = path_parse(o->path, strlen(o->path), t->opts.limits.max_path, sequential, t->opts.hash_seed, &p);
        if (r != 0)
                return r;
        if (p.len == 0)
                return TREE_ERR_NODE_EXISTS;

        struct tree_node *parent = find_parent(t, &p);
        if (!parent)
                return TREE_ERR_PARENT_MISSING;

        const char *path = o->path;
        size_t len = p.len;
        if (sequential) {
                r = sequential_path(t, &p, parent, &built, &len);
                if (r != 0)
                        return r;
                path = built;
        }
        const char *name = path + p.name_off;
        size_t name_len = len - p.name_off;
        uint64_t hash = path_child_hash(parent->hash, name, name_len);

        if (index_find(&t->index, hash, path, len))
                return TREE_ERR_NODE_EXISTS;

        if (result && !built) {
                built = strndup(path, len);
                if (!built)
                        return -ENOMEM;
        }
        r = index_reserve(&t->index, 1);
        if (r < 0)
                return r;
        struct tree_node *n = node_new(name, name_len, o->value, o->value_len);
        if (!n)
                return -ENOMEM;

        n->parent = parent;
        n->hash = hash;
        n->created_op = n->modified_op = op;
        link_child(parent, n);
        parent->cversion++;
        index_insert(&t->index, n);

        *c = (struct change) { .kind = CHANGE_CREATE, .node = n };
        if (result)
                *result = (struct tree_op_result) { .path = TAKE_PTR(built), .stat = node_stat(n) };
        return 0;
}

static int check_version(const struct tree_node *n, uint64_t expected) {
        return expected == TREE_ANY_VERSION || expected == n->version ? 0 : TREE_ERR_BAD_VERSION;
}

int tree_check(const struct tree *t, const char *path, uint64_t expected_version) {
        struct tree_node *n;
        int r = tree_find(t, path, &n);
        return r != 0 ? r : check_version(n, expected_version);
}

static int set(struct tree *t, uint64_t op, const struct tree_op *o, struct change *c,
               struct tree_op_result *result) {
        struct tree_node *n;
        uint8_t *value;
        int r;

        if (o->flags != 0)
                return TREE_ERR_BAD_REQUEST;
        if (o->value_len > t->opts.limits.max_value)
                return TREE_ERR_VALUE_TOO_LARGE;
        r = tree_find(t, o->path, &n);
        if (r != 0)
                return r;
        r = check_version(n, o->version);
        if (r != 0)
                return r;
        r = node_value_dup(o->value, o->value_len, &value);
        if (r < 0)
                return r;

        *c = (struct change) {
                .kind = CHANGE_SET,
                .node = n,
                .old_value = n->value,
                .old_len = n->value_len,
                .old_version = n->version,
                .old_modified = n->modified_op,
        };
        n->value = value;
        n->value_len = (uint32_t) o->value_len;
        n->version++;
        n->modified_op = op;
        if (result)
                *result = (struct tree_op_result) { .stat = node_stat(n) };
        return 0;
}

static int delete(struct tree *t, const struct tree_op *o, struct change *c) {
        struct tree_node *n;
        int r;

        if (o->flags & ~TREE_DELETE_RECURSIVE)
                return TREE_ERR_BAD_REQUEST;
        r = tree_find(t, o->path, &n);
        if (r != 0)
                return r;
        if (n == t->root)
                return TREE_ERR_ROOT;
        r = check_version(n, o->version);
        if (r != 0)
                return r;
        if (n->children && !(o->flags & TREE_DELETE_RECURSIVE))
                return TREE_ERR_NOT_EMPTY;

        struct tree_node *parent = n->parent;
        parent->children = children_remove(parent->children, n);
        parent->num_children--;
        parent->cversion++;
        for (struct tree_node *d = n; d; d = children_next_preorder(d, n))
                index_remove(&t->index, d);

        /* n keeps its parent pointer so that undo knows where it belongs. */
        *c = (struct change) { .kind = CHANGE_DELETE, .node = n };
        return 0;
}

int change_apply(struct tree *t, uint64_t op, const struct tree_op *o, struct change *c,
                 struct tree_op_result *result) {
        *c = (struct change) {};
        if (result)
                *result = (struct tree_op_result) {};

        switch (o->kind) {
        case TREE_OP_CREATE:
                return create(t, op, o, c, result);
        case TREE_OP_SET:
                return set(t, op, o, c, result);
        case TREE_OP_DELETE:
                return delete(t, o, c);
        case TREE_OP_CHECK:
                return o->flags != 0 ? TREE_ERR_BAD_REQUEST : tree_check(t, o->path, o->version);
        default:
                return TREE_ERR_BAD_REQUEST;
        }
}

void subtree_free(struct tree_node *top) {
        /* Depth-first with the stack threaded through the parent links of the nodes on it: those
         * are being freed anyway, and a deep or wide subtree must not cost memory or recursion. */
        struct tree_node *stack = top;

        top->parent = NULL;
        top->left = top->right = NULL;
        while (stack) {
                struct tree_node *n = stack, *links[] = { n->children, n->left, n->right };

                stack = n->parent;
                for (size_t i = 0; i < ELEMENTSOF(links); i++)
                        if (links[i]) {
                                links[i]->parent = stack;
                                stack = links[i];
                        }
                node_free(n);
        }
}

void change_commit(struct change *c) {
        switch (c->kind) {
        case CHANGE_SET:
                free(c->old_value);
                break;
        case CHANGE_DELETE:
                subtree_free(c->node);
                break;
        default:
                break;
        }
        *c = (struct change) {};
}

void change_undo(struct tree *t, struct change *c) {
        struct tree_node *n = c->node, *parent;

        switch (c->kind) {
        case CHANGE_CREATE:
                parent = n->parent;
                index_remove(&t->index, n);
                parent->children = children_remove(parent->children, n);
                parent->num_children--;
                parent->cversion--;
                node_free(n);
                break;
        case CHANGE_SET:
                free(n->value);
                n->value = c->old_value;
                n->value_len = c->old_len;
                n->version = c->old_version;
                n->modified_op = c->old_modified;
                break;
        case CHANGE_DELETE:
                /* Room was there before the delete and the index never shrinks. */
                for (struct tree_node *d = n; d; d = children_next_preorder(d, n))
                        index_insert(&t->index, d);
                link_child(n->parent, n);
                n->parent->cversion--;
                break;
        default:
                break;
        }
        *c = (struct change) {};
}
