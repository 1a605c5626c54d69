/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The cluster's members on D-Bus: one object per member at /org/viewstamp1/node/<name, escaped
 * with sd_bus_path_encode()>, interface org.viewstamp1.Node (dbus/org.viewstamp1.Node.xml), as
 * this node knows them (node.h: vs_node_members()). Objects appear and go with the membership
 * (InterfacesAdded/InterfacesRemoved, and the Manager's NodeAdded/NodeRemoved signals); their
 * properties are read when asked and signal no changes.
 */

#include <systemd/sd-bus.h>

struct vs_node;

#define VS_BUS_NODE_PREFIX "/org/viewstamp1/node"
#define VS_BUS_NODE_INTERFACE "org.viewstamp1.Node"

int vs_bus_node_register(sd_bus *bus, struct vs_node *node);
int vs_bus_node_path(const char *name, char **ret);
