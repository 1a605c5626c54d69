/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Requests as the application builds them (struct vs_op, opaque in viewstamp.h), and their
 * encoding into the TreeRequest bytes the client protocol carries. An op owns copies of its paths
 * and values, so the caller's buffers may change right after the constructor returns.
 */

#include <stddef.h>
#include <stdint.h>

#include "client/viewstamp.h"

enum op_kind {
        OP_CREATE,
        OP_GET,
        OP_EXISTS,
        OP_SET,
        OP_DELETE,
        OP_LIST,
        OP_CHECK, /* only inside a multi */
        OP_MULTI,
};

struct vs_op {
        enum op_kind kind;
        char *path;
        uint8_t *value;
        size_t len;
        uint64_t version; /* VS_VERSION_ANY: none expected */
        unsigned flags;
        uint64_t timeout_usec; /* 0: the client's */
        struct vs_op *subs; /* OP_MULTI: the ops, in order */
        size_t n_subs, cap_subs;
};

/* Encodes op into a malloc()ed TreeRequest. -ENOMEM. */
int op_encode(const struct vs_op *op, uint8_t **ret, size_t *ret_len);

