/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading the root group's tree, where /tenants/NAME holds each tenant's encoded TenantConfig
 * (wire/cluster.proto). A tenant's id is the op number that created its node, plus one: never
 * reused, and the same on every replica of the root.
 */

#include <stddef.h>

#include "node/tenant_config.h"
#include "tree/tree.h"

#define VS_ROOT_TENANTS_PATH "/tenants"

/* The configuration the root's tree holds for tenant name: 0, -ENOENT, or -EBADMSG for a value
 * that does not decode. */
int vs_root_tree_tenant(const struct tree *root, const char *name, struct vs_tenant_config *ret);

/*
 * Whether creating c keeps every node it names within max_tenants user tenants. Counted in
 * root's tenants when this node has a copy of the root's tree (root not NULL); otherwise only
 * this node (named self, hosting hosted_here tenants) can be counted. 0, or -EUSERS with a reason
 * naming the node in err.
 */
int vs_root_tree_check_capacity(const struct tree *root, const char *self, size_t hosted_here, size_t max_tenants,
                                const struct vs_tenant_config *c, char *err, size_t errlen);
