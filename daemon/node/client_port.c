/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "log/ratelimit.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/source_limit.h"
#include "net/tls.h"
#include "node/client_port.h"
#include "node/cluster_state.h"
#include "node/node.h"
#include "node/tenant.h"
#include "util/u64map.h"

/* A client connection must send its first frame within this time (half-open connections). */
#define CLIENT_HANDSHAKE_USEC (10ULL * 1000 * 1000)
#define REFUSAL_LOG_INTERVAL_USEC (1000ULL * 1000)
#define REFUSAL_LOG_BURST 10

struct client_conn {
        struct vs_client_port *port;
        struct vs_conn *conn;
        uint64_t serial;
        struct vs_address remote;
        /* Sessions with a request forwarded and not yet answered (client id -> non-NULL): a
         * retry of a request in flight reuses its session, so this bounds what one connection
         * can make the node hold. */
        struct u64map outstanding;

        /* The access token presented (ClientAuth), for one tenant; invalid when it could not be
         * a token at all (then it matches nothing). */
        char token_tenant[VS_TENANT_NAME_MAX + 1];
        uint8_t *token;
        size_t token_len;
        bool token_presented, token_invalid;
        /* The outcome of checking the presented token against the tenant's stored token as it
         * was then: checked again only when the stored token changes (rotation), so a rotation
         * cuts off connections authenticated with the old token from their next request. */
        bool checked, checked_ok;
        struct vs_access_token checked_against;
};

struct vs_client_port {
        sd_event *event;
        struct vs_node *node;
        const struct vs_conf *conf;
        struct vs_address addr;
        struct vs_listener *listener;
        struct vs_tls_creds *tls; /* borrowed; NULL: plain */
        struct u64map conns; /* serial -> struct client_conn */
        uint64_t next_serial;
        struct vs_source_limit per_address;
        struct vs_ratelimit refusal_log;
        struct vs_ratelimit close_log;
};

/* A burst of warnings per interval for refusals a flood can repeat without end. */
static void log_refusal(struct vs_client_port *p, const char *peer, const char *tenant, const char *why) {
        uint64_t now = 0;
        (void) sd_event_now(p->event, CLOCK_MONOTONIC, &now);
        unsigned unlogged;
        if (!vs_ratelimit_allow(&p->refusal_log, now, REFUSAL_LOG_INTERVAL_USEC, REFUSAL_LOG_BURST, &unlogged))
                return;
        struct vs_log_ctx c = { .tenant = tenant, .peer = peer };
        if (unlogged > 0)
                log_warning(&c, "refused a client: %s (and %u more refusals since the last report)", why, unlogged);
        else
                log_warning(&c, "refused a client: %s", why);
}

/* What a connection owns besides its socket. The token is wiped: it is a secret. */
static void client_conn_done(struct client_conn *cc) {
        u64map_done(&cc->outstanding);
        if (cc->token)
                explicit_bzero(cc->token, cc->token_len);
        free(cc->token);
        free(cc);
}

/* Ends a client connection and gives its slot back to the listener. */
static void client_conn_free(struct client_conn *cc) {
        struct vs_client_port *p = cc->port;
        u64map_remove(&p->conns, cc->serial);
        vs_conn_free(cc->conn);
        if (p->listener)
                vs_listener_release(p->listener);
        vs_source_limit_release(&p->per_address, &cc->remote);
        client_conn_done(cc);
}

void vs_client_port_send(struct vs_client_port *p, uint64_t route, const char *tenant,
                         const Viewstamp__ClientReply *reply) {
        struct client_conn *cc = u64map_get(&p->conns, route);
        if (!cc)
                return;
        u64map_remove(&cc->outstanding, reply->client_id);
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION; /* peer links stamp their own; client connections do not */
        h.tenant = (char *) tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        env.client_reply = (Viewstamp__ClientReply *) reply;
        if (vs_conn_send(cc->conn, &env) == -ENOBUFS) {
                struct vs_log_ctx c = { .tenant = tenant, .peer = vs_conn_remote_string(cc->conn) };
                log_warning(&c, "client does not read its replies; closing its connection");
                client_conn_free(cc);
        }
}

static void reply_redirect(struct vs_conn *c, const Viewstamp__Envelope *env, Viewstamp__ClientStatus status,
                           const char *primary, const char *message) {
        Viewstamp__ClientReply reply = VIEWSTAMP__CLIENT_REPLY__INIT;
        reply.client_id = env->client_request->client_id;
        reply.request = env->client_request->request;
        reply.status = status;
        reply.primary = (char *) primary;
        reply.message = (char *) message;
        Viewstamp__Envelope out = VIEWSTAMP__ENVELOPE__INIT;
        out.header = env->header;
        out.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        out.client_reply = &reply;
        (void) vs_conn_send(c, &out);
}

static void reply_status(struct vs_conn *c, const Viewstamp__Envelope *env, Viewstamp__ClientStatus status,
                         const char *message) {
        reply_redirect(c, env, status, NULL, message);
}

/* A tenant this node does not host (any more: it moved, node/reconfig.h): the client goes to a
 * node the root group names for it, if any. */
static void reply_not_hosted(struct vs_client_port *p, struct vs_conn *c, const Viewstamp__Envelope *env) {
        const struct vs_cluster_tenant *ct = strcmp(env->header->tenant, VS_ROOT_TENANT_NAME) == 0 ? NULL
                : vs_cluster_state_find_tenant(vs_node_cluster(p->node), env->header->tenant);
        for (uint32_t i = 0; ct && i < ct->config.n_replicas; i++) {
                const struct vs_conf_node *n = vs_node_find_member(p->node, ct->config.replicas[i]);
                if (n && strcmp(n->name, vs_node_conf(p->node)->name) != 0) {
                        char a[VS_ADDRESS_STRING_MAX];
                        return reply_redirect(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT,
                                              vs_address_to_string(&n->client, a), "the tenant is hosted elsewhere");
                }
        }
        reply_status(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_NO_TENANT, "this node hosts no replica of that tenant");
}

static void on_auth(struct client_conn *cc, const char *tenant, const Viewstamp__ClientAuth *auth) {
        const ProtobufCBinaryData *t = &auth->token;
        if (cc->token)
                explicit_bzero(cc->token, cc->token_len);
        free(cc->token);
        cc->token = NULL;
        cc->token_len = 0;
        cc->checked = false;
        cc->token_presented = true;
        cc->token_invalid = strlen(tenant) > VS_TENANT_NAME_MAX || t->len == 0 || t->len > VS_ACCESS_TOKEN_MAX;
        if (cc->token_invalid)
                return;
        cc->token = malloc(t->len);
        if (!cc->token) {
                cc->token_invalid = true; /* out of memory: refused like a wrong token, the client can retry */
                return;
        }
        memcpy(cc->token, t->data, t->len);
        cc->token_len = t->len;
        strcpy(cc->token_tenant, tenant);
}

/* NULL when the connection may use the tenant, else why not. */
static const char *unauthorized(struct client_conn *cc, const struct vs_tenant_config *c) {
        if (!c->token.set)
                return NULL;
        if (!cc->token_presented)
                return "the tenant requires an access token and this connection presented none";
        if (cc->token_invalid || strcmp(cc->token_tenant, c->name) != 0)
                return "the access token presented on this connection is not the tenant's";
        if (!cc->checked || !vs_access_token_same(&cc->checked_against, &c->token)) {
                cc->checked = true;
                cc->checked_against = c->token;
                cc->checked_ok = vs_access_token_check(&c->token, cc->token, cc->token_len) == 0;
        }
        return cc->checked_ok ? NULL : "the access token presented on this connection is not the tenant's";
}

static int on_client_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct client_conn *cc = userdata;
        struct vs_client_port *p = cc->port;
        const char *tenant = env->header->tenant;
        if (env->body_case == VIEWSTAMP__ENVELOPE__BODY_CLIENT_AUTH) {
                on_auth(cc, tenant, env->client_auth);
                return 0;
        }
        if (env->body_case != VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST)
                return -EBADMSG; /* only requests belong on the client port */
        struct vs_tenant *t = vs_node_find_tenant(p->node, tenant);
        if (!t || strcmp(tenant, VS_ROOT_TENANT_NAME) == 0) {
                reply_not_hosted(p, c, env);
                return 0;
        }
        const char *why = unauthorized(cc, vs_tenant_config(t));
        if (why) {
                log_refusal(p, vs_conn_remote_string(c), tenant, why);
                reply_status(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAUTHORIZED, why);
                return 0;
        }
        uint64_t id = env->client_request->client_id;
        if (!u64map_get(&cc->outstanding, id)) {
                if (u64map_size(&cc->outstanding) >= p->conf->max_requests_per_connection) {
                        char why_limit[128];
                        snprintf(why_limit, sizeof why_limit,
                                 "more than %u requests outstanding on one connection (MaxRequestsPerConnection=)",
                                 p->conf->max_requests_per_connection);
                        log_refusal(p, vs_conn_remote_string(c), tenant, why_limit);
                        reply_status(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_LIMIT, why_limit);
                        return 0;
                }
                if (u64map_put(&cc->outstanding, id, cc) < 0) {
                        reply_status(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_BUSY, "out of memory; try again");
                        return 0;
                }
        }
        vs_tenant_client_request(t, cc->serial, env->client_request, vs_conn_frame_follows(c));
        return 0;
}

static void on_client_close(struct vs_conn *c, int reason, void *userdata) {
        client_conn_free(userdata);
}

static int on_client_accept(struct vs_listener *l, int fd, const struct vs_address *remote, void *userdata) {
        struct vs_client_port *p = userdata;
        int r = vs_source_limit_acquire(&p->per_address, remote);
        if (r < 0) {
                close(fd);
                char a[VS_ADDRESS_STRING_MAX], why[96];
                snprintf(why, sizeof why, "%u connections from this address already (MaxConnectionsPerAddress=)",
                         p->per_address.max);
                log_refusal(p, vs_address_to_string(remote, a), NULL, r == -EUSERS ? why : "out of memory");
                return r;
        }
        struct client_conn *cc = calloc(1, sizeof *cc);
        if (!cc) {
                vs_source_limit_release(&p->per_address, remote);
                close(fd);
                return -ENOMEM;
        }
        static const struct vs_conn_callbacks cb = { on_client_envelope, on_client_close };
        struct vs_conn_options o = { .max_frame = p->conf->max_frame_bytes, .handshake_timeout_usec = CLIENT_HANDSHAKE_USEC,
                                   .close_log = &p->close_log };
        cc->port = p;
        cc->serial = ++p->next_serial;
        cc->remote = *remote;
        struct vs_tls *tls = NULL;
        r = p->tls ? vs_tls_new_cert_server(p->tls, &tls) : 0;
        if (r < 0) {
                vs_source_limit_release(&p->per_address, remote);
                close(fd);
                free(cc);
                return r;
        }
        r = vs_conn_new_tls(p->event, fd, tls, &o, &cb, cc, &cc->conn);
        if (r >= 0)
                r = u64map_put(&p->conns, cc->serial, cc);
        if (r < 0) {
                vs_source_limit_release(&p->per_address, remote);
                vs_conn_free(cc->conn);
                free(cc);
                return r;
        }
        vs_conn_set_label(cc->conn, "client");
        return 0;
}

int vs_client_port_rebind(struct vs_client_port *p) {
        if (p->listener)
                return 0;
        return vs_listener_new(p->event, &p->addr, p->conf->max_connections, on_client_accept, p, &p->listener);
}

void vs_client_port_free(struct vs_client_port *p) {
        if (!p)
                return;
        size_t i = 0;
        uint64_t key;
        void *v;
        while (u64map_next(&p->conns, &i, &key, &v)) {
                struct client_conn *cc = v;
                vs_conn_free(cc->conn);
                u64map_done(&cc->outstanding);
                free(cc->token);
                free(cc);
        }
        u64map_done(&p->conns);
        vs_source_limit_done(&p->per_address);
        vs_listener_free(p->listener);
        free(p);
}

int vs_client_port_new(sd_event *e, struct vs_node *node, const struct vs_conf *conf, const struct vs_address *addr,
                       struct vs_tls_creds *tls, struct vs_client_port **ret) {
        struct vs_client_port *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event = e;
        p->node = node;
        p->conf = conf;
        p->tls = tls;
        p->addr = *addr;
        vs_source_limit_init(&p->per_address, conf->max_connections_per_address);
        int r = vs_client_port_rebind(p);
        if (r < 0) {
                vs_client_port_free(p);
                return r;
        }
        *ret = p;
        return 0;
}
