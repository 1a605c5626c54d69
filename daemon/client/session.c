/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "client/session.h"

static size_t slot_of(const struct session_table *t, uint64_t id) {
        /* Fibonacci hashing spreads ids even if a caller's generator is weak in its low bits. */
        return (size_t) ((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (t->cap - 1);
}

void session_table_done(struct session_table *t) {
        for (size_t i = 0; i < t->cap; i++)
                free(t->slots[i]);
        free(t->slots);
        *t = (struct session_table) {};
}

static void insert(struct session_table *t, struct session *s) {
        size_t i = slot_of(t, s->id);
        while (t->slots[i])
                i = (i + 1) & (t->cap - 1);
        t->slots[i] = s;
}

int session_table_add(struct session_table *t, struct session *s) {
        if (session_table_find(t, s->id))
                return -EEXIST;
        if ((t->n + 1) * 2 > t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                struct session **slots = calloc(cap, sizeof *slots);
                if (!slots)
                        return -ENOMEM;
                struct session_table grown = { .slots = slots, .cap = cap, .n = t->n };
                for (size_t i = 0; i < t->cap; i++)
                        if (t->slots[i])
                                insert(&grown, t->slots[i]);
                free(t->slots);
                *t = grown;
        }
        insert(t, s);
        t->n++;
        return 0;
}

struct session *session_table_find(const struct session_table *t, uint64_t id) {
        if (t->cap == 0)
                return NULL;
        for (size_t i = slot_of(t, id); t->slots[i]; i = (i + 1) & (t->cap - 1))
                if (t->slots[i]->id == id)
                        return t->slots[i];
        return NULL;
}

void session_table_remove(struct session_table *t, struct session *s) {
        size_t i = slot_of(t, s->id);
        while (t->slots[i] != s) {
                if (!t->slots[i])
                        return;
                i = (i + 1) & (t->cap - 1);
        }
        /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
        size_t hole = i;
        for (size_t j = (i + 1) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
                size_t home = slot_of(t, t->slots[j]->id);
                /* Move j into the hole unless its home lies cyclically in (hole, j]. */
                bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
                if (!stays) {
                        t->slots[hole] = t->slots[j];
                        hole = j;
                }
        }
        t->slots[hole] = NULL;
        t->n--;
}
