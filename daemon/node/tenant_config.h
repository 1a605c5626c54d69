/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A tenant's configuration: its name, cluster-wide id and the nodes of its replica group in
 * replica-index order (wire/cluster.proto's TenantConfig), with the rules every interface
 * applies to it and its file in the state directory (tenant-<id:016x>.conf: the encoded
 * TenantConfig followed by its 8-byte vs_checksum, written atomically).
 *
 * Names: 1 to 63 characters of A-Z a-z 0-9 . _ -, not starting with '-', and starting with '.'
 * only for the cluster's own tenants (".root"). Replica groups have 1, 3 or 5 distinct nodes.
 *
 * Member ids: each replica has a stable VR member id (vr/vr.h's vr_config.members), handed out
 * from next_id and never reused, so that a replica that moves to another node is a new member
 * and never mistaken for the one that left. A configuration of epoch e > 0 also names epoch
 * e-1's replicas (old_*): a node in both keeps its id; the others left (or are leaving) and stay
 * reachable by id until they stopped. `reconfiguring`: the root group agreed on epoch e but the
 * tenant's group has not confirmed entering it yet (node/reconfig.h). A configuration decoded
 * from an older version has ids 0..n-1.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "node/access_token.h"
#include "node/member.h"
#include "wire/cluster.pb-c.h"

#define VS_TENANT_NAME_MAX 63
#define VS_TENANT_REPLICAS_MAX 5
#define VS_ROOT_TENANT_NAME ".root"
#define VS_ROOT_TENANT_ID 1

struct vs_tenant_config {
        char name[VS_TENANT_NAME_MAX + 1];
        uint64_t id;
        uint64_t epoch;
        uint32_t n_replicas;
        char replicas[VS_TENANT_REPLICAS_MAX][VS_CONF_NAME_MAX + 1];
        struct vs_access_token token; /* what clients must present, if set */
        uint64_t member_ids[VS_TENANT_REPLICAS_MAX];
        uint64_t next_member_id;
        uint32_t n_old;
        char old_replicas[VS_TENANT_REPLICAS_MAX][VS_CONF_NAME_MAX + 1];
        uint64_t old_member_ids[VS_TENANT_REPLICAS_MAX];
        bool reconfiguring;
};

bool vs_tenant_name_valid(const char *name, bool internal);

/* Checks the config against the rules above and the cluster's members. 0, or -EINVAL with a
 * reason in err. */
int vs_tenant_config_check(const struct vs_tenant_config *c, const struct vs_members *members, char *err,
                           size_t errlen);

/* This node's replica index in c, or -ENOENT. */
int vs_tenant_config_index(const struct vs_tenant_config *c, const char *node);
/* Whether c names the node, in its epoch or the previous one. */
bool vs_tenant_config_named(const struct vs_tenant_config *c, const char *node);
/* The node's member id in c's epoch, else in the previous one; -ENOENT when it is in neither. */
int vs_tenant_config_member_id(const struct vs_tenant_config *c, const char *node, uint64_t *ret);

/* Gives a new tenant's replicas the ids 0..n-1 (epoch 0, nothing before it). */
void vs_tenant_config_number(struct vs_tenant_config *c);

/* The configuration of the next epoch with replicas nodes[0..n-1] (in that order), as the root
 * group records it before the tenant's group is asked to enter it: nodes of c's epoch keep their
 * ids, new ones get fresh ids, c's replicas become the old ones, reconfiguring is set.
 * -EINVAL for a count other than 1, 3, 5, a node named twice or too long a name. */
int vs_tenant_config_next_epoch(const struct vs_tenant_config *c, const char *const *nodes, uint32_t n,
                                struct vs_tenant_config *ret);
/* The nodes c's group has with from's replica moved to `to`, into ret (pointing into c): 0, or
 * -EEXIST when to holds a replica already, -ENOENT when from holds none. A group that holds one
 * on to and none on from (the move recorded already, or done) gives its own nodes. */
int vs_tenant_config_move(const struct vs_tenant_config *c, const char *from, const char *to,
                          const char *ret[VS_TENANT_REPLICAS_MAX], uint32_t *ret_n);
/* Whether c's replicas are exactly the nodes given, in any order. */
bool vs_tenant_config_same_nodes(const struct vs_tenant_config *c, const char *const *nodes, uint32_t n);

/* The protobuf form; pb's strings and arrays point into c and buf. from_pb: -EBADMSG for names too
 * long, a replica count out of 1..5, or ids that are not distinct and below next_member_id. */
struct vs_tenant_config_pb_buf {
        char *names[VS_TENANT_REPLICAS_MAX];
        char *old_names[VS_TENANT_REPLICAS_MAX];
};
void vs_tenant_config_to_pb(const struct vs_tenant_config *c, Viewstamp__TenantConfig *pb,
                            struct vs_tenant_config_pb_buf *buf);
int vs_tenant_config_from_pb(const Viewstamp__TenantConfig *pb, struct vs_tenant_config *ret);
int vs_tenant_config_encode(const struct vs_tenant_config *c, uint8_t **ret, size_t *ret_len);
/* -EBADMSG for bytes that are not a well-formed TenantConfig. */
int vs_tenant_config_decode(const uint8_t *buf, size_t len, struct vs_tenant_config *ret);

/* The root tenant of a static cluster: the first 1, 3 or 5 nodes of the configuration (the
 * largest odd number not above the node count, at most 5). */
void vs_tenant_config_root(const struct vs_conf *conf, struct vs_tenant_config *ret);

int vs_tenant_config_save(int dir_fd, const struct vs_tenant_config *c);
/* Calls fn for every tenant file in the directory; a damaged file is an error (-EBADMSG) naming
 * the file in err, since a node must not silently forget a replica it hosts. */
int vs_tenant_config_load_all(int dir_fd, int (*fn)(void *ctx, const struct vs_tenant_config *c), void *ctx,
                              char *err, size_t errlen);
int vs_tenant_config_remove(int dir_fd, uint64_t id);
bool vs_tenant_config_exists(int dir_fd, uint64_t id);
