/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "loop.h"
#include "msg.h"
#include "net/conn.h"
#include "net/listener.h"
#include "wire/envelope.h"
#include "wire/frame.h"
#include "../check-run.h"

#define MAX_CONNS 8
#define MAX_SEEN 20000

/* A listener whose accepted connections echo every Ping as a Pong and record what they saw. */
struct server {
        sd_event *event;
        struct vs_listener *listener;
        struct vs_conn_options opts;
        struct vs_conn *conns[MAX_CONNS];
        unsigned accepted, closed;
        int reasons[MAX_CONNS];
        uint64_t nonces[MAX_SEEN];
        bool follows[MAX_SEEN]; /* vs_conn_frame_follows() while each was handled */
        size_t n_seen;
        bool echo;
};

static struct server srv;

static void send_ping(struct vs_conn *c, uint64_t nonce, int expect) {
        struct msg m;
        ck_assert_int_eq(vs_conn_send(c, msg_ping(&m, 0, nonce)), expect);
}

#define NONCE_REFUSED UINT64_MAX

static int server_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        if (env->body_case != VIEWSTAMP__ENVELOPE__BODY_PING)
                return 0;
        if (env->ping->nonce == NONCE_REFUSED)
                return -EPERM;
        if (srv.n_seen < MAX_SEEN) {
                srv.follows[srv.n_seen] = vs_conn_frame_follows(c);
                srv.nonces[srv.n_seen++] = env->ping->nonce;
        }
        if (srv.echo) {
                struct msg m;
                ck_assert_int_eq(vs_conn_send(c, msg_pong(&m, 0, env->ping->nonce)), 0);
        }
        return 0;
}

static void server_close(struct vs_conn *c, int reason, void *userdata) {
        unsigned i = (unsigned) (uintptr_t) userdata;
        srv.reasons[i] = reason;
        srv.closed++;
        srv.conns[i] = vs_conn_free(c); /* freeing inside on_close is allowed */
        vs_listener_release(srv.listener);
}

static const struct vs_conn_callbacks server_cb = { server_envelope, server_close };

static int server_accept(struct vs_listener *l, int fd, const struct vs_address *remote, void *userdata) {
        ck_assert_uint_lt(srv.accepted, MAX_CONNS);
        unsigned i = srv.accepted++;
        srv.reasons[i] = 1; /* not closed */
        return vs_conn_new(srv.event, fd, &srv.opts, &server_cb, (void *) (uintptr_t) i, &srv.conns[i]);
}

static void server_start_at(const struct vs_address *a, unsigned max_connections) {
        memset(&srv, 0, sizeof srv);
        srv.echo = true;
        ck_assert_int_ge(sd_event_new(&srv.event), 0);
        ck_assert_int_eq(vs_listener_new(srv.event, a, max_connections, server_accept, NULL, &srv.listener), 0);
}

static void server_start(unsigned max_connections) {
        struct vs_address a = loopback(0);
        server_start_at(&a, max_connections);
        ck_assert_int_ne(port_of(vs_listener_address(srv.listener)), 0);
}

static void server_stop(void) {
        for (unsigned i = 0; i < MAX_CONNS; i++)
                vs_conn_free(srv.conns[i]);
        vs_listener_free(srv.listener);
        sd_event_unref(srv.event);
}

static bool accepted_n(void *arg) {
        return srv.accepted >= *(unsigned *) arg;
}

static bool closed_n(void *arg) {
        return srv.closed >= *(unsigned *) arg;
}

/* A client connection built on vs_conn, collecting Pongs. */
struct client {
        struct vs_conn *conn;
        uint64_t pongs[MAX_SEEN];
        size_t n_pongs;
        size_t want;
        int reason;
        bool closed;
};

static int client_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct client *cl = userdata;
        if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_PONG && cl->n_pongs < MAX_SEEN)
                cl->pongs[cl->n_pongs++] = env->pong->nonce;
        return 0;
}

static void client_close(struct vs_conn *c, int reason, void *userdata) {
        struct client *cl = userdata;
        cl->closed = true;
        cl->reason = reason;
}

static const struct vs_conn_callbacks client_cb = { client_envelope, client_close };

static void client_open(struct client *cl) {
        memset(cl, 0, sizeof *cl);
        int fd = raw_connect(vs_listener_address(srv.listener));
        ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        ck_assert_int_eq(vs_conn_new(srv.event, fd, NULL, &client_cb, cl, &cl->conn), 0);
}

static bool pongs_wanted(void *arg) {
        const struct client *cl = arg;
        return cl->n_pongs >= cl->want;
}

static bool want_pongs(struct client *cl, size_t n) {
        cl->want = n;
        return run_until(srv.event, pongs_wanted, cl, 20000000);
}

START_TEST(test_round_trip_both_ways) {
        server_start(4);
        struct client cl;
        client_open(&cl);
        unsigned one = 1;
        ck_assert(run_until(srv.event, accepted_n, &one, 2000000));

        send_ping(cl.conn, 42, 0);
        ck_assert(want_pongs(&cl, 1));
        ck_assert_uint_eq(srv.n_seen, 1);
        ck_assert_uint_eq(srv.nonces[0], 42);
        ck_assert_uint_eq(cl.pongs[0], 42);
        ck_assert(!cl.closed);
        ck_assert_uint_eq(vs_conn_queued(cl.conn), 0);

        /* The server's side names the client's address; the client's names the listener. */
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_str_eq(vs_conn_remote_string(cl.conn), vs_address_to_string(vs_listener_address(srv.listener), buf));
        ck_assert(strncmp(vs_conn_remote_string(srv.conns[0]), "127.0.0.1:", 10) == 0);

        vs_conn_free(cl.conn);
        ck_assert(run_until(srv.event, closed_n, &one, 2000000));
        ck_assert_int_eq(srv.reasons[0], 0); /* orderly EOF */
        server_stop();
}
END_TEST

START_TEST(test_ipv6) {
        struct vs_address a = { .len = sizeof a.in6 };
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_addr = in6addr_loopback;
        server_start_at(&a, 4);
        ck_assert_int_ne(vs_listener_address(srv.listener)->in6.sin6_port, 0);
        struct client cl;
        client_open(&cl);
        send_ping(cl.conn, 6, 0);
        ck_assert(want_pongs(&cl, 1));
        ck_assert_uint_eq(cl.pongs[0], 6);
        ck_assert(strncmp(vs_conn_remote_string(srv.conns[0]), "[::1]:", 6) == 0);
        vs_conn_free(cl.conn);
        server_stop();
}
END_TEST

START_TEST(test_pipelined) {
        server_start(4);
        static struct client cl;
        client_open(&cl);
        const size_t n = 10000;
        for (size_t i = 0; i < n; i++)
                send_ping(cl.conn, i + 1, 0);
        ck_assert(want_pongs(&cl, n));
        ck_assert_uint_eq(srv.n_seen, n);
        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(srv.nonces[i], i + 1);
                ck_assert_uint_eq(cl.pongs[i], i + 1);
        }
        vs_conn_free(cl.conn);
        server_stop();
}
END_TEST

static size_t frame_ping(uint64_t nonce, uint8_t **ret) {
        struct msg m;
        return frame_of(msg_ping(&m, 0, nonce), ret);
}

static bool seen_n(void *arg) {
        return srv.n_seen >= *(size_t *) arg;
}

START_TEST(test_split_frame) {
        server_start(4);
        int fd = raw_connect(vs_listener_address(srv.listener));
        _cleanup_free_ uint8_t *f = NULL;
        size_t len = frame_ping(7, &f);
        ck_assert_uint_gt(len, 8);
        size_t one = 1;

        /* One byte per write, the loop running in between: nothing arrives until the last. */
        for (size_t i = 0; i < len; i++) {
                raw_write(fd, f + i, 1);
                run_for(srv.event, 2000);
                if (i + 1 < len)
                        ck_assert_uint_eq(srv.n_seen, 0);
        }
        ck_assert(run_until(srv.event, seen_n, &one, 2000000));
        ck_assert_uint_eq(srv.nonces[0], 7);
        ck_assert_int_eq(srv.reasons[0], 1);
        close(fd);
        server_stop();
}
END_TEST

/* Two whole frames and half a third in one write: the handler of the first learns that another
 * follows, the second's does not (the third is not whole yet), nor does the third's. */
START_TEST(test_frame_follows) {
        server_start(4);
        int fd = raw_connect(vs_listener_address(srv.listener));
        _cleanup_free_ uint8_t *a = NULL, *b = NULL, *c = NULL;
        size_t la = frame_ping(1, &a), lb = frame_ping(2, &b), lc = frame_ping(3, &c);
        uint8_t burst[256];
        ck_assert_uint_le(la + lb + lc, sizeof burst);
        memcpy(burst, a, la);
        memcpy(burst + la, b, lb);
        memcpy(burst + la + lb, c, lc / 2);
        raw_write(fd, burst, la + lb + lc / 2);
        size_t two = 2, three = 3;
        ck_assert(run_until(srv.event, seen_n, &two, 2000000));
        run_for(srv.event, 20000);
        ck_assert_uint_eq(srv.n_seen, 2);
        raw_write(fd, c + lc / 2, lc - lc / 2);
        ck_assert(run_until(srv.event, seen_n, &three, 2000000));
        ck_assert_uint_eq(srv.nonces[0], 1);
        ck_assert(srv.follows[0]);
        ck_assert(!srv.follows[1]);
        ck_assert(!srv.follows[2]);
        close(fd);
        server_stop();
}
END_TEST

/* Sends bytes from a raw client; checks that exactly that connection closes with reason and a
 * log line naming its address and why, and that the listener still serves a new client. */
static void bad_input(const void *bytes, size_t n, bool half_close, int reason, const char *why) {
        server_start(4);
        int fd = raw_connect(vs_listener_address(srv.listener));
        struct sockaddr_in local;
        socklen_t ll = sizeof local;
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &local, &ll), 0);
        char expect_peer[64];
        snprintf(expect_peer, sizeof expect_peer, "127.0.0.1:%u", ntohs(local.sin_port));

        /* A healthy bystander first: it must survive the bad one. */
        static struct client good;
        client_open(&good);
        unsigned two = 2, one = 1;
        ck_assert(run_until(srv.event, accepted_n, &two, 2000000));

        struct capture cap;
        capture_begin(&cap);
        raw_write(fd, bytes, n);
        if (half_close)
                ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        bool closed = run_until(srv.event, closed_n, &one, 2000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(closed);
        ck_assert_uint_eq(srv.closed, 1);
        ck_assert_ptr_nonnull(strstr(log, expect_peer));
        ck_assert_ptr_nonnull(strstr(log, why));
        ck_assert_ptr_eq(strchr(log, '\n'), log + strlen(log) - 1); /* one line */

        int bad = srv.reasons[0] == 1 ? 1 : 0;
        ck_assert_int_eq(srv.reasons[bad], reason);
        ck_assert(raw_closed(fd));
        close(fd);

        send_ping(good.conn, 9, 0);
        ck_assert(want_pongs(&good, 1));
        ck_assert(!good.closed);

        static struct client later;
        client_open(&later);
        send_ping(later.conn, 10, 0);
        ck_assert(want_pongs(&later, 1));
        vs_conn_free(good.conn);
        vs_conn_free(later.conn);
        server_stop();
}

START_TEST(test_garbage) {
        /* A well-formed frame header around a body that is not an envelope. */
        const uint8_t junk[] = { 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        bad_input(junk, sizeof junk, false, -EBADMSG, "garbage");
}
END_TEST

START_TEST(test_http_request) {
        /* "GET " read as a length is far above any frame limit. */
        const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        bad_input(req, sizeof req - 1, false, -EMSGSIZE, "oversize frame");
}
END_TEST

START_TEST(test_oversized_header) {
        const uint8_t hdr[] = { 0xff, 0xff, 0xff, 0xff };
        bad_input(hdr, sizeof hdr, false, -EMSGSIZE, "oversize frame");
}
END_TEST

START_TEST(test_empty_frame) {
        const uint8_t hdr[] = { 0, 0, 0, 0 };
        bad_input(hdr, sizeof hdr, false, -EBADMSG, "garbage");
}
END_TEST

START_TEST(test_truncated_then_eof) {
        uint8_t *f;
        size_t len = frame_ping(5, &f);
        bad_input(f, len - 3, true, -EPIPE, "truncated frame at EOF");
        free(f);
}
END_TEST

START_TEST(test_wrong_version) {
        struct msg m;
        msg_ping(&m, 0, 1);
        m.header.version = VS_WIRE_VERSION + 1;
        uint8_t *f;
        size_t len = frame_of(&m.env, &f);
        bad_input(f, len, false, -EPROTONOSUPPORT, "unsupported wire protocol version");
        free(f);
}
END_TEST

START_TEST(test_reset) {
        server_start(4);
        int fd = raw_connect(vs_listener_address(srv.listener));
        unsigned one = 1;
        ck_assert(run_until(srv.event, accepted_n, &one, 2000000));
        /* Unread data at close makes the kernel send RST instead of FIN. */
        srv.echo = false;
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger) { 1, 0 }, sizeof(struct linger)), 0);
        close(fd);
        struct capture cap;
        capture_begin(&cap);
        bool closed = run_until(srv.event, closed_n, &one, 2000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(closed);
        ck_assert_int_eq(srv.reasons[0], -ECONNRESET);
        ck_assert_ptr_nonnull(strstr(log, "reset by peer"));
        server_stop();
}
END_TEST

START_TEST(test_send_queue_limit) {
        server_start(4);
        srv.opts.max_send_queue = 256 * 1024;
        int fd = raw_connect(vs_listener_address(srv.listener));
        unsigned one = 1;
        ck_assert(run_until(srv.event, accepted_n, &one, 2000000));
        struct vs_conn *c = srv.conns[0];

        /* The client reads nothing: kernel buffers fill, then the queue, then sends fail. */
        char name[1000];
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = 0;
        struct msg m;
        const Viewstamp__Envelope *env = msg_hello(&m, 0, name);

        size_t sent = 0;
        int r = 0;
        while (sent < 200000 && (r = vs_conn_send(c, env)) == 0) {
                sent++;
                if (sent % 64 == 0)
                        run_for(srv.event, 100);
        }
        ck_assert_int_eq(r, -ENOBUFS);
        ck_assert_uint_le(vs_conn_queued(c), srv.opts.max_send_queue);
        ck_assert_uint_gt(vs_conn_queued(c), srv.opts.max_send_queue - 2048);
        ck_assert_int_eq(srv.reasons[0], 1); /* still open */

        /* The reader catches up: the queue drains and sending works again. */
        size_t frame = VS_FRAME_HEADER_SIZE + viewstamp__envelope__get_packed_size(env);
        size_t total = 0;
        while (total < sent * frame) {
                char buf[65536];
                run_for(srv.event, 200);
                ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (k > 0)
                        total += (size_t) k;
                else
                        ck_assert(k < 0 && errno == EAGAIN);
        }
        ck_assert_uint_eq(total, sent * frame);
        ck_assert_uint_eq(vs_conn_queued(c), 0);
        ck_assert_int_eq(vs_conn_send(c, env), 0);
        close(fd);
        server_stop();
}
END_TEST

START_TEST(test_max_connections) {
        server_start(2);
        int a = raw_connect(vs_listener_address(srv.listener));
        int b = raw_connect(vs_listener_address(srv.listener));
        unsigned two = 2;
        ck_assert(run_until(srv.event, accepted_n, &two, 2000000));
        ck_assert_uint_eq(vs_listener_connections(srv.listener), 2);

        struct capture cap;
        capture_begin(&cap);
        int c = raw_connect(vs_listener_address(srv.listener));
        run_for(srv.event, 50000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(raw_closed(c));
        ck_assert_uint_eq(srv.accepted, 2);
        ck_assert_ptr_nonnull(strstr(log, "all 2 connection slots in use"));
        ck_assert(!raw_closed(a) && !raw_closed(b));
        close(c);

        /* A slot freed by a closed connection is available again. */
        close(a);
        unsigned one = 1, three = 3;
        ck_assert(run_until(srv.event, closed_n, &one, 2000000));
        ck_assert_uint_eq(vs_listener_connections(srv.listener), 1);
        int d = raw_connect(vs_listener_address(srv.listener));
        ck_assert(run_until(srv.event, accepted_n, &three, 2000000));
        ck_assert(!raw_closed(d));
        close(b);
        close(d);
        server_stop();
}
END_TEST

START_TEST(test_handshake_timeout) {
        server_start(4);
        srv.opts.handshake_timeout_usec = 100000;
        int fd = raw_connect(vs_listener_address(srv.listener));
        unsigned one = 1;
        uint64_t start = now_usec();
        ck_assert(run_until(srv.event, closed_n, &one, 2000000));
        ck_assert_uint_ge(now_usec() - start, 90000);
        ck_assert_int_eq(srv.reasons[0], -ETIMEDOUT);
        ck_assert(raw_closed(fd));
        close(fd);
        server_stop();
}
END_TEST

START_TEST(test_idle_timeout) {
        server_start(4);
        srv.opts.idle_timeout_usec = 500000;
        static struct client cl;
        client_open(&cl);
        unsigned one = 1;
        /* Frames every 50 ms keep it open well past the timeout... */
        for (int i = 0; i < 30; i++) {
                send_ping(cl.conn, (uint64_t) i, 0);
                run_for(srv.event, 50000);
        }
        ck_assert_uint_eq(srv.closed, 0);
        /* ...silence closes it. */
        ck_assert(run_until(srv.event, closed_n, &one, 2000000));
        ck_assert_int_eq(srv.reasons[0], -ETIMEDOUT);
        vs_conn_free(cl.conn);
        server_stop();
}
END_TEST

START_TEST(test_handler_refuses) {
        server_start(4);
        static struct client cl;
        client_open(&cl);
        send_ping(cl.conn, 1, 0);
        send_ping(cl.conn, NONCE_REFUSED, 0);
        send_ping(cl.conn, 2, 0);
        unsigned one = 1;
        ck_assert(run_until(srv.event, closed_n, &one, 2000000));
        ck_assert_int_eq(srv.reasons[0], -EPERM);
        /* Nothing after the refused frame was handed over. */
        ck_assert_uint_eq(srv.n_seen, 1);
        run_for(srv.event, 20000);
        ck_assert(cl.closed);
        vs_conn_free(cl.conn);
        server_stop();
}
END_TEST

START_TEST(test_owner_free) {
        server_start(4);
        static struct client cl;
        client_open(&cl);
        send_ping(cl.conn, 1, 0);
        ck_assert(want_pongs(&cl, 1));
        /* The owner frees its side: no on_close for it, the other side sees an orderly EOF,
         * and sending on a closed conn fails. */
        vs_conn_free(srv.conns[0]);
        srv.conns[0] = NULL;
        run_for(srv.event, 50000);
        ck_assert(cl.closed);
        ck_assert_int_eq(cl.reason, 0);
        ck_assert_uint_eq(srv.closed, 0);
        send_ping(cl.conn, 2, -ENOTCONN);
        vs_conn_free(cl.conn);
        server_stop();
}
END_TEST

START_TEST(test_out_of_fds) {
        /* Six connections wait in the backlog while the process may open only two more files:
         * accept() fails with EMFILE, and the listener must pause rather than spin on a
         * permanently readable socket, then take the rest once files are free again. */
        server_start(MAX_CONNS);
        int clients[6];
        for (unsigned i = 0; i < ELEMENTSOF(clients); i++)
                clients[i] = raw_connect(vs_listener_address(srv.listener));
        struct capture cap;
        capture_begin(&cap);

        /* New descriptors take the lowest free numbers and must stay below the limit: with the
         * two lowest free numbers adjacent, a limit just above them leaves exactly two. */
        int lowest = 0;
        while (fcntl(lowest, F_GETFD) >= 0)
                lowest++;
        ck_assert_int_lt(fcntl(lowest + 1, F_GETFD), 0);
        struct rlimit old;
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
        struct rlimit low = { (rlim_t) lowest + 2, old.rlim_max };
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);

        unsigned iterations = 0;
        for (uint64_t end = now_usec() + 300000; now_usec() < end; iterations++)
                ck_assert_int_ge(sd_event_run(srv.event, 10000), 0);
        ck_assert_uint_eq(srv.accepted, 2);
        ck_assert_uint_lt(iterations, 100); /* a spinning loop would run thousands */

        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        unsigned all = ELEMENTSOF(clients);
        bool done = run_until(srv.event, accepted_n, &all, 2000000);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert(done);
        ck_assert_ptr_nonnull(strstr(log, "pausing accept"));
        for (unsigned i = 0; i < ELEMENTSOF(clients); i++)
                close(clients[i]);
        server_stop();
}
END_TEST

START_TEST(test_bind_error) {
        server_start(4);
        struct vs_listener *l = NULL;
        struct capture cap;
        capture_begin(&cap);
        int r = vs_listener_new(srv.event, vs_listener_address(srv.listener), 4, server_accept, NULL, &l);
        _cleanup_free_ char *log = capture_end(&cap);
        ck_assert_int_eq(r, -EADDRINUSE);
        char buf[VS_ADDRESS_STRING_MAX];
        ck_assert_ptr_nonnull(strstr(log, vs_address_to_string(vs_listener_address(srv.listener), buf)));
        server_stop();
}
END_TEST

static Suite *conn_suite(void) {
        Suite *s = suite_create("conn");
        TCase *tc = tcase_create("loopback");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_round_trip_both_ways);
        tcase_add_test(tc, test_ipv6);
        tcase_add_test(tc, test_pipelined);
        tcase_add_test(tc, test_split_frame);
        tcase_add_test(tc, test_frame_follows);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_http_request);
        tcase_add_test(tc, test_oversized_header);
        tcase_add_test(tc, test_empty_frame);
        tcase_add_test(tc, test_truncated_then_eof);
        tcase_add_test(tc, test_wrong_version);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_send_queue_limit);
        tcase_add_test(tc, test_max_connections);
        tcase_add_test(tc, test_handshake_timeout);
        tcase_add_test(tc, test_idle_timeout);
        tcase_add_test(tc, test_handler_refuses);
        tcase_add_test(tc, test_owner_free);
        tcase_add_test(tc, test_bind_error);
        tcase_add_test(tc, test_out_of_fds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(conn_suite());
}
