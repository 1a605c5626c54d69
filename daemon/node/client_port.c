/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "net/conn.h"
#include "net/listener.h"
#include "node/client_port.h"
#include "node/node.h"
#include "node/tenant.h"
#include "util/u64map.h"

/* A client connection must send its first frame within this time (half-open connections). */
#define CLIENT_HANDSHAKE_USEC (10ULL * 1000 * 1000)

struct client_conn {
        struct vs_client_port *port;
        struct vs_conn *conn;
        uint64_t serial;
};

struct vs_client_port {
        sd_event *event;
        struct vs_node *node;
        const struct vs_conf *conf;
        struct vs_address addr;
        struct vs_listener *listener;
        struct u64map conns; /* serial -> struct client_conn */
        uint64_t next_serial;
};

/* Ends a client connection and gives its slot back to the listener. */
static void client_conn_free(struct client_conn *cc) {
        struct vs_client_port *p = cc->port;
        u64map_remove(&p->conns, cc->serial);
        vs_conn_free(cc->conn);
        if (p->listener)
                vs_listener_release(p->listener);
        free(cc);
}

void vs_client_port_send(struct vs_client_port *p, uint64_t route, const char *tenant,
                         const Viewstamp__ClientReply *reply) {
        struct client_conn *cc = u64map_get(&p->conns, route);
        if (!cc)
                return;
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

static void reply_status(struct vs_conn *c, const Viewstamp__Envelope *env, Viewstamp__ClientStatus status,
                         const char *message) {
        Viewstamp__ClientReply reply = VIEWSTAMP__CLIENT_REPLY__INIT;
        reply.client_id = env->client_request->client_id;
        reply.request = env->client_request->request;
        reply.status = status;
        reply.message = (char *) message;
        Viewstamp__Envelope out = VIEWSTAMP__ENVELOPE__INIT;
        out.header = env->header;
        out.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        out.client_reply = &reply;
        (void) vs_conn_send(c, &out);
}

static int on_client_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct client_conn *cc = userdata;
        if (env->body_case != VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST)
                return -EBADMSG; /* only requests belong on the client port */
        struct vs_tenant *t = vs_node_find_tenant(cc->port->node, env->header->tenant);
        if (!t || strcmp(env->header->tenant, VS_ROOT_TENANT_NAME) == 0) {
                reply_status(c, env, VIEWSTAMP__CLIENT_STATUS__CLIENT_NO_TENANT, "this node hosts no replica of that tenant");
                return 0;
        }
        vs_tenant_client_request(t, cc->serial, env->client_request);
        return 0;
}

static void on_client_close(struct vs_conn *c, int reason, void *userdata) {
        client_conn_free(userdata);
}

static int on_client_accept(struct vs_listener *l, int fd, const struct vs_address *remote, void *userdata) {
        struct vs_client_port *p = userdata;
        struct client_conn *cc = calloc(1, sizeof *cc);
        if (!cc) {
                close(fd);
                return -ENOMEM;
        }
        static const struct vs_conn_callbacks cb = { on_client_envelope, on_client_close };
        struct vs_conn_options o = { .max_frame = p->conf->max_frame_bytes, .handshake_timeout_usec = CLIENT_HANDSHAKE_USEC };
        cc->port = p;
        cc->serial = ++p->next_serial;
        int r = vs_conn_new(p->event, fd, &o, &cb, cc, &cc->conn);
        if (r >= 0)
                r = u64map_put(&p->conns, cc->serial, cc);
        if (r < 0) {
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
                free(cc);
        }
        u64map_done(&p->conns);
        vs_listener_free(p->listener);
        free(p);
}

int vs_client_port_new(sd_event *e, struct vs_node *node, const struct vs_conf *conf, struct vs_client_port **ret) {
        const struct vs_conf_node *self = vs_conf_find_node(conf, conf->name);
        if (!self)
                return -ENOENT;
        struct vs_client_port *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event = e;
        p->node = node;
        p->conf = conf;
        p->addr = self->client;
        int r = vs_client_port_rebind(p);
        if (r < 0) {
                vs_client_port_free(p);
                return r;
        }
        *ret = p;
        return 0;
}
