/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where a new tenant's replicas go, when the administrator gives a replica count rather than
 * nodes. Pure: the same inputs give the same answer on every node.
 *
 * Candidates are the active members (draining ones take no new replicas). They are taken least
 * loaded first, a node's load being the replicas it holds by the cluster state given (the root
 * group's included); nodes of equal load are ordered by a hash of the tenant's and the node's
 * names, so that ties spread differently for each tenant instead of always filling the same
 * nodes. The load comes from this node's view of the root, which may lag a concurrent creation
 * elsewhere: placement is a best effort at balance, never at correctness (the root group still
 * decides which creation of a name wins).
 */

#include <stdint.h>

#include "node/cluster_state.h"
#include "node/member.h"
#include "node/tenant_config.h"

/* Where a replica of t goes when it moves off one of t's nodes (a node being drained): the least
 * loaded active member that holds no replica of t and did not leave its group in its last
 * reconfiguration (node/reconfig.h), by the same order. -ENOSPC when there is none. */
int vs_placement_pick_move(const struct vs_members *members, const struct vs_cluster_state *st,
                           const struct vs_tenant_config *root, const struct vs_tenant_config *t,
                           char ret[VS_CONF_NAME_MAX + 1]);

/* Fills ret->replicas and ret->n_replicas. -EINVAL unless n is 1, 3 or 5; -ENOSPC when fewer than
 * n members are active. */
int vs_placement_pick(const struct vs_members *members, const struct vs_cluster_state *st,
                      const struct vs_tenant_config *root, const char *tenant, uint32_t n,
                      struct vs_tenant_config *ret);
