/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "node/node_internal.h"
#include "node/root_group.h"
#include "node/tenant.h"
#include "tree/error.h"
#include "tree/tree.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "vr/vr.h"

/*
 * Every node follows the root group's /nodes, /tenants and /root. A node hosting the root's
 * primary reads its replica's applied state whenever it moved; the others read the root through
 * their admin session (linearizable reads at the root primary) every FOLLOW_INTERVAL_MSEC: a list
 * of each folder with stats and a get of /root, then a get of every entry that changed since the
 * last read. A backup's applied state may be far behind (a replica restarted from its journal,
 * one still joining the group): read as the cluster's state, it would bring back replicas the
 * cluster moved or deleted since. What was read is applied on the next tick, outside any peer
 * link's callback (applying may remove a peer).
 */

const struct vs_cluster_state *vs_node_cluster(const struct vs_node *n) {
        return &n->cluster;
}

static void bad_entry(struct vs_cluster_state *st, const char *folder, const char *name) {
        st->incomplete = true;
        log_warning(NULL, "ignoring %s/%s in the root group: not a valid entry", folder, name);
}

/* Stops the replicas of tenants the root no longer has, and of those it moved on from without
 * this node. A tenant created at op X is absent from a state that has applied X only if it was
 * deleted since; a state older than that (a root replica still recovering) proves nothing. A
 * configuration names a replica in its epoch or the one before; one that names it in neither
 * but is of a later epoch than the replica knows was entered without it, and the epoch after
 * the replica's was confirmed by its group (node/reconfig.h), so nothing depends on it. */
static void drop_gone(struct vs_node *n, const struct vs_cluster_state *st, uint64_t applied) {
        if (st->incomplete)
                return;
        for (size_t i = n->n_tenants; i-- > 0;) {
                struct vs_tenant *t = n->tenants[i];
                const struct vs_tenant_config *c = vs_tenant_config(t);
                if (c->id == VS_ROOT_TENANT_ID || c->id - 1 > applied)
                        continue;
                const struct vs_cluster_tenant *now = vs_cluster_state_find_tenant(st, c->name);
                if (!now || now->config.id != c->id)
                        vs_node_drop_tenant(n, t, "tenant deleted from the cluster");
                else if (now->config.epoch > c->epoch && !vs_tenant_config_named(&now->config, n->conf.name))
                        vs_node_drop_tenant(n, t, "the tenant's group moved on without this node");
        }
}

/* Starts the replicas the root names this node for (a node named only for the epoch before
 * has nothing to start: it left), gives running ones the newer configuration, stops those of
 * deleted tenants, and keeps the whole state. applied: the root op the state is as of
 * (UINT64_MAX: a linearizable read). */
static void apply(struct vs_node *n, struct vs_cluster_state *st, uint64_t applied) {
        vs_node_members_apply(n, &st->members);
        if (st->has_root)
                vs_node_root_learn(n, &st->root);
        drop_gone(n, st, applied);
        for (size_t i = 0; i < st->n_tenants; i++) {
                const struct vs_tenant_config *c = &st->tenants[i].config;
                if (!vs_tenant_config_named(c, n->conf.name))
                        continue;
                bool hosted = u64map_get(&n->by_id, c->id);
                int r = hosted || vs_tenant_config_index(c, n->conf.name) >= 0 ? vs_node_host_tenant(n, c) : 0;
                if (r < 0) {
                        struct vs_log_ctx lc = { .tenant = c->name };
                        log_error_errno(&lc, r, "cannot start the replica this node is named for");
                }
        }
        for (size_t i = 0; i < n->cluster.n_tenants && n->cb.cluster_tenant_changed; i++)
                if (!vs_cluster_state_find_tenant(st, n->cluster.tenants[i].config.name))
                        n->cb.cluster_tenant_changed(n, n->cluster.tenants[i].config.name, false, n->userdata);
        for (size_t i = 0; i < st->n_tenants && n->cb.cluster_tenant_changed; i++)
                if (!vs_cluster_state_find_tenant(&n->cluster, st->tenants[i].config.name))
                        n->cb.cluster_tenant_changed(n, st->tenants[i].config.name, true, n->userdata);
        vs_cluster_state_done(&n->cluster);
        n->cluster = *st;
        *st = (struct vs_cluster_state) {};
}

/* --- from this node's own root replica ---------------------------------------------------- */

struct local_read {
        const struct tree *tree;
        struct vs_cluster_state *st;
        bool tenants;
        int error;
};

static int local_entry(void *userdata, const char *name, const struct tree_stat *st) {
        struct local_read *l = userdata;
        const char *folder = l->tenants ? VS_TENANTS_PATH : VS_NODES_PATH;
        char path[VS_TENANT_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", folder, name) >= (int) sizeof path) {
                bad_entry(l->st, folder, "(too long)");
                return 0;
        }
        const void *value;
        struct tree_stat vst;
        if (tree_get(l->tree, path, &value, &vst) != 0)
                return 0;
        int r = l->tenants ? vs_cluster_state_add_tenant(l->st, name, vst.created_op, vst.modified_op, value, vst.value_len)
                           : vs_cluster_state_add_member(l->st, name, vst.created_op, value, vst.value_len);
        if (r == -EBADMSG)
                bad_entry(l->st, folder, name);
        else if (r < 0)
                l->error = r;
        return 0;
}

static void follow_local(struct vs_node *n, struct vs_tenant *root) {
        uint64_t applied = vr_replica_applied(vs_tenant_replica(root));
        if (applied == n->root_applied_seen)
                return;
        struct vs_cluster_state st = {};
        struct local_read l = { vs_tenant_tree(root), &st, false, 0 };
        (void) tree_list(l.tree, VS_NODES_PATH, local_entry, &l);
        l.tenants = true;
        (void) tree_list(l.tree, VS_TENANTS_PATH, local_entry, &l);
        const void *value;
        struct tree_stat vst;
        if (tree_get(l.tree, VS_ROOT_PATH, &value, &vst) == 0 && vs_cluster_state_set_root(&st, value, vst.value_len) < 0)
                bad_entry(&st, "", VS_ROOT_PATH + 1);
        if (l.error < 0) {
                log_error_errno(NULL, l.error, "cannot read the cluster's state");
                vs_cluster_state_done(&st);
                return;
        }
        apply(n, &st, applied);
        n->root_applied_seen = applied;
}

/* --- through the admin session ------------------------------------------------------------ */

struct follow_read {
        struct vs_node *node;       /* NULL once the node stopped waiting for it */
        struct vs_cluster_state st;
        unsigned pending;
        int error;
};

struct follow_get {
        struct follow_read *read;
        bool tenant;
        char name[VS_TENANT_NAME_MAX + 1];
};

static void read_unref(struct follow_read *f) {
        if (--f->pending > 0)
                return;
        struct vs_node *n = f->node;
        if (n) {
                log_debug(NULL, "read the root group: %zu nodes, %zu tenants (%s)", f->st.members.n, f->st.n_tenants,
                          f->error ? strerror(-f->error) : "ok");
                n->reading = NULL;
                if (f->error == 0) {
                        if (n->incoming)
                                vs_cluster_state_done(n->incoming);
                        else
                                n->incoming = malloc(sizeof *n->incoming);
                        if (n->incoming) {
                                *n->incoming = f->st;
                                f->st = (struct vs_cluster_state) {};
                        }
                }
        }
        vs_cluster_state_done(&f->st);
        free(f);
}

static void on_get(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        _cleanup_free_ struct follow_get *g = userdata;
        struct follow_read *f = g->read;
        if (error < 0)
                f->error = error;
        else if (resp->error == 0 && resp->stat) {
                const Viewstamp__TreeStat *s = resp->stat;
                int r = g->tenant ? vs_cluster_state_add_tenant(&f->st, g->name, s->created_op, s->modified_op,
                                                               resp->value.data, resp->value.len)
                                  : vs_cluster_state_add_member(&f->st, g->name, s->created_op, resp->value.data,
                                                                resp->value.len);
                if (r == -EBADMSG)
                        bad_entry(&f->st, g->tenant ? VS_TENANTS_PATH : VS_NODES_PATH, g->name);
                else if (r < 0)
                        f->error = r;
        } else if (resp->error != TREE_ERR_NO_NODE)
                f->error = -EIO; /* deleted since the list is fine; anything else: read again later */
        read_unref(f);
}

static int submit_get(struct vs_node *n, struct follow_read *f, bool tenant, const char *name) {
        _cleanup_free_ struct follow_get *g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->read = f;
        g->tenant = tenant;
        snprintf(g->name, sizeof g->name, "%s", name);
        char path[VS_TENANT_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tenant ? VS_TENANTS_PATH : VS_NODES_PATH, name);
        int r = vs_node_root_get(n, path, on_get, g);
        if (r < 0)
                return r;
        TAKE_PTR(g);
        f->pending++;
        return 0;
}

static void on_list(struct follow_read *f, bool tenants, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_node *n = f->node;
        if (error < 0)
                f->error = error;
        else if (resp->error != 0 && resp->error != TREE_ERR_NO_NODE)
                f->error = -EIO;
        for (size_t i = 0; n && f->error == 0 && resp->error == 0 && i < resp->n_children; i++) {
                const Viewstamp__TreeChild *c = resp->children[i];
                char name[VS_TENANT_NAME_MAX + 1];
                if (c->name.len >= sizeof name || memchr(c->name.data, 0, c->name.len)) {
                        bad_entry(&f->st, tenants ? VS_TENANTS_PATH : VS_NODES_PATH, "(not a name)");
                        continue;
                }
                memcpy(name, c->name.data, c->name.len);
                name[c->name.len] = 0;
                const struct vs_cluster_tenant *known = tenants ? vs_cluster_state_find_tenant(&n->cluster, name) : NULL;
                int r;
                if (known && c->stat && c->stat->modified_op == known->modified_op)
                        r = vs_cluster_state_keep_tenant(&f->st, known);
                else
                        r = submit_get(n, f, tenants, name);
                if (r < 0)
                        f->error = r;
        }
        read_unref(f);
}

static void on_root(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct follow_read *f = userdata;
        if (error < 0)
                f->error = error;
        else if (resp->error == 0 && vs_cluster_state_set_root(&f->st, resp->value.data, resp->value.len) < 0)
                bad_entry(&f->st, "", VS_ROOT_PATH + 1);
        else if (resp->error != 0 && resp->error != TREE_ERR_NO_NODE)
                f->error = -EIO;
        read_unref(f);
}

static void on_list_nodes(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        on_list(userdata, false, error, resp);
}

static void on_list_tenants(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        on_list(userdata, true, error, resp);
}

static void follow_remote(struct vs_node *n) {
        if (n->reading || n->follow_wait-- > 0)
                return;
        n->follow_wait = FOLLOW_INTERVAL_MSEC / n->conf.tick_ms;
        struct follow_read *f = calloc(1, sizeof *f);
        if (!f)
                return (void) log_warning_errno(NULL, -ENOMEM, "cannot read the cluster's state");
        f->node = n;
        f->pending = 1; /* held until every read is submitted */
        n->reading = f;
        static const struct {
                const char *path;
                bool with_stats;
                vs_node_root_done_fn done;
        } lists[] = {
                { VS_NODES_PATH, false, on_list_nodes },
                { VS_TENANTS_PATH, true, on_list_tenants },
                { VS_ROOT_PATH, false, on_root }, /* a get */
        };
        for (size_t i = 0; i < 3 && f->error == 0; i++) {
                _cleanup_free_ uint8_t *cmd = NULL;
                size_t len;
                int r = lists[i].done == on_root ? tree_sm_encode_get(lists[i].path, &cmd, &len)
                                                 : tree_sm_encode_list(lists[i].path, lists[i].with_stats, &cmd, &len);
                if (r >= 0)
                        r = vs_node_root_submit(n, cmd, len, lists[i].done, f);
                if (r < 0) {
                        log_warning_errno(NULL, r, "cannot read the cluster's state");
                        f->error = r;
                } else
                        f->pending++;
        }
        read_unref(f);
}

void vs_node_follow_tick(struct vs_node *n) {
        struct vs_tenant *root = vs_node_find_tenant(n, VS_ROOT_TENANT_NAME);
        if (root && vr_replica_is_primary(vs_tenant_replica(root)))
                follow_local(n, root);
        else {
                follow_remote(n);
                if (n->incoming) {
                        apply(n, n->incoming, UINT64_MAX);
                        free(n->incoming);
                        n->incoming = NULL;
                }
        }
        vs_node_register(n);
        vs_node_root_tick(n);
}

void vs_node_tenant_created(struct vs_node *n, const struct vs_tenant_config *c) {
        vs_node_follow_invalidate(n);
        bool known = vs_cluster_state_find_tenant(&n->cluster, c->name);
        if (vs_cluster_state_keep_tenant(&n->cluster, &(struct vs_cluster_tenant) { .config = *c }) >= 0 && !known &&
            n->cb.cluster_tenant_changed)
                n->cb.cluster_tenant_changed(n, c->name, true, n->userdata);
}

void vs_node_tenant_deleted(struct vs_node *n, const char *name) {
        vs_node_follow_invalidate(n);
        if (!vs_cluster_state_find_tenant(&n->cluster, name))
                return;
        vs_cluster_state_forget_tenant(&n->cluster, name);
        if (n->cb.cluster_tenant_changed)
                n->cb.cluster_tenant_changed(n, name, false, n->userdata);
}

void vs_node_follow_invalidate(struct vs_node *n) {
        if (n->reading && n->reading->error == 0)
                n->reading->error = -ESTALE;
        if (n->incoming)
                vs_cluster_state_done(n->incoming);
        free(n->incoming);
        n->incoming = NULL;
}

void vs_node_follow_done(struct vs_node *n) {
        if (n->reading)
                n->reading->node = NULL;
        n->reading = NULL;
        vs_node_follow_invalidate(n);
        vs_cluster_state_done(&n->cluster);
}
