/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "../check-run.h"

static const struct vr_sm_ops *ops = &tree_sm_ops;

/* Applies an encoded command (taking ownership) and returns the decoded reply. */
static Viewstamp__TreeResponse *apply(struct tree *t, uint64_t op, uint8_t *cmd, size_t len) {
        _cleanup_free_ uint8_t *reply = NULL;
        size_t reply_len;
        Viewstamp__TreeResponse *resp;

        ck_assert_int_eq(ops->apply(t, op, cmd, len, &reply, &reply_len), 0);
        free(cmd);
        ck_assert_int_eq(tree_sm_decode_reply(reply, reply_len, &resp), 0);
        return resp;
}

static Viewstamp__TreeResponse *apply_req(struct tree *t, uint64_t op, const Viewstamp__TreeRequest *req) {
        uint8_t *cmd;
        size_t len;
        ck_assert_int_eq(tree_sm_encode(req, &cmd, &len), 0);
        return apply(t, op, cmd, len);
}

static Viewstamp__TreeResponse *do_create(struct tree *t, uint64_t op, const char *path, const char *value, unsigned flags) {
        uint8_t *cmd;
        size_t len;
        ck_assert_int_eq(tree_sm_encode_create(path, value, strlen(value), flags, &cmd, &len), 0);
        return apply(t, op, cmd, len);
}

static Viewstamp__TreeResponse *do_set(struct tree *t, uint64_t op, const char *path, const char *value, uint64_t version) {
        uint8_t *cmd;
        size_t len;
        ck_assert_int_eq(tree_sm_encode_set(path, value, strlen(value), version, &cmd, &len), 0);
        return apply(t, op, cmd, len);
}

/* A get answered by read(), the lease-read path. */
static Viewstamp__TreeResponse *do_read_get(struct tree *t, const char *path) {
        _cleanup_free_ uint8_t *cmd = NULL, *reply = NULL;
        size_t len, reply_len;
        Viewstamp__TreeResponse *resp;

        ck_assert_int_eq(tree_sm_encode_get(path, &cmd, &len), 0);
        ck_assert(ops->is_read_only(t, cmd, len));
        ck_assert_int_eq(ops->read(t, cmd, len, &reply, &reply_len), 0);
        ck_assert_int_eq(tree_sm_decode_reply(reply, reply_len, &resp), 0);
        return resp;
}

static struct tree *new_tree(void) {
        struct tree *t;
        ck_assert_int_eq(tree_new(NULL, &t), 0);
        return t;
}

START_TEST(test_register_workload) {
        /* read / write / cas on a key, as the simulator's checked workload does them. */
        _cleanup_(tree_freep) struct tree *t = new_tree();
        _cleanup_tree_response_ Viewstamp__TreeResponse *c = do_create(t, 1, "/k1", "", 0);
        ck_assert_uint_eq(c->error, 0);
        ck_assert(c->path.len == 3 && memcmp(c->path.data, "/k1", 3) == 0);
        ck_assert_uint_eq(c->stat->created_op, 1);

        _cleanup_tree_response_ Viewstamp__TreeResponse *w = do_set(t, 2, "/k1", "17", TREE_ANY_VERSION);
        ck_assert_uint_eq(w->error, 0);
        ck_assert_uint_eq(w->stat->version, 1);
        ck_assert_uint_eq(w->stat->modified_op, 2);

        _cleanup_tree_response_ Viewstamp__TreeResponse *r = do_read_get(t, "/k1");
        ck_assert_uint_eq(r->error, 0);
        ck_assert(r->value.len == 2 && memcmp(r->value.data, "17", 2) == 0);
        ck_assert_uint_eq(r->stat->version, 1);

        _cleanup_tree_response_ Viewstamp__TreeResponse *cas_ok = do_set(t, 3, "/k1", "18", r->stat->version);
        ck_assert_uint_eq(cas_ok->error, 0);
        _cleanup_tree_response_ Viewstamp__TreeResponse *cas_bad = do_set(t, 4, "/k1", "19", r->stat->version);
        ck_assert_uint_eq(cas_bad->error, TREE_ERR_BAD_VERSION);
        ck_assert_ptr_null(cas_bad->stat);

        _cleanup_tree_response_ Viewstamp__TreeResponse *r2 = do_read_get(t, "/k1");
        ck_assert(r2->value.len == 2 && memcmp(r2->value.data, "18", 2) == 0);
        _cleanup_tree_response_ Viewstamp__TreeResponse *missing = do_read_get(t, "/k2");
        ck_assert_uint_eq(missing->error, TREE_ERR_NO_NODE);
        _cleanup_tree_response_ Viewstamp__TreeResponse *nokey = do_set(t, 5, "/k2", "1", TREE_ANY_VERSION);
        ck_assert_uint_eq(nokey->error, TREE_ERR_NO_NODE);

        _cleanup_tree_response_ Viewstamp__TreeResponse *seq = do_create(t, 6, "/k1/s-", "x", TREE_CREATE_SEQUENTIAL);
        ck_assert(seq->path.len == 16 && memcmp(seq->path.data, "/k1/s-0000000000", 16) == 0);
}
END_TEST

START_TEST(test_read_only_classification) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeGet get = VIEWSTAMP__TREE_GET__INIT;
        Viewstamp__TreeExists ex = VIEWSTAMP__TREE_EXISTS__INIT;
        Viewstamp__TreeList list = VIEWSTAMP__TREE_LIST__INIT;
        Viewstamp__TreeCheck check = VIEWSTAMP__TREE_CHECK__INIT;
        Viewstamp__TreeCreate create = VIEWSTAMP__TREE_CREATE__INIT;
        Viewstamp__TreeSet set = VIEWSTAMP__TREE_SET__INIT;
        Viewstamp__TreeDelete del = VIEWSTAMP__TREE_DELETE__INIT;
        Viewstamp__TreeMulti multi = VIEWSTAMP__TREE_MULTI__INIT;
        uint8_t *cmd, *reply;
        size_t len, reply_len;

        struct {
                Viewstamp__TreeRequest__RequestCase c;
                void *msg;
                bool ro;
        } cases[] = {
                { VIEWSTAMP__TREE_REQUEST__REQUEST_GET, &get, true },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_EXISTS, &ex, true },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_LIST, &list, true },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_CHECK, &check, true },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_CREATE, &create, false },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_SET, &set, false },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_DELETE, &del, false },
                { VIEWSTAMP__TREE_REQUEST__REQUEST_MULTI, &multi, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                req.request_case = cases[i].c;
                req.get = cases[i].msg; /* the oneof members share storage */
                ck_assert_int_eq(tree_sm_encode(&req, &cmd, &len), 0);
                ck_assert_int_eq(ops->is_read_only(t, cmd, len), cases[i].ro);
                if (!cases[i].ro)
                        ck_assert_int_eq(ops->read(t, cmd, len, &reply, &reply_len), -EINVAL);
                free(cmd);
        }
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
        ck_assert(!ops->is_read_only(t, garbage, sizeof(garbage)));
        ck_assert_int_eq(ops->read(t, garbage, sizeof(garbage), &reply, &reply_len), -EINVAL);
}
END_TEST

START_TEST(test_bad_commands) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
        struct snapbuf before;

        ck_assert_int_eq(snapbuf_take(t, &before), 0);
        uint8_t *cmd = malloc(sizeof(garbage));
        memcpy(cmd, garbage, sizeof(garbage));
        _cleanup_tree_response_ Viewstamp__TreeResponse *g = apply(t, 1, cmd, sizeof(garbage));
        ck_assert_uint_eq(g->error, TREE_ERR_BAD_REQUEST);
        /* An empty command decodes, but names no request. */
        _cleanup_tree_response_ Viewstamp__TreeResponse *e = apply(t, 2, malloc(1), 0);
        ck_assert_uint_eq(e->error, TREE_ERR_BAD_REQUEST);

        /* A NUL inside a path is refused, not cut off. */
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeCreate c = VIEWSTAMP__TREE_CREATE__INIT;
        c.path = (ProtobufCBinaryData) { 4, (uint8_t *) "/a\0b" };
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_CREATE;
        req.create = &c;
        _cleanup_tree_response_ Viewstamp__TreeResponse *nul = apply_req(t, 3, &req);
        ck_assert_uint_eq(nul->error, TREE_ERR_BAD_PATH);
        ck_assert_int_eq(tree_exists(t, "/a", NULL), TREE_ERR_NO_NODE);
        /* So is an absent one (no bytes at all: found by fuzz-vr, it reached memchr(NULL)). */
        Viewstamp__TreeCreate no_path = VIEWSTAMP__TREE_CREATE__INIT;
        req.create = &no_path;
        _cleanup_tree_response_ Viewstamp__TreeResponse *none = apply_req(t, 4, &req);
        ck_assert_uint_eq(none->error, TREE_ERR_BAD_PATH);

        ck_assert(snapbuf_same(t, &before));
        snapbuf_done(&before);

        /* Replies decode only as replies. */
        Viewstamp__TreeResponse *resp;
        ck_assert_int_eq(tree_sm_decode_reply(garbage, sizeof(garbage), &resp), -EBADMSG);
}
END_TEST

static ProtobufCBinaryData pb_path(const char *path) {
        return (ProtobufCBinaryData) { strlen(path), (uint8_t *) path };
}

static Viewstamp__TreeResponse *do_list(struct tree *t, uint64_t op, const char *path, bool with_stats) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeList l = VIEWSTAMP__TREE_LIST__INIT;
        l.path = pb_path(path);
        l.with_stats = with_stats;
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_LIST;
        req.list = &l;
        return apply_req(t, op, &req);
}

static Viewstamp__TreeResponse *do_check(struct tree *t, uint64_t op, const char *path, uint64_t version) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeCheck ch = VIEWSTAMP__TREE_CHECK__INIT;
        ch.path = pb_path(path);
        if (version != TREE_ANY_VERSION) {
                ch.expected_case = VIEWSTAMP__TREE_CHECK__EXPECTED_EXPECTED_VERSION;
                ch.expected_version = version;
        }
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_CHECK;
        req.check = &ch;
        return apply_req(t, op, &req);
}

static Viewstamp__TreeResponse *do_exists(struct tree *t, uint64_t op, const char *path) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeExists ex = VIEWSTAMP__TREE_EXISTS__INIT;
        ex.path = pb_path(path);
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_EXISTS;
        req.exists = &ex;
        return apply_req(t, op, &req);
}

static Viewstamp__TreeResponse *do_delete(struct tree *t, uint64_t op, const char *path, uint64_t version, bool recursive) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeDelete d = VIEWSTAMP__TREE_DELETE__INIT;
        d.path = pb_path(path);
        d.recursive = recursive;
        if (version != TREE_ANY_VERSION) {
                d.expected_case = VIEWSTAMP__TREE_DELETE__EXPECTED_EXPECTED_VERSION;
                d.expected_version = version;
        }
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_DELETE;
        req.delete_ = &d;
        return apply_req(t, op, &req);
}

START_TEST(test_delete_exists_list_check) {
        _cleanup_(tree_freep) struct tree *t = new_tree();

        tree_responsep((Viewstamp__TreeResponse *[]) { do_create(t, 1, "/d", "", 0) });
        tree_responsep((Viewstamp__TreeResponse *[]) { do_create(t, 2, "/d/b", "bb", 0) });
        tree_responsep((Viewstamp__TreeResponse *[]) { do_create(t, 3, "/d/a", "a", 0) });

        _cleanup_tree_response_ Viewstamp__TreeResponse *plain = do_list(t, 4, "/d", false);
        ck_assert_uint_eq(plain->n_children, 2);
        ck_assert(plain->children[0]->name.len == 1 && plain->children[0]->name.data[0] == 'a');
        ck_assert(plain->children[1]->name.len == 1 && plain->children[1]->name.data[0] == 'b');
        ck_assert_ptr_null(plain->children[0]->stat);
        _cleanup_tree_response_ Viewstamp__TreeResponse *stats = do_list(t, 5, "/d", true);
        ck_assert_uint_eq(stats->n_children, 2);
        ck_assert_uint_eq(stats->children[1]->stat->value_len, 2);
        ck_assert_uint_eq(stats->children[0]->stat->created_op, 3);
        _cleanup_tree_response_ Viewstamp__TreeResponse *nolist = do_list(t, 6, "/x", false);
        ck_assert_uint_eq(nolist->error, TREE_ERR_NO_NODE);

        _cleanup_tree_response_ Viewstamp__TreeResponse *badv = do_check(t, 7, "/d/a", 1);
        ck_assert_uint_eq(badv->error, TREE_ERR_BAD_VERSION);
        _cleanup_tree_response_ Viewstamp__TreeResponse *anyv = do_check(t, 8, "/d/a", TREE_ANY_VERSION);
        ck_assert_uint_eq(anyv->error, 0);

        _cleanup_tree_response_ Viewstamp__TreeResponse *st = do_exists(t, 9, "/d");
        ck_assert_uint_eq(st->stat->num_children, 2);
        ck_assert_uint_eq(st->stat->cversion, 2);

        _cleanup_tree_response_ Viewstamp__TreeResponse *ne = do_delete(t, 10, "/d", TREE_ANY_VERSION, false);
        ck_assert_uint_eq(ne->error, TREE_ERR_NOT_EMPTY);
        _cleanup_tree_response_ Viewstamp__TreeResponse *bv = do_delete(t, 11, "/d", 3, true);
        ck_assert_uint_eq(bv->error, TREE_ERR_BAD_VERSION);
        _cleanup_tree_response_ Viewstamp__TreeResponse *ok = do_delete(t, 12, "/d", 0, true);
        ck_assert_uint_eq(ok->error, 0);
        ck_assert_uint_eq(tree_count(t), 1);
}
END_TEST

/* Storage for one multi op built by the helpers below. */
struct op_storage {
        Viewstamp__TreeOp op;
        Viewstamp__TreeCreate create;
        Viewstamp__TreeSet set;
        Viewstamp__TreeCheck check;
};

static Viewstamp__TreeOp *op_create(struct op_storage *st, const char *path, const char *value) {
        viewstamp__tree_op__init(&st->op);
        viewstamp__tree_create__init(&st->create);
        st->create.path = pb_path(path);
        st->create.value = pb_path(value);
        st->op.op_case = VIEWSTAMP__TREE_OP__OP_CREATE;
        st->op.create = &st->create;
        return &st->op;
}

static Viewstamp__TreeOp *op_set(struct op_storage *st, const char *path, const char *value) {
        viewstamp__tree_op__init(&st->op);
        viewstamp__tree_set__init(&st->set);
        st->set.path = pb_path(path);
        st->set.value = pb_path(value);
        st->op.op_case = VIEWSTAMP__TREE_OP__OP_SET;
        st->op.set = &st->set;
        return &st->op;
}

static Viewstamp__TreeOp *op_check(struct op_storage *st, const char *path, uint64_t version) {
        viewstamp__tree_op__init(&st->op);
        viewstamp__tree_check__init(&st->check);
        st->check.path = pb_path(path);
        st->check.expected_case = VIEWSTAMP__TREE_CHECK__EXPECTED_EXPECTED_VERSION;
        st->check.expected_version = version;
        st->op.op_case = VIEWSTAMP__TREE_OP__OP_CHECK;
        st->op.check = &st->check;
        return &st->op;
}

static Viewstamp__TreeResponse *do_multi(struct tree *t, uint64_t op, Viewstamp__TreeOp **list, size_t n) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeMulti m = VIEWSTAMP__TREE_MULTI__INIT;
        m.n_ops = n;
        m.ops = list;
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_MULTI;
        req.multi = &m;
        return apply_req(t, op, &req);
}

START_TEST(test_multi) {
        _cleanup_(tree_freep) struct tree *t = new_tree();
        struct op_storage st[3];

        Viewstamp__TreeOp *good[] = { op_create(&st[0], "/q", "v"), op_set(&st[1], "/q", "v2"), op_check(&st[2], "/q", 1) };
        _cleanup_tree_response_ Viewstamp__TreeResponse *ok = do_multi(t, 5, good, 3);
        ck_assert_uint_eq(ok->error, 0);
        ck_assert_uint_eq(ok->n_results, 3);
        ck_assert(ok->results[0]->path.len == 2 && memcmp(ok->results[0]->path.data, "/q", 2) == 0);
        ck_assert_uint_eq(ok->results[1]->stat->version, 1);
        ck_assert_ptr_null(ok->results[2]->stat);

        /* Again: the create now fails first. */
        _cleanup_tree_response_ Viewstamp__TreeResponse *exists = do_multi(t, 6, good, 3);
        ck_assert_uint_eq(exists->error, TREE_ERR_NODE_EXISTS);
        ck_assert_uint_eq(exists->failed_op, 0);
        ck_assert_uint_eq(exists->n_results, 0);

        /* A failing middle op leaves nothing applied. */
        Viewstamp__TreeOp *mid_ops[] = { op_create(&st[0], "/r", "v"), op_check(&st[1], "/q", 7), op_set(&st[2], "/q", "v3") };
        _cleanup_tree_response_ Viewstamp__TreeResponse *mid = do_multi(t, 7, mid_ops, 3);
        ck_assert_uint_eq(mid->error, TREE_ERR_BAD_VERSION);
        ck_assert_uint_eq(mid->failed_op, 1);
        ck_assert_int_eq(tree_exists(t, "/r", NULL), TREE_ERR_NO_NODE);

        /* An op that names nothing is a bad request at its own index. */
        Viewstamp__TreeOp nothing = VIEWSTAMP__TREE_OP__INIT;
        Viewstamp__TreeOp *empty_ops[] = { op_create(&st[0], "/r", "v"), &nothing, op_set(&st[2], "/q", "v3") };
        _cleanup_tree_response_ Viewstamp__TreeResponse *empty = do_multi(t, 8, empty_ops, 3);
        ck_assert_uint_eq(empty->error, TREE_ERR_BAD_REQUEST);
        ck_assert_uint_eq(empty->failed_op, 1);
        ck_assert_int_eq(tree_exists(t, "/r", NULL), TREE_ERR_NO_NODE);

        /* Over the limit. */
        size_t n = tree_get_limits(t)->max_multi_ops + 1;
        _cleanup_free_ Viewstamp__TreeOp **many = calloc(n, sizeof(*many));
        for (size_t i = 0; i < n; i++)
                many[i] = empty_ops[0];
        _cleanup_tree_response_ Viewstamp__TreeResponse *too_many = do_multi(t, 9, many, n);
        ck_assert_uint_eq(too_many->error, TREE_ERR_TOO_MANY_OPS);
        ck_assert_uint_eq(too_many->failed_op, n - 1);
        ck_assert_int_eq(tree_exists(t, "/r", NULL), TREE_ERR_NO_NODE);
}
END_TEST

START_TEST(test_snapshot_through_ops) {
        _cleanup_(tree_freep) struct tree *t = new_tree(), *u = new_tree();
        struct snapbuf s = {};

        tree_responsep((Viewstamp__TreeResponse *[]) { do_create(t, 1, "/a", "x", 0) });
        ck_assert_int_eq(ops->snapshot(t, snapbuf_write, &s), 0);
        ck_assert_int_eq(ops->restore(u, snapbuf_read, &s), 0);
        _cleanup_tree_response_ Viewstamp__TreeResponse *r = do_read_get(u, "/a");
        ck_assert(r->value.len == 1 && r->value.data[0] == 'x');
        s.len = 10;
        s.pos = 0;
        ck_assert_int_eq(ops->restore(u, snapbuf_read, &s), -EBADMSG);
        snapbuf_done(&s);
}
END_TEST

static Suite *sm_suite(void) {
        Suite *s = suite_create("tree-sm");
        TCase *tc = tcase_create("sm");
        tcase_add_test(tc, test_register_workload);
        tcase_add_test(tc, test_read_only_classification);
        tcase_add_test(tc, test_bad_commands);
        tcase_add_test(tc, test_delete_exists_list_check);
        tcase_add_test(tc, test_multi);
        tcase_add_test(tc, test_snapshot_through_ops);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(sm_suite());
}
