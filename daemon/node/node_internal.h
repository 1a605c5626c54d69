/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node's state, shared by the files that make up the node (node.c: tenants, routing, the
 * admin session; membership.c: members and peers; follow.c: reading the root group). Nothing
 * outside daemon/node includes this; node.h is the contract.
 */

#include "net/peer.h"
#include "net/tls.h"
#include "node/cluster_state.h"
#include "node/identity.h"
#include "node/member.h"
#include "node/node.h"
#include "node/tenant_config.h"
#include "util/u64map.h"

/* A client connection must send its first frame within this time (half-open connections). */
#define CLIENT_HANDSHAKE_USEC (10ULL * 1000 * 1000)
/* A node hosting no root replica reads the root group's state this often. */
#define FOLLOW_INTERVAL_MSEC 1000


struct follow_read;

struct vs_node {
        sd_event *event;
        struct vs_conf conf;
        uint64_t cluster_id;
        int state_fd;
        uint64_t rng;
        struct vs_node_callbacks cb;
        void *userdata;

        struct vs_journal *journal;
        sd_event_source *journal_src;
        sd_event_source *commit_src;   /* defer: a batch was appended */
        sd_event_source *commit_post;  /* post, while a batch waits for ready sources */
        sd_event_source *commit_again; /* defer at idle priority, likewise */
        unsigned commit_waited;        /* sources handled first while a batch waits */
        bool batch_primary;            /* the batch holds records of a tenant this node leads */
        struct vs_peer_set *peers;
        struct vs_tls_creds *client_tls; /* NULL: the client port is plain */
        struct vs_client_port *clients;
        sd_event_source *tick;

        struct vs_tenant **tenants;
        size_t n_tenants;
        struct u64map by_id; /* tenant id -> struct vs_tenant */
        struct forgetting *forgetting;
        size_t n_forgetting;
        /* Tenants whose replica this node deleted (id -> 1, 2 once refused): it cannot host them
         * again, the journal taking no record of a tenant after its FORGET (journal.h). */
        struct u64map forgotten;
        /* Tenants this node is named for but refused over MaxTenants= (id -> 1): logged once, not
         * at every read of the root. */
        struct u64map over_limit;
        bool first_start; /* the state directory had no root configuration yet */
        bool started;     /* in a cluster: journal, links and tenants are up (vs_node_start) */
        bool has_identity; /* a cluster formed with InitCluster/JoinCluster: identity is set */
        struct vs_identity identity;
        struct join_client *joining;    /* JoinCluster in progress (join.c) */
        struct join_pending *accepting; /* joins this node answers (join.c) */

        /* Membership: the static configuration's nodes and the root group's /nodes (membership.c). */
        struct vs_members members;
        bool registered;             /* this node's /nodes entry is up to date */
        bool registering;
        /* Peer routes (VS_ROUTE_PEER | index): node names by index, never reused while running. */
        char (*routes)[VS_CONF_NAME_MAX + 1];
        size_t n_routes;

        /* The root group's state as last applied, and reading it (follow.c). */
        struct vs_cluster_state cluster;
        uint64_t root_applied_seen;
        struct follow_read *reading;
        struct vs_cluster_state *incoming; /* read remotely, applied on the next tick */
        uint32_t follow_wait;              /* ticks until the next remote read */

        /* The node's own sessions (node/session.h): with the root group, and with the tenants
         * whose reconfiguration it drives (node/reconfig.h). */
        struct vs_session *admin;
        struct vs_session **sessions;
        size_t n_sessions;
        struct vs_reconfig *reconfigs;
        /* Where the root group is (node/root_group.h), and whether this node is moving it. */
        struct vs_tenant_config root;
        bool root_moving;
        uint32_t root_wait; /* ticks until the next attempt */
        bool root_heard;    /* a peer sent root_told: learned on the next tick */
        struct vs_tenant_config root_told;
};

/* A deleted tenant whose FORGET record (journal.h) is not durable yet: its files go after. */
struct forgetting {
        uint64_t tenant;
        uint64_t seq;
};

/* node.c */
/* Stops a hosted replica of a tenant the cluster deleted and deletes its files: the journal
 * forgets it first, the configuration file and checkpoints go once that is durable. */
void vs_node_drop_tenant(struct vs_node *n, struct vs_tenant *t, const char *why);
int vs_node_start(struct vs_node *n, char *err, size_t errlen);
/* Saves the configuration file, then starts the replica; one that runs already takes c's changes
 * (vs_node_refresh_tenant). A node at its MaxTenants= starts nothing (logged). */
int vs_node_host_tenant(struct vs_node *n, const struct vs_tenant_config *c);
uint64_t vs_node_peer_route(struct vs_node *n, const char *node);

/* membership.c */
int vs_node_members_init(struct vs_node *n, char *err, size_t errlen);
int vs_node_members_start_peers(struct vs_node *n);
/* Makes the static nodes plus root_members (the root group's /nodes) the membership. */
void vs_node_members_apply(struct vs_node *n, const struct vs_members *root_members);
/* Marks the member draining, or removes it, through the root group: done(userdata, 0 or -errno,
 * message). -ENOENT when it is no member. */
int vs_node_member_submit(struct vs_node *n, const char *name, bool remove, vs_node_done_fn done, void *userdata);
/* Records this node under /nodes through the admin session, until it is there as configured. */
void vs_node_register(struct vs_node *n);

/* join.c */
void vs_node_on_join(struct vs_peer_set *s, uint64_t join_id, const char *remote, const Viewstamp__JoinRequest *req,
                     void *userdata);
void vs_node_join_done(struct vs_node *n);

/* follow.c */
void vs_node_follow_tick(struct vs_node *n);
void vs_node_follow_done(struct vs_node *n);
/* What is being read from the root now may predate a change this node just committed: drop it. */
void vs_node_follow_invalidate(struct vs_node *n);
