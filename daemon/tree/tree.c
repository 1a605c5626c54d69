/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "tree/children.h"
#include "tree/path.h"
#include "tree/state.h"
#include "util/cleanup.h"

static bool limits_valid(const struct tree_limits *l) {
        return l->max_value <= TREE_MAX_VALUE_CEILING &&
                l->max_path >= 2 && l->max_path <= TREE_MAX_PATH_CEILING &&
                l->max_multi_ops >= 1 && l->max_multi_ops <= TREE_MAX_OPS_CEILING;
}

int tree_new(const struct tree_options *opts, struct tree **ret) {
        struct tree_options o = opts ? *opts : (struct tree_options) { .limits = TREE_LIMITS_DEFAULT };

        if (!limits_valid(&o.limits))
                return -EINVAL;

        _cleanup_(tree_freep) struct tree *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->opts = o;
        int r = index_init(&t->index);
        if (r < 0)
                return r;
        t->root = node_new("", 0, NULL, 0);
        if (!t->root)
                return -ENOMEM;
        t->root->hash = path_root_hash(o.hash_seed);
        index_insert(&t->index, t->root);

        *ret = TAKE_PTR(t);
        return 0;
}

void tree_free(struct tree *t) {
        if (!t)
                return;
        if (t->root)
                subtree_free(t->root);
        index_done(&t->index);
        free(t);
}

const struct tree_limits *tree_get_limits(const struct tree *t) {
        return &t->opts.limits;
}

size_t tree_count(const struct tree *t) {
        return t->index.count;
}

int tree_path_check(const struct tree *t, const char *path, size_t len, bool sequential) {
        struct path p;
        return path_parse(path, len, t->opts.limits.max_path, sequential, t->opts.hash_seed, &p);
}

int tree_get(const struct tree *t, const char *path, const void **ret_value, struct tree_stat *ret_stat) {
        struct tree_node *n;
        int r = tree_find(t, path, &n);
        if (r != 0)
                return r;
        if (ret_value)
                *ret_value = n->value;
        if (ret_stat)
                *ret_stat = node_stat(n);
        return 0;
}

int tree_exists(const struct tree *t, const char *path, struct tree_stat *ret_stat) {
        return tree_get(t, path, NULL, ret_stat);
}

struct list_ctx {
        tree_list_fn fn;
        void *ctx;
};

static int list_one(void *userdata, const struct tree_node *n) {
        struct list_ctx *l = userdata;
        struct tree_stat st = node_stat(n);
        return l->fn(l->ctx, n->name, &st);
}

int tree_list(const struct tree *t, const char *path, tree_list_fn fn, void *ctx) {
        struct tree_node *n;
        int r = tree_find(t, path, &n);
        if (r != 0)
                return r;
        return children_walk(n->children, list_one, &(struct list_ctx) { fn, ctx });
}

static int apply_one(struct tree *t, uint64_t op, const struct tree_op *o, struct tree_op_result *result) {
        struct change c;
        int r = change_apply(t, op, o, &c, result);
        if (r == 0)
                change_commit(&c);
        return r;
}

int tree_create(struct tree *t, uint64_t op, const char *path, const void *value, size_t value_len,
                unsigned flags, char **ret_path, struct tree_stat *ret_stat) {
        struct tree_op o = { .kind = TREE_OP_CREATE, .path = path, .value = value, .value_len = value_len, .flags = flags };
        struct tree_op_result res;
        int r = apply_one(t, op, &o, &res);
        if (r != 0)
                return r;
        if (ret_path)
                *ret_path = res.path;
        else
                free(res.path);
        if (ret_stat)
                *ret_stat = res.stat;
        return 0;
}

int tree_set(struct tree *t, uint64_t op, const char *path, const void *value, size_t value_len,
             uint64_t expected_version, struct tree_stat *ret_stat) {
        struct tree_op o = { .kind = TREE_OP_SET, .path = path, .value = value, .value_len = value_len, .version = expected_version };
        struct tree_op_result res;
        int r = apply_one(t, op, &o, &res);
        if (r == 0 && ret_stat)
                *ret_stat = res.stat;
        return r;
}

int tree_delete(struct tree *t, const char *path, uint64_t expected_version, unsigned flags) {
        struct tree_op o = { .kind = TREE_OP_DELETE, .path = path, .version = expected_version, .flags = flags };
        return apply_one(t, 0, &o, NULL);
}

static void results_clear(struct tree_op_result *results, size_t n) {
        if (!results)
                return;
        for (size_t i = 0; i < n; i++) {
                free(results[i].path);
                results[i] = (struct tree_op_result) {};
        }
}

int tree_multi(struct tree *t, uint64_t op, const struct tree_op *ops, size_t n,
               struct tree_op_result *results, size_t *ret_failed) {
        size_t i;
        int r = 0;

        if (results)
                memset(results, 0, n * sizeof(*results));
        if (n > t->opts.limits.max_multi_ops) {
                if (ret_failed)
                        *ret_failed = t->opts.limits.max_multi_ops;
                return TREE_ERR_TOO_MANY_OPS;
        }

        _cleanup_free_ struct change *changes = calloc(n ? n : 1, sizeof(*changes));
        if (!changes)
                return -ENOMEM;

        for (i = 0; i < n; i++) {
                r = change_apply(t, op, &ops[i], &changes[i], results ? &results[i] : NULL);
                if (r != 0)
                        break;
        }
        if (r == 0) {
                for (i = 0; i < n; i++)
                        change_commit(&changes[i]);
                return 0;
        }
        if (ret_failed)
                *ret_failed = i;
        while (i > 0)
                change_undo(t, &changes[--i]);
        results_clear(results, n);
        return r;
}
