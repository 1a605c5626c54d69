/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/tenant.h"
#include "bus/tenant_reconfig.h"
#include "bus/tenant_token.h"
#include "node/node.h"
#include "node/tenant.h"
#include "util/cleanup.h"
#include "vr/vr.h"

int vs_bus_tenant_path(const char *name, char **ret) {
        return sd_bus_path_encode(VS_BUS_TENANT_PREFIX, name, ret);
}

static int find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        struct vs_node *node = userdata;
        _cleanup_free_ char *name = NULL;
        int r = sd_bus_path_decode(path, VS_BUS_TENANT_PREFIX, &name);
        if (r <= 0)
                return r;
        struct vs_tenant *t = vs_node_find_tenant(node, name);
        if (!t || strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                return 0;
        *found = t;
        return 1;
}

static int enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        struct vs_node *node = userdata;
        size_t n = vs_node_n_tenants(node), k = 0;
        char **l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *name = vs_tenant_config(vs_node_tenant_at(node, i))->name;
                if (strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                        continue;
                int r = vs_bus_tenant_path(name, &l[k]);
                if (r < 0) {
                        while (k > 0)
                                free(l[--k]);
                        free(l);
                        return r;
                }
                k++;
        }
        *nodes = l;
        return 0;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct vs_tenant *t = userdata;
        const struct vs_tenant_config *c = vs_tenant_config(t);
        const struct vr_replica *vr = vs_tenant_replica(t);

        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", c->name);
        if (strcmp(property, "Id") == 0)
                return sd_bus_message_append(reply, "t", c->id);
        if (strcmp(property, "Epoch") == 0)
                return sd_bus_message_append(reply, "t", vr_replica_epoch(vr));
        if (strcmp(property, "View") == 0)
                return sd_bus_message_append(reply, "t", vr_replica_view(vr));
        if (strcmp(property, "Status") == 0)
                return sd_bus_message_append(reply, "s", vs_tenant_failed(t) ? "failed" : vr_status_name(vr_replica_status(vr)));
        if (strcmp(property, "Primary") == 0)
                return sd_bus_message_append(reply, "s", vs_tenant_primary(t));
        if (strcmp(property, "OpNumber") == 0)
                return sd_bus_message_append(reply, "t", vr_replica_op(vr));
        if (strcmp(property, "CommitNumber") == 0)
                return sd_bus_message_append(reply, "t", vr_replica_commit(vr));
        if (strcmp(property, "CheckpointOp") == 0)
                return sd_bus_message_append(reply, "t", vr_replica_checkpoint(vr));
        if (strcmp(property, "AccessTokenRequired") == 0)
                return sd_bus_message_append(reply, "b", c->token.set);
        if (strcmp(property, "Replicas") == 0) {
                int r = sd_bus_message_open_container(reply, 'a', "s");
                for (uint32_t i = 0; r >= 0 && i < c->n_replicas; i++)
                        r = sd_bus_message_append(reply, "s", c->replicas[i]);
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        return -ENOENT;
}

static const sd_bus_vtable tenant_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Replicas", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Epoch", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("View", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Status", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Primary", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OpNumber", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("CommitNumber", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("CheckpointOp", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("AccessTokenRequired", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Reconfigure", SD_BUS_ARGS("as", nodes), SD_BUS_NO_RESULT, vs_bus_tenant_reconfigure,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MoveReplica", SD_BUS_ARGS("s", from, "s", to), SD_BUS_NO_RESULT,
                                vs_bus_tenant_move_replica, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetAccessToken", SD_BUS_ARGS("s", token), SD_BUS_NO_RESULT,
                                vs_bus_tenant_set_access_token, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END,
};

int vs_bus_tenant_register(sd_bus *bus, struct vs_node *node) {
        int r = sd_bus_add_fallback_vtable(bus, NULL, VS_BUS_TENANT_PREFIX, VS_BUS_TENANT_INTERFACE, tenant_vtable,
                                           find, node);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, VS_BUS_TENANT_PREFIX, enumerate, node);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, "/org/viewstamp1");
        return r;
}

void vs_bus_tenant_removed(sd_bus *bus, struct vs_tenant *t) {
        const char *name = vs_tenant_config(t)->name;
        _cleanup_free_ char *path = NULL;
        if (bus && strcmp(name, VS_ROOT_TENANT_NAME) != 0 && vs_bus_tenant_path(name, &path) >= 0)
                (void) sd_bus_emit_object_removed(bus, path);
}

void vs_bus_tenant_changed(sd_bus *bus, struct vs_tenant *t, bool added) {
        const char *name = vs_tenant_config(t)->name;
        _cleanup_free_ char *path = NULL;
        if (!bus || strcmp(name, VS_ROOT_TENANT_NAME) == 0 || vs_bus_tenant_path(name, &path) < 0)
                return;
        if (added)
                (void) sd_bus_emit_object_added(bus, path);
        else
                (void) sd_bus_emit_properties_changed(bus, path, VS_BUS_TENANT_INTERFACE, "Epoch", "View", "Status",
                                                      "Primary", "Replicas", "AccessTokenRequired", NULL);
}
