/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A map from 64-bit keys (any value, 0 included) to non-NULL pointers: open addressing with
 * linear probing and backward-shift deletion (no tombstones, so lookups stay short however many
 * removals there were). Load factor at most 1/2. Not ordered; iteration visits each entry once
 * as long as the map is not changed meanwhile.
 */

#include <stddef.h>
#include <stdint.h>

struct u64map_entry {
        uint64_t key;
        void *value; /* NULL: empty slot */
};

struct u64map {
        struct u64map_entry *slots;
        size_t mask; /* capacity - 1, capacity a power of two; slots NULL before the first put */
        size_t n;
};

void *u64map_get(const struct u64map *m, uint64_t key);
/* Inserts or replaces. 0 or -ENOMEM (the map unchanged). value must not be NULL. */
int u64map_put(struct u64map *m, uint64_t key, void *value);
/* Returns the removed value, or NULL if absent. */
void *u64map_remove(struct u64map *m, uint64_t key);
static inline size_t u64map_size(const struct u64map *m) {
        return m->n;
}
void u64map_done(struct u64map *m);

/* for (size_t i = 0; u64map_next(m, &i, &key, &value);) ... */
int u64map_next(const struct u64map *m, size_t *i, uint64_t *key, void **value);
