/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "idtable.h"

void lc_idtable_done(struct lc_idtable *t) {
        free(t->hashes);
        free(t->ids);
        *t = (struct lc_idtable) {};
}

uint32_t lc_idtable_find(const struct lc_idtable *t, uint64_t hash, lc_id_eq_t eq, const void *probe,
                         void *userdata) {
        if (t->n == 0)
                return LC_ID_NONE;

        for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
                if (t->ids[i] == LC_ID_NONE)
                        return LC_ID_NONE;
                if (t->hashes[i] == hash && eq(t->ids[i], probe, userdata))
                        return t->ids[i];
        }
}

static void place(uint64_t *hashes, uint32_t *ids, size_t mask, uint64_t hash, uint32_t id) {
        size_t i = hash & mask;

        while (ids[i] != LC_ID_NONE)
                i = (i + 1) & mask;
        hashes[i] = hash;
        ids[i] = id;
}

static int grow(struct lc_idtable *t) {
        size_t cap = t->hashes ? (t->mask + 1) * 2 : 64;
        uint64_t *hashes = malloc(cap * sizeof(uint64_t));
        uint32_t *ids = malloc(cap * sizeof(uint32_t));

        if (!hashes || !ids) {
                free(hashes);
                free(ids);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cap; i++)
                ids[i] = LC_ID_NONE;
        if (t->hashes)
                for (size_t i = 0; i <= t->mask; i++)
                        if (t->ids[i] != LC_ID_NONE)
                                place(hashes, ids, cap - 1, t->hashes[i], t->ids[i]);
        free(t->hashes);
        free(t->ids);
        t->hashes = hashes;
        t->ids = ids;
        t->mask = cap - 1;
        return 0;
}

int lc_idtable_put(struct lc_idtable *t, uint64_t hash, uint32_t id) {
        if (!t->hashes || (t->n + 1) * 2 > t->mask + 1) {
                int r = grow(t);
                if (r < 0)
                        return r;
        }
        place(t->hashes, t->ids, t->mask, hash, id);
        t->n++;
        return 0;
}
