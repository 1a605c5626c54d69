/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "tree/tree_sm.h"
#include "wire/pb_arena.h"
#include "util/cleanup.h"

/* protobuf-c reports allocation failure and malformed input alike (NULL); replicas must tell them
 * apart, since answering BadRequest on one replica because it ran out of memory would diverge. */
struct pb_alloc_state {
        bool failed;
};

static void *pb_alloc(void *data, size_t size) {
        void *p = malloc(size);
        if (!p)
                ((struct pb_alloc_state *) data)->failed = true;
        return p;
}

static void pb_free(void *data, void *p) {
        free(p);
}

/* A request lives only while one command runs: its fields come from one arena (one malloc per
 * command rather than one per field), freed as a whole. */
static int decode_request(struct vs_pb_arena *a, const uint8_t *cmd, size_t len, Viewstamp__TreeRequest **ret) {
        *ret = viewstamp__tree_request__unpack(vs_pb_arena_start(a), len, cmd);
        if (*ret)
                return 0;
        return a->failed ? -ENOMEM : TREE_ERR_BAD_REQUEST;
}

/* A C string for the tree; a path with a NUL byte becomes "", which the tree refuses as a bad
 * path in the same order as its other path errors. An absent path has no data pointer at all. */
static int path_dup(const ProtobufCBinaryData *b, char **ret) {
        if (b->len == 0 || memchr(b->data, 0, b->len))
                *ret = strdup("");
        else
                *ret = strndup((const char *) b->data, b->len);
        return *ret ? 0 : -ENOMEM;
}

/* Everything a response points to, released after packing. */
struct reply {
        Viewstamp__TreeResponse resp;
        Viewstamp__TreeStat stat;
        char *path;
        Viewstamp__TreeChild *children, **child_ptrs;
        Viewstamp__TreeStat *child_stats;
        Viewstamp__TreeOpResult *results, **result_ptrs;
        Viewstamp__TreeStat *result_stats;
        struct tree_op_result *op_results;
        size_t n_ops;
};

static void reply_done(struct reply *r) {
        free(r->path);
        free(r->children);
        free(r->child_ptrs);
        free(r->child_stats);
        free(r->results);
        free(r->result_ptrs);
        free(r->result_stats);
        if (r->op_results)
                for (size_t i = 0; i < r->n_ops; i++)
                        free(r->op_results[i].path);
        free(r->op_results);
}

static void stat_to_pb(const struct tree_stat *st, Viewstamp__TreeStat *pb) {
        viewstamp__tree_stat__init(pb);
        pb->version = st->version;
        pb->cversion = st->cversion;
        pb->created_op = st->created_op;
        pb->modified_op = st->modified_op;
        pb->num_children = st->num_children;
        pb->value_len = st->value_len;
}

static void set_stat(struct reply *r, const struct tree_stat *st) {
        stat_to_pb(st, &r->stat);
        r->resp.stat = &r->stat;
}

static ProtobufCBinaryData bytes(const void *p, size_t len) {
        return (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) p };
}

static uint64_t expected_version(bool present, uint64_t v) {
        return present ? v : TREE_ANY_VERSION;
}

struct list_fill {
        struct reply *r;
        size_t capacity;
        bool with_stats;
};

static int list_one(void *ctx, const char *name, const struct tree_stat *st) {
        struct list_fill *f = ctx;
        struct reply *r = f->r;
        size_t i = r->resp.n_children;

        if (i >= f->capacity)
                return -EINVAL; /* num_children disagrees with the walk: a bug */
        viewstamp__tree_child__init(&r->children[i]);
        r->children[i].name = bytes(name, strlen(name));
        if (f->with_stats) {
                stat_to_pb(st, &r->child_stats[i]);
                r->children[i].stat = &r->child_stats[i];
        }
        r->child_ptrs[i] = &r->children[i];
        r->resp.n_children = i + 1;
        return 0;
}

static int answer_list(const struct tree *t, const Viewstamp__TreeList *l, struct reply *r) {
        _cleanup_free_ char *path = NULL;
        struct tree_stat st;
        int e;

        if ((e = path_dup(&l->path, &path)) < 0)
                return e;
        e = tree_exists(t, path, &st);
        if (e != 0)
                return e;
        size_t n = st.num_children ? st.num_children : 1;
        r->children = calloc(n, sizeof(*r->children));
        r->child_ptrs = calloc(n, sizeof(*r->child_ptrs));
        r->child_stats = l->with_stats ? calloc(n, sizeof(*r->child_stats)) : NULL;
        if (!r->children || !r->child_ptrs || (l->with_stats && !r->child_stats))
                return -ENOMEM;
        r->resp.children = r->child_ptrs;
        return tree_list(t, path, list_one, &(struct list_fill) { r, st.num_children, l->with_stats });
}

/* Read-only requests; answers into r, returns 0, a tree error, or a negative errno. */
static int answer_read(const struct tree *t, const Viewstamp__TreeRequest *req, struct reply *r) {
        _cleanup_free_ char *path = NULL;
        struct tree_stat st;
        const void *value;
        int e;

        switch (req->request_case) {
        case VIEWSTAMP__TREE_REQUEST__REQUEST_GET:
                if ((e = path_dup(&req->get->path, &path)) < 0)
                        return e;
                e = tree_get(t, path, &value, &st);
                if (e == 0) {
                        set_stat(r, &st);
                        r->resp.value = bytes(value, st.value_len);
                }
                return e;
        case VIEWSTAMP__TREE_REQUEST__REQUEST_EXISTS:
                if ((e = path_dup(&req->exists->path, &path)) < 0)
                        return e;
                e = tree_exists(t, path, &st);
                if (e == 0)
                        set_stat(r, &st);
                return e;
        case VIEWSTAMP__TREE_REQUEST__REQUEST_CHECK:
                if ((e = path_dup(&req->check->path, &path)) < 0)
                        return e;
                return tree_check(t, path, expected_version(
                        req->check->expected_case == VIEWSTAMP__TREE_CHECK__EXPECTED_EXPECTED_VERSION,
                        req->check->expected_version));
        case VIEWSTAMP__TREE_REQUEST__REQUEST_LIST:
                return answer_list(t, req->list, r);
        default:
                return -EINVAL;
        }
}

static bool request_is_read_only(const Viewstamp__TreeRequest *req) {
        switch (req->request_case) {
        case VIEWSTAMP__TREE_REQUEST__REQUEST_GET:
        case VIEWSTAMP__TREE_REQUEST__REQUEST_EXISTS:
        case VIEWSTAMP__TREE_REQUEST__REQUEST_CHECK:
        case VIEWSTAMP__TREE_REQUEST__REQUEST_LIST:
                return true;
        default:
                return false;
        }
}

/* One multi op in tree form; paths[i] receives the C string to free. An op naming nothing gets
 * a kind the tree refuses as a bad request, in order. */
static int op_from_pb(const Viewstamp__TreeOp *pb, struct tree_op *o, char **path) {
        const ProtobufCBinaryData *p = NULL;

        *o = (struct tree_op) { .kind = _TREE_OP_KIND_MAX, .path = "" };
        switch (pb->op_case) {
        case VIEWSTAMP__TREE_OP__OP_CREATE:
                o->kind = TREE_OP_CREATE;
                p = &pb->create->path;
                o->value = pb->create->value.data;
                o->value_len = pb->create->value.len;
                o->flags = pb->create->sequential ? TREE_CREATE_SEQUENTIAL : 0;
                break;
        case VIEWSTAMP__TREE_OP__OP_SET:
                o->kind = TREE_OP_SET;
                p = &pb->set->path;
                o->value = pb->set->value.data;
                o->value_len = pb->set->value.len;
                o->version = expected_version(pb->set->expected_case == VIEWSTAMP__TREE_SET__EXPECTED_EXPECTED_VERSION,
                                              pb->set->expected_version);
                break;
        case VIEWSTAMP__TREE_OP__OP_DELETE:
                o->kind = TREE_OP_DELETE;
                p = &pb->delete_->path;
                o->version = expected_version(pb->delete_->expected_case == VIEWSTAMP__TREE_DELETE__EXPECTED_EXPECTED_VERSION,
                                              pb->delete_->expected_version);
                o->flags = pb->delete_->recursive ? TREE_DELETE_RECURSIVE : 0;
                break;
        case VIEWSTAMP__TREE_OP__OP_CHECK:
                o->kind = TREE_OP_CHECK;
                p = &pb->check->path;
                o->version = expected_version(pb->check->expected_case == VIEWSTAMP__TREE_CHECK__EXPECTED_EXPECTED_VERSION,
                                              pb->check->expected_version);
                break;
        default:
                return 0;
        }
        int e = path_dup(p, path);
        if (e < 0)
                return e;
        o->path = *path;
        return 0;
}

static void paths_free(char **paths, size_t n) {
        for (size_t i = 0; paths && i < n; i++)
                free(paths[i]);
        free(paths);
}

static int answer_multi(struct tree *t, uint64_t op, const Viewstamp__TreeMulti *m, struct reply *r) {
        size_t n = m->n_ops, failed = 0;
        int e;

        if (n > tree_get_limits(t)->max_multi_ops) {
                e = tree_multi(t, op, NULL, n, NULL, &failed);
                r->resp.failed_op = (uint32_t) failed;
                return e;
        }

        /* Everything the reply needs is allocated before anything is applied. */
        _cleanup_free_ struct tree_op *ops = calloc(n ? n : 1, sizeof(*ops));
        char **paths = calloc(n ? n : 1, sizeof(*paths));
        r->op_results = calloc(n ? n : 1, sizeof(*r->op_results));
        r->n_ops = n;
        r->results = calloc(n ? n : 1, sizeof(*r->results));
        r->result_ptrs = calloc(n ? n : 1, sizeof(*r->result_ptrs));
        r->result_stats = calloc(n ? n : 1, sizeof(*r->result_stats));
        if (!ops || !paths || !r->op_results || !r->results || !r->result_ptrs || !r->result_stats) {
                free(paths);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if ((e = op_from_pb(m->ops[i], &ops[i], &paths[i])) < 0) {
                        paths_free(paths, n);
                        return e;
                }
        e = tree_multi(t, op, ops, n, r->op_results, &failed);
        paths_free(paths, n);
        if (e != 0) {
                r->resp.failed_op = (uint32_t) failed;
                return e;
        }

        for (size_t i = 0; i < n; i++) {
                Viewstamp__TreeOpResult *res = &r->results[i];
                viewstamp__tree_op_result__init(res);
                if (r->op_results[i].path)
                        res->path = bytes(r->op_results[i].path, strlen(r->op_results[i].path));
                if (ops[i].kind == TREE_OP_CREATE || ops[i].kind == TREE_OP_SET) {
                        stat_to_pb(&r->op_results[i].stat, &r->result_stats[i]);
                        res->stat = &r->result_stats[i];
                }
                r->result_ptrs[i] = res;
        }
        r->resp.results = r->result_ptrs;
        r->resp.n_results = n;
        return 0;
}

static int answer_write(struct tree *t, uint64_t op, const Viewstamp__TreeRequest *req, struct reply *r) {
        _cleanup_free_ char *path = NULL;
        struct tree_stat st;
        int e;

        switch (req->request_case) {
        case VIEWSTAMP__TREE_REQUEST__REQUEST_CREATE: {
                const Viewstamp__TreeCreate *c = req->create;
                if ((e = path_dup(&c->path, &path)) < 0)
                        return e;
                e = tree_create(t, op, path, c->value.data, c->value.len,
                                c->sequential ? TREE_CREATE_SEQUENTIAL : 0, &r->path, &st);
                if (e == 0) {
                        set_stat(r, &st);
                        r->resp.path = bytes(r->path, strlen(r->path));
                }
                return e;
        }
        case VIEWSTAMP__TREE_REQUEST__REQUEST_SET: {
                const Viewstamp__TreeSet *s = req->set;
                if ((e = path_dup(&s->path, &path)) < 0)
                        return e;
                e = tree_set(t, op, path, s->value.data, s->value.len,
                             expected_version(s->expected_case == VIEWSTAMP__TREE_SET__EXPECTED_EXPECTED_VERSION,
                                              s->expected_version), &st);
                if (e == 0)
                        set_stat(r, &st);
                return e;
        }
        case VIEWSTAMP__TREE_REQUEST__REQUEST_DELETE: {
                const Viewstamp__TreeDelete *d = req->delete_;
                if ((e = path_dup(&d->path, &path)) < 0)
                        return e;
                return tree_delete(t, path,
                                   expected_version(d->expected_case == VIEWSTAMP__TREE_DELETE__EXPECTED_EXPECTED_VERSION,
                                                    d->expected_version),
                                   d->recursive ? TREE_DELETE_RECURSIVE : 0);
        }
        case VIEWSTAMP__TREE_REQUEST__REQUEST_MULTI:
                return answer_multi(t, op, req->multi, r);
        default:
                return request_is_read_only(req) ? answer_read(t, req, r) : TREE_ERR_BAD_REQUEST;
        }
}

static int pack_reply(struct reply *r, int error, uint8_t **reply, size_t *reply_len) {
        r->resp.error = (uint32_t) error;
        size_t len = viewstamp__tree_response__get_packed_size(&r->resp);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        *reply_len = viewstamp__tree_response__pack(&r->resp, buf);
        *reply = buf;
        return 0;
}

/* Runs one command (read-only ones on a tree that is not changed) and packs its reply. */
static int run(struct tree *t, uint64_t op, bool read_only, const uint8_t *cmd, size_t len,
               uint8_t **reply, size_t *reply_len) {
        _cleanup_(vs_pb_arena_done) struct vs_pb_arena ra = {};
        Viewstamp__TreeRequest *req = NULL;
        _cleanup_(reply_done) struct reply r = {};
        int e;

        viewstamp__tree_response__init(&r.resp);
        e = decode_request(&ra, cmd, len, &req);
        if (e < 0)
                return e;
        if (e == 0) {
                if (read_only && !request_is_read_only(req))
                        return -EINVAL;
                e = read_only ? answer_read(t, req, &r) : answer_write(t, op, req, &r);
                if (e < 0)
                        return e;
        } else if (read_only)
                return -EINVAL;
        return pack_reply(&r, e, reply, reply_len);
}

static int sm_apply(void *sm, uint64_t op, const uint8_t *cmd, size_t len, uint8_t **reply, size_t *reply_len) {
        return run(sm, op, false, cmd, len, reply, reply_len);
}

static int sm_read(void *sm, const uint8_t *cmd, size_t len, uint8_t **reply, size_t *reply_len) {
        return run(sm, 0, true, cmd, len, reply, reply_len);
}

static bool sm_is_read_only(void *sm, const uint8_t *cmd, size_t len) {
        _cleanup_(vs_pb_arena_done) struct vs_pb_arena ra = {};
        Viewstamp__TreeRequest *req = NULL;
        return decode_request(&ra, cmd, len, &req) == 0 && request_is_read_only(req);
}

static int sm_snapshot(void *sm, vr_sm_write_fn write, void *ctx) {
        return tree_snapshot(sm, write, ctx);
}

static int sm_restore(void *sm, vr_sm_read_fn read, void *ctx) {
        return tree_restore(sm, read, ctx);
}

const struct vr_sm_ops tree_sm_ops = {
        .apply = sm_apply,
        .read = sm_read,
        .is_read_only = sm_is_read_only,
        .snapshot = sm_snapshot,
        .restore = sm_restore,
};

int tree_sm_encode(const Viewstamp__TreeRequest *req, uint8_t **ret, size_t *ret_len) {
        size_t len = viewstamp__tree_request__get_packed_size(req);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        *ret_len = viewstamp__tree_request__pack(req, buf);
        *ret = buf;
        return 0;
}

int tree_sm_encode_create(const char *path, const void *value, size_t len, unsigned flags, uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeCreate c = VIEWSTAMP__TREE_CREATE__INIT;

        c.path = bytes(path, strlen(path));
        c.value = bytes(value, len);
        c.sequential = !!(flags & TREE_CREATE_SEQUENTIAL);
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_CREATE;
        req.create = &c;
        return tree_sm_encode(&req, ret, ret_len);
}

int tree_sm_encode_get(const char *path, uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeGet g = VIEWSTAMP__TREE_GET__INIT;

        g.path = bytes(path, strlen(path));
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_GET;
        req.get = &g;
        return tree_sm_encode(&req, ret, ret_len);
}

int tree_sm_encode_list(const char *path, bool with_stats, uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeList l = VIEWSTAMP__TREE_LIST__INIT;

        l.path = bytes(path, strlen(path));
        l.with_stats = with_stats;
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_LIST;
        req.list = &l;
        return tree_sm_encode(&req, ret, ret_len);
}

int tree_sm_encode_delete(const char *path, uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeDelete d = VIEWSTAMP__TREE_DELETE__INIT;

        d.path = bytes(path, strlen(path));
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_DELETE;
        req.delete_ = &d;
        return tree_sm_encode(&req, ret, ret_len);
}

int tree_sm_encode_set(const char *path, const void *value, size_t len, uint64_t expected_version,
                       uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        Viewstamp__TreeSet s = VIEWSTAMP__TREE_SET__INIT;

        s.path = bytes(path, strlen(path));
        s.value = bytes(value, len);
        if (expected_version != TREE_ANY_VERSION) {
                s.expected_case = VIEWSTAMP__TREE_SET__EXPECTED_EXPECTED_VERSION;
                s.expected_version = expected_version;
        }
        req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_SET;
        req.set = &s;
        return tree_sm_encode(&req, ret, ret_len);
}

int tree_sm_decode_reply(const uint8_t *buf, size_t len, Viewstamp__TreeResponse **ret) {
        struct pb_alloc_state st = {};
        ProtobufCAllocator a = { .alloc = pb_alloc, .free = pb_free, .allocator_data = &st };

        *ret = viewstamp__tree_response__unpack(&a, len, buf);
        if (*ret)
                return 0;
        return st.failed ? -ENOMEM : -EBADMSG;
}
