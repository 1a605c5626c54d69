/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/arena.h"

/* Enough for a typical tree command decoded in an arena of its own, and under glibc's 1 KiB
 * (with its header) from where a malloc first consolidates every small chunk freed so far: at
 * 4096, each command's short-lived arena cost one such consolidation (5% of a primary's CPU at
 * 64 outstanding ops). Arenas that live long (a connection's) grow to fit and are merged into one
 * chunk at reset. */
#define FIRST_CHUNK 960

struct vs_arena_chunk {
        struct vs_arena_chunk *next;
        size_t size;
        alignas(max_align_t) unsigned char data[];
};

static size_t align_up(size_t n) {
        return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

void *vs_arena_alloc(struct vs_arena *a, size_t size) {
        if (size > SIZE_MAX / 4)
                return NULL;
        size = align_up(size ? size : 1);
        struct vs_arena_chunk *c = a->chunks;
        if (!c || c->size - a->used < size) {
                size_t n = c ? c->size * 2 : FIRST_CHUNK;
                while (n < size)
                        n *= 2;
                struct vs_arena_chunk *k = malloc(sizeof(*k) + n);
                if (!k)
                        return NULL;
                *k = (struct vs_arena_chunk) { .next = c, .size = n };
                a->chunks = c = k;
                a->used = 0;
        }
        void *p = c->data + a->used;
        a->used += size;
        return p;
}

static void free_chain(struct vs_arena_chunk *c) {
        while (c) {
                struct vs_arena_chunk *next = c->next;
                free(c);
                c = next;
        }
}

void vs_arena_reset(struct vs_arena *a) {
        a->used = 0;
        if (!a->chunks || !a->chunks->next)
                return;
        /* What took several chunks gets one chunk of their total, so that it fits next time. */
        size_t total = 0;
        for (struct vs_arena_chunk *c = a->chunks; c; c = c->next)
                total += c->size;
        free_chain(a->chunks);
        a->chunks = malloc(sizeof(*a->chunks) + total);
        if (a->chunks)
                *a->chunks = (struct vs_arena_chunk) { .size = total };
}

void vs_arena_done(struct vs_arena *a) {
        free_chain(a->chunks);
        *a = (struct vs_arena) {};
}
