/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "util/unaligned.h"
#include "workload.h"

static void path_of(uint32_t key, char buf[24]) {
        snprintf(buf, 24, "/k%u", key);
}

static int tree_sm_new(uint32_t keys, void **ret) {
        struct tree *t;
        int k = tree_new(NULL, &t);
        if (k < 0)
                return k;
        for (uint32_t i = 0; i < keys; i++) {
                char path[24];
                path_of(i, path);
                k = tree_create(t, 0, path, NULL, 0, 0, NULL, NULL);
                if (k != 0) {
                        tree_free(t);
                        return k < 0 ? k : -EINVAL;
                }
        }
        *ret = t;
        return 0;
}

static void tree_sm_free(void *sm) {
        tree_free(sm);
}

static int digest(void *sm, uint64_t *ret) {
        return tree_digest(sm, ret);
}

static int encode(enum wl_kind kind, uint32_t key, int64_t value, int64_t expected, uint64_t version,
                  size_t value_bytes, uint8_t **ret, size_t *ret_len) {
        char path[24];
        path_of(key, path);
        if (kind == WL_READ)
                return tree_sm_encode_get(path, ret, ret_len);
        size_t len = value_bytes > 8 ? value_bytes : 8;
        _cleanup_free_ uint8_t *v = calloc(1, len);
        if (!v)
                return -ENOMEM;
        vs_put_le64(v, (uint64_t) value);
        return tree_sm_encode_set(path, v, len, kind == WL_WRITE ? TREE_ANY_VERSION : version, ret, ret_len);
}

static int decode(enum wl_kind kind, const uint8_t *reply, size_t len, struct wl_result *ret) {
        _cleanup_tree_response_ Viewstamp__TreeResponse *resp = NULL;
        int k = tree_sm_decode_reply(reply, len, &resp);
        if (k < 0)
                return k;
        if (resp->error == TREE_ERR_BAD_VERSION && kind == WL_CAS) {
                *ret = (struct wl_result) { .applied = false, .value = WL_ABSENT };
                return 0;
        }
        if (resp->error != TREE_OK || !resp->stat)
                return -EBADMSG; /* the workload never asks for anything else */
        *ret = (struct wl_result) { .applied = true, .value = WL_ABSENT, .version = resp->stat->version };
        if (kind == WL_READ && resp->value.len >= 8)
                ret->value = (int64_t) vs_get_le64(resp->value.data);
        else if (kind == WL_READ && resp->value.len != 0)
                return -EBADMSG;
        return 0;
}

const struct workload workload_tree = {
        .name = "tree",
        .sm_ops = &tree_sm_ops,
        .sm_new = tree_sm_new,
        .sm_free = tree_sm_free,
        .digest = digest,
        .encode = encode,
        .decode = decode,
};
