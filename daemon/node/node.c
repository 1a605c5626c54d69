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
#include "node/identity.h"
#include "node/node_internal.h"
#include "node/placement.h"
#include "node/reconfig.h"
#include "node/root_group.h"
#include "node/session.h"
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
 * batch are worth little per record. So do batches holding a primary's records: its loop must
 * stay free for the PrepareOks, which commit an op without the primary's own sync once f
 * backups have it (three replicas: the faster two of three syncs). */
#define COMMIT_HERE_MAX 8

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

sd_event *vs_node_event(const struct vs_node *n) {
        return n->event;
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
        return n->peers ? vs_peer_set_n_up(n->peers) : 0;
}

int vs_node_place_tenant(const struct vs_node *n, uint32_t count, struct vs_tenant_config *ret) {
        return vs_placement_pick(&n->members, &n->cluster, &n->root, ret->name, count, ret);
}

bool vs_node_member_reachable(const struct vs_node *n, const char *name) {
        if (!n->peers)
                return false;
        return strcmp(name, n->conf.name) == 0 || vs_peer_set_is_up(n->peers, name);
}

uint64_t vs_node_member_last_seen(const struct vs_node *n, const char *name) {
        uint64_t now = 0;
        if (!n->peers)
                return 0;
        if (strcmp(name, n->conf.name) == 0)
                return sd_event_now(n->event, CLOCK_REALTIME, &now) >= 0 ? now : 0;
        return vs_peer_set_last_seen(n->peers, name);
}

bool vs_node_in_cluster(const struct vs_node *n) {
        return n->started;
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

void vs_node_send_replica(struct vs_node *n, const char *const *nodes, size_t n_nodes, const char *tenant,
                          const struct vr_msg *m) {
        Viewstamp__VrMessage pb;
        if (vs_vr_msg_to_pb(m, &pb) < 0)
                return; /* out of memory: the protocol retransmits */
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_VR;
        env.vr = &pb;
        int r[VR_MAX_REPLICAS];
        if (n_nodes > VR_MAX_REPLICAS)
                n_nodes = VR_MAX_REPLICAS;
        vs_peer_set_send_each(n->peers, nodes, n_nodes, &env, r);
        for (size_t i = 0; i < n_nodes; i++)
                if (r[i] < 0 && r[i] != -ENOTCONN) {
                        struct vs_log_ctx c = { .tenant = tenant, .peer = nodes[i] };
                        log_debug(&c, "dropped a %s: %s", vr_msg_type_name(m->type), strerror(-r[i]));
                }
        vs_vr_pb_view_done(&pb);
}

/* A reply to one of this node's own sessions. */
static void session_reply(struct vs_node *n, const char *tenant, const Viewstamp__ClientReply *reply) {
        for (size_t i = 0; i < n->n_sessions; i++)
                if (strcmp(vs_session_tenant(n->sessions[i]), tenant) == 0)
                        vs_session_reply(n->sessions[i], reply);
}

void vs_node_send_client(struct vs_node *n, uint64_t route, const char *tenant, const Viewstamp__ClientReply *reply) {
        if (!(route & VS_ROUTE_PEER)) {
                vs_client_port_send(n->clients, route, tenant, reply);
                return;
        }
        uint64_t idx = route & ~VS_ROUTE_PEER;
        if (idx >= n->n_routes)
                return;
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) tenant;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY;
        env.client_reply = (Viewstamp__ClientReply *) reply;
        if (strcmp(n->routes[idx], n->conf.name) == 0)
                session_reply(n, tenant, reply);
        else
                (void) vs_peer_set_send(n->peers, n->routes[idx], &env);
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

int vs_node_host_tenant(struct vs_node *n, const struct vs_tenant_config *c) {
        struct vs_tenant *t = u64map_get(&n->by_id, c->id);
        if (t)
                return vs_tenant_refresh_config(t, c);
        void *gone = u64map_get(&n->forgotten, c->id);
        if (gone) {
                struct vs_log_ctx lc = { .tenant = c->name };
                if (gone == (void *) 1)
                        log_error(&lc, "not starting the replica this node is named for: it held one of this tenant "
                                       "before, and cannot hold one again in this version");
                return u64map_put(&n->forgotten, c->id, (void *) 2);
        }
        size_t hosted, primary;
        vs_node_count_tenants(n, &hosted, &primary);
        if (hosted >= n->conf.max_tenants) {
                if (u64map_get(&n->over_limit, c->id))
                        return 0;
                struct vs_log_ctx lc = { .tenant = c->name };
                log_error(&lc, "not starting the replica this node is named for: it hosts %zu tenants, its limit (MaxTenants=%u)",
                          hosted, n->conf.max_tenants);
                return u64map_put(&n->over_limit, c->id, (void *) 1);
        }
        (void) u64map_remove(&n->over_limit, c->id);
        /* The file first: a restart must bring back every replica this node ever acknowledged for. */
        int r = vs_tenant_config_save(n->state_fd, c);
        return r < 0 ? r : add_tenant(n, c, NULL, false);
}

/* The tenant is gone from the journal for good: its configuration and checkpoints follow. */
static void remove_files(struct vs_node *n, uint64_t tenant) {
        int r = vs_tenant_config_remove(n->state_fd, tenant);
        if (r >= 0)
                r = vs_checkpoint_prune(n->state_fd, tenant, UINT64_MAX);
        if (r < 0)
                log_warning_errno(NULL, r, "cannot remove the files of deleted tenant %016" PRIx64, tenant);
        else
                log_info(NULL, "removed the files of deleted tenant %016" PRIx64, tenant);
}

void vs_node_drop_tenant(struct vs_node *n, struct vs_tenant *t, const char *why) {
        uint64_t id = vs_tenant_config(t)->id;
        char name[VS_TENANT_NAME_MAX + 1];
        strcpy(name, vs_tenant_config(t)->name); /* t goes before the last log line */
        struct vs_log_ctx c = { .tenant = name };
        if (n->cb.tenant_removed)
                n->cb.tenant_removed(n, t, n->userdata);
        for (size_t i = 0; i < n->n_tenants; i++)
                if (n->tenants[i] == t) {
                        memmove(&n->tenants[i], &n->tenants[i + 1], (n->n_tenants - i - 1) * sizeof *n->tenants);
                        n->n_tenants--;
                        break;
                }
        u64map_remove(&n->by_id, id);
        (void) u64map_put(&n->forgotten, id, (void *) 1);
        vs_tenant_free(t);
        log_notice(&c, "%s: replica stopped", why);

        uint64_t seq;
        struct forgetting *a = reallocarray(n->forgetting, n->n_forgetting + 1, sizeof *a);
        int r = a ? vs_journal_forget(n->journal, id, &seq) : -ENOMEM;
        if (r < 0) {
                /* The files stay: the next start brings the replica back and drops it again. */
                log_error_errno(&c, r, "cannot delete the tenant's records");
                if (a)
                        n->forgetting = a;
                return;
        }
        n->forgetting = a;
        n->forgetting[n->n_forgetting++] = (struct forgetting) { id, seq };
        vs_node_commit_soon(n, false);
}

static void forget_durable(struct vs_node *n, uint64_t tenant, uint64_t seq, int error) {
        for (size_t i = 0; i < n->n_forgetting; i++) {
                struct forgetting *f = &n->forgetting[i];
                if (f->tenant != tenant || error < 0 || seq < f->seq)
                        continue;
                remove_files(n, tenant);
                *f = n->forgetting[--n->n_forgetting];
                return;
        }
}

int vs_node_refresh_tenant(struct vs_node *n, const struct vs_tenant_config *c) {
        struct vs_tenant *t = u64map_get(&n->by_id, c->id);
        return t ? vs_tenant_refresh_config(t, c) : 0;
}

static int recover_one(void *ctx, const struct vs_tenant_config *c) {
        struct vs_node *n = ctx;
        if (!vs_tenant_config_named(c, n->conf.name))
                return 0; /* not ours */
        const struct vs_scan *scan = vs_journal_recovery(n->journal);
        if (vs_scan_forgotten(scan, c->id)) {
                remove_files(n, c->id); /* deleted, and stopped before its files went */
                return u64map_put(&n->forgotten, c->id, (void *) 1);
        }
        const struct vs_scan_tenant *rec = vs_scan_find(scan, c->id);
        /* A configuration file without a journal: the journal was lost, not a new tenant (unless
         * it is the root tenant of a node that starts for the first time). */
        bool lost = !rec && vs_journal_created(n->journal) && !(c->id == VS_ROOT_TENANT_ID && n->first_start);
        return add_tenant(n, c, rec, lost);
}

/* --- the node's own root session ----------------------------------------------------------- */

struct root_op {
        vs_node_root_done_fn done;
        void *userdata;
};

static void root_done(void *userdata, int error, const Viewstamp__ClientReply *reply) {
        _cleanup_free_ struct root_op *op = userdata;
        _cleanup_tree_response_ Viewstamp__TreeResponse *resp = NULL;
        if (error >= 0 && tree_sm_decode_reply(reply->reply.data, reply->reply.len, &resp) < 0)
                error = -EBADMSG;
        op->done(op->userdata, error, resp);
}

int vs_node_root_submit(struct vs_node *n, const uint8_t *command, size_t len, vs_node_root_done_fn done,
                        void *userdata) {
        if (!n->started)
                return -ENOTCONN;
        _cleanup_free_ struct root_op *op = malloc(sizeof *op);
        if (!op)
                return -ENOMEM;
        *op = (struct root_op) { done, userdata };
        int r = vs_session_submit(n->admin, command, len, root_done, op);
        if (r >= 0)
                TAKE_PTR(op);
        return r;
}

static void ignore_answer(void *userdata, int error, const Viewstamp__TreeResponse *response) {
}

int vs_node_root_get(struct vs_node *n, const char *path, vs_node_root_done_fn done, void *userdata) {
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t len;
        int r = tree_sm_encode_get(path, &cmd, &len);
        return r < 0 ? r : vs_node_root_submit(n, cmd, len, done, userdata);
}

int vs_node_root_ensure_folder(struct vs_node *n, const char *path) {
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t len;
        int r = tree_sm_encode_create(path, NULL, 0, 0, &cmd, &len);
        return r < 0 ? r : vs_node_root_submit(n, cmd, len, ignore_answer, NULL);
}

/* --- events -------------------------------------------------------------------------------- */

uint64_t vs_node_peer_route(struct vs_node *n, const char *node) {
        size_t i = 0;
        while (i < n->n_routes && strcmp(n->routes[i], node) != 0)
                i++;
        if (i == n->n_routes) {
                /* Names come from peer links, whose Hellos name known members only: bounded. */
                char (*a)[VS_CONF_NAME_MAX + 1] = reallocarray(n->routes, n->n_routes + 1, sizeof *a);
                if (!a)
                        return VS_ROUTE_PEER | UINT32_MAX; /* routes nowhere: the request is retried */
                n->routes = a;
                snprintf(a[n->n_routes++], sizeof *a, "%s", node);
        }
        return VS_ROUTE_PEER | i;
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
                /* A node's own session (node/session.h), forwarded over its link. */
                struct vs_tenant *t = vs_node_find_tenant(n, tenant);
                if (t)
                        vs_tenant_client_request(t, vs_node_peer_route(n, node), env->client_request, false);
                return;
        }
        case VIEWSTAMP__ENVELOPE__BODY_CLIENT_REPLY:
                session_reply(n, tenant, env->client_reply);
                return;
        case VIEWSTAMP__ENVELOPE__BODY_ROOT_CONFIG:
                vs_node_root_heard(n, env->root_config);
                return;
        default:
                return;
        }
}

static void on_peer_state(struct vs_peer_set *s, const char *node, bool up, void *userdata) {
        struct vs_node *n = userdata;
        if (up)
                for (size_t i = 0; i < n->n_sessions; i++)
                        vs_session_kick(n->sessions[i]); /* a request may have been waiting for this link */
}

static void on_durable(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        struct vs_node *n = ctx;
        struct vs_tenant *t = u64map_get(&n->by_id, tenant);
        if (t)
                vs_tenant_persisted(t, seq, error);
        else
                forget_durable(n, tenant, seq, error);
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
 * With nothing else ready and a small batch of backups' records, the loop would only sleep until
 * the I/O thread is done, so it writes the batch itself and handles its completions at once,
 * saving two thread wake-ups and an iteration per batch. When something is ready (a Commit, a
 * client's request) it is handled first, up to COMMIT_WAIT_SOURCES sources, from the post
 * source, enabled only meanwhile; then the batch goes to the I/O thread, which syncs while the
 * loop goes on. The idle-priority defer makes sure the wait ends even if no source runs. */
static void commit(struct vs_node *n) {
        size_t size = vs_journal_batch_size(n->journal);
        bool here = size > 0 && size <= COMMIT_HERE_MAX && !n->batch_primary;
        bool idle = here && loop_idle(n);
        if (here && !idle && n->commit_waited < COMMIT_WAIT_SOURCES) {
                n->commit_waited++;
                (void) sd_event_source_set_enabled(n->commit_post, SD_EVENT_ON);
                (void) sd_event_source_set_enabled(n->commit_again, SD_EVENT_ONESHOT);
                return;
        }
        n->commit_waited = 0;
        n->batch_primary = false; /* before the callbacks below append the next batch */
        (void) sd_event_source_set_enabled(n->commit_post, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(n->commit_again, SD_EVENT_OFF);
        if (idle)
                vs_journal_commit_here(n->journal, on_durable, on_checkpoint, n);
        else if (size > 0)
                vs_journal_commit(n->journal);
}

void vs_node_commit_soon(struct vs_node *n, bool primary) {
        n->batch_primary = n->batch_primary || primary;
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
        for (size_t i = n->n_tenants; i-- > 0;)
                if (vs_tenant_stopped(n->tenants[i]))
                        vs_node_drop_tenant(n, n->tenants[i], "the replica left its group");
        for (size_t i = 0; i < n->n_sessions; i++)
                vs_session_tick(n->sessions[i]);
        vs_node_reconfig_tick(n);
        vs_node_follow_tick(n);
        return sd_event_source_set_time_relative(s, n->conf.tick_ms * 1000ULL);
}

/* --- life cycle ---------------------------------------------------------------------------- */

void vs_node_rebind(struct vs_node *n) {
        if (!n->started)
                return;
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
        sd_event_source_disable_unref(n->commit_src);
        sd_event_source_disable_unref(n->commit_post);
        sd_event_source_disable_unref(n->commit_again);
        sd_event_source_disable_unref(n->journal_src);
        /* The root session first: what a reconfiguration waits for from the root ends it. */
        vs_session_free(n->admin);
        vs_node_reconfig_done(n);
        free(n->sessions);
        vs_node_follow_done(n);
        vs_node_join_done(n);
        vs_client_port_free(n->clients);
        vs_tls_creds_free(n->client_tls);
        vs_peer_set_free(n->peers);
        for (size_t k = 0; k < n->n_tenants; k++)
                vs_tenant_free(n->tenants[k]);
        free(n->tenants);
        u64map_done(&n->by_id);
        u64map_done(&n->forgotten);
        u64map_done(&n->over_limit);
        vs_members_done(&n->members);
        free(n->routes);
        free(n->forgetting);
        if (n->journal)
                vs_journal_close(n->journal);
        if (n->state_fd >= 0)
                close(n->state_fd);
        free(n);
}

/* Everything that needs the cluster's identity: the journal, peer links, hosted tenants,
 * listeners, the tick. On failure the caller frees the node (at start) or exits (after
 * InitCluster/JoinCluster: the next start picks up where this one stopped). */
int vs_node_start(struct vs_node *n, char *err, size_t errlen) {
        sd_event *e = n->event;
        const struct vs_conf *conf = &n->conf;
        /* Before the journal: a node refused for its secret leaves its state untouched. */
        _cleanup_(vs_secret_erase) struct vs_secret secret = {};
        int r = vs_secret_load_conf(conf, &secret, err, errlen);
        if (r < 0)
                return r;
        if (conf->client_cert_file[0]) {
                char why[8400];
                r = vs_tls_creds_load_server(conf->client_cert_file, conf->client_key_file, &n->client_tls, why,
                                             sizeof why);
                if (r < 0) {
                        snprintf(err, errlen, "client TLS certificate: %s", why);
                        return r;
                }
        }
        struct vs_journal_options jo = {
                .dir = conf->state_dir,
                .cluster_id = n->cluster_id,
                .node_id = vs_checksum(conf->name, strlen(conf->name)),
        };
        r = vs_journal_open(&jo, &n->journal, err, errlen);
        if (r < 0)
                return r;
        r = vs_session_new(n, VS_ROOT_TENANT_NAME, &n->admin);
        if (r >= 0) {
                vs_node_root_session_nodes(n);
                r = sd_event_add_io(e, &n->journal_src, vs_journal_fd(n->journal), EPOLLIN, on_journal, n);
        }
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
                return r;
        }

        r = vs_node_members_init(n, err, errlen);
        if (r < 0)
                return r;
        /* The peer set starts from this node alone when the membership is not static. */
        struct vs_conf pconf = *conf;
        if (!vs_conf_is_static(conf)) {
                pconf.n_nodes = 1;
                (void) vs_conf_self(conf, &pconf.nodes[0]);
        }
        /* Only a cluster formed at run time takes joins: a static one lists its nodes. */
        struct vs_peer_set_options po = {
                .cluster_id = n->cluster_id,
                .join_secret = n->has_identity ? &n->identity.join_secret : NULL,
        };
        static const struct vs_peer_set_callbacks pcb = { on_peer_envelope, on_peer_state, vs_node_on_join };
        r = vs_peer_set_new(e, &pconf, &secret, &po, &pcb, n, &n->peers);
        if (r >= 0)
                r = vs_node_members_start_peers(n);
        if (r < 0) {
                snprintf(err, errlen, "peer links: %s", strerror(-r));
                return r;
        }

        /* Hosted tenants come back before anything is accepted: the root first, then the rest. */
        if (vs_tenant_config_index(&n->root, conf->name) >= 0) {
                n->first_start = vs_journal_created(n->journal) && !vs_tenant_config_exists(n->state_fd, VS_ROOT_TENANT_ID);
                r = vs_tenant_config_save(n->state_fd, &n->root);
                if (r < 0) {
                        snprintf(err, errlen, "cannot save the root tenant's configuration: %s", strerror(-r));
                        return r;
                }
        }
        r = vs_tenant_config_load_all(n->state_fd, recover_one, n, err, errlen);
        if (r < 0)
                return r;
        vs_journal_recovery_done(n->journal);

        const struct vs_conf_node *self = vs_node_find_member(n, conf->name);
        char a[VS_ADDRESS_STRING_MAX];
        r = vs_peer_set_listen(n->peers);
        if (r < 0) {
                snprintf(err, errlen, "cannot listen for peers on %s: %s", vs_address_to_string(&self->peer, a), strerror(-r));
                return r;
        }
        r = vs_client_port_new(e, n, &n->conf, &self->client, n->client_tls, &n->clients);
        if (r < 0) {
                snprintf(err, errlen, "cannot listen for clients on %s: %s", vs_address_to_string(&self->client, a),
                         strerror(-r));
                return r;
        }
        /* Accuracy 0 would let sd-event coalesce the tick by up to 250 ms: an idle node would tick at 4 Hz. */
        r = sd_event_add_time_relative(e, &n->tick, CLOCK_MONOTONIC, conf->tick_ms * 1000ULL, 1, on_tick, n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->tick, SD_EVENT_ON);
        if (r < 0) {
                snprintf(err, errlen, "tick timer: %s", strerror(-r));
                return r;
        }
        n->started = true;
        vs_node_register(n);
        return 0;
}

int vs_node_new(sd_event *e, const struct vs_conf *conf, const struct vs_node_callbacks *cb, void *userdata,
                struct vs_node **ret, char *err, size_t errlen) {
        struct vs_node *n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        n->event = e;
        n->conf = *conf;
        n->state_fd = -1;
        if (cb)
                n->cb = *cb;
        n->userdata = userdata;
        if (getrandom(&n->rng, sizeof n->rng, 0) != sizeof n->rng)
                n->rng = (uint64_t) getpid() ^ (uint64_t) time(NULL);

        int r = 0;
        n->state_fd = open(conf->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (n->state_fd < 0) {
                r = -errno;
                snprintf(err, errlen, "state directory %s: %s", conf->state_dir, strerror(-r));
                goto fail;
        }
        if (vs_conf_is_static(conf)) {
                n->cluster_id = cluster_id_of(conf);
                vs_tenant_config_root(conf, &n->root);
        } else {
                r = vs_identity_load(n->state_fd, &n->identity);
                if (r == -ENOENT) {
                        log_notice(NULL, "not part of a cluster yet: waiting for InitCluster or JoinCluster");
                        *ret = n;
                        return 0;
                }
                if (r < 0) {
                        snprintf(err, errlen, "cluster identity: %s", r == -EBADMSG ? "damaged" : strerror(-r));
                        goto fail;
                }
                n->has_identity = true;
                n->cluster_id = n->identity.cluster_id;
                n->root = n->identity.root;
        }
        r = vs_node_start(n, err, errlen);
        if (r < 0)
                goto fail;
        *ret = n;
        return 0;
fail:
        vs_node_free(n);
        return r;
}
