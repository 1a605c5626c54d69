/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "kv.h"
#include "workload.h"

static int kv_new(uint32_t keys, void **ret) {
        struct kv *kv = malloc(sizeof(*kv));
        if (!kv)
                return -ENOMEM;
        kv_init(kv, keys);
        *ret = kv;
        return 0;
}

static void kv_free(void *sm) {
        free(sm);
}

static int digest(void *sm, uint64_t *ret) {
        *ret = kv_digest(sm);
        return 0;
}

static int encode(enum wl_kind kind, uint32_t key, int64_t value, int64_t expected, uint64_t version,
                  size_t value_bytes, uint8_t **ret, size_t *ret_len) {
        static const enum kv_kind kinds[] = { [WL_READ] = KV_READ, [WL_WRITE] = KV_WRITE, [WL_CAS] = KV_CAS };
        uint8_t *cmd = malloc(KV_CMD_LEN);
        if (!cmd)
                return -ENOMEM;
        kv_encode(cmd, kinds[kind], key, value, expected);
        *ret = cmd;
        *ret_len = KV_CMD_LEN;
        return 0;
}

static int decode(enum wl_kind kind, const uint8_t *reply, size_t len, struct wl_result *ret) {
        uint8_t status;
        int64_t value;
        int k = kv_decode_reply(reply, len, &status, &value);
        if (k < 0)
                return k;
        *ret = (struct wl_result) { .applied = status == 1, .value = value == KV_ABSENT ? WL_ABSENT : value };
        return 0;
}

const struct workload workload_kv = {
        .name = "kv",
        .sm_ops = &kv_ops,
        .sm_new = kv_new,
        .sm_free = kv_free,
        .digest = digest,
        .encode = encode,
        .decode = decode,
};
