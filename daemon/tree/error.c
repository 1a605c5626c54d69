/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "tree/error.h"
#include "util/cleanup.h"

static const struct {
        const char *name;
        const char *message;
} errors[_TREE_ERR_MAX] = {
        [TREE_OK] = { NULL, "success" },
        [TREE_ERR_NO_NODE] = { "NoNode", "no such node" },
        [TREE_ERR_NODE_EXISTS] = { "NodeExists", "node already exists" },
        [TREE_ERR_BAD_VERSION] = { "BadVersion", "version does not match" },
        [TREE_ERR_NOT_EMPTY] = { "NotEmpty", "node has children" },
        [TREE_ERR_BAD_PATH] = { "BadPath", "invalid path" },
        [TREE_ERR_VALUE_TOO_LARGE] = { "ValueTooLarge", "value too large" },
        [TREE_ERR_TOO_MANY_OPS] = { "TooManyOps", "too many operations in one multi" },
        [TREE_ERR_PARENT_MISSING] = { "ParentMissing", "parent node does not exist" },
        [TREE_ERR_BAD_REQUEST] = { "BadRequest", "malformed or unsupported request" },
        [TREE_ERR_ROOT] = { "RootNode", "operation not permitted on the root node" },
};

const char *tree_error_name(int code) {
        if (code < 0 || (size_t) code >= ELEMENTSOF(errors))
                return NULL;
        return errors[code].name;
}

const char *tree_error_message(int code) {
        if (code < 0 || (size_t) code >= ELEMENTSOF(errors))
                return "unknown error";
        return errors[code].message;
}
