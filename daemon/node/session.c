/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_internal.h"
#include "node/session.h"
#include "node/tenant.h"

struct session_op {
        struct session_op *next;
        uint8_t *command;
        size_t len;
        vs_session_done_fn done;
        void *userdata;
};

struct vs_session {
        struct vs_node *node;
        char tenant[VS_TENANT_NAME_MAX + 1];
        uint32_t n_nodes;
        char nodes[2 * VS_TENANT_REPLICAS_MAX][VS_CONF_NAME_MAX + 1];
        char target[VS_CONF_NAME_MAX + 1];
        uint32_t next_node; /* where a timeout goes next */
        struct session_op *head, **tail;
        uint64_t client;
        bool fixed;       /* the client id is the caller's */
        uint64_t request; /* number of the request in flight once registered */
        bool registered;
        bool in_flight;
        uint32_t waited;
        sd_event_source *defer;
};

static void send_current(struct vs_session *s) {
        struct session_op *op = s->head;
        struct vs_node *n = s->node;
        if (!op || !s->target[0])
                return;
        Viewstamp__ClientRequest req = VIEWSTAMP__CLIENT_REQUEST__INIT;
        req.client_id = s->client;
        req.request = s->registered ? s->request : 0;
        if (s->registered)
                req.command = (ProtobufCBinaryData) { .len = op->len, .data = op->command };
        s->in_flight = true;
        s->waited = 0;

        if (strcmp(s->target, n->conf.name) == 0) {
                struct vs_tenant *t = vs_node_find_tenant(n, s->tenant);
                if (t)
                        vs_tenant_client_request(t, vs_node_peer_route(n, n->conf.name), &req, false);
                return;
        }
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = s->tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST;
        env.client_request = &req;
        (void) vs_peer_set_send(n->peers, s->target, &env);
}

static int on_defer(sd_event_source *src, void *userdata) {
        send_current(userdata);
        return 0;
}

void vs_session_kick(struct vs_session *s) {
        if (s && s->head)
                sd_event_source_set_enabled(s->defer, SD_EVENT_ONESHOT);
}

int vs_session_new(struct vs_node *n, const char *tenant, struct vs_session **ret) {
        struct vs_session **a = reallocarray(n->sessions, n->n_sessions + 1, sizeof *a);
        if (!a)
                return -ENOMEM;
        n->sessions = a;
        struct vs_session *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->node = n;
        snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
        s->tail = &s->head;
        s->client = vs_node_random(n);
        int r = sd_event_add_defer(n->event, &s->defer, on_defer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->defer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_disable_unref(s->defer);
                free(s);
                return r;
        }
        n->sessions[n->n_sessions++] = s;
        *ret = s;
        return 0;
}

int vs_session_new_fixed(struct vs_node *n, const char *tenant, uint64_t client_id, struct vs_session **ret) {
        if (client_id == 0)
                return -EINVAL;
        int r = vs_session_new(n, tenant, ret);
        if (r < 0)
                return r;
        (*ret)->client = client_id;
        (*ret)->fixed = true;
        (*ret)->registered = true;
        (*ret)->request = 1;
        return 0;
}

static void complete(struct vs_session *s, int error, const Viewstamp__ClientReply *reply) {
        struct session_op *op = s->head;
        s->head = op->next;
        if (!s->head)
                s->tail = &s->head;
        s->request++;
        s->in_flight = false;
        op->done(op->userdata, error, reply);
        free(op->command);
        free(op);
        vs_session_kick(s);
}

void vs_session_free(struct vs_session *s) {
        if (!s)
                return;
        struct vs_node *n = s->node;
        for (size_t i = 0; i < n->n_sessions; i++)
                if (n->sessions[i] == s)
                        n->sessions[i] = n->sessions[--n->n_sessions];
        s->defer = sd_event_source_disable_unref(s->defer);
        while (s->head)
                complete(s, -ESHUTDOWN, NULL);
        free(s);
}

const char *vs_session_tenant(const struct vs_session *s) {
        return s->tenant;
}

void vs_session_set_nodes(struct vs_session *s, const char *const *nodes, uint32_t n) {
        s->n_nodes = 0;
        bool target_kept = false;
        for (uint32_t i = 0; i < n && s->n_nodes < sizeof s->nodes / sizeof *s->nodes; i++) {
                snprintf(s->nodes[s->n_nodes++], sizeof *s->nodes, "%s", nodes[i]);
                target_kept |= strcmp(nodes[i], s->target) == 0;
        }
        if (target_kept || s->n_nodes == 0)
                return;
        /* This node first: its own replica needs no link. */
        snprintf(s->target, sizeof s->target, "%s", s->nodes[0]);
        for (uint32_t i = 0; i < s->n_nodes; i++)
                if (strcmp(s->nodes[i], s->node->conf.name) == 0)
                        snprintf(s->target, sizeof s->target, "%s", s->nodes[i]);
}

int vs_session_submit(struct vs_session *s, const uint8_t *command, size_t len, vs_session_done_fn done,
                      void *userdata) {
        struct session_op *op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        op->command = malloc(len ? len : 1);
        if (!op->command) {
                free(op);
                return -ENOMEM;
        }
        memcpy(op->command, command, len);
        op->len = len;
        op->done = done;
        op->userdata = userdata;
        *s->tail = op;
        s->tail = &op->next;
        if (!s->in_flight)
                vs_session_kick(s);
        return 0;
}

/* The member whose client address a redirect names. */
static void redirect(struct vs_session *s, const char *address) {
        const struct vs_members *m = vs_node_members(s->node);
        for (size_t i = 0; i < m->n; i++) {
                char a[VS_ADDRESS_STRING_MAX];
                if (strcmp(vs_address_to_string(&m->v[i].node.client, a), address) == 0)
                        snprintf(s->target, sizeof s->target, "%s", m->v[i].node.name);
        }
}

void vs_session_reply(struct vs_session *s, const Viewstamp__ClientReply *reply) {
        uint64_t expect = s->registered ? s->request : 0;
        if (!s->in_flight || reply->client_id != s->client || reply->request != expect)
                return; /* a duplicate or a late answer to a retry */

        switch (reply->status) {
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_OK:
                if (!s->registered) {
                        s->registered = true;
                        s->request = 1;
                        vs_session_kick(s);
                        return;
                }
                complete(s, 0, reply);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT:
                if (reply->primary)
                        redirect(s, reply->primary);
                vs_session_kick(s);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_SESSION_EXPIRED:
                /* Nothing ran: start a new session and send the same operation again. */
                if (!s->fixed)
                        s->client = vs_node_random(s->node);
                s->registered = false;
                vs_session_kick(s);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_BAD_REQUEST:
                complete(s, -EINVAL, NULL); /* nothing ran, and never will */
                return;
        default:
                return; /* unavailable or busy: the tick retries */
        }
}

void vs_session_tick(struct vs_session *s) {
        if (!s->in_flight || ++s->waited < SESSION_RETRY_TICKS || s->n_nodes == 0)
                return;
        snprintf(s->target, sizeof s->target, "%s", s->nodes[s->next_node++ % s->n_nodes]);
        vs_session_kick(s);
}
