/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "node/node_internal.h"
#include "node/placement.h"
#include "node/reconfig.h"

/*
 * Draining a node: it is marked draining in the root group (placement leaves it out), then its
 * replicas move off one tenant at a time (vs_node_move_replica), each to the least loaded active
 * member without a replica of that tenant (node/placement.h); removing it with drain=true then
 * takes it out of /nodes. Each step is a call any node can make again: a drain that stopped
 * halfway (an error, a crash) is resumed by draining again, which moves what is left.
 */

struct drain {
        struct vs_node *node;
        char name[VS_CONF_NAME_MAX + 1];
        bool remove;
        unsigned moved, rounds;
        vs_node_done_fn done;
        void *userdata;
};

static void finish(struct drain *d, int error, const char *message) {
        d->done(d->userdata, error, message);
        free(d);
}

static void on_removed(void *userdata, int error, const char *message) {
        struct drain *d = userdata;
        char msg[256];
        snprintf(msg, sizeof msg, "%u replica(s) moved off; %s", d->moved, message);
        finish(d, error, error < 0 ? message : msg);
}

static void next_move(struct drain *d);

static void on_moved(void *userdata, int error, const char *message) {
        struct drain *d = userdata;
        /* -ENOENT: the replica had gone already (this node's view of the root lagged). */
        if (error < 0 && error != -ENOENT)
                return finish(d, error, message);
        d->moved += error >= 0;
        next_move(d);
}

static void next_move(struct drain *d) {
        struct vs_node *n = d->node;
        char msg[256];
        /* Each round moves one replica or fails; more rounds than tenants means a view that does
         * not catch up. */
        if (d->rounds++ > n->cluster.n_tenants + 8) {
                snprintf(msg, sizeof msg, "node '%s' still hosts replicas after %u moves; drain it again", d->name,
                         d->moved);
                return finish(d, -EAGAIN, msg);
        }
        for (size_t i = 0; i < n->cluster.n_tenants; i++) {
                const struct vs_tenant_config *c = &n->cluster.tenants[i].config;
                if (vs_tenant_config_index(c, d->name) < 0)
                        continue;
                char to[VS_CONF_NAME_MAX + 1];
                if (vs_placement_pick_move(&n->members, &n->cluster, &n->root, c, to) < 0) {
                        snprintf(msg, sizeof msg, "no active node without a replica of tenant '%s' to move it to",
                                 c->name);
                        return finish(d, -ENOSPC, msg);
                }
                struct vs_log_ctx lc = { .tenant = c->name };
                log_notice(&lc, "draining %s: moving its replica to %s", d->name, to);
                char why[512];
                char tenant[VS_TENANT_NAME_MAX + 1];
                strcpy(tenant, c->name);
                int r = vs_node_move_replica(n, tenant, d->name, to, on_moved, d, why, sizeof why);
                if (r < 0)
                        finish(d, r, why);
                return;
        }
        if (vs_tenant_config_index(&n->root, d->name) >= 0) {
                snprintf(msg, sizeof msg,
                         "%u replica(s) moved off node '%s', but its replica of the cluster's root group cannot move yet",
                         d->moved, d->name);
                return finish(d, -EOPNOTSUPP, msg);
        }
        if (d->remove) {
                int r = vs_node_member_submit(n, d->name, true, on_removed, d);
                if (r < 0)
                        finish(d, r, "cannot reach the cluster's root group");
                return;
        }
        snprintf(msg, sizeof msg, "draining; %u replica(s) moved off", d->moved);
        finish(d, 0, msg);
}

static void on_marked(void *userdata, int error, const char *message) {
        struct drain *d = userdata;
        if (error < 0)
                return finish(d, error, message);
        next_move(d);
}

static int change(struct vs_node *n, const char *name, bool remove, bool drain, vs_node_done_fn done, void *userdata,
                  char *err, size_t errlen) {
        if (!n->started) {
                snprintf(err, errlen, "this node is in no cluster");
                return -ENOTCONN;
        }
        if (!vs_members_find(&n->members, name)) {
                snprintf(err, errlen, "no node '%s' in the cluster", name);
                return -ENOENT;
        }
        if (remove && strcmp(name, n->conf.name) == 0) {
                snprintf(err, errlen, "a node cannot remove itself: remove '%s' through another member", name);
                return -EINVAL;
        }
        bool root = vs_tenant_config_index(&n->root, name) >= 0;
        size_t hosted = vs_cluster_state_hosted(&n->cluster, name) + root;
        if (remove && root) {
                snprintf(err, errlen, "node '%s' hosts a replica of the cluster's root group, which cannot move yet", name);
                return -EOPNOTSUPP;
        }
        if (remove && !drain && hosted > 0) {
                snprintf(err, errlen, "node '%s' hosts %zu replicas: drain it first", name, hosted);
                return -EBUSY;
        }
        struct drain *d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        *d = (struct drain) { .node = n, .remove = remove, .done = done, .userdata = userdata };
        strcpy(d->name, name);
        /* An empty node is removed at once; any other is marked draining first. */
        int r = vs_node_member_submit(n, name, remove && hosted == 0, remove && hosted == 0 ? on_removed : on_marked, d);
        if (r < 0) {
                snprintf(err, errlen, "cannot reach the cluster's root group: %s", strerror(-r));
                free(d);
        }
        return r;
}

int vs_node_remove_member(struct vs_node *n, const char *name, bool drain, vs_node_done_fn done, void *userdata,
                          char *err, size_t errlen) {
        return change(n, name, true, drain, done, userdata, err, errlen);
}

int vs_node_drain_member(struct vs_node *n, const char *name, vs_node_done_fn done, void *userdata, char *err,
                         size_t errlen) {
        return change(n, name, false, true, done, userdata, err, errlen);
}
