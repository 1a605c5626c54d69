/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/cleanup.h"
#include "../check-run.h"

static char path[] = "/tmp/test-conf-XXXXXX";

static void write_conf(const char *text) {
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static void teardown(void) {
        unlink(path);
        strcpy(path, "/tmp/test-conf-XXXXXX");
}

/* Loads text over defaults; expects failure with exactly this message suffix after the path. */
static void expect_error(const char *text, int err, const char *message) {
        write_conf(text);
        struct vs_conf c, before;
        vs_conf_defaults(&c);
        before = c;
        _cleanup_free_ char *error = NULL;
        ck_assert_int_eq(vs_conf_load(&c, path, &error), err);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strncmp(error, path, strlen(path)) == 0, "error '%s' does not start with the path", error);
        ck_assert_str_eq(error + strlen(path), message);
        ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "failed load changed the configuration");
        teardown();
}

START_TEST(test_full_file) {
        write_conf("# a comment\n"
                   "[Node]\n"
                   "Name=alpha\n"
                   "StateDirectory=/srv/vs\n"
                   "LogLevel=debug\n"
                   "\n"
                   "[Cluster]\n"
                   "Node=alpha 127.0.0.1:7401 127.0.0.1:7501\n"
                   "Node=beta [::1]:7402 [::1]:7502\n"
                   "[Replica]\n"
                   "TickMillis=5\n"
                   "Reads=log\n"
                   "[Limits]\n"
                   "MaxValueBytes=2M\n"
                   "MaxFrameBytes=64K\n");
        struct vs_conf c;
        vs_conf_defaults(&c);
        _cleanup_free_ char *error = NULL;
        ck_assert_int_eq(vs_conf_load(&c, path, &error), 0);
        ck_assert_ptr_null(error);
        ck_assert_str_eq(c.name, "alpha");
        ck_assert_str_eq(c.state_dir, "/srv/vs");
        ck_assert_int_eq(c.log_level, VS_LOG_DEBUG);
        ck_assert_uint_eq(c.n_nodes, 2);
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_str_eq(vs_address_to_string(&c.nodes[1].peer, buf), "[::1]:7402");
        ck_assert_str_eq(vs_address_to_string(&vs_conf_find_node(&c, "alpha")->client, buf), "127.0.0.1:7501");
        ck_assert_ptr_null(vs_conf_find_node(&c, "gamma"));
        ck_assert_uint_eq(c.tick_ms, 5);
        ck_assert_int_eq(c.reads, VS_READS_LOG);
        ck_assert_uint_eq(c.max_value_bytes, 2u << 20);
        ck_assert_uint_eq(c.max_frame_bytes, 64u << 10);
        /* Keys not in the file keep their defaults. */
        ck_assert_uint_eq(c.heartbeat_ticks, 10);
        teardown();
}
END_TEST

START_TEST(test_unknown_key) {
        expect_error("[Node]\nName=a\nColour=blue\n", -EINVAL, ":3: unknown key Colour= in [Node]");
}
END_TEST

START_TEST(test_unknown_section) {
        expect_error("[Node]\nName=a\n\n[Nodes]\nName=b\n", -EINVAL, ":5: unknown section [Nodes]");
}
END_TEST

START_TEST(test_bad_values) {
        expect_error("[Node]\nName=a\n[Replica]\nTickMillis=fast\n", -EINVAL, ":4: 'fast' is not a number");
        expect_error("[Node]\nName=a\n[Replica]\nTickMillis=0\n", -EINVAL, ":4: 0 is out of range 1..1000");
        expect_error("[Node]\nName=a\n[Limits]\nMaxValueBytes=1T\n", -EINVAL,
                     ":4: '1T' is not a number (optionally with K, M or G)");
        expect_error("[Node]\nName=a\n[Limits]\nMaxValueBytes=8G\n", -EINVAL, ":4: 8G is out of range 1..268435456");
        expect_error("[Node]\nName=-a\n", -EINVAL,
                     ":2: invalid node name '-a' (1-63 of A-Z a-z 0-9 . _ -, not starting with . or -)");
        expect_error("[Node]\nName=a\nLogLevel=loud\n", -EINVAL,
                     ":3: unknown log level 'loud' (err, warning, notice, info, debug)");
        expect_error("[Node]\nName=a\nStateDirectory=var/lib\n", -EINVAL, ":3: 'var/lib' is not an absolute path");
        expect_error("[Node]\nName=a\n[Replica]\nReads=fast\n", -EINVAL, ":4: Reads= must be 'lease' or 'log', not 'fast'");
}
END_TEST

START_TEST(test_bad_nodes) {
        expect_error("[Node]\nName=a\n[Cluster]\nNode=a 127.0.0.1:1\n", -EINVAL,
                     ":4: Node= takes NAME PEER_ADDRESS CLIENT_ADDRESS");
        expect_error("[Node]\nName=a\n[Cluster]\nNode=a localhost:1 127.0.0.1:2\n", -EINVAL,
                     ":4: invalid peer address 'localhost:1' (IPV4:PORT or [IPV6]:PORT)");
        expect_error("[Node]\nName=a\n[Cluster]\nNode=a 127.0.0.1:1 127.0.0.1:70000\n", -EINVAL,
                     ":4: invalid client address '127.0.0.1:70000' (IPV4:PORT or [IPV6]:PORT)");
        expect_error("[Node]\nName=a\n[Cluster]\nNode=a 127.0.0.1:1 127.0.0.1:2\nNode=a 127.0.0.1:3 127.0.0.1:4\n",
                     -EINVAL, ":5: node 'a' listed twice");
        expect_error("[Node]\nName=a\n[Cluster]\nNode=a 127.0.0.1:1 127.0.0.1:2\nNode=b 127.0.0.1:2 127.0.0.1:4\n",
                     -EINVAL, ":5: node 'b' reuses an address of node 'a'");
        expect_error("[Node]\nName=a\n[Cluster]\nNode=b 127.0.0.1:1 127.0.0.1:2\n", -EINVAL,
                     ": this node 'a' is not in the [Cluster] Node= list");
}
END_TEST

/* Loads text over defaults, expecting success. */
static struct vs_conf load_ok(const char *text) {
        write_conf(text);
        struct vs_conf c;
        vs_conf_defaults(&c);
        _cleanup_free_ char *error = NULL;
        ck_assert_msg(vs_conf_load(&c, path, &error) == 0, "load failed: %s", error);
        teardown();
        return c;
}

START_TEST(test_own_addresses) {
        struct vs_conf_node self;
        struct vs_conf c = load_ok("[Node]\nName=a\nPeerAddress=127.0.0.1:1\nClientAddress=[::1]:2\n");
        ck_assert(!vs_conf_is_static(&c));
        ck_assert_int_eq(vs_conf_self(&c, &self), 0);
        ck_assert_str_eq(self.name, "a");
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_str_eq(vs_address_to_string(&self.client, buf), "[::1]:2");

        /* Neither addresses nor a list: loads (the daemon refuses it, naming both ways). */
        c = load_ok("[Node]\nName=a\n");
        ck_assert_int_eq(vs_conf_self(&c, &self), -ENOENT);
        /* Both, agreeing with the list. */
        c = load_ok("[Node]\nName=a\nPeerAddress=127.0.0.1:1\nClientAddress=127.0.0.1:2\n[Cluster]\n"
                    "Node=a 127.0.0.1:1 127.0.0.1:2\n");
        ck_assert(vs_conf_is_static(&c));
        ck_assert_int_eq(vs_conf_self(&c, &self), 0);

        expect_error("[Node]\nName=a\nPeerAddress=127.0.0.1:1\n", -EINVAL,
                     ": [Node] PeerAddress= and ClientAddress= are set together or not at all");
        expect_error("[Node]\nName=a\nPeerAddress=127.0.0.1:1\nClientAddress=127.0.0.1:1\n", -EINVAL,
                     ": [Node] PeerAddress= and ClientAddress= are the same address");
        expect_error("[Node]\nName=a\nPeerAddress=host:1\n", -EINVAL,
                     ":3: invalid address 'host:1' (IPV4:PORT or [IPV6]:PORT)");
        expect_error("[Node]\nName=a\nPeerAddress=127.0.0.1:1\nClientAddress=127.0.0.1:3\n[Cluster]\n"
                     "Node=a 127.0.0.1:1 127.0.0.1:2\n",
                     -EINVAL, ": [Node] PeerAddress= and ClientAddress= differ from this node's [Cluster] Node= entry");
}
END_TEST

START_TEST(test_whole_file_rules) {
        expect_error("[Node]\nLogLevel=info\n", -EINVAL, ": [Node] Name= is not set");
        expect_error("[Node]\nName=a\n[Replica]\nLeaseTicks=60\nViewChangeTicks=50\n", -EINVAL,
                     ": LeaseTicks=60 must be below ViewChangeTicks=50, or a primary could hold a lease no view change can wait out");
}
END_TEST

START_TEST(test_syntax_error) {
        expect_error("[Node]\nName=a\nthis line has no equals sign\n", -EINVAL, ":3: syntax error");
        expect_error("[Node\nName=a\n", -EINVAL, ":1: syntax error");
}
END_TEST

START_TEST(test_missing_file) {
        struct vs_conf c;
        vs_conf_defaults(&c);
        _cleanup_free_ char *error = NULL;
        ck_assert_int_eq(vs_conf_load(&c, "/nonexistent/viewstampd.conf", &error), -ENOENT);
        ck_assert_str_eq(error, "/nonexistent/viewstampd.conf: No such file or directory");
}
END_TEST

START_TEST(test_addresses) {
        struct vs_address a;
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_int_eq(vs_address_parse("10.1.2.3:80", &a), 0);
        ck_assert_str_eq(vs_address_to_string(&a, buf), "10.1.2.3:80");
        ck_assert_int_eq(vs_address_parse("[fe80::1]:65535", &a), 0);
        ck_assert_str_eq(vs_address_to_string(&a, buf), "[fe80::1]:65535");
        static const char *const bad[] = {
                "", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:+5", "1.2.3.4:5x", "[::1]", "[::1:5",
                "::1:5", "1.2.3:5", "host:5", "[1.2.3.4]:5",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(vs_address_parse(bad[i], &a) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

static Suite *conf_suite(void) {
        Suite *s = suite_create("conf");
        TCase *tc = tcase_create("conf");
        tcase_add_test(tc, test_full_file);
        tcase_add_test(tc, test_unknown_key);
        tcase_add_test(tc, test_unknown_section);
        tcase_add_test(tc, test_bad_values);
        tcase_add_test(tc, test_bad_nodes);
        tcase_add_test(tc, test_whole_file_rules);
        tcase_add_test(tc, test_own_addresses);
        tcase_add_test(tc, test_syntax_error);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_addresses);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(conf_suite());
}
