/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node's D-Bus API: object /org/viewstamp1, interface org.viewstamp1.Manager, under the
 * well-known name org.viewstamp1 (documented in org.viewstamp1(5); the introspection XML in
 * dbus/ is checked against the live object by the tests).
 *
 * The bus is the system bus unless $DBUS_SYSTEM_BUS_ADDRESS points elsewhere (tests run a
 * private dbus-daemon). Losing the name or the bus connection is fatal for the daemon: an
 * administrator must never talk to a stale instance.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "conf/conf.h"

struct vs_node;

#define VS_BUS_NAME "org.viewstamp1"
#define VS_BUS_PATH "/org/viewstamp1"
#define VS_BUS_MANAGER_INTERFACE "org.viewstamp1.Manager"

#define VS_BUS_ERROR_PREFIX "org.viewstamp1.Error."

/* What the Manager object serves; must outlive the bus connection. */
struct vs_bus_manager {
        const struct vs_conf *conf;
        struct vs_node *node;
};

/*
 * Connects, publishes the Manager and tenant objects and requests the name.
 *
 * Methods that change the cluster (CreateTenant, InitCluster, JoinCluster, RemoveNode, DrainNode,
 * Tenant.SetAccessToken) and GetJoinToken, whose answer lets a machine in, go through
 * vs_bus_authorize() (bus/authorize.h: root, or polkit's org.viewstamp1.manage); properties and
 * the other methods are open to every local user.
 */
int vs_bus_open(sd_event *e, struct vs_bus_manager *m, sd_bus **ret);
/* Flushes and closes the connection, dropping calls still waiting for polkit; returns NULL. */
sd_bus *vs_bus_close(sd_bus *bus);

/* Announces a member's arrival (change > 0), departure (< 0) or update (0): the Nodes property,
 * the node object, NodeAdded/NodeRemoved. And a tenant created or deleted in the cluster:
 * TenantAdded/TenantRemoved. bus may be NULL (not open yet): nothing is sent. */
void vs_bus_manager_member_changed(sd_bus *bus, const char *name, int change);
void vs_bus_manager_tenant_changed(sd_bus *bus, const char *name, bool present);
