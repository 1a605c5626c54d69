/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node: everything one viewstampd hosts, on one sd-event loop.
 *  - The journal (journal/journal.h), shared by every tenant: records appended while an event is
 *    handled are group-committed once per loop iteration (vs_node_commit_soon()), and durability
 *    completions come back through the journal's eventfd. When no other source is ready the loop
 *    writes and syncs a small batch of backups' records itself (vs_journal_commit_here())
 *    instead of waking the I/O thread; frames queued meanwhile have left before it blocks.
 *  - Peer links (net/peer.h) carrying every tenant's replica messages, and the client listener
 *    (net/listener.h, net/conn.h) carrying client requests (wire/client.proto).
 *  - One tick timer for all tenants.
 *  - The root tenant ".root", hosted on the first 1, 3 or 5 configured nodes of a static cluster,
 *    and in a cluster formed at run time on 1, 3 or 5 nodes as the members allow
 *    (node/root_group.h): a tree whose
 *    /tenants/NAME nodes hold every tenant's configuration and /nodes/NAME every member's
 *    addresses and state (wire/cluster.proto). Creating a tenant is creating that tree node, a
 *    replicated operation, so two administrators racing on two nodes get exactly one success and
 *    one NodeExists; the tenant's id is the op number that created it, plus one (never reused,
 *    never 1, which is the root's).
 *  - Every node follows the root (follow.c): a node hosting the root's primary reads its
 *    replica's applied state, any other reads the root through its admin session once a second. From it the node
 *    learns the members (node/member.h: the peer set gains and loses nodes at run time, the
 *    static [Cluster] nodes always stay, and the membership is cached in the state directory for
 *    the next start) and starts the replicas it is named for. It keeps each hosted tenant's
 *    configuration in its state directory, so a restart brings the same replicas back before
 *    the root group has even formed. Each node records itself under /nodes at start, with the
 *    addresses its configuration gives.
 *  - Administrative operations on the root group (vs_node_root_submit) go through the node's own
 *    client session, to the root primary over the peer links, retried with the same request
 *    number until answered: at most once, like any client.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf/conf.h"
#include "node/identity.h"
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
        /* A hosted tenant is about to go (deleted from the cluster); t is still valid. */
        void (*tenant_removed)(struct vs_node *n, struct vs_tenant *t, void *userdata);
        /* A member joined (change > 0) or left (< 0), or its addresses or state changed (0). */
        void (*member_changed)(struct vs_node *n, const char *name, int change, void *userdata);
        /* The root group gained or lost a tenant (wherever it is placed). */
        void (*cluster_tenant_changed)(struct vs_node *n, const char *name, bool present, void *userdata);
};

/* Opens the state directory and journal, recovers every hosted tenant, binds the peer and
 * client addresses. err receives a one-line reason on failure. */
int vs_node_new(sd_event *e, const struct vs_conf *conf, const struct vs_node_callbacks *cb, void *userdata,
                struct vs_node **ret, char *err, size_t errlen);
void vs_node_free(struct vs_node *n);

/*
 * Cluster lifecycle. A node whose configuration lists the cluster's nodes ([Cluster] Node=) is in
 * its static cluster from the start. Otherwise it is in no cluster until InitCluster or
 * JoinCluster (node/identity.h), which it remembers across restarts; until then it hosts nothing
 * and vs_node_root_submit() fails with -ENOTCONN.
 *
 * init and join: -EEXIST when the state directory holds a journal (of an earlier cluster).
 * init: -EALREADY in a cluster (err says why); on a failure after the identity is on disk the
 * node is in an undefined state and the daemon must exit.
 * join: -EALREADY, -EINVAL bad address, -EKEYREJECTED malformed or missing token; otherwise
 * done(userdata, 0 or -errno, message) once over: -EPERM refused by the member (wrong token, name
 * taken), -EAGAIN the root group did not answer in time, -ETIMEDOUT, -ECONNREFUSED, ... .
 * token: -ENOENT for static clusters and nodes in no cluster.
 */
bool vs_node_in_cluster(const struct vs_node *n);
int vs_node_init_cluster(struct vs_node *n, char *err, size_t errlen);
typedef void (*vs_node_done_fn)(void *userdata, int error, const char *message);
int vs_node_join_cluster(struct vs_node *n, const char *address, const char *token, vs_node_done_fn done,
                         void *userdata, char *err, size_t errlen);
int vs_node_join_token(const struct vs_node *n, char buf[VS_JOIN_TOKEN_MAX]);

/*
 * Membership changes through the root group (node/drain.c); done(userdata, 0 or -errno, message).
 * Refused at once (returned, err says why): -ENOENT no such member, -EBUSY the node hosts
 * replicas (and remove was not told to drain), -EOPNOTSUPP removing a node that hosts a replica
 * of a static cluster's root group (which does not move), -EINVAL this node itself (remove it
 * from another member), -ENOTCONN in no cluster. Drain marks the node draining (placement leaves
 * it out), then moves its replicas one tenant at a time (node/reconfig.h) to the least loaded
 * active members without one of that tenant, then the root group's replica, if it has one, to
 * where the root would go without it (node/root_group.h); it ends with -EOPNOTSUPP when that is
 * a static cluster's root, -ENOSPC when a replica has nowhere to go, or a move's error (draining
 * again resumes). Removing a node (after draining it, with drain) takes it out of /nodes; every
 * member drops its link.
 */
int vs_node_remove_member(struct vs_node *n, const char *name, bool drain, vs_node_done_fn done, void *userdata,
                          char *err, size_t errlen);
int vs_node_drain_member(struct vs_node *n, const char *name, vs_node_done_fn done, void *userdata, char *err,
                         size_t errlen);

/* The root group's configuration as this node last learned it (node/root_group.h). */
const struct vs_tenant_config *vs_node_root_config(const struct vs_node *n);

/* Picks the nodes of a new tenant of `count` replicas (node/placement.h) into ret->replicas. */
int vs_node_place_tenant(const struct vs_node *n, uint32_t count, struct vs_tenant_config *ret);
/* The root group created (c->id set) or deleted a tenant through this node: its view of the
 * cluster takes that in at once, so that the next placement counts it. */
void vs_node_tenant_created(struct vs_node *n, const struct vs_tenant_config *c);
void vs_node_tenant_deleted(struct vs_node *n, const char *name);

/* Rebinds listeners after their address came back (link watch). */
void vs_node_rebind(struct vs_node *n);

size_t vs_node_n_tenants(const struct vs_node *n);
struct vs_tenant *vs_node_tenant_at(const struct vs_node *n, size_t i);
struct vs_tenant *vs_node_find_tenant(const struct vs_node *n, const char *name);
size_t vs_node_n_peers_up(const struct vs_node *n);
/* Whether this node has an up link to the member (itself included), and when it last heard from
 * it (CLOCK_REALTIME usec; now for itself, 0 never). */
bool vs_node_member_reachable(const struct vs_node *n, const char *name);
uint64_t vs_node_member_last_seen(const struct vs_node *n, const char *name);
/* Hosted user tenants (the root tenant is not counted), and how many of them are primary here. */
void vs_node_count_tenants(const struct vs_node *n, size_t *ret_hosted, size_t *ret_primary);

/*
 * c is the root group's current copy of a tenant's configuration (its id as the root tree gives
 * it). If this node hosts the tenant, what may change under a running replica (the access token)
 * is taken from c and saved in the state directory; anything else is left to the cluster's
 * membership work. The root's follower (follow.c) does this for every hosted tenant whenever
 * the root's copy changed; the node that handled a change calls it at once, so that its own
 * clients see it before the follower's next read. 0 also when the tenant is not hosted here;
 * -errno (logged) when saving failed.
 */
int vs_node_refresh_tenant(struct vs_node *n, const struct vs_tenant_config *c);

/* done(userdata, 0, response) once the root group answered; done(userdata, -errno, NULL) when it
 * cannot be sent (the node is shutting down). command is copied. */
typedef void (*vs_node_root_done_fn)(void *userdata, int error, const Viewstamp__TreeResponse *response);
int vs_node_root_submit(struct vs_node *n, const uint8_t *command, size_t len, vs_node_root_done_fn done,
                        void *userdata);

/* The cluster's members as this node knows them: the static configuration's [Cluster] nodes
 * and the root group's /nodes (node/member.h), this node included; and the root group's state
 * as this node last read it (node/cluster_state.h). */
struct vs_members;
struct vs_cluster_state;
const struct vs_members *vs_node_members(const struct vs_node *n);
const struct vs_conf_node *vs_node_find_member(const struct vs_node *n, const char *name);
const struct vs_cluster_state *vs_node_cluster(const struct vs_node *n);

/* Submits a get of path in the root tree (a linearizable read at the root primary). */
int vs_node_root_get(struct vs_node *n, const char *path, vs_node_root_done_fn done, void *userdata);

/* Submits the creation of an empty folder in the root tree, ignoring the answer (NodeExists
 * once it is there): for the folders that hold tenants and nodes, created on first use. */
int vs_node_root_ensure_folder(struct vs_node *n, const char *path);

/* For tenants (node/tenant.c). */
const struct vs_conf *vs_node_conf(const struct vs_node *n);
struct vs_journal *vs_node_journal(const struct vs_node *n);
/* Records or checkpoints were appended to the node's journal: they are committed as one batch
 * once the loop has handled what is ready. Every append must be followed by this call; primary:
 * they are records of a tenant whose primary this node is (their sync stays off the loop). */
void vs_node_commit_soon(struct vs_node *n, bool primary);
int vs_node_state_fd(const struct vs_node *n);
sd_event *vs_node_event(const struct vs_node *n);
uint64_t vs_node_cluster_id(const struct vs_node *n);
uint64_t vs_node_random(struct vs_node *n);
/* m to the tenant's replicas on nodes[0..n_nodes-1] (at most VR_MAX_REPLICAS), encoded once. */
void vs_node_send_replica(struct vs_node *n, const char *const *nodes, size_t n_nodes, const char *tenant,
                          const struct vr_msg *m);
void vs_node_send_client(struct vs_node *n, uint64_t route, const char *tenant, const Viewstamp__ClientReply *reply);
void vs_node_tenant_changed(struct vs_node *n, struct vs_tenant *t);
