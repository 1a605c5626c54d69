/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/node.h"
#include "node/cluster_state.h"
#include "node/member.h"
#include "node/node.h"
#include "util/cleanup.h"

int vs_bus_node_path(const char *name, char **ret) {
        return sd_bus_path_encode(VS_BUS_NODE_PREFIX, name, ret);
}

/* The member an object path names, or NULL. */
static const struct vs_member *member_of(const struct vs_node *node, const char *path) {
        _cleanup_free_ char *name = NULL;
        if (sd_bus_path_decode(path, VS_BUS_NODE_PREFIX, &name) <= 0)
                return NULL;
        return vs_members_find(vs_node_members(node), name);
}

static int find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        if (!member_of(userdata, path))
                return 0;
        *found = userdata; /* the node: the member is looked up again per property */
        return 1;
}

static int enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        const struct vs_members *m = vs_node_members(userdata);
        char **l = calloc(m->n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++) {
                int r = vs_bus_node_path(m->v[i].node.name, &l[i]);
                if (r < 0) {
                        while (i > 0)
                                free(l[--i]);
                        free(l);
                        return r;
                }
        }
        *nodes = l;
        return 0;
}

static int append_tenants(sd_bus_message *reply, const struct vs_node *node, const char *name) {
        const struct vs_cluster_state *st = vs_node_cluster(node);
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < st->n_tenants; i++)
                if (vs_tenant_config_index(&st->tenants[i].config, name) >= 0)
                        r = sd_bus_message_append(reply, "s", st->tenants[i].config.name);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_node *node = userdata;
        const struct vs_member *m = member_of(node, path);
        if (!m)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "no such node");
        char a[VS_ADDRESS_STRING_MAX];
        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", m->node.name);
        if (strcmp(property, "PeerAddress") == 0)
                return sd_bus_message_append(reply, "s", vs_address_to_string(&m->node.peer, a));
        if (strcmp(property, "ClientAddress") == 0)
                return sd_bus_message_append(reply, "s", vs_address_to_string(&m->node.client, a));
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", vs_member_state_name(m->state));
        if (strcmp(property, "Reachable") == 0)
                return sd_bus_message_append(reply, "b", vs_node_member_reachable(node, m->node.name));
        if (strcmp(property, "LastSeen") == 0)
                return sd_bus_message_append(reply, "t", vs_node_member_last_seen(node, m->node.name));
        if (strcmp(property, "Tenants") == 0)
                return append_tenants(reply, node, m->node.name);
        return -ENOENT;
}

static const sd_bus_vtable node_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PeerAddress", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("ClientAddress", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("State", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("Reachable", "b", property_get, 0, 0),
        SD_BUS_PROPERTY("Tenants", "as", property_get, 0, 0),
        SD_BUS_PROPERTY("LastSeen", "t", property_get, 0, 0),
        SD_BUS_VTABLE_END,
};

int vs_bus_node_register(sd_bus *bus, struct vs_node *node) {
        int r = sd_bus_add_fallback_vtable(bus, NULL, VS_BUS_NODE_PREFIX, VS_BUS_NODE_INTERFACE, node_vtable, find,
                                           node);
        return r < 0 ? r : sd_bus_add_node_enumerator(bus, NULL, VS_BUS_NODE_PREFIX, enumerate, node);
}
