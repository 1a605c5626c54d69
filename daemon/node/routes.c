/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "node/routes.h"

static void learn_id(struct vs_routes *r, uint64_t id, const char *node) {
        uint32_t slot = r->n;
        for (uint32_t i = 0; i < r->n; i++)
                if (r->v[i].id == id)
                        slot = i;
        if (slot == VS_ROUTES_MAX) {
                slot = 0;
                for (uint32_t i = 1; i < r->n; i++)
                        if (r->v[i].learnt < r->v[slot].learnt)
                                slot = i;
        } else if (slot == r->n)
                r->n++;
        r->v[slot].id = id;
        r->v[slot].learnt = ++r->clock;
        strcpy(r->v[slot].node, node);
}

void vs_routes_learn_epoch(struct vs_routes *r, uint64_t epoch, uint32_t n, const uint64_t *members) {
        if (n == 0 || n > VR_MAX_REPLICAS)
                return;
        uint32_t slot = r->n_epochs;
        for (uint32_t i = 0; i < r->n_epochs; i++)
                if (r->e[i].epoch == epoch)
                        slot = i;
        if (slot == VS_ROUTES_EPOCHS) {
                slot = 0;
                for (uint32_t i = 1; i < r->n_epochs; i++)
                        if (r->e[i].epoch < r->e[slot].epoch)
                                slot = i;
                if (r->e[slot].epoch > epoch)
                        return; /* older than all it knows */
        } else if (slot == r->n_epochs)
                r->n_epochs++;
        r->e[slot].epoch = epoch;
        r->e[slot].n = n;
        memcpy(r->e[slot].members, members, n * sizeof *members);
}

void vs_routes_learn_config(struct vs_routes *r, const struct vs_tenant_config *c) {
        if (c->n_old > 0 && c->epoch > 0) {
                for (uint32_t i = 0; i < c->n_old; i++)
                        learn_id(r, c->old_member_ids[i], c->old_replicas[i]);
                vs_routes_learn_epoch(r, c->epoch - 1, c->n_old, c->old_member_ids);
        }
        for (uint32_t i = 0; i < c->n_replicas; i++)
                learn_id(r, c->member_ids[i], c->replicas[i]);
        vs_routes_learn_epoch(r, c->epoch, c->n_replicas, c->member_ids);
}

const char *vs_routes_node(const struct vs_routes *r, uint64_t id) {
        for (uint32_t i = 0; i < r->n; i++)
                if (r->v[i].id == id)
                        return r->v[i].node;
        return NULL;
}

int vs_routes_sender(const struct vs_routes *r, const char *node, uint64_t epoch, uint64_t *ret_id,
                     uint32_t *ret_index) {
        /* A node holds one replica of a tenant at a time; after a move back it is the newest id. */
        bool found = false;
        uint64_t id = 0;
        for (uint32_t i = 0; i < r->n; i++)
                if (strcmp(r->v[i].node, node) == 0 && (!found || r->v[i].id > id)) {
                        id = r->v[i].id;
                        found = true;
                }
        if (!found)
                return -ENOENT;
        uint32_t index = VR_NO_INDEX;
        for (uint32_t i = 0; i < r->n_epochs; i++)
                if (r->e[i].epoch == epoch)
                        for (uint32_t k = 0; k < r->e[i].n; k++)
                                if (r->e[i].members[k] == id)
                                        index = k;
        *ret_id = id;
        *ret_index = index;
        return 0;
}
