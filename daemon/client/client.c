/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The request life cycle: sessions, the one connection, sending, replies, retries and timeouts.
 * Nothing here runs a callback except client_run_callbacks().
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>

#include "client/client.h"
#include "client/op.h"
#include "client/result.h"
#include "util/cleanup.h"
#include "wire/envelope.h"

/* A sent request with no reply this long is resent (or its silent connection given up). */
#define RESEND_USEC (1000u * 1000u)
/* Backoff (with jitter, so clients do not return in lockstep) for "come back later" answers and
 * for rounds of failed connects. */
#define BACKOFF_MIN_USEC (20u * 1000u)
#define BACKOFF_MAX_USEC (1000u * 1000u)
/* "No primary here" answers in a row before trying another node: it may be cut off. */
#define UNAVAILABLE_SWITCH 3
#define DEFAULT_TIMEOUT_USEC (10u * 1000u * 1000u)

uint64_t client_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void list_append(struct request_list *l, struct request *r) {
        r->next = NULL;
        r->prev = l->tail;
        if (l->tail)
                l->tail->next = r;
        else
                l->head = r;
        l->tail = r;
        l->n++;
}

static void list_remove(struct request_list *l, struct request *r) {
        if (r->prev)
                r->prev->next = r->next;
        else
                l->head = r->next;
        if (r->next)
                r->next->prev = r->prev;
        else
                l->tail = r->prev;
        r->prev = r->next = NULL;
        l->n--;
}

static void request_free(struct request *r) {
        if (!r)
                return;
        free(r->command);
        vs_result_free(r->result);
        free(r);
}

/* --- Sessions --- */

static void session_drop(struct vs_client *c, struct session *s) {
        session_table_remove(&c->sessions, s);
        free(s);
}

static void session_release(struct vs_client *c, struct session *s) {
        s->req = NULL;
        if (c->sessions.n > c->max_sessions) {
                session_drop(c, s);
                return;
        }
        s->next_idle = c->idle;
        c->idle = s;
}

static int session_start(struct vs_client *c) {
        _cleanup_free_ struct session *s = calloc(1, sizeof *s);
        _cleanup_free_ struct request *r = calloc(1, sizeof *r);
        if (!s || !r)
                return -ENOMEM;
        int k;
        do {
                if (getrandom(&s->id, sizeof s->id, 0) != sizeof s->id)
                        return -errno;
        } while (s->id == 0 || (k = session_table_add(&c->sessions, s)) == -EEXIST);
        if (k < 0)
                return k;

        r->registration = true;
        r->session = s;
        r->deadline = client_now() + c->timeout_usec;
        s->req = TAKE_PTR(r);
        list_append(&c->inflight, s->req);
        c->n_registering++;
        TAKE_PTR(s);
        return 0;
}

/* Gives pending requests idle sessions, and registers sessions for the ones left waiting. */
static void dispatch(struct vs_client *c) {
        while (c->pending.head && c->idle) {
                struct request *r = c->pending.head;
                struct session *s = c->idle;
                c->idle = s->next_idle;
                list_remove(&c->pending, r);
                s->number++;
                s->req = r;
                r->session = s;
                r->sent = false;
                r->at = 0;
                list_append(&c->inflight, r);
        }
        while (c->pending.n > c->n_registering && c->sessions.n < c->max_sessions)
                if (session_start(c) < 0)
                        break; /* out of memory: the waiting requests time out */
}

/* --- Completion --- */

static void complete(struct vs_client *c, struct request *r, struct vs_result *result) {
        struct session *s = r->session;
        if (s) {
                list_remove(&c->inflight, r);
                r->session = NULL;
                if (r->registration)
                        c->n_registering--;
                /* A request that timed out may still run on the server; its session stays
                 * usable because the next request carries a larger number. */
                if (s->registered)
                        session_release(c, s);
                else
                        session_drop(c, s);
        } else
                list_remove(&c->pending, r);

        if (r->registration) {
                vs_result_free(result);
                request_free(r);
                return;
        }
        r->result = result;
        list_append(&c->done, r);
}

/* Without memory for the result, the callback gets one made later or, failing that, NULL. */
static void complete_error(struct vs_client *c, struct request *r, int error, const char *message) {
        complete(c, r, result_new_error(error, message));
}

/* Fails r; if r registers a session, the requests waiting for one would meet the same fate, so
 * they fail with it. */
static void fail_and_dependents(struct vs_client *c, struct request *r, int error, const char *message) {
        bool registration = r->registration;
        complete_error(c, r, error, message);
        if (registration)
                while (c->pending.head)
                        complete_error(c, c->pending.head, error, message);
}

void client_fail_all(struct vs_client *c, int error, const char *message) {
        while (c->inflight.head)
                complete_error(c, c->inflight.head, error, message);
        while (c->pending.head)
                complete_error(c, c->pending.head, error, message);
}

void client_run_callbacks(struct vs_client *c) {
        struct request *r;
        c->callback_depth++;
        while ((r = c->done.head)) {
                list_remove(&c->done, r);
                struct vs_result *res = TAKE_PTR(r->result);
                if (!res)
                        res = result_new_error(-ENOMEM, NULL);
                vs_callback cb = r->callback;
                void *ud = r->userdata;
                request_free(r);
                if (cb)
                        cb(c, res, ud);
                else
                        vs_result_free(res);
        }
        c->callback_depth--;
}

/* --- The connection --- */

/* Completes the requests no node has seen: they did not run. */
static void fail_undelivered(struct vs_client *c, int error) {
        for (struct request *r = c->inflight.head, *next; r; r = next) {
                next = r->next;
                if (!r->delivered)
                        complete_error(c, r, error, NULL);
        }
        while (c->pending.head)
                complete_error(c, c->pending.head, error, NULL);
}

static void connection_lost(struct vs_client *c, int error) {
        bool was_connected = c->conn.connected;
        event_forget_conn(c);
        conn_close(&c->conn);
        c->unavailable = 0;
        for (struct request *r = c->inflight.head; r; r = r->next)
                if (r->sent) {
                        r->sent = false;
                        r->at = 0;
                }

        uint64_t now = client_now();
        if (was_connected) {
                /* Dropped after working: another node may already be primary; go at once. */
                c->failed_connects = 0;
                c->reconnect_at = now;
                return;
        }
        c->last_connect_error = error;
        c->failed_connects++;
        size_t round = c->n_nodes ? c->n_nodes : 1;
        if (c->failed_connects % round != 0) {
                c->reconnect_at = now;
                return;
        }
        /* After a whole round of refusals, slow down instead of spinning over the list. */
        c->reconnect_at = now + vs_backoff_next(&c->connect_backoff);
        if (c->connect_rounds > 0 && c->failed_connects / round >= c->connect_rounds) {
                c->failed_connects = 0;
                fail_undelivered(c, error);
        }
}

static int queue_envelope(struct vs_client *c, const Viewstamp__Envelope *body);

static int send_token(struct vs_client *c) {
        if (!c->token || c->conn.fd < 0)
                return 0;
        Viewstamp__ClientAuth auth = VIEWSTAMP__CLIENT_AUTH__INIT;
        auth.token = (ProtobufCBinaryData) { .len = c->token_len, .data = c->token };
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_AUTH;
        env.client_auth = &auth;
        return queue_envelope(c, &env);
}

static void connect_next(struct vs_client *c) {
        while (c->conn.fd < 0) {
                const struct vs_address *a;
                if (c->have_redirect) {
                        a = &c->redirect;
                        c->have_redirect = false;
                } else if (c->n_nodes > 0) {
                        a = &c->nodes[c->next_node];
                        c->next_node = (c->next_node + 1) % c->n_nodes;
                } else
                        return;

                int r = conn_open(&c->conn, a, VS_FRAME_MAX_DEFAULT, c->tls, c->tls_server_name);
                if (r < 0) {
                        connection_lost(c, r);
                        if (c->reconnect_at > client_now())
                                return;
                        continue;
                }
                c->last_rx = client_now();
                c->unavailable = 0;
                /* Ahead of every request, so the node knows the token before it is asked. */
                r = send_token(c);
                if (r < 0)
                        connection_lost(c, r);
        }
}

/* Packs body (an envelope without header) as a frame straight into the connection's output. */
static int queue_envelope(struct vs_client *c, const Viewstamp__Envelope *body) {
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        h.tenant = c->tenant;
        Viewstamp__Envelope env = *body;
        env.header = &h;

        size_t n = viewstamp__envelope__get_packed_size(&env);
        uint8_t hdr[VS_FRAME_HEADER_SIZE];
        int k = vs_frame_header(hdr, n, VS_FRAME_MAX_DEFAULT);
        if (k < 0)
                return k;
        uint8_t *p = conn_reserve(&c->conn, VS_FRAME_HEADER_SIZE + n);
        if (!p)
                return -ENOMEM;
        memcpy(p, hdr, VS_FRAME_HEADER_SIZE);
        viewstamp__envelope__pack(&env, p + VS_FRAME_HEADER_SIZE);
        conn_commit(&c->conn, VS_FRAME_HEADER_SIZE + n);
        return 0;
}

static int send_request(struct vs_client *c, struct request *r, uint64_t now) {
        Viewstamp__ClientRequest req = VIEWSTAMP__CLIENT_REQUEST__INIT;
        req.client_id = r->session->id;
        req.request = r->session->number;
        req.command = (ProtobufCBinaryData) { .len = r->len, .data = r->command };
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST;
        env.client_request = &req;
        int k = queue_envelope(c, &env);
        if (k < 0)
                return k;

        r->sent = r->delivered = true;
        r->sent_at = now;
        r->at = now + RESEND_USEC;
        return 0;
}

static void send_due(struct vs_client *c, uint64_t now) {
        if (!c->conn.connected)
                return;
        for (struct request *r = c->inflight.head, *next; r; r = next) {
                next = r->next;
                if (r->sent || r->at > now)
                        continue;
                int k = send_request(c, r, now);
                if (k == -EMSGSIZE)
                        complete_error(c, r, -EMSGSIZE, "request larger than a frame may be");
                else if (k < 0)
                        break; /* out of memory for the buffer: retried at the next kick */
        }
        int k = conn_flush(&c->conn);
        if (k < 0)
                connection_lost(c, k);
}

/* --- Timer --- */

static uint64_t next_timer(const struct vs_client *c) {
        /* Completed without a callback yet (a connect gave up inside a submit): wake at once. */
        if (c->done.n > 0)
                return 0;
        uint64_t t = UINT64_MAX;
        for (const struct request *r = c->pending.head; r; r = r->next)
                t = r->deadline < t ? r->deadline : t;
        for (const struct request *r = c->inflight.head; r; r = r->next) {
                t = r->deadline < t ? r->deadline : t;
                /* An unsent request waits for its hold or for a connection. */
                if ((r->sent || c->conn.connected) && r->at > 0)
                        t = r->at < t ? r->at : t;
        }
        if (c->inflight.n > 0 && c->conn.fd < 0)
                t = c->reconnect_at < t ? c->reconnect_at : t;
        return t;
}

void client_kick(struct vs_client *c) {
        dispatch(c);
        uint64_t now = client_now();
        if (c->inflight.n > 0 && c->conn.fd < 0 && c->reconnect_at <= now)
                connect_next(c);
        send_due(c, now);
        event_update_conn(c);
        event_arm_timer(c, next_timer(c));
}

static int timeout_error(const struct vs_client *c, const struct request *r) {
        if (!r->delivered && c->last_connect_error < 0)
                return c->last_connect_error;
        return -ETIMEDOUT;
}

void client_run_timers(struct vs_client *c) {
        uint64_t now = client_now();
        bool stalled = false;

        for (struct request *r = c->pending.head, *next; r; r = next) {
                next = r->next;
                if (r->deadline <= now)
                        complete_error(c, r, timeout_error(c, r), NULL);
        }
        for (struct request *r = c->inflight.head, *next; r; r = next) {
                next = r->next;
                if (r->deadline <= now) {
                        complete_error(c, r, timeout_error(c, r), NULL);
                        continue;
                }
                if (!r->sent || r->at > now)
                        continue;
                /* Nothing at all came back since this was sent: the connection (or the node
                 * behind it) is dead without having said so. */
                if (c->last_rx <= r->sent_at)
                        stalled = true;
                else
                        r->sent = false;
        }
        if (stalled && c->conn.fd >= 0)
                connection_lost(c, -ETIMEDOUT);
}

/* --- Replies --- */

static void follow_redirect(struct vs_client *c, struct request *r, const char *primary) {
        struct vs_address a;
        if (vs_address_parse(primary, &a) < 0 || vs_address_equal(&a, &c->conn.addr)) {
                /* Names no usable primary (or this very node): as good as "none yet". */
                r->sent = false;
                r->at = client_now() + vs_backoff_next(&c->retry_backoff);
                return;
        }
        /* Every request sent here was turned away, or will be: count it for all of them. */
        bool again = false;
        for (struct request *q = c->inflight.head, *next; q; q = next) {
                next = q->next;
                if (!q->sent)
                        continue;
                again = again || q->redirects > 0;
                if (++q->redirects > c->max_redirects)
                        fail_and_dependents(c, q, -ELOOP, NULL);
        }
        c->redirect = a;
        c->have_redirect = true;
        connection_lost(c, 0);
        /* Sent on again: nodes naming each other as primary are in the middle of a view change.
         * Following at once would spend max_redirects in milliseconds; waiting a growing while
         * lets the view change finish first. */
        if (again)
                c->reconnect_at = client_now() + vs_backoff_next(&c->retry_backoff);
}

static void switch_node(struct vs_client *c) {
        connection_lost(c, 0);
        c->have_redirect = false;
}

/* Notes that the connected node does not host the tenant; true once every node said so. */
static bool no_node_hosts_tenant(struct vs_client *c) {
        bool all = true;
        for (size_t i = 0; i < c->n_nodes; i++) {
                if (vs_address_equal(&c->nodes[i], &c->conn.addr))
                        c->no_tenant[i] = true;
                all = all && c->no_tenant[i];
        }
        return all;
}

static void handle_reply(struct vs_client *c, const Viewstamp__ClientReply *m) {
        struct session *s = session_table_find(&c->sessions, m->client_id);
        /* A late reply to an earlier number, or one for nobody: the request it answers is gone. */
        if (!s || !s->req || s->number != m->request)
                return;
        struct request *r = s->req;
        const char *msg = m->message && *m->message ? m->message : NULL;

        switch (m->status) {
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_OK: {
                c->unavailable = 0;
                vs_backoff_reset(&c->retry_backoff);
                memset(c->no_tenant, 0, c->n_nodes * sizeof *c->no_tenant);
                if (r->registration) {
                        s->registered = true;
                        complete(c, r, NULL);
                        return;
                }
                struct vs_result *res = NULL;
                int k = result_new_reply(m->reply.data, m->reply.len, &res);
                if (k < 0)
                        complete_error(c, r, k == -EBADMSG ? -EBADMSG : k,
                                       "the server's reply did not decode; the request may have taken effect");
                else
                        complete(c, r, res);
                return;
        }
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT:
                follow_redirect(c, r, m->primary ? m->primary : "");
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_SESSION_EXPIRED:
                if (r->registration) {
                        /* Cannot happen to a fresh id; start over with another one. */
                        complete_error(c, r, -ESTALE, msg);
                        return;
                }
                /* The request did not run, and the session is useless from now on. */
                s->registered = false;
                complete_error(c, r, -ESTALE, msg);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_NO_TENANT:
                if (no_node_hosts_tenant(c)) {
                        memset(c->no_tenant, 0, c->n_nodes * sizeof *c->no_tenant);
                        client_fail_all(c, -ENXIO, msg);
                }
                switch_node(c);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAUTHORIZED:
                fail_and_dependents(c, r, -EACCES, msg);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_LIMIT:
                fail_and_dependents(c, r, -EUSERS, msg);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAVAILABLE:
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_BUSY:
                r->sent = false;
                r->at = client_now() + vs_backoff_next(&c->retry_backoff);
                if (m->status == VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAVAILABLE &&
                    ++c->unavailable >= UNAVAILABLE_SWITCH)
                        switch_node(c);
                return;
        default:
                complete_error(c, r, -EPROTO, msg);
                return;
        }
}

/* Returns false when the connection went away while handling it. */
static bool handle_frame(struct vs_client *c, const uint8_t *body, size_t len) {
        _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
        int fd = c->conn.fd;
        if (vs_envelope_decode(body, len, &e) < 0)
                e = NULL;
        switch (e ? e->body_case : VIEWSTAMP__ENVELOPE__BODY__NOT_SET) {
        case VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY:
                c->last_rx = client_now();
                handle_reply(c, e->client_reply);
                break;
        case VIEWSTAMP__ENVELOPE__BODY_PING: {
                /* A node may probe an idle client connection: answer, so it stays. */
                Viewstamp__Pong pong = VIEWSTAMP__PONG__INIT;
                pong.nonce = e->ping->nonce;
                Viewstamp__Envelope reply = VIEWSTAMP__ENVELOPE__INIT;
                reply.body_case = VIEWSTAMP__ENVELOPE__BODY_PONG;
                reply.pong = &pong;
                c->last_rx = client_now();
                (void) queue_envelope(c, &reply); /* out of memory: the node will ask again */
                break;
        }
        case VIEWSTAMP__ENVELOPE__BODY_PONG:
                c->last_rx = client_now();
                break;
        default:
                /* Not our protocol: this node cannot be trusted to serve us. */
                switch_node(c);
                return false;
        }
        return c->conn.fd == fd && c->conn.fd >= 0;
}

static void read_frames(struct vs_client *c) {
        for (;;) {
                int k = conn_fill(&c->conn);
                if (k == -EAGAIN)
                        return;
                if (k <= 0) {
                        connection_lost(c, k == 0 ? -ECONNRESET : k);
                        return;
                }
                const uint8_t *body;
                size_t len;
                while ((k = vs_frame_reader_next(&c->conn.reader, &body, &len)) == 1)
                        if (!handle_frame(c, body, len))
                                return;
                if (k < 0) {
                        switch_node(c);
                        return;
                }
        }
}

void client_socket_event(struct vs_client *c, uint32_t events) {
        if (c->conn.fd < 0)
                return;
        if (!c->conn.connected) {
                int k = conn_finish_connect(&c->conn);
                if (k == -EAGAIN)
                        return; /* the TLS handshake goes on */
                if (k < 0) {
                        connection_lost(c, k);
                        return;
                }
                c->failed_connects = 0;
                c->last_connect_error = 0;
                vs_backoff_reset(&c->connect_backoff);
                c->last_rx = client_now();
        }
        if (events & ~(uint32_t) EPOLLOUT)
                read_frames(c);
        if (c->conn.fd >= 0 && conn_flush(&c->conn) < 0)
                connection_lost(c, -EPIPE);
}

/* --- Public --- */

int vs_client_new(struct vs_client **ret, const char *tenant) {
        if (!ret || !tenant)
                return -EINVAL;
        struct vs_client *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        conn_init(&c->conn);
        c->timeout_usec = DEFAULT_TIMEOUT_USEC;
        c->max_redirects = 8;
        c->max_sessions = 64;
        c->epoll_fd = c->timer_fd = -1;
        c->timer_at = UINT64_MAX;
        uint64_t seed[2];
        if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
                seed[0] = seed[1] = client_now() ^ (uintptr_t) c;
        vs_backoff_init(&c->connect_backoff, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC, seed[0]);
        vs_backoff_init(&c->retry_backoff, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC, seed[1]);
        c->tenant = strdup(tenant);
        int r = c->tenant ? event_init(c) : -ENOMEM;
        if (r < 0) {
                vs_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void vs_client_free(struct vs_client *c) {
        if (!c)
                return;
        c->closing = true;
        client_fail_all(c, -ECANCELED, NULL);
        client_run_callbacks(c);
        event_forget_conn(c);
        conn_close(&c->conn);
        free(c->conn.out);
        vs_tls_creds_free(c->tls);
        free(c->tls_server_name);
        session_table_done(&c->sessions);
        event_done(c);
        free(c->nodes);
        free(c->no_tenant);
        free(c->tenant);
        if (c->token)
                explicit_bzero(c->token, c->token_len);
        free(c->token);
        free(c);
}

int vs_client_set_token(struct vs_client *c, const void *token, size_t len) {
        if (!c || (len > 0 && !token) || len > VS_TOKEN_MAX)
                return -EINVAL;
        uint8_t *t = NULL;
        if (len > 0) {
                t = malloc(len);
                if (!t)
                        return -ENOMEM;
                memcpy(t, token, len);
        }
        if (c->token)
                explicit_bzero(c->token, c->token_len);
        free(c->token);
        c->token = t;
        c->token_len = len;
        /* The connection in use learns it now; a new one presents it first thing. */
        int r = send_token(c);
        if (r < 0)
                connection_lost(c, r);
        else if (c->callback_depth == 0)
                client_kick(c);
        return 0;
}

int vs_client_add_node(struct vs_client *c, const char *address) {
        struct vs_address a;
        if (!c || !address || vs_address_parse(address, &a) < 0)
                return -EINVAL;
        struct vs_address *v = reallocarray(c->nodes, c->n_nodes + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        c->nodes = v;
        bool *t = reallocarray(c->no_tenant, c->n_nodes + 1, sizeof *t);
        if (!t)
                return -ENOMEM;
        c->no_tenant = t;
        t[c->n_nodes] = false;
        v[c->n_nodes++] = a;
        return 0;
}

int vs_client_set_timeout(struct vs_client *c, uint64_t usec) {
        if (!c || usec == 0)
                return -EINVAL;
        c->timeout_usec = usec;
        return 0;
}

int vs_client_set_max_redirects(struct vs_client *c, unsigned n) {
        if (!c)
                return -EINVAL;
        c->max_redirects = n;
        return 0;
}

int vs_client_set_connect_rounds(struct vs_client *c, unsigned rounds) {
        if (!c)
                return -EINVAL;
        c->connect_rounds = rounds;
        return 0;
}

int vs_client_set_max_sessions(struct vs_client *c, unsigned n) {
        if (!c || n == 0 || n > 65536)
                return -EINVAL;
        c->max_sessions = n;
        while (c->sessions.n > n && c->idle) {
                struct session *s = c->idle;
                c->idle = s->next_idle;
                session_drop(c, s);
        }
        return 0;
}

int vs_client_set_tls(struct vs_client *c, const char *ca_file, const char *server_name) {
        if (!c || !ca_file || c->conn.fd >= 0)
                return -EINVAL;
        char err[4200];
        struct vs_tls_creds *creds;
        int r = vs_tls_creds_load_ca(ca_file, &creds, err, sizeof err);
        if (r < 0)
                return r;
        char *name = NULL;
        if (server_name && !(name = strdup(server_name))) {
                vs_tls_creds_free(creds);
                return -ENOMEM;
        }
        vs_tls_creds_free(c->tls);
        free(c->tls_server_name);
        c->tls = creds;
        c->tls_server_name = name;
        return 0;
}

const char *vs_client_current_node(struct vs_client *c) {
        return c && c->conn.connected ? c->conn.name : "";
}

size_t vs_client_outstanding(const struct vs_client *c) {
        if (!c)
                return 0;
        size_t n = c->pending.n + c->done.n;
        for (const struct request *r = c->inflight.head; r; r = r->next)
                n += !r->registration;
        return n;
}

static int submit(struct vs_client *c, const struct vs_op *op, vs_callback callback, void *userdata) {
        if (!c || !op || op->kind == OP_CHECK || c->closing)
                return -EINVAL;
        if (c->n_nodes == 0)
                return -EDESTADDRREQ;
        struct request *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        int k = op_encode(op, &r->command, &r->len);
        if (k < 0) {
                free(r);
                return k;
        }
        r->callback = callback;
        r->userdata = userdata;
        r->deadline = client_now() + (op->timeout_usec ? op->timeout_usec : c->timeout_usec);
        list_append(&c->pending, r);
        /* Requests submitted by callbacks go out together once they all ran: one write. */
        if (c->callback_depth == 0)
                client_kick(c);
        return 0;
}

int vs_submit(struct vs_client *c, struct vs_op *op, vs_callback callback, void *userdata) {
        /* The op is consumed either way, so callers have one rule for it. */
        int k = submit(c, op, callback, userdata);
        vs_op_free(op);
        return k;
}
