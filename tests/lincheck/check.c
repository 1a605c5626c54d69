/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "history.h"
#include "search.h"
#include "util/cleanup.h"

/* One op of one key as the history shows it. */
struct kop {
        enum lc_fn f;
        int64_t value;     /* read: the ok result; write, cas: the value stored */
        int64_t expected;
        size_t call, ret;  /* event indices; ret is LC_NO_EVENT for info or never completed */
        bool relaxed;      /* shrinking treats it as info */
};

/* What the ops of a window say about one value. */
enum fact_kind { FACT_OBSERVER, FACT_MENTION, FACT_SOURCE };

struct fact {
        int64_t value;
        enum fact_kind kind;
        size_t ret;  /* FACT_OBSERVER: the observer's completion */
};

struct summary {
        int64_t value;
        bool observed;
        unsigned sources;
        size_t deadline;  /* earliest completion of an op that saw the value, LC_NO_EVENT if none */
};

/* Scratch space for checking windows of one key, sized for all of its ops. */
struct key_check {
        const struct kop *ops;
        size_t n;
        struct lc_sop *sops;
        size_t n_sops;
        struct fact *facts;
        struct summary *summaries;
};

static void key_check_done(struct key_check *k) {
        free(k->sops);
        free(k->facts);
        free(k->summaries);
}

static int key_check_init(struct key_check *k, const struct kop *ops, size_t n) {
        *k = (struct key_check) {
                .ops = ops,
                .n = n,
                .sops = malloc(sizeof(struct lc_sop) * (n + 1)),
                .facts = malloc(sizeof(struct fact) * (2 * n + 1)),
                .summaries = malloc(sizeof(struct summary) * (2 * n + 1)),
        };
        return k->sops && k->facts && k->summaries ? 0 : -ENOMEM;
}

static bool is_open(const struct kop *op, size_t cut) {
        return op->relaxed || op->ret == LC_NO_EVENT || op->ret >= cut;
}

static int fact_cmp(const void *a, const void *b) {
        const struct fact *x = a, *y = b;

        return x->value < y->value ? -1 : x->value > y->value;
}

static int summary_cmp(const void *key, const void *elem) {
        int64_t v = *(const int64_t *) key;
        const struct summary *s = elem;

        return v < s->value ? -1 : v > s->value;
}

/* Collects, per value, who observes, mentions and produces it in the window before `cut`. */
static size_t summarise(struct key_check *k, size_t cut) {
        size_t n_facts = 0, n_summaries = 0;

        for (size_t i = 0; i < k->n && k->ops[i].call < cut; i++) {
                const struct kop *op = &k->ops[i];
                bool open = is_open(op, cut);

                if (op->f == LC_READ) {
                        if (!open)
                                k->facts[n_facts++] = (struct fact) { op->value, FACT_OBSERVER, op->ret };
                        continue;
                }
                if (op->f == LC_CAS)
                        k->facts[n_facts++] = (struct fact) {
                                op->expected, open ? FACT_MENTION : FACT_OBSERVER, op->ret,
                        };
                k->facts[n_facts++] = (struct fact) { op->value, FACT_SOURCE, LC_NO_EVENT };
        }
        qsort(k->facts, n_facts, sizeof(struct fact), fact_cmp);

        for (size_t i = 0; i < n_facts; i++) {
                const struct fact *f = &k->facts[i];
                if (n_summaries == 0 || k->summaries[n_summaries - 1].value != f->value)
                        k->summaries[n_summaries++] = (struct summary) {
                                .value = f->value,
                                .deadline = LC_NO_EVENT,
                        };
                struct summary *s = &k->summaries[n_summaries - 1];
                if (f->kind == FACT_SOURCE)
                        s->sources++;
                else
                        s->observed = true;
                if (f->kind == FACT_OBSERVER && f->ret < s->deadline)
                        s->deadline = f->ret;
        }
        return n_summaries;
}

/* Turns the window of events before `cut` into search input, simplified as lincheck.h says. */
static void prepare(struct key_check *k, size_t cut) {
        size_t n_summaries = summarise(k, cut);

        k->n_sops = 0;
        for (size_t i = 0; i < k->n && k->ops[i].call < cut; i++) {
                const struct kop *op = &k->ops[i];
                struct lc_sop s = {
                        .f = op->f,
                        .value = op->value,
                        .expected = op->expected,
                        .call = 2 * (uint64_t) op->call + 1,
                        .ret = 2 * (uint64_t) op->ret + 1,
                        .origin = i,
                };

                if (is_open(op, cut)) {
                        if (op->f == LC_READ)
                                continue;
                        const struct summary *sum = bsearch(&op->value, k->summaries, n_summaries,
                                                            sizeof(struct summary), summary_cmp);
                        if (!sum->observed)
                                continue;
                        bool forced = op->value != LC_NIL && sum->sources == 1 &&
                                      sum->deadline != LC_NO_EVENT && sum->deadline > op->call;
                        s.ret = forced ? 2 * (uint64_t) sum->deadline : LC_OPEN;
                }
                k->sops[k->n_sops++] = s;
        }
}

/* 1 if the window before `cut` is not linearizable, 0 if it is, or a negative errno. */
static int window_fails(struct key_check *k, size_t cut, uint64_t *budget) {
        prepare(k, cut);
        int r = lc_search(k->sops, k->n_sops, budget);
        return r < 0 ? r : !r;
}

static int size_cmp(const void *a, const void *b) {
        size_t x = *(const size_t *) a, y = *(const size_t *) b;

        return x < y ? -1 : x > y;
}

/* Shortest failing prefix of the key's events: failing is monotone in the prefix length
 * because ops open at the cut are treated as info. Returns the cut. */
static int shortest_prefix(struct key_check *k, uint64_t *budget, size_t *cut) {
        _cleanup_free_ size_t *events = malloc(sizeof(size_t) * (2 * k->n + 1));
        size_t m = 0, lo = 1, hi;

        if (!events)
                return -ENOMEM;
        for (size_t i = 0; i < k->n; i++) {
                events[m++] = k->ops[i].call;
                if (k->ops[i].ret != LC_NO_EVENT)
                        events[m++] = k->ops[i].ret;
        }
        qsort(events, m, sizeof(size_t), size_cmp);

        hi = m;  /* the whole key fails */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int r = window_fails(k, events[mid - 1] + 1, budget);
                if (r == -E2BIG)
                        break;
                if (r < 0)
                        return r;
                if (r)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        *cut = events[hi - 1] + 1;
        return 0;
}

/* Relaxes chunks of the completed ops that `reads` selects (reads, or writes and cas), halving
 * the chunk size, keeping every relaxation after which the window still fails. Chunks are
 * aligned, so a chunk lies inside one chunk of the previous round and is either wholly relaxed
 * already or wholly not. `ops` is the array k->ops points to; only `relaxed` flags change.
 * Returns 0, or 1 when the budget ran out, or a negative errno. */
static int relax(struct key_check *k, struct kop *ops, size_t cut, bool reads, uint64_t *budget) {
        _cleanup_free_ size_t *cand = malloc(sizeof(size_t) * (k->n + 1));
        size_t n_cand = 0, size = 1;

        if (!cand)
                return -ENOMEM;
        for (size_t i = 0; i < k->n && ops[i].call < cut; i++)
                if (!is_open(&ops[i], cut) && (ops[i].f == LC_READ) == reads)
                        cand[n_cand++] = i;
        while (size * 2 <= n_cand / 2)
                size *= 2;

        for (;; size /= 2) {
                for (size_t start = 0; start < n_cand; start += size) {
                        size_t end = start + size < n_cand ? start + size : n_cand;
                        bool changed = false;

                        for (size_t j = start; j < end; j++) {
                                changed = changed || !ops[cand[j]].relaxed;
                                ops[cand[j]].relaxed = true;
                        }
                        if (!changed)
                                continue;
                        int r = window_fails(k, cut, budget);
                        if (r == 1)
                                continue;
                        for (size_t j = start; j < end; j++)
                                ops[cand[j]].relaxed = false;
                        if (r == -E2BIG)
                                return 1;
                        if (r < 0)
                                return r;
                }
                if (size <= 1)
                        return 0;
        }
}

/* Shrinks the failing window before `cut`: reads first, since dropping them leaves the writes
 * that explain the violation in plain view, then writes and cas. */
static int shrink(struct key_check *k, struct kop *ops, size_t cut, uint64_t *budget) {
        int r = relax(k, ops, cut, true, budget);
        if (r != 0)
                return r < 0 ? r : 0;
        r = relax(k, ops, cut, false, budget);
        return r < 0 ? r : 0;
}

/* One event of the window, for the report. */
struct shown {
        size_t event;
        const char *note;
};

static int shown_cmp(const void *a, const void *b) {
        const struct shown *x = a, *y = b;

        return x->event < y->event ? -1 : x->event > y->event;
}

static int explain(const struct lc_history *h, struct key_check *k, size_t cut, char **ret) {
        _cleanup_free_ struct shown *shown = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n_shown = 0, size = 0;

        prepare(k, cut);
        shown = malloc(sizeof(struct shown) * (2 * k->n_sops + 1));
        if (!shown)
                return -ENOMEM;
        for (size_t i = 0; i < k->n_sops; i++) {
                const struct kop *op = &k->ops[k->sops[i].origin];
                size_t done = h->partner[op->call];
                const char *note = op->relaxed ? "  [treated as indeterminate]" : "";

                if (done == LC_NO_EVENT || done >= cut)
                        note = "  [still open at the end of the window]";
                shown[n_shown++] = (struct shown) { op->call, note };
                if (done != LC_NO_EVENT && done < cut)
                        shown[n_shown++] = (struct shown) { done, note };
        }
        qsort(shown, n_shown, sizeof(struct shown), shown_cmp);

        _cleanup_fclose_ FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "key \"%s\": no order of these %zu ops is consistent with a register "
                "(events numbered from 1, as lines of the JSON-lines history):\n",
                h->keys[h->event_key[k->ops[0].call]], k->n_sops);
        for (size_t i = 0; i < n_shown; i++) {
                fprintf(f, "  event %zu: ", shown[i].event + 1);
                int r = lc_event_format(&h->events[shown[i].event], f);
                if (r < 0)
                        return r;
                fprintf(f, "%s\n", shown[i].note);
        }
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

/* The ops of every key that may have taken effect, grouped by key id, each group in call order:
 * key i's ops are ops[start[i]] to ops[start[i + 1] - 1]. */
static int gather(const struct lc_history *h, struct kop **ret_ops, size_t **ret_start) {
        _cleanup_free_ size_t *start = calloc(h->n_keys + 2, sizeof(size_t));
        _cleanup_free_ struct kop *ops = NULL;

        if (!start)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_events; i++) {
                size_t done = h->partner[i];
                if (h->events[i].type == LC_INVOKE && (done == LC_NO_EVENT || h->events[done].type != LC_FAIL))
                        start[h->event_key[i] + 2]++;
        }
        for (size_t i = 2; i < h->n_keys + 2; i++)
                start[i] += start[i - 1];
        ops = malloc(sizeof(struct kop) * (start[h->n_keys + 1] + 1));
        if (!ops)
                return -ENOMEM;

        for (size_t i = 0; i < h->n_events; i++) {
                const struct lc_event *e = &h->events[i];
                size_t done = h->partner[i];
                if (e->type != LC_INVOKE || (done != LC_NO_EVENT && h->events[done].type == LC_FAIL))
                        continue;
                bool ok = done != LC_NO_EVENT && h->events[done].type == LC_OK;
                ops[start[h->event_key[i] + 1]++] = (struct kop) {
                        .f = e->f,
                        .value = e->f == LC_READ ? (ok ? h->events[done].value : LC_NIL) : e->value,
                        .expected = e->expected,
                        .call = i,
                        .ret = ok ? done : LC_NO_EVENT,
                };
        }
        *ret_ops = TAKE_PTR(ops);
        *ret_start = TAKE_PTR(start);
        return 0;
}

/* 0 if the key's ops are linearizable, 1 (with res filled) if not, or a negative errno. */
static int check_key(const struct lc_history *h, struct kop *ops, size_t n, uint64_t budget,
                     struct lc_result *res) {
        _cleanup_(key_check_done) struct key_check k = {};
        uint64_t left = budget;
        size_t cut;
        int r;

        r = key_check_init(&k, ops, n);
        if (r < 0)
                return r;
        r = window_fails(&k, SIZE_MAX, &left);
        if (r <= 0)
                return r;

        left = budget;
        r = shortest_prefix(&k, &left, &cut);
        if (r < 0)
                return r;
        r = shrink(&k, ops, cut, &left);
        if (r < 0)
                return r;
        r = explain(h, &k, cut, &res->explanation);
        if (r < 0)
                return r;
        res->key = strdup(h->keys[h->event_key[ops[0].call]]);
        return res->key ? 1 : -ENOMEM;
}

int lc_check_budget(const struct lc_history *h, uint64_t budget, struct lc_result *res) {
        _cleanup_free_ struct kop *ops = NULL;
        _cleanup_free_ size_t *start = NULL;
        bool undecided = false;
        int r;

        *res = (struct lc_result) { .linearizable = true };
        r = gather(h, &ops, &start);
        if (r < 0)
                return r;

        for (size_t key = 0; key < h->n_keys; key++) {
                size_t n = start[key + 1] - start[key];
                if (n == 0)
                        continue;
                r = check_key(h, ops + start[key], n, budget, res);
                if (r == -E2BIG) {
                        undecided = true;
                        continue;
                }
                if (r < 0) {
                        lc_result_done(res);
                        return r;
                }
                if (r > 0) {
                        res->linearizable = false;
                        return 0;
                }
        }
        return undecided ? -E2BIG : 0;
}

int lc_check(const struct lc_history *h, struct lc_result *res) {
        return lc_check_budget(h, LC_DEFAULT_BUDGET, res);
}

void lc_result_done(struct lc_result *res) {
        free(res->key);
        free(res->explanation);
        *res = (struct lc_result) {};
}
