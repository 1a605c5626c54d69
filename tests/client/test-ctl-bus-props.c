/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viewstampctl's generic reading of D-Bus values (ctl/bus-props.h): messages are built and sealed
 * in-process on an unconnected-peer bus (no daemon), rewound and read back as JSON; and the label
 * and text forms used for human output.
 */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl/bus-props.h"
#include "ctl/show.h"
#include "util/cleanup.h"
#include "../check-run.h"

static sd_bus *bus;
static uint64_t cookie;

/* Messages can be built once a bus has started; one end of a socketpair is enough for that. */
static void setup(void) {
        int fds[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_bus_start(bus), 0);
        close(fds[1]);
}

static void teardown(void) {
        bus = sd_bus_flush_close_unref(bus);
}

/* A sealed, rewound message whose body is what append() put there. */
static sd_bus_message *message(void (*append)(sd_bus_message *m)) {
        sd_bus_message *m = NULL;
        ck_assert_int_ge(sd_bus_message_new_signal(bus, &m, "/test", "org.test", "Values"), 0);
        append(m);
        ck_assert_int_ge(sd_bus_message_seal(m, ++cookie, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
        return m;
}

/* Reads every value of the message as one JSON array. */
static char *read_all_json(sd_bus_message *m) {
        _cleanup_(json_object_putp) json_object *all = json_object_new_array();
        while (sd_bus_message_at_end(m, true) == 0) {
                json_object *v = NULL;
                ck_assert_int_eq(bus_read_json(m, &v), 0);
                json_object_array_add(all, v);
        }
        return strdup(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void append_basics(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_append(m, "sogbynqiuxtd", "text", "/org/x", "a(sss)", 1, 255, -3, 65535,
                                               -70000, UINT32_MAX, INT64_MIN, UINT64_MAX, 0.5), 0);
}

START_TEST(basic_types) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message(append_basics);
        _cleanup_free_ char *s = read_all_json(m);
        ck_assert_str_eq(s, "[\"text\",\"/org/x\",\"a(sss)\",true,255,-3,65535,-70000,4294967295,"
                            "-9223372036854775808,18446744073709551615,0.5]");
}
END_TEST

static void append_containers(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_append(m, "as", 3, "node1", "node2", "node3"), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "a(sss)", 2, "n1", "p1", "c1", "n2", "p2", "c2"), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "View", "t", (uint64_t) 7, "Replicas", "as", 1, "n1"), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "as", 0), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "v", "v", "s", "nested"), 0);
}

START_TEST(containers) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message(append_containers);
        _cleanup_free_ char *s = read_all_json(m);
        ck_assert_str_eq(s, "[[\"node1\",\"node2\",\"node3\"],[[\"n1\",\"p1\",\"c1\"],[\"n2\",\"p2\",\"c2\"]],"
                            "[[\"View\",7],[\"Replicas\",[\"n1\"]]],[],\"nested\"]");
}
END_TEST

static void append_one(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_append(m, "s", "only"), 0);
}

START_TEST(past_the_end) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message(append_one);
        _cleanup_(json_object_putp) json_object *v = NULL, *w = NULL;
        ck_assert_int_eq(bus_read_json(m, &v), 0);
        ck_assert_str_eq(json_object_get_string(v), "only");
        ck_assert_int_eq(bus_read_json(m, &w), -EBADMSG);
        ck_assert_ptr_null(w);
}
END_TEST

START_TEST(labels) {
        static const char *const cases[][2] = {
                { "op_number", "Op number" },
                { "checkpoint_op", "Checkpoint op" },
                { "id", "Id" },
                { "name", "Name" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *l = bus_label(cases[i][0]);
                ck_assert_str_eq(l, cases[i][1]);
        }
}
END_TEST

START_TEST(texts) {
        static const char *const cases[][2] = {
                { "\"normal\"", "normal" },
                { "18446744073709551615", "18446744073709551615" },
                { "[\"node1\",\"node2\",\"node3\"]", "node1, node2, node3" },
                { "[\"solo\"]", "solo" },
                { "[]", "" },
                { "[[\"a\",\"b\"],[\"c\"]]", "a, b, c" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *v = json_tokener_parse(cases[i][0]);
                ck_assert_ptr_nonnull(v);
                _cleanup_free_ char *t = bus_text(v);
                ck_assert_str_eq(t, cases[i][1]);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("ctl-bus-props");
        TCase *tc = tcase_create("bus-props");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, basic_types);
        tcase_add_test(tc, containers);
        tcase_add_test(tc, past_the_end);
        tcase_add_test(tc, labels);
        tcase_add_test(tc, texts);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
