/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Out-of-memory at every allocation an operation makes: linked with --wrap for malloc, calloc,
 * strdup and strndup, so that the n-th allocation from a chosen point fails. Each operation is
 * retried with n = 0, 1, 2, ... until it no longer runs out; every -ENOMEM on the way must have
 * left the tree exactly as it was (and, under the sanitizers, leaked nothing).
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"
#include "tree/tree.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "../check-run.h"

static long countdown = -1; /* allocations left before the one that fails; -1: none fails */
static unsigned injected;

static bool should_fail(void) {
        if (countdown < 0)
                return false;
        if (countdown-- > 0)
                return false;
        injected++;
        return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) {
        return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size) {
        return should_fail() ? NULL : __real_calloc(n, size);
}

char *__wrap_strdup(const char *s) {
        return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n) {
        return should_fail() ? NULL : __real_strndup(s, n);
}

typedef int (*operation_fn)(struct tree *t, void *ctx);

/* Runs op with the n-th allocation failing, for n = 0, 1, ... until it completes; returns how many
 * runs ran out of memory. t, if not NULL, is the tree each failed run must leave unchanged. */
static unsigned exhaust(struct tree *t, operation_fn op, void *ctx, int expect) {
        for (long n = 0;; n++) {
                struct snapbuf before = {};
                if (t)
                        ck_assert_int_eq(snapbuf_take(t, &before), 0);
                injected = 0;
                countdown = n;
                int r = op(t, ctx);
                countdown = -1;
                if (r != -ENOMEM) {
                        ck_assert_int_eq(r, expect);
                        ck_assert_uint_eq(injected, 0);
                        snapbuf_done(&before);
                        return (unsigned) n;
                }
                ck_assert_uint_eq(injected, 1);
                ck_assert_msg(!t || snapbuf_same(t, &before), "state changed by a failed run at allocation %ld", n);
                snapbuf_done(&before);
        }
}

static struct tree *filled(unsigned nodes) {
        struct tree *t;
        char p[32];

        ck_assert_int_eq(tree_new(NULL, &t), 0);
        ck_assert_int_eq(tree_create(t, 1, "/d", "v", 1, 0, NULL, NULL), 0);
        for (unsigned i = 0; i + 2 < nodes; i++) {
                snprintf(p, sizeof(p), "/d/n%u", i);
                ck_assert_int_eq(tree_create(t, 2 + i, p, "v", 1, 0, NULL, NULL), 0);
        }
        ck_assert_uint_eq(tree_count(t), nodes);
        return t;
}

static int op_create(struct tree *t, void *ctx) {
        _cleanup_free_ char *path = NULL;
        return tree_create(t, 100, ctx, "value", 5, 0, &path, NULL);
}

static int op_create_sequential(struct tree *t, void *ctx) {
        _cleanup_free_ char *path = NULL;
        return tree_create(t, 100, "/d/s-", "value", 5, TREE_CREATE_SEQUENTIAL, &path, NULL);
}

static int op_set(struct tree *t, void *ctx) {
        return tree_set(t, 100, "/d/n1", "new value", 9, TREE_ANY_VERSION, NULL);
}

static int op_multi(struct tree *t, void *ctx) {
        const struct tree_op ops[] = {
                { .kind = TREE_OP_SET, .path = "/d/n0", .value = "x", .value_len = 1, .version = TREE_ANY_VERSION },
                { .kind = TREE_OP_CREATE, .path = "/m1", .value = "1", .value_len = 1 },
                { .kind = TREE_OP_CREATE, .path = "/m1/s", .flags = TREE_CREATE_SEQUENTIAL },
                { .kind = TREE_OP_DELETE, .path = "/d", .version = TREE_ANY_VERSION, .flags = TREE_DELETE_RECURSIVE },
                { .kind = TREE_OP_CREATE, .path = "/d", .value = "again", .value_len = 5 },
                { .kind = TREE_OP_SET, .path = "/m1", .value = "2", .value_len = 1, .version = 0 },
        };
        struct tree_op_result res[ELEMENTSOF(ops)];
        int r = tree_multi(t, 100, ops, ELEMENTSOF(ops), res, NULL);
        if (r == 0)
                for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                        free(res[i].path);
        return r;
}

START_TEST(test_single_ops) {
        /* 12 nodes fill the index's first 16 slots to its load limit: the next create grows it. */
        _cleanup_(tree_freep) struct tree *t = filled(12);

        ck_assert_uint_ge(exhaust(t, op_create, "/d/new", 0), 3); /* path, index, node (+ value) */
        ck_assert_int_eq(tree_exists(t, "/d/new", NULL), 0);
        ck_assert_uint_ge(exhaust(t, op_create_sequential, NULL, 0), 3);
        ck_assert_int_eq(tree_exists(t, "/d/s-0000000011", NULL), 0);
        ck_assert_uint_ge(exhaust(t, op_set, NULL, 0), 1);
        /* Refusals do not depend on memory: no allocation before them fails them. */
        exhaust(t, op_create, "/d/new", TREE_ERR_NODE_EXISTS);
}
END_TEST

START_TEST(test_multi_rolls_back) {
        _cleanup_(tree_freep) struct tree *t = filled(12);
        unsigned runs = exhaust(t, op_multi, NULL, 0);

        /* Failures struck after earlier ops had been applied, and were undone. */
        ck_assert_uint_ge(runs, 6);
        ck_assert_int_eq(tree_exists(t, "/d/n0", NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_exists(t, "/m1/s0000000000", NULL), 0);
}
END_TEST

static int op_restore(struct tree *t, void *ctx) {
        return snapbuf_restore(t, ctx);
}

static int op_snapshot(struct tree *t, void *ctx) {
        struct snapbuf s;
        int r = snapbuf_take(t, &s);
        snapbuf_done(&s);
        return r;
}

START_TEST(test_restore_and_snapshot) {
        _cleanup_(tree_freep) struct tree *src = filled(40), *t = filled(5);
        struct snapbuf s;

        ck_assert_int_eq(snapbuf_take(src, &s), 0);
        ck_assert_uint_ge(exhaust(t, op_restore, &s, 0), 40);
        ck_assert_uint_eq(tree_count(t), 40);
        snapbuf_done(&s);
        ck_assert_uint_ge(exhaust(t, op_snapshot, NULL, 0), 1);
}
END_TEST

static int op_new(struct tree *unused, void *ctx) {
        struct tree *t;
        int r = tree_new(NULL, &t);
        if (r == 0)
                tree_free(t);
        return r;
}

static int op_sm_apply(struct tree *t, void *ctx) {
        _cleanup_free_ uint8_t *cmd = NULL, *reply = NULL;
        size_t len, reply_len;
        int r;

        /* Encode with allocation failures off: only the replica's side is under test. */
        long saved = countdown;
        countdown = -1;
        ck_assert_int_eq(tree_sm_encode_set("/d/n2", "via sm", 6, TREE_ANY_VERSION, &cmd, &len), 0);
        countdown = saved;
        r = tree_sm_ops.apply(t, 200, cmd, len, &reply, &reply_len);
        if (r < 0)
                return r;
        _cleanup_tree_response_ Viewstamp__TreeResponse *resp = NULL;
        countdown = -1;
        ck_assert_int_eq(tree_sm_decode_reply(reply, reply_len, &resp), 0);
        return (int) resp->error;
}

START_TEST(test_new_and_sm) {
        _cleanup_(tree_freep) struct tree *t = filled(5);

        ck_assert_uint_ge(exhaust(NULL, op_new, NULL, 0), 3); /* tree, index, root */
        /* The reply is packed after the set is applied, so the last allocation is allowed to leave
         * the change in place (sm.h: -ENOMEM stops the replica); every earlier one must not. */
        unsigned runs = 0;
        for (long n = 0;; n++) {
                struct snapbuf before;
                ck_assert_int_eq(snapbuf_take(t, &before), 0);
                countdown = n;
                injected = 0;
                int r = op_sm_apply(t, NULL);
                countdown = -1;
                bool same = snapbuf_same(t, &before);
                snapbuf_done(&before);
                if (r != -ENOMEM) {
                        ck_assert_int_eq(r, 0);
                        break;
                }
                runs++;
                if (!same) {
                        const void *v;
                        struct tree_stat st;
                        ck_assert_int_eq(tree_get(t, "/d/n2", &v, &st), 0);
                        ck_assert(st.value_len == 6 && memcmp(v, "via sm", 6) == 0);
                        ck_assert_int_eq(tree_set(t, 201, "/d/n2", "v", 1, TREE_ANY_VERSION, NULL), 0);
                }
        }
        ck_assert_uint_ge(runs, 3); /* decode, path, value */
}
END_TEST

static Suite *nomem_suite(void) {
        Suite *s = suite_create("tree-nomem");
        TCase *tc = tcase_create("nomem");
        tcase_add_test(tc, test_single_ops);
        tcase_add_test(tc, test_multi_rolls_back);
        tcase_add_test(tc, test_restore_and_snapshot);
        tcase_add_test(tc, test_new_and_sm);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(nomem_suite());
}
