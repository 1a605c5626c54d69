/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/authorize.h"
#include "bus/manager.h"
#include "bus/node.h"
#include "bus/tenant.h"
#include "log/log.h"
#include "node/cluster_state.h"
#include "node/node.h"
#include "node/tenant.h"
#include "node/tenant_config.h"
#include "tree/error.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"

static int property_node_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_bus_manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->conf->name);
}

/* a(sss): name, peer address, client address of every member, by name. */
static int property_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_members *members = vs_node_members(((const struct vs_bus_manager *) userdata)->node);
        int r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < members->n; i++) {
                const struct vs_conf_node *m = &members->v[i].node;
                char peer[VS_ADDRESS_STRING_MAX], client[VS_ADDRESS_STRING_MAX];
                r = sd_bus_message_append(reply, "(sss)", m->name, vs_address_to_string(&m->peer, peer),
                                          vs_address_to_string(&m->client, client));
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* as: the nodes of the root group's epoch, as this node last learned them. */
static int property_root_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_tenant_config *root = vs_node_root_config(((const struct vs_bus_manager *) userdata)->node);
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (uint32_t i = 0; r >= 0 && i < root->n_replicas; i++)
                r = sd_bus_message_append(reply, "s", root->replicas[i]);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* The named error for what the node's lifecycle calls return (node.h). */
static const char *error_name(int error) {
        switch (error) {
        case -EALREADY:
                return VS_BUS_ERROR_PREFIX "AlreadyInCluster";
        case -ENOTCONN:
                return VS_BUS_ERROR_PREFIX "NotInCluster";
        case -EKEYREJECTED:
                return VS_BUS_ERROR_PREFIX "BadToken";
        case -EPERM:
                return VS_BUS_ERROR_PREFIX "JoinRefused";
        case -EAGAIN:
        case -ETIMEDOUT:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
                return VS_BUS_ERROR_PREFIX "Unavailable";
        case -ENOENT:
                return VS_BUS_ERROR_PREFIX "NoSuchNode";
        case -EBUSY:
                return VS_BUS_ERROR_PREFIX "NodeNotEmpty";
        case -EOPNOTSUPP:
                return VS_BUS_ERROR_PREFIX "NeedsReconfiguration";
        case -ENOSPC:
                return VS_BUS_ERROR_PREFIX "NotEnoughNodes";
        case -EINVAL:
                return SD_BUS_ERROR_INVALID_ARGS;
        case -EEXIST:
                return VS_BUS_ERROR_PREFIX "StateNotEmpty";
        default:
                return VS_BUS_ERROR_PREFIX "Internal";
        }
}

static int reply_error(sd_bus_message *call, int error, const char *message) {
        return sd_bus_reply_method_errorf(call, error_name(error), "%s", message);
}

/* A lifecycle call answered once the node is done (vs_node_done_fn). */
static void lifecycle_done(void *userdata, int error, const char *message) {
        sd_bus_message *call = userdata;
        if (error < 0)
                (void) reply_error(call, error, message);
        else
                (void) sd_bus_reply_method_return(call, NULL);
        sd_bus_message_unref(call);
}

static int init_cluster(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        char why[512] = "";
        int r = vs_node_init_cluster(mgr->node, why, sizeof why);
        if (r < 0) {
                if (r != -EALREADY && r != -EEXIST) {
                        /* The identity may be on disk already: only a restart brings the node up. */
                        log_error(NULL, "InitCluster failed: %s; exiting", why);
                        (void) sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), EXIT_FAILURE);
                }
                return reply_error(m, r, why);
        }
        char id[17];
        snprintf(id, sizeof id, "%016llx", (unsigned long long) vs_node_cluster_id(mgr->node));
        return sd_bus_reply_method_return(m, "s", id);
}

static int join_cluster(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        const char *address, *token;
        int r = sd_bus_message_read(m, "ss", &address, &token);
        if (r < 0)
                return r;
        char why[512] = "";
        r = vs_node_join_cluster(mgr->node, address, token, lifecycle_done, sd_bus_message_ref(m), why, sizeof why);
        if (r < 0) {
                sd_bus_message_unref(m);
                return reply_error(m, r, why);
        }
        return 1;
}

/* Authorized like a change: the token lets a machine in and hands it the cluster secret. */
static int get_join_token(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        char token[VS_JOIN_TOKEN_MAX];
        if (vs_node_join_token(mgr->node, token) < 0)
                return sd_bus_error_set(error, vs_node_in_cluster(mgr->node) ? VS_BUS_ERROR_PREFIX "StaticCluster"
                                                                              : VS_BUS_ERROR_PREFIX "NotInCluster",
                                        vs_node_in_cluster(mgr->node)
                                                ? "this cluster lists its nodes in viewstampd.conf: no joining"
                                                : "this node is in no cluster");
        int r = sd_bus_reply_method_return(m, "s", token);
        explicit_bzero(token, sizeof token);
        return r;
}

static int member_change(sd_bus_message *m, struct vs_bus_manager *mgr, bool remove, sd_bus_error *error) {
        const char *name;
        int drain = 1;
        int r = remove ? sd_bus_message_read(m, "sb", &name, &drain) : sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        char why[512] = "";
        sd_bus_message_ref(m);
        r = remove ? vs_node_remove_member(mgr->node, name, drain, lifecycle_done, m, why, sizeof why)
                   : vs_node_drain_member(mgr->node, name, lifecycle_done, m, why, sizeof why);
        if (r < 0) {
                sd_bus_message_unref(m);
                return reply_error(m, r, why);
        }
        return 1;
}

static int remove_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return member_change(m, userdata, true, error);
}

static int drain_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return member_change(m, userdata, false, error);
}

VS_BUS_AUTHORIZED(init_cluster)
VS_BUS_AUTHORIZED(join_cluster)
VS_BUS_AUTHORIZED(get_join_token)
VS_BUS_AUTHORIZED(remove_node)
VS_BUS_AUTHORIZED(drain_node)

struct pending_tenant {
        sd_bus_message *call;
        struct vs_node *node;
        struct vs_tenant_config config;
};

static void pending_free(struct pending_tenant *p) {
        sd_bus_message_unref(p->call);
        free(p);
}

/* Sends an administrative operation on /tenants/NAME to the root group; done answers call. */
static int submit_tenant_op(struct vs_bus_manager *mgr, sd_bus_message *call, const struct vs_tenant_config *c,
                            const uint8_t *cmd, size_t len, vs_node_root_done_fn done) {
        struct pending_tenant *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->call = sd_bus_message_ref(call);
        p->node = mgr->node;
        p->config = *c;
        int r = vs_node_root_ensure_folder(mgr->node, VS_TENANTS_PATH);
        if (r >= 0)
                r = vs_node_root_submit(mgr->node, cmd, len, done, p);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        return 1; /* answered by done */
}

static bool root_failed(const struct pending_tenant *p, int error, const Viewstamp__TreeResponse *resp) {
        if (error < 0)
                (void) sd_bus_reply_method_errnof(p->call, error, "cannot reach the cluster's root group: %m");
        else if (resp->error != 0 && resp->error != TREE_ERR_NODE_EXISTS && resp->error != TREE_ERR_NO_NODE)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "Internal", "the root group refused: %s",
                                                  tree_error_name((int) resp->error));
        else
                return false;
        return true;
}

static void create_done(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct pending_tenant *p = userdata;
        const char *name = p->config.name;
        _cleanup_free_ char *path = NULL;
        if (root_failed(p, error, resp))
                ;
        else if (resp->error == TREE_ERR_NODE_EXISTS)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "TenantExists",
                                                  "tenant '%s' already exists", name);
        else if (vs_bus_tenant_path(name, &path) < 0)
                (void) sd_bus_reply_method_errno(p->call, ENOMEM, NULL);
        else {
                if (resp->stat) {
                        p->config.id = resp->stat->created_op + 1;
                        vs_node_tenant_created(p->node, &p->config);
                }
                log_notice(&(struct vs_log_ctx) { .tenant = name }, "tenant created");
                (void) sd_bus_reply_method_return(p->call, "o", path);
        }
        pending_free(p);
}

static int check_tenant_name(const char *name, sd_bus_error *error) {
        if (strlen(name) > VS_TENANT_NAME_MAX || !vs_tenant_name_valid(name, false))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "invalid tenant name '%.*s%s' (1-%d of A-Z a-z 0-9 . _ -, not starting with . or -)",
                                         VS_TENANT_NAME_MAX, name, strlen(name) > VS_TENANT_NAME_MAX ? "..." : "",
                                         VS_TENANT_NAME_MAX);
        return 0;
}

static int not_in_cluster(sd_bus_error *error) {
        return sd_bus_error_set(error, VS_BUS_ERROR_PREFIX "NotInCluster",
                                "this node is in no cluster: InitCluster or JoinCluster first");
}

/* c names the tenant and its nodes: checked, then created through the root group. */
static int submit_create(struct vs_bus_manager *mgr, sd_bus_message *m, struct vs_tenant_config *c,
                         sd_bus_error *error) {
        char why[256];
        vs_tenant_config_number(c);
        if (vs_tenant_config_check(c, vs_node_members(mgr->node), why, sizeof why) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);
        size_t hosted, primary;
        vs_node_count_tenants(mgr->node, &hosted, &primary);
        if (vs_cluster_state_check_capacity(vs_node_cluster(mgr->node), mgr->conf->name, hosted, mgr->conf->max_tenants,
                                            c, why, sizeof why) < 0)
                return sd_bus_error_set(error, VS_BUS_ERROR_PREFIX "TooManyTenants", why);
        _cleanup_free_ uint8_t *value = NULL, *create = NULL;
        size_t value_len, create_len;
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(c->name, path);
        int r = vs_tenant_config_encode(c, &value, &value_len);
        if (r >= 0)
                r = tree_sm_encode_create(path, value, value_len, 0, &create, &create_len);
        if (r < 0)
                return r;
        return submit_tenant_op(mgr, m, c, create, create_len, create_done);
}

static int create_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        if (!vs_node_in_cluster(mgr->node))
                return not_in_cluster(error);
        struct vs_tenant_config c = {};
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        const char *node;
        while ((r = sd_bus_message_read(m, "s", &node)) > 0) {
                if (c.n_replicas == VS_TENANT_REPLICAS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "a tenant has 1, 3 or 5 replicas");
                if (strlen(node) > VS_CONF_NAME_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%.*s...' is not a node of this cluster",
                                                 VS_CONF_NAME_MAX, node);
                strcpy(c.replicas[c.n_replicas++], node);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = check_tenant_name(name, error);
        if (r < 0)
                return r;
        strcpy(c.name, name);
        return submit_create(mgr, m, &c, error);
}

VS_BUS_AUTHORIZED(create_tenant)

static int place_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        if (!vs_node_in_cluster(mgr->node))
                return not_in_cluster(error);
        const char *name;
        uint32_t count;
        int r = sd_bus_message_read(m, "su", &name, &count);
        if (r < 0)
                return r;
        r = check_tenant_name(name, error);
        if (r < 0)
                return r;
        struct vs_tenant_config c = {};
        strcpy(c.name, name);
        r = vs_node_place_tenant(mgr->node, count, &c);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "a tenant has 1, 3 or 5 replicas, not %u",
                                         count);
        if (r == -ENOSPC)
                return sd_bus_error_setf(error, VS_BUS_ERROR_PREFIX "NotEnoughNodes",
                                         "fewer than %u active nodes in the cluster", count);
        if (r < 0)
                return r;
        return submit_create(mgr, m, &c, error);
}

VS_BUS_AUTHORIZED(place_tenant)

static void delete_done(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct pending_tenant *p = userdata;
        const char *name = p->config.name;
        if (root_failed(p, error, resp))
                ;
        else if (resp->error == TREE_ERR_NO_NODE)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "NoSuchTenant",
                                                  "no tenant '%s' in the cluster", name);
        else {
                vs_node_tenant_deleted(p->node, name);
                log_notice(&(struct vs_log_ctx) { .tenant = name }, "tenant deleted");
                (void) sd_bus_reply_method_return(p->call, NULL);
        }
        pending_free(p);
}

static int delete_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        if (!vs_node_in_cluster(mgr->node))
                return not_in_cluster(error);
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = check_tenant_name(name, error);
        if (r < 0)
                return r;
        struct vs_tenant_config c = {};
        strcpy(c.name, name);
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(name, path);
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t len;
        r = tree_sm_encode_delete(path, &cmd, &len);
        if (r < 0)
                return r;
        return submit_tenant_op(mgr, m, &c, cmd, len, delete_done);
}

VS_BUS_AUTHORIZED(delete_tenant)

static int method_list_tenants(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(so)");
        for (size_t i = 0; r >= 0 && i < vs_node_n_tenants(mgr->node); i++) {
                const char *name = vs_tenant_config(vs_node_tenant_at(mgr->node, i))->name;
                _cleanup_free_ char *path = NULL;
                if (strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                        continue;
                r = vs_bus_tenant_path(name, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(so)", name, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_get_tenant(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_bus_manager *mgr = userdata;
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (strcmp(name, VS_ROOT_TENANT_NAME) == 0 || !vs_node_find_tenant(mgr->node, name))
                return sd_bus_error_setf(error, VS_BUS_ERROR_PREFIX "NoSuchTenant",
                                         "no tenant '%.*s%s' is hosted on this node", VS_TENANT_NAME_MAX, name,
                                         strlen(name) > VS_TENANT_NAME_MAX ? "..." : "");
        _cleanup_free_ char *path = NULL;
        r = vs_bus_tenant_path(name, &path);
        return r < 0 ? r : sd_bus_reply_method_return(m, "o", path);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NodeName", "s", property_node_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Nodes", "a(sss)", property_nodes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RootNodes", "as", property_root_nodes, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("CreateTenant", SD_BUS_ARGS("s", name, "as", replicas), SD_BUS_RESULT("o", tenant),
                                method_create_tenant, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PlaceTenant", SD_BUS_ARGS("s", name, "u", replicas), SD_BUS_RESULT("o", tenant),
                                method_place_tenant, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteTenant", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_delete_tenant,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InitCluster", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", cluster_id), method_init_cluster,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("JoinCluster", SD_BUS_ARGS("s", address, "s", token), SD_BUS_NO_RESULT,
                                method_join_cluster, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetJoinToken", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", token), method_get_join_token,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveNode", SD_BUS_ARGS("s", name, "b", drain), SD_BUS_NO_RESULT,
                                method_remove_node, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DrainNode", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_drain_node,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTenants", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", tenants), method_list_tenants,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetTenant", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", tenant), method_get_tenant,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("NodeAdded", SD_BUS_ARGS("s", name, "o", node), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeRemoved", SD_BUS_ARGS("s", name, "o", node), 0),
        SD_BUS_SIGNAL_WITH_ARGS("TenantAdded", SD_BUS_ARGS("s", name), 0),
        SD_BUS_SIGNAL_WITH_ARGS("TenantRemoved", SD_BUS_ARGS("s", name), 0),
        SD_BUS_VTABLE_END,
};

void vs_bus_manager_member_changed(sd_bus *bus, const char *name, int change) {
        _cleanup_free_ char *path = NULL;
        if (!bus || vs_bus_node_path(name, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(bus, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "Nodes", NULL);
        if (change > 0) {
                (void) sd_bus_emit_object_added(bus, path);
                (void) sd_bus_emit_signal(bus, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "NodeAdded", "so", name, path);
        } else if (change < 0) {
                (void) sd_bus_emit_interfaces_removed(bus, path, VS_BUS_NODE_INTERFACE, NULL);
                (void) sd_bus_emit_signal(bus, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "NodeRemoved", "so", name, path);
        }
}

void vs_bus_manager_tenant_changed(sd_bus *bus, const char *name, bool present) {
        if (bus)
                (void) sd_bus_emit_signal(bus, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE,
                                          present ? "TenantAdded" : "TenantRemoved", "s", name);
}

static int on_name_lost(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_event *e = userdata;
        log_error(NULL, "lost the D-Bus name %s to another owner; exiting", VS_BUS_NAME);
        return sd_event_exit(e, EXIT_FAILURE);
}

int vs_bus_open(sd_event *e, struct vs_bus_manager *mgr, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system_with_description(&bus, "viewstampd");
        if (r < 0)
                return log_error_errno(NULL, r, "cannot connect to the system bus");

        r = sd_bus_add_object_vtable(bus, NULL, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, manager_vtable, mgr);
        if (r >= 0)
                r = vs_bus_tenant_register(bus, mgr->node);
        if (r >= 0)
                r = vs_bus_node_register(bus, mgr->node);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameLost", on_name_lost, e);
        if (r >= 0)
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return log_error_errno(NULL, r, "cannot publish %s", VS_BUS_PATH);
        }

        r = sd_bus_request_name(bus, VS_BUS_NAME, 0);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                if (r == -EEXIST)
                        return log_error_errno(NULL, r, "%s is already owned: is another viewstampd running?",
                                               VS_BUS_NAME);
                return log_error_errno(NULL, r, "cannot own %s (is the D-Bus policy installed?)", VS_BUS_NAME);
        }
        *ret = bus;
        return 0;
}

sd_bus *vs_bus_close(sd_bus *bus) {
        if (bus)
                vs_bus_authorize_drop(bus);
        return sd_bus_flush_close_unref(bus);
}
