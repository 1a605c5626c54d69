/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The data model's refusals, shared by every interface: the client protocol carries the number,
 * D-Bus names the error org.viewstamp1.Error.<name>, the CLI prints the message. The numbers are
 * wire format: never renumber or reuse one; only append. 0 is success and has no name.
 *
 * A refusal always leaves the tree unchanged. Resource failures (out of memory) are not data-model
 * errors and travel as negative errno values instead.
 */

enum tree_error {
        TREE_OK = 0,
        TREE_ERR_NO_NODE = 1,         /* the node addressed does not exist */
        TREE_ERR_NODE_EXISTS = 2,     /* create of a path that is taken */
        TREE_ERR_BAD_VERSION = 3,     /* expected version differs from the node's */
        TREE_ERR_NOT_EMPTY = 4,       /* non-recursive delete of a node with children */
        TREE_ERR_BAD_PATH = 5,        /* not absolute, empty component, ".", "..", trailing slash, NUL, too long */
        TREE_ERR_VALUE_TOO_LARGE = 6, /* value over the configured limit */
        TREE_ERR_TOO_MANY_OPS = 7,    /* multi with more ops than the configured limit */
        TREE_ERR_PARENT_MISSING = 8,  /* create under a parent that does not exist */
        TREE_ERR_BAD_REQUEST = 9,     /* undecodable or unsupported request */
        TREE_ERR_ROOT = 10,           /* the operation is not permitted on the root node */
        _TREE_ERR_MAX,
};

/* Stable CamelCase name ("NoNode"), the suffix of the D-Bus error name; NULL for TREE_OK and
 * for numbers this build does not know. */
const char *tree_error_name(int code);

/* Human-readable lower-case message ("no such node"); never NULL (unknown numbers get a generic
 * message, TREE_OK gets "success"). */
const char *tree_error_message(int code);
