/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viewstampd's configuration: /etc/viewstamp/viewstampd.conf, INI style (parsed by libinih),
 * documented in viewstampd.conf(5). Every key has a default; a file need only name the node.
 *
 * Loading is all or nothing: an unknown section or key, a malformed line or a bad value makes
 * vs_conf_load() fail with "FILE:LINE: reason" and leaves the caller's struct untouched, so the
 * daemon never runs with a half-applied file. Cross-key rules (the node's own name appears in
 * the node list, addresses and names are unique) are checked after the whole file is read.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/address.h"
#include "log/log.h"

#define VS_CONF_DEFAULT_PATH "/etc/viewstamp/viewstampd.conf"
#define VS_CONF_DEFAULT_STATE_DIR "/var/lib/viewstamp"
#define VS_CONF_NAME_MAX 63
#define VS_CONF_NODES_MAX 64

struct vs_conf_node {
        char name[VS_CONF_NAME_MAX + 1];
        struct vs_address peer;
        struct vs_address client;
};

enum vs_read_path {
        VS_READS_LEASE = 0, /* primary answers from its state while its lease holds */
        VS_READS_LOG = 1,   /* every read is ordered through the log like a write */
};

struct vs_conf {
        /* [Node] */
        char name[VS_CONF_NAME_MAX + 1];
        char state_dir[4096];
        enum vs_log_level log_level;
        /* This node's own addresses, for a cluster without a static node list (formed with
         * InitCluster/JoinCluster); len 0 when unset. With a list they must match its entry. */
        struct vs_address peer_address;
        struct vs_address client_address;

        /* [Cluster]: static membership (one Node= line per node, this one included) */
        struct vs_conf_node nodes[VS_CONF_NODES_MAX];
        size_t n_nodes;
        char secret_file[4096];       /* SecretFile=; empty: <state_dir>/cluster.key (auth/secret.h) */

        /* [Client]: TLS on the client port when both are set (PEM files) */
        char client_cert_file[4096];
        char client_key_file[4096];

        /* [Replica] */
        uint32_t tick_ms;
        uint32_t heartbeat_ticks;
        uint32_t view_change_ticks;
        uint32_t lease_ticks;
        uint32_t clock_drift_ppm;
        uint32_t checkpoint_interval; /* ops between checkpoints */
        uint32_t batch_max;           /* entries per Prepare */
        enum vs_read_path reads;

        /* [Limits] */
        uint32_t max_frame_bytes;
        uint32_t max_value_bytes;
        uint32_t max_path_bytes;
        uint32_t max_connections;            /* per listener */
        uint32_t max_connections_per_address; /* client connections from one source IP */
        uint32_t max_requests_per_connection; /* client requests outstanding on one connection */
        uint32_t max_tenants;                 /* user tenants hosted by this node */
        uint32_t max_clients_per_tenant;
};

void vs_conf_defaults(struct vs_conf *c);

/*
 * Reads path on top of *c (normally defaults). Returns 0, or a negative errno with *error set to
 * a malloc()ed "PATH:LINE: reason" (or "PATH: reason" for whole-file problems); *c is unchanged
 * on failure. -ENOENT when the file does not exist.
 */
int vs_conf_load(struct vs_conf *c, const char *path, char **error);

/* Node names end up in D-Bus object paths, file names and log fields, so they are plain:
 * 1..VS_CONF_NAME_MAX of A-Z a-z 0-9 . _ -, not starting with . or -. */
bool vs_conf_name_valid(const char *s);

/* This node's name and addresses: its [Cluster] Node= entry, or [Node] PeerAddress= and
 * ClientAddress=. -ENOENT when the file gives neither. */
int vs_conf_self(const struct vs_conf *c, struct vs_conf_node *ret);

/* true for a static cluster: the file lists the cluster's nodes. */
static inline bool vs_conf_is_static(const struct vs_conf *c) {
        return c->n_nodes > 0;
}

/* The entry of the named node in c->nodes, or NULL. */
const struct vs_conf_node *vs_conf_find_node(const struct vs_conf *c, const char *name);
