/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libviewstamp against fake nodes (fake.h) that behave well, badly, or not at all. */

#include <check.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "client/viewstamp.h"
#include "fake.h"
#include "util/cleanup.h"
#include "../check-run.h"

static struct fake fa, fb;

static void setup(void) {
        ck_assert_int_eq(fake_start(&fa, 0), 0);
        ck_assert_int_eq(fake_start(&fb, 0), 0);
}

static void teardown(void) {
        fake_stop(&fa);
        fake_stop(&fb);
}

static vs_client *client_for(const char *address, uint64_t timeout_usec) {
        vs_client *c;
        ck_assert_int_eq(vs_client_new(&c, "tenant-a"), 0);
        ck_assert_int_eq(vs_client_add_node(c, address), 0);
        ck_assert_int_eq(vs_client_set_timeout(c, timeout_usec), 0);
        return c;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void get_expect(vs_client *c, const char *path, const char *value) {
        vs_result *r = NULL;
        ck_assert_int_eq(vs_get(c, path, &r), 0);
        size_t len;
        const char *v = vs_result_value(r, &len);
        ck_assert_uint_eq(len, strlen(value));
        ck_assert_str_eq(v, value);
        vs_result_free(r);
}

START_TEST(test_tree_api) {
        vs_client *c = client_for(fa.address, 5000000);
        vs_result *r = NULL;

        ck_assert_int_eq(vs_create(c, "/a", "one", 3, 0, NULL), 0);
        ck_assert_int_eq(vs_create(c, "/a", "x", 1, 0, NULL), VS_ERR_NODE_EXISTS);
        get_expect(c, "/a", "one");

        /* Plain set, then compare-and-set against the version it produced. */
        ck_assert_int_eq(vs_set(c, "/a", "two", 3, VS_VERSION_ANY, &r), 0);
        struct vs_stat st;
        ck_assert_int_eq(vs_result_stat(r, &st), 0);
        ck_assert_uint_eq(st.version, 1);
        vs_result_free(r);
        ck_assert_int_eq(vs_set(c, "/a", "three", 5, 0, NULL), VS_ERR_BAD_VERSION);
        ck_assert_int_eq(vs_set(c, "/a", "three", 5, 1, NULL), 0);
        get_expect(c, "/a", "three");

        /* Sequential create reports the name it made. */
        ck_assert_int_eq(vs_create(c, "/a/q-", NULL, 0, VS_CREATE_SEQUENTIAL, &r), 0);
        ck_assert_str_eq(vs_result_path(r), "/a/q-0000000000");
        vs_result_free(r);
        ck_assert_int_eq(vs_create(c, "/a/b", "", 0, 0, NULL), 0);

        vs_op *op;
        ck_assert_int_eq(vs_op_list(&op, "/a", VS_LIST_STAT), 0);
        ck_assert_int_eq(vs_call(c, op, &r), 0);
        ck_assert_uint_eq(vs_result_children(r), 2);
        ck_assert_str_eq(vs_result_child_name(r, 0), "b");
        ck_assert_str_eq(vs_result_child_name(r, 1), "q-0000000000");
        ck_assert_int_eq(vs_result_child_stat(r, 1, &st), 0);
        ck_assert_int_eq(vs_result_child_stat(r, 2, &st), -ERANGE);
        vs_result_free(r);

        ck_assert_int_eq(vs_op_exists(&op, "/nope"), 0);
        ck_assert_int_eq(vs_call(c, op, NULL), VS_ERR_NO_NODE);

        /* A multi that fails at its second op changes nothing and says which op failed. */
        ck_assert_int_eq(vs_op_multi(&op), 0);
        ck_assert_int_eq(vs_op_multi_create(op, "/m", "v", 1, 0), 0);
        ck_assert_int_eq(vs_op_multi_check(op, "/a", 99), 0);
        ck_assert_uint_eq(vs_op_multi_count(op), 2);
        ck_assert_int_eq(vs_call(c, op, &r), VS_ERR_BAD_VERSION);
        ck_assert_uint_eq(vs_result_failed_op(r), 1);
        vs_result_free(r);
        ck_assert_int_eq(vs_get(c, "/m", NULL), VS_ERR_NO_NODE);

        ck_assert_int_eq(vs_op_multi(&op), 0);
        ck_assert_int_eq(vs_op_multi_create(op, "/m", "v", 1, 0), 0);
        ck_assert_int_eq(vs_op_multi_set(op, "/a", "four", 4, 2), 0);
        ck_assert_int_eq(vs_op_multi_delete(op, "/a/b", VS_VERSION_ANY, 0), 0);
        ck_assert_int_eq(vs_call(c, op, &r), 0);
        ck_assert_uint_eq(vs_result_op_results(r), 3);
        ck_assert_str_eq(vs_result_op_path(r, 0), "/m");
        ck_assert_int_eq(vs_result_op_stat(r, 1, &st), 0);
        ck_assert_uint_eq(st.version, 3);
        vs_result_free(r);

        ck_assert_int_eq(vs_delete(c, "/a", VS_VERSION_ANY, 0, NULL), VS_ERR_NOT_EMPTY);
        ck_assert_int_eq(vs_delete(c, "/a", 2, VS_DELETE_RECURSIVE, NULL), VS_ERR_BAD_VERSION);
        ck_assert_int_eq(vs_delete(c, "/a", 3, VS_DELETE_RECURSIVE, NULL), 0);
        ck_assert_int_eq(vs_get(c, "/a/q-0000000000", NULL), VS_ERR_NO_NODE);
        ck_assert_str_eq(vs_client_current_node(c), fa.address);

        /* One session served everything in turn: one registration, then numbers 1, 2, ... */
        fake_lock(&fa);
        ck_assert_uint_ge(fa.n_log, 2);
        ck_assert(fa.log[0].registration);
        for (size_t i = 1; i < fa.n_log; i++) {
                ck_assert_uint_eq(fa.log[i].client_id, fa.log[0].client_id);
                ck_assert_uint_eq(fa.log[i].request, i);
        }
        fake_unlock(&fa);
        vs_client_free(c);
}
END_TEST

START_TEST(test_bad_arguments) {
        vs_op *op;
        ck_assert_int_eq(vs_op_get(&op, NULL), -EINVAL);
        ck_assert_int_eq(vs_op_create(&op, "/a", NULL, 3, 0), -EINVAL);
        ck_assert_int_eq(vs_op_create(&op, "/a", NULL, 0, 1u << 7), -EINVAL);
        ck_assert_int_eq(vs_op_get(&op, "/a"), 0);
        ck_assert_int_eq(vs_op_multi_check(op, "/a", 0), -EINVAL); /* not a multi */
        vs_op_free(op);

        vs_client *c;
        ck_assert_int_eq(vs_client_new(&c, "t"), 0);
        ck_assert_int_eq(vs_client_add_node(c, "localhost:7501"), -EINVAL);
        ck_assert_int_eq(vs_client_add_node(c, "127.0.0.1"), -EINVAL);
        ck_assert_int_eq(vs_client_set_max_sessions(c, 0), -EINVAL);
        ck_assert_int_eq(vs_op_get(&op, "/a"), 0);
        ck_assert_int_eq(vs_submit(c, op, NULL, NULL), -EDESTADDRREQ); /* no node to ask */
        ck_assert_uint_eq(vs_client_outstanding(c), 0);
        vs_client_free(c);
}
END_TEST

struct expect {
        unsigned key;
        unsigned *done;
        unsigned *order;
};

static void on_get(vs_client *c, vs_result *r, void *userdata) {
        struct expect *e = userdata;
        char want[32];
        snprintf(want, sizeof want, "value-%u", e->key);
        ck_assert_int_eq(vs_result_error(r), 0);
        ck_assert_str_eq(vs_result_value(r, NULL), want);
        e->order[(*e->done)++] = e->key;
        vs_result_free(r);
}

START_TEST(test_pipelining_out_of_order) {
        enum { N = 32 };
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_set_max_sessions(c, N), 0);
        for (unsigned i = 0; i < N; i++) {
                char path[32], value[32];
                snprintf(path, sizeof path, "/k%u", i);
                int n = snprintf(value, sizeof value, "value-%u", i);
                ck_assert_int_eq(vs_create(c, path, value, (size_t) n, 0, NULL), 0);
        }

        /* The fake holds all N answers and sends them newest first. */
        fake_lock(&fa);
        fa.hold = N;
        size_t log_before = fa.n_log;
        fake_unlock(&fa);

        unsigned done = 0, order[N];
        struct expect e[N];
        for (unsigned i = 0; i < N; i++) {
                char path[32];
                snprintf(path, sizeof path, "/k%u", i);
                e[i] = (struct expect) { .key = i, .done = &done, .order = order };
                vs_op *op;
                ck_assert_int_eq(vs_op_get(&op, path), 0);
                ck_assert_int_eq(vs_submit(c, op, on_get, &e[i]), 0);
        }
        ck_assert_uint_eq(vs_client_outstanding(c), N);
        while (done < N)
                ck_assert_int_eq(vs_client_wait(c, UINT64_MAX), 0);
        ck_assert_uint_eq(vs_client_outstanding(c), 0);
        /* Completed in the order the answers came, each with its own value. */
        ck_assert_uint_eq(order[0], N - 1);
        ck_assert_uint_eq(order[N - 1], 0);

        /* All N were on the wire at once: N distinct sessions. */
        fake_lock(&fa);
        size_t gets = 0;
        for (size_t i = log_before; i < fa.n_log; i++) {
                if (fa.log[i].registration)
                        continue;
                gets++;
                for (size_t j = i + 1; j < fa.n_log; j++)
                        if (!fa.log[j].registration)
                                ck_assert_uint_ne(fa.log[i].client_id, fa.log[j].client_id);
        }
        ck_assert_uint_eq(gets, N);
        fake_unlock(&fa);
        vs_client_free(c);
}
END_TEST

START_TEST(test_redirect_followed) {
        fake_lock(&fa);
        strcpy(fa.redirect, fb.address);
        fake_unlock(&fa);

        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/r", "x", 1, 0, NULL), 0);
        ck_assert_str_eq(vs_client_current_node(c), fb.address);
        get_expect(c, "/r", "x");
        fake_lock(&fb);
        ck_assert_uint_eq(fb.executed, 2);
        fake_unlock(&fb);
        vs_client_free(c);
}
END_TEST

/* fa and fb each name the other as primary. */
static void redirect_each_other(void) {
        fake_lock(&fa);
        strcpy(fa.redirect, fb.address);
        fake_unlock(&fa);
        fake_lock(&fb);
        strcpy(fb.redirect, fa.address);
        fake_unlock(&fb);
}

START_TEST(test_redirect_loop_bounded) {
        redirect_each_other();

        vs_client *c = client_for(fa.address, 10000000);
        ck_assert_int_eq(vs_client_set_max_redirects(c, 4), 0);
        uint64_t t0 = now_usec();
        vs_result *r = NULL;
        ck_assert_int_eq(vs_get(c, "/x", &r), -ELOOP);
        ck_assert_str_eq(vs_strerror(vs_result_error(r)), "too many redirects between nodes");
        vs_result_free(r);
        /* Given up on the count, long before the deadline. */
        ck_assert_uint_lt(now_usec() - t0, 5000000);
        vs_client_free(c);
}
END_TEST

static void *end_view_change(void *arg) {
        struct fake *f = arg;
        usleep(400 * 1000);
        fake_lock(f);
        f->redirect[0] = '\0';
        fake_unlock(f);
        return NULL;
}

/* Two nodes naming each other as primary for a while, as during a view change: the client waits
 * between redirects instead of spending max_redirects (default 8) at once, and gets through. */
START_TEST(test_redirect_loop_waits) {
        redirect_each_other();
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, end_view_change, &fb), 0);

        vs_client *c = client_for(fa.address, 10000000);
        ck_assert_int_eq(vs_create(c, "/vc", "x", 1, 0, NULL), 0);
        ck_assert_str_eq(vs_client_current_node(c), fb.address);
        pthread_join(t, NULL);
        vs_client_free(c);
}
END_TEST

/* Since from, the fake saw n sends of one request: the same client id and number each time. */
static void assert_resent(struct fake *f, size_t from, size_t n) {
        fake_lock(f);
        ck_assert_uint_eq(f->n_log - from, n);
        for (size_t i = from; i < f->n_log; i++) {
                ck_assert_uint_eq(f->log[i].client_id, f->log[from].client_id);
                ck_assert_uint_eq(f->log[i].request, f->log[from].request);
        }
        fake_unlock(f);
}

/* The fake executes a set and then loses the answer: by closing the connection (_i == 0), or by
 * never answering on a connection that stays open (_i == 1), which the client gives up after the
 * resend interval. Either way the client asks again, on a new connection, with the same number,
 * and the answer comes from the fake's client table: the set ran once. */
START_TEST(test_lost_reply_resent_same_number) {
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/l", "0", 1, 0, NULL), 0);
        fake_lock(&fa);
        if (_i == 0)
                fa.drop = 1;
        else
                fa.mute = 1;
        size_t from = fa.n_log;
        fake_unlock(&fa);

        uint64_t t0 = now_usec();
        ck_assert_int_eq(vs_set(c, "/l", "1", 1, 0, NULL), 0); /* not BadVersion: ran once */
        if (_i == 1)
                ck_assert_uint_ge(now_usec() - t0, 1000000);
        assert_resent(&fa, from, 2);
        fake_lock(&fa);
        ck_assert_uint_eq(fa.executed, 2);
        ck_assert_uint_eq(fa.connections, 2);
        fake_unlock(&fa);
        vs_client_free(c);
}
END_TEST

START_TEST(test_unavailable_retried_same_number) {
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/u", "0", 1, 0, NULL), 0);
        fake_lock(&fa);
        fa.unavailable = 2;
        size_t from = fa.n_log;
        fake_unlock(&fa);
        ck_assert_int_eq(vs_set(c, "/u", "1", 1, 0, NULL), 0);
        assert_resent(&fa, from, 3);
        vs_client_free(c);
}
END_TEST

START_TEST(test_timeout) {
        fake_lock(&fa);
        fa.silent = true;
        fake_unlock(&fa);
        vs_client *c = client_for(fa.address, 300000);
        uint64_t t0 = now_usec();
        ck_assert_int_eq(vs_get(c, "/", NULL), -ETIMEDOUT);
        uint64_t took = now_usec() - t0;
        ck_assert_uint_ge(took, 300000);
        ck_assert_uint_lt(took, 2000000);

        /* A request's own timeout wins over the client's. */
        ck_assert_int_eq(vs_client_set_timeout(c, 60000000), 0);
        vs_op *op;
        ck_assert_int_eq(vs_op_get(&op, "/"), 0);
        ck_assert_int_eq(vs_op_set_timeout(op, 0), -EINVAL);
        ck_assert_int_eq(vs_op_set_timeout(op, 200000), 0);
        t0 = now_usec();
        ck_assert_int_eq(vs_call(c, op, NULL), -ETIMEDOUT);
        took = now_usec() - t0;
        ck_assert_uint_ge(took, 200000);
        ck_assert_uint_lt(took, 2000000);
        vs_client_free(c);
}
END_TEST

/* A loopback port that was just free: nothing listens there. */
static void dead_address(char address[64]) {
        struct fake gone;
        ck_assert_int_eq(fake_start(&gone, 0), 0);
        strcpy(address, gone.address);
        fake_stop(&gone);
}

START_TEST(test_connect_refused) {
        char address[64];
        dead_address(address);
        vs_client *c = client_for(address, 300000);
        ck_assert_int_eq(vs_get(c, "/", NULL), -ECONNREFUSED);
        vs_client_free(c);

        /* With connect rounds, long before the deadline. */
        c = client_for(address, 30000000);
        ck_assert_int_eq(vs_client_set_connect_rounds(c, 2), 0);
        uint64_t t0 = now_usec();
        ck_assert_int_eq(vs_get(c, "/", NULL), -ECONNREFUSED);
        ck_assert_uint_lt(now_usec() - t0, 3000000);
        vs_client_free(c);
}
END_TEST

START_TEST(test_session_expired) {
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/s", "0", 1, 0, NULL), 0);
        fake_lock(&fa);
        fa.expire = 1;
        uint64_t old_id = fa.log[0].client_id;
        fake_unlock(&fa);

        vs_result *r = NULL;
        ck_assert_int_eq(vs_set(c, "/s", "1", 1, VS_VERSION_ANY, &r), -ESTALE);
        ck_assert_str_eq(vs_result_message(r), "session evicted");
        vs_result_free(r);
        get_expect(c, "/s", "0"); /* the failed set did not run */

        /* The next request went out under a new, freshly registered id. */
        fake_lock(&fa);
        const struct fake_entry *last = &fa.log[fa.n_log - 1], *reg = &fa.log[fa.n_log - 2];
        ck_assert(reg->registration);
        ck_assert_uint_ne(reg->client_id, old_id);
        ck_assert_uint_eq(last->client_id, reg->client_id);
        ck_assert_uint_eq(last->request, 1);
        fake_unlock(&fa);
        vs_client_free(c);
}
END_TEST

START_TEST(test_bad_replies) {
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/g", "0", 1, 0, NULL), 0);

        /* Replies for other numbers and other ids are ignored; the right one still counts. */
        fake_lock(&fa);
        fa.wrong = 3;
        fake_unlock(&fa);
        for (int i = 0; i < 3; i++)
                get_expect(c, "/g", "0");

        /* A node's Pings are answered and cost nothing. */
        fake_lock(&fa);
        fa.ping = 2;
        fake_unlock(&fa);
        get_expect(c, "/g", "0");
        get_expect(c, "/g", "0");
        fake_lock(&fa);
        ck_assert_uint_eq(fa.connections, 1);
        fake_unlock(&fa);
        for (int i = 0; i < 100; i++) {
                fake_lock(&fa);
                unsigned pongs = fa.pongs;
                fake_unlock(&fa);
                if (pongs == 2)
                        break;
                ck_assert_int_lt(i, 99);
                ck_assert_int_eq(vs_client_wait(c, 10000), 0);
        }

        /* Garbage makes the client give up that connection and retry on a new one. */
        fake_lock(&fa);
        fa.garbage = 1;
        unsigned conns = fa.connections;
        fake_unlock(&fa);
        ck_assert_int_eq(vs_set(c, "/g", "1", 1, 0, NULL), 0);
        get_expect(c, "/g", "1");
        fake_lock(&fa);
        ck_assert_uint_eq(fa.connections, conns + 1);
        fake_unlock(&fa);
        vs_client_free(c);
}
END_TEST

START_TEST(test_no_tenant) {
        /* A node without the tenant sends the client on to the next one. */
        fake_lock(&fa);
        fa.no_tenant = true;
        fake_unlock(&fa);
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_add_node(c, fb.address), 0);
        ck_assert_int_eq(vs_create(c, "/t", "", 0, 0, NULL), 0);
        ck_assert_str_eq(vs_client_current_node(c), fb.address);
        vs_client_free(c);

        /* Once every node said so, requests fail at once instead of at their deadline. */
        fake_lock(&fb);
        fb.no_tenant = true;
        fake_unlock(&fb);
        c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_add_node(c, fb.address), 0);
        ck_assert_int_eq(vs_get(c, "/", NULL), -ENXIO);
        vs_client_free(c);
}
END_TEST

START_TEST(test_second_node_when_first_is_down) {
        char address[64];
        dead_address(address);
        vs_client *c = client_for(address, 5000000);
        ck_assert_int_eq(vs_client_add_node(c, fb.address), 0);
        ck_assert_int_eq(vs_create(c, "/n", "", 0, 0, NULL), 0);
        ck_assert_str_eq(vs_client_current_node(c), fb.address);
        vs_client_free(c);
}
END_TEST

static void on_count(vs_client *c, vs_result *r, void *userdata) {
        ck_assert_int_eq(vs_result_error(r), 0);
        ++*(unsigned *) userdata;
        vs_result_free(r);
}

START_TEST(test_poll_driven_and_session_limit) {
        /* The application's own poll loop on the client's descriptor, with 2 sessions for 20
         * requests: they queue and reuse the two. */
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_set_max_sessions(c, 2), 0);
        unsigned done = 0;
        for (int i = 0; i < 20; i++) {
                char path[16];
                snprintf(path, sizeof path, "/p%d", i);
                vs_op *op;
                ck_assert_int_eq(vs_op_create(&op, path, NULL, 0, 0), 0);
                ck_assert_int_eq(vs_submit(c, op, on_count, &done), 0);
        }
        int fd = vs_client_get_fd(c);
        ck_assert_int_ge(fd, 0);
        while (done < 20) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 5000), 1);
                ck_assert_int_eq(vs_client_process(c), 0);
                ck_assert_int_eq(vs_client_get_fd(c), fd);
        }
        fake_lock(&fa);
        size_t ids = 0;
        for (size_t i = 0; i < fa.n_log; i++)
                ids += fa.log[i].registration;
        ck_assert_uint_eq(ids, 2);
        ck_assert_uint_eq(fa.executed, 20);
        fake_unlock(&fa);

        /* Nothing to do: waiting returns after its time. */
        ck_assert_int_eq(vs_client_wait(c, 10000), 0);
        ck_assert_uint_eq(vs_client_outstanding(c), 0);
        vs_client_free(c);
}
END_TEST

static void on_cancel(vs_client *c, vs_result *r, void *userdata) {
        *(int *) userdata = vs_result_error(r);
        vs_result_free(r);
}

START_TEST(test_free_cancels) {
        fake_lock(&fa);
        fa.silent = true;
        fake_unlock(&fa);
        vs_client *c = client_for(fa.address, 5000000);
        int error = 1;
        vs_op *op;
        ck_assert_int_eq(vs_op_get(&op, "/"), 0);
        ck_assert_int_eq(vs_submit(c, op, on_cancel, &error), 0);
        ck_assert_int_eq(error, 1); /* callbacks never run inside submit */
        vs_client_free(c);
        ck_assert_int_eq(error, -ECANCELED);
}
END_TEST

static void on_event_done(vs_client *c, vs_result *r, void *userdata) {
        ck_assert_int_eq(vs_result_error(r), 0);
        vs_result_free(r);
        ck_assert_int_eq(sd_event_exit(userdata, 0), 0);
}

START_TEST(test_sd_event) {
        sd_event *e;
        ck_assert_int_eq(sd_event_new(&e), 0);
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_attach_event(c, e, 0), 0);
        vs_op *op;
        ck_assert_int_eq(vs_op_create(&op, "/ev", "1", 1, 0), 0);
        ck_assert_int_eq(vs_submit(c, op, on_event_done, e), 0);
        ck_assert_int_eq(sd_event_loop(e), 0);
        vs_client_free(c);
        sd_event_unref(e);
}
END_TEST

START_TEST(test_access_token) {
        fake_lock(&fa);
        snprintf(fa.token, sizeof fa.token, "secret");
        fake_unlock(&fa);

        /* Without a token: refused with the node's reason, nothing ran. */
        vs_client *c = client_for(fa.address, 5000000);
        vs_result *r = NULL;
        ck_assert_int_eq(vs_create(c, "/t", "0", 1, 0, &r), -EACCES);
        ck_assert_str_eq(vs_result_message(r), "wrong token");
        vs_result_free(r);
        ck_assert_int_eq(vs_client_set_token(c, "wrong", 5), 0);
        ck_assert_int_eq(vs_create(c, "/t", "0", 1, 0, NULL), -EACCES);

        /* The right token, set on the connected client: presented at once on that connection. */
        fake_lock(&fa);
        unsigned connections = fa.connections, auths = fa.auths;
        fake_unlock(&fa);
        ck_assert_int_eq(vs_client_set_token(c, "secret", 6), 0);
        ck_assert_int_eq(vs_create(c, "/t", "0", 1, 0, NULL), 0);
        fake_lock(&fa);
        ck_assert_uint_eq(fa.connections, connections);
        ck_assert_uint_eq(fa.auths, auths + 1);
        ck_assert_uint_eq(fa.executed, 1);
        fake_unlock(&fa);
        vs_client_free(c);

        /* Set before connecting: presented first thing on the new connection. */
        c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_client_set_token(c, "secret", 6), 0);
        get_expect(c, "/t", "0");
        /* Forgetting it: refused again. */
        ck_assert_int_eq(vs_client_set_token(c, NULL, 0), 0);
        vs_client_free(c);
        c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_get(c, "/t", NULL), -EACCES);

        static char big[VS_TOKEN_MAX + 1];
        ck_assert_int_eq(vs_client_set_token(c, big, sizeof big), -EINVAL);
        ck_assert_int_eq(vs_client_set_token(c, NULL, 1), -EINVAL);
        ck_assert_int_eq(vs_client_set_token(NULL, "x", 1), -EINVAL);
        vs_client_free(c);
}
END_TEST

START_TEST(test_limit) {
        vs_client *c = client_for(fa.address, 5000000);
        ck_assert_int_eq(vs_create(c, "/l", "0", 1, 0, NULL), 0);
        fake_lock(&fa);
        fa.limit = 1;
        fake_unlock(&fa);
        vs_result *r = NULL;
        ck_assert_int_eq(vs_set(c, "/l", "1", 1, VS_VERSION_ANY, &r), -EUSERS);
        ck_assert_str_eq(vs_result_message(r), "too many requests");
        vs_result_free(r);
        get_expect(c, "/l", "0"); /* not run, and the client goes on */
        vs_client_free(c);
}
END_TEST

START_TEST(test_strerror) {
        ck_assert_str_eq(vs_strerror(0), "success");
        ck_assert_str_eq(vs_strerror(VS_ERR_NO_NODE), "no such node");
        ck_assert_str_eq(vs_error_name(VS_ERR_BAD_VERSION), "BadVersion");
        ck_assert_ptr_null(vs_error_name(0));
        ck_assert_ptr_null(vs_error_name(-ETIMEDOUT));
        ck_assert_str_eq(vs_strerror(-ESTALE), "session expired; the request did not take effect");
        ck_assert_str_eq(vs_strerror(-ECONNREFUSED), "Connection refused");
        ck_assert_str_eq(vs_strerror(-EACCES), "the tenant requires an access token, and the one given is missing or wrong");
        ck_assert_str_eq(vs_strerror(-EUSERS), "over a limit of the server; the request did not take effect");
        ck_assert_ptr_nonnull(vs_strerror(12345));
        ck_assert_ptr_nonnull(vs_strerror(-12345));
}
END_TEST

static Suite *client_suite(void) {
        Suite *s = suite_create("client");
        TCase *tc = tcase_create("client");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_tree_api);
        tcase_add_test(tc, test_bad_arguments);
        tcase_add_test(tc, test_pipelining_out_of_order);
        tcase_add_test(tc, test_redirect_followed);
        tcase_add_test(tc, test_redirect_loop_bounded);
        tcase_add_test(tc, test_redirect_loop_waits);
        tcase_add_loop_test(tc, test_lost_reply_resent_same_number, 0, 2);
        tcase_add_test(tc, test_unavailable_retried_same_number);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_connect_refused);
        tcase_add_test(tc, test_session_expired);
        tcase_add_test(tc, test_bad_replies);
        tcase_add_test(tc, test_no_tenant);
        tcase_add_test(tc, test_second_node_when_first_is_down);
        tcase_add_test(tc, test_poll_driven_and_session_limit);
        tcase_add_test(tc, test_free_cancels);
        tcase_add_test(tc, test_sd_event);
        tcase_add_test(tc, test_access_token);
        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_strerror);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(client_suite());
}
