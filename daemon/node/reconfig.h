/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's side of VR reconfiguration (vr/vr.h, "Reconfiguration"): moving a tenant's
 * replica group to another set of nodes, 1, 3 or 5 of them, as one new epoch. The root group
 * stays the source of truth, and every step is one that any node can redo:
 *
 *  (a) The root group records the next epoch in the tenant's configuration (/tenants/NAME,
 *      node/tenant_config.h): its nodes with their member ids (kept for nodes that stay, fresh
 *      for new ones), the previous epoch's as the old ones, and `reconfiguring`. A compare-and-set
 *      on the entry's version, so that two drivers cannot record two different next epochs.
 *      Every node follows the root: a node new in the epoch starts its replica joining (it holds
 *      nothing, votes for nothing and acknowledges nothing until it fetched the state).
 *  (b) This node, as a client of the tenant (node/session.h), submits VR_RECONFIGURE_CMD with
 *      the new member ids. The client id is derived from the tenant's id and the new epoch, and
 *      the command is request 1 of it, so that however often and from whichever node (b) is
 *      redone, the group executes it once and answers a repeat from its client table. The answer
 *      comes from the new epoch's primary once f'+1 new members hold the state durably.
 *  (c) The root group records the epoch as entered (reconfiguring cleared, compare-and-set).
 *
 * Replicas that left stop once the new epoch confirmed it (vr_ready.stopped) and the node
 * deletes them like a deleted tenant's (journal FORGET, then files); a node that missed that
 * deletes its replica once the root names a later epoch without it (node/follow.c).
 *
 * A crash (of the driving node, or any other) between steps loses nothing and blocks nothing for
 * good: after (a) the root holds the agreed next epoch, and calling again with the same nodes
 * resumes at (b); any other reconfiguration of the tenant is refused (-EBUSY) until then. Before
 * (a) nothing changed. After (b) the group is in the new epoch whether or not (c) happened, and
 * the old epoch's members stay routable through the configuration; calling again redoes (b),
 * which is answered from the client table, and (c). Until (a) is redone no replica is started or
 * deleted on its account, and no acknowledged write depends on a node leaving: the VR core
 * moves the state to f'+1 new members before any replica that left stops.
 *
 * Not yet: a node cannot hold a replica of a tenant again once it held one of an earlier epoch
 * (its old replica's journal records would be mistaken for the new one's): adding a node named
 * among the previous epoch's replicas is refused, and after that nothing checks it.
 */

#include <stdint.h>

#include "node/node.h"

struct vs_reconfig;

/* Ticks the group has to answer (b) before the call fails with -ETIMEDOUT (calling again resumes). */
#define RECONFIG_TIMEOUT_MSEC (60 * 1000)

/* done(userdata, 0 or -errno, message) once over; refused at once with -EINVAL (a count other than
 * 1, 3 or 5, a node named twice or not a member), -ENOTCONN (in no cluster). Later: -ENOENT no such
 * tenant, -EBUSY another reconfiguration is under way (message names its nodes) or the
 * configuration kept changing, -ETIMEDOUT the group did not answer in time, -EINVAL the group
 * refused the member list, -ESHUTDOWN. */
int vs_node_reconfigure(struct vs_node *n, const char *tenant, const char *const *nodes, uint32_t count,
                        vs_node_done_fn done, void *userdata, char *err, size_t errlen);
/* The same with the nodes the tenant has now, from's replaced by to's (resumes a move of from to
 * to that is under way). -ENOENT later when from holds no replica of it. */
int vs_node_move_replica(struct vs_node *n, const char *tenant, const char *from, const char *to,
                         vs_node_done_fn done, void *userdata, char *err, size_t errlen);

/* For the node: deadlines, and ending every reconfiguration with -ESHUTDOWN. */
void vs_node_reconfig_tick(struct vs_node *n);
void vs_node_reconfig_done(struct vs_node *n);
