/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

struct rng {
        uint64_t s;
};

static uint64_t next(struct rng *r) {
        uint64_t x = r->s += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static unsigned below(struct rng *r, unsigned n) {
        return next(r) % n;
}

enum phase { IDLE, INVOKED, EFFECTED };

struct process {
        enum phase phase;
        struct lc_event op;  /* the invoke */
        unsigned key;
        int64_t result;
        bool failed;         /* a cas that found another value */
};

static int emit(struct lc_history *h, const struct lc_event *inv, enum lc_type type, int64_t result,
                uint64_t time) {
        struct lc_event e = *inv;

        e.type = type;
        e.time = time;
        if (inv->f == LC_READ)
                e.value = type == LC_OK ? result : LC_NIL;
        return lc_history_add(h, &e);
}

int lc_gen_history(const struct lc_gen_options *o, struct lc_history **ret) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        struct process procs[LC_GEN_MAX] = {};
        int64_t reg[LC_GEN_MAX];
        char names[LC_GEN_MAX][16];
        struct rng rng = { o->seed };
        unsigned invoked = 0, busy = 0;
        uint64_t time = 0;
        int r;

        if (o->processes == 0 || o->processes > LC_GEN_MAX || o->keys == 0 || o->keys > LC_GEN_MAX)
                return -EINVAL;
        r = lc_history_new(&h);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < o->keys; k++) {
                reg[k] = LC_NIL;
                snprintf(names[k], sizeof(names[k]), "k%u", k);
        }

        while (invoked < o->ops || busy > 0) {
                unsigned pi = below(&rng, o->processes);
                struct process *p = &procs[pi];
                bool info = below(&rng, 200) < o->info_percent;

                time++;
                if (p->phase == IDLE) {
                        if (invoked == o->ops)
                                continue;
                        unsigned k = below(&rng, o->keys), what = below(&rng, 10);
                        int64_t v = o->values ? 1 + below(&rng, o->values) : (int64_t) invoked + 1;
                        p->op = (struct lc_event) {
                                .process = pi,
                                .type = LC_INVOKE,
                                .f = what < 4 ? LC_READ : what < 8 ? LC_WRITE : LC_CAS,
                                .key = names[k],
                                .value = what < 4 ? LC_NIL : v,
                                .expected = below(&rng, 2) ? reg[k] : 1 + below(&rng, o->values ? o->values : 4),
                                .time = time,
                        };
                        r = lc_history_add(h, &p->op);
                        if (r < 0)
                                return r;
                        p->key = k;
                        p->phase = INVOKED;
                        invoked++;
                        busy++;
                        continue;
                }

                unsigned k = p->key;
                if (p->phase == INVOKED && !info) {
                        /* Take effect now, on the real register. */
                        p->result = reg[k];
                        p->failed = p->op.f == LC_CAS && reg[k] != p->op.expected;
                        if (p->op.f == LC_WRITE || (p->op.f == LC_CAS && !p->failed))
                                reg[k] = p->op.value;
                        p->phase = EFFECTED;
                        continue;
                }

                enum lc_type type = info ? LC_INFO : p->failed ? LC_FAIL : LC_OK;
                r = emit(h, &p->op, type, p->result, time);
                if (r < 0)
                        return r;
                p->phase = IDLE;
                busy--;
        }
        *ret = TAKE_PTR(h);
        return 0;
}
