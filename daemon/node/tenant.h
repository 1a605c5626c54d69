/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One replica of one tenant hosted by this node: the VR core (vr/vr.h) driven over the node's
 * journal, peer links and client connections, with the tree (tree/tree_sm.h) as its state
 * machine.
 *
 * Driving rules (vr/vr.h's contract, kept here):
 *  - After every input the replica's outputs are drained: records go to the node's journal (one
 *    group commit per loop iteration, node.c), messages to peers or clients at once (the core
 *    holds back whatever depends on records not yet durable).
 *  - A checkpoint is taken into memory when the core asks and handed to the journal, which
 *    writes it on its I/O thread before any record appended later (so storage never holds a log
 *    without its base) and prunes the files no durable metadata names any more. Only once it
 *    is durable is the core told so.
 *  - Replica messages carry the sender's member id and its index in the message's epoch; both are
 *    taken from the tenant's configurations and the node the message came from (node/routes.h),
 *    never from the message, so one node cannot speak for another's replica. Messages go to
 *    member ids, which the same table turns into nodes, whatever the epoch.
 *  - A fatal error (the journal failed, a checkpoint could not be written, out of memory) stops
 *    the replica: it takes no more input and says so in its status; the daemon must restart.
 */

#include <stdbool.h>
#include <stdint.h>

#include "journal/format.h"
#include "node/tenant_config.h"
#include "vr/vr.h"
#include "wire/client.pb-c.h"
#include "wire/vr.pb-c.h"

struct vs_node;
struct vs_tenant;

/* Client routes: where a client's replies go. A connection serial (from 1 up), or a peer node
 * (VS_ROUTE_PEER | node index) for requests a node forwarded over its peer link. */
#define VS_ROUTE_PEER (1ULL << 63)

/*
 * rec: what the journal recovered for this tenant, or NULL. Without rec, a replica is brand new
 * unless `lost`: this node hosted it before but its journal is gone, so it must not vote or
 * acknowledge anything before §4.3 recovery rebuilt it from its peers.
 */
int vs_tenant_new(struct vs_node *node, const struct vs_tenant_config *config, const struct vs_scan_tenant *rec,
                  bool lost, struct vs_tenant **ret);
void vs_tenant_free(struct vs_tenant *t);

const struct vs_tenant_config *vs_tenant_config(const struct vs_tenant *t);
struct vs_node *vs_tenant_node(const struct vs_tenant *t);
/* Takes c's access token if it differs, and c's members if c is of a later epoch (or confirms the
 * epoch being entered), saving the configuration file first (vs_node_refresh_tenant()). */
int vs_tenant_refresh_config(struct vs_tenant *t, const struct vs_tenant_config *c);
struct vr_replica *vs_tenant_replica(const struct vs_tenant *t);
struct tree *vs_tenant_tree(const struct vs_tenant *t);
bool vs_tenant_failed(const struct vs_tenant *t);
/* The replica left its group in a reconfiguration and the new epoch holds the state (vr.h's
 * vr_ready.stopped): the node may delete it. */
bool vs_tenant_stopped(const struct vs_tenant *t);
/* The node of the primary as of the replica's last status ("" when unknown). */
const char *vs_tenant_primary(const struct vs_tenant *t);

void vs_tenant_receive(struct vs_tenant *t, const char *from_node, const Viewstamp__VrMessage *pb);
/* more: further requests are already at hand (the connection has them buffered). The replica's
 * outputs then wait for them, so that one Prepare carries the whole burst; at the latest they
 * are taken in the loop's next iteration, before connections flush. */
void vs_tenant_client_request(struct vs_tenant *t, uint64_t route, const Viewstamp__ClientRequest *req, bool more);
void vs_tenant_tick(struct vs_tenant *t);
void vs_tenant_persisted(struct vs_tenant *t, uint64_t seq, int error);
void vs_tenant_checkpoint_durable(struct vs_tenant *t, uint64_t op, int error);
