/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "tree/index.h"
#include "util/cleanup.h"

#define INITIAL_SLOTS 16

int index_init(struct tree_index *idx) {
        *idx = (struct tree_index) {};
        idx->slots = calloc(INITIAL_SLOTS, sizeof(*idx->slots));
        if (!idx->slots)
                return -ENOMEM;
        idx->mask = INITIAL_SLOTS - 1;
        return 0;
}

void index_done(struct tree_index *idx) {
        free(idx->slots);
        *idx = (struct tree_index) {};
}

static void place(struct tree_node **slots, size_t mask, struct tree_node *n) {
        size_t i = n->hash & mask;
        while (slots[i])
                i = (i + 1) & mask;
        slots[i] = n;
}

int index_reserve(struct tree_index *idx, size_t extra) {
        size_t slots = idx->mask + 1, need = idx->count + extra;

        /* Keep the load at or below 3/4 so that probe sequences stay short. */
        if (need <= slots / 4 * 3)
                return 0;
        while (need > slots / 4 * 3) {
                if (slots > SIZE_MAX / 2 / sizeof(*idx->slots))
                        return -ENOMEM;
                slots *= 2;
        }

        struct tree_node **n = calloc(slots, sizeof(*n));
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i <= idx->mask; i++)
                if (idx->slots[i])
                        place(n, slots - 1, idx->slots[i]);
        free(idx->slots);
        idx->slots = n;
        idx->mask = slots - 1;
        return 0;
}

void index_insert(struct tree_index *idx, struct tree_node *n) {
        place(idx->slots, idx->mask, n);
        idx->count++;
}

void index_remove(struct tree_index *idx, struct tree_node *n) {
        size_t mask = idx->mask, i = n->hash & mask;

        while (idx->slots[i] != n)
                i = (i + 1) & mask;

        /* Shift back every following entry of the run that may no longer be reachable. */
        for (size_t j = (i + 1) & mask; idx->slots[j]; j = (j + 1) & mask) {
                size_t home = idx->slots[j]->hash & mask;
                /* The entry at j stays when its home lies cyclically in (i, j]. */
                if (((j - home) & mask) < ((j - i) & mask))
                        continue;
                idx->slots[i] = idx->slots[j];
                i = j;
        }
        idx->slots[i] = NULL;
        idx->count--;
}

bool node_has_path(const struct tree_node *n, const char *path, size_t len) {
        for (; n->parent; n = n->parent) {
                size_t nl = n->name_len;
                if (len < nl + 1 || path[len - nl - 1] != '/' || memcmp(path + len - nl, n->name, nl) != 0)
                        return false;
                len -= nl + 1;
        }
        return len == 0;
}

struct tree_node *index_find(const struct tree_index *idx, uint64_t hash, const char *path, size_t len) {
        size_t mask = idx->mask;

        for (size_t i = hash & mask; idx->slots[i]; i = (i + 1) & mask) {
                struct tree_node *n = idx->slots[i];
                if (n->hash == hash && node_has_path(n, path, len))
                        return n;
        }
        return NULL;
}
