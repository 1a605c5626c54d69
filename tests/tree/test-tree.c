/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"
#include "tree/tree.h"
#include "util/cleanup.h"
#include "../check-run.h"

static struct tree *new_tree(void) {
        struct tree *t;
        ck_assert_int_eq(tree_new(NULL, &t), 0);
        return t;
}

static struct tree *new_tree_limits(size_t max_value, size_t max_path, size_t max_ops) {
        struct tree_options o = { .limits = { .max_value = max_value, .max_path = max_path, .max_multi_ops = max_ops } };
        struct tree *t;
        ck_assert_int_eq(tree_new(&o, &t), 0);
        return t;
}

static void mk(struct tree *t, uint64_t op, const char *path, const char *value) {
        ck_assert_int_eq(tree_create(t, op, path, value, value ? strlen(value) : 0, 0, NULL, NULL), 0);
}

static void assert_value(const struct tree *t, const char *path, const char *expect) {
        const void *v;
        struct tree_stat st;
        ck_assert_int_eq(tree_get(t, path, &v, &st), 0);
        ck_assert_uint_eq(st.value_len, strlen(expect));
        ck_assert(st.value_len == 0 ? v == NULL : memcmp(v, expect, st.value_len) == 0);
}

START_TEST(test_error_codes_are_stable) {
        /* Wire format: these numbers must never change. */
        ck_assert_int_eq(TREE_ERR_NO_NODE, 1);
        ck_assert_int_eq(TREE_ERR_NODE_EXISTS, 2);
        ck_assert_int_eq(TREE_ERR_BAD_VERSION, 3);
        ck_assert_int_eq(TREE_ERR_NOT_EMPTY, 4);
        ck_assert_int_eq(TREE_ERR_BAD_PATH, 5);
        ck_assert_int_eq(TREE_ERR_VALUE_TOO_LARGE, 6);
        ck_assert_int_eq(TREE_ERR_TOO_MANY_OPS, 7);
        ck_assert_int_eq(TREE_ERR_PARENT_MISSING, 8);
        ck_assert_int_eq(TREE_ERR_BAD_REQUEST, 9);
        ck_assert_int_eq(TREE_ERR_ROOT, 10);

        ck_assert_ptr_null(tree_error_name(TREE_OK));
        ck_assert_str_eq(tree_error_name(TREE_ERR_NO_NODE), "NoNode");
        ck_assert_str_eq(tree_error_name(TREE_ERR_BAD_PATH), "BadPath");
        ck_assert_str_eq(tree_error_message(TREE_ERR_NO_NODE), "no such node");
        for (int i = 1; i < _TREE_ERR_MAX; i++) {
                ck_assert_ptr_nonnull(tree_error_name(i));
                ck_assert_ptr_nonnull(tree_error_message(i));
                for (int j = 1; j < i; j++)
                        ck_assert_str_ne(tree_error_name(i), tree_error_name(j));
        }
        ck_assert_ptr_null(tree_error_name(_TREE_ERR_MAX));
        ck_assert_ptr_null(tree_error_name(-1));
        ck_assert_str_eq(tree_error_message(1000), "unknown error");
}
END_TEST

START_TEST(test_bad_limits) {
        struct tree *t = NULL;
        struct tree_options o = { .limits = TREE_LIMITS_DEFAULT };

        o.limits.max_path = TREE_MAX_PATH_CEILING + 1;
        ck_assert_int_eq(tree_new(&o, &t), -EINVAL);
        o.limits = TREE_LIMITS_DEFAULT;
        o.limits.max_value = TREE_MAX_VALUE_CEILING + 1;
        ck_assert_int_eq(tree_new(&o, &t), -EINVAL);
        o.limits = TREE_LIMITS_DEFAULT;
        o.limits.max_multi_ops = 0;
        ck_assert_int_eq(tree_new(&o, &t), -EINVAL);
        ck_assert_ptr_null(t);

        _cleanup_(tree_freep) struct tree *d = new_tree();
        ck_assert_uint_eq(tree_get_limits(d)->max_value, 1024 * 1024);
        ck_assert_uint_eq(tree_get_limits(d)->max_path, 4096);
}
END_TEST

START_TEST(test_root) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        struct tree_stat st;
        const void *v = (const void *) 1;

        ck_assert_uint_eq(tree_count(t), 1);
        ck_assert_int_eq(tree_get(t, "/", &v, &st), 0);
        ck_assert_ptr_null(v);
        ck_assert_uint_eq(st.version, 0);
        ck_assert_uint_eq(st.num_children, 0);
        ck_assert_int_eq(tree_create(t, 1, "/", NULL, 0, 0, NULL, NULL), TREE_ERR_NODE_EXISTS);
        ck_assert_int_eq(tree_delete(t, "/", TREE_ANY_VERSION, 0), TREE_ERR_ROOT);
        ck_assert_int_eq(tree_delete(t, "/", TREE_ANY_VERSION, TREE_DELETE_RECURSIVE), TREE_ERR_ROOT);
        ck_assert_int_eq(tree_set(t, 2, "/", "r", 1, 0, &st), 0);
        ck_assert_uint_eq(st.version, 1);
        ck_assert_uint_eq(st.modified_op, 2);
        assert_value(t, "/", "r");
}
END_TEST

START_TEST(test_create_and_get) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        _cleanup_free_ char *path = NULL;
        struct tree_stat st, pst;

        ck_assert_int_eq(tree_create(t, 7, "/a", "hello", 5, 0, &path, &st), 0);
        ck_assert_str_eq(path, "/a");
        ck_assert_uint_eq(st.created_op, 7);
        ck_assert_uint_eq(st.modified_op, 7);
        ck_assert_uint_eq(st.version, 0);
        ck_assert_uint_eq(st.cversion, 0);
        ck_assert_uint_eq(st.value_len, 5);
        assert_value(t, "/a", "hello");

        mk(t, 8, "/a/b", "");
        assert_value(t, "/a/b", "");
        ck_assert_int_eq(tree_exists(t, "/a", &pst), 0);
        ck_assert_uint_eq(pst.num_children, 1);
        ck_assert_uint_eq(pst.cversion, 1);
        ck_assert_uint_eq(pst.modified_op, 7); /* a child is not a change of the value */
        ck_assert_uint_eq(tree_count(t), 3);

        ck_assert_int_eq(tree_get(t, "/b", NULL, NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_exists(t, "/a/b/c", NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_create(t, 9, "/a", "x", 1, 0, NULL, NULL), TREE_ERR_NODE_EXISTS);
        ck_assert_int_eq(tree_create(t, 9, "/x/y", "x", 1, 0, NULL, NULL), TREE_ERR_PARENT_MISSING);
        ck_assert_int_eq(tree_create(t, 9, "/a", "x", 1, 1u << 5, NULL, NULL), TREE_ERR_BAD_REQUEST);
        assert_value(t, "/a", "hello");

        /* Binary values with NUL bytes are kept whole. */
        ck_assert_int_eq(tree_create(t, 10, "/bin", "a\0b", 3, 0, NULL, &st), 0);
        const void *v;
        ck_assert_int_eq(tree_get(t, "/bin", &v, &st), 0);
        ck_assert_uint_eq(st.value_len, 3);
        ck_assert(memcmp(v, "a\0b", 3) == 0);
}
END_TEST

START_TEST(test_value_too_large) {
        _cleanup_(tree_freep) struct tree *t = new_tree_limits(4, 4096, 8);
        struct snapbuf before;

        ck_assert_int_eq(tree_create(t, 1, "/a", "1234", 4, 0, NULL, NULL), 0);
        ck_assert_int_eq(snapbuf_take(t, &before), 0);
        ck_assert_int_eq(tree_create(t, 2, "/b", "12345", 5, 0, NULL, NULL), TREE_ERR_VALUE_TOO_LARGE);
        ck_assert_int_eq(tree_set(t, 2, "/a", "12345", 5, TREE_ANY_VERSION, NULL), TREE_ERR_VALUE_TOO_LARGE);
        ck_assert(snapbuf_same(t, &before));
        snapbuf_done(&before);

        /* The default limit is 1 MiB exactly. */
        _cleanup_(tree_freep) struct tree *d = new_tree();
        _cleanup_free_ char *big = calloc(1, 1024 * 1024 + 1);
        ck_assert_int_eq(tree_create(d, 1, "/big", big, 1024 * 1024, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(d, 1, "/big2", big, 1024 * 1024 + 1, 0, NULL, NULL), TREE_ERR_VALUE_TOO_LARGE);
}
END_TEST

START_TEST(test_bad_paths) {
        _cleanup_(tree_freep) struct tree *t = new_tree_limits(16, 16, 8);
        static const char *const bad[] = {
                "", "a", "a/b", "//", "/a/", "/a//b", "//a", "/.", "/..", "/a/.", "/a/..",
                "/./a", "/../a", "/a/./b", "/a/../b", "/0123456789abcdef", /* 17 bytes > 16 */
        };

        mk(t, 1, "/a", NULL);
        mk(t, 2, "/a/b", NULL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *p = bad[i];
                ck_assert_msg(tree_create(t, 3, p, NULL, 0, 0, NULL, NULL) == TREE_ERR_BAD_PATH, "create %s", p);
                ck_assert_msg(tree_get(t, p, NULL, NULL) == TREE_ERR_BAD_PATH, "get %s", p);
                ck_assert_msg(tree_exists(t, p, NULL) == TREE_ERR_BAD_PATH, "exists %s", p);
                ck_assert_msg(tree_set(t, 3, p, NULL, 0, TREE_ANY_VERSION, NULL) == TREE_ERR_BAD_PATH, "set %s", p);
                ck_assert_msg(tree_delete(t, p, TREE_ANY_VERSION, 0) == TREE_ERR_BAD_PATH, "delete %s", p);
                ck_assert_msg(tree_list(t, p, NULL, NULL) == TREE_ERR_BAD_PATH, "list %s", p);
                ck_assert_msg(tree_path_check(t, p, strlen(p), false) == TREE_ERR_BAD_PATH, "check %s", p);
        }
        ck_assert_int_eq(tree_get(t, NULL, NULL, NULL), TREE_ERR_BAD_PATH);
        /* Names that merely contain dots are fine. */
        mk(t, 4, "/...", NULL);
        mk(t, 5, "/a/.b", NULL);
        mk(t, 6, "/a/b..", NULL);
        /* Exactly at the limit is fine. */
        mk(t, 7, "/0123456789abcde", NULL);

        /* NUL inside a byte string (what the wire may carry). */
        ck_assert_int_eq(tree_path_check(t, "/a\0b", 4, false), TREE_ERR_BAD_PATH);
        ck_assert_int_eq(tree_path_check(t, "/a", 2, false), 0);
        ck_assert_int_eq(tree_path_check(t, "/", 1, false), 0);
        ck_assert_int_eq(tree_path_check(t, "/a/", 3, true), 0);
        ck_assert_int_eq(tree_path_check(t, "/a/", 3, false), TREE_ERR_BAD_PATH);
        ck_assert_uint_eq(tree_count(t), 7);
}
END_TEST

START_TEST(test_sequential) {
        _cleanup_(tree_freep) struct tree *t = new_tree_limits(16, 24, 8);
        char *p;

        mk(t, 1, "/q", NULL);
        ck_assert_int_eq(tree_create(t, 2, "/q/job-", "x", 1, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/q/job-0000000000");
        free(p);
        ck_assert_int_eq(tree_create(t, 3, "/q/job-", "y", 1, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/q/job-0000000001");
        free(p);
        assert_value(t, "/q/job-0000000001", "y");

        /* The counter is the parent's cversion, which deletes advance too: names never repeat. */
        ck_assert_int_eq(tree_delete(t, "/q/job-0000000001", TREE_ANY_VERSION, 0), 0);
        ck_assert_int_eq(tree_create(t, 4, "/q/", NULL, 0, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/q/0000000003");
        free(p);
        ck_assert_int_eq(tree_create(t, 5, "/", NULL, 0, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/0000000001");
        free(p);
        /* A dot name is a fine prefix. */
        ck_assert_int_eq(tree_create(t, 6, "/q/.", NULL, 0, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/q/.0000000004");
        free(p);

        /* The next name is taken by a plain create. */
        mk(t, 7, "/q/n0000000006", NULL); /* cversion becomes 6 */
        ck_assert_int_eq(tree_create(t, 8, "/q/n", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), TREE_ERR_NODE_EXISTS);
        ck_assert_int_eq(tree_create(t, 8, "/nope/n", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), TREE_ERR_PARENT_MISSING);
        /* 14 + 10 digits = 24 is the limit; one more is too long. */
        mk(t, 9, "/q/abcdefghij", NULL);
        ck_assert_int_eq(tree_create(t, 10, "/q/abcdefghij/", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 10, "/q/abcdefghij/x", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), TREE_ERR_BAD_PATH);
        ck_assert_int_eq(tree_create(t, 10, "/q//", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), TREE_ERR_BAD_PATH);
}
END_TEST

START_TEST(test_set) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        struct tree_stat st;

        mk(t, 1, "/a", "v0");
        ck_assert_int_eq(tree_set(t, 2, "/a", "v1", 2, TREE_ANY_VERSION, &st), 0);
        ck_assert_uint_eq(st.version, 1);
        ck_assert_uint_eq(st.modified_op, 2);
        ck_assert_uint_eq(st.created_op, 1);
        ck_assert_int_eq(tree_set(t, 3, "/a", "v2", 2, 1, &st), 0);
        ck_assert_uint_eq(st.version, 2);
        ck_assert_int_eq(tree_set(t, 4, "/a", "v3", 2, 1, &st), TREE_ERR_BAD_VERSION);
        assert_value(t, "/a", "v2");
        ck_assert_int_eq(tree_exists(t, "/a", &st), 0);
        ck_assert_uint_eq(st.version, 2);
        ck_assert_uint_eq(st.modified_op, 3);
        ck_assert_int_eq(tree_set(t, 5, "/a", NULL, 0, 2, &st), 0);
        assert_value(t, "/a", "");
        ck_assert_int_eq(tree_set(t, 6, "/b", "x", 1, TREE_ANY_VERSION, NULL), TREE_ERR_NO_NODE);
}
END_TEST

START_TEST(test_delete) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        struct tree_stat st;
        struct snapbuf before;

        mk(t, 1, "/a", NULL);
        mk(t, 2, "/a/b", NULL);
        mk(t, 3, "/a/b/c", NULL);
        mk(t, 4, "/a/d", NULL);
        mk(t, 5, "/e", NULL);
        ck_assert_int_eq(tree_set(t, 6, "/e", "x", 1, TREE_ANY_VERSION, NULL), 0);

        ck_assert_int_eq(snapbuf_take(t, &before), 0);
        ck_assert_int_eq(tree_delete(t, "/a", TREE_ANY_VERSION, 0), TREE_ERR_NOT_EMPTY);
        ck_assert_int_eq(tree_delete(t, "/e", 0, 0), TREE_ERR_BAD_VERSION);
        ck_assert_int_eq(tree_delete(t, "/a", 5, TREE_DELETE_RECURSIVE), TREE_ERR_BAD_VERSION);
        ck_assert_int_eq(tree_delete(t, "/x", TREE_ANY_VERSION, 0), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_delete(t, "/e", TREE_ANY_VERSION, 1u << 4), TREE_ERR_BAD_REQUEST);
        ck_assert(snapbuf_same(t, &before));
        snapbuf_done(&before);

        ck_assert_int_eq(tree_delete(t, "/e", 1, 0), 0);
        ck_assert_int_eq(tree_exists(t, "/e", NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_exists(t, "/", &st), 0);
        ck_assert_uint_eq(st.num_children, 1);
        ck_assert_uint_eq(st.cversion, 3);

        ck_assert_int_eq(tree_delete(t, "/a", 0, TREE_DELETE_RECURSIVE), 0);
        ck_assert_uint_eq(tree_count(t), 1);
        ck_assert_int_eq(tree_exists(t, "/a/b/c", NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_exists(t, "/a/d", NULL), TREE_ERR_NO_NODE);
        /* The names are free again. */
        mk(t, 7, "/a", NULL);
        mk(t, 8, "/a/b", NULL);
        ck_assert_int_eq(tree_exists(t, "/a/b", &st), 0);
        ck_assert_uint_eq(st.created_op, 8);
}
END_TEST

struct listing {
        char names[64][16];
        struct tree_stat stats[64];
        size_t n;
        size_t stop_after;
};

static int collect(void *ctx, const char *name, const struct tree_stat *st) {
        struct listing *l = ctx;
        if (l->stop_after && l->n == l->stop_after)
                return -ECANCELED;
        ck_assert_uint_lt(l->n, 64);
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
        l->stats[l->n++] = *st;
        return 0;
}

START_TEST(test_list) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        static const char *const names[] = { "m", "b", "z", "a", "ab", "B", "aa", "0", "~", "y1", "y0", "c" };
        static const char *const sorted[] = { "0", "B", "a", "aa", "ab", "b", "c", "m", "y0", "y1", "z", "~" };
        char path[32];
        struct listing l = {};

        mk(t, 1, "/d", NULL);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof(path), "/d/%s", names[i]);
                ck_assert_int_eq(tree_create(t, 10 + i, path, names[i], strlen(names[i]), 0, NULL, NULL), 0);
        }
        ck_assert_int_eq(tree_list(t, "/d", collect, &l), 0);
        ck_assert_uint_eq(l.n, ELEMENTSOF(sorted));
        for (size_t i = 0; i < l.n; i++) {
                ck_assert_str_eq(l.names[i], sorted[i]);
                ck_assert_uint_eq(l.stats[i].value_len, strlen(sorted[i]));
        }
        ck_assert_uint_eq(l.stats[0].created_op, 17); /* "0" was the 8th */

        /* Removing from the middle keeps the order. */
        ck_assert_int_eq(tree_delete(t, "/d/b", TREE_ANY_VERSION, 0), 0);
        ck_assert_int_eq(tree_delete(t, "/d/0", TREE_ANY_VERSION, 0), 0);
        l = (struct listing) {};
        ck_assert_int_eq(tree_list(t, "/d", collect, &l), 0);
        ck_assert_uint_eq(l.n, ELEMENTSOF(sorted) - 2);
        ck_assert_str_eq(l.names[0], "B");
        ck_assert_str_eq(l.names[4], "c");

        l = (struct listing) { .stop_after = 3 };
        ck_assert_int_eq(tree_list(t, "/d", collect, &l), -ECANCELED);
        ck_assert_uint_eq(l.n, 3);

        l = (struct listing) {};
        ck_assert_int_eq(tree_list(t, "/d/m", collect, &l), 0);
        ck_assert_uint_eq(l.n, 0);
        ck_assert_int_eq(tree_list(t, "/nope", collect, &l), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_list(t, "/", collect, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_str_eq(l.names[0], "d");
}
END_TEST

START_TEST(test_multi_success) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        struct tree_op_result res[5];
        size_t failed = 99;

        mk(t, 1, "/x", "old");
        const struct tree_op ops[] = {
                { .kind = TREE_OP_CREATE, .path = "/a", .value = "A", .value_len = 1 },
                { .kind = TREE_OP_CREATE, .path = "/a/s-", .flags = TREE_CREATE_SEQUENTIAL },
                { .kind = TREE_OP_SET, .path = "/x", .value = "new", .value_len = 3, .version = 0 },
                { .kind = TREE_OP_CHECK, .path = "/x", .version = 1 },
                { .kind = TREE_OP_DELETE, .path = "/a/s-0000000000", .version = TREE_ANY_VERSION },
        };
        ck_assert_int_eq(tree_multi(t, 5, ops, ELEMENTSOF(ops), res, &failed), 0);
        ck_assert_uint_eq(failed, 99);
        ck_assert_str_eq(res[0].path, "/a");
        ck_assert_str_eq(res[1].path, "/a/s-0000000000");
        ck_assert_ptr_null(res[2].path);
        ck_assert_uint_eq(res[2].stat.version, 1);
        ck_assert_uint_eq(res[2].stat.modified_op, 5);
        ck_assert_uint_eq(res[0].stat.created_op, 5);
        for (size_t i = 0; i < ELEMENTSOF(res); i++)
                free(res[i].path);

        assert_value(t, "/a", "A");
        assert_value(t, "/x", "new");
        ck_assert_int_eq(tree_exists(t, "/a/s-0000000000", NULL), TREE_ERR_NO_NODE);
        ck_assert_uint_eq(tree_count(t), 3);

        /* An empty multi is a successful no-op. */
        ck_assert_int_eq(tree_multi(t, 6, NULL, 0, NULL, NULL), 0);
}
END_TEST

static void assert_multi_refused(struct tree *t, const struct tree_op *ops, size_t n, int error, size_t index) {
        struct snapbuf before;
        struct tree_op_result res[16];
        size_t failed = 999;

        ck_assert_uint_le(n, ELEMENTSOF(res));
        ck_assert_int_eq(snapbuf_take(t, &before), 0);
        ck_assert_int_eq(tree_multi(t, 100, ops, n, res, &failed), error);
        ck_assert_uint_eq(failed, index);
        for (size_t i = 0; i < n; i++)
                ck_assert_ptr_null(res[i].path);
        ck_assert(snapbuf_same(t, &before));
        snapbuf_done(&before);
}

START_TEST(test_multi_failing_middle_op) {
        _cleanup_(tree_freep) struct tree *t = new_tree();

        mk(t, 1, "/x", "old");
        mk(t, 2, "/tree", NULL);
        mk(t, 3, "/tree/a", "1");
        mk(t, 4, "/tree/a/b", "2");
        mk(t, 5, "/tree/c", "3");
        mk(t, 6, "/q", NULL);

        /* Each kind of op first succeeds and is then undone when a later op fails. */
        const struct tree_op ops[] = {
                { .kind = TREE_OP_CREATE, .path = "/new", .value = "n", .value_len = 1 },
                { .kind = TREE_OP_CREATE, .path = "/new/child" },
                { .kind = TREE_OP_CREATE, .path = "/q/s", .flags = TREE_CREATE_SEQUENTIAL },
                { .kind = TREE_OP_SET, .path = "/x", .value = "changed", .value_len = 7, .version = TREE_ANY_VERSION },
                { .kind = TREE_OP_SET, .path = "/x", .value = "again", .value_len = 5, .version = 1 },
                { .kind = TREE_OP_DELETE, .path = "/tree", .version = TREE_ANY_VERSION, .flags = TREE_DELETE_RECURSIVE },
                { .kind = TREE_OP_CREATE, .path = "/tree" }, /* the name is free inside the multi */
                { .kind = TREE_OP_CHECK, .path = "/x", .version = 2 },
                { .kind = TREE_OP_SET, .path = "/x", .value = "bad", .value_len = 3, .version = 7 },
                { .kind = TREE_OP_CREATE, .path = "/never" },
        };
        assert_multi_refused(t, ops, ELEMENTSOF(ops), TREE_ERR_BAD_VERSION, 8);

        /* The subtree deleted and re-found inside the multi is intact and indexed. */
        assert_value(t, "/tree/a/b", "2");
        assert_value(t, "/tree/c", "3");
        ck_assert_int_eq(tree_exists(t, "/new", NULL), TREE_ERR_NO_NODE);
        /* The undone sequential create gave its number back. */
        char *p;
        ck_assert_int_eq(tree_create(t, 7, "/q/s", NULL, 0, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/q/s0000000000");
        free(p);

        /* Every refusal reason inside a multi. */
        const struct tree_op exists[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_CREATE, .path = "/x" } };
        assert_multi_refused(t, exists, 2, TREE_ERR_NODE_EXISTS, 1);
        const struct tree_op missing[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_CREATE, .path = "/z/z" } };
        assert_multi_refused(t, missing, 2, TREE_ERR_PARENT_MISSING, 1);
        const struct tree_op nonode[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_CHECK, .path = "/z", .version = TREE_ANY_VERSION } };
        assert_multi_refused(t, nonode, 2, TREE_ERR_NO_NODE, 1);
        const struct tree_op notempty[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_DELETE, .path = "/tree", .version = TREE_ANY_VERSION } };
        assert_multi_refused(t, notempty, 2, TREE_ERR_NOT_EMPTY, 1);
        const struct tree_op badpath[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_SET, .path = "/y/", .version = TREE_ANY_VERSION } };
        assert_multi_refused(t, badpath, 2, TREE_ERR_BAD_PATH, 1);
        const struct tree_op root[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = TREE_OP_DELETE, .path = "/", .version = TREE_ANY_VERSION } };
        assert_multi_refused(t, root, 2, TREE_ERR_ROOT, 1);
        const struct tree_op kind[] = { { .kind = TREE_OP_CREATE, .path = "/y" }, { .kind = (enum tree_op_kind) 42, .path = "/y" } };
        assert_multi_refused(t, kind, 2, TREE_ERR_BAD_REQUEST, 1);
        /* A later op sees the earlier ones: deleting what the multi created, then failing. */
        const struct tree_op chain[] = {
                { .kind = TREE_OP_CREATE, .path = "/y" },
                { .kind = TREE_OP_DELETE, .path = "/y", .version = TREE_ANY_VERSION },
                { .kind = TREE_OP_CHECK, .path = "/y", .version = TREE_ANY_VERSION },
        };
        assert_multi_refused(t, chain, 3, TREE_ERR_NO_NODE, 2);
}
END_TEST

START_TEST(test_multi_too_many_ops) {
        _cleanup_(tree_freep) struct tree *t = new_tree_limits(16, 64, 3);
        const struct tree_op ops[] = {
                { .kind = TREE_OP_CREATE, .path = "/a" }, { .kind = TREE_OP_CREATE, .path = "/b" },
                { .kind = TREE_OP_CREATE, .path = "/c" }, { .kind = TREE_OP_CREATE, .path = "/d" },
        };
        struct tree_op_result res[4];
        size_t failed;

        assert_multi_refused(t, ops, 4, TREE_ERR_TOO_MANY_OPS, 3);
        ck_assert_int_eq(tree_multi(t, 1, ops, 3, res, &failed), 0);
        for (size_t i = 0; i < 3; i++)
                free(res[i].path);
        ck_assert_uint_eq(tree_count(t), 4);
        /* Value limit inside a multi. */
        const struct tree_op big[] = { { .kind = TREE_OP_SET, .path = "/a", .value = "0123456789abcdefg", .value_len = 17, .version = TREE_ANY_VERSION } };
        assert_multi_refused(t, big, 1, TREE_ERR_VALUE_TOO_LARGE, 0);
}
END_TEST

START_TEST(test_many_nodes_index) {
        /* Enough nodes to grow the index many times, then delete most and look the rest up. */
        _cleanup_(tree_freep) struct tree *t = new_tree();
        char path[32];

        for (unsigned i = 0; i < 50; i++) {
                snprintf(path, sizeof(path), "/d%u", i);
                mk(t, i, path, NULL);
                for (unsigned j = 0; j < 200; j++) {
                        snprintf(path, sizeof(path), "/d%u/n%u", i, j);
                        mk(t, i, path, NULL);
                }
        }
        ck_assert_uint_eq(tree_count(t), 1 + 50 + 50 * 200);
        for (unsigned i = 0; i < 50; i += 2) {
                snprintf(path, sizeof(path), "/d%u", i);
                ck_assert_int_eq(tree_delete(t, path, TREE_ANY_VERSION, TREE_DELETE_RECURSIVE), 0);
        }
        for (unsigned i = 0; i < 50; i++)
                for (unsigned j = 0; j < 200; j += 7) {
                        snprintf(path, sizeof(path), "/d%u/n%u", i, j);
                        ck_assert_int_eq(tree_exists(t, path, NULL), i % 2 ? 0 : TREE_ERR_NO_NODE);
                }
        ck_assert_uint_eq(tree_count(t), 1 + 25 + 25 * 200);
}
END_TEST

static Suite *tree_suite(void) {
        Suite *s = suite_create("tree");
        TCase *tc = tcase_create("ops");
        tcase_add_test(tc, test_error_codes_are_stable);
        tcase_add_test(tc, test_bad_limits);
        tcase_add_test(tc, test_root);
        tcase_add_test(tc, test_create_and_get);
        tcase_add_test(tc, test_value_too_large);
        tcase_add_test(tc, test_bad_paths);
        tcase_add_test(tc, test_sequential);
        tcase_add_test(tc, test_set);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_multi_success);
        tcase_add_test(tc, test_multi_failing_middle_op);
        tcase_add_test(tc, test_multi_too_many_ops);
        tcase_add_test(tc, test_many_nodes_index);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(tree_suite());
}
