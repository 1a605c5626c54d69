/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/op.h"
#include "util/cleanup.h"
#include "wire/tree.pb-c.h"

static void op_clear(struct vs_op *op) {
        free(op->path);
        free(op->value);
        for (size_t i = 0; i < op->n_subs; i++)
                op_clear(&op->subs[i]);
        free(op->subs);
}

void vs_op_free(struct vs_op *op) {
        if (!op)
                return;
        op_clear(op);
        free(op);
}

/* Fills *op with copies of path and value. */
static int op_fill(struct vs_op *op, enum op_kind kind, const char *path, const void *value, size_t len,
                   uint64_t version, unsigned flags) {
        if (!path || (!value && len > 0))
                return -EINVAL;
        *op = (struct vs_op) { .kind = kind, .version = version, .flags = flags, .len = len };
        op->path = strdup(path);
        /* One spare byte so that an empty value is a real allocation, never NULL. */
        op->value = malloc(len + 1);
        if (!op->path || !op->value) {
                op_clear(op);
                return -ENOMEM;
        }
        if (len > 0)
                memcpy(op->value, value, len);
        return 0;
}

static int op_new(struct vs_op **ret, enum op_kind kind, const char *path, const void *value, size_t len,
                  uint64_t version, unsigned flags) {
        if (!ret)
                return -EINVAL;
        _cleanup_free_ struct vs_op *op = malloc(sizeof *op);
        if (!op)
                return -ENOMEM;
        int r = op_fill(op, kind, path, value, len, version, flags);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(op);
        return 0;
}

int vs_op_create(struct vs_op **ret, const char *path, const void *value, size_t len, unsigned flags) {
        if (flags & ~(unsigned) VS_CREATE_SEQUENTIAL)
                return -EINVAL;
        return op_new(ret, OP_CREATE, path, value, len, VS_VERSION_ANY, flags);
}

int vs_op_get(struct vs_op **ret, const char *path) {
        return op_new(ret, OP_GET, path, NULL, 0, VS_VERSION_ANY, 0);
}

int vs_op_exists(struct vs_op **ret, const char *path) {
        return op_new(ret, OP_EXISTS, path, NULL, 0, VS_VERSION_ANY, 0);
}

int vs_op_set(struct vs_op **ret, const char *path, const void *value, size_t len, uint64_t expected_version) {
        return op_new(ret, OP_SET, path, value, len, expected_version, 0);
}

int vs_op_delete(struct vs_op **ret, const char *path, uint64_t expected_version, unsigned flags) {
        if (flags & ~(unsigned) VS_DELETE_RECURSIVE)
                return -EINVAL;
        return op_new(ret, OP_DELETE, path, NULL, 0, expected_version, flags);
}

int vs_op_list(struct vs_op **ret, const char *path, unsigned flags) {
        if (flags & ~(unsigned) VS_LIST_STAT)
                return -EINVAL;
        return op_new(ret, OP_LIST, path, NULL, 0, VS_VERSION_ANY, flags);
}

int vs_op_multi(struct vs_op **ret) {
        if (!ret)
                return -EINVAL;
        struct vs_op *op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        op->kind = OP_MULTI;
        *ret = op;
        return 0;
}

static int multi_add(struct vs_op *m, enum op_kind kind, const char *path, const void *value, size_t len,
                     uint64_t version, unsigned flags) {
        if (!m || m->kind != OP_MULTI)
                return -EINVAL;
        if (m->n_subs == m->cap_subs) {
                size_t cap = m->cap_subs ? m->cap_subs * 2 : 4;
                struct vs_op *s = reallocarray(m->subs, cap, sizeof *s);
                if (!s)
                        return -ENOMEM;
                m->subs = s;
                m->cap_subs = cap;
        }
        int r = op_fill(&m->subs[m->n_subs], kind, path, value, len, version, flags);
        if (r < 0)
                return r;
        m->n_subs++;
        return 0;
}

int vs_op_multi_create(struct vs_op *multi, const char *path, const void *value, size_t len, unsigned flags) {
        if (flags & ~(unsigned) VS_CREATE_SEQUENTIAL)
                return -EINVAL;
        return multi_add(multi, OP_CREATE, path, value, len, VS_VERSION_ANY, flags);
}

int vs_op_multi_set(struct vs_op *multi, const char *path, const void *value, size_t len, uint64_t expected_version) {
        return multi_add(multi, OP_SET, path, value, len, expected_version, 0);
}

int vs_op_multi_delete(struct vs_op *multi, const char *path, uint64_t expected_version, unsigned flags) {
        if (flags & ~(unsigned) VS_DELETE_RECURSIVE)
                return -EINVAL;
        return multi_add(multi, OP_DELETE, path, NULL, 0, expected_version, flags);
}

int vs_op_multi_check(struct vs_op *multi, const char *path, uint64_t expected_version) {
        return multi_add(multi, OP_CHECK, path, NULL, 0, expected_version, 0);
}

int vs_op_set_timeout(struct vs_op *op, uint64_t usec) {
        if (!op || usec == 0)
                return -EINVAL;
        op->timeout_usec = usec;
        return 0;
}

size_t vs_op_multi_count(const struct vs_op *multi) {
        return multi && multi->kind == OP_MULTI ? multi->n_subs : 0;
}

/* The protobuf structs of one op, pointing into the op's own buffers (no copies). */
struct op_msg {
        union {
                Viewstamp__TreeCreate create;
                Viewstamp__TreeGet get;
                Viewstamp__TreeExists exists;
                Viewstamp__TreeSet set;
                Viewstamp__TreeDelete del;
                Viewstamp__TreeList list;
                Viewstamp__TreeCheck check;
        };
};

static ProtobufCBinaryData bytes(const void *p, size_t len) {
        return (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) p };
}

static void op_msg_init(struct op_msg *m, const struct vs_op *op) {
        ProtobufCBinaryData path = bytes(op->path, strlen(op->path));
        bool expect = op->version != VS_VERSION_ANY;

        switch (op->kind) {
        case OP_CREATE:
                m->create = (Viewstamp__TreeCreate) VIEWSTAMP__TREE_CREATE__INIT;
                m->create.path = path;
                m->create.value = bytes(op->value, op->len);
                m->create.sequential = op->flags & VS_CREATE_SEQUENTIAL;
                break;
        case OP_GET:
                m->get = (Viewstamp__TreeGet) VIEWSTAMP__TREE_GET__INIT;
                m->get.path = path;
                break;
        case OP_EXISTS:
                m->exists = (Viewstamp__TreeExists) VIEWSTAMP__TREE_EXISTS__INIT;
                m->exists.path = path;
                break;
        case OP_SET:
                m->set = (Viewstamp__TreeSet) VIEWSTAMP__TREE_SET__INIT;
                m->set.path = path;
                m->set.value = bytes(op->value, op->len);
                if (expect) {
                        m->set.expected_case = VIEWSTAMP__TREE_SET__EXPECTED_EXPECTED_VERSION;
                        m->set.expected_version = op->version;
                }
                break;
        case OP_DELETE:
                m->del = (Viewstamp__TreeDelete) VIEWSTAMP__TREE_DELETE__INIT;
                m->del.path = path;
                m->del.recursive = op->flags & VS_DELETE_RECURSIVE;
                if (expect) {
                        m->del.expected_case = VIEWSTAMP__TREE_DELETE__EXPECTED_EXPECTED_VERSION;
                        m->del.expected_version = op->version;
                }
                break;
        case OP_LIST:
                m->list = (Viewstamp__TreeList) VIEWSTAMP__TREE_LIST__INIT;
                m->list.path = path;
                m->list.with_stats = op->flags & VS_LIST_STAT;
                break;
        case OP_CHECK:
                m->check = (Viewstamp__TreeCheck) VIEWSTAMP__TREE_CHECK__INIT;
                m->check.path = path;
                if (expect) {
                        m->check.expected_case = VIEWSTAMP__TREE_CHECK__EXPECTED_EXPECTED_VERSION;
                        m->check.expected_version = op->version;
                }
                break;
        case OP_MULTI:
                break;
        }
}

static void tree_op_init(Viewstamp__TreeOp *t, struct op_msg *m, const struct vs_op *op) {
        *t = (Viewstamp__TreeOp) VIEWSTAMP__TREE_OP__INIT;
        op_msg_init(m, op);
        switch (op->kind) {
        case OP_CREATE:
                t->op_case = VIEWSTAMP__TREE_OP__OP_CREATE;
                t->create = &m->create;
                break;
        case OP_SET:
                t->op_case = VIEWSTAMP__TREE_OP__OP_SET;
                t->set = &m->set;
                break;
        case OP_DELETE:
                t->op_case = VIEWSTAMP__TREE_OP__OP_DELETE;
                t->delete_ = &m->del;
                break;
        default:
                t->op_case = VIEWSTAMP__TREE_OP__OP_CHECK;
                t->check = &m->check;
                break;
        }
}

static int pack(const Viewstamp__TreeRequest *req, uint8_t **ret, size_t *ret_len) {
        size_t n = viewstamp__tree_request__get_packed_size(req);
        /* Never a zero-byte malloc: an empty encoding is legal protobuf. */
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        viewstamp__tree_request__pack(req, buf);
        *ret = buf;
        *ret_len = n;
        return 0;
}

int op_encode(const struct vs_op *op, uint8_t **ret, size_t *ret_len) {
        Viewstamp__TreeRequest req = VIEWSTAMP__TREE_REQUEST__INIT;
        struct op_msg m;

        if (op->kind == OP_MULTI) {
                _cleanup_free_ struct op_msg *msgs = calloc(op->n_subs + 1, sizeof *msgs);
                _cleanup_free_ Viewstamp__TreeOp *tops = calloc(op->n_subs + 1, sizeof *tops);
                _cleanup_free_ Viewstamp__TreeOp **ptrs = calloc(op->n_subs + 1, sizeof *ptrs);
                if (!msgs || !tops || !ptrs)
                        return -ENOMEM;
                for (size_t i = 0; i < op->n_subs; i++) {
                        tree_op_init(&tops[i], &msgs[i], &op->subs[i]);
                        ptrs[i] = &tops[i];
                }
                Viewstamp__TreeMulti multi = VIEWSTAMP__TREE_MULTI__INIT;
                multi.n_ops = op->n_subs;
                multi.ops = ptrs;
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_MULTI;
                req.multi = &multi;
                return pack(&req, ret, ret_len);
        }

        op_msg_init(&m, op);
        switch (op->kind) {
        case OP_CREATE:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_CREATE;
                req.create = &m.create;
                break;
        case OP_GET:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_GET;
                req.get = &m.get;
                break;
        case OP_EXISTS:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_EXISTS;
                req.exists = &m.exists;
                break;
        case OP_SET:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_SET;
                req.set = &m.set;
                break;
        case OP_DELETE:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_DELETE;
                req.delete_ = &m.del;
                break;
        case OP_LIST:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_LIST;
                req.list = &m.list;
                break;
        case OP_CHECK:
                req.request_case = VIEWSTAMP__TREE_REQUEST__REQUEST_CHECK;
                req.check = &m.check;
                break;
        case OP_MULTI:
                break;
        }
        return pack(&req, ret, ret_len);
}
