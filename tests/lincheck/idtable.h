/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * An open-addressing index from a 64-bit hash to small integer ids. The table stores only the
 * hash and the id; the caller owns the objects the ids name and decides equality through a
 * callback, so one table serves key interning, process lookup and the checker's memo cache.
 *
 * Contract: ids are any uint32_t below UINT32_MAX; lookups visit only entries whose stored hash
 * equals the probe hash, in insertion-independent probe order; the table never calls the
 * callback for an entry with a different hash. Growth keeps the load factor at or below 1/2.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LC_ID_NONE UINT32_MAX

typedef bool (*lc_id_eq_t)(uint32_t id, const void *probe, void *userdata);

struct lc_idtable {
        uint64_t *hashes;
        uint32_t *ids;  /* LC_ID_NONE marks an empty slot */
        size_t mask;    /* capacity - 1; capacity is a power of two, 0 before first insert */
        size_t n;
};

void lc_idtable_done(struct lc_idtable *t);

/* The id of an entry with this hash for which eq(id, probe, userdata) holds, or LC_ID_NONE. */
uint32_t lc_idtable_find(const struct lc_idtable *t, uint64_t hash, lc_id_eq_t eq, const void *probe,
                         void *userdata);

/* Adds (hash, id); the caller has checked it is absent. 0 or -ENOMEM. */
int lc_idtable_put(struct lc_idtable *t, uint64_t hash, uint32_t id);
