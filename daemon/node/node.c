/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/secret.h"
#include "journal/journal.h"
#include "log/log.h"
#include "net/peer.h"
#include "net/tls.h"
#include "node/client_port.h"
#include "node/node.h"
#include "node/root_tree.h"
#include "node/tenant.h"
#include "node/tenant_config.h"
#include "codec/vr_codec.h"
#include "tree/tree.h"
#include "tree/tree_sm.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "util/u64map.h"
#include "vr/vr.h"

/* Ready sources handled before the batch, at most, before the I/O thread takes it instead. */
#define COMMIT_WAIT_SOURCES 4
/* Larger batches go to the I/O thread at once: they come from concurrent work, whose next batch
 * is likely on its way and would wait behind a sync on the loop; and the wake-ups saved per
 * batch are worth little per record. */
#define COMMIT_HERE_MAX 8
/* Ticks an administrative request waits for an answer before it is sent again (to the next
 * root replica, in case the one asked is down). */
#define ADMIN_RETRY_TICKS 50
struct admin_op {
        struct admin_op *next;
        uint8_t *command;
        size_t len;
        vs_node_root_done_fn done;
        void *userdata;
};

struct vs_node {
        sd_event *event;
        struct vs_conf conf;
        uint32_t self;
        uint64_t cluster_id;
        int state_fd;
        uint64_t rng;
        struct vs_node_callbacks cb;
        void *userdata;

        struct vs_journal *journal;
        sd_event_source *journal_src;
        sd_event_source *commit_src;   /* defer: a batch was appended */
        sd_event_source *commit_post;  /* post, while a batch waits for ready sources */
        sd_event_source *commit_again; /* defer at idle priority, likewise */
        unsigned commit_waited; /* sources handled first while a batch waits */
        struct vs_peer_set *peers;
        struct vs_tls_creds *client_tls; /* NULL: the client port is plain */
        struct vs_client_port *clients;
        sd_event_source *tick;

        struct vs_tenant **tenants;
        size_t n_tenants;
        struct u64map by_id; /* tenant id -> struct vs_tenant */
        uint64_t root_applied_seen;
        bool first_start; /* the state directory had no root configuration yet */

        /* The node's own session with the root group. */
        struct admin_op *admin_head, **admin_tail;
        uint64_t admin_client;
        uint64_t admin_request;   /* number of the request in flight (0: registering) */
        bool admin_registered;
        bool admin_in_flight;
        uint32_t admin_target;    /* index into the root's replicas */
        uint32_t admin_waited;
        sd_event_source *admin_defer;
        struct vs_tenant_config root;
};

uint64_t vs_node_random(struct vs_node *n) {
        uint64_t z = (n->rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

const struct vs_conf *vs_node_conf(const struct vs_node *n) {
        return &n->conf;
}

struct vs_journal *vs_node_journal(const struct vs_node *n) {
        return n->journal;
}

int vs_node_state_fd(const struct vs_node *n) {
        return n->state_fd;
}

uint64_t vs_node_cluster_id(const struct vs_node *n) {
        return n->cluster_id;
}

size_t vs_node_n_tenants(const struct vs_node *n) {
        return n->n_tenants;
}

struct vs_tenant *vs_node_tenant_at(const struct vs_node *n, size_t i) {
        return i < n->n_tenants ? n->tenants[i] : NULL;
}

struct vs_tenant *vs_node_find_tenant(const struct vs_node *n, const char *name) {
        for (size_t i = 0; i < n->n_tenants; i++)
                if (strcmp(vs_tenant_config(n->tenants[i])->name, name) == 0)
                        return n->tenants[i];
        return NULL;
}

size_t vs_node_n_peers_up(const struct vs_node *n) {
        return vs_peer_set_n_up(n->peers);
}

void vs_node_count_tenants(const struct vs_node *n, size_t *ret_hosted, size_t *ret_primary) {
        size_t hosted = 0, primary = 0;
        for (size_t i = 0; i < n->n_tenants; i++) {
                if (vs_tenant_config(n->tenants[i])->id == VS_ROOT_TENANT_ID)
                        continue;
                hosted++;
                primary += vr_replica_is_primary(vs_tenant_replica(n->tenants[i]));
        }
        *ret_hosted = hosted;
        *ret_primary = primary;
}

void vs_node_tenant_changed(struct vs_node *n, struct vs_tenant *t) {
        if (n->cb.tenant_changed)
                n->cb.tenant_changed(n, t, false, n->userdata);
}

/* The static cluster's identity: the same on every node whatever order its file lists nodes in. */
static uint64_t cluster_id_of(const struct vs_conf *conf) {
        const char *names[VS_CONF_NODES_MAX];
        for (size_t i = 0; i < conf->n_nodes; i++)
                names[i] = conf->nodes[i].name;
        for (size_t i = 1; i < conf->n_nodes; i++)
                for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                        const char *x = names[j];
                        names[j] = names[j - 1];
                        names[j - 1] = x;
                }
        struct vs_checksum_state s;
        vs_checksum_init(&s);
        for (size_t i = 0; i < conf->n_nodes; i++)
                vs_checksum_update(&s, names[i], strlen(names[i]) + 1);
        return vs_checksum_final(&s);
}

/* --- sending ------------------------------------------------------------------------------- */

void vs_node_send_replica(struct vs_node *n, const char *node, const char *tenant, const struct vr_msg *m) {
        Viewstamp__VrMessage pb;
        if (vs_vr_msg_to_pb(m, &pb) < 0)
                return; /* out of memory: the protocol retransmits */
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_VR;
        env.vr = &pb;
        int r = vs_peer_set_send(n->peers, node, &env);
        if (r < 0 && r != -ENOTCONN) {
                struct vs_log_ctx c = { .tenant = tenant, .peer = node };
                log_debug(&c, "dropped a %s: %s", vr_msg_type_name(m->type), strerror(-r));
        }
        vs_vr_pb_view_done(&pb);
}

static void admin_reply(struct vs_node *n, const Viewstamp__ClientReply *reply);

void vs_node_send_client(struct vs_node *n, uint64_t route, const char *tenant, const Viewstamp__ClientReply *reply) {
        if (!(route & VS_ROUTE_PEER)) {
                vs_client_port_send(n->clients, route, tenant, reply);
                return;
        }
        uint64_t idx = route & ~VS_ROUTE_PEER;
        if (idx == n->self) {
                admin_reply(n, reply);
                return;
        }
        if (idx >= n->conf.n_nodes)
                return;
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        env.client_reply = (Viewstamp__ClientReply *) reply;
        (void) vs_peer_set_send(n->peers, n->conf.nodes[idx].name, &env);
}

/* --- tenants ------------------------------------------------------------------------------- */

static int add_tenant(struct vs_node *n, const struct vs_tenant_config *config, const struct vs_scan_tenant *rec,
                      bool lost) {
        if (u64map_get(&n->by_id, config->id))
                return 0;
        struct vs_tenant **a = reallocarray(n->tenants, n->n_tenants + 1, sizeof *a);
        if (!a)
                return -ENOMEM;
        n->tenants = a;
        struct vs_tenant *t;
        int r = vs_tenant_new(n, config, rec, lost, &t);
        if (r < 0)
                return r;
        r = u64map_put(&n->by_id, config->id, t);
        if (r < 0) {
                vs_tenant_free(t);
                return r;
        }
        n->tenants[n->n_tenants++] = t;
        if (n->cb.tenant_changed)
                n->cb.tenant_changed(n, t, true, n->userdata);
        return 0;
}

int vs_node_refresh_tenant(struct vs_node *n, const struct vs_tenant_config *c) {
        struct vs_tenant *t = u64map_get(&n->by_id, c->id);
        return t ? vs_tenant_refresh_config(t, c) : 0;
}

static int recover_one(void *ctx, const struct vs_tenant_config *c) {
        struct vs_node *n = ctx;
        if (vs_tenant_config_index(c, n->conf.name) < 0)
                return 0; /* no longer ours (moved away): nothing to host */
        const struct vs_scan *scan = vs_journal_recovery(n->journal);
        const struct vs_scan_tenant *rec = vs_scan_find(scan, c->id);
        /* A configuration file without a journal: the journal was lost, not a new tenant (unless
         * it is the root tenant of a node that starts for the first time). */
        bool lost = !rec && vs_journal_created(n->journal) && !(c->id == VS_ROOT_TENANT_ID && n->first_start);
        return add_tenant(n, c, rec, lost);
}

struct discover_ctx {
        struct vs_node *node;
        struct tree *root;
        int error;
};

static int discover_one(void *userdata, const char *name, const struct tree_stat *st) {
        struct discover_ctx *d = userdata;
        struct vs_node *n = d->node;
        struct vs_tenant_config c;
        if (vs_root_tree_tenant(d->root, name, &c) < 0 || vs_tenant_config_index(&c, n->conf.name) < 0)
                return 0;
        if (u64map_get(&n->by_id, c.id)) {
                (void) vs_node_refresh_tenant(n, &c); /* logged; the next change of the root retries */
                return 0;
        }
        struct vs_log_ctx lc = { .tenant = c.name };
        size_t hosted, primary;
        vs_node_count_tenants(n, &hosted, &primary);
        if (hosted >= n->conf.max_tenants) {
                log_error(&lc, "not starting the replica this node is named for: it hosts %zu tenants, its limit (MaxTenants=%u)",
                          hosted, n->conf.max_tenants);
                return 0;
        }
        /* The file first: a restart must bring back every replica this node ever acknowledged for. */
        int r = vs_tenant_config_save(n->state_fd, &c);
        if (r >= 0)
                r = add_tenant(n, &c, NULL, false);
        if (r < 0) {
                log_error_errno(&lc, r, "cannot start the replica this node is named for");
                d->error = r;
        }
        return 0;
}

/* Starts replicas for tenants the root group's applied state names this node for. */
static void discover(struct vs_node *n) {
        struct vs_tenant *root = u64map_get(&n->by_id, VS_ROOT_TENANT_ID);
        if (!root)
                return;
        uint64_t applied = vr_replica_applied(vs_tenant_replica(root));
        if (applied == n->root_applied_seen)
                return;
        struct discover_ctx d = { n, vs_tenant_tree(root), 0 };
        tree_list(d.root, VS_ROOT_TENANTS_PATH, discover_one, &d);
        if (d.error == 0)
                n->root_applied_seen = applied;
}

/* --- the node's own root session ----------------------------------------------------------- */

static void admin_send(struct vs_node *n) {
        struct admin_op *op = n->admin_head;
        if (!op)
                return;
        Viewstamp__ClientRequest req = VIEWSTAMP__CLIENT_REQUEST__INIT;
        req.client_id = n->admin_client;
        req.request = n->admin_registered ? n->admin_request : 0;
        if (n->admin_registered)
                req.command = (ProtobufCBinaryData) { .len = op->len, .data = op->command };
        n->admin_in_flight = true;
        n->admin_waited = 0;

        const char *target = n->root.replicas[n->admin_target % n->root.n_replicas];
        if (strcmp(target, n->conf.name) == 0) {
                struct vs_tenant *root = u64map_get(&n->by_id, VS_ROOT_TENANT_ID);
                if (root)
                        vs_tenant_client_request(root, VS_ROUTE_PEER | n->self, &req);
                return;
        }
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) VS_ROOT_TENANT_NAME;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST;
        env.client_request = &req;
        (void) vs_peer_set_send(n->peers, target, &env);
}

/* Sending happens from a defer source, never from inside a reply or a replica's drive: the root
 * replica may be this node's own, and its answer must not re-enter it. */
static int on_admin_defer(sd_event_source *s, void *userdata) {
        admin_send(userdata);
        return 0;
}

static void admin_kick(struct vs_node *n) {
        if (n->admin_defer)
                sd_event_source_set_enabled(n->admin_defer, SD_EVENT_ONESHOT);
}

static void admin_complete(struct vs_node *n, int error, const Viewstamp__TreeResponse *resp) {
        struct admin_op *op = n->admin_head;
        n->admin_head = op->next;
        if (!n->admin_head)
                n->admin_tail = &n->admin_head;
        n->admin_request++;
        n->admin_in_flight = false;
        op->done(op->userdata, error, resp);
        free(op->command);
        free(op);
        admin_kick(n);
}

static void admin_reply(struct vs_node *n, const Viewstamp__ClientReply *reply) {
        uint64_t expect = n->admin_registered ? n->admin_request : 0;
        if (!n->admin_in_flight || reply->client_id != n->admin_client || reply->request != expect)
                return; /* a duplicate or a late answer to a retry */

        switch (reply->status) {
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_OK: {
                if (!n->admin_registered) {
                        n->admin_registered = true;
                        n->admin_request = 1;
                        admin_kick(n);
                        return;
                }
                _cleanup_tree_response_ Viewstamp__TreeResponse *resp = NULL;
                if (tree_sm_decode_reply(reply->reply.data, reply->reply.len, &resp) < 0)
                        return; /* garbage from a peer: the retry asks again */
                admin_complete(n, 0, resp);
                return;
        }
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT:
                for (uint32_t i = 0; i < n->root.n_replicas; i++) {
                        const struct vs_conf_node *cn = vs_conf_find_node(&n->conf, n->root.replicas[i]);
                        char a[VS_ADDRESS_STRING_MAX];
                        if (cn && strcmp(vs_address_to_string(&cn->client, a), reply->primary) == 0)
                                n->admin_target = i;
                }
                admin_kick(n);
                return;
        case VIEWSTAMP__CLIENT_STATUS__CLIENT_SESSION_EXPIRED:
                /* Nothing ran: start a new session and send the same operation again. */
                n->admin_client = vs_node_random(n);
                n->admin_registered = false;
                admin_kick(n);
                return;
        default:
                return; /* unavailable or busy: the tick retries */
        }
}

static void admin_tick(struct vs_node *n) {
        if (!n->admin_in_flight || ++n->admin_waited < ADMIN_RETRY_TICKS)
                return;
        n->admin_target++;
        admin_kick(n);
}

int vs_node_root_submit(struct vs_node *n, const uint8_t *command, size_t len, vs_node_root_done_fn done,
                        void *userdata) {
        struct admin_op *op = calloc(1, sizeof *op);
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
        *n->admin_tail = op;
        n->admin_tail = &op->next;
        if (!n->admin_in_flight)
                admin_kick(n);
        return 0;
}

/* --- events -------------------------------------------------------------------------------- */

static int node_index(const struct vs_node *n, const char *name) {
        for (size_t i = 0; i < n->conf.n_nodes; i++)
                if (strcmp(n->conf.nodes[i].name, name) == 0)
                        return (int) i;
        return -1;
}

static void on_peer_envelope(struct vs_peer_set *s, const char *node, const Viewstamp__Envelope *env, void *userdata) {
        struct vs_node *n = userdata;
        const char *tenant = env->header ? env->header->tenant : "";
        switch (env->body_case) {
        case VIEWSTAMP__ENVELOPE__BODY_VR: {
                struct vs_tenant *t = vs_node_find_tenant(n, tenant);
                if (t)
                        vs_tenant_receive(t, node, env->vr);
                return;
        }
        case VIEWSTAMP__ENVELOPE__BODY_CLIENT_REQUEST: {
                /* A node's own root session, forwarded over its link. */
                struct vs_tenant *t = vs_node_find_tenant(n, tenant);
                int idx = node_index(n, node);
                if (t && idx >= 0 && strcmp(tenant, VS_ROOT_TENANT_NAME) == 0)
                        vs_tenant_client_request(t, VS_ROUTE_PEER | (uint64_t) idx, env->client_request);
                return;
        }
        case VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY:
                if (strcmp(tenant, VS_ROOT_TENANT_NAME) == 0)
                        admin_reply(n, env->client_reply);
                return;
        default:
                return;
        }
}

static void on_peer_state(struct vs_peer_set *s, const char *node, bool up, void *userdata) {
        struct vs_node *n = userdata;
        if (up)
                admin_kick(n); /* an administrative request may have been waiting for this link */
}

static void on_durable(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        struct vs_node *n = ctx;
        struct vs_tenant *t = u64map_get(&n->by_id, tenant);
        if (t)
                vs_tenant_persisted(t, seq, error);
}

static void on_checkpoint(void *ctx, uint64_t tenant, uint64_t op, int error) {
        struct vs_node *n = ctx;
        struct vs_tenant *t = u64map_get(&n->by_id, tenant);
        if (t)
                vs_tenant_checkpoint_durable(t, op, error);
}

static int on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct vs_node *n = userdata;
        vs_journal_dispatch(n->journal, on_durable, on_checkpoint, n);
        return 0;
}

/* Whether none of the loop's descriptors is ready, by peeking at sd-event's epoll set. Every
 * source on this loop is level-triggered (sd-event's own timers and signals, sd-bus, net/conn,
 * the journal's eventfd), so an event reported here is reported again to sd-event. (poll() on
 * the epoll descriptor is no substitute: some kernels report it readable for entries that
 * epoll_wait() then finds not ready.) Frames queued for sending are not pending work: they left
 * from defer sources that run before this post source (net/conn.h). */
static bool loop_idle(struct vs_node *n) {
        struct epoll_event ev;
        return epoll_wait(sd_event_get_fd(n->event), &ev, 1, 0) == 0;
}

/* Everything appended while the loop handles what is ready goes to disk as one batch, from a
 * defer source that appends enable (vs_node_commit_soon()): it runs after the frames queued
 * meanwhile have left (net/conn.h), and costs no loop iteration when nothing was appended.
 * With nothing else ready and a small batch, the loop would only sleep until the I/O thread is
 * done, so it writes the batch itself and handles its completions at once, saving two thread wake-ups and an
 * iteration per batch. When something is ready (typically the slower backup's PrepareOk for an
 * op already committed) it is handled first, up to COMMIT_WAIT_SOURCES sources, from the post
 * source, enabled only meanwhile; then the batch goes to the I/O thread, which syncs while the
 * loop goes on. The idle-priority defer makes sure the wait ends even if no source runs. */
static void commit(struct vs_node *n) {
        size_t size = vs_journal_batch_size(n->journal);
        if (size > COMMIT_HERE_MAX)
                vs_journal_commit(n->journal);
        else if (size > 0) {
                if (loop_idle(n))
                        vs_journal_commit_here(n->journal, on_durable, on_checkpoint, n);
                else if (n->commit_waited < COMMIT_WAIT_SOURCES) {
                        n->commit_waited++;
                        (void) sd_event_source_set_enabled(n->commit_post, SD_EVENT_ON);
                        (void) sd_event_source_set_enabled(n->commit_again, SD_EVENT_ONESHOT);
                        return;
                } else
                        vs_journal_commit(n->journal);
        }
        n->commit_waited = 0;
        (void) sd_event_source_set_enabled(n->commit_post, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(n->commit_again, SD_EVENT_OFF);
}

void vs_node_commit_soon(struct vs_node *n) {
        (void) sd_event_source_set_enabled(n->commit_src, SD_EVENT_ONESHOT);
}

static int on_commit(sd_event_source *s, void *userdata) {
        commit(userdata);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vs_node *n = userdata;
        for (size_t i = 0; i < n->n_tenants; i++)
                vs_tenant_tick(n->tenants[i]);
        admin_tick(n);
        discover(n);
        return sd_event_source_set_time_relative(s, n->conf.tick_ms * 1000ULL);
}

/* --- life cycle ---------------------------------------------------------------------------- */

void vs_node_rebind(struct vs_node *n) {
        int r = vs_peer_set_listen(n->peers);
        if (r < 0)
                log_warning_errno(NULL, r, "cannot listen for peers again");
        r = vs_client_port_rebind(n->clients);
        if (r < 0)
                log_warning_errno(NULL, r, "cannot listen for clients again");
}

void vs_node_free(struct vs_node *n) {
        if (!n)
                return;
        sd_event_source_disable_unref(n->tick);
        n->admin_defer = sd_event_source_disable_unref(n->admin_defer);
        sd_event_source_disable_unref(n->commit_src);
        sd_event_source_disable_unref(n->commit_post);
        sd_event_source_disable_unref(n->commit_again);
        sd_event_source_disable_unref(n->journal_src);
        while (n->admin_head)
                admin_complete(n, -ESHUTDOWN, NULL);
        vs_client_port_free(n->clients);
        vs_tls_creds_free(n->client_tls);
        vs_peer_set_free(n->peers);
        for (size_t k = 0; k < n->n_tenants; k++)
                vs_tenant_free(n->tenants[k]);
        free(n->tenants);
        u64map_done(&n->by_id);
        if (n->journal)
                vs_journal_close(n->journal);
        if (n->state_fd >= 0)
                close(n->state_fd);
        free(n);
}

int vs_node_new(sd_event *e, const struct vs_conf *conf, const struct vs_node_callbacks *cb, void *userdata,
                struct vs_node **ret, char *err, size_t errlen) {
        _cleanup_(vs_secret_erase) struct vs_secret secret = {};
        struct vs_node *n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        n->event = e;
        n->conf = *conf;
        n->self = (uint32_t) node_index(n, conf->name);
        n->cluster_id = cluster_id_of(conf);
        n->state_fd = -1;
        n->admin_tail = &n->admin_head;
        if (cb)
                n->cb = *cb;
        n->userdata = userdata;
        if (getrandom(&n->rng, sizeof n->rng, 0) != sizeof n->rng)
                n->rng = (uint64_t) getpid() ^ (uint64_t) time(NULL);
        n->admin_client = vs_node_random(n);
        vs_tenant_config_root(conf, &n->root);
        n->admin_target = n->self % n->root.n_replicas;

        int r = 0;
        n->state_fd = open(conf->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (n->state_fd < 0) {
                r = -errno;
                snprintf(err, errlen, "state directory %s: %s", conf->state_dir, strerror(-r));
                goto fail;
        }
        /* Before the journal: a node refused for its secret leaves its state untouched. */
        r = vs_secret_load_conf(conf, &secret, err, errlen);
        if (r < 0)
                goto fail;
        if (conf->client_cert_file[0]) {
                char why[8400];
                r = vs_tls_creds_load_server(conf->client_cert_file, conf->client_key_file, &n->client_tls, why,
                                             sizeof why);
                if (r < 0) {
                        snprintf(err, errlen, "client TLS certificate: %s", why);
                        goto fail;
                }
        }
        struct vs_journal_options jo = {
                .dir = conf->state_dir,
                .cluster_id = n->cluster_id,
                .node_id = vs_checksum(conf->name, strlen(conf->name)),
        };
        r = vs_journal_open(&jo, &n->journal, err, errlen);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(e, &n->admin_defer, on_admin_defer, n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->admin_defer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_io(e, &n->journal_src, vs_journal_fd(n->journal), EPOLLIN, on_journal, n);
        if (r >= 0)
                r = sd_event_add_defer(e, &n->commit_src, on_commit, n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->commit_src, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_post(e, &n->commit_post, on_commit, n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->commit_post, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(e, &n->commit_again, on_commit, n);
        if (r >= 0)
                r = sd_event_source_set_priority(n->commit_again, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->commit_again, SD_EVENT_OFF);
        if (r < 0) {
                snprintf(err, errlen, "event loop: %s", strerror(-r));
                goto fail;
        }

        struct vs_peer_set_options po = { .cluster_id = n->cluster_id };
        static const struct vs_peer_set_callbacks pcb = { on_peer_envelope, on_peer_state };
        r = vs_peer_set_new(e, conf, &secret, &po, &pcb, n, &n->peers);
        if (r < 0) {
                snprintf(err, errlen, "peer links: %s", strerror(-r));
                goto fail;
        }

        /* Hosted tenants come back before anything is accepted: the root first, then the rest. */
        if (vs_tenant_config_index(&n->root, conf->name) >= 0) {
                n->first_start = vs_journal_created(n->journal) && !vs_tenant_config_exists(n->state_fd, VS_ROOT_TENANT_ID);
                r = vs_tenant_config_save(n->state_fd, &n->root);
                if (r < 0) {
                        snprintf(err, errlen, "cannot save the root tenant's configuration: %s", strerror(-r));
                        goto fail;
                }
        }
        r = vs_tenant_config_load_all(n->state_fd, recover_one, n, err, errlen);
        if (r < 0)
                goto fail;
        vs_journal_recovery_done(n->journal);

        const struct vs_conf_node *self = &conf->nodes[n->self];
        char a[VS_ADDRESS_STRING_MAX];
        r = vs_peer_set_listen(n->peers);
        if (r < 0) {
                snprintf(err, errlen, "cannot listen for peers on %s: %s", vs_address_to_string(&self->peer, a), strerror(-r));
                goto fail;
        }
        r = vs_client_port_new(e, n, &n->conf, n->client_tls, &n->clients);
        if (r < 0) {
                snprintf(err, errlen, "cannot listen for clients on %s: %s", vs_address_to_string(&self->client, a),
                         strerror(-r));
                goto fail;
        }
        r = sd_event_add_time_relative(e, &n->tick, CLOCK_MONOTONIC, conf->tick_ms * 1000ULL, 0, on_tick, n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->tick, SD_EVENT_ON);
        if (r < 0) {
                snprintf(err, errlen, "tick timer: %s", strerror(-r));
                goto fail;
        }
        *ret = n;
        return 0;
fail:
        vs_node_free(n);
        return r;
}
