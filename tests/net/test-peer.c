/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "msg.h"
#include "net/peer.h"
#include "wire/envelope.h"

#define CLUSTER 0x5eed5eed5eed5eedULL
#define N 3
#define MAX_SEEN 64

static const char *const names[N] = { "alpha", "bravo", "charlie" };

/* One node: its set and what its callbacks saw. */
struct node {
        struct vs_peer_set *set;
        unsigned ups[N], downs[N];
        uint64_t pings[N][MAX_SEEN], pongs[N][MAX_SEEN];
        size_t n_pings[N], n_pongs[N];
        size_t n_other;
        size_t last_tenant_len;
        /* Stream test: Pings with nonces from STREAM_BASE, checked for order and loss. */
        uint64_t stream_next[N];
        unsigned stream_disorder;
};

#define STREAM_BASE (1ULL << 40)

static sd_event *event;
static int holders[N];
static uint16_t ports[N];
static struct node nodes[N];
static struct vs_peer_set_options opts;

static int index_of(const char *name) {
        for (int i = 0; i < N; i++)
                if (strcmp(names[i], name) == 0)
                        return i;
        ck_abort_msg("unknown node %s", name);
        return -1;
}

static void on_envelope(struct vs_peer_set *s, const char *from, const Viewstamp__Envelope *env, void *userdata) {
        struct node *n = userdata;
        int i = index_of(from);
        ck_assert_uint_eq(env->header->cluster_id, CLUSTER);
        n->last_tenant_len = strlen(env->header->tenant);
        if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_PING && env->ping->nonce >= STREAM_BASE) {
                if (env->ping->nonce != STREAM_BASE + n->stream_next[i])
                        n->stream_disorder++;
                n->stream_next[i]++;
                return;
        }
        if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_PING && n->n_pings[i] < MAX_SEEN)
                n->pings[i][n->n_pings[i]++] = env->ping->nonce;
        else if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_PONG && n->n_pongs[i] < MAX_SEEN)
                n->pongs[i][n->n_pongs[i]++] = env->pong->nonce;
        else
                n->n_other++;
}

static void on_peer_state(struct vs_peer_set *s, const char *peer, bool up, void *userdata) {
        struct node *n = userdata;
        int i = index_of(peer);
        if (up)
                n->ups[i]++;
        else
                n->downs[i]++;
}

static const struct vs_peer_set_callbacks callbacks = { .on_envelope = on_envelope, .on_peer_state = on_peer_state };

static void make_conf(int self, int n_nodes, struct vs_conf *c) {
        vs_conf_defaults(c);
        strcpy(c->name, names[self]);
        for (int i = 0; i < n_nodes; i++) {
                struct vs_conf_node *cn = &c->nodes[c->n_nodes++];
                strcpy(cn->name, names[i]);
                cn->peer = loopback(ports[i]);
                cn->client = loopback(1); /* unused here */
        }
}

static void node_start(int i, int n_nodes) {
        struct vs_conf c;
        make_conf(i, n_nodes, &c);
        memset(&nodes[i], 0, sizeof nodes[i]);
        struct vs_peer_set_options o = opts;
        o.seed = (uint64_t) i + 1;
        ck_assert_int_eq(vs_peer_set_new(event, &c, &o, &callbacks, &nodes[i], &nodes[i].set), 0);
        release_port(&holders[i]);
        ck_assert_int_eq(vs_peer_set_listen(nodes[i].set), 0);
}

static void node_stop(int i) {
        nodes[i].set = vs_peer_set_free(nodes[i].set);
}

static void setup(void) {
        ck_assert_int_ge(sd_event_new(&event), 0);
        for (int i = 0; i < N; i++)
                ports[i] = reserve_port(&holders[i]);
        opts = (struct vs_peer_set_options) {
                .cluster_id = CLUSTER,
                .backoff_min_usec = 20000,
                .backoff_max_usec = 200000,
                /* Generous against a loaded test machine: a stalled loop must not flap links.
                 * The liveness tests shorten dead_after themselves. */
                .ping_interval_usec = 100000,
                .dead_after_usec = 3000000,
                .handshake_timeout_usec = 1000000,
        };
}

static void teardown(void) {
        for (int i = 0; i < N; i++) {
                node_stop(i);
                release_port(&holders[i]);
        }
        event = sd_event_unref(event);
}

struct link_want {
        int a, b;
        bool up;
};

static bool link_is(void *arg) {
        const struct link_want *w = arg;
        return nodes[w->a].set && nodes[w->b].set && vs_peer_set_is_up(nodes[w->a].set, names[w->b]) == w->up &&
               vs_peer_set_is_up(nodes[w->b].set, names[w->a]) == w->up;
}

static bool wait_link(int a, int b, bool up) {
        struct link_want w = { a, b, up };
        return run_until(event, link_is, &w, 5000000);
}

/* Established TCP connections accepted on a port, counted from the kernel's table. The table is
 * read in pieces while other processes churn sockets, so one socket may be listed twice: count
 * inodes, not lines. */
static unsigned tcp_connections(uint16_t port) {
        _cleanup_fclose_ FILE *f = fopen("/proc/net/tcp", "re");
        ck_assert_ptr_nonnull(f);
        char line[512];
        unsigned long inodes[64];
        unsigned n = 0;
        while (fgets(line, sizeof line, f)) {
                unsigned lport, rport, st;
                unsigned long inode;
                if (sscanf(line, " %*u: %*x:%x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport, &rport, &st,
                           &inode) != 4 || st != 1 || lport != port)
                        continue;
                bool seen = false;
                for (unsigned i = 0; i < n; i++)
                        seen = seen || inodes[i] == inode;
                if (!seen && n < ELEMENTSOF(inodes))
                        inodes[n++] = inode;
        }
        return n;
}

static void send_ping(int from, int to, uint64_t nonce, int expect) {
        /* The set stamps version and cluster id itself: send without a header. */
        struct msg m;
        Viewstamp__Envelope *env = msg_ping(&m, 0, nonce);
        env->header = NULL;
        ck_assert_int_eq(vs_peer_set_send(nodes[from].set, names[to], env), expect);
}

struct nonce_want {
        int at, from;
        uint64_t nonce;
        bool pong;
};

static bool has_nonce(void *arg) {
        const struct nonce_want *w = arg;
        const struct node *n = &nodes[w->at];
        size_t k = w->pong ? n->n_pongs[w->from] : n->n_pings[w->from];
        for (size_t i = 0; i < k; i++)
                if ((w->pong ? n->pongs[w->from][i] : n->pings[w->from][i]) == w->nonce)
                        return true;
        return false;
}

/* from pings to with a fresh nonce; to sees the Ping, from sees the Pong. */
static void ping_round_trip(int from, int to, uint64_t nonce) {
        send_ping(from, to, nonce, 0);
        struct nonce_want ping = { to, from, nonce, false }, pong = { from, to, nonce, true };
        ck_assert(run_until(event, has_nonce, &ping, 2000000));
        ck_assert(run_until(event, has_nonce, &pong, 2000000));
}

/* expected: established connections ending at the acceptor's port, one per running dialler. */
static void check_link(int a, int b, unsigned expected) {
        ck_assert(wait_link(a, b, true));
        run_for(event, 100000); /* let any duplicate show itself */
        ck_assert(vs_peer_set_is_up(nodes[a].set, names[b]));
        ck_assert_uint_eq(nodes[a].ups[b], 1);
        ck_assert_uint_eq(nodes[b].ups[a], 1);
        ck_assert_uint_eq(nodes[a].downs[b], 0);
        ck_assert_uint_eq(nodes[b].downs[a], 0);
        ck_assert_uint_eq(tcp_connections(ports[a < b ? b : a]), expected);
}

/* One node starts, runs alone for a while (the dialler's first tries fail and back off), then
 * the other: either way exactly one link comes up, and Pings go both ways over it. */
static void start_in_order(int first, int second) {
        node_start(first, 2);
        run_for(event, 150000);
        ck_assert(!vs_peer_set_is_up(nodes[first].set, names[second]));
        send_ping(first, second, 1, -ENOTCONN);
        node_start(second, 2);
        check_link(0, 1, 1);
        ping_round_trip(first, second, 11);
        ping_round_trip(second, first, 12);
}

START_TEST(test_dialler_first) {
        start_in_order(0, 1); /* alpha sorts lower: it dials */
}
END_TEST

START_TEST(test_acceptor_first) {
        start_in_order(1, 0);
}
END_TEST

START_TEST(test_three_nodes) {
        for (int i = N - 1; i >= 0; i--)
                node_start(i, N);
        for (int a = 0; a < N; a++)
                for (int b = a + 1; b < N; b++) {
                        check_link(a, b, (unsigned) (a < b ? b : a));
                        ping_round_trip(a, b, (uint64_t) (100 + a * 10 + b));
                        ping_round_trip(b, a, (uint64_t) (200 + a * 10 + b));
                }
        for (int i = 0; i < N; i++)
                ck_assert_uint_eq(vs_peer_set_n_up(nodes[i].set), N - 1);
}
END_TEST

static struct vs_conf_node conf_node(int i) {
        struct vs_conf_node cn = { .peer = loopback(ports[i]), .client = loopback(1) };
        strcpy(cn.name, names[i]);
        return cn;
}

/* Membership changes while running: a node learns a third one, then forgets it. */
START_TEST(test_add_remove) {
        node_start(0, 2); /* alpha knows bravo only */
        node_start(1, N);
        node_start(2, N);
        ck_assert(wait_link(0, 1, true));
        ck_assert(wait_link(1, 2, true));
        ck_assert(!vs_peer_set_is_up(nodes[0].set, names[2]));

        struct vs_conf_node self = conf_node(0), charlie = conf_node(2);
        ck_assert_int_eq(vs_peer_set_add(nodes[0].set, &self), -EINVAL);
        ck_assert_int_eq(vs_peer_set_remove(nodes[0].set, "zulu"), -ENOENT);
        ck_assert_int_eq(vs_peer_set_add(nodes[0].set, &charlie), 0);
        ck_assert(wait_link(0, 2, true)); /* alpha sorts lower: it dials the new node */
        ping_round_trip(0, 2, 7);
        ck_assert_uint_eq(vs_peer_set_n_up(nodes[0].set), 2);
        ck_assert_int_eq(vs_peer_set_add(nodes[0].set, &charlie), 0); /* known, same address: nothing */
        ck_assert_uint_eq(nodes[0].ups[2], 1);

        ck_assert_int_eq(vs_peer_set_remove(nodes[0].set, names[2]), 0);
        ck_assert_uint_eq(nodes[0].downs[2], 1);
        ck_assert(wait_link(0, 2, false));
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        ck_assert_int_eq(vs_peer_set_send(nodes[0].set, names[2], &env), -ENOENT);

        /* bravo forgets alpha, which keeps dialling: refused as unknown, the link stays down. */
        ck_assert_int_eq(vs_peer_set_remove(nodes[1].set, names[0]), 0);
        ck_assert(wait_link(0, 1, false));
        run_for(event, 300000);
        ck_assert(!vs_peer_set_is_up(nodes[0].set, names[1]));
        ck_assert(vs_peer_set_is_up(nodes[1].set, names[2]));
}
END_TEST

START_TEST(test_send_errors) {
        node_start(0, 2);
        send_ping(0, 1, 1, -ENOTCONN);
        send_ping(0, 0, 1, -ENOENT); /* itself */
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        ck_assert_int_eq(vs_peer_set_send(nodes[0].set, "zulu", &env), -ENOENT);
        ck_assert(!vs_peer_set_is_up(nodes[0].set, "zulu"));
}
END_TEST

START_TEST(test_keepalive) {
        opts.dead_after_usec = 500000;
        node_start(0, 2);
        node_start(1, 2);
        ck_assert(wait_link(0, 1, true));
        /* Nothing sent by the test for several dead_after periods: Pings keep the link up. */
        run_for(event, 2 * opts.dead_after_usec);
        ck_assert(vs_peer_set_is_up(nodes[0].set, "bravo"));
        ck_assert_uint_eq(nodes[0].downs[1], 0);
        ck_assert_uint_ge(nodes[0].n_pongs[1], 5);
        ck_assert_uint_ge(nodes[1].n_pings[0], 5);
}
END_TEST

static void restart(int stopped, int other) {
        node_stop(stopped);
        for (uint64_t end = now_usec() + 2000000; nodes[other].downs[stopped] == 0 && now_usec() < end;)
                sd_event_run(event, 10000);
        ck_assert_uint_eq(nodes[other].downs[stopped], 1);
        ck_assert(!vs_peer_set_is_up(nodes[other].set, names[stopped]));
        send_ping(other, stopped, 1, -ENOTCONN);

        run_for(event, 300000); /* the dialler backs off meanwhile */
        node_start(stopped, 2);
        ck_assert(wait_link(0, 1, true));
        ck_assert_uint_eq(nodes[other].ups[stopped], 2);
        ping_round_trip(0, 1, 31);
        ping_round_trip(1, 0, 32);
}

START_TEST(test_acceptor_restarts) {
        node_start(0, 2);
        node_start(1, 2);
        ck_assert(wait_link(0, 1, true));
        restart(1, 0);
}
END_TEST

START_TEST(test_dialler_restarts) {
        node_start(0, 2);
        node_start(1, 2);
        ck_assert(wait_link(0, 1, true));
        restart(0, 1);
}
END_TEST

static bool big_arrived(void *arg) {
        return nodes[1].last_tenant_len == *(size_t *) arg;
}

START_TEST(test_large_frame_after_hello) {
        node_start(0, 2);
        node_start(1, 2);
        ck_assert(wait_link(0, 1, true));
        size_t n = 100000;
        _cleanup_free_ char *tenant = malloc(n + 1);
        ck_assert_ptr_nonnull(tenant);
        memset(tenant, 't', n);
        tenant[n] = 0;
        struct msg m;
        Viewstamp__Envelope *env = msg_ping(&m, 0, 71);
        m.header.tenant = tenant;
        ck_assert_int_eq(vs_peer_set_send(nodes[0].set, "bravo", env), 0);
        ck_assert(run_until(event, big_arrived, &n, 2000000));
        ck_assert(vs_peer_set_is_up(nodes[1].set, "alpha"));
}
END_TEST

static bool streams_done(void *arg) {
        uint64_t want = *(uint64_t *) arg;
        for (int a = 0; a < N; a++)
                for (int b = 0; b < N; b++)
                        if (a != b && nodes[a].stream_next[b] < want)
                                return false;
        return true;
}

START_TEST(test_streams) {
        /* Every node sends a numbered stream to every other, interleaved, while keepalive Pings
         * share the links: each stream arrives whole and in order. */
        for (int i = 0; i < N; i++)
                node_start(i, N);
        for (int a = 0; a < N; a++)
                for (int b = a + 1; b < N; b++)
                        ck_assert(wait_link(a, b, true));
        const uint64_t count = 20000;
        for (uint64_t k = 0; k < count; k++) {
                for (int a = 0; a < N; a++)
                        for (int b = 0; b < N; b++)
                                if (a != b)
                                        send_ping(a, b, STREAM_BASE + k, 0);
                if (k % 500 == 0)
                        run_for(event, 1000);
        }
        uint64_t want = count;
        ck_assert(run_until(event, streams_done, &want, 20000000));
        for (int i = 0; i < N; i++) {
                ck_assert_uint_eq(nodes[i].stream_disorder, 0);
                for (int j = 0; j < N; j++)
                        ck_assert_uint_eq(nodes[i].stream_next[j], i == j ? 0 : count);
                ck_assert_uint_eq(vs_peer_set_n_up(nodes[i].set), N - 1);
        }
}
END_TEST

START_TEST(test_relisten) {
        /* Rebinding (what the daemon does when its address comes back) leaves up links alone. */
        node_start(0, 2);
        node_start(1, 2);
        ck_assert(wait_link(0, 1, true));
        vs_peer_set_unlisten(nodes[1].set);
        ck_assert_int_eq(vs_peer_set_listen(nodes[1].set), 0);
        ping_round_trip(0, 1, 61);
        ck_assert_uint_eq(nodes[1].downs[0], 0);

        /* Without a listener alpha cannot come back; with one it does. */
        vs_peer_set_unlisten(nodes[1].set);
        node_stop(0);
        node_start(0, 2);
        run_for(event, 300000);
        ck_assert(!vs_peer_set_is_up(nodes[1].set, "alpha"));
        ck_assert_int_eq(vs_peer_set_listen(nodes[1].set), 0);
        ck_assert(wait_link(0, 1, true));
        ping_round_trip(0, 1, 62);
}
END_TEST

static size_t hello_frame(const char *name, uint64_t cluster, uint8_t **ret) {
        struct msg m;
        return frame_of(msg_hello(&m, cluster, name), ret);
}

static bool closed_fd(void *arg) {
        return raw_closed(*(int *) arg);
}

/* A rogue client dials charlie (who accepts from everyone sorting lower) with one first frame;
 * it must be refused with a log line containing why, and the real links stay up. */
static void refused(const void *frame, size_t len, const char *why) {
        for (int i = 0; i < N; i++)
                node_start(i, N);
        ck_assert(wait_link(0, 2, true));
        ck_assert(wait_link(1, 2, true));

        struct vs_address a = loopback(ports[2]);
        int fd = raw_connect(&a);
        struct capture cap;
        capture_begin(&cap);
        if (len > 0)
                raw_write(fd, frame, len);
        bool closed = run_until(event, closed_fd, &fd, 5000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(closed);
        ck_assert_ptr_nonnull(strstr(log, why));
        ck_assert_ptr_nonnull(strstr(log, "127.0.0.1:"));
        ck_assert_ptr_null(strstr(log, "forged"));
        close(fd);

        ck_assert(vs_peer_set_is_up(nodes[2].set, "alpha"));
        ck_assert(vs_peer_set_is_up(nodes[2].set, "bravo"));
        ck_assert_uint_eq(nodes[2].ups[0] + nodes[2].ups[1], 2);
        ck_assert_uint_eq(nodes[2].downs[0] + nodes[2].downs[1], 0);
        ping_round_trip(0, 2, 41);
}

static void refused_hello(const char *name, uint64_t cluster, const char *why) {
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame(name, cluster, &f);
        refused(f, len, why);
}

START_TEST(test_unknown_node) {
        refused_hello("mallory", CLUSTER, "Hello from unknown node 'mallory'");
}
END_TEST

START_TEST(test_forged_log_line) {
        refused_hello("x\nerr: forged entry", CLUSTER, "Hello with an invalid node name (19 bytes)");
}
END_TEST

START_TEST(test_other_cluster) {
        refused_hello("alpha", CLUSTER + 1, "cluster");
}
END_TEST

START_TEST(test_own_name) {
        /* Two nodes configured with one name must not pass for each other. */
        refused_hello("charlie", CLUSTER, "Hello claims this node's own name 'charlie'");
}
END_TEST

START_TEST(test_not_hello_first) {
        struct msg m;
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = frame_of(msg_ping(&m, CLUSTER, 1), &f);
        refused(f, len, "first frame is not a Hello");
}
END_TEST

START_TEST(test_silent_connection) {
        refused(NULL, 0, "no frame within");
}
END_TEST

START_TEST(test_large_frame_before_hello) {
        /* Far below the configured frame limit, but no stranger gets to send it. */
        refused("\0\0\x08\0", 4, "oversize frame");
}
END_TEST

START_TEST(test_garbage) {
        refused("\0\0\0\3abc", 7, "garbage");
}
END_TEST

START_TEST(test_dialler_refused_direction) {
        /* bravo sorts higher than alpha, so a Hello claiming bravo at alpha is refused. */
        node_start(0, 2);
        struct vs_address a = loopback(ports[0]);
        int fd = raw_connect(&a);
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("bravo", CLUSTER, &f);
        struct capture cap;
        capture_begin(&cap);
        raw_write(fd, f, len);
        bool closed = run_until(event, closed_fd, &fd, 2000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(closed);
        ck_assert_ptr_nonnull(strstr(log, "sorts lower and dials it"));
        ck_assert_uint_eq(nodes[0].ups[1], 0);
        close(fd);
}
END_TEST

START_TEST(test_redial_replaces) {
        /* bravo's link from alpha is replaced when "alpha" dials again, without a down/up. */
        node_start(1, 2);
        node_start(0, 2);
        ck_assert(wait_link(0, 1, true));
        struct vs_address a = loopback(ports[1]);
        int fd = raw_connect(&a);
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("alpha", CLUSTER, &f);
        raw_write(fd, f, len);
        /* The real alpha's connection is closed by bravo: alpha sees it go down and redials,
         * which in turn replaces the impostor's connection. */
        ck_assert(run_until(event, closed_fd, &fd, 3000000));
        close(fd);
        ck_assert(wait_link(0, 1, true));
        ck_assert_uint_eq(nodes[1].downs[0], 0);
        ck_assert_uint_ge(nodes[0].downs[1], 1);
        ping_round_trip(0, 1, 51);
}
END_TEST

struct fake {
        int listen_fd, fd;
};

static bool fake_accepted(void *arg) {
        struct fake *f = arg;
        f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        return f->fd >= 0;
}

static bool readable(void *arg) {
        struct pollfd p = { .fd = *(int *) arg, .events = POLLIN };
        return poll(&p, 1, 0) == 1;
}

static bool down_seen(void *arg) {
        return nodes[0].downs[1] > 0;
}

START_TEST(test_silent_peer_detected) {
        /* A fake bravo answers alpha's Hello and then says nothing, like a frozen node whose
         * kernel still holds the connection: alpha must give the link up after dead_after. */
        opts.dead_after_usec = 500000;
        struct fake f = { .listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), .fd = -1 };
        ck_assert_int_ge(f.listen_fd, 0);
        ck_assert_int_eq(setsockopt(f.listen_fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)), 0);
        struct vs_address a = loopback(ports[1]);
        release_port(&holders[1]);
        ck_assert_int_eq(bind(f.listen_fd, &a.sa, a.len), 0);
        ck_assert_int_eq(listen(f.listen_fd, 4), 0);

        node_start(0, 2);
        ck_assert(run_until(event, fake_accepted, &f, 2000000));
        ck_assert(run_until(event, readable, &f.fd, 2000000));
        char buf[256];
        ck_assert_int_gt(recv(f.fd, buf, sizeof buf, 0), 0);
        _cleanup_free_ uint8_t *hello = NULL;
        size_t len = hello_frame("bravo", CLUSTER, &hello);
        raw_write(f.fd, hello, len);

        for (uint64_t end = now_usec() + 2000000; !vs_peer_set_is_up(nodes[0].set, "bravo") && now_usec() < end;)
                ck_assert_int_ge(sd_event_run(event, 10000), 0);
        ck_assert(vs_peer_set_is_up(nodes[0].set, "bravo"));
        uint64_t start = now_usec();
        ck_assert(run_until(event, down_seen, NULL, 5000000));
        ck_assert_uint_ge(now_usec() - start, opts.dead_after_usec * 9 / 10);
        ck_assert(!vs_peer_set_is_up(nodes[0].set, "bravo"));
        close(f.fd);
        close(f.listen_fd);
}
END_TEST

static bool log_has_timeout(void *arg) {
        fflush(stderr);
        FILE *f = arg;
        char line[512];
        rewind(f);
        while (fgets(line, sizeof line, f))
                if (strstr(line, "cannot connect to") && strstr(line, "timed out"))
                        return true;
        return false;
}

START_TEST(test_connect_timeout) {
        /* bravo's port is a listener whose accept queue is full: the kernel drops further SYNs,
         * so alpha's connect() neither completes nor fails on its own. */
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(lfd, 0);
        ck_assert_int_eq(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)), 0);
        struct vs_address a = loopback(ports[1]);
        release_port(&holders[1]);
        ck_assert_int_eq(bind(lfd, &a.sa, a.len), 0);
        ck_assert_int_eq(listen(lfd, 0), 0);
        int fillers[8], n_fill = 0;
        for (; n_fill < 8; n_fill++) {
                fillers[n_fill] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                ck_assert_int_ge(fillers[n_fill], 0);
                int r = connect(fillers[n_fill], &a.sa, a.len);
                struct pollfd pfd = { .fd = fillers[n_fill], .events = POLLOUT };
                if (r < 0 && errno == EINPROGRESS && poll(&pfd, 1, 100) == 0) {
                        n_fill++;
                        break; /* this one hangs: the queue is full */
                }
        }

        struct capture cap;
        capture_begin(&cap);
        node_start(0, 2);
        bool seen = run_until(event, log_has_timeout, cap.f, 5000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_msg(seen, "no connect timeout logged");
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_ptr_nonnull(strstr(log, vs_address_to_string(&a, buf))); /* names the address */
        ck_assert(!vs_peer_set_is_up(nodes[0].set, "bravo"));
        for (int i = 0; i < n_fill; i++)
                close(fillers[i]);
        close(lfd);
}
END_TEST

static Suite *peer_suite(void) {
        Suite *s = suite_create("peer");
        TCase *tc = tcase_create("loopback");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_dialler_first);
        tcase_add_test(tc, test_acceptor_first);
        tcase_add_test(tc, test_three_nodes);
        tcase_add_test(tc, test_send_errors);
        tcase_add_test(tc, test_add_remove);
        tcase_add_test(tc, test_keepalive);
        tcase_add_test(tc, test_acceptor_restarts);
        tcase_add_test(tc, test_relisten);
        tcase_add_test(tc, test_streams);
        tcase_add_test(tc, test_large_frame_after_hello);
        tcase_add_test(tc, test_dialler_restarts);
        tcase_add_test(tc, test_unknown_node);
        tcase_add_test(tc, test_forged_log_line);
        tcase_add_test(tc, test_other_cluster);
        tcase_add_test(tc, test_own_name);
        tcase_add_test(tc, test_not_hello_first);
        tcase_add_test(tc, test_silent_connection);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_large_frame_before_hello);
        tcase_add_test(tc, test_dialler_refused_direction);
        tcase_add_test(tc, test_redial_replaces);
        tcase_add_test(tc, test_silent_peer_detected);
        tcase_add_test(tc, test_connect_timeout);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(peer_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
