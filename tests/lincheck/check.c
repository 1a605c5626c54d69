/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "search.h"
#include "simplify.h"
#include "util/cleanup.h"

/* Scratch space for checking windows of one key, sized for all of its ops. */
struct key_check {
        const struct lc_kop *ops;
        size_t n;
        struct lc_simplifier *simplifier;
        struct lc_sop *sops;
        size_t n_sops;
};

static void key_check_done(struct key_check *k) {
        lc_simplifier_free(k->simplifier);
        free(k->sops);
}

static int key_check_init(struct key_check *k, const struct lc_kop *ops, size_t n) {
        *k = (struct key_check) {
                .ops = ops,
                .n = n,
                .sops = malloc(sizeof(struct lc_sop) * (n + 1)),
        };
        if (!k->sops)
                return -ENOMEM;
        return lc_simplifier_new(n, &k->simplifier);
}

static void prepare(struct key_check *k, size_t cut) {
        k->n_sops = lc_simplify(k->simplifier, k->ops, k->n, cut, k->sops);
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

/* Shrinking runs many searches; one that explodes (relaxed ops left open can make the search
 * exponential) must not starve the rest. Each gets at most `per_check` steps, a small multiple
 * of what proving the whole key failed took, and running out only means "not shown to fail". */
#define SHRINK_MIN_STEPS (UINT64_C(1) << 16)

struct shrink_budget {
        uint64_t left;
        uint64_t per_check;
};

static int window_fails_bounded(struct key_check *k, size_t cut, struct shrink_budget *b) {
        uint64_t allowed = b->left < b->per_check ? b->left : b->per_check, left = allowed;
        int r = window_fails(k, cut, &left);

        b->left -= allowed - left;
        return r;
}

/* Shortest failing prefix of the key's events: failing is monotone in the prefix length
 * because ops open at the cut are treated as info. Returns the cut. */
static int shortest_prefix(struct key_check *k, struct shrink_budget *budget, size_t *cut) {
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
                int r = window_fails_bounded(k, events[mid - 1] + 1, budget);
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
static int relax(struct key_check *k, struct lc_kop *ops, size_t cut, bool reads, struct shrink_budget *budget) {
        _cleanup_free_ size_t *cand = malloc(sizeof(size_t) * (k->n + 1));
        size_t n_cand = 0, size = 1;

        if (!cand)
                return -ENOMEM;
        for (size_t i = 0; i < k->n && ops[i].call < cut; i++)
                if (!ops[i].relaxed && ops[i].ret < cut && (ops[i].f == LC_READ) == reads)
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
                        int r = window_fails_bounded(k, cut, budget);
                        if (r == 1)
                                continue;
                        for (size_t j = start; j < end; j++)
                                ops[cand[j]].relaxed = false;
                        if (budget->left == 0)
                                return 1;
                        if (r < 0 && r != -E2BIG)
                                return r;
                }
                if (size <= 1)
                        return 0;
        }
}

/* Shrinks the failing window before `cut`: reads first, since dropping them leaves the writes
 * that explain the violation in plain view, then writes and cas. */
static int shrink(struct key_check *k, struct lc_kop *ops, size_t cut, struct shrink_budget *budget) {
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
                const struct lc_kop *op = &k->ops[k->sops[i].origin];
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
static int gather(const struct lc_history *h, struct lc_kop **ret_ops, size_t **ret_start) {
        _cleanup_free_ size_t *start = calloc(h->n_keys + 2, sizeof(size_t));
        _cleanup_free_ struct lc_kop *ops = NULL;

        if (!start)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_events; i++) {
                size_t done = h->partner[i];
                if (h->events[i].type == LC_INVOKE && (done == LC_NO_EVENT || h->events[done].type != LC_FAIL))
                        start[h->event_key[i] + 2]++;
        }
        for (size_t i = 2; i < h->n_keys + 2; i++)
                start[i] += start[i - 1];
        ops = malloc(sizeof(struct lc_kop) * (start[h->n_keys + 1] + 1));
        if (!ops)
                return -ENOMEM;

        for (size_t i = 0; i < h->n_events; i++) {
                const struct lc_event *e = &h->events[i];
                size_t done = h->partner[i];
                if (e->type != LC_INVOKE || (done != LC_NO_EVENT && h->events[done].type == LC_FAIL))
                        continue;
                bool ok = done != LC_NO_EVENT && h->events[done].type == LC_OK;
                ops[start[h->event_key[i] + 1]++] = (struct lc_kop) {
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
static int check_key(const struct lc_history *h, struct lc_kop *ops, size_t n, uint64_t budget,
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

        uint64_t proof = budget - left;
        struct shrink_budget sb = {
                .left = budget,
                .per_check = proof < UINT64_MAX / 8 ? 8 * proof + SHRINK_MIN_STEPS : UINT64_MAX,
        };
        r = shortest_prefix(&k, &sb, &cut);
        if (r < 0)
                return r;
        r = shrink(&k, ops, cut, &sb);
        if (r < 0)
                return r;
        r = explain(h, &k, cut, &res->explanation);
        if (r < 0)
                return r;
        res->key = strdup(h->keys[h->event_key[ops[0].call]]);
        return res->key ? 1 : -ENOMEM;
}

int lc_check_budget(const struct lc_history *h, uint64_t budget, struct lc_result *res) {
        _cleanup_free_ struct lc_kop *ops = NULL;
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
