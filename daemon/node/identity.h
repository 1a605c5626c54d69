/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The identity of a cluster formed at run time (InitCluster, JoinCluster) rather than listed in
 * viewstampd.conf: its id, the join secret and the root group's configuration
 * (wire/cluster.proto's ClusterIdentity), kept in the state directory as cluster.id, sealed with
 * its checksum and written atomically. The cluster secret is not part of it: it has its own file
 * (auth/secret.h). A node without this file (and
 * without a static node list) belongs to no cluster and hosts nothing.
 *
 * Join tokens carry what a new node needs to find and convince the cluster:
 * "vsjoin1-" + the cluster id (16 hex digits) + "-" + the join secret (64 hex digits). The join
 * secret keys the TLS handshake of a join (net/peer.h). Whoever holds a token can join a node and
 * receive the cluster secret: it is shown to root only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/secret.h"
#include "node/tenant_config.h"
#include "wire/cluster.pb-c.h"

#define VS_JOIN_TOKEN_MAX (sizeof "vsjoin1-" + 16 + 1 + 2 * VS_SECRET_SIZE)

struct vs_identity {
        uint64_t cluster_id;
        struct vs_secret join_secret;
        struct vs_tenant_config root;
};

/* A new cluster with random id and join secret whose root group is this one node. -EIO if the
 * kernel's random source fails. */
int vs_identity_new(const char *node, struct vs_identity *ret);

/* pb's pointers point into id (and root_buf, which must outlive pb). */
void vs_identity_to_pb(const struct vs_identity *id, Viewstamp__ClusterIdentity *pb, Viewstamp__TenantConfig *root,
                       struct vs_tenant_config_pb_buf *root_names);
/* -EBADMSG unless every field is present and well-formed. */
int vs_identity_from_pb(const Viewstamp__ClusterIdentity *pb, struct vs_identity *ret);

int vs_identity_save(int dir_fd, const struct vs_identity *id);
/* -ENOENT without the file, -EBADMSG for a damaged one. */
int vs_identity_load(int dir_fd, struct vs_identity *ret);

void vs_join_token_format(const struct vs_identity *id, char buf[VS_JOIN_TOKEN_MAX]);
/* -EINVAL for anything but a well-formed token. */
int vs_join_token_parse(const char *token, uint64_t *ret_cluster_id, struct vs_secret *ret_secret);
