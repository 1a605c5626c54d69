/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the root group says about the cluster, as this node last read it: the members
 * (/nodes/NAME, member.h), every tenant's configuration (/tenants/NAME) and the root group's own
 * (/root, node/root_group.h), each tenant with the root op that last changed it so that a reader fetches again only what changed. Pure data:
 * filled from the root tree's entries (name, stat, value) by whoever reads them (follow.c).
 *
 * An entry whose value does not decode, or names another node or tenant than its path, is
 * refused with -EBADMSG and not added: one bad value must not hide the rest of the cluster.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/member.h"
#include "node/tenant_config.h"

#define VS_NODES_PATH "/nodes"
#define VS_TENANTS_PATH "/tenants"
#define VS_ROOT_PATH "/root"
/* Room for a tenant's path in the root's tree, VS_TENANTS_PATH "/NAME", and its NUL. */
#define VS_TENANT_PATH_MAX (sizeof VS_TENANTS_PATH "/" + VS_TENANT_NAME_MAX)

struct vs_cluster_tenant {
        struct vs_tenant_config config;
        uint64_t modified_op;
};

struct vs_cluster_state {
        struct vs_members members;
        struct vs_cluster_tenant *tenants; /* sorted by name */
        size_t n_tenants;
        bool incomplete; /* an entry was refused: absence from this state proves nothing */
        bool has_root;   /* /root was there: root holds it (id VS_ROOT_TENANT_ID) */
        struct vs_tenant_config root;
};

/* created_op: the op that created the tree node, which is the member's joined_op. */
int vs_cluster_state_add_member(struct vs_cluster_state *s, const char *name, uint64_t created_op,
                                const uint8_t *value, size_t len);
/* The tenant's id is created_op + 1 (node.h). */
int vs_cluster_state_add_tenant(struct vs_cluster_state *s, const char *name, uint64_t created_op,
                                uint64_t modified_op, const uint8_t *value, size_t len);
/* /root's value; -EBADMSG unless it is the root group's configuration. */
int vs_cluster_state_set_root(struct vs_cluster_state *s, const uint8_t *value, size_t len);
/* Adds a copy of an entry read before (unchanged since). */
int vs_cluster_state_keep_tenant(struct vs_cluster_state *s, const struct vs_cluster_tenant *t);

void vs_cluster_state_forget_tenant(struct vs_cluster_state *s, const char *name);
const struct vs_cluster_tenant *vs_cluster_state_find_tenant(const struct vs_cluster_state *s, const char *name);
/* Tenants with a replica on node. */
size_t vs_cluster_state_hosted(const struct vs_cluster_state *s, const char *node);

/*
 * Whether creating c keeps every node it names within max_tenants tenants, counted in this state;
 * this node (named self, hosting hosted_here) counts what it hosts when that is more than the
 * state knows of (a creation not read back yet). 0, or -EUSERS with a reason naming the node in err.
 */
int vs_cluster_state_check_capacity(const struct vs_cluster_state *s, const char *self, size_t hosted_here,
                                    size_t max_tenants, const struct vs_tenant_config *c, char *err, size_t errlen);

/* The path of tenant name's configuration in the root's tree (name at most VS_TENANT_NAME_MAX); the
 * root group's own is VS_ROOT_PATH. */
void vs_cluster_tenant_path(const char *name, char path[static VS_TENANT_PATH_MAX]);

void vs_cluster_state_done(struct vs_cluster_state *s);
