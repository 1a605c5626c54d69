/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * org.viewstamp1.Tenant.Reconfigure(as nodes) and MoveReplica(s from, s to): move the tenant's
 * replica group to those nodes (1, 3 or 5), or one replica from a node to another, as one VR
 * reconfiguration (node/reconfig.h). Root, or polkit's org.viewstamp1.manage (bus/authorize.h).
 * The call returns once the group entered the new epoch and the root group recorded it; calling
 * again with the same arguments finishes one that was interrupted, and succeeds at once when the
 * group is on those nodes already.
 *
 * Errors: InvalidArgs (count, a node named twice or not a member, a move to a node that holds a
 * replica already), AccessDenied, org.viewstamp1.Error.NoSuchTenant, org.viewstamp1.Error.NoSuchNode
 * (a move from a node that holds no replica), org.viewstamp1.Error.Busy (another reconfiguration
 * of the tenant is under way: its nodes are named; or the configuration kept changing),
 * org.viewstamp1.Error.Unavailable (the root group or the tenant's group did not answer in time:
 * call again).
 */

#include <systemd/sd-bus.h>

int vs_bus_tenant_reconfigure(sd_bus_message *m, void *userdata, sd_bus_error *error);
int vs_bus_tenant_move_replica(sd_bus_message *m, void *userdata, sd_bus_error *error);
