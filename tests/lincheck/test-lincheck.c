/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "lincheck.h"
#include "../check-run.h"

/* Builds a history from lines "PROCESS TYPE F KEY [ARGS]", ';'-separated, where ARGS is the
 * value (an integer or "nil"), or for cas "EXPECTED NEW". */
static int64_t parse_value(const char *s) {
        return !s || strcmp(s, "nil") == 0 ? LC_NIL : strtoll(s, NULL, 10);
}

static int add_line(struct lc_history *h, char *line) {
        static const char *const types[] = { "invoke", "ok", "fail", "info" };
        static const char *const fns[] = { "read", "write", "cas" };
        char *save = NULL, *tok[6] = {};
        struct lc_event e = { .value = LC_NIL, .expected = LC_NIL };
        size_t n = 0;

        for (char *t = strtok_r(line, " ", &save); t && n < ELEMENTSOF(tok); t = strtok_r(NULL, " ", &save))
                tok[n++] = t;
        ck_assert_uint_ge(n, 4);
        e.process = strtoll(tok[0], NULL, 10);
        for (unsigned i = 0; i < ELEMENTSOF(types); i++)
                if (strcmp(tok[1], types[i]) == 0)
                        e.type = i;
        for (unsigned i = 0; i < ELEMENTSOF(fns); i++)
                if (strcmp(tok[2], fns[i]) == 0)
                        e.f = i;
        e.key = tok[3];
        if (e.f == LC_CAS && n == 6) {
                e.expected = parse_value(tok[4]);
                e.value = parse_value(tok[5]);
        } else
                e.value = parse_value(tok[4]);
        return lc_history_add(h, &e);
}

static struct lc_history *build(const char *spec) {
        struct lc_history *h = NULL;
        _cleanup_free_ char *copy = strdup(spec);
        char *save = NULL;

        ck_assert_ptr_nonnull(copy);
        ck_assert_int_eq(lc_history_new(&h), 0);
        for (char *l = strtok_r(copy, ";", &save); l; l = strtok_r(NULL, ";", &save))
                ck_assert_int_eq(add_line(h, l), 0);
        return h;
}

/* Checks spec and returns the verdict; a failing key must be `bad_key` and the explanation must
 * name it. */
static bool linearizable(const char *spec, const char *bad_key) {
        _cleanup_(lc_history_freep) struct lc_history *h = build(spec);
        _cleanup_lc_result_ struct lc_result res = {};

        ck_assert_int_eq(lc_check(h, &res), 0);
        if (res.linearizable) {
                ck_assert_ptr_null(res.key);
                return true;
        }
        ck_assert_ptr_nonnull(res.key);
        ck_assert_str_eq(res.key, bad_key);
        ck_assert_ptr_nonnull(res.explanation);
        ck_assert_ptr_nonnull(strstr(res.explanation, res.key));
        return false;
}

#define ck_lin(spec) ck_assert_msg(linearizable(spec, NULL), "expected linearizable: %s", spec)
#define ck_not_lin(spec, key) ck_assert_msg(!linearizable(spec, key), "expected violation: %s", spec)

START_TEST(test_empty) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_lc_result_ struct lc_result res = {};

        ck_assert_int_eq(lc_history_new(&h), 0);
        ck_assert_int_eq(lc_check(h, &res), 0);
        ck_assert(res.linearizable);
}
END_TEST

START_TEST(test_sequential) {
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke read x; 2 ok read x 1");
        ck_lin("2 invoke read x; 2 ok read x nil; 1 invoke write x 1; 1 ok write x 1");
        ck_lin("1 invoke write x 1; 1 ok write x 1; 1 invoke write x nil; 1 ok write x; 2 invoke read x; 2 ok read x nil");
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke read x; 2 ok read x 7", "x");
}
END_TEST

START_TEST(test_stale_read) {
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 1 invoke write x 2; 1 ok write x 2;"
                   "2 invoke read x; 2 ok read x 1", "x");
}
END_TEST

START_TEST(test_lost_write) {
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke read x; 2 ok read x nil", "x");
}
END_TEST

START_TEST(test_cas) {
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 1 2; 2 ok cas x 1 2; 3 invoke read x; 3 ok read x 2");
        ck_lin("1 invoke cas x nil 5; 1 ok cas x; 2 invoke read x; 2 ok read x 5");
        /* cas succeeding against a value the register did not hold */
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 3 4; 2 ok cas x 3 4", "x");
        /* two cas both succeeding from the same value */
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 1 2; 3 invoke cas x 1 3;"
                   "2 ok cas x; 3 ok cas x", "x");
}
END_TEST

START_TEST(test_concurrent_reorder) {
        /* a read overlapping a write may see either value */
        ck_lin("1 invoke write x 1; 2 invoke read x; 2 ok read x nil; 1 ok write x 1");
        ck_lin("1 invoke write x 1; 2 invoke read x; 2 ok read x 1; 1 ok write x 1");
        /* overlapping writes may land in either order */
        ck_lin("1 invoke write x 1; 2 invoke write x 2; 1 ok write x 1; 2 ok write x 2; 3 invoke read x; 3 ok read x 1");
        ck_lin("1 invoke write x 1; 2 invoke write x 2; 1 ok write x 1; 2 ok write x 2; 3 invoke read x; 3 ok read x 2");
        /* but once one read saw the new value, a later read cannot see the old one */
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 1 invoke write x 2; 2 invoke read x; 2 ok read x 2;"
                   "3 invoke read x; 3 ok read x 1; 1 ok write x 2", "x");
}
END_TEST

START_TEST(test_write_then_read_across_processes) {
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write x 2; 2 ok write x 2; 3 invoke read x; 3 ok read x 2");
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write x 2; 2 ok write x 2; 3 invoke read x; 3 ok read x 1",
                   "x");
}
END_TEST

START_TEST(test_info_took_effect) {
        ck_lin("1 invoke write x 1; 1 info write x; 2 invoke read x; 2 ok read x 1");
        /* an info op can take effect long after its process moved on */
        ck_lin("1 invoke write x 1; 1 info write x; 1 invoke write x 2; 1 ok write x 2;"
               "2 invoke read x; 2 ok read x 2; 2 invoke read x; 2 ok read x 1");
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 1 2; 2 info cas x; 3 invoke read x; 3 ok read x 2");
        /* an invoke with no completion at all is open too */
        ck_lin("1 invoke write x 1; 2 invoke read x; 2 ok read x 1");
}
END_TEST

START_TEST(test_info_never_took_effect) {
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write x 2; 2 info write x; 3 invoke read x; 3 ok read x 1");
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 5 6; 2 info cas x; 3 invoke read x; 3 ok read x 1");
}
END_TEST

START_TEST(test_fails_through_info) {
        /* the value appears before the only write of it was invoked */
        ck_not_lin("2 invoke read x; 2 ok read x 1; 1 invoke write x 1; 1 info write x", "x");
        /* an info write took effect once only: it cannot explain the old value coming back */
        ck_not_lin("1 invoke write x 1; 1 info write x; 2 invoke read x; 2 ok read x 1;"
                   "3 invoke write x 2; 3 ok write x 2; 2 invoke read x; 2 ok read x 1", "x");
        /* an info cas can only take effect when its expectation holds */
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 3 4; 2 info cas x; 3 invoke read x; 3 ok read x 4",
                   "x");
}
END_TEST

START_TEST(test_fail_ignored) {
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write x 2; 2 fail write x; 3 invoke read x; 3 ok read x 2",
                   "x");
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write x 2; 2 fail write x; 3 invoke read x; 3 ok read x 1");
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 1 2; 2 fail cas x; 3 invoke read x; 3 ok read x 1");
        ck_not_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke cas x 1 2; 2 fail cas x; 3 invoke read x; 3 ok read x 2",
                   "x");
        /* failed and indeterminate reads say nothing */
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke read x; 2 fail read x; 3 invoke read x; 3 info read x");
}
END_TEST

START_TEST(test_keys_independent) {
        /* x alone would be linearizable, and y alone too, if they were one register they would not */
        ck_lin("1 invoke write x 1; 1 ok write x 1; 2 invoke write y 2; 2 ok write y 2;"
               "3 invoke read x; 3 ok read x 1; 3 invoke read y; 3 ok read y 2");
        ck_not_lin("1 invoke write a 1; 1 ok write a 1; 2 invoke write b 2; 2 ok write b 2;"
                   "3 invoke read a; 3 ok read a 1; 3 invoke read b; 3 ok read b 1;"
                   "4 invoke write c 1; 4 ok write c 1; 4 invoke read c; 4 ok read c 1", "b");
}
END_TEST

START_TEST(test_window_is_small) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_lc_result_ struct lc_result res = {};
        struct lc_event e;
        unsigned lines = 0;

        /* 300 sequential writes with reads, then one stale read */
        ck_assert_int_eq(lc_history_new(&h), 0);
        for (int64_t v = 1; v <= 300; v++) {
                e = (struct lc_event) { .process = v % 3, .type = LC_INVOKE, .f = LC_WRITE, .key = "x", .value = v };
                ck_assert_int_eq(lc_history_add(h, &e), 0);
                e.type = LC_OK;
                ck_assert_int_eq(lc_history_add(h, &e), 0);
                e = (struct lc_event) { .process = 7, .type = LC_INVOKE, .f = LC_READ, .key = "x", .value = LC_NIL };
                ck_assert_int_eq(lc_history_add(h, &e), 0);
                e.type = LC_OK;
                e.value = v;
                ck_assert_int_eq(lc_history_add(h, &e), 0);
        }
        e = (struct lc_event) { .process = 8, .type = LC_INVOKE, .f = LC_READ, .key = "x", .value = LC_NIL };
        ck_assert_int_eq(lc_history_add(h, &e), 0);
        e.type = LC_OK;
        e.value = 150;
        ck_assert_int_eq(lc_history_add(h, &e), 0);

        ck_assert_int_eq(lc_check(h, &res), 0);
        ck_assert(!res.linearizable);
        for (const char *p = res.explanation; (p = strstr(p, "  event ")); p++)
                lines++;
        /* the stale read, the write it saw and the later write that hid it: 3 ops, 6 events */
        ck_assert_msg(lines <= 6, "window too large (%u events):\n%s", lines, res.explanation);
        ck_assert_ptr_nonnull(strstr(res.explanation, "event 1202:"));
}
END_TEST

START_TEST(test_window_small_in_busy_history) {
        /* A stale read planted after thousands of concurrent ops, info ops and cas chains: the
         * window must come down to the write it saw, one that overwrote it, and the read. */
        for (uint64_t seed = 1; seed <= 5; seed++) {
                _cleanup_(lc_history_freep) struct lc_history *h = NULL;
                _cleanup_lc_result_ struct lc_result res = {};
                struct lc_gen_options o = {
                        .processes = 8, .keys = 1, .ops = 3000, .info_percent = 10, .seed = seed,
                };
                unsigned lines = 0;

                ck_assert_int_eq(lc_gen_history(&o, &h), 0);
                int64_t old = LC_NIL;
                for (size_t i = 0; old == LC_NIL; i++) {
                        const struct lc_event *e = lc_history_get(h, i);
                        if (e->type == LC_OK && e->f == LC_WRITE)
                                old = e->value;
                }
                struct lc_event e = { .process = 99, .type = LC_INVOKE, .f = LC_READ, .key = "k0", .value = LC_NIL };
                ck_assert_int_eq(lc_history_add(h, &e), 0);
                e.type = LC_OK;
                e.value = old;
                ck_assert_int_eq(lc_history_add(h, &e), 0);

                ck_assert_int_eq(lc_check(h, &res), 0);
                ck_assert(!res.linearizable);
                for (const char *p = res.explanation; (p = strstr(p, "  event ")); p++)
                        lines++;
                ck_assert_msg(lines <= 6, "seed %llu: window too large (%u events):\n%.2000s",
                              (unsigned long long) seed, lines, res.explanation);
        }
}
END_TEST

START_TEST(test_budget) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_lc_result_ struct lc_result res = {};
        struct lc_gen_options o = { .processes = 5, .keys = 1, .ops = 200, .info_percent = 10, .seed = 3 };

        ck_assert_int_eq(lc_gen_history(&o, &h), 0);
        ck_assert_int_eq(lc_check_budget(h, 10, &res), -E2BIG);
        ck_assert_int_eq(lc_check_budget(h, LC_DEFAULT_BUDGET, &res), 0);
        ck_assert(res.linearizable);
}
END_TEST

START_TEST(test_violation_beats_undecided) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_lc_result_ struct lc_result res = {};
        struct lc_gen_options o = { .processes = 5, .keys = 1, .ops = 200, .info_percent = 10, .seed = 4 };
        struct lc_event e = { .process = 99, .type = LC_INVOKE, .f = LC_READ, .key = "z", .value = LC_NIL };

        ck_assert_int_eq(lc_gen_history(&o, &h), 0);
        ck_assert_int_eq(lc_history_add(h, &e), 0);
        e.type = LC_OK;
        e.value = 5;
        ck_assert_int_eq(lc_history_add(h, &e), 0);
        ck_assert_int_eq(lc_check_budget(h, 10, &res), 0);
        ck_assert(!res.linearizable);
        ck_assert_str_eq(res.key, "z");
}
END_TEST

START_TEST(test_generated_linearizable) {
        /* Simulator-like shapes: thousands of ops on one key, many info ops. */
        for (unsigned values = 0; values <= 6; values += 6)
                for (uint64_t seed = 1; seed <= 20; seed++) {
                        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
                        _cleanup_lc_result_ struct lc_result res = {};
                        struct lc_gen_options o = {
                                .processes = 8, .keys = 2, .ops = 4000, .info_percent = 20,
                                .values = values, .seed = seed,
                        };

                        ck_assert_int_eq(lc_gen_history(&o, &h), 0);
                        ck_assert_int_eq(lc_check(h, &res), 0);
                        ck_assert_msg(res.linearizable, "seed %llu values %u: %s", (unsigned long long) seed,
                                      values, res.explanation);
                }
}
END_TEST


/* A brute-force reference: tries every order of the ops that respects real time, where ok ops
 * must appear and info or never-completed ones may. Exponential; for tiny histories only. */
struct ref_op {
        enum lc_fn f;
        int64_t value, expected;
        size_t call, ret;  /* ret SIZE_MAX: optional */
};

static bool ref_search(const struct ref_op *ops, size_t n, uint32_t placed, int64_t state) {
        bool done = true;

        for (size_t i = 0; i < n; i++)
                done = done && (placed & (1u << i) || ops[i].ret == SIZE_MAX);
        if (done)
                return true;
        for (size_t x = 0; x < n; x++) {
                bool allowed = !(placed & (1u << x));
                for (size_t y = 0; y < n && allowed; y++)
                        allowed = placed & (1u << y) || ops[y].ret == SIZE_MAX || ops[y].ret > ops[x].call;
                if (!allowed)
                        continue;
                int64_t next = ops[x].f == LC_READ ? state : ops[x].value;
                if ((ops[x].f == LC_READ && state != ops[x].value) || (ops[x].f == LC_CAS && state != ops[x].expected))
                        continue;
                if (ref_search(ops, n, placed | (1u << x), next))
                        return true;
        }
        return false;
}

static bool ref_linearizable(const struct lc_history *h) {
        struct ref_op ops[32];
        size_t n = 0, size = lc_history_size(h);

        for (size_t i = 0; i < size; i++) {
                const struct lc_event *inv = lc_history_get(h, i), *done = NULL;
                if (inv->type != LC_INVOKE)
                        continue;
                for (size_t j = i + 1; j < size && !done; j++)
                        if (lc_history_get(h, j)->process == inv->process)
                                done = lc_history_get(h, j);
                if (done && done->type == LC_FAIL)
                        continue;
                bool ok = done && done->type == LC_OK;
                if (inv->f == LC_READ && !ok)
                        continue;
                ck_assert_uint_lt(n, ELEMENTSOF(ops));
                ops[n++] = (struct ref_op) {
                        .f = inv->f,
                        .value = inv->f == LC_READ ? done->value : inv->value,
                        .expected = inv->expected,
                        .call = i,
                        .ret = ok ? (size_t) (done - lc_history_get(h, 0)) : SIZE_MAX,
                };
        }
        return ref_search(ops, n, 0, LC_NIL);
}

/* Rebuilds the window printed in an explanation as a history of its own: relaxed ops complete
 * as info, ops open at the end of the window stay pending. */
static struct lc_history *window_history(const char *explanation) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        struct lc_history *h = NULL;
        unsigned line;

        ck_assert_ptr_nonnull(f);
        for (const char *p = explanation; (p = strstr(p, "  event ")); p++) {
                const char *json = strchr(p, '{'), *end = strchr(json, '}'), *eol = strchr(p, '\n');
                _cleanup_free_ char *ev = strndup(json, end - json + 1);
                char *ok = strstr(ev, "\"type\":\"ok\"");
                bool relaxed = memmem(end, eol - end, "indeterminate", 13);

                if (relaxed && ok)
                        fprintf(f, "%.*s\"type\":\"info\"%s\n", (int) (ok - ev), ev, ok + strlen("\"type\":\"ok\""));
                else
                        fprintf(f, "%s\n", ev);
        }
        ck_assert_int_eq(fclose(f), 0);
        f = fmemopen(text, size, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(lc_history_read_jsonl(f, &h, &line), 0);
        fclose(f);
        return h;
}

static uint64_t rnd(uint64_t *s) {
        uint64_t x = *s += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

/* Shapes of random tiny histories: how many values writes draw from, and how often a
 * completion is info (out of 10; the rest split between ok and fail 3:1). */
static const struct {
        unsigned values;
        unsigned info;
} shapes[] = {
        { 3, 2 },  /* nil, 1, 2: many repeated values, many violations */
        { 5, 5 },  /* more distinct values and info ops: exercises deadlines through cas chains */
};

static struct lc_history *random_history(uint64_t seed, unsigned shape) {
        static const int64_t vals[] = { LC_NIL, 1, 2, 3, 4 };
        unsigned nv = shapes[shape].values, info = shapes[shape].info;
        struct lc_history *h = NULL;
        bool busy[3] = {};
        struct lc_event inv[3] = {};
        unsigned ops = 3 + rnd(&seed) % 5;

        ck_assert_int_eq(lc_history_new(&h), 0);
        for (unsigned step = 0; step < 40; step++) {
                unsigned p = rnd(&seed) % 3;
                if (!busy[p]) {
                        if (ops == 0)
                                continue;
                        ops--;
                        unsigned f = rnd(&seed) % 3;
                        inv[p] = (struct lc_event) {
                                .process = p,
                                .type = LC_INVOKE,
                                .f = f,
                                .key = "x",
                                .value = f == LC_READ ? LC_NIL : vals[rnd(&seed) % nv],
                                .expected = f == LC_CAS ? vals[rnd(&seed) % nv] : LC_NIL,
                        };
                        ck_assert_int_eq(lc_history_add(h, &inv[p]), 0);
                        busy[p] = true;
                        continue;
                }
                struct lc_event e = inv[p];
                unsigned t = rnd(&seed) % 10;
                e.type = t < info ? LC_INFO : t < info + (10 - info) * 3 / 4 ? LC_OK : LC_FAIL;
                if (e.f == LC_READ)
                        e.value = e.type == LC_OK ? vals[rnd(&seed) % nv] : LC_NIL;
                ck_assert_int_eq(lc_history_add(h, &e), 0);
                busy[p] = false;
        }
        return h;
}

START_TEST(test_matches_reference) {
        unsigned violations = 0, n = 20000;

        for (uint64_t seed = 1; seed <= n; seed++) {
                _cleanup_(lc_history_freep) struct lc_history *h = random_history(seed, _i);
                _cleanup_lc_result_ struct lc_result res = {};
                bool expect = ref_linearizable(h);

                ck_assert_int_eq(lc_check(h, &res), 0);
                ck_assert_msg(res.linearizable == expect, "shape %d seed %llu: checker says %d", _i,
                              (unsigned long long) seed, res.linearizable);
                if (expect)
                        continue;
                violations++;
                /* the reported window must be a violation on its own */
                _cleanup_(lc_history_freep) struct lc_history *w = window_history(res.explanation);
                ck_assert_msg(!ref_linearizable(w), "shape %d seed %llu: window is linearizable:\n%s", _i,
                              (unsigned long long) seed, res.explanation);
        }
        /* the generator must exercise both verdicts */
        ck_assert_uint_gt(violations, n / 10);
        ck_assert_uint_lt(violations, n * 9 / 10);
}
END_TEST

static Suite *lincheck_suite(void) {
        Suite *s = suite_create("lincheck");
        TCase *tc = tcase_create("check");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_sequential);
        tcase_add_test(tc, test_stale_read);
        tcase_add_test(tc, test_lost_write);
        tcase_add_test(tc, test_cas);
        tcase_add_test(tc, test_concurrent_reorder);
        tcase_add_test(tc, test_write_then_read_across_processes);
        tcase_add_test(tc, test_info_took_effect);
        tcase_add_test(tc, test_info_never_took_effect);
        tcase_add_test(tc, test_fails_through_info);
        tcase_add_test(tc, test_fail_ignored);
        tcase_add_test(tc, test_keys_independent);
        tcase_add_test(tc, test_window_is_small);
        tcase_add_test(tc, test_window_small_in_busy_history);
        tcase_add_test(tc, test_budget);
        tcase_add_test(tc, test_violation_beats_undecided);
        tcase_add_test(tc, test_generated_linearizable);
        tcase_add_loop_test(tc, test_matches_reference, 0, ELEMENTSOF(shapes));
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(lincheck_suite());
}
