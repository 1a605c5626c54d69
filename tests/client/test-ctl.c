/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viewstampctl's data commands: the multi input parser, the JSON helpers and the export line format
 * directly, and the binary (path in argv[1]) run against a fake node for output formats and exit
 * statuses.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/export.h"
#include "ctl/verb.h"
#include "ctl/multi-input.h"
#include "ctl/show.h"
#include "fake.h"
#include "util/cleanup.h"
#include "../check-run.h"

static const char *ctl_path;
static struct fake node;

struct run {
        int status;
        char out[8192];
        char err[8192];
};

static void read_all(int fd, char *buf, size_t cap) {
        size_t n = 0;
        ssize_t k;
        while (n + 1 < cap && (k = read(fd, buf + n, cap - 1 - n)) > 0)
                n += (size_t) k;
        buf[n] = 0;
}

/* Runs viewstampctl with args against the fake node, input on stdin (NULL: empty). */
static void ctl(struct run *r, const char *input, const char *const *args) {
        int in[2], out[2], err[2];
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                dup2(err[1], 2);
                const char *argv[32] = { ctl_path };
                size_t n = 1;
                for (; args[n - 1]; n++)
                        argv[n] = args[n - 1];
                argv[n++] = "--node";
                argv[n++] = node.address;
                argv[n++] = "--tenant";
                argv[n++] = "t1";
                argv[n] = NULL;
                execv(ctl_path, (char **) argv);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        close(err[1]);
        if (input)
                ck_assert_int_eq(write(in[1], input, strlen(input)), (ssize_t) strlen(input));
        close(in[1]);
        read_all(out[0], r->out, sizeof r->out);
        read_all(err[0], r->err, sizeof r->err);
        close(out[0]);
        close(err[0]);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFEXITED(st));
        r->status = WEXITSTATUS(st);
}

#define CTL(r, input, ...) ctl(r, input, (const char *const[]) { __VA_ARGS__, NULL })

static void setup(void) {
        ck_assert_int_eq(fake_start(&node, 0), 0);
}

static void teardown(void) {
        fake_stop(&node);
}

START_TEST(test_multi_parse) {
        vs_op *m;
        ck_assert_int_eq(vs_op_multi(&m), 0);
        const char *error = NULL;
        char l1[] = "create -s /a/x-  two  words ", l2[] = "  # comment", l3[] = "", l4[] = "set -v 3 /a v",
             l5[] = "delete -r -v 7 /a", l6[] = "check /a";
        ck_assert_int_eq(multi_parse_line(m, l1, &error), 1);
        ck_assert_int_eq(multi_parse_line(m, l2, &error), 0);
        ck_assert_int_eq(multi_parse_line(m, l3, &error), 0);
        ck_assert_int_eq(multi_parse_line(m, l4, &error), 1);
        ck_assert_int_eq(multi_parse_line(m, l5, &error), 1);
        ck_assert_int_eq(multi_parse_line(m, l6, &error), 1);
        ck_assert_uint_eq(vs_op_multi_count(m), 4);

        static const char *const bad[] = {
                "frobnicate /a", "create", "set -v /a", "set -v x /a v", "delete /a value", "check -s /a",
                "create -v 1 /a", "set -q /a",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char line[64];
                strcpy(line, bad[i]);
                error = NULL;
                ck_assert_msg(multi_parse_line(m, line, &error) == -EINVAL, "accepted: %s", bad[i]);
                ck_assert_ptr_nonnull(error);
        }
        ck_assert_uint_eq(vs_op_multi_count(m), 4);
        vs_op_free(m);
}
END_TEST

START_TEST(test_json_bytes) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        ck_assert_int_eq(show_bytes_json(o, "a", "héllo", strlen("héllo")), 0);
        ck_assert_int_eq(show_bytes_json(o, "b", "\xff\x00z", 3), 0);
        ck_assert_int_eq(show_bytes_json(o, "c", "\xc0\xaf", 2), 0);     /* overlong '/' */
        ck_assert_int_eq(show_bytes_json(o, "d", "\xed\xa0\x80", 3), 0); /* a surrogate */
        ck_assert_int_eq(show_bytes_json(o, "e", "", 0), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                         "{\"a\":\"héllo\",\"b_hex\":\"ff007a\",\"c_hex\":\"c0af\",\"d_hex\":\"eda080\",\"e\":\"\"}");

        _cleanup_(json_object_putp) json_object *e = show_error_json(VS_ERR_NO_NODE, NULL);
        ck_assert_str_eq(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
                         "{\"error\":{\"code\":1,\"name\":\"NoNode\",\"message\":\"no such node\"}}");
}
END_TEST

START_TEST(test_commands) {
        struct run r;
        CTL(&r, NULL, "create", "/a", "hello");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_str_eq(r.out, "/a\n");

        CTL(&r, NULL, "get", "/a");
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "hello"); /* raw: not a terminal */

        CTL(&r, "from\nstdin", "set", "/a", "-");
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "");
        CTL(&r, NULL, "get", "--json", "/a");
        ck_assert_int_eq(r.status, 0);
        _cleanup_(json_object_putp) json_object *j = json_tokener_parse(r.out);
        ck_assert_ptr_nonnull(j);
        json_object *v, *st, *ver;
        ck_assert(json_object_object_get_ex(j, "value", &v));
        ck_assert_str_eq(json_object_get_string(v), "from\nstdin");
        ck_assert(json_object_object_get_ex(j, "stat", &st));
        ck_assert(json_object_object_get_ex(st, "version", &ver));
        ck_assert_int_eq(json_object_get_int64(ver), 1);

        CTL(&r, NULL, "cas", "/a", "0", "x");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.err, "viewstampctl cas /a: version does not match\n");
        CTL(&r, NULL, "cas", "--json", "/a", "0", "x");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.out, "{\"error\":{\"code\":3,\"name\":\"BadVersion\",\"message\":\"version does not match\"}}\n");
        CTL(&r, NULL, "cas", "/a", "1", "x");
        ck_assert_int_eq(r.status, 0);
        CTL(&r, NULL, "set", "--version", "2", "/a", "y");
        ck_assert_int_eq(r.status, 0);

        CTL(&r, NULL, "create", "--sequential", "/a/q-");
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "/a/q-0000000000\n");
        CTL(&r, NULL, "ls", "/a");
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "q-0000000000\n");
        CTL(&r, NULL, "ls", "/a", "--stat");
        ck_assert_int_eq(r.status, 0);
        ck_assert(strncmp(r.out, "NAME ", 5) == 0);
        ck_assert_ptr_nonnull(strstr(r.out, "\nq-0000000000 "));

        CTL(&r, NULL, "stat", "/a");
        ck_assert_int_eq(r.status, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "         Path: /a\n      Version: 3\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "     Children: 1\n   Value size: 1 bytes\n"));

        CTL(&r, "create /m one two\ncheck -v 3 /a\n\n# note\ncreate -s /m/s-\n", "multi", "--json");
        ck_assert_int_eq(r.status, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "\"results\":[{\"path\":\"/m\""));
        CTL(&r, NULL, "get", "/m");
        ck_assert_str_eq(r.out, "one two");
        CTL(&r, "create /n\ncheck -v 9 /a\n", "multi");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.err, "viewstampctl multi (op 2): version does not match\n");
        CTL(&r, NULL, "stat", "/n");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED); /* all or nothing */

        CTL(&r, NULL, "delete", "/a");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.err, "viewstampctl delete /a: node has children\n");
        CTL(&r, NULL, "delete", "--recursive", "/a");
        ck_assert_int_eq(r.status, 0);
        CTL(&r, NULL, "get", "/a");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
}
END_TEST

START_TEST(test_usage_errors) {
        struct run r;
        const char *const *cases[] = {
                (const char *const[]) { "get", NULL },
                (const char *const[]) { "get", "/a", "/b", NULL },
                (const char *const[]) { "get", "--recursive", "/a", NULL },
                (const char *const[]) { "get", "--bogus", "/a", NULL },
                (const char *const[]) { "cas", "/a", "x", "v", NULL },
                (const char *const[]) { "delete", "--version", "x", "/a", NULL },
                (const char *const[]) { "get", "--timeout", "0", "/a", NULL },
                (const char *const[]) { "get", "--node", "nowhere", "/a", NULL },
                (const char *const[]) { "frobnicate", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ctl(&r, NULL, cases[i]);
                ck_assert_msg(r.status == CTL_EXIT_USAGE, "case %zu exited %d", i, r.status);
                ck_assert_str_ne(r.err, "");
        }
        CTL(&r, "bogus line\n", "multi");
        ck_assert_int_eq(r.status, CTL_EXIT_USAGE);
        ck_assert_str_eq(r.err, "viewstampctl multi: standard input line 1: unknown op, or a flag or value it does not take\n");
        CTL(&r, "", "multi");
        ck_assert_int_eq(r.status, CTL_EXIT_USAGE);
        /* Nothing reached the node. */
        fake_lock(&node);
        ck_assert_uint_eq(node.n_log, 0);
        fake_unlock(&node);
}
END_TEST

START_TEST(test_unavailable) {
        struct run r;
        fake_lock(&node);
        node.silent = true;
        fake_unlock(&node);
        CTL(&r, NULL, "get", "--timeout", "0.3", "/a");
        ck_assert_int_eq(r.status, CTL_EXIT_UNAVAILABLE);
        ck_assert_str_eq(r.err, "viewstampctl get /a: timed out; the request may or may not have taken effect\n");
        CTL(&r, NULL, "get", "--timeout", "0.3", "--json", "/a");
        ck_assert_int_eq(r.status, CTL_EXIT_UNAVAILABLE);
        ck_assert_str_eq(r.out, "{\"error\":{\"code\":-110,\"name\":null,\"message\":\"timed out; the request may or may not have taken effect\"}}\n");
}
END_TEST

START_TEST(test_export_line) {
        static const struct {
                const char *path, *value;
                size_t len;
                const char *line;
        } good[] = {
                { "/a", "héllo", 6, "{\"path\":\"/a\",\"value\":\"héllo\"}" },
                { "/a/b c", "\x00\xff", 2, "{\"path\":\"/a/b c\",\"value_hex\":\"00ff\"}" },
                { "/e", "", 0, "{\"path\":\"/e\",\"value\":\"\"}" },
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(json_object_putp) json_object *o = export_line_json(good[i].path, good[i].value, good[i].len);
                ck_assert_ptr_nonnull(o);
                ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                                 good[i].line);

                _cleanup_free_ char *path = NULL;
                _cleanup_free_ uint8_t *value = NULL;
                size_t len;
                const char *error = NULL;
                ck_assert_int_eq(export_line_parse(good[i].line, &path, &value, &len, &error), 0);
                ck_assert_str_eq(path, good[i].path);
                ck_assert_uint_eq(len, good[i].len);
                ck_assert_mem_eq(value, good[i].value, len);
        }

        static const char *const bad[] = {
                "", "[]", "{\"path\":\"/a\",\"value\":\"x\"} trailing", "{\"path\":\"/a\",\"value\":\"x\"",
                "{\"value\":\"x\"}", "{\"path\":1,\"value\":\"x\"}", "{\"path\":\"/a\"}",
                "{\"path\":\"/a\",\"value\":\"x\",\"value_hex\":\"00\"}", "{\"path\":\"/a\",\"value\":\"x\",\"v\":1}",
                "{\"path\":\"/a\",\"value\":1}", "{\"path\":\"/a\",\"value_hex\":\"0\"}",
                "{\"path\":\"/a\",\"value_hex\":\"0g\"}", "{\"path\":\"/a\",\"value_hex\":\"FF\"}",
                "{\"path\":\"/\",\"value\":\"\"}", "{\"path\":\"a\",\"value\":\"\"}", "{\"path\":\"/a/\",\"value\":\"\"}",
                "{\"path\":\"/a//b\",\"value\":\"\"}", "{\"path\":\"/a/..\",\"value\":\"\"}",
                "{\"path\":\"/a\\u0000b\",\"value\":\"\"}", "{\"path\":\"/\xff\",\"value\":\"\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *path = NULL;
                uint8_t *value = NULL;
                size_t len;
                const char *error = NULL;
                ck_assert_msg(export_line_parse(bad[i], &path, &value, &len, &error) == -EINVAL, "accepted: %s", bad[i]);
                ck_assert_ptr_nonnull(error);
                ck_assert_ptr_null(path);
                ck_assert_ptr_null(value);
        }
}
END_TEST

START_TEST(test_export_import) {
        static const char tree[] = "{\"path\":\"/a\",\"value\":\"hello\"}\n"
                                   "{\"path\":\"/a/b\",\"value\":\"x y\"}\n"
                                   "{\"path\":\"/a/b/d\",\"value\":\"q\\\"uote\"}\n"
                                   "{\"path\":\"/a/c\",\"value_hex\":\"00ff\"}\n"
                                   "{\"path\":\"/z\",\"value\":\"\"}\n";
        struct run r;
        /* Out of order on input (children of /a before /z, /a/c before /a/b/d): export sorts. */
        CTL(&r, "{\"path\":\"/z\",\"value\":\"\"}\n\n{\"path\":\"/a\",\"value\":\"hello\"}\n"
                "{\"path\":\"/a/c\",\"value_hex\":\"00ff\"}\n{\"path\":\"/a/b\",\"value\":\"x y\"}\n"
                "{\"path\":\"/a/b/d\",\"value\":\"q\\\"uote\"}\n", "import");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_str_eq(r.out, "5 nodes created\n");
        CTL(&r, NULL, "get", "/a/c");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_mem_eq(r.out, "\0\xff", 2);

        CTL(&r, NULL, "export");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_str_eq(r.out, tree);
        CTL(&r, NULL, "export", "/a/b");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_str_eq(r.out, "{\"path\":\"/a/b\",\"value\":\"x y\"}\n{\"path\":\"/a/b/d\",\"value\":\"q\\\"uote\"}\n");
        CTL(&r, NULL, "export", "/nope");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.err, "viewstampctl export /nope: no such node\n");

        /* Importing over existing nodes stops at the first, saying where. */
        CTL(&r, "{\"path\":\"/new\",\"value\":\"\"}\n{\"path\":\"/a\",\"value\":\"\"}\n{\"path\":\"/new2\",\"value\":\"\"}\n",
            "import");
        ck_assert_int_eq(r.status, CTL_EXIT_REFUSED);
        ck_assert_str_eq(r.err, "viewstampctl import: stopped at standard input line 2, after creating 1 nodes\n"
                                "viewstampctl import /a: node already exists\n");

        /* Bad input anywhere: nothing is written. */
        fake_lock(&node);
        size_t before = node.n_log;
        fake_unlock(&node);
        CTL(&r, "{\"path\":\"/ok\",\"value\":\"\"}\n{\"path\":\"/bad/\",\"value\":\"\"}\n", "import");
        ck_assert_int_eq(r.status, CTL_EXIT_USAGE);
        ck_assert_str_eq(r.err, "viewstampctl import: standard input line 2: \"path\" is not an absolute path below the root "
                                "(no empty, \".\" or \"..\" components, no trailing '/')\n");
        CTL(&r, "", "import");
        ck_assert_int_eq(r.status, CTL_EXIT_USAGE);
        CTL(&r, NULL, "export", "--json");
        ck_assert_int_eq(r.status, CTL_EXIT_USAGE);
        fake_lock(&node);
        ck_assert_uint_eq(node.n_log, before);
        fake_unlock(&node);

        /* A whole round trip: delete everything, import the export, export the same. */
        CTL(&r, NULL, "delete", "--recursive", "/a");
        CTL(&r, NULL, "delete", "/z");
        CTL(&r, NULL, "delete", "/new");
        CTL(&r, NULL, "export");
        ck_assert_str_eq(r.out, "");
        CTL(&r, tree, "import", "--json");
        ck_assert_int_eq(r.status, CTL_EXIT_OK);
        ck_assert_str_eq(r.out, "{\"created\":5}\n");
        CTL(&r, NULL, "export");
        ck_assert_str_eq(r.out, tree);
}
END_TEST

static Suite *ctl_suite(void) {
        Suite *s = suite_create("viewstampctl-data");
        TCase *tc = tcase_create("viewstampctl-data");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_multi_parse);
        tcase_add_test(tc, test_json_bytes);
        tcase_add_test(tc, test_commands);
        tcase_add_test(tc, test_export_line);
        tcase_add_test(tc, test_export_import);
        tcase_add_test(tc, test_usage_errors);
        tcase_add_test(tc, test_unavailable);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s PATH-TO-VIEWSTAMPCTL\n", argv[0]);
                return EXIT_FAILURE;
        }
        ctl_path = argv[1];
        return vs_check_run(ctl_suite());
}
