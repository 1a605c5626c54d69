/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where one tenant's replica messages go, and who sent those that arrive: the VR core speaks of
 * member ids and of indexes in an epoch's member list (vr/vr.h), the peer links of node names.
 * Pure data, filled from the tenant's configurations (node/tenant_config.h: an epoch's replicas
 * and the previous epoch's) and from the epochs the replica itself reports, which may run ahead of
 * the configuration this node read from the root group.
 *
 * Ids map to nodes only through configurations, the root group's word: a node is never taken to
 * hold a member it was not named for, so one node cannot speak for another's replica. The table
 * remembers the VS_ROUTES_MAX ids learnt most recently and the newest VS_ROUTES_EPOCHS epochs
 * (what it forgets are replicas long stopped).
 */

#include <stdbool.h>
#include <stdint.h>

#include "node/tenant_config.h"
#include "vr/vr.h"

#define VS_ROUTES_MAX 16
#define VS_ROUTES_EPOCHS 4

struct vs_routes {
        uint32_t n;
        uint64_t clock; /* counts learnings: the entry learnt longest ago goes first */
        struct {
                uint64_t id;
                uint64_t learnt;
                char node[VS_CONF_NAME_MAX + 1];
        } v[VS_ROUTES_MAX];
        uint32_t n_epochs;
        struct {
                uint64_t epoch;
                uint32_t n;
                uint64_t members[VR_MAX_REPLICAS];
        } e[VS_ROUTES_EPOCHS];
};

/* Learns c's epoch and the previous one, with the nodes of their members. */
void vs_routes_learn_config(struct vs_routes *r, const struct vs_tenant_config *c);
/* Learns an epoch's member ids (no nodes: those come from configurations). */
void vs_routes_learn_epoch(struct vs_routes *r, uint64_t epoch, uint32_t n, const uint64_t *members);

/* The node holding member id, or NULL. */
const char *vs_routes_node(const struct vs_routes *r, uint64_t id);
/* The sender of a message of `epoch` from node: its member id and its index in that epoch
 * (VR_NO_INDEX when it is not a member of it, or the epoch is unknown). -ENOENT when no
 * configuration named the node. */
int vs_routes_sender(const struct vs_routes *r, const char *node, uint64_t epoch, uint64_t *ret_id,
                     uint32_t *ret_index);
