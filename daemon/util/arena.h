/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A bump allocator for objects that all die together (e.g. one decoded message): allocation is a
 * pointer increment, freeing one object is a no-op, and vs_arena_reset() frees them all at once
 * while keeping its memory as one chunk, so that a steady stream of similar messages allocates
 * nothing after the first. Every allocation is aligned for any type (max_align_t). A zero-initialised
 * struct vs_arena is an empty arena.
 */

#include <stddef.h>

struct vs_arena_chunk;

struct vs_arena {
        struct vs_arena_chunk *chunks; /* newest (largest) first */
        size_t used;                   /* bytes of the newest chunk in use */
};

/* NULL when out of memory (the arena unchanged); size 0 gets a unique pointer too. */
void *vs_arena_alloc(struct vs_arena *a, size_t size);
/* Frees every allocation; the memory is kept, as one chunk, for the next ones. */
void vs_arena_reset(struct vs_arena *a);
/* Frees every allocation and all memory. */
void vs_arena_done(struct vs_arena *a);
