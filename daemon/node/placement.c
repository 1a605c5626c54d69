/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/placement.h"
#include "util/checksum.h"

struct candidate {
        const char *name;
        size_t load;
        uint64_t tiebreak;
};

static int compare(const void *a, const void *b) {
        const struct candidate *x = a, *y = b;
        if (x->load != y->load)
                return x->load < y->load ? -1 : 1;
        if (x->tiebreak != y->tiebreak)
                return x->tiebreak < y->tiebreak ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* The active members not in skip (NULL: none), least loaded first. */
static size_t candidates(const struct vs_members *members, const struct vs_cluster_state *st,
                         const struct vs_tenant_config *root, const char *tenant,
                         const struct vs_tenant_config *skip, struct candidate c[VS_CONF_NODES_MAX]) {
        size_t k = 0;
        for (size_t i = 0; i < members->n; i++) {
                const struct vs_member *m = &members->v[i];
                if (m->state != VS_MEMBER_ACTIVE || (skip && vs_tenant_config_named(skip, m->node.name)))
                        continue;
                struct vs_checksum_state h;
                vs_checksum_init(&h);
                vs_checksum_update(&h, tenant, strlen(tenant) + 1);
                vs_checksum_update(&h, m->node.name, strlen(m->node.name));
                c[k++] = (struct candidate) {
                        .name = m->node.name,
                        .load = vs_cluster_state_hosted(st, m->node.name) + (vs_tenant_config_index(root, m->node.name) >= 0),
                        .tiebreak = vs_checksum_final(&h),
                };
        }
        if (k > 1)
                qsort(c, k, sizeof *c, compare);
        return k;
}

int vs_placement_pick(const struct vs_members *members, const struct vs_cluster_state *st,
                      const struct vs_tenant_config *root, const char *tenant, uint32_t n,
                      struct vs_tenant_config *ret) {
        if (n != 1 && n != 3 && n != 5)
                return -EINVAL;
        struct candidate c[VS_CONF_NODES_MAX];
        size_t k = candidates(members, st, root, tenant, NULL, c);
        if (k < n)
                return -ENOSPC;
        ret->n_replicas = n;
        for (uint32_t i = 0; i < n; i++)
                strcpy(ret->replicas[i], c[i].name);
        return 0;
}

int vs_placement_pick_move(const struct vs_members *members, const struct vs_cluster_state *st,
                           const struct vs_tenant_config *root, const struct vs_tenant_config *t,
                           char ret[VS_CONF_NAME_MAX + 1]) {
        struct candidate c[VS_CONF_NODES_MAX];
        if (candidates(members, st, root, t->name, t, c) == 0)
                return -ENOSPC;
        strcpy(ret, c[0].name);
        return 0;
}
