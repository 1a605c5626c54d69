/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/u64map.h"

/* splitmix64's finaliser: keys chosen by clients must not cluster. */
static size_t slot_of(const struct u64map *m, uint64_t key) {
        key ^= key >> 30;
        key *= 0xbf58476d1ce4e5b9ULL;
        key ^= key >> 27;
        key *= 0x94d049bb133111ebULL;
        key ^= key >> 31;
        return (size_t) key & m->mask;
}

static struct u64map_entry *find(const struct u64map *m, uint64_t key) {
        if (!m->slots)
                return NULL;
        for (size_t i = slot_of(m, key);; i = (i + 1) & m->mask) {
                struct u64map_entry *e = &m->slots[i];
                if (!e->value)
                        return NULL;
                if (e->key == key)
                        return e;
        }
}

void *u64map_get(const struct u64map *m, uint64_t key) {
        struct u64map_entry *e = find(m, key);
        return e ? e->value : NULL;
}

static void insert(struct u64map *m, uint64_t key, void *value) {
        size_t i = slot_of(m, key);
        while (m->slots[i].value)
                i = (i + 1) & m->mask;
        m->slots[i] = (struct u64map_entry) { key, value };
        m->n++;
}

static int grow(struct u64map *m) {
        size_t cap = m->slots ? (m->mask + 1) * 2 : 16;
        struct u64map old = *m;
        m->slots = calloc(cap, sizeof *m->slots);
        if (!m->slots) {
                *m = old;
                return -ENOMEM;
        }
        m->mask = cap - 1;
        m->n = 0;
        for (size_t i = 0; old.slots && i <= old.mask; i++)
                if (old.slots[i].value)
                        insert(m, old.slots[i].key, old.slots[i].value);
        free(old.slots);
        return 0;
}

int u64map_put(struct u64map *m, uint64_t key, void *value) {
        struct u64map_entry *e = find(m, key);
        if (e) {
                e->value = value;
                return 0;
        }
        if (!m->slots || (m->n + 1) * 2 > m->mask + 1) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        insert(m, key, value);
        return 0;
}

void *u64map_remove(struct u64map *m, uint64_t key) {
        struct u64map_entry *e = find(m, key);
        if (!e)
                return NULL;
        void *value = e->value;
        size_t hole = (size_t) (e - m->slots);
        /* Backward shift: move later entries of the probe run into the hole when their home
         * slot does not lie cyclically between the hole and their position. */
        for (size_t i = (hole + 1) & m->mask; m->slots[i].value; i = (i + 1) & m->mask) {
                size_t home = slot_of(m, m->slots[i].key);
                bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
                if (movable) {
                        m->slots[hole] = m->slots[i];
                        hole = i;
                }
        }
        m->slots[hole] = (struct u64map_entry) {};
        m->n--;
        return value;
}

void u64map_done(struct u64map *m) {
        free(m->slots);
        *m = (struct u64map) {};
}

int u64map_next(const struct u64map *m, size_t *i, uint64_t *key, void **value) {
        for (; m->slots && *i <= m->mask; (*i)++)
                if (m->slots[*i].value) {
                        *key = m->slots[*i].key;
                        *value = m->slots[*i].value;
                        (*i)++;
                        return 1;
                }
        return 0;
}
