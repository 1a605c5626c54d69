/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "node/node_internal.h"
#include "node/placement.h"
#include "node/reconfig.h"
#include "node/root_group.h"
#include "node/session.h"
#include "node/tenant.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "vr/vr.h"

const struct vs_tenant_config *vs_node_root_config(const struct vs_node *n) {
        return &n->root;
}

void vs_node_root_session_nodes(struct vs_node *n) {
        const struct vs_tenant_config *c = &n->root;
        const char *nodes[2 * VS_TENANT_REPLICAS_MAX];
        uint32_t k = 0;
        for (uint32_t i = 0; i < c->n_replicas; i++)
                nodes[k++] = c->replicas[i];
        for (uint32_t i = 0; i < c->n_old; i++)
                if (vs_tenant_config_index(c, c->old_replicas[i]) < 0)
                        nodes[k++] = c->old_replicas[i];
        vs_session_set_nodes(n->admin, nodes, k);
}

void vs_node_root_learn(struct vs_node *n, const struct vs_tenant_config *c) {
        const struct vs_tenant_config *old = &n->root;
        if (c->epoch < old->epoch || (c->epoch == old->epoch && (c->reconfiguring || !old->reconfiguring)))
                return;
        n->root = *c;
        char list[VS_TENANT_REPLICAS_MAX * (VS_CONF_NAME_MAX + 1) + 1] = "";
        for (uint32_t i = 0; i < c->n_replicas; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", c->replicas[i]);
        log_notice(NULL, "the root group is in epoch %" PRIu64 "%s on %s", c->epoch,
                   c->reconfiguring ? " (entering it)" : "", list);
        if (n->has_identity) {
                n->identity.root = *c;
                int r = vs_identity_save(n->state_fd, &n->identity);
                if (r < 0)
                        log_error_errno(NULL, r, "cannot cache the root group's configuration: a restart asks its old nodes");
        }
        vs_node_root_session_nodes(n);
        if (vs_tenant_config_index(c, n->conf.name) >= 0 || vs_node_find_tenant(n, VS_ROOT_TENANT_NAME)) {
                int r = vs_node_host_tenant(n, c);
                if (r < 0) {
                        struct vs_log_ctx lc = { .tenant = c->name };
                        log_error_errno(&lc, r, "cannot start the root replica this node is named for");
                }
        }
}

void vs_node_root_announce(struct vs_node *n, const struct vs_tenant_config *c) {
        Viewstamp__TenantConfig pb;
        struct vs_tenant_config_pb_buf buf;
        vs_tenant_config_to_pb(c, &pb, &buf);
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.tenant = (char *) VS_ROOT_TENANT_NAME;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_ROOT_CONFIG;
        env.root_config = &pb;
        const char *to[VS_TENANT_REPLICAS_MAX];
        size_t n_to = 0;
        for (uint32_t i = 0; i < c->n_replicas && n_to < VS_TENANT_REPLICAS_MAX; i++)
                if (strcmp(c->replicas[i], n->conf.name) != 0)
                        to[n_to++] = c->replicas[i];
        int r[VS_TENANT_REPLICAS_MAX];
        vs_peer_set_send_each(n->peers, to, n_to, &env, r); /* errors ignored: sent again until entered */
}

void vs_node_root_heard(struct vs_node *n, const Viewstamp__TenantConfig *pb) {
        struct vs_tenant_config c;
        if (!n->has_identity || vs_tenant_config_from_pb(pb, &c) < 0 || strcmp(c.name, VS_ROOT_TENANT_NAME) != 0)
                return;
        c.id = VS_ROOT_TENANT_ID;
        n->root_told = c;
        n->root_heard = true;
}

static void on_moved(void *userdata, int error, const char *message) {
        struct vs_node *n = userdata;
        n->root_moving = false;
}

static void ignore_answer(void *userdata, int error, const Viewstamp__TreeResponse *response) {
}

/* The root group's first record of itself, from the identity InitCluster gave it. */
static int record_root(struct vs_node *n) {
        _cleanup_free_ uint8_t *value = NULL, *cmd = NULL;
        size_t value_len, len;
        int r = vs_tenant_config_encode(&n->root, &value, &value_len);
        if (r >= 0)
                r = tree_sm_encode_create(VS_ROOT_PATH, value, value_len, 0, &cmd, &len);
        return r < 0 ? r : vs_node_root_submit(n, cmd, len, ignore_answer, NULL);
}

void vs_node_root_tick(struct vs_node *n) {
        if (n->root_heard) {
                n->root_heard = false;
                vs_node_root_learn(n, &n->root_told);
        }
        if (!n->has_identity || n->root_moving)
                return;
        if (n->root_wait > 0) {
                n->root_wait--;
                return;
        }
        struct vs_tenant *t = vs_node_find_tenant(n, VS_ROOT_TENANT_NAME);
        if (!t || !vr_replica_is_primary(vs_tenant_replica(t)))
                return;
        n->root_wait = ROOT_GROW_RETRY_MSEC / n->conf.tick_ms;
        if (!n->cluster.has_root) {
                int r = record_root(n);
                if (r < 0)
                        log_warning_errno(NULL, r, "cannot record the root group's configuration");
                return;
        }
        const char *nodes[VS_TENANT_REPLICAS_MAX];
        uint32_t k = n->root.n_replicas;
        if (n->root.reconfiguring)
                for (uint32_t i = 0; i < k; i++)
                        nodes[i] = n->root.replicas[i]; /* finish what was agreed */
        else if (vs_placement_root(&n->members, &n->cluster, &n->root, nodes, &k) < 0)
                return;
        struct vs_log_ctx lc = { .tenant = VS_ROOT_TENANT_NAME };
        log_notice(&lc, "moving the root group to %u node(s)", k);
        char why[512];
        int r = vs_node_reconfigure(n, VS_ROOT_TENANT_NAME, nodes, k, on_moved, n, why, sizeof why);
        if (r < 0)
                log_warning(&lc, "cannot move the root group: %s", why);
        else
                n->root_moving = true;
}
