/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "util/checksum.h"
#include "util/unaligned.h"

#define KV_MAGIC "KVSNAP01"

void kv_init(struct kv *kv, uint32_t n_keys) {
        kv->n_keys = n_keys;
        for (uint32_t i = 0; i < KV_MAX_KEYS; i++)
                kv->v[i] = KV_ABSENT;
}

void kv_encode(uint8_t out[KV_CMD_LEN], enum kv_kind kind, uint32_t key, int64_t value, int64_t expected) {
        out[0] = (uint8_t) kind;
        vs_put_le32(out + 1, key);
        vs_put_le64(out + 5, (uint64_t) value);
        vs_put_le64(out + 13, (uint64_t) expected);
}

int kv_decode_reply(const uint8_t *buf, size_t len, uint8_t *status, int64_t *value) {
        if (len != KV_REPLY_LEN)
                return -EBADMSG;
        *status = buf[0];
        *value = (int64_t) vs_get_le64(buf + 1);
        return 0;
}

static int make_reply(uint8_t status, int64_t value, uint8_t **reply, size_t *reply_len) {
        uint8_t *b = malloc(KV_REPLY_LEN);
        if (!b)
                return -ENOMEM;
        b[0] = status;
        vs_put_le64(b + 1, (uint64_t) value);
        *reply = b;
        *reply_len = KV_REPLY_LEN;
        return 0;
}

static int parse(const struct kv *kv, const uint8_t *cmd, size_t len, uint8_t *kind, uint32_t *key,
                 int64_t *value, int64_t *expected) {
        if (len != KV_CMD_LEN)
                return -EBADMSG;
        *kind = cmd[0];
        *key = vs_get_le32(cmd + 1);
        *value = (int64_t) vs_get_le64(cmd + 5);
        *expected = (int64_t) vs_get_le64(cmd + 13);
        if (*key >= kv->n_keys || *kind < KV_READ || *kind > KV_CAS)
                return -EBADMSG;
        return 0;
}

static int kv_apply(void *sm, uint64_t op, const uint8_t *cmd, size_t len, uint8_t **reply, size_t *reply_len) {
        struct kv *kv = sm;
        uint8_t kind;
        uint32_t key;
        int64_t value, expected;
        if (parse(kv, cmd, len, &kind, &key, &value, &expected) < 0)
                return make_reply(0, KV_ABSENT, reply, reply_len); /* refused, state unchanged */
        switch (kind) {
        case KV_WRITE:
                kv->v[key] = value;
                return make_reply(1, value, reply, reply_len);
        case KV_CAS:
                if (kv->v[key] != expected)
                        return make_reply(0, kv->v[key], reply, reply_len);
                kv->v[key] = value;
                return make_reply(1, value, reply, reply_len);
        default:
                return make_reply(1, kv->v[key], reply, reply_len);
        }
}

static int kv_read(void *sm, const uint8_t *cmd, size_t len, uint8_t **reply, size_t *reply_len) {
        struct kv *kv = sm;
        uint8_t kind;
        uint32_t key;
        int64_t value, expected;
        if (parse(kv, cmd, len, &kind, &key, &value, &expected) < 0 || kind != KV_READ)
                return make_reply(0, KV_ABSENT, reply, reply_len);
        return make_reply(1, kv->v[key], reply, reply_len);
}

static bool kv_is_read_only(void *sm, const uint8_t *cmd, size_t len) {
        return len == KV_CMD_LEN && cmd[0] == KV_READ;
}

static size_t image(const struct kv *kv, uint8_t *buf) {
        memcpy(buf, KV_MAGIC, 8);
        vs_put_le32(buf + 8, kv->n_keys);
        for (uint32_t i = 0; i < kv->n_keys; i++)
                vs_put_le64(buf + 12 + 8 * i, (uint64_t) kv->v[i]);
        return 12 + 8 * (size_t) kv->n_keys;
}

static int kv_snapshot(void *sm, vr_sm_write_fn write, void *ctx) {
        uint8_t buf[12 + 8 * KV_MAX_KEYS + 8];
        size_t n = image(sm, buf);
        vs_put_le64(buf + n, vs_checksum(buf, n));
        return write(ctx, buf, n + 8);
}

static int kv_restore(void *sm, vr_sm_read_fn read, void *ctx) {
        struct kv *kv = sm;
        uint8_t buf[12 + 8 * KV_MAX_KEYS + 8];
        int r = read(ctx, buf, 12);
        if (r < 0)
                return r;
        if (memcmp(buf, KV_MAGIC, 8) != 0)
                return -EBADMSG;
        uint32_t n = vs_get_le32(buf + 8);
        if (n != kv->n_keys)
                return -EBADMSG;
        r = read(ctx, buf + 12, 8 * (size_t) n + 8);
        if (r < 0)
                return r;
        size_t len = 12 + 8 * (size_t) n;
        if (vs_get_le64(buf + len) != vs_checksum(buf, len))
                return -EBADMSG;
        for (uint32_t i = 0; i < n; i++)
                kv->v[i] = (int64_t) vs_get_le64(buf + 12 + 8 * i);
        return 0;
}

uint64_t kv_digest(const struct kv *kv) {
        uint8_t buf[12 + 8 * KV_MAX_KEYS];
        return vs_checksum(buf, image(kv, buf));
}

const struct vr_sm_ops kv_ops = {
        .apply = kv_apply,
        .read = kv_read,
        .is_read_only = kv_is_read_only,
        .snapshot = kv_snapshot,
        .restore = kv_restore,
};
