/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where the root group is, in a cluster formed at run time (InitCluster/JoinCluster). Its
 * configuration (members with their ids, epoch: node/tenant_config.h) is recorded in its own tree
 * at /root, written by the reconfiguration driver (node/reconfig.h) exactly like a tenant's
 * /tenants/NAME, so it is as consistent as any data. Every node learns it by following the root
 * (follow.c), starts the root replica it is named for, points its admin session (node/session.h)
 * at the root's nodes, and caches it in its identity file (node/identity.h), so that a restart
 * and a joiner (in the JoinReply) know where the root is.
 *
 * The root grows with the cluster: the node hosting the root's primary records /root once, then
 * moves the root (node/placement.h's vs_placement_root) whenever the active members allow more
 * replicas (3, then 5) or one of its nodes is no longer active (draining), and resumes a
 * reconfiguration of the root left unfinished. A node new in the root's next epoch cannot read
 * it from a root group that needs that very node to answer: the node driving the move sends the
 * recorded configuration to the new epoch's nodes over the peer links until the group entered
 * it (vs_node_root_announce); a node that missed it (down meanwhile) reads it from the old or
 * new nodes its cached configuration names. A drain moves the root off the drained node itself
 * (node/drain.c). A static cluster's root stays where its configuration puts it.
 */

#include "node/node.h"

/* Ticks the root's primary waits between two attempts to move the root. */
#define ROOT_GROW_RETRY_MSEC 5000

/* c is the root's configuration as the root group records it: taken when newer than this node's
 * (a later epoch, or the same one confirmed); the replica it names this node for is started. */
void vs_node_root_learn(struct vs_node *n, const struct vs_tenant_config *c);
/* Points the admin session at the root's nodes: those of its epoch, then those it is leaving. */
void vs_node_root_session_nodes(struct vs_node *n);
/* Sends c, the root's configuration, to the other nodes of its epoch. */
void vs_node_root_announce(struct vs_node *n, const struct vs_tenant_config *c);
/* A peer sent the root's configuration: learned on the next tick (outside the link's callback). */
void vs_node_root_heard(struct vs_node *n, const Viewstamp__TenantConfig *pb);
/* On the root's primary: grows or moves the root when it should (see above). */
void vs_node_root_tick(struct vs_node *n);
