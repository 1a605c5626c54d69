/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cluster_state.h"
#include "util/array.h"

int vs_cluster_state_add_member(struct vs_cluster_state *s, const char *name, uint64_t created_op,
                                const uint8_t *value, size_t len) {
        struct vs_member m;
        if (vs_member_decode(value, len, &m) < 0 || strcmp(m.node.name, name) != 0)
                return -EBADMSG;
        m.joined_op = created_op;
        int r = vs_members_put(&s->members, &m);
        return r < 0 ? r : 0;
}

static size_t tenant_lower_bound(const struct vs_cluster_state *s, const char *name) {
        return VS_LOWER_BOUND_STR(s->tenants, s->n_tenants, config.name, name);
}

int vs_cluster_state_keep_tenant(struct vs_cluster_state *s, const struct vs_cluster_tenant *t) {
        size_t i = tenant_lower_bound(s, t->config.name);
        if (i < s->n_tenants && strcmp(s->tenants[i].config.name, t->config.name) == 0) {
                s->tenants[i] = *t;
                return 0;
        }
        struct vs_cluster_tenant *a = reallocarray(s->tenants, s->n_tenants + 1, sizeof *a);
        if (!a)
                return -ENOMEM;
        s->tenants = a;
        memmove(&a[i + 1], &a[i], (s->n_tenants - i) * sizeof *a);
        a[i] = *t;
        s->n_tenants++;
        return 0;
}

int vs_cluster_state_add_tenant(struct vs_cluster_state *s, const char *name, uint64_t created_op,
                                uint64_t modified_op, const uint8_t *value, size_t len) {
        struct vs_cluster_tenant t = { .modified_op = modified_op };
        if (vs_tenant_config_decode(value, len, &t.config) < 0 || strcmp(t.config.name, name) != 0 ||
            !vs_tenant_name_valid(name, false))
                return -EBADMSG;
        t.config.id = created_op + 1;
        return vs_cluster_state_keep_tenant(s, &t);
}

int vs_cluster_state_set_root(struct vs_cluster_state *s, const uint8_t *value, size_t len) {
        struct vs_tenant_config c;
        if (vs_tenant_config_decode(value, len, &c) < 0 || strcmp(c.name, VS_ROOT_TENANT_NAME) != 0)
                return -EBADMSG;
        c.id = VS_ROOT_TENANT_ID;
        s->root = c;
        s->has_root = true;
        return 0;
}

void vs_cluster_state_forget_tenant(struct vs_cluster_state *s, const char *name) {
        size_t i = tenant_lower_bound(s, name);
        if (i < s->n_tenants && strcmp(s->tenants[i].config.name, name) == 0)
                memmove(&s->tenants[i], &s->tenants[i + 1], (--s->n_tenants - i) * sizeof *s->tenants);
}

const struct vs_cluster_tenant *vs_cluster_state_find_tenant(const struct vs_cluster_state *s, const char *name) {
        size_t i = tenant_lower_bound(s, name);
        return i < s->n_tenants && strcmp(s->tenants[i].config.name, name) == 0 ? &s->tenants[i] : NULL;
}

size_t vs_cluster_state_hosted(const struct vs_cluster_state *s, const char *node) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_tenants; i++)
                n += vs_tenant_config_index(&s->tenants[i].config, node) >= 0;
        return n;
}

int vs_cluster_state_check_capacity(const struct vs_cluster_state *s, const char *self, size_t hosted_here,
                                    size_t max_tenants, const struct vs_tenant_config *c, char *err, size_t errlen) {
        for (uint32_t i = 0; i < c->n_replicas; i++) {
                size_t n = vs_cluster_state_hosted(s, c->replicas[i]);
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

void vs_cluster_tenant_path(const char *name, char path[static VS_TENANT_PATH_MAX]) {
        if (strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                snprintf(path, VS_TENANT_PATH_MAX, VS_ROOT_PATH);
        else
                snprintf(path, VS_TENANT_PATH_MAX, VS_TENANTS_PATH "/%s", name);
}

void vs_cluster_state_done(struct vs_cluster_state *s) {
        vs_members_done(&s->members);
        free(s->tenants);
        *s = (struct vs_cluster_state) {};
}
