/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "tree/node.h"
#include "util/cleanup.h"

int node_value_dup(const void *value, size_t len, uint8_t **ret) {
        if (len == 0) {
                *ret = NULL;
                return 0;
        }
        uint8_t *v = malloc(len);
        if (!v)
                return -ENOMEM;
        memcpy(v, value, len);
        *ret = v;
        return 0;
}

struct tree_node *node_new(const char *name, size_t name_len, const void *value, size_t value_len) {
        _cleanup_free_ struct tree_node *n = calloc(1, offsetof(struct tree_node, name) + name_len + 1);
        if (!n)
                return NULL;
        if (node_value_dup(value, value_len, &n->value) < 0)
                return NULL;
        memcpy(n->name, name, name_len);
        n->name_len = (uint16_t) name_len;
        n->value_len = (uint32_t) value_len;
        n->height = 1;
        return TAKE_PTR(n);
}

void node_free(struct tree_node *n) {
        if (!n)
                return;
        free(n->value);
        free(n);
}
