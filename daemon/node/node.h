/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node: everything one viewstampd hosts, on one sd-event loop.
 *  - The journal (journal/journal.h), shared by every tenant: records appended while an event is
 *    handled are group-committed once per loop iteration (vs_node_commit_soon()), and durability
 *    completions come back through the journal's eventfd. When no other source is ready the loop
 *    writes and syncs the batch itself (vs_journal_commit_here()) instead of waking the I/O
 *    thread; frames queued meanwhile (a primary's Prepares) have left before it blocks.
 *  - Peer links (net/peer.h) carrying every tenant's replica messages, and the client listener
 *    (net/listener.h, net/conn.h) carrying client requests (wire/client.proto).
 *  - One tick timer for all tenants.
 *  - The root tenant ".root", hosted on the first 1, 3 or 5 configured nodes: a tree whose
 *    /tenants/NAME nodes hold every tenant's configuration. Creating a tenant is creating that
 *    tree node, a replicated operation, so two administrators racing on two nodes get exactly one
 *    success and one NodeExists; the tenant's id is the op number that created it, plus one
 *    (never reused, never 1, which is the root's). Every node hosting a root replica watches its
 *    applied state and starts the replicas it is named for; it keeps each hosted tenant's
 *    configuration in its state directory, so a restart brings the same replicas back before the
 *    root group has even formed. (Nodes that host no root replica learn tenants with the cluster
 *    lifecycle work; until then, place tenants on root nodes.)
 *  - Administrative operations on the root group (vs_node_root_submit) go through the node's own
 *    client session, to the root primary over the peer links, retried with the same request
 *    number until answered: at most once, like any client.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf/conf.h"
#include "wire/client.pb-c.h"
#include "wire/tree.pb-c.h"
#include "vr/msg.h"

struct vs_node;
struct vs_tenant;
struct vs_tenant_config;
struct vs_journal;

struct vs_node_callbacks {
        /* A hosted tenant appeared, or its view, status or primary changed. */
        void (*tenant_changed)(struct vs_node *n, struct vs_tenant *t, bool added, void *userdata);
};

/* Opens the state directory and journal, recovers every hosted tenant, binds the peer and
 * client addresses. err receives a one-line reason on failure. */
int vs_node_new(sd_event *e, const struct vs_conf *conf, const struct vs_node_callbacks *cb, void *userdata,
                struct vs_node **ret, char *err, size_t errlen);
void vs_node_free(struct vs_node *n);

/* Rebinds listeners after their address came back (link watch). */
void vs_node_rebind(struct vs_node *n);

size_t vs_node_n_tenants(const struct vs_node *n);
struct vs_tenant *vs_node_tenant_at(const struct vs_node *n, size_t i);
struct vs_tenant *vs_node_find_tenant(const struct vs_node *n, const char *name);
size_t vs_node_n_peers_up(const struct vs_node *n);
/* Hosted user tenants (the root tenant is not counted), and how many of them are primary here. */
void vs_node_count_tenants(const struct vs_node *n, size_t *ret_hosted, size_t *ret_primary);

/*
 * c is the root group's current copy of a tenant's configuration (its id as the root tree gives
 * it). If this node hosts the tenant, what may change under a running replica (the access token)
 * is taken from c and saved in the state directory; anything else is left to the cluster's
 * membership work. Called for every tenant whenever the root's copy may have changed: by the
 * discovery of nodes hosting a root replica, and by whoever follows the root elsewhere. 0 also
 * when the tenant is not hosted here; -errno (logged) when saving failed.
 */
int vs_node_refresh_tenant(struct vs_node *n, const struct vs_tenant_config *c);

/* done(userdata, 0, response) once the root group answered; done(userdata, -errno, NULL) when it
 * cannot be sent (the node is shutting down). command is copied. */
typedef void (*vs_node_root_done_fn)(void *userdata, int error, const Viewstamp__TreeResponse *response);
int vs_node_root_submit(struct vs_node *n, const uint8_t *command, size_t len, vs_node_root_done_fn done,
                        void *userdata);

/* For tenants (node/tenant.c). */
const struct vs_conf *vs_node_conf(const struct vs_node *n);
struct vs_journal *vs_node_journal(const struct vs_node *n);
/* Records or checkpoints were appended to the node's journal: they are committed as one batch
 * once the loop has handled what is ready. Every append must be followed by this call. */
void vs_node_commit_soon(struct vs_node *n);
int vs_node_state_fd(const struct vs_node *n);
uint64_t vs_node_cluster_id(const struct vs_node *n);
uint64_t vs_node_random(struct vs_node *n);
void vs_node_send_replica(struct vs_node *n, const char *node, const char *tenant, const struct vr_msg *m);
void vs_node_send_client(struct vs_node *n, uint64_t route, const char *tenant, const Viewstamp__ClientReply *reply);
void vs_node_tenant_changed(struct vs_node *n, struct vs_tenant *t);
