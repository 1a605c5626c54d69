/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node/root_tree.h"

int vs_root_tree_tenant(const struct tree *root, const char *name, struct vs_tenant_config *ret) {
        char path[sizeof VS_ROOT_TENANTS_PATH "/" + VS_TENANT_NAME_MAX];
        if (strlen(name) > VS_TENANT_NAME_MAX)
                return -ENOENT;
        snprintf(path, sizeof path, VS_ROOT_TENANTS_PATH "/%s", name);
        const void *value;
        struct tree_stat st;
        if (tree_get(root, path, &value, &st) != 0)
                return -ENOENT;
        int r = vs_tenant_config_decode(value, st.value_len, ret);
        if (r < 0)
                return r;
        ret->id = st.created_op + 1;
        return 0;
}

struct count_ctx {
        const struct tree *root;
        const struct vs_tenant_config *c;
        size_t counts[VS_TENANT_REPLICAS_MAX];
};

static int count_one(void *userdata, const char *name, const struct tree_stat *st) {
        struct count_ctx *k = userdata;
        struct vs_tenant_config other;
        if (vs_root_tree_tenant(k->root, name, &other) < 0)
                return 0;
        for (uint32_t i = 0; i < k->c->n_replicas; i++)
                k->counts[i] += vs_tenant_config_index(&other, k->c->replicas[i]) >= 0;
        return 0;
}

int vs_root_tree_check_capacity(const struct tree *root, const char *self, size_t hosted_here, size_t max_tenants,
                                const struct vs_tenant_config *c, char *err, size_t errlen) {
        struct count_ctx k = { root, c, {} };
        if (root)
                (void) tree_list(root, VS_ROOT_TENANTS_PATH, count_one, &k);
        for (uint32_t i = 0; i < c->n_replicas; i++) {
                size_t n = k.counts[i];
                if (strcmp(c->replicas[i], self) == 0 && hosted_here > n)
                        n = hosted_here;
                if (n >= max_tenants) {
                        snprintf(err, errlen, "node '%s' hosts %zu tenants, its limit (MaxTenants=%zu)", c->replicas[i], n,
                                 max_tenants);
                        return -EUSERS;
                }
        }
        return 0;
}
