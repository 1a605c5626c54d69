/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/param.h>
#include <sys/wait.h>

#include "auth/peer_key.h"
#include "loop.h"
#include "msg.h"
#include "net/peer.h"
#include "rogue.h"
#include "wire/envelope.h"
#include "../check-run.h"

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
        unsigned joins;
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
/* The cluster's secret, and one that is not. */
static const struct vs_secret secret = { { 0x5e, 0xc2, 0xe7, 1, 2, 3, 4, 5, 6, 7, 8, 9 } };
static const struct vs_secret wrong_secret = { { 0x5e, 0xc2, 0xe7, 1, 2, 3, 4, 5, 6, 7, 8, 10 } };
/* What a join token carries, for the tests that let the set take joins. */
static const struct vs_secret join_secret = { { 0x70, 0x4e, 0x2, 1, 2, 3, 4, 5, 6, 7, 8, 9 } };

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

static void on_join(struct vs_peer_set *s, uint64_t join_id, const char *remote, const Viewstamp__JoinRequest *req,
                    void *userdata) {
        struct node *n = userdata;
        ck_assert_str_eq(req->node, "newcomer");
        n->joins++;
}

static const struct vs_peer_set_callbacks callbacks = {
        .on_envelope = on_envelope,
        .on_peer_state = on_peer_state,
        .on_join = on_join,
};

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
        ck_assert_int_eq(vs_peer_set_new(event, &c, &secret, &o, &callbacks, &nodes[i], &nodes[i].set), 0);
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

/* One envelope to several nodes: each up one gets it (stamped with the cluster, its tenant
 * intact), each other gets what a single send would have said, and the frames keep their place
 * among ordinary sends. */
START_TEST(test_send_each) {
        for (int i = N - 1; i >= 0; i--)
                node_start(i, N);
        ck_assert(wait_link(0, 1, true));
        ck_assert(wait_link(0, 2, true));
        send_ping(0, 1, 41, 0);
        struct msg m;
        Viewstamp__Envelope *env = msg_ping(&m, 0, 42);
        m.header.tenant = (char *) "tenant-x";
        const char *const to[] = { "bravo", "zulu", "charlie", "alpha" };
        int r[ELEMENTSOF(to)];
        vs_peer_set_send_each(nodes[0].set, to, ELEMENTSOF(to), env, r);
        ck_assert_int_eq(r[0], 0);
        ck_assert_int_eq(r[1], -ENOENT);
        ck_assert_int_eq(r[2], 0);
        ck_assert_int_eq(r[3], -ENOENT); /* itself */
        send_ping(0, 1, 43, 0);
        struct nonce_want at_bravo = { 1, 0, 43, false }, at_charlie = { 2, 0, 42, false };
        ck_assert(run_until(event, has_nonce, &at_bravo, 2000000));
        ck_assert(run_until(event, has_nonce, &at_charlie, 2000000));
        ck_assert_uint_eq(nodes[2].last_tenant_len, strlen("tenant-x"));
        const uint64_t *seen = nodes[1].pings[0];
        size_t k = 0;
        while (k < nodes[1].n_pings[0] && seen[k] != 41)
                k++;
        ck_assert_uint_ge(nodes[1].n_pings[0], k + 3);
        ck_assert_uint_eq(seen[k + 1], 42);
        ck_assert_uint_eq(seen[k + 2], 43);

        vs_peer_set_send_each(nodes[0].set, to + 1, 1, env, r);
        ck_assert_int_eq(r[0], -ENOENT);
}
END_TEST

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

/* ---- rogues: a forked child speaks to the nodes, which keep running on this loop ---- */

struct child {
        pid_t pid;
        int status;
};

static bool child_exited(void *arg) {
        struct child *c = arg;
        return waitpid(c->pid, &c->status, WNOHANG) == c->pid;
}

/* Runs fn(arg) in a child process; the parent goes on at once. Start nodes first: a port
 * reserved in the parent stays bound while the child holds the reservation too. */
static pid_t fork_child(int (*fn)(const void *), const void *arg) {
        fflush(stderr);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(fn(arg));
        return pid;
}

/* Runs fn(arg) in a child process while the nodes run; returns its exit status. */
static int in_child(int (*fn)(const void *), const void *arg) {
        struct child c = { .pid = fork_child(fn, arg) };
        ck_assert(run_until(event, child_exited, &c, 15000000));
        ck_assert(WIFEXITED(c.status));
        return WEXITSTATUS(c.status);
}

/* What a rogue does: connect, TLS as identity with a key from secret (or plain if NULL), send a
 * frame, then wait to be thrown out. */
struct attempt {
        int to;
        const char *identity;
        const struct vs_secret *secret;
        const void *frame;
        size_t len;
};

enum {
        REFUSED_IN_HANDSHAKE = 0,
        CLOSED_AFTER = 1,        /* the handshake (if any) passed, then the node closed */
        NOT_CLOSED = 2,
        CHILD_FAILED = 3,
};

static int attempt_run(const void *arg) {
        const struct attempt *t = arg;
        struct vs_address a = loopback(ports[t->to]);
        struct rogue r;
        if (rogue_connect(&a, &r) < 0)
                return CHILD_FAILED;
        if (t->identity) {
                uint8_t key[VS_PEER_KEY_SIZE] = {};
                /* The identity may be no valid name: its key then is any key. */
                (void) vs_peer_key(t->secret, CLUSTER, t->identity, key);
                if (rogue_tls_client(&r, t->identity, key, 5000) < 0) {
                        rogue_close(&r);
                        return REFUSED_IN_HANDSHAKE;
                }
        }
        if (t->len > 0 && rogue_send(&r, t->frame, t->len) < 0)
                return CHILD_FAILED;
        int k = rogue_wait_closed(&r, 5000);
        rogue_close(&r);
        return k == 0 ? CLOSED_AFTER : NOT_CLOSED;
}

static void start_all(void) {
        for (int i = 0; i < N; i++)
                node_start(i, N);
        ck_assert(wait_link(0, 2, true));
        ck_assert(wait_link(1, 2, true));
}

/* The real links survive, and nobody else got one. */
static void links_intact(void) {
        ck_assert(vs_peer_set_is_up(nodes[2].set, "alpha"));
        ck_assert(vs_peer_set_is_up(nodes[2].set, "bravo"));
        ck_assert_uint_eq(nodes[2].ups[0] + nodes[2].ups[1], 2);
        ck_assert_uint_eq(nodes[2].downs[0] + nodes[2].downs[1], 0);
        ping_round_trip(0, 2, 41);
}

/* A rogue dials charlie (who accepts from everyone sorting lower); it must be thrown out the
 * way expected, with a log line containing why and its address, and the real links stay up. */
static void refused(struct attempt *t, int expect, const char *why) {
        start_all();
        t->to = 2;
        struct capture cap;
        capture_begin(&cap);
        int status = in_child(attempt_run, t);
        run_for(event, 50000); /* the node may notice the end only now */
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(status, expect);
        ck_assert_msg(strstr(log, why), "log lacks '%s'", why);
        ck_assert_ptr_nonnull(strstr(log, "127.0.0.1:"));
        ck_assert_ptr_null(strstr(log, "forged"));
        links_intact();
}

/* A member (alpha, with the right secret) that sends one bad frame after the handshake. */
static void refused_frame(const void *frame, size_t len, const char *why) {
        struct attempt t = { .identity = "alpha", .secret = &secret, .frame = frame, .len = len };
        refused(&t, CLOSED_AFTER, why);
}

static void refused_hello(const char *name, uint64_t cluster, const char *why) {
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame(name, cluster, &f);
        refused_frame(f, len, why);
}

static void refused_identity(const char *identity, const struct vs_secret *key_secret, const char *why) {
        struct attempt t = { .identity = identity, .secret = key_secret };
        refused(&t, REFUSED_IN_HANDSHAKE, why);
}

START_TEST(test_wrong_secret) {
        refused_identity("alpha", &wrong_secret, "TLS handshake failed");
}
END_TEST

START_TEST(test_unknown_identity) {
        /* Even with the cluster's secret, only a member's name is an identity. */
        refused_identity("mallory", &secret, "PSK identity 'mallory' is not a member of this cluster");
}
END_TEST

START_TEST(test_own_identity) {
        /* Two nodes configured with one name must not pass for each other. */
        refused_identity("charlie", &secret, "PSK identity 'charlie' is this node's own name");
}
END_TEST

START_TEST(test_forged_identity) {
        refused_identity("x\nerr: forged entry", &secret, "PSK identity is not a valid node name");
}
END_TEST

/* A JoinRequest frame of node "newcomer", optionally followed by a Hello (malloc'ed). */
static size_t join_frame(bool then_hello, uint8_t **ret) {
        struct msg m;
        msg_init(&m, CLUSTER);
        Viewstamp__JoinRequest req = VIEWSTAMP__JOIN_REQUEST__INIT;
        req.node = (char *) "newcomer";
        req.peer_address = (char *) "127.0.0.1:1";
        req.client_address = (char *) "127.0.0.1:2";
        req.cluster_id = CLUSTER;
        m.env.body_case = VIEWSTAMP__ENVELOPE__BODY_JOIN_REQUEST;
        m.env.join_request = &req;
        size_t len = frame_of(&m.env, ret);
        if (!then_hello)
                return len;
        _cleanup_free_ uint8_t *hello = NULL;
        size_t hello_len = hello_frame("alpha", CLUSTER, &hello);
        *ret = realloc(*ret, len + hello_len);
        ck_assert_ptr_nonnull(*ret);
        memcpy(*ret + len, hello, hello_len);
        return len + hello_len;
}

START_TEST(test_join_static) {
        /* A set given no join secret takes no joins, even with a key from some join secret. */
        refused_identity(VS_PEER_JOIN_IDENTITY, &join_secret, "a join, but this cluster lists its nodes");
        ck_assert_uint_eq(nodes[2].joins, 0);
}
END_TEST

/* A set that takes joins, and a joiner keyed from key_secret, which is not the join secret. */
static void join_wrong_key(const struct vs_secret *key_secret) {
        opts.join_secret = &join_secret;
        refused_identity(VS_PEER_JOIN_IDENTITY, key_secret, "a join with a wrong join token");
        ck_assert_uint_eq(nodes[2].joins, 0);
}

START_TEST(test_join_wrong_token) {
        join_wrong_key(&wrong_secret);
}
END_TEST

START_TEST(test_join_cluster_secret) {
        /* The cluster secret is no join token. */
        join_wrong_key(&secret);
}
END_TEST

/* A joiner with the right token sends frame; the set closes the connection for why, having
 * handed over joins JoinRequests. */
static void joiner_sends(const uint8_t *frame, size_t len, const char *why, unsigned joins) {
        opts.join_secret = &join_secret;
        struct attempt t = { .identity = VS_PEER_JOIN_IDENTITY, .secret = &join_secret, .frame = frame, .len = len };
        refused(&t, CLOSED_AFTER, why);
        ck_assert_uint_eq(nodes[2].joins, joins);
}

START_TEST(test_join_hello_first) {
        /* The join identity cannot become a peer link. */
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("alpha", CLUSTER, &f);
        joiner_sends(f, len, "first frame is not a join request", 0);
}
END_TEST

START_TEST(test_join_from_member) {
        /* A member's link carries no JoinRequest. */
        opts.join_secret = &join_secret;
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = join_frame(false, &f);
        refused_frame(f, len, "join request from a connection not authenticated with a join token");
        ck_assert_uint_eq(nodes[2].joins, 0);
}
END_TEST

START_TEST(test_join_one_frame) {
        /* The right token: the request is handed over once, and a second frame closes the link. */
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = join_frame(true, &f);
        joiner_sends(f, len, "a frame after its join request", 1);
}
END_TEST

START_TEST(test_plain_hello) {
        /* A peer without TLS: its Hello is not a handshake. */
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("alpha", CLUSTER, &f);
        struct attempt t = { .frame = f, .len = len };
        refused(&t, CLOSED_AFTER, "TLS handshake failed: not a TLS 1.3 handshake");
}
END_TEST

/* Records a genuine handshake of alpha's with charlie, then sends either all of its
 * client bytes on a new connection (a replay), or only the first record (the ClientHello)
 * before hanging up. */
static int replay_run(const void *arg) {
        bool hang_up = *(const bool *) arg;
        struct vs_address a = loopback(ports[2]);
        uint8_t key[VS_PEER_KEY_SIZE];
        _cleanup_free_ uint8_t *rec = NULL;
        size_t len;
        if (vs_peer_key(&secret, CLUSTER, "alpha", key) < 0 ||
            rogue_record_handshake(&a, "alpha", key, &rec, &len) < 0 || len < 5)
                return CHILD_FAILED;
        if (hang_up) /* a TLS record: 5 header bytes, the last two its length */
                len = MIN(len, 5 + ((size_t) rec[3] << 8 | rec[4]));
        struct rogue r;
        if (rogue_connect(&a, &r) < 0 || rogue_send(&r, rec, len) < 0)
                return CHILD_FAILED;
        int k = hang_up ? 0 : rogue_wait_closed(&r, 5000);
        rogue_close(&r);
        return k == 0 ? CLOSED_AFTER : NOT_CLOSED;
}

START_TEST(test_close_in_handshake) {
        start_all();
        struct capture cap;
        capture_begin(&cap);
        bool hang_up = true;
        int status = in_child(replay_run, &hang_up);
        run_for(event, 100000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(status, CLOSED_AFTER);
        ck_assert_ptr_nonnull(strstr(log, "TLS handshake failed: the peer closed the connection in the TLS handshake"));
        links_intact();
}
END_TEST

START_TEST(test_replayed_handshake) {
        /* A genuine handshake of alpha's, captured on the way, is worth nothing a second time:
         * the node's fresh random and key share make the recorded Finished wrong. */
        start_all();
        struct capture cap;
        capture_begin(&cap);
        bool hang_up = false;
        int status = in_child(replay_run, &hang_up);
        run_for(event, 50000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(status, CLOSED_AFTER);
        ck_assert_ptr_nonnull(strstr(log, "TLS handshake failed: TLS authentication failed"));
        ck_assert_ptr_nonnull(strstr(log, "127.0.0.1:"));
        links_intact();
}
END_TEST

START_TEST(test_hello_not_identity) {
        refused_hello("bravo", CLUSTER, "Hello names node 'bravo', the TLS handshake authenticated 'alpha'");
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

START_TEST(test_not_hello_first) {
        struct msg m;
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = frame_of(msg_ping(&m, CLUSTER, 1), &f);
        refused_frame(f, len, "first frame is not a Hello");
}
END_TEST

START_TEST(test_silent_connection) {
        struct attempt t = {};
        refused(&t, CLOSED_AFTER, "no frame within");
}
END_TEST

START_TEST(test_large_frame_before_hello) {
        /* Far below the configured frame limit, but no stranger gets to send it. */
        refused_frame("\0\0\x08\0", 4, "oversize frame");
}
END_TEST

START_TEST(test_garbage) {
        refused_frame("\0\0\0\3abc", 7, "garbage");
}
END_TEST

START_TEST(test_dialler_refused_direction) {
        /* bravo sorts higher than alpha, so a Hello claiming bravo at alpha is refused. */
        node_start(0, 2);
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("bravo", CLUSTER, &f);
        struct attempt t = { .to = 0, .identity = "bravo", .secret = &secret, .frame = f, .len = len };
        struct capture cap;
        capture_begin(&cap);
        int status = in_child(attempt_run, &t);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(status, CLOSED_AFTER);
        ck_assert_ptr_nonnull(strstr(log, "sorts lower and dials it"));
        ck_assert_uint_eq(nodes[0].ups[1], 0);
}
END_TEST

START_TEST(test_redial_replaces) {
        /* bravo's link from alpha is replaced when "alpha" dials again, without a down/up. */
        /* alpha learns that its old link is gone through liveness; bravo must keep the
         * impostor's silent link longer than that, or which of the two ends it first would be a
         * race on a loaded machine. */
        opts.dead_after_usec = 30000000;
        node_start(1, 2);
        opts.dead_after_usec = 1000000;
        node_start(0, 2);
        ck_assert(wait_link(0, 1, true));
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = hello_frame("alpha", CLUSTER, &f);
        struct attempt t = { .to = 1, .identity = "alpha", .secret = &secret, .frame = f, .len = len };
        /* The real alpha's connection is closed by bravo: alpha sees it go down and redials,
         * which in turn replaces the second connection. */
        ck_assert_int_eq(in_child(attempt_run, &t), CLOSED_AFTER);
        ck_assert(wait_link(0, 1, true));
        ck_assert_uint_eq(nodes[1].downs[0], 0);
        ck_assert_uint_ge(nodes[0].downs[1], 1);
        ping_round_trip(0, 1, 51);
}
END_TEST

/* A fake bravo, in a child: accepts alpha's connection on listen_fd, runs the acceptor's side of
 * the handshake with alpha's key from secret, answers as bravo and then says nothing, like a
 * frozen node whose kernel still holds the connection. */
struct fake {
        int listen_fd;
        const struct vs_secret *secret;
};

static int fake_bravo(const void *arg) {
        const struct fake *f = arg;
        struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
        if (poll(&p, 1, 5000) != 1)
                return CHILD_FAILED;
        struct rogue r = { .fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) };
        uint8_t key[VS_PEER_KEY_SIZE];
        if (r.fd < 0 || vs_peer_key(f->secret, CLUSTER, "alpha", key) < 0)
                return CHILD_FAILED;
        if (rogue_tls_server(&r, "alpha", key, 5000) < 0) {
                rogue_close(&r);
                return REFUSED_IN_HANDSHAKE;
        }
        _cleanup_free_ uint8_t *hello = NULL;
        struct msg m;
        size_t len = frame_of(msg_hello(&m, CLUSTER, "bravo"), &hello);
        if (rogue_send(&r, hello, len) < 0)
                return CHILD_FAILED;
        (void) rogue_wait_closed(&r, 10000);
        rogue_close(&r);
        return CLOSED_AFTER;
}

static int fake_listen(void) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)), 0);
        struct vs_address a = loopback(ports[1]);
        release_port(&holders[1]);
        ck_assert_int_eq(bind(fd, &a.sa, a.len), 0);
        ck_assert_int_eq(listen(fd, 4), 0);
        return fd;
}

static bool down_seen(void *arg) {
        return nodes[0].downs[1] > 0;
}

START_TEST(test_silent_peer_detected) {
        /* alpha must give the link up after dead_after. */
        opts.dead_after_usec = 500000;
        struct fake f = { .listen_fd = fake_listen(), .secret = &secret };
        node_start(0, 2);
        pid_t pid = fork_child(fake_bravo, &f);
        for (uint64_t end = now_usec() + 5000000; !vs_peer_set_is_up(nodes[0].set, "bravo") && now_usec() < end;)
                ck_assert_int_ge(sd_event_run(event, 10000), 0);
        ck_assert(vs_peer_set_is_up(nodes[0].set, "bravo"));
        uint64_t start = now_usec();
        ck_assert(run_until(event, down_seen, NULL, 5000000));
        ck_assert_uint_ge(now_usec() - start, opts.dead_after_usec * 9 / 10);
        ck_assert(!vs_peer_set_is_up(nodes[0].set, "bravo"));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(f.listen_fd);
}
END_TEST

START_TEST(test_dialler_refuses_wrong_secret) {
        /* The other direction: an acceptor without the cluster's secret fails the dialler's
         * handshake too, and the dialler says so naming the address. */
        struct fake f = { .listen_fd = fake_listen(), .secret = &wrong_secret };
        struct capture cap;
        capture_begin(&cap);
        node_start(0, 2);
        struct child c = { .pid = fork_child(fake_bravo, &f) };
        ck_assert(run_until(event, child_exited, &c, 10000000));
        run_for(event, 50000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(WEXITSTATUS(c.status), REFUSED_IN_HANDSHAKE);
        ck_assert(!vs_peer_set_is_up(nodes[0].set, "bravo"));
        ck_assert_uint_eq(nodes[0].ups[1], 0);
        ck_assert_ptr_nonnull(strstr(log, "TLS handshake failed"));
        char buf[VS_ADDRESS_STRING_MAX];
        struct vs_address a = loopback(ports[1]);
        ck_assert_ptr_nonnull(strstr(log, vs_address_to_string(&a, buf)));
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
        tcase_add_test(tc, test_send_each);
        tcase_add_test(tc, test_add_remove);
        tcase_add_test(tc, test_keepalive);
        tcase_add_test(tc, test_acceptor_restarts);
        tcase_add_test(tc, test_relisten);
        tcase_add_test(tc, test_streams);
        tcase_add_test(tc, test_large_frame_after_hello);
        tcase_add_test(tc, test_dialler_restarts);
        tcase_add_test(tc, test_wrong_secret);
        tcase_add_test(tc, test_unknown_identity);
        tcase_add_test(tc, test_own_identity);
        tcase_add_test(tc, test_forged_identity);
        tcase_add_test(tc, test_plain_hello);
        tcase_add_test(tc, test_join_static);
        tcase_add_test(tc, test_join_wrong_token);
        tcase_add_test(tc, test_join_cluster_secret);
        tcase_add_test(tc, test_join_hello_first);
        tcase_add_test(tc, test_join_from_member);
        tcase_add_test(tc, test_join_one_frame);
        tcase_add_test(tc, test_close_in_handshake);
        tcase_add_test(tc, test_replayed_handshake);
        tcase_add_test(tc, test_hello_not_identity);
        tcase_add_test(tc, test_forged_log_line);
        tcase_add_test(tc, test_other_cluster);
        tcase_add_test(tc, test_not_hello_first);
        tcase_add_test(tc, test_silent_connection);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_large_frame_before_hello);
        tcase_add_test(tc, test_dialler_refused_direction);
        tcase_add_test(tc, test_redial_replaces);
        tcase_add_test(tc, test_silent_peer_detected);
        tcase_add_test(tc, test_dialler_refuses_wrong_secret);
        tcase_add_test(tc, test_connect_timeout);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(peer_suite());
}
