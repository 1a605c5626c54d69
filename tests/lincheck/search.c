/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>

#include "grow.h"
#include "idtable.h"
#include "search.h"
#include "util/cleanup.h"

/* One call or return in the doubly linked list of entries still to be linearized. Node 0 is the
 * list head; -1 ends the list. */
struct node {
        uint32_t op;
        bool call;
        int32_t prev, next;
};

struct frame {
        int32_t node;
        int64_t state;
};

struct search {
        const struct lc_sop *ops;
        size_t n;
        struct node *nodes;
        int32_t *ret_node;   /* per op, -1 for open ops */
        uint64_t *zobrist;   /* per op, a fixed pseudo-random word; their XOR hashes the set */
        uint64_t *bits;      /* the set of linearized ops */
        size_t n_words;
        int64_t state;

        /* Memo cache: entries live in `arena` as [state, len, count, (index, word) * count], the
         * bitset words below `len` that are not all ones; words from `len` on are zero. Linearized
         * sets are mostly a full prefix, so entries stay small however long the history. */
        uint64_t *arena;
        size_t arena_len, arena_cap;
        struct lc_idtable index;
};

static void search_done(struct search *s) {
        free(s->nodes);
        free(s->ret_node);
        free(s->zobrist);
        free(s->bits);
        free(s->arena);
        lc_idtable_done(&s->index);
}

static uint64_t splitmix64(uint64_t x) {
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

struct position {
        uint64_t at;
        uint32_t op;
        bool call;
};

static int position_cmp(const void *a, const void *b) {
        const struct position *x = a, *y = b;

        /* Callers give every call and return its own position. */
        return x->at < y->at ? -1 : x->at > y->at;
}

static int search_init(struct search *s, const struct lc_sop *ops, size_t n) {
        _cleanup_free_ struct position *pos = NULL;
        size_t m = 0;

        if (n >= INT32_MAX / 2)
                return -E2BIG;
        *s = (struct search) {
                .ops = ops,
                .n = n,
                .n_words = (n + 63) / 64,
        };
        pos = malloc(sizeof(*pos) * (2 * n + 1));
        s->nodes = malloc(sizeof(struct node) * (2 * n + 1));
        s->ret_node = malloc(sizeof(int32_t) * (n + 1));
        s->zobrist = malloc(sizeof(uint64_t) * (n + 1));
        s->bits = calloc(s->n_words + 1, sizeof(uint64_t));
        if (!pos || !s->nodes || !s->ret_node || !s->zobrist || !s->bits)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                pos[m++] = (struct position) { .at = ops[i].call, .op = i, .call = true };
                if (ops[i].ret != LC_OPEN)
                        pos[m++] = (struct position) { .at = ops[i].ret, .op = i, .call = false };
                s->ret_node[i] = -1;
                s->zobrist[i] = splitmix64(i);
        }
        qsort(pos, m, sizeof(*pos), position_cmp);

        s->nodes[0] = (struct node) { .prev = -1, .next = m > 0 ? 1 : -1 };
        for (size_t i = 0; i < m; i++) {
                s->nodes[i + 1] = (struct node) {
                        .op = pos[i].op,
                        .call = pos[i].call,
                        .prev = i,
                        .next = i + 1 < m ? (int32_t) i + 2 : -1,
                };
                if (!pos[i].call)
                        s->ret_node[pos[i].op] = i + 1;
        }
        s->state = LC_NIL;
        return 0;
}

static void unlink_node(struct node *nodes, int32_t x) {
        nodes[nodes[x].prev].next = nodes[x].next;
        if (nodes[x].next >= 0)
                nodes[nodes[x].next].prev = nodes[x].prev;
}

/* Undoes unlink_node(); valid because links are restored in the reverse order of removal. */
static void relink_node(struct node *nodes, int32_t x) {
        nodes[nodes[x].prev].next = x;
        if (nodes[x].next >= 0)
                nodes[nodes[x].next].prev = x;
}

static void flip(struct search *s, uint32_t op, uint64_t *hash) {
        s->bits[op / 64] ^= UINT64_C(1) << (op % 64);
        *hash ^= s->zobrist[op];
}

static uint64_t config_hash(uint64_t set_hash, int64_t state) {
        return set_hash ^ splitmix64((uint64_t) state ^ UINT64_C(0x5bd1e9955bd1e995));
}

static bool entry_eq(uint32_t id, const void *probe, void *userdata) {
        const struct search *s = userdata;
        const uint64_t *e = s->arena + id, *pairs = e + 3;
        size_t len = e[1], count = e[2], j = 0;

        if ((int64_t) e[0] != *(const int64_t *) probe)
                return false;
        for (size_t i = len; i < s->n_words; i++)
                if (s->bits[i] != 0)
                        return false;
        for (size_t i = 0; i < len; i++) {
                uint64_t want = UINT64_MAX;
                if (j < count && pairs[2 * j] == i)
                        want = pairs[2 * j++ + 1];
                if (s->bits[i] != want)
                        return false;
        }
        return true;
}

/* Records the current set with register value `state`: 1 if it was new, 0 if already seen. */
static int remember(struct search *s, uint64_t hash, int64_t state) {
        size_t len = s->n_words, count = 0;
        int r;

        if (lc_idtable_find(&s->index, hash, entry_eq, &state, s) != LC_ID_NONE)
                return 0;

        while (len > 0 && s->bits[len - 1] == 0)
                len--;
        for (size_t i = 0; i < len; i++)
                count += s->bits[i] != UINT64_MAX;

        size_t need = s->arena_len + 3 + 2 * count;
        if (need * sizeof(uint64_t) > LC_CACHE_MAX_BYTES || s->arena_len >= LC_ID_NONE)
                return -E2BIG;
        r = lc_grow(&s->arena, &s->arena_cap, need);
        if (r < 0)
                return r;
        r = lc_idtable_put(&s->index, hash, s->arena_len);
        if (r < 0)
                return r;

        uint64_t *e = s->arena + s->arena_len;
        e[0] = state;
        e[1] = len;
        e[2] = count;
        for (size_t i = 0, j = 3; i < len; i++)
                if (s->bits[i] != UINT64_MAX) {
                        e[j++] = i;
                        e[j++] = s->bits[i];
                }
        s->arena_len = need;
        return 1;
}

static bool apply(const struct lc_sop *op, int64_t state, int64_t *next) {
        switch (op->f) {
        case LC_READ:
                *next = state;
                return state == op->value;
        case LC_WRITE:
                *next = op->value;
                return true;
        case LC_CAS:
                *next = op->value;
                return state == op->expected;
        }
        return false;
}

static void lift(struct search *s, uint32_t op, int32_t call) {
        unlink_node(s->nodes, call);
        if (s->ret_node[op] >= 0)
                unlink_node(s->nodes, s->ret_node[op]);
}

static void unlift(struct search *s, uint32_t op, int32_t call) {
        if (s->ret_node[op] >= 0)
                relink_node(s->nodes, s->ret_node[op]);
        relink_node(s->nodes, call);
}

static int run(struct search *s, uint64_t *budget) {
        _cleanup_free_ struct frame *stack = malloc(sizeof(struct frame) * (s->n + 1));
        size_t depth = 0;
        uint64_t set_hash = 0;
        int32_t entry = s->nodes[0].next;

        if (!stack)
                return -ENOMEM;

        /* Reaching the end of the list means only open ops are left, and those may never have
         * taken effect. */
        while (entry >= 0) {
                const struct node *e = &s->nodes[entry];

                if (e->call) {
                        int64_t next;

                        if (*budget == 0)
                                return -E2BIG;
                        --*budget;
                        if (apply(&s->ops[e->op], s->state, &next)) {
                                flip(s, e->op, &set_hash);
                                int r = remember(s, config_hash(set_hash, next), next);
                                if (r < 0)
                                        return r;
                                if (r > 0) {
                                        stack[depth++] = (struct frame) { .node = entry, .state = s->state };
                                        s->state = next;
                                        lift(s, e->op, entry);
                                        entry = s->nodes[0].next;
                                        continue;
                                }
                                flip(s, e->op, &set_hash);
                        }
                        entry = e->next;
                        continue;
                }

                /* An op returned before anything placed so far could explain it: undo the
                 * last choice and try the next candidate after it. */
                if (depth == 0)
                        return 0;
                struct frame f = stack[--depth];
                uint32_t op = s->nodes[f.node].op;
                s->state = f.state;
                flip(s, op, &set_hash);
                unlift(s, op, f.node);
                entry = s->nodes[f.node].next;
        }
        return 1;
}

int lc_search(const struct lc_sop *ops, size_t n, uint64_t *budget) {
        _cleanup_(search_done) struct search s = {};
        int r;

        r = search_init(&s, ops, n);
        if (r < 0)
                return r;
        return run(&s, budget);
}
