/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "node/cluster_state.h"
#include "node/node_internal.h"
#include "node/reconfig.h"
#include "node/root_group.h"
#include "node/session.h"
#include "tree/error.h"
#include "tree/tree_sm.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "vr/msg.h"

/* How often the root's new nodes are told of its next epoch while it is being entered. */
#define ROOT_ANNOUNCE_TICKS 20

/* Compare-and-set rounds lost to concurrent changes of the entry before giving up. */
#define MAX_ATTEMPTS 5

enum step {
        STEP_RECORD,  /* (a): reading the entry, then recording the next epoch */
        STEP_GROUP,   /* (b): the group enters it */
        STEP_CONFIRM, /* (c): reading the entry, then recording the epoch as entered */
};

struct vs_reconfig {
        struct vs_reconfig *next;
        struct vs_node *node;
        char tenant[VS_TENANT_NAME_MAX + 1];
        /* What was asked: the nodes, or a move (from, to). */
        bool move;
        uint32_t n;
        char nodes[VS_TENANT_REPLICAS_MAX][VS_CONF_NAME_MAX + 1];
        char from[VS_CONF_NAME_MAX + 1], to[VS_CONF_NAME_MAX + 1];

        enum step step;
        unsigned attempts;
        struct vs_tenant_config target; /* the next epoch as the root group records it */
        struct vs_session *session;     /* (b) */
        uint32_t ticks_left;
        int group_error;                /* (b) failed: ended on the next tick */
        vs_node_done_fn done;
        void *userdata;
};

static bool is_root(const struct vs_reconfig *r) {
        return strcmp(r->tenant, VS_ROOT_TENANT_NAME) == 0;
}

/* The root group recorded r->target: this node takes it in at once (before the follower's next
 * read), so that its placement counts it and its own replica, if any, knows the epoch. */
static void learned(struct vs_reconfig *r) {
        if (is_root(r))
                return vs_node_root_learn(r->node, &r->target);
        (void) vs_node_refresh_tenant(r->node, &r->target);
        vs_node_tenant_created(r->node, &r->target);
}

/* Ends the reconfiguration: never from inside its session's callback (the session goes too). */
static void finish(struct vs_reconfig *r, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(struct vs_reconfig *r, int error, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        struct vs_log_ctx c = { .tenant = r->tenant };
        if (error < 0)
                log_warning(&c, "reconfiguration not done: %s", msg);
        else
                log_notice(&c, "%s", msg);
        for (struct vs_reconfig **p = &r->node->reconfigs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        struct vs_session *s = TAKE_PTR(r->session);
        vs_session_free(s);
        r->done(r->userdata, error, msg);
        free(r);
}

static int read_entry(struct vs_reconfig *r);

static int set_entry(struct vs_reconfig *r, uint64_t version, vs_node_root_done_fn done) {
        _cleanup_free_ uint8_t *value = NULL, *set = NULL;
        size_t value_len, set_len;
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(r->tenant, path);
        int k = vs_tenant_config_encode(&r->target, &value, &value_len);
        if (k >= 0)
                k = tree_sm_encode_set(path, value, value_len, version, &set, &set_len);
        return k < 0 ? k : vs_node_root_submit(r->node, set, set_len, done, r);
}

/* An answer of the root group to a set; true when the reconfiguration ended with it. */
static bool set_failed(struct vs_reconfig *r, int error, const Viewstamp__TreeResponse *resp) {
        if (error < 0) {
                finish(r, error, "cannot reach the cluster's root group: %s", strerror(-error));
                return true;
        }
        if (resp->error == TREE_ERR_BAD_VERSION && r->attempts < MAX_ATTEMPTS) {
                int k = read_entry(r); /* changed since it was read: decide again */
                if (k < 0)
                        finish(r, k, "cannot read the tenant's configuration: %s", strerror(-k));
                return true;
        }
        if (resp->error == TREE_ERR_BAD_VERSION) {
                finish(r, -EBUSY, "tenant '%s' kept changing; try again", r->tenant);
                return true;
        }
        if (resp->error == TREE_ERR_NO_NODE) {
                finish(r, -ENOENT, "the cluster holds no tenant '%s'", r->tenant);
                return true;
        }
        if (resp->error != 0) {
                finish(r, -EIO, "the root group refused: %s", tree_error_name((int) resp->error));
                return true;
        }
        return false;
}

static void on_confirmed(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_reconfig *r = userdata;
        if (set_failed(r, error, resp))
                return;
        learned(r);
        finish(r, 0, "tenant '%s' entered epoch %" PRIu64 " on %u node(s)", r->tenant, r->target.epoch,
               r->target.n_replicas);
}

static void on_group(void *userdata, int error, const Viewstamp__ClientReply *reply) {
        struct vs_reconfig *r = userdata;
        if (!r->session)
                return; /* the session is being freed by finish() */
        if (error < 0) {
                r->group_error = error;
                return; /* ended on the next tick, outside the session's callback */
        }
        struct vs_log_ctx c = { .tenant = r->tenant };
        log_info(&c, "the group entered epoch %" PRIu64, r->target.epoch);
        r->step = STEP_CONFIRM;
        r->attempts = 0;
        int k = read_entry(r);
        if (k < 0)
                r->group_error = k;
}

/* (b): see reconfig.h for why the client id is derived. */
static int start_group(struct vs_reconfig *r) {
        const struct vs_tenant_config *t = &r->target;
        const uint64_t key[2] = { t->id, t->epoch };
        uint64_t client = vs_checksum(key, sizeof key) | 1;
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t len;
        int k = vr_reconfigure_cmd(t->member_ids, t->n_replicas, &cmd, &len);
        if (k < 0)
                return k;
        k = vs_session_new_fixed(r->node, r->tenant, client, &r->session);
        if (k < 0)
                return k;
        /* The old group executes the command; the new one answers it. */
        const char *nodes[2 * VS_TENANT_REPLICAS_MAX];
        uint32_t n = 0;
        for (uint32_t i = 0; i < t->n_old; i++)
                nodes[n++] = t->old_replicas[i];
        for (uint32_t i = 0; i < t->n_replicas; i++) {
                bool old = false;
                for (uint32_t j = 0; j < t->n_old; j++)
                        old |= strcmp(t->old_replicas[j], t->replicas[i]) == 0;
                if (!old)
                        nodes[n++] = t->replicas[i];
        }
        vs_session_set_nodes(r->session, nodes, n);
        r->step = STEP_GROUP;
        r->ticks_left = RECONFIG_TIMEOUT_MSEC / r->node->conf.tick_ms;
        struct vs_log_ctx c = { .tenant = r->tenant };
        log_info(&c, "asking the group to enter epoch %" PRIu64, t->epoch);
        if (is_root(r))
                vs_node_root_announce(r->node, &r->target);
        return vs_session_submit(r->session, cmd, len, on_group, r);
}

static void on_recorded(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_reconfig *r = userdata;
        if (set_failed(r, error, resp))
                return;
        struct vs_log_ctx c = { .tenant = r->tenant };
        log_notice(&c, "epoch %" PRIu64 " recorded in the root group", r->target.epoch);
        learned(r);
        int k = start_group(r);
        if (k < 0)
                r->group_error = k;
}

/* The nodes asked for, given the configuration now (a move is relative to it). */
static int wanted(struct vs_reconfig *r, const struct vs_tenant_config *c, const char *nodes[VS_TENANT_REPLICAS_MAX],
                  uint32_t *n) {
        if (!r->move) {
                for (uint32_t i = 0; i < r->n; i++)
                        nodes[i] = r->nodes[i];
                *n = r->n;
                return 0;
        }
        int k = vs_tenant_config_move(c, r->from, r->to, nodes, n);
        if (k == -EEXIST)
                finish(r, -EINVAL, "node '%s' holds a replica of tenant '%s' already", r->to, r->tenant);
        else if (k == -ENOENT)
                finish(r, -ENOENT, "node '%s' holds no replica of tenant '%s'", r->from, r->tenant);
        return k;
}

/* (a), once the entry is read: decides what to record, or where to resume. */
static void record(struct vs_reconfig *r, const struct vs_tenant_config *c, uint64_t version) {
        const char *nodes[VS_TENANT_REPLICAS_MAX];
        uint32_t n;
        if (wanted(r, c, nodes, &n) < 0)
                return;
        bool same = vs_tenant_config_same_nodes(c, nodes, n);
        if (same && !c->reconfiguring)
                return finish(r, 0, "tenant '%s' is on those nodes already (epoch %" PRIu64 ")", r->tenant, c->epoch);
        if (c->reconfiguring && !same) {
                char list[VS_TENANT_REPLICAS_MAX * (VS_CONF_NAME_MAX + 1) + 1] = "";
                for (uint32_t i = 0; i < c->n_replicas; i++)
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", c->replicas[i]);
                return finish(r, -EBUSY, "tenant '%s' is moving to nodes %s: ask for those nodes to finish that first",
                              r->tenant, list);
        }
        if (same) {
                r->target = *c; /* recorded already: resume at (b) */
                int k = start_group(r);
                if (k < 0)
                        finish(r, k, "cannot ask the tenant's group: %s", strerror(-k));
                return;
        }
        for (uint32_t i = 0; i < n; i++)
                if (vs_tenant_config_index(c, nodes[i]) < 0)
                        for (uint32_t j = 0; j < c->n_old; j++)
                                if (strcmp(c->old_replicas[j], nodes[i]) == 0)
                                        return finish(r, -EBUSY,
                                                      "node '%s' left tenant '%s' in its last reconfiguration and "
                                                      "cannot hold a replica of it again yet", nodes[i], r->tenant);
        int k = vs_tenant_config_next_epoch(c, nodes, n, &r->target);
        char why[256];
        if (k >= 0)
                k = vs_tenant_config_check(&r->target, vs_node_members(r->node), why, sizeof why);
        else
                snprintf(why, sizeof why, "a tenant has 1, 3 or 5 replicas on distinct nodes");
        if (k < 0)
                return finish(r, -EINVAL, "%s", why);
        k = set_entry(r, version, on_recorded);
        if (k < 0)
                finish(r, k, "cannot reach the cluster's root group: %s", strerror(-k));
}

/* (c), once the entry is read. */
static void confirm(struct vs_reconfig *r, struct vs_tenant_config *c, uint64_t version) {
        if (c->epoch != r->target.epoch)
                return finish(r, -EBUSY, "tenant '%s' is in epoch %" PRIu64 " now, not %" PRIu64 " as asked", r->tenant,
                              c->epoch, r->target.epoch);
        c->reconfiguring = false;
        r->target = *c;
        int k = set_entry(r, version, on_confirmed);
        if (k < 0)
                finish(r, k, "cannot reach the cluster's root group: %s", strerror(-k));
}

static void on_read(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_reconfig *r = userdata;
        if (error < 0)
                return finish(r, error, "cannot reach the cluster's root group: %s", strerror(-error));
        if (resp->error == TREE_ERR_NO_NODE || !resp->stat)
                return finish(r, -ENOENT, "the cluster holds no tenant '%s'", r->tenant);
        struct vs_tenant_config c;
        if (resp->error != 0 || vs_tenant_config_decode(resp->value.data, resp->value.len, &c) < 0)
                return finish(r, -EIO, "the root group holds no readable configuration for '%s'", r->tenant);
        if (is_root(r))
                c.id = VS_ROOT_TENANT_ID;
        else {
                c.id = resp->stat->created_op + 1; /* the id as the root tree gives it (cluster_state.h) */
                /* What placement counts (a drain's next move); a read of the root under way may
                 * still predate it, which a drain survives (a move of a replica gone already is
                 * -ENOENT). */
                (void) vs_cluster_state_keep_tenant(&r->node->cluster, &(struct vs_cluster_tenant) { .config = c });
        }
        if (r->step == STEP_CONFIRM)
                confirm(r, &c, resp->stat->version);
        else
                record(r, &c, resp->stat->version);
}

static int read_entry(struct vs_reconfig *r) {
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(r->tenant, path);
        r->attempts++;
        return vs_node_root_get(r->node, path, on_read, r);
}

static int start(struct vs_node *n, struct vs_reconfig *r, char *err, size_t errlen) {
        if (!vs_node_in_cluster(n)) {
                snprintf(err, errlen, "this node is in no cluster");
                return -ENOTCONN;
        }
        if (!vs_tenant_name_valid(r->tenant, false) && !is_root(r)) {
                snprintf(err, errlen, "invalid tenant name '%s'", r->tenant);
                return -EINVAL;
        }
        r->node = n;
        int k = read_entry(r);
        if (k < 0) {
                snprintf(err, errlen, "cannot reach the cluster's root group: %s", strerror(-k));
                return k;
        }
        r->next = n->reconfigs;
        n->reconfigs = r;
        return 0;
}

static struct vs_reconfig *reconfig_new(const char *tenant, vs_node_done_fn done, void *userdata) {
        if (strlen(tenant) > VS_TENANT_NAME_MAX)
                return NULL;
        struct vs_reconfig *r = calloc(1, sizeof *r);
        if (!r)
                return NULL;
        strcpy(r->tenant, tenant);
        r->done = done;
        r->userdata = userdata;
        return r;
}

static bool node_name_ok(const struct vs_node *n, const char *name, char *err, size_t errlen) {
        if (strlen(name) <= VS_CONF_NAME_MAX && vs_members_find(vs_node_members(n), name))
                return true;
        snprintf(err, errlen, "'%.*s' is not a node of this cluster", VS_CONF_NAME_MAX, name);
        return false;
}

int vs_node_reconfigure(struct vs_node *n, const char *tenant, const char *const *nodes, uint32_t count,
                        vs_node_done_fn done, void *userdata, char *err, size_t errlen) {
        if (count != 1 && count != 3 && count != 5) {
                snprintf(err, errlen, "a tenant has 1, 3 or 5 replicas, not %u", count);
                return -EINVAL;
        }
        for (uint32_t i = 0; i < count; i++) {
                if (!node_name_ok(n, nodes[i], err, errlen))
                        return -EINVAL;
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(nodes[i], nodes[j]) == 0) {
                                snprintf(err, errlen, "node '%s' named twice: replicas must be on distinct nodes",
                                         nodes[i]);
                                return -EINVAL;
                        }
        }
        _cleanup_free_ struct vs_reconfig *r = reconfig_new(tenant, done, userdata);
        if (!r) {
                snprintf(err, errlen, "invalid tenant name");
                return strlen(tenant) > VS_TENANT_NAME_MAX ? -EINVAL : -ENOMEM;
        }
        r->n = count;
        for (uint32_t i = 0; i < count; i++)
                strcpy(r->nodes[i], nodes[i]);
        int k = start(n, r, err, errlen);
        if (k >= 0)
                TAKE_PTR(r);
        return k;
}

int vs_node_move_replica(struct vs_node *n, const char *tenant, const char *from, const char *to,
                         vs_node_done_fn done, void *userdata, char *err, size_t errlen) {
        if (!node_name_ok(n, to, err, errlen))
                return -EINVAL;
        if (strlen(from) > VS_CONF_NAME_MAX || strcmp(from, to) == 0) {
                snprintf(err, errlen, "a replica moves from one node to another");
                return -EINVAL;
        }
        _cleanup_free_ struct vs_reconfig *r = reconfig_new(tenant, done, userdata);
        if (!r) {
                snprintf(err, errlen, "invalid tenant name");
                return strlen(tenant) > VS_TENANT_NAME_MAX ? -EINVAL : -ENOMEM;
        }
        r->move = true;
        strcpy(r->from, from);
        strcpy(r->to, to);
        int k = start(n, r, err, errlen);
        if (k >= 0)
                TAKE_PTR(r);
        return k;
}

void vs_node_reconfig_tick(struct vs_node *n) {
        struct vs_reconfig *next;
        for (struct vs_reconfig *r = n->reconfigs; r; r = next) {
                next = r->next;
                if (r->group_error == -EINVAL) {
                        finish(r, -EINVAL, "the group of tenant '%s' refused the member list", r->tenant);
                        continue;
                }
                if (r->group_error < 0) {
                        finish(r, r->group_error, "cannot ask the group of tenant '%s': %s", r->tenant,
                               strerror(-r->group_error));
                        continue;
                }
                if (r->step != STEP_GROUP)
                        continue;
                if (is_root(r) && r->ticks_left % ROOT_ANNOUNCE_TICKS == 0)
                        vs_node_root_announce(r->node, &r->target); /* root_group.h: the new nodes must hear of it */
                if (r->ticks_left > 0 && --r->ticks_left == 0)
                        finish(r, -ETIMEDOUT,
                               "the group of tenant '%s' did not enter epoch %" PRIu64
                               " in time (are its replicas up?); ask again with the same nodes to finish",
                               r->tenant, r->target.epoch);
        }
}

void vs_node_reconfig_done(struct vs_node *n) {
        while (n->reconfigs)
                finish(n->reconfigs, -ESHUTDOWN, "the node is shutting down");
}
