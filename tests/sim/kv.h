/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A key-value register machine behind vr/sm.h, for the simulator until the tree store lands:
 * a few integer registers (absent until written) with read, write and compare-and-set.
 *
 * Command: u8 kind (KV_READ/KV_WRITE/KV_CAS), u32 key, i64 value, i64 expected (little-endian).
 * Reply: u8 status (1: done, 0: cas did not match), i64 value (read result; INT64_MIN: absent).
 * Snapshot: "KVSNAP01", u32 key count, the values, checksum of all that.
 */

#include <stdint.h>

#include "vr/sm.h"

#define KV_MAX_KEYS 64
#define KV_ABSENT INT64_MIN
#define KV_CMD_LEN 21
#define KV_REPLY_LEN 9

enum kv_kind { KV_READ = 1, KV_WRITE = 2, KV_CAS = 3 };

struct kv {
        uint32_t n_keys;
        int64_t v[KV_MAX_KEYS];
};

extern const struct vr_sm_ops kv_ops;

void kv_init(struct kv *kv, uint32_t n_keys);
void kv_encode(uint8_t out[KV_CMD_LEN], enum kv_kind kind, uint32_t key, int64_t value, int64_t expected);
/* -EBADMSG for a reply of the wrong shape. */
int kv_decode_reply(const uint8_t *buf, size_t len, uint8_t *status, int64_t *value);
/* A digest of the whole state, for comparing replicas at the same applied op. */
uint64_t kv_digest(const struct kv *kv);
