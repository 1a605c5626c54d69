/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "node/node_internal.h"
#include "tree/error.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"

const struct vs_members *vs_node_members(const struct vs_node *n) {
        return &n->members;
}

const struct vs_conf_node *vs_node_find_member(const struct vs_node *n, const char *name) {
        const struct vs_member *m = vs_members_find(&n->members, name);
        return m ? &m->node : NULL;
}

/* The static nodes, then what the cache adds: the cache only knows more, never better, than the
 * configuration about a node the configuration names. */
int vs_node_members_init(struct vs_node *n, char *err, size_t errlen) {
        struct vs_members cached = {};
        int r = vs_members_load(n->state_fd, &cached);
        if (r == -EBADMSG)
                log_warning(NULL, "ignoring the damaged membership cache: the root group will tell again");
        else if (r < 0 && r != -ENOENT) {
                snprintf(err, errlen, "membership cache: %s", strerror(-r));
                return r;
        }
        r = vs_members_copy(&cached, &n->members);
        vs_members_done(&cached);
        if (r >= 0)
                r = vs_members_from_conf(&n->members, &n->conf);
        struct vs_member self = {};
        if (r >= 0 && vs_conf_self(&n->conf, &self.node) >= 0)
                r = vs_members_put(&n->members, &self);
        if (r < 0)
                snprintf(err, errlen, "membership: %s", strerror(-r));
        return r;
}

int vs_node_members_start_peers(struct vs_node *n) {
        for (size_t i = 0; i < n->members.n; i++) {
                const struct vs_conf_node *m = &n->members.v[i].node;
                if (strcmp(m->name, n->conf.name) == 0)
                        continue;
                int r = vs_peer_set_add(n->peers, m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_static(const struct vs_node *n, const char *name) {
        return vs_conf_find_node(&n->conf, name) != NULL;
}

void vs_node_members_apply(struct vs_node *n, const struct vs_members *root_members) {
        struct vs_members next = {};
        int r = 0;
        /* A static node the root group has not heard of yet (it never started) is still a member. */
        for (size_t i = 0; r >= 0 && i < n->members.n; i++)
                if (is_static(n, n->members.v[i].node.name) && !vs_members_find(root_members, n->members.v[i].node.name))
                        r = vs_members_put(&next, &n->members.v[i]);
        if (r >= 0)
                r = vs_members_copy(root_members, &next);
        /* This node's own addresses are its configuration's, whatever the root still says. */
        const struct vs_member *self = vs_members_find(&n->members, n->conf.name);
        if (r >= 0 && self) {
                struct vs_member m = *self;
                const struct vs_member *said = vs_members_find(root_members, n->conf.name);
                if (said) {
                        m.state = said->state;
                        m.joined_op = said->joined_op;
                }
                r = vs_members_put(&next, &m);
        }
        if (r < 0) {
                log_error_errno(NULL, r, "cannot apply the cluster's membership");
                vs_members_done(&next);
                return;
        }
        if (vs_members_equal(&next, &n->members)) {
                vs_members_done(&next);
                return;
        }

        /* Changes are announced once the new membership is in place. */
        struct { char name[VS_CONF_NAME_MAX + 1]; int change; } changes[2 * VS_CONF_NODES_MAX];
        size_t n_changes = 0;
        for (size_t i = 0; i < n->members.n; i++) {
                const char *name = n->members.v[i].node.name;
                if (!vs_members_find(&next, name) && strcmp(name, n->conf.name) != 0) {
                        struct vs_log_ctx c = { .peer = name };
                        log_notice(&c, "node left the cluster");
                        (void) vs_peer_set_remove(n->peers, name);
                        strcpy(changes[n_changes].name, name);
                        changes[n_changes++].change = -1;
                }
        }
        for (size_t i = 0; i < next.n; i++) {
                const struct vs_member *m = &next.v[i];
                const struct vs_member *was = vs_members_find(&n->members, m->node.name);
                if (strcmp(m->node.name, n->conf.name) == 0 || (was && vs_member_equal(was, m)))
                        continue;
                struct vs_log_ctx c = { .peer = m->node.name };
                char peer[VS_ADDRESS_STRING_MAX], client[VS_ADDRESS_STRING_MAX];
                strcpy(changes[n_changes].name, m->node.name);
                changes[n_changes++].change = was ? 0 : 1;
                log_notice(&c, "%s node: peer %s, client %s, %s", was ? "updated" : "new",
                           vs_address_to_string(&m->node.peer, peer), vs_address_to_string(&m->node.client, client),
                           vs_member_state_name(m->state));
                r = vs_peer_set_add(n->peers, &m->node);
                if (r < 0)
                        log_error_errno(&c, r, "cannot link to the node");
        }
        vs_members_done(&n->members);
        n->members = next;
        r = vs_members_save(n->state_fd, &n->members);
        if (r < 0)
                log_warning_errno(NULL, r, "cannot write the membership cache");
        for (size_t i = 0; i < n_changes && n->cb.member_changed; i++)
                n->cb.member_changed(n, changes[i].name, changes[i].change, n->userdata);
}

/* --- registering this node under /nodes --------------------------------------------------- */

/* Create /nodes/NAME; if it exists, read it; if it is not what this node's configuration says,
 * set it. The admin session runs these one after the other, each at most once. */

static int self_value(const struct vs_node *n, enum vs_member_state state, uint8_t **ret, size_t *ret_len) {
        struct vs_member want = *vs_members_find(&n->members, n->conf.name);
        want.state = state; /* the cluster's decision, not this node's */
        want.joined_op = 0;
        return vs_member_encode(&want, ret, ret_len);
}

static void self_path(const struct vs_node *n, char buf[static sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX]) {
        snprintf(buf, sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX, VS_NODES_PATH "/%s", n->conf.name);
}

static void register_failed(struct vs_node *n, int error, uint32_t tree_error) {
        n->registering = false;
        if (error < 0)
                log_error_errno(NULL, error, "cannot record this node in the cluster");
        else
                log_warning(NULL, "cannot record this node in the cluster: %s", tree_error_name((int) tree_error));
}

static void on_register_set(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_node *n = userdata;
        if (error < 0)
                return; /* shutting down */
        if (resp->error != 0)
                return register_failed(n, 0, resp->error);
        n->registering = false;
        n->registered = true;
        log_notice(NULL, "updated this node's addresses in the cluster");
}

static void on_register_read(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_node *n = userdata;
        if (error < 0)
                return;
        if (resp->error != 0)
                return register_failed(n, 0, resp->error);
        struct vs_member have;
        enum vs_member_state state = VS_MEMBER_ACTIVE;
        _cleanup_free_ uint8_t *want = NULL, *cmd = NULL;
        size_t want_len, cmd_len;
        if (vs_member_decode(resp->value.data, resp->value.len, &have) >= 0)
                state = have.state;
        int r = self_value(n, state, &want, &want_len);
        if (r < 0)
                return register_failed(n, r, 0);
        if (want_len == resp->value.len && memcmp(want, resp->value.data, want_len) == 0) {
                n->registering = false;
                n->registered = true;
                return;
        }
        char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
        self_path(n, path);
        r = tree_sm_encode_set(path, want, want_len, TREE_ANY_VERSION, &cmd, &cmd_len);
        if (r >= 0)
                r = vs_node_root_submit(n, cmd, cmd_len, on_register_set, n);
        if (r < 0)
                register_failed(n, r, 0);
}

static void on_register_create(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct vs_node *n = userdata;
        if (error < 0)
                return;
        if (resp->error == 0) {
                n->registering = false;
                n->registered = true;
                log_notice(NULL, "recorded this node in the cluster");
                return;
        }
        if (resp->error != TREE_ERR_NODE_EXISTS)
                return register_failed(n, 0, resp->error);
        char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
        self_path(n, path);
        int r = vs_node_root_get(n, path, on_register_read, n);
        if (r < 0)
                register_failed(n, r, 0);
}

void vs_node_register(struct vs_node *n) {
        if (n->registered || n->registering)
                return;
        char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
        self_path(n, path);
        _cleanup_free_ uint8_t *value = NULL, *cmd = NULL;
        size_t value_len, cmd_len;
        int r = self_value(n, VS_MEMBER_ACTIVE, &value, &value_len);
        if (r >= 0)
                r = tree_sm_encode_create(path, value, value_len, 0, &cmd, &cmd_len);
        if (r >= 0)
                r = vs_node_root_ensure_folder(n, VS_NODES_PATH);
        if (r >= 0)
                r = vs_node_root_submit(n, cmd, cmd_len, on_register_create, n);
        if (r < 0)
                return register_failed(n, r, 0);
        n->registering = true;
}

/* --- removing and draining ---------------------------------------------------------------- */

struct member_change {
        vs_node_done_fn done;
        void *userdata;
        char name[VS_CONF_NAME_MAX + 1];
        bool remove;
};

static void on_change_done(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        _cleanup_free_ struct member_change *c = userdata;
        char why[128];
        if (error < 0) {
                snprintf(why, sizeof why, "cannot reach the cluster's root group: %s", strerror(-error));
                return c->done(c->userdata, error, why);
        }
        if (resp->error == TREE_ERR_NO_NODE) {
                snprintf(why, sizeof why, "no node '%s' in the cluster", c->name);
                return c->done(c->userdata, -ENOENT, why);
        }
        if (resp->error != 0) {
                snprintf(why, sizeof why, "the root group refused: %s", tree_error_name((int) resp->error));
                return c->done(c->userdata, -EIO, why);
        }
        struct vs_log_ctx lc = { .peer = c->name };
        log_notice(&lc, "node %s", c->remove ? "removed from the cluster" : "draining");
        c->done(c->userdata, 0, c->remove ? "removed" : "draining");
}

int vs_node_member_submit(struct vs_node *n, const char *name, bool remove, vs_node_done_fn done, void *userdata) {
        const struct vs_member *m = vs_members_find(&n->members, name);
        if (!m)
                return -ENOENT;
        char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
        snprintf(path, sizeof path, VS_NODES_PATH "/%s", name);
        _cleanup_free_ uint8_t *cmd = NULL, *value = NULL;
        size_t len, value_len;
        int r;
        if (remove)
                r = tree_sm_encode_delete(path, &cmd, &len);
        else {
                struct vs_member d = *m;
                d.state = VS_MEMBER_DRAINING;
                d.joined_op = 0;
                r = vs_member_encode(&d, &value, &value_len);
                if (r >= 0)
                        r = tree_sm_encode_set(path, value, value_len, TREE_ANY_VERSION, &cmd, &len);
        }
        struct member_change *c = r >= 0 ? calloc(1, sizeof *c) : NULL;
        if (!c)
                return r < 0 ? r : -ENOMEM;
        *c = (struct member_change) { .done = done, .userdata = userdata, .remove = remove };
        strcpy(c->name, name);
        r = vs_node_root_submit(n, cmd, len, on_change_done, c);
        if (r < 0)
                free(c);
        return r;
}


