/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "auth/peer_key.h"
#include "log/log.h"
#include "net/backoff.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/peer.h"
#include "net/tls.h"
#include "util/cleanup.h"

/* Frames are limited to this until the other side's Hello is accepted: a Hello is far smaller,
 * and a stranger cannot make the node buffer more. */
#define HELLO_MAX_FRAME 1024u
/* A join's answer carries the cluster's identity and membership: far below this. */
#define JOIN_MAX_FRAME (64u * 1024u)

#define MSEC 1000ULL
#define SEC (1000ULL * MSEC)

struct peer;

/* One connection held by the set: a link to a known peer, or an accepted connection that has
 * not said who it is yet. */
struct link {
        struct vs_peer_set *set;
        struct vs_conn *conn;
        struct peer *peer;       /* NULL until identified */
        bool up;                 /* Hellos exchanged */
        bool inbound;
        unsigned listener_gen;   /* which listener's slot an inbound link holds */
        uint64_t join_id;        /* a joining node's connection, awaiting its answer; 0: none */
        struct link *prev, *next; /* in set->unidentified */
};

struct peer {
        struct vs_peer_set *set;
        struct vs_conf_node node;
        bool dials;              /* this node's name sorts lower: it connects */
        struct link *link;

        /* dialling side only */
        int connect_fd;
        sd_event_source *connect_io;
        sd_event_source *timer;  /* the backoff wait, then the connect() deadline */
        struct vs_backoff backoff;
        unsigned failures;       /* since the last up link: only the first is logged above debug */
        uint64_t last_seen;      /* CLOCK_REALTIME usec of the last frame from it; 0: never */
};

struct vs_peer_set {
        sd_event *event;
        struct vs_conf conf;
        const struct vs_conf_node *self;
        struct vs_peer_set_options opts;
        struct vs_peer_set_callbacks cb;
        void *userdata;
        struct vs_secret secret;
        struct vs_secret join_secret;
        bool takes_joins;        /* join_secret is set */

        struct peer **peers;     /* each its own allocation: links point at them */
        size_t n_peers;
        struct link *unidentified;
        size_t n_unidentified;

        struct vs_listener *listener;
        unsigned listener_gen;
        sd_event_source *ping_timer;
        uint64_t ping_nonce;
        uint64_t n_added;        /* peers ever added: seeds their jitter */
        uint64_t last_join_id;
};

static struct vs_log_ctx peer_ctx(const struct peer *p) {
        return (struct vs_log_ctx) { .peer = p->node.name };
}

static void unlist(struct link *l) {
        struct vs_peer_set *s = l->set;
        if (l->prev)
                l->prev->next = l->next;
        else
                s->unidentified = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
        s->n_unidentified--;
}

static struct peer *find_peer(const struct vs_peer_set *s, const char *node) {
        for (size_t i = 0; i < s->n_peers; i++)
                if (strcmp(s->peers[i]->node.name, node) == 0)
                        return s->peers[i];
        return NULL;
}

static void link_free(struct link *l) {
        if (!l)
                return;
        struct vs_peer_set *s = l->set;
        if (!l->peer)
                unlist(l);
        else if (l->peer->link == l)
                l->peer->link = NULL;
        if (l->inbound && l->listener_gen == s->listener_gen && s->listener)
                vs_listener_release(s->listener);
        vs_conn_free(l->conn);
        free(l);
}

/* env as this set sends it: e, with its header h stamped with the version and cluster. */
static void stamp(const struct vs_peer_set *s, const Viewstamp__Envelope *env, Viewstamp__Header *h,
                  Viewstamp__Envelope *e) {
        *h = (Viewstamp__Header) VIEWSTAMP__HEADER__INIT;
        if (env->header)
                *h = *env->header;
        h->version = VS_WIRE_VERSION;
        h->cluster_id = s->opts.cluster_id;
        *e = *env;
        e->header = h;
}

static int send_stamped(struct vs_peer_set *s, struct vs_conn *c, const Viewstamp__Envelope *env) {
        Viewstamp__Header h;
        Viewstamp__Envelope e;
        stamp(s, env, &h, &e);
        return vs_conn_send(c, &e);
}

static int send_hello(struct vs_peer_set *s, struct vs_conn *c) {
        Viewstamp__Hello hello = VIEWSTAMP__HELLO__INIT;
        hello.node = (char *) s->self->name;
        hello.cluster_id = s->opts.cluster_id;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        return send_stamped(s, c, &env);
}

static void schedule_dial(struct peer *p);

/* notify: false when an up link is only replaced by a newer connection. */
static void link_up(struct link *l, bool notify) {
        struct peer *p = l->peer;
        l->up = true;
        vs_conn_set_max_frame(l->conn, p->set->conf.max_frame_bytes);
        vs_backoff_reset(&p->backoff);
        p->failures = 0;
        (void) vs_conn_set_label(l->conn, p->node.name);
        struct vs_log_ctx ctx = peer_ctx(p);
        log_notice(&ctx, "peer link up (%s, %s)", vs_conn_remote_string(l->conn), l->inbound ? "accepted" : "dialled");
        if (notify && p->set->cb.on_peer_state)
                p->set->cb.on_peer_state(p->set, p->node.name, true, p->set->userdata);
}

static void on_link_close(struct vs_conn *c, int reason, void *userdata) {
        struct link *l = userdata;
        struct peer *p = l->peer;
        bool was_up = l->up;
        link_free(l);
        if (!p)
                return;
        struct vs_peer_set *s = p->set;
        if (was_up) {
                struct vs_log_ctx ctx = peer_ctx(p);
                log_notice(&ctx, "peer link down");
                if (s->cb.on_peer_state)
                        s->cb.on_peer_state(s, p->node.name, false, s->userdata);
        }
        if (p->dials && !p->link)
                schedule_dial(p);
}

/* The acceptor learns who dialled. Returns 0, or a negative errno after logging why not. */
static int identify(struct link *l, const Viewstamp__Hello *hello) {
        struct vs_peer_set *s = l->set;
        struct vs_log_ctx ctx = { .peer = vs_conn_remote_string(l->conn) };
        const char *name = hello->node;
        const char *identity = vs_conn_tls_identity(l->conn);

        if (hello->cluster_id != s->opts.cluster_id) {
                log_warning(&ctx, "refusing peer connection: Hello from cluster %016llx, this is cluster %016llx",
                            (unsigned long long) hello->cluster_id, (unsigned long long) s->opts.cluster_id);
                return -EPERM;
        }
        /* Names from the wire reach the log only once known to be plain (no control characters
         * to forge log lines with). */
        if (!vs_conf_name_valid(name)) {
                log_warning(&ctx, "refusing peer connection: Hello with an invalid node name (%zu bytes)", strlen(name));
                return -EPERM;
        }
        if (strcmp(name, s->self->name) == 0) {
                log_warning(&ctx, "refusing peer connection: Hello claims this node's own name '%s'", name);
                return -EPERM;
        }
        /* The handshake proved who dialled; the Hello must not claim anyone else. */
        if (!identity || strcmp(name, identity) != 0) {
                log_warning(&ctx, "refusing peer connection: Hello names node '%s', the TLS handshake authenticated '%s'",
                            name, identity ? identity : "nobody");
                return -EPERM;
        }
        struct peer *p = find_peer(s, name);
        if (!p) {
                log_warning(&ctx, "refusing peer connection: Hello from unknown node '%s'", name);
                return -EPERM;
        }
        if (p->dials) {
                log_warning(&ctx, "refusing peer connection: node '%s' dialled, but '%s' sorts lower and dials it",
                            name, s->self->name);
                return -EPERM;
        }

        int r = send_hello(s, l->conn);
        if (r < 0)
                return log_warning_errno(&ctx, r, "cannot answer Hello of node '%s'", name);

        bool replacing = p->link != NULL;
        if (replacing) {
                /* The dialler only dials when it has no link: the old one is dead on its side. */
                struct vs_log_ctx pctx = peer_ctx(p);
                log_notice(&pctx, "peer dialled again: replacing its previous connection");
                link_free(p->link);
        }
        unlist(l);
        l->peer = p;
        p->link = l;
        link_up(l, !replacing);
        return 0;
}

/* The dialler checks that the address it dialled answered as the node it meant. */
static int check_answer(struct link *l, const Viewstamp__Hello *hello) {
        struct vs_peer_set *s = l->set;
        struct peer *p = l->peer;
        struct vs_log_ctx ctx = { .peer = vs_conn_remote_string(l->conn) };
        if (strcmp(hello->node, p->node.name) != 0 || hello->cluster_id != s->opts.cluster_id) {
                log_warning(&ctx, "dropping peer connection: dialled node '%s' of cluster %016llx, but %s answered",
                            p->node.name, (unsigned long long) s->opts.cluster_id,
                            vs_conf_name_valid(hello->node) ? hello->node : "a node with an invalid name");
                return -EPERM;
        }
        link_up(l, true);
        return 0;
}

static void answer_ping(struct link *l, const Viewstamp__Envelope *env) {
        Viewstamp__Pong pong = VIEWSTAMP__PONG__INIT;
        pong.nonce = env->ping->nonce;
        Viewstamp__Envelope out = VIEWSTAMP__ENVELOPE__INIT;
        out.body_case = VIEWSTAMP__ENVELOPE__BODY_PONG;
        out.pong = &pong;
        (void) send_stamped(l->set, l->conn, &out);
}

/* A node that is no member yet asks to join: its request is the connection's only frame. */
static int on_join_request(struct link *l, const Viewstamp__JoinRequest *req) {
        struct vs_peer_set *s = l->set;
        struct vs_log_ctx ctx = { .peer = vs_conn_remote_string(l->conn) };
        if (!s->cb.on_join) {
                log_warning(&ctx, "closing peer connection: join request, but this node takes no joins");
                return -EPROTO;
        }
        l->join_id = ++s->last_join_id;
        vs_conn_set_max_frame(l->conn, JOIN_MAX_FRAME);
        s->cb.on_join(s, l->join_id, vs_conn_remote_string(l->conn), req, s->userdata);
        return 0;
}

int vs_peer_set_join_answer(struct vs_peer_set *s, uint64_t join_id, const Viewstamp__JoinReply *reply) {
        for (struct link *l = s->unidentified; l; l = l->next)
                if (l->join_id == join_id) {
                        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
                        env.body_case = VIEWSTAMP__ENVELOPE__BODY_JOIN_REPLY;
                        env.join_reply = (Viewstamp__JoinReply *) reply;
                        return send_stamped(s, l->conn, &env);
                }
        return -ENOENT;
}

/* The handshake authenticated the connection with a join token's key. */
static bool is_joiner(const struct link *l) {
        const char *identity = vs_conn_tls_identity(l->conn);
        return identity && strcmp(identity, VS_PEER_JOIN_IDENTITY) == 0;
}

static int on_link_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct link *l = userdata;
        struct vs_peer_set *s = l->set;
        struct vs_log_ctx ctx = { .peer = l->peer ? l->peer->node.name : vs_conn_remote_string(c) };

        if (l->join_id) {
                log_warning(&ctx, "closing joining node's connection: a frame after its join request");
                return -EPROTO;
        }
        /* A join connection carries its JoinRequest and nothing else; no other carries one. */
        bool is_join = env->body_case == VIEWSTAMP__ENVELOPE__BODY_JOIN_REQUEST;
        if (!l->peer && is_joiner(l)) {
                if (!is_join) {
                        log_warning(&ctx, "closing joining node's connection: first frame is not a join request");
                        return -EPROTO;
                }
                return on_join_request(l, env->join_request);
        }
        if (is_join) {
                log_warning(&ctx, "closing peer connection: join request from a connection not authenticated with a join token");
                return -EPROTO;
        }

        if (env->header->cluster_id != s->opts.cluster_id) {
                log_warning(&ctx, "closing peer connection: frame for cluster %016llx, this is cluster %016llx",
                            (unsigned long long) env->header->cluster_id, (unsigned long long) s->opts.cluster_id);
                return -EPERM;
        }
        bool is_hello = env->body_case == VIEWSTAMP__ENVELOPE__BODY_HELLO;
        if (!l->up) {
                if (!is_hello) {
                        log_warning(&ctx, "closing peer connection: first frame is not a Hello");
                        return -EPROTO;
                }
                return l->peer ? check_answer(l, env->hello) : identify(l, env->hello);
        }
        if (is_hello) {
                log_warning(&ctx, "closing peer link: second Hello");
                return -EPROTO;
        }
        (void) sd_event_now(s->event, CLOCK_REALTIME, &l->peer->last_seen);
        if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_PING)
                answer_ping(l, env);
        if (s->cb.on_envelope)
                s->cb.on_envelope(s, l->peer->node.name, env, s->userdata);
        return 0;
}

static const struct vs_conn_callbacks link_callbacks = {
        .on_envelope = on_link_envelope,
        .on_close = on_link_close,
};

/* The acceptor's half of the handshake: only a current member gets its key. The set is
 * consulted at each handshake, so a node removed from it is refused from then on. */
static int psk_lookup(const char *identity, uint8_t key[VS_TLS_PSK_SIZE], char *why, void *userdata) {
        struct vs_peer_set *s = userdata;
        if (strcmp(identity, VS_PEER_JOIN_IDENTITY) == 0) {
                if (!s->takes_joins) {
                        snprintf(why, VS_TLS_REASON_MAX, "a join, but this cluster lists its nodes in viewstampd.conf");
                        return -EPERM;
                }
                return vs_peer_key(&s->join_secret, s->opts.cluster_id, identity, key);
        }
        if (strcmp(identity, s->self->name) == 0) {
                snprintf(why, VS_TLS_REASON_MAX, "PSK identity '%s' is this node's own name", identity);
                return -EPERM;
        }
        if (!find_peer(s, identity)) {
                snprintf(why, VS_TLS_REASON_MAX, "PSK identity '%s' is not a member of this cluster", identity);
                return -EPERM;
        }
        int r = vs_peer_key(&s->secret, s->opts.cluster_id, identity, key);
        if (r < 0)
                snprintf(why, VS_TLS_REASON_MAX, "cannot derive the key of '%s': %s", identity, strerror(-r));
        return r;
}

/* Every link is TLS: the dialler authenticates as this node, the acceptor asks psk_lookup(). */
static int tls_new(struct vs_peer_set *s, bool dialling, struct vs_tls **ret) {
        if (!dialling)
                return vs_tls_new_psk_server(psk_lookup, s, ret);
        uint8_t key[VS_PEER_KEY_SIZE];
        int r = vs_peer_key(&s->secret, s->opts.cluster_id, s->self->name, key);
        if (r >= 0)
                r = vs_tls_new_psk_client(s->self->name, key, ret);
        explicit_bzero(key, sizeof key);
        return r;
}

static int link_new(struct vs_peer_set *s, int fd, struct peer *p, struct link **ret) {
        _cleanup_free_ struct link *l = calloc(1, sizeof *l);
        struct vs_tls *tls = NULL;
        int r = l ? tls_new(s, p != NULL, &tls) : -ENOMEM;
        if (r < 0) {
                close(fd);
                return r;
        }
        l->set = s;
        l->peer = p;
        struct vs_conn_options o = {
                .max_frame = HELLO_MAX_FRAME,
                .max_send_queue = s->opts.max_send_queue,
                .handshake_timeout_usec = s->opts.handshake_timeout_usec,
                .idle_timeout_usec = s->opts.dead_after_usec,
        };
        r = vs_conn_new_tls(s->event, fd, tls, &o, &link_callbacks, l, &l->conn);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int on_accept(struct vs_listener *ls, int fd, const struct vs_address *remote, void *userdata) {
        struct vs_peer_set *s = userdata;
        char buf[VS_ADDRESS_STRING_MAX];
        struct vs_log_ctx ctx = { .peer = vs_address_to_string(remote, buf) };

        if (s->n_unidentified >= s->opts.max_unidentified) {
                close(fd);
                log_warning(&ctx, "refusing peer connection: %zu connections already owe a Hello", s->n_unidentified);
                return -EBUSY;
        }
        struct link *l;
        int r = link_new(s, fd, NULL, &l);
        if (r < 0)
                return log_warning_errno(&ctx, r, "cannot set up accepted peer connection");
        l->inbound = true;
        l->listener_gen = s->listener_gen;
        l->next = s->unidentified;
        if (l->next)
                l->next->prev = l;
        s->unidentified = l;
        s->n_unidentified++;
        return 0;
}

/* ---- dialling ---- */

static void dial_failed(struct peer *p, int err) {
        struct vs_log_ctx ctx = peer_ctx(p);
        char buf[VS_ADDRESS_STRING_MAX];
        vs_log_full(p->failures++ == 0 ? VS_LOG_INFO : VS_LOG_DEBUG, &ctx, err, "cannot connect to %s",
                    vs_address_to_string(&p->node.peer, buf));
        schedule_dial(p);
}

/* Forgets a connect() in progress. */
static void connect_abort(struct peer *p) {
        p->connect_io = sd_event_source_disable_unref(p->connect_io);
        p->timer = sd_event_source_disable_unref(p->timer);
        closep(&p->connect_fd);
        p->connect_fd = -1;
}

static void connect_done(struct peer *p) {
        int fd = TAKE_FD(p->connect_fd);
        connect_abort(p);
        struct link *l;
        int r = link_new(p->set, fd, p, &l);
        if (r < 0)
                return dial_failed(p, r);
        p->link = l;
        r = send_hello(p->set, l->conn);
        if (r < 0) {
                link_free(l);
                return dial_failed(p, r);
        }
}

static int on_connect_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct peer *p = userdata;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err != 0) {
                connect_abort(p);
                dial_failed(p, -err);
                return 0;
        }
        connect_done(p);
        return 0;
}

/* A peer whose host drops SYNs would leave connect() pending for minutes of kernel retries. */
static int on_connect_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        struct peer *p = userdata;
        connect_abort(p);
        dial_failed(p, -ETIMEDOUT);
        return 0;
}

static void dial(struct peer *p) {
        const struct vs_address *a = &p->node.peer;
        p->connect_fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->connect_fd < 0)
                return dial_failed(p, -errno);
        if (connect(p->connect_fd, &a->sa, a->len) == 0)
                return connect_done(p);
        int r = -errno;
        if (r == -EINPROGRESS)
                r = sd_event_add_io(p->set->event, &p->connect_io, p->connect_fd, EPOLLOUT, on_connect_io, p);
        if (r >= 0)
                r = sd_event_add_time_relative(p->set->event, &p->timer, CLOCK_MONOTONIC,
                                               p->set->opts.handshake_timeout_usec, 0, on_connect_timeout, p);
        if (r < 0) {
                connect_abort(p);
                dial_failed(p, r);
        }
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata) {
        struct peer *p = userdata;
        p->timer = sd_event_source_disable_unref(p->timer);
        dial(p);
        return 0;
}

static void schedule_dial(struct peer *p) {
        struct vs_peer_set *s = p->set;
        uint64_t delay = vs_backoff_next(&p->backoff);
        p->timer = sd_event_source_disable_unref(p->timer);
        int r = sd_event_add_time_relative(s->event, &p->timer, CLOCK_MONOTONIC, delay, 0, on_retry, p);
        if (r < 0) {
                /* Without a timer this peer would never be dialled again: say so loudly. */
                struct vs_log_ctx ctx = peer_ctx(p);
                log_error_errno(&ctx, r, "cannot schedule reconnection");
        }
}

/* ---- liveness ---- */

static int on_ping_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        struct vs_peer_set *s = userdata;
        Viewstamp__Ping ping = VIEWSTAMP__PING__INIT;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_PING;
        env.ping = &ping;
        for (size_t i = 0; i < s->n_peers; i++) {
                struct link *l = s->peers[i]->link;
                if (!l || !l->up)
                        continue;
                ping.nonce = ++s->ping_nonce;
                (void) send_stamped(s, l->conn, &env);
        }
        int r = sd_event_source_set_time(src, usec + s->opts.ping_interval_usec);
        return r < 0 ? r : sd_event_source_set_enabled(src, SD_EVENT_ON);
}

/* ---- the set ---- */

static void peer_free(struct peer *p) {
        link_free(p->link);
        connect_abort(p);
        free(p);
}

int vs_peer_set_add(struct vs_peer_set *s, const struct vs_conf_node *node) {
        if (strcmp(node->name, s->self->name) == 0)
                return -EINVAL;
        struct peer *old = find_peer(s, node->name);
        if (old) {
                if (vs_address_equal(&old->node.peer, &node->peer)) {
                        old->node.client = node->client;
                        return 0;
                }
                /* Moved: the link to the old address is of no use any more. */
                vs_peer_set_remove(s, node->name);
        }
        if (s->n_peers == VS_CONF_NODES_MAX - 1)
                return -E2BIG;
        struct peer *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (struct peer) {
                .set = s,
                .node = *node,
                .dials = strcmp(s->self->name, node->name) < 0,
                .connect_fd = -1,
        };
        /* One generator per peer, all from the set's seed. */
        vs_backoff_init(&p->backoff, s->opts.backoff_min_usec, s->opts.backoff_max_usec,
                        s->opts.seed + s->n_added++);
        if (p->dials) {
                int r = sd_event_add_time_relative(s->event, &p->timer, CLOCK_MONOTONIC, 0, 0, on_retry, p);
                if (r < 0) {
                        free(p);
                        return r;
                }
        }
        s->peers[s->n_peers++] = p;
        return 0;
}

int vs_peer_set_remove(struct vs_peer_set *s, const char *node) {
        size_t i = 0;
        while (i < s->n_peers && strcmp(s->peers[i]->node.name, node) != 0)
                i++;
        if (i == s->n_peers)
                return -ENOENT;
        struct peer *p = s->peers[i];
        bool was_up = p->link && p->link->up;
        s->peers[i] = s->peers[--s->n_peers];
        struct vs_log_ctx ctx = peer_ctx(p);
        log_notice(&ctx, "peer removed from the cluster");
        if (was_up && s->cb.on_peer_state)
                s->cb.on_peer_state(s, p->node.name, false, s->userdata);
        peer_free(p);
        return 0;
}

struct vs_peer_set *vs_peer_set_free(struct vs_peer_set *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_peers; i++)
                peer_free(s->peers[i]);
        while (s->unidentified)
                link_free(s->unidentified);
        vs_listener_free(s->listener);
        sd_event_source_disable_unref(s->ping_timer);
        sd_event_unref(s->event);
        vs_secret_erase(&s->secret);
        vs_secret_erase(&s->join_secret);
        free(s->peers);
        free(s);
        return NULL;
}

int vs_peer_set_new(sd_event *e, const struct vs_conf *conf, const struct vs_secret *secret,
                    const struct vs_peer_set_options *opts, const struct vs_peer_set_callbacks *cb, void *userdata,
                    struct vs_peer_set **ret) {
        _cleanup_peer_set_ struct vs_peer_set *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->secret = *secret;
        s->event = sd_event_ref(e);
        s->conf = *conf;
        s->cb = *cb;
        s->userdata = userdata;
        if (opts)
                s->opts = *opts;
        struct vs_peer_set_options *o = &s->opts;
        if (o->join_secret) {
                s->join_secret = *o->join_secret;
                s->takes_joins = true;
                o->join_secret = NULL;
        }
        if (!o->backoff_min_usec)
                o->backoff_min_usec = 100 * MSEC;
        if (!o->backoff_max_usec)
                o->backoff_max_usec = 5 * SEC;
        if (!o->ping_interval_usec)
                o->ping_interval_usec = 1 * SEC;
        if (!o->dead_after_usec)
                o->dead_after_usec = 5 * SEC;
        if (!o->handshake_timeout_usec)
                o->handshake_timeout_usec = 5 * SEC;
        if (!o->max_unidentified)
                o->max_unidentified = 16;
        if (!o->seed) {
                uint64_t now = 0;
                (void) sd_event_now(e, CLOCK_REALTIME, &now);
                o->seed = now ^ (uint64_t) getpid() << 32;
        }

        s->self = vs_conf_find_node(&s->conf, s->conf.name);
        if (!s->self)
                return -EINVAL;
        s->peers = calloc(VS_CONF_NODES_MAX, sizeof *s->peers);
        if (!s->peers)
                return -ENOMEM;
        for (size_t i = 0; i < s->conf.n_nodes; i++) {
                if (&s->conf.nodes[i] == s->self)
                        continue;
                int r = vs_peer_set_add(s, &s->conf.nodes[i]);
                if (r < 0)
                        return r;
        }
        int r = sd_event_add_time_relative(e, &s->ping_timer, CLOCK_MONOTONIC, o->ping_interval_usec, 0,
                                           on_ping_timer, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int vs_peer_set_listen(struct vs_peer_set *s) {
        vs_peer_set_unlisten(s);
        /* Every peer plus the unidentified allowance: the set refuses beyond that itself too. */
        unsigned slots = VS_CONF_NODES_MAX + s->opts.max_unidentified;
        return vs_listener_new(s->event, &s->self->peer, slots, on_accept, s, &s->listener);
}

void vs_peer_set_unlisten(struct vs_peer_set *s) {
        s->listener = vs_listener_free(s->listener);
        s->listener_gen++;
}

/* The connection of node's up link: -ENOENT unknown node, -ENOTCONN no up link. */
static int up_conn(const struct vs_peer_set *s, const char *node, struct vs_conn **ret) {
        const struct peer *p = find_peer(s, node);
        if (!p)
                return -ENOENT;
        if (!p->link || !p->link->up)
                return -ENOTCONN;
        *ret = p->link->conn;
        return 0;
}

int vs_peer_set_send(struct vs_peer_set *s, const char *node, const Viewstamp__Envelope *env) {
        struct vs_conn *c;
        int r = up_conn(s, node, &c);
        if (r < 0)
                return r;
        return send_stamped(s, c, env);
}

void vs_peer_set_send_each(struct vs_peer_set *s, const char *const *nodes, size_t n, const Viewstamp__Envelope *env,
                           int *ret) {
        if (n == 1) {
                ret[0] = vs_peer_set_send(s, nodes[0], env);
                return;
        }
        Viewstamp__Header h;
        Viewstamp__Envelope e;
        stamp(s, env, &h, &e);
        _cleanup_free_ uint8_t *frame = NULL;
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
                struct vs_conn *c;
                ret[i] = up_conn(s, nodes[i], &c);
                if (ret[i] < 0)
                        continue;
                if (!frame) {
                        /* Each connection checks the size against its own limit. */
                        ret[i] = vs_envelope_frame(&e, UINT32_MAX, &frame, &len);
                        if (ret[i] < 0)
                                continue;
                }
                ret[i] = vs_conn_send_frame(c, frame, len);
        }
}

bool vs_peer_set_is_up(const struct vs_peer_set *s, const char *node) {
        const struct peer *p = find_peer(s, node);
        return p && p->link && p->link->up;
}

uint64_t vs_peer_set_last_seen(const struct vs_peer_set *s, const char *node) {
        const struct peer *p = find_peer(s, node);
        return p ? p->last_seen : 0;
}

size_t vs_peer_set_n_up(const struct vs_peer_set *s) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_peers; i++)
                n += s->peers[i]->link && s->peers[i]->link->up;
        return n;
}
