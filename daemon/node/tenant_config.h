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
};

bool vs_tenant_name_valid(const char *name, bool internal);

/* Checks the config against the rules above and the cluster's members. 0, or -EINVAL with a
 * reason in err. */
int vs_tenant_config_check(const struct vs_tenant_config *c, const struct vs_members *members, char *err,
                           size_t errlen);

/* This node's replica index in c, or -ENOENT. */
int vs_tenant_config_index(const struct vs_tenant_config *c, const char *node);

/* The protobuf form; pb's strings point into c and names. from_pb: -EBADMSG for names too long
 * or a replica count out of 1..5. */
void vs_tenant_config_to_pb(const struct vs_tenant_config *c, Viewstamp__TenantConfig *pb,
                            char *names[VS_TENANT_REPLICAS_MAX]);
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
