/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulator's register workload over a replicated state machine: registers 0..keys-1
 * holding integers, absent until written, with read, write and compare-and-set. Two machines
 * implement it: the real tree store (registers are nodes /k<i> created up front with an empty
 * value; cas is a set with the version the client last saw for the key) and the small kv machine.
 * Either way every replica starts from the same state and the client's view of a reply is the
 * same: what a read returned, whether a write or cas took effect.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vr/sm.h"

enum wl_kind { WL_READ, WL_WRITE, WL_CAS };

#define WL_ABSENT INT64_MIN

struct wl_result {
        bool applied;     /* write/cas took effect (a read: answered) */
        int64_t value;    /* read: the value, WL_ABSENT when absent */
        uint64_t version; /* version of the register after the op, for a later cas */
};

struct workload {
        const char *name;
        const struct vr_sm_ops *sm_ops;
        int (*sm_new)(uint32_t keys, void **ret);
        void (*sm_free)(void *sm);
        int (*digest)(void *sm, uint64_t *ret);
        /* A cas expects `expected`, seen by the client together with `version`. A written value
         * takes value_bytes (the integer, then zeros) where the machine allows it. The command is
         * malloc()ed. */
        int (*encode)(enum wl_kind kind, uint32_t key, int64_t value, int64_t expected, uint64_t version,
                      size_t value_bytes, uint8_t **ret, size_t *ret_len);
        /* -EBADMSG for a reply that is not one. */
        int (*decode)(enum wl_kind kind, const uint8_t *reply, size_t len, struct wl_result *ret);
};

extern const struct workload workload_kv;
extern const struct workload workload_tree;
