/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * protobuf-c decoding into an arena (util/arena.h): every field of an unpacked message comes from
 * one arena, so a message costs no malloc once the arena has grown and is freed by resetting it
 * (never with *_free_unpacked()). protobuf-c answers NULL for malformed input and for allocation
 * failure alike; `failed` tells them apart, as callers must (refusing good input for lack of
 * memory is not the same answer as refusing bad input).
 */

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "util/arena.h"

struct vs_pb_arena {
        struct vs_arena arena;
        bool failed;            /* an allocation failed since the last reset */
        ProtobufCAllocator allocator;
};

/* Returns the allocator to pass to *_unpack(); a is reset (nothing allocated, failed cleared). */
ProtobufCAllocator *vs_pb_arena_start(struct vs_pb_arena *a);
void vs_pb_arena_done(struct vs_pb_arena *a);
