/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Model-based test: seeded random operation sequences go to the tree and to a deliberately naive
 * reference model (an unsorted array of full paths) and must agree on every result and on the
 * final listing. At random points the tree is snapshotted and restored into a fresh tree with a
 * different hash seed; that copy then receives the same operations and must answer identically
 * and snapshot to the same bytes.
 */

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"
#include "tree/tree.h"
#include "util/cleanup.h"
#include "../check-run.h"

#define MAX_PATH 24
#define MAX_VALUE 8
#define MAX_OPS 4
#define PATH_BUF 64 /* generated paths may exceed MAX_PATH on purpose */
#define OPS_PER_SEED 20000

struct mnode {
        char path[MAX_PATH + 1];
        uint8_t value[MAX_VALUE];
        struct tree_stat st;
};

struct model {
        struct mnode *v;
        size_t n, cap;
};

static uint64_t rng_state;

static uint64_t rnd(void) {
        /* splitmix64 */
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static size_t rndn(size_t n) {
        return (size_t) (rnd() % n);
}

static void model_init(struct model *m) {
        *m = (struct model) {};
        m->cap = 16;
        m->v = calloc(m->cap, sizeof(*m->v));
        ck_assert_ptr_nonnull(m->v);
        snprintf(m->v[0].path, sizeof(m->v[0].path), "/");
        m->n = 1;
}

static void model_copy(struct model *dst, const struct model *src) {
        dst->n = src->n;
        dst->cap = src->cap;
        dst->v = malloc(src->cap * sizeof(*src->v));
        ck_assert_ptr_nonnull(dst->v);
        memcpy(dst->v, src->v, src->n * sizeof(*src->v));
}

static struct mnode *model_find(struct model *m, const char *path) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].path, path) == 0)
                        return &m->v[i];
        return NULL;
}

static void parent_of(const char *path, char *out) {
        const char *slash = strrchr(path, '/');
        size_t len = slash == path ? 1 : (size_t) (slash - path);
        memcpy(out, path, len);
        out[len] = 0;
}

static bool is_child(const char *parent, const char *path) {
        char p[PATH_BUF];
        if (strcmp(path, "/") == 0)
                return false;
        parent_of(path, p);
        return strcmp(p, parent) == 0;
}

static bool is_descendant_or_self(const char *top, const char *path) {
        size_t l = strlen(top);
        return strcmp(top, path) == 0 || (strncmp(top, path, l) == 0 && path[l] == '/');
}

/* The path rules, written independently of the tree's parser. */
static bool model_path_valid(const char *path, bool sequential) {
        size_t len = strlen(path);

        if (len == 0 || path[0] != '/' || len + (sequential ? 10 : 0) > MAX_PATH)
                return false;
        if (len == 1)
                return true;
        const char *c = path + 1;
        for (;;) {
                const char *slash = strchr(c, '/');
                size_t n = slash ? (size_t) (slash - c) : strlen(c);
                bool last = !slash;
                bool dot = (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.');
                if (!(last && sequential) && (n == 0 || dot))
                        return false;
                if (last)
                        return true;
                c = slash + 1;
        }
}

static int model_create(struct model *m, uint64_t op, const char *path, const uint8_t *value, size_t len,
                        bool seq, char *ret_path) {
        char parent[PATH_BUF], full[PATH_BUF + 24];

        if (len > MAX_VALUE)
                return TREE_ERR_VALUE_TOO_LARGE;
        if (!model_path_valid(path, seq))
                return TREE_ERR_BAD_PATH;
        if (!seq && strcmp(path, "/") == 0)
                return TREE_ERR_NODE_EXISTS;
        if (seq && path[strlen(path) - 1] == '/')
                snprintf(parent, sizeof(parent), "%.*s", (int) (strlen(path) > 1 ? strlen(path) - 1 : 1), path);
        else
                parent_of(path, parent);
        struct mnode *p = model_find(m, parent);
        if (!p)
                return TREE_ERR_PARENT_MISSING;
        if (seq) {
                snprintf(full, sizeof(full), "%s%010" PRIu64, path, p->st.cversion);
                if (strlen(full) > MAX_PATH)
                        return TREE_ERR_BAD_PATH;
        } else
                snprintf(full, sizeof(full), "%s", path);
        if (model_find(m, full))
                return TREE_ERR_NODE_EXISTS;

        p->st.cversion++;
        p->st.num_children++;
        if (m->n == m->cap) {
                m->cap *= 2;
                m->v = realloc(m->v, m->cap * sizeof(*m->v));
                ck_assert_ptr_nonnull(m->v);
        }
        struct mnode *n = &m->v[m->n++];
        *n = (struct mnode) { .st = { .created_op = op, .modified_op = op, .value_len = (uint32_t) len } };
        snprintf(n->path, sizeof(n->path), "%s", full);
        memcpy(n->value, value, len);
        snprintf(ret_path, MAX_PATH + 1, "%s", full);
        return 0;
}

static int model_lookup(struct model *m, const char *path, struct mnode **ret) {
        if (!model_path_valid(path, false))
                return TREE_ERR_BAD_PATH;
        *ret = model_find(m, path);
        return *ret ? 0 : TREE_ERR_NO_NODE;
}

static int model_check(struct model *m, const char *path, uint64_t version) {
        struct mnode *n;
        int r = model_lookup(m, path, &n);
        if (r != 0)
                return r;
        return version == TREE_ANY_VERSION || version == n->st.version ? 0 : TREE_ERR_BAD_VERSION;
}

static int model_set(struct model *m, uint64_t op, const char *path, const uint8_t *value, size_t len, uint64_t version) {
        struct mnode *n;
        if (len > MAX_VALUE)
                return TREE_ERR_VALUE_TOO_LARGE;
        int r = model_check(m, path, version);
        if (r != 0)
                return r;
        model_lookup(m, path, &n);
        memcpy(n->value, value, len);
        n->st.value_len = (uint32_t) len;
        n->st.version++;
        n->st.modified_op = op;
        return 0;
}

static int model_delete(struct model *m, const char *path, uint64_t version, bool recursive) {
        struct mnode *n;
        int r = model_lookup(m, path, &n);
        if (r != 0)
                return r;
        if (strcmp(path, "/") == 0)
                return TREE_ERR_ROOT;
        r = model_check(m, path, version);
        if (r != 0)
                return r;
        if (n->st.num_children > 0 && !recursive)
                return TREE_ERR_NOT_EMPTY;

        char top[PATH_BUF], parent[PATH_BUF];
        snprintf(top, sizeof(top), "%s", path);
        parent_of(top, parent);
        struct mnode *p = model_find(m, parent);
        p->st.cversion++;
        p->st.num_children--;
        size_t k = 0;
        for (size_t i = 0; i < m->n; i++)
                if (!is_descendant_or_self(top, m->v[i].path))
                        m->v[k++] = m->v[i];
        m->n = k;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Child names of path in strcmp order, as pointers into the model. */
static size_t model_children(struct model *m, const char *path, const char **names, struct mnode **nodes) {
        size_t k = 0, plen = strcmp(path, "/") == 0 ? 0 : strlen(path);
        for (size_t i = 0; i < m->n; i++)
                if (is_child(path, m->v[i].path))
                        names[k++] = m->v[i].path + plen + 1;
        qsort(names, k, sizeof(*names), cmp_str);
        for (size_t i = 0; i < k; i++) {
                char full[64];
                snprintf(full, sizeof(full), "%s/%s", plen ? path : "", names[i]);
                nodes[i] = model_find(m, full);
        }
        return k;
}

static void assert_stat_eq(const struct tree_stat *a, const struct tree_stat *b) {
        ck_assert_uint_eq(a->version, b->version);
        ck_assert_uint_eq(a->cversion, b->cversion);
        ck_assert_uint_eq(a->created_op, b->created_op);
        ck_assert_uint_eq(a->modified_op, b->modified_op);
        ck_assert_uint_eq(a->num_children, b->num_children);
        ck_assert_uint_eq(a->value_len, b->value_len);
}

struct listing {
        char names[1024][MAX_PATH + 1];
        struct tree_stat stats[1024];
        size_t n;
};

static int collect(void *ctx, const char *name, const struct tree_stat *st) {
        struct listing *l = ctx;
        ck_assert_uint_lt(l->n, 1024);
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
        l->stats[l->n++] = *st;
        return 0;
}

static void assert_listing(struct tree *t, struct model *m, const char *path) {
        static struct listing l;
        const char *names[1024];
        struct mnode *nodes[1024];
        struct mnode *n;

        l.n = 0;
        int expect = model_lookup(m, path, &n);
        ck_assert_int_eq(tree_list(t, path, collect, &l), expect);
        if (expect != 0)
                return;
        size_t k = model_children(m, path, names, nodes);
        ck_assert_uint_eq(l.n, k);
        for (size_t i = 0; i < k; i++) {
                ck_assert_str_eq(l.names[i], names[i]);
                assert_stat_eq(&l.stats[i], &nodes[i]->st);
        }
}

static void assert_get(struct tree *t, struct model *m, const char *path) {
        struct mnode *n;
        const void *v;
        struct tree_stat st;
        int expect = model_lookup(m, path, &n);

        ck_assert_int_eq(tree_get(t, path, &v, &st), expect);
        ck_assert_int_eq(tree_exists(t, path, NULL), expect);
        if (expect != 0)
                return;
        assert_stat_eq(&st, &n->st);
        ck_assert(st.value_len == 0 || memcmp(v, n->value, st.value_len) == 0);
}

/* Paths: mostly near existing nodes, some random, some malformed. */
static void random_path(struct model *m, char *out, bool for_create) {
        static const char *const names[] = { "a", "b", "c", "aa", "b.", "x-y", ".d", "Z" };
        static const char *const odd[] = { "/", "", "/a/", "//a", "/./b", "/a/..", "a", "/a//b",
                                           "/012345678901234567890123", "/.", "/b/." };
        size_t r = rndn(10);

        if (r < 6) {
                const char *base = m->v[rndn(m->n)].path;
                if (for_create || rndn(4) == 0)
                        snprintf(out, PATH_BUF, "%s/%s", strcmp(base, "/") == 0 ? "" : base, names[rndn(ELEMENTSOF(names))]);
                else
                        snprintf(out, PATH_BUF, "%s", base);
        } else if (r < 9) {
                size_t depth = 1 + rndn(3), len = 0;
                for (size_t i = 0; i < depth; i++)
                        len += (size_t) snprintf(out + len, PATH_BUF - len, "/%s", names[rndn(ELEMENTSOF(names))]);
        } else
                snprintf(out, PATH_BUF, "%s", odd[rndn(ELEMENTSOF(odd))]);
}

static uint64_t random_version(struct model *m, const char *path) {
        struct mnode *n = model_find(m, path);
        if (rndn(2) == 0)
                return TREE_ANY_VERSION;
        return n ? n->st.version + (rndn(4) == 0) : rndn(3);
}

struct gen_op {
        struct tree_op op;
        char path[PATH_BUF];
        uint8_t value[MAX_VALUE + 2];
};

static void random_change(struct model *m, struct gen_op *g, bool in_multi) {
        size_t r = rndn(in_multi ? 10 : 8);

        g->op = (struct tree_op) { .path = g->path, .value = g->value, .value_len = rndn(MAX_VALUE + 2) };
        for (size_t i = 0; i < sizeof(g->value); i++)
                g->value[i] = (uint8_t) rnd();
        if (r < 4) {
                g->op.kind = TREE_OP_CREATE;
                g->op.flags = rndn(6) == 0 ? TREE_CREATE_SEQUENTIAL : 0;
                random_path(m, g->path, true);
                if (g->op.flags && rndn(3) == 0)
                        strcat(g->path, "/");
        } else if (r < 6) {
                g->op.kind = TREE_OP_SET;
                random_path(m, g->path, false);
                g->op.version = random_version(m, g->path);
        } else if (r < 8) {
                g->op.kind = TREE_OP_DELETE;
                random_path(m, g->path, false);
                g->op.version = random_version(m, g->path);
                g->op.flags = rndn(3) == 0 ? TREE_DELETE_RECURSIVE : 0;
        } else {
                g->op.kind = TREE_OP_CHECK;
                random_path(m, g->path, false);
                g->op.version = random_version(m, g->path);
        }
}

static int model_apply(struct model *m, uint64_t op, const struct tree_op *o, char *created) {
        created[0] = 0;
        switch (o->kind) {
        case TREE_OP_CREATE:
                return model_create(m, op, o->path, o->value, o->value_len, o->flags & TREE_CREATE_SEQUENTIAL, created);
        case TREE_OP_SET:
                return model_set(m, op, o->path, o->value, o->value_len, o->version);
        case TREE_OP_DELETE:
                return model_delete(m, o->path, o->version, o->flags & TREE_DELETE_RECURSIVE);
        default:
                return model_check(m, o->path, o->version);
        }
}

/* One random change, applied to the model and to each tree; all must agree. */
static void step_change(struct model *m, struct tree **trees, size_t ntrees, uint64_t op) {
        struct gen_op g;
        char created[MAX_PATH + 1];

        random_change(m, &g, false);
        int expect = model_apply(m, op, &g.op, created);
        for (size_t i = 0; i < ntrees; i++) {
                struct tree_op_result res;
                size_t failed = 99;
                int r = tree_multi(trees[i], op, &g.op, 1, &res, &failed);
                ck_assert_int_eq(r, expect);
                if (r == 0 && g.op.kind == TREE_OP_CREATE) {
                        ck_assert_str_eq(res.path, created);
                        ck_assert_int_eq(tree_exists(trees[i], created, &res.stat), 0);
                        assert_stat_eq(&res.stat, &model_find(m, created)->st);
                }
                free(res.path);
        }
}

static void step_multi(struct model *m, struct tree **trees, size_t ntrees, uint64_t op) {
        struct gen_op g[MAX_OPS + 1];
        struct tree_op ops[MAX_OPS + 1];
        char created[MAX_OPS + 1][MAX_PATH + 1];
        size_t n = 1 + rndn(MAX_OPS + 1), expect_failed = 0;
        struct model copy;
        int expect = 0;

        /* Ops are generated against the original model; they may refer to each other's paths. */
        for (size_t i = 0; i < n; i++) {
                random_change(m, &g[i], true);
                if (i > 0 && rndn(3) == 0)
                        snprintf(g[i].path, sizeof(g[i].path), "%s", g[i - 1].path);
                ops[i] = g[i].op;
                ops[i].path = g[i].path;
        }
        model_copy(&copy, m);
        if (n > MAX_OPS) {
                expect = TREE_ERR_TOO_MANY_OPS;
                expect_failed = MAX_OPS;
        } else
                for (size_t i = 0; i < n; i++) {
                        expect = model_apply(&copy, op, &ops[i], created[i]);
                        if (expect != 0) {
                                expect_failed = i;
                                break;
                        }
                }
        for (size_t t = 0; t < ntrees; t++) {
                struct tree_op_result res[MAX_OPS + 1];
                size_t failed = 99;
                ck_assert_int_eq(tree_multi(trees[t], op, ops, n, res, &failed), expect);
                if (expect != 0)
                        ck_assert_uint_eq(failed, expect_failed);
                for (size_t i = 0; i < n; i++) {
                        if (expect == 0 && ops[i].kind == TREE_OP_CREATE)
                                ck_assert_str_eq(res[i].path, created[i]);
                        else
                                ck_assert_ptr_null(res[i].path);
                        free(res[i].path);
                }
        }
        if (expect == 0) {
                free(m->v);
                *m = copy;
        } else
                free(copy.v);
}

static void assert_same_snapshot(const struct tree *a, const struct tree *b) {
        struct snapbuf sa;
        ck_assert_int_eq(snapbuf_take(a, &sa), 0);
        ck_assert(snapbuf_same(b, &sa));
        snapbuf_done(&sa);
}

static struct tree *restored_copy(struct tree *t, uint64_t hash_seed) {
        struct tree_options o = { .limits = *tree_get_limits(t), .hash_seed = hash_seed };
        struct snapbuf s;
        struct tree *c;

        ck_assert_int_eq(tree_new(&o, &c), 0);
        ck_assert_int_eq(snapbuf_take(t, &s), 0);
        ck_assert_int_eq(snapbuf_restore(c, &s), 0);
        snapbuf_done(&s);
        assert_same_snapshot(t, c);
        return c;
}

/* Runs one seeded history; returns the checksum-free digest of the final snapshot bytes. */
static uint64_t run_seed(uint64_t seed) {
        struct tree_options o = { .limits = { .max_value = MAX_VALUE, .max_path = MAX_PATH, .max_multi_ops = MAX_OPS } };
        struct tree *trees[2] = {};
        size_t ntrees = 1;
        struct model m;
        char path[PATH_BUF];

        rng_state = seed;
        model_init(&m);
        ck_assert_int_eq(tree_new(&o, &trees[0]), 0);

        for (uint64_t op = 1; op <= OPS_PER_SEED; op++) {
                size_t r = rndn(100);
                if (r < 55)
                        step_change(&m, trees, ntrees, op);
                else if (r < 65)
                        step_multi(&m, trees, ntrees, op);
                else if (r < 85) {
                        random_path(&m, path, false);
                        for (size_t i = 0; i < ntrees; i++)
                                assert_get(trees[i], &m, path);
                } else if (r < 99) {
                        random_path(&m, path, false);
                        for (size_t i = 0; i < ntrees; i++)
                                assert_listing(trees[i], &m, path);
                } else {
                        /* Snapshot point: a restored copy with another hash seed follows along. */
                        if (trees[1]) {
                                assert_same_snapshot(trees[0], trees[1]);
                                tree_free(trees[1]);
                        }
                        trees[1] = restored_copy(trees[0], rnd());
                        ntrees = 2;
                }
                ck_assert_uint_eq(tree_count(trees[0]), m.n);
        }

        for (size_t i = 0; i < m.n; i++)
                for (size_t k = 0; k < ntrees; k++) {
                        assert_listing(trees[k], &m, m.v[i].path);
                        assert_get(trees[k], &m, m.v[i].path);
                }
        if (trees[1])
                assert_same_snapshot(trees[0], trees[1]);

        struct snapbuf s;
        ck_assert_int_eq(snapbuf_take(trees[0], &s), 0);
        uint64_t digest = 1469598103934665603ULL;
        for (size_t i = 0; i < s.len; i++)
                digest = (digest ^ s.data[i]) * 1099511628211ULL;
        snapbuf_done(&s);
        tree_free(trees[0]);
        tree_free(trees[1]);
        free(m.v);
        return digest;
}

START_TEST(test_model) {
        uint64_t seed = 0x5eed0000u + (uint64_t) _i;
        uint64_t a = run_seed(seed);
        /* The same history gives the same bytes. */
        ck_assert_uint_eq(run_seed(seed), a);
}
END_TEST

static Suite *model_suite(void) {
        Suite *s = suite_create("tree-model");
        TCase *tc = tcase_create("model");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_model, 0, 8);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(model_suite());
}
