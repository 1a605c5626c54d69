/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Tenant objects on the bus: /org/viewstamp1/tenant/<name, escaped by sd_bus_path_encode()> with
 * interface org.viewstamp1.Tenant, one per tenant hosted on this node (the node's replica's
 * view of it). View, Status and Primary emit PropertiesChanged; OpNumber, CommitNumber and
 * CheckpointOp change too fast for signals and are read on demand.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>

struct vs_node;
struct vs_tenant;

#define VS_BUS_TENANT_PREFIX "/org/viewstamp1/tenant"
#define VS_BUS_TENANT_INTERFACE "org.viewstamp1.Tenant"

int vs_bus_tenant_register(sd_bus *bus, struct vs_node *node);
/* Path of a tenant's object (malloc()ed). */
int vs_bus_tenant_path(const char *name, char **ret);
void vs_bus_tenant_changed(sd_bus *bus, struct vs_tenant *t, bool added);
/* InterfacesRemoved for a tenant about to be removed from the node (call while it still is). */
void vs_bus_tenant_removed(sd_bus *bus, struct vs_tenant *t);
