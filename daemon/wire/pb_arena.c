/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "wire/pb_arena.h"

static void *arena_alloc(void *data, size_t size) {
        struct vs_pb_arena *a = data;
        void *p = vs_arena_alloc(&a->arena, size);
        if (!p)
                a->failed = true;
        return p;
}

static void arena_free(void *data, void *p) {
}

ProtobufCAllocator *vs_pb_arena_start(struct vs_pb_arena *a) {
        vs_arena_reset(&a->arena);
        a->failed = false;
        a->allocator = (ProtobufCAllocator) { .alloc = arena_alloc, .free = arena_free, .allocator_data = a };
        return &a->allocator;
}

void vs_pb_arena_done(struct vs_pb_arena *a) {
        vs_arena_done(&a->arena);
}
