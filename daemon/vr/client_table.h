/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The client table (§4, replicated state): per client session its latest request number, the
 * op that executed it and its reply. Bounded: registering a client into a full table evicts the
 * session whose latest op is oldest (ties: lowest client id), so replicas that apply the same
 * ops evict the same sessions. Kept sorted by client id so that serialization is canonical.
 */

#include <stddef.h>
#include <stdint.h>

#include "vr/sm.h"

struct vr_client {
        uint64_t id;
        uint64_t request;
        uint64_t op;
        uint32_t status;
        uint32_t len;
        uint8_t *reply;
};

struct vr_client_table {
        struct vr_client *c;
        size_t n, cap, max;
};

void vr_client_table_init(struct vr_client_table *t, size_t max);
void vr_client_table_done(struct vr_client_table *t);
struct vr_client *vr_client_table_find(const struct vr_client_table *t, uint64_t id);
/* Registers (or re-registers) id at request/op, evicting as described above. Returns the
 * session. */
int vr_client_table_register(struct vr_client_table *t, uint64_t id, uint64_t request, uint64_t op,
                             struct vr_client **ret);
/* Records the reply of request (takes ownership of reply). */
void vr_client_record(struct vr_client *c, uint64_t request, uint64_t op, uint32_t status,
                      uint8_t *reply, uint32_t len);

int vr_client_table_write(const struct vr_client_table *t, vr_sm_write_fn write, void *ctx);
/* Replaces *t with what read yields; leaves *t unchanged on failure. */
int vr_client_table_read(struct vr_client_table *t, vr_sm_read_fn read, void *ctx);
