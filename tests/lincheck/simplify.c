/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "simplify.h"

#define NONE SIZE_MAX

struct candidate {
        size_t op;
        bool open;
        size_t value, expected;  /* indices into the value table */
        size_t deadline;         /* event index an open op must take effect before, or NONE */
        size_t next_open_cas;    /* next open cas storing the same value, or NONE */
};

struct value {
        bool needed;
        bool queued;
        unsigned sources;        /* kept ops that store this value */
        size_t source;           /* the candidate that does, when there is exactly one */
        size_t deadline;         /* earliest moment something had seen it, or NONE */
        size_t first_open_cas;   /* open cas candidates that store it, linked */
};

struct lc_simplifier {
        struct candidate *cands;
        int64_t *values;         /* distinct values of the window, sorted */
        struct value *info;
        size_t *queue;
        size_t n_cands, n_values, n_queue;
};

int lc_simplifier_new(size_t n, struct lc_simplifier **ret) {
        struct lc_simplifier *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->cands = malloc(sizeof(struct candidate) * (n + 1));
        s->values = malloc(sizeof(int64_t) * (2 * n + 1));
        s->info = malloc(sizeof(struct value) * (2 * n + 1));
        s->queue = malloc(sizeof(size_t) * (2 * n + 1));
        if (!s->cands || !s->values || !s->info || !s->queue) {
                lc_simplifier_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void lc_simplifier_free(struct lc_simplifier *s) {
        if (!s)
                return;
        free(s->cands);
        free(s->values);
        free(s->info);
        free(s->queue);
        free(s);
}

static int value_cmp(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

static size_t value_index(const struct lc_simplifier *s, int64_t v) {
        const int64_t *p = bsearch(&v, s->values, s->n_values, sizeof(int64_t), value_cmp);

        return p - s->values;
}

/* Collects the window's candidates and the table of the values they mention. */
static void collect(struct lc_simplifier *s, const struct lc_kop *ops, size_t n, size_t cut) {
        size_t n_raw = 0;

        s->n_cands = 0;
        for (size_t i = 0; i < n && ops[i].call < cut; i++) {
                const struct lc_kop *op = &ops[i];
                bool open = op->relaxed || op->ret == NONE || op->ret >= cut;

                if (op->f == LC_READ && open)
                        continue;
                s->cands[s->n_cands++] = (struct candidate) { .op = i, .open = open, .deadline = NONE };
                s->values[n_raw++] = op->value;
                if (op->f == LC_CAS)
                        s->values[n_raw++] = op->expected;
        }
        qsort(s->values, n_raw, sizeof(int64_t), value_cmp);

        s->n_values = 0;
        for (size_t i = 0; i < n_raw; i++)
                if (s->n_values == 0 || s->values[s->n_values - 1] != s->values[i])
                        s->values[s->n_values++] = s->values[i];
        for (size_t x = 0; x < s->n_values; x++)
                s->info[x] = (struct value) { .deadline = NONE, .first_open_cas = NONE };

        for (size_t c = 0; c < s->n_cands; c++) {
                struct candidate *cd = &s->cands[c];
                const struct lc_kop *op = &ops[cd->op];

                cd->value = value_index(s, op->value);
                cd->expected = op->f == LC_CAS ? value_index(s, op->expected) : NONE;
                cd->next_open_cas = NONE;
                if (op->f == LC_CAS && cd->open) {
                        cd->next_open_cas = s->info[cd->value].first_open_cas;
                        s->info[cd->value].first_open_cas = c;
                }
        }
}

static void enqueue(struct lc_simplifier *s, size_t x) {
        if (!s->info[x].queued) {
                s->info[x].queued = true;
                s->queue[s->n_queue++] = x;
        }
}

static size_t dequeue(struct lc_simplifier *s) {
        size_t x = s->queue[--s->n_queue];

        s->info[x].queued = false;
        return x;
}

static void need(struct lc_simplifier *s, size_t x) {
        if (!s->info[x].needed) {
                s->info[x].needed = true;
                enqueue(s, x);
        }
}

/* Marks the needed values: seen by ok ops, or expected by an open cas storing a needed one. */
static void mark_needed(struct lc_simplifier *s, const struct lc_kop *ops) {
        for (size_t c = 0; c < s->n_cands; c++) {
                const struct candidate *cd = &s->cands[c];
                if (cd->open)
                        continue;
                if (ops[cd->op].f == LC_READ)
                        need(s, cd->value);
                else if (ops[cd->op].f == LC_CAS)
                        need(s, cd->expected);
        }
        while (s->n_queue > 0) {
                size_t x = dequeue(s);
                for (size_t c = s->info[x].first_open_cas; c != NONE; c = s->cands[c].next_open_cas)
                        need(s, s->cands[c].expected);
        }
}

static bool kept(const struct lc_simplifier *s, const struct candidate *cd) {
        return !cd->open || s->info[cd->value].needed;
}

static void lower_deadline(struct lc_simplifier *s, size_t x, size_t deadline) {
        if (deadline < s->info[x].deadline) {
                s->info[x].deadline = deadline;
                enqueue(s, x);
        }
}

/* Gives deadlines to open ops that are the only producer of a value something saw. */
static void force(struct lc_simplifier *s, const struct lc_kop *ops) {
        for (size_t c = 0; c < s->n_cands; c++) {
                const struct candidate *cd = &s->cands[c];
                if (!kept(s, cd))
                        continue;
                if (ops[cd->op].f != LC_READ) {
                        s->info[cd->value].sources++;
                        s->info[cd->value].source = c;
                }
                if (cd->open)
                        continue;
                if (ops[cd->op].f == LC_READ)
                        lower_deadline(s, cd->value, ops[cd->op].ret);
                else if (ops[cd->op].f == LC_CAS)
                        lower_deadline(s, cd->expected, ops[cd->op].ret);
        }

        while (s->n_queue > 0) {
                size_t x = dequeue(s);
                const struct value *v = &s->info[x];
                if (s->values[x] == LC_NIL || v->sources != 1)
                        continue;  /* the initial value, or more than one way to reach it */
                struct candidate *src = &s->cands[v->source];
                const struct lc_kop *op = &ops[src->op];
                if (!src->open || v->deadline <= op->call || v->deadline >= src->deadline)
                        continue;
                src->deadline = v->deadline;
                /* A cas that must take effect by then needs its expected value by then too. */
                if (op->f == LC_CAS)
                        lower_deadline(s, src->expected, v->deadline);
        }
}

size_t lc_simplify(struct lc_simplifier *s, const struct lc_kop *ops, size_t n, size_t cut, struct lc_sop *out) {
        size_t m = 0;

        collect(s, ops, n, cut);
        s->n_queue = 0;
        mark_needed(s, ops);
        force(s, ops);

        for (size_t c = 0; c < s->n_cands; c++) {
                const struct candidate *cd = &s->cands[c];
                const struct lc_kop *op = &ops[cd->op];

                if (!kept(s, cd))
                        continue;
                /* Positions: real events at odd numbers, deadlines just before the event. */
                out[m++] = (struct lc_sop) {
                        .f = op->f,
                        .value = op->value,
                        .expected = op->expected,
                        .call = 2 * (uint64_t) op->call + 1,
                        .ret = !cd->open ? 2 * (uint64_t) op->ret + 1
                                : cd->deadline != NONE ? 2 * (uint64_t) cd->deadline
                                : LC_OPEN,
                        .origin = cd->op,
                };
        }
        return m;
}
