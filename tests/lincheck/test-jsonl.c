/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "../check-run.h"

static int read_text(const char *text, struct lc_history **ret, unsigned *line, const char **why) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        ck_assert_ptr_nonnull(f);
        r = lc_history_read_jsonl_why(f, ret, line, why);
        fclose(f);
        return r;
}

static char *write_text(const struct lc_history *h) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(lc_history_write_jsonl(h, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

static void ck_event_eq(const struct lc_event *a, const struct lc_event *b) {
        ck_assert_int_eq(a->process, b->process);
        ck_assert_int_eq(a->type, b->type);
        ck_assert_int_eq(a->f, b->f);
        ck_assert_str_eq(a->key, b->key);
        ck_assert_int_eq(a->value, b->value);
        ck_assert_int_eq(a->expected, b->expected);
        ck_assert_uint_eq(a->time, b->time);
}

START_TEST(test_round_trip) {
        static const struct lc_event events[] = {
                { 1, LC_INVOKE, LC_WRITE, "plain", 5, LC_NIL, 10 },
                { -3, LC_INVOKE, LC_CAS, "quote\"slash/back\\\\tab\t\xc3\xa9", LC_NIL, 5, 11 },
                { 1, LC_OK, LC_WRITE, "plain", 5, LC_NIL, 12 },
                { -3, LC_INFO, LC_CAS, "quote\"slash/back\\\\tab\t\xc3\xa9", LC_NIL, 5, 13 },
                { 1, LC_INVOKE, LC_READ, "plain", LC_NIL, LC_NIL, 14 },
                { 1, LC_OK, LC_READ, "plain", INT64_MAX, LC_NIL, 15 },
                { 2, LC_INVOKE, LC_CAS, "k", INT64_MIN + 1, 0, UINT64_MAX },
                { 2, LC_FAIL, LC_CAS, "k", INT64_MIN + 1, 0, 0 },
                { 4, LC_INVOKE, LC_READ, "", LC_NIL, LC_NIL, 1 },
                { 4, LC_OK, LC_READ, "", LC_NIL, LC_NIL, 2 },
                { 4, LC_INVOKE, LC_WRITE, "", LC_NIL, LC_NIL, 3 },
        };
        _cleanup_(lc_history_freep) struct lc_history *h = NULL, *back = NULL;
        unsigned line = 0;

        ck_assert_int_eq(lc_history_new(&h), 0);
        for (size_t i = 0; i < ELEMENTSOF(events); i++)
                ck_assert_int_eq(lc_history_add(h, &events[i]), 0);
        _cleanup_free_ char *text = write_text(h);
        ck_assert_int_eq(read_text(text, &back, &line, NULL), 0);
        ck_assert_uint_eq(line, ELEMENTSOF(events));
        ck_assert_uint_eq(lc_history_size(back), ELEMENTSOF(events));
        for (size_t i = 0; i < ELEMENTSOF(events); i++)
                ck_event_eq(lc_history_get(back, i), &events[i]);
        ck_assert_ptr_null(lc_history_get(back, ELEMENTSOF(events)));

        /* the format is the documented one, byte for byte */
        ck_assert_ptr_nonnull(strstr(text, "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"plain\","
                                           "\"value\":5,\"time\":10}\n"));
        ck_assert_ptr_nonnull(strstr(text, "\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k\","
                                           "\"value\":[0,-9223372036854775807],\"time\":18446744073709551615}\n"));
        ck_assert_ptr_nonnull(strstr(text, "\"f\":\"read\",\"key\":\"\",\"value\":null,\"time\":2}\n"));

        _cleanup_free_ char *again = write_text(back);
        ck_assert_str_eq(again, text);
}
END_TEST

START_TEST(test_completions_normalised) {
        static const char text[] =
                "{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\",\"value\":[1,2],\"time\":1}\n"
                "{\"process\":1,\"type\":\"ok\",\"f\":\"cas\",\"key\":\"x\",\"value\":null,\"time\":2}\n"
                "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":3,\"time\":3,\"extra\":[1]}\r\n"
                "  {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":3,\"time\":4}  \n";
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        unsigned line;

        ck_assert_int_eq(read_text(text, &h, &line, NULL), 0);
        ck_assert_uint_eq(lc_history_size(h), 4);
        ck_assert_int_eq(lc_history_get(h, 1)->expected, 1);
        ck_assert_int_eq(lc_history_get(h, 1)->value, 2);
        ck_assert_int_eq(lc_history_get(h, 3)->value, 3);
}
END_TEST

#define GOOD "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":1}\n"

/* Every malformed line, placed as line 3 after two good ones. */
static const char *const malformed[] = {
        "not json",
        "{\"process\":1,",
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}}",
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1} x",
        "[1,2]",
        "42",
        "null",
        "",
        "   ",
        "{\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null}",
        "{\"process\":\"2\",\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2.5,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":null,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"start\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":7,\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":7,\"value\":1,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":null,\"value\":1,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":\"1\",\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":1.5,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":true,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":[1,2],\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":9223372036854775808,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":-9223372036854775808,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":-99999999999999999999,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":1,\"time\":-1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"y\",\"value\":1,\"time\":\"now\"}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":1,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":null,\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":[1],\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":[1,2,3],\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":[1,\"2\"],\"time\":1}",
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"y\",\"value\":{\"a\":1},\"time\":1}",
};

/* Both entry points reject text with `error` at `want_line` and return no history. */
static void expect_rejected(const char *text, int error, unsigned want_line) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        unsigned line = 0;
        const char *why = NULL;

        ck_assert_msg(read_text(text, &h, &line, &why) == error, "not rejected: %s", text);
        ck_assert_ptr_null(h);
        ck_assert_uint_eq(line, want_line);
        ck_assert_ptr_nonnull(why);

        FILE *f = fmemopen((void *) text, strlen(text), "r");
        ck_assert_ptr_nonnull(f);
        line = 0;
        ck_assert_int_eq(lc_history_read_jsonl(f, &h, &line), error);
        ck_assert_ptr_null(h);
        ck_assert_uint_eq(line, want_line);
        fclose(f);
}

START_TEST(test_malformed) {
        _cleanup_free_ char *text = NULL;

        ck_assert_int_ge(asprintf(&text, GOOD "{\"process\":9,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"z\","
                                           "\"value\":null,\"time\":1}\n%s\n" GOOD, malformed[_i]), 0);
        expect_rejected(text, -EBADMSG, 3);
}
END_TEST

START_TEST(test_nul_byte) {
        static const char text[] = GOOD "{\"process\":1,\0\"type\":\"ok\"}\n";
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        unsigned line;
        FILE *f = fmemopen((void *) text, sizeof(text) - 1, "r");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(lc_history_read_jsonl(f, &h, &line), -EBADMSG);
        ck_assert_uint_eq(line, 2);
        fclose(f);
}
END_TEST

/* Lines that parse but break the event rules, placed as line 2 after an invoke of write 1 on x
 * by process 1. */
static const char *const rule_breaking[] = {
        "{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1,\"time\":2}",
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null,\"time\":2}",
        "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1,\"time\":2}",
        "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"other\",\"value\":1,\"time\":2}",
        "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":2,\"time\":2}",
        "{\"process\":3,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":5,\"time\":2}",
};

START_TEST(test_rule_breaking) {
        _cleanup_free_ char *text = NULL;

        ck_assert_int_ge(asprintf(&text, GOOD "%s\n", rule_breaking[_i]), 0);
        expect_rejected(text, -EINVAL, 2);
}
END_TEST

START_TEST(test_add_rules) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        struct lc_event e = { .process = 1, .type = LC_OK, .f = LC_READ, .key = "x", .value = 1 };

        ck_assert_int_eq(lc_history_new(&h), 0);
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* no invoke */
        e = (struct lc_event) { .process = 1, .type = LC_INVOKE, .f = LC_CAS, .value = 2, .expected = 1 };
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* no key */
        e.key = "x";
        ck_assert_int_eq(lc_history_add(h, &e), 0);
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* second invoke */
        e.type = LC_OK;
        e.f = LC_WRITE;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* mismatched f */
        e.f = LC_CAS;
        e.expected = 7;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* other arguments */
        e.type = 9;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* no such type */
        e.type = -1;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);
        e.type = LC_OK;
        e.f = -1;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* no such function */
        e = (struct lc_event) { .process = 1, .type = LC_INFO, .f = LC_CAS, .value = LC_NIL, .expected = LC_NIL };
        ck_assert_int_eq(lc_history_add(h, &e), 0);              /* key and arguments inherited */
        ck_assert_str_eq(lc_history_get(h, 1)->key, "x");
        ck_assert_int_eq(lc_history_get(h, 1)->value, 2);
        e = (struct lc_event) { .process = 1, .type = LC_INVOKE, .f = LC_READ, .key = "x", .value = LC_NIL };
        ck_assert_int_eq(lc_history_add(h, &e), 0);              /* free again after info */
        e.type = LC_FAIL;
        e.value = 3;
        ck_assert_int_eq(lc_history_add(h, &e), -EINVAL);        /* failed read with a result */
        ck_assert_uint_eq(lc_history_size(h), 3);
}
END_TEST

static Suite *jsonl_suite(void) {
        Suite *s = suite_create("jsonl");
        TCase *tc = tcase_create("jsonl");

        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_completions_normalised);
        tcase_add_loop_test(tc, test_malformed, 0, ELEMENTSOF(malformed));
        tcase_add_test(tc, test_nul_byte);
        tcase_add_loop_test(tc, test_rule_breaking, 0, ELEMENTSOF(rule_breaking));
        tcase_add_test(tc, test_add_rules);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(jsonl_suite());
}
