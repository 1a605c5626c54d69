/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/result.h"
#include "util/cleanup.h"
#include "wire/tree.pb-c.h"

struct vs_result {
        int error;
        char *message;
        Viewstamp__TreeResponse *reply;
        /* NUL-terminated copies of what the reply holds as bytes. */
        char *value;
        char *path;
        char **child_names;
        char **op_paths;
};

static void free_strv(char **v, size_t n) {
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void vs_result_free(struct vs_result *r) {
        if (!r)
                return;
        free(r->message);
        free(r->value);
        free(r->path);
        if (r->reply) {
                free_strv(r->child_names, r->reply->n_children);
                free_strv(r->op_paths, r->reply->n_results);
                viewstamp__tree_response__free_unpacked(r->reply, NULL);
        }
        free(r);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vs_result *, vs_result_free)

struct vs_result *result_new_error(int error, const char *message) {
        _cleanup_(vs_result_freep) struct vs_result *r = calloc(1, sizeof *r);
        if (!r)
                return NULL;
        r->error = error;
        if (message && !(r->message = strdup(message)))
                return NULL;
        return TAKE_PTR(r);
}

static char *dup_bytes(ProtobufCBinaryData b) {
        return strndup(b.data ? (const char *) b.data : "", b.len);
}

int result_new_reply(const uint8_t *buf, size_t len, struct vs_result **ret) {
        _cleanup_(vs_result_freep) struct vs_result *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->reply = viewstamp__tree_response__unpack(NULL, len, buf);
        if (!r->reply)
                return -EBADMSG;
        const Viewstamp__TreeResponse *t = r->reply;
        /* The server's codes pass through unchanged, also ones newer than this library. */
        r->error = t->error > INT32_MAX ? VS_ERR_BAD_REQUEST : (int) t->error;

        r->value = malloc(t->value.len + 1);
        if (!r->value)
                return -ENOMEM;
        if (t->value.len > 0)
                memcpy(r->value, t->value.data, t->value.len);
        r->value[t->value.len] = 0;

        if (t->path.len > 0 && !(r->path = dup_bytes(t->path)))
                return -ENOMEM;

        r->child_names = calloc(t->n_children + 1, sizeof(char *));
        r->op_paths = calloc(t->n_results + 1, sizeof(char *));
        if (!r->child_names || !r->op_paths)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_children; i++)
                if (!(r->child_names[i] = dup_bytes(t->children[i]->name)))
                        return -ENOMEM;
        for (size_t i = 0; i < t->n_results; i++)
                if (t->results[i]->path.len > 0 && !(r->op_paths[i] = dup_bytes(t->results[i]->path)))
                        return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

int vs_result_error(const struct vs_result *r) {
        return r ? r->error : -EINVAL;
}

const char *vs_result_message(const struct vs_result *r) {
        return r ? r->message : NULL;
}

static int copy_stat(const Viewstamp__TreeStat *s, struct vs_stat *ret) {
        if (!s)
                return -ENODATA;
        if (ret)
                *ret = (struct vs_stat) {
                        .version = s->version,
                        .cversion = s->cversion,
                        .created_op = s->created_op,
                        .modified_op = s->modified_op,
                        .num_children = s->num_children,
                        .value_len = s->value_len,
                };
        return 0;
}

int vs_result_stat(const struct vs_result *r, struct vs_stat *ret) {
        if (!r)
                return -EINVAL;
        return r->reply ? copy_stat(r->reply->stat, ret) : -ENODATA;
}

const void *vs_result_value(const struct vs_result *r, size_t *len) {
        if (!r || !r->reply) {
                if (len)
                        *len = 0;
                return NULL;
        }
        if (len)
                *len = r->reply->value.len;
        return r->value;
}

const char *vs_result_path(const struct vs_result *r) {
        return r ? r->path : NULL;
}

size_t vs_result_children(const struct vs_result *r) {
        return r && r->reply ? r->reply->n_children : 0;
}

const char *vs_result_child_name(const struct vs_result *r, size_t i) {
        return i < vs_result_children(r) ? r->child_names[i] : NULL;
}

int vs_result_child_stat(const struct vs_result *r, size_t i, struct vs_stat *ret) {
        if (i >= vs_result_children(r))
                return -ERANGE;
        return copy_stat(r->reply->children[i]->stat, ret);
}

size_t vs_result_failed_op(const struct vs_result *r) {
        return r && r->reply ? r->reply->failed_op : 0;
}

size_t vs_result_op_results(const struct vs_result *r) {
        return r && r->reply ? r->reply->n_results : 0;
}

const char *vs_result_op_path(const struct vs_result *r, size_t i) {
        return i < vs_result_op_results(r) ? r->op_paths[i] : NULL;
}

int vs_result_op_stat(const struct vs_result *r, size_t i, struct vs_stat *ret) {
        if (i >= vs_result_op_results(r))
                return -ERANGE;
        return copy_stat(r->reply->results[i]->stat, ret);
}
