/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The synchronous calls: submit, then drive the client until that one request completed. */

#include <errno.h>
#include <stdlib.h>

#include "client/client.h"

struct call {
        bool done;
        vs_result *result;
};

static void call_done(vs_client *c, vs_result *result, void *userdata) {
        struct call *call = userdata;
        call->done = true;
        call->result = result;
}

int vs_call(vs_client *c, vs_op *op, vs_result **ret) {
        struct call call = {};
        int r = vs_submit(c, op, call_done, &call);
        if (r < 0)
                return r;
        /* Called from a callback, the submission was not sent yet: send it before waiting. */
        client_kick(c);
        /* Every request completes by its deadline (a timer in the client's own descriptor), so
         * this ends even if waiting itself keeps failing. */
        while (!call.done)
                (void) vs_client_wait(c, UINT64_MAX);
        r = call.result ? vs_result_error(call.result) : -ENOMEM;
        if (ret)
                *ret = call.result;
        else
                vs_result_free(call.result);
        return r;
}

int vs_get(vs_client *c, const char *path, vs_result **ret) {
        vs_op *op;
        int r = vs_op_get(&op, path);
        return r < 0 ? r : vs_call(c, op, ret);
}

int vs_set(vs_client *c, const char *path, const void *value, size_t len, uint64_t expected_version,
           vs_result **ret) {
        vs_op *op;
        int r = vs_op_set(&op, path, value, len, expected_version);
        return r < 0 ? r : vs_call(c, op, ret);
}

int vs_create(vs_client *c, const char *path, const void *value, size_t len, unsigned flags, vs_result **ret) {
        vs_op *op;
        int r = vs_op_create(&op, path, value, len, flags);
        return r < 0 ? r : vs_call(c, op, ret);
}

int vs_delete(vs_client *c, const char *path, uint64_t expected_version, unsigned flags, vs_result **ret) {
        vs_op *op;
        int r = vs_op_delete(&op, path, expected_version, flags);
        return r < 0 ? r : vs_call(c, op, ret);
}
