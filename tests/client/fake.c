/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "wire/envelope.h"
#include "wire/frame.h"

#define MAX_CONNS 32

struct fake_session {
        uint64_t id;
        uint64_t request;
        uint8_t *reply;
        size_t len;
};

struct held {
        uint64_t client_id, request;
        const uint8_t *reply; /* owned by the session table */
        size_t len;
};

struct fconn {
        int fd;
        struct vs_frame_reader reader;
        struct held *held;
        size_t n_held;
        char token[64];       /* the last ClientAuth's token */
};

void fake_lock(struct fake *f) {
        pthread_mutex_lock(&f->lock);
}

void fake_unlock(struct fake *f) {
        pthread_mutex_unlock(&f->lock);
}

static void send_envelope(int fd, const char *tenant, Viewstamp__Envelope *env) {
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        h.tenant = (char *) (tenant ? tenant : "");
        env->header = &h;
        _cleanup_free_ uint8_t *frame = NULL;
        size_t n;
        if (vs_envelope_frame(env, VS_FRAME_MAX_DEFAULT, &frame, &n) == 0)
                (void) !send(fd, frame, n, MSG_NOSIGNAL);
        env->header = NULL;
}

static void send_reply(int fd, const char *tenant, uint64_t id, uint64_t request, Viewstamp__ClientStatus status,
                       const uint8_t *reply, size_t len, const char *primary, const char *message) {
        Viewstamp__ClientReply m = VIEWSTAMP__CLIENT_REPLY__INIT;
        m.client_id = id;
        m.request = request;
        m.status = status;
        m.reply = (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) reply };
        m.primary = (char *) (primary ? primary : "");
        m.message = (char *) (message ? message : "");
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        env.client_reply = &m;
        send_envelope(fd, tenant, &env);
}

static void send_ping(int fd, uint64_t nonce) {
        Viewstamp__Ping ping = VIEWSTAMP__PING__INIT;
        ping.nonce = nonce;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_PING;
        env.ping = &ping;
        send_envelope(fd, NULL, &env);
}

static struct fake_session *find_session(struct fake *f, uint64_t id) {
        for (size_t i = 0; i < f->n_sessions; i++)
                if (f->sessions[i].id == id)
                        return &f->sessions[i];
        return NULL;
}

static void log_request(struct fake *f, const Viewstamp__ClientRequest *m, bool registration) {
        if (f->n_log == f->cap_log) {
                size_t cap = f->cap_log ? f->cap_log * 2 : 64;
                struct fake_entry *l = reallocarray(f->log, cap, sizeof *l);
                if (!l)
                        abort();
                f->log = l;
                f->cap_log = cap;
        }
        f->log[f->n_log++] = (struct fake_entry) { m->client_id, m->request, registration };
}

static void release_held(struct fconn *cn, const char *tenant) {
        while (cn->n_held > 0) {
                const struct held *h = &cn->held[--cn->n_held];
                send_reply(cn->fd, tenant, h->client_id, h->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_OK, h->reply,
                           h->len, NULL, NULL);
        }
}

/* Returns false when the connection is to be closed. Called with the lock held. */
static bool serve(struct fake *f, struct fconn *cn, const Viewstamp__Envelope *e) {
        if (e->body_case == VIEWSTAMP__ENVELOPE__BODY_PONG) {
                f->pongs += e->pong->nonce >= 1000;
                return true;
        }
        if (e->body_case == VIEWSTAMP__ENVELOPE__BODY_CLIENT_AUTH) {
                const ProtobufCBinaryData *t = &e->client_auth->token;
                snprintf(cn->token, sizeof cn->token, "%.*s", (int) t->len, (const char *) t->data);
                f->auths++;
                return true;
        }
        if (e->body_case != VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST)
                return false;
        const Viewstamp__ClientRequest *m = e->client_request;
        const char *tenant = e->header->tenant;
        bool registration = m->request == 0 && m->command.len == 0;
        log_request(f, m, registration);

        if (f->token[0] && strcmp(f->token, cn->token) != 0) {
                send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAUTHORIZED,
                           NULL, 0, NULL, "wrong token");
                return true;
        }
        if (f->limit > 0) {
                f->limit--;
                send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_LIMIT, NULL, 0,
                           NULL, "too many requests");
                return true;
        }

        if (f->redirect[0]) {
                send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT, NULL,
                           0, f->redirect, "not the primary");
                return true;
        }
        if (f->no_tenant) {
                send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_NO_TENANT, NULL,
                           0, NULL, "no such tenant here");
                return true;
        }
        if (registration) {
                struct fake_session *s = find_session(f, m->client_id);
                if (!s) {
                        struct fake_session *v = reallocarray(f->sessions, f->n_sessions + 1, sizeof *v);
                        if (!v)
                                abort();
                        f->sessions = v;
                        s = &v[f->n_sessions++];
                        *s = (struct fake_session) { .id = m->client_id };
                }
                send_reply(cn->fd, tenant, m->client_id, 0, VIEWSTAMP__CLIENT_STATUS__CLIENT_OK, NULL, 0, NULL, NULL);
                return true;
        }
        if (f->silent)
                return true;
        if (f->unavailable > 0) {
                f->unavailable--;
                send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAVAILABLE,
                           NULL, 0, NULL, "view change in progress");
                return true;
        }
        struct fake_session *s = find_session(f, m->client_id);
        if (f->expire > 0 && s) {
                f->expire--;
                free(s->reply);
                *s = f->sessions[--f->n_sessions];
                s = NULL;
        }
        if (!s) {
                send_reply(cn->fd, tenant, m->client_id, m->request,
                           VIEWSTAMP__CLIENT_STATUS__CLIENT_SESSION_EXPIRED, NULL, 0, NULL, "session evicted");
                return true;
        }
        if (m->request < s->request)
                return true;
        if (m->request > s->request) {
                uint8_t *reply;
                size_t len;
                if (tree_sm_ops.apply(f->tree, ++f->op, m->command.data, m->command.len, &reply, &len) < 0)
                        abort();
                free(s->reply);
                s->reply = reply;
                s->len = len;
                s->request = m->request;
                f->executed++;
        }
        if (f->drop > 0) {
                f->drop--;
                return false;
        }
        if (f->mute > 0) {
                f->mute--;
                return true;
        }
        if (f->garbage > 0) {
                f->garbage--;
                static const uint8_t junk[] = { 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff };
                (void) !send(cn->fd, junk, sizeof junk, MSG_NOSIGNAL);
                return true;
        }
        if (f->ping > 0) {
                f->ping--;
                send_ping(cn->fd, 1000 + f->ping);
        }
        if (f->wrong > 0) {
                f->wrong--;
                send_reply(cn->fd, tenant, m->client_id, m->request + 7, VIEWSTAMP__CLIENT_STATUS__CLIENT_OK,
                           s->reply, s->len, NULL, NULL);
                send_reply(cn->fd, tenant, m->client_id ^ 1, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_OK,
                           s->reply, s->len, NULL, NULL);
        }
        if (f->hold > 0) {
                struct held *h = reallocarray(cn->held, cn->n_held + 1, sizeof *h);
                if (!h)
                        abort();
                cn->held = h;
                h[cn->n_held++] = (struct held) { m->client_id, m->request, s->reply, s->len };
                if (cn->n_held >= f->hold) {
                        f->hold = 0;
                        release_held(cn, tenant);
                }
                return true;
        }
        send_reply(cn->fd, tenant, m->client_id, m->request, VIEWSTAMP__CLIENT_STATUS__CLIENT_OK, s->reply, s->len,
                   NULL, NULL);
        return true;
}

static void conn_drop(struct fconn *cn) {
        close(cn->fd);
        vs_frame_reader_done(&cn->reader);
        free(cn->held);
        *cn = (struct fconn) { .fd = -1 };
}

/* Returns false when the connection is to be closed. */
static bool conn_read(struct fake *f, struct fconn *cn) {
        uint8_t buf[65536];
        ssize_t k = recv(cn->fd, buf, sizeof buf, 0);
        if (k <= 0 || vs_frame_reader_feed(&cn->reader, buf, (size_t) k) < 0)
                return false;
        const uint8_t *body;
        size_t len;
        int r;
        while ((r = vs_frame_reader_next(&cn->reader, &body, &len)) == 1) {
                _cleanup_envelope_ Viewstamp__Envelope *e = NULL;
                if (vs_envelope_decode(body, len, &e) < 0)
                        return false;
                fake_lock(f);
                bool keep = serve(f, cn, e);
                fake_unlock(f);
                if (!keep)
                        return false;
        }
        return r == 0;
}

static void *run(void *userdata) {
        struct fake *f = userdata;
        struct fconn conns[MAX_CONNS];
        for (size_t i = 0; i < MAX_CONNS; i++)
                conns[i] = (struct fconn) { .fd = -1 };

        for (;;) {
                struct pollfd p[MAX_CONNS + 2] = {
                        { .fd = f->stop_pipe[0], .events = POLLIN },
                        { .fd = f->listen_fd, .events = POLLIN },
                };
                for (size_t i = 0; i < MAX_CONNS; i++)
                        p[i + 2] = (struct pollfd) { .fd = conns[i].fd, .events = POLLIN };
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                if (p[1].revents) {
                        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        size_t i = 0;
                        while (i < MAX_CONNS && conns[i].fd >= 0)
                                i++;
                        if (fd >= 0 && i < MAX_CONNS) {
                                conns[i].fd = fd;
                                vs_frame_reader_init(&conns[i].reader, VS_FRAME_MAX_DEFAULT);
                                fake_lock(f);
                                f->connections++;
                                fake_unlock(f);
                        } else if (fd >= 0)
                                close(fd);
                }
                for (size_t i = 0; i < MAX_CONNS; i++)
                        if (conns[i].fd >= 0 && p[i + 2].revents && !conn_read(f, &conns[i]))
                                conn_drop(&conns[i]);
        }
        for (size_t i = 0; i < MAX_CONNS; i++)
                if (conns[i].fd >= 0)
                        conn_drop(&conns[i]);
        return NULL;
}

int fake_start(struct fake *f, uint16_t port) {
        *f = (struct fake) { .listen_fd = -1, .stop_pipe = { -1, -1 } };
        pthread_mutex_init(&f->lock, NULL);
        int r = tree_new(NULL, &f->tree);
        if (r < 0)
                return r;
        if (pipe2(f->stop_pipe, O_CLOEXEC) < 0)
                return -errno;
        f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (f->listen_fd < 0)
                return -errno;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int one = 1;
        (void) setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        socklen_t len = sizeof a;
        if (bind(f->listen_fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(f->listen_fd, 64) < 0 ||
            getsockname(f->listen_fd, (struct sockaddr *) &a, &len) < 0)
                return -errno;
        snprintf(f->address, sizeof f->address, "127.0.0.1:%u", ntohs(a.sin_port));
        r = pthread_create(&f->thread, NULL, run, f);
        return -r;
}

void fake_stop(struct fake *f) {
        (void) !write(f->stop_pipe[1], "x", 1);
        pthread_join(f->thread, NULL);
        closep(&f->listen_fd);
        closep(&f->stop_pipe[0]);
        closep(&f->stop_pipe[1]);
        for (size_t i = 0; i < f->n_sessions; i++)
                free(f->sessions[i].reply);
        free(f->sessions);
        free(f->log);
        tree_free(f->tree);
        pthread_mutex_destroy(&f->lock);
}
