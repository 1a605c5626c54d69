/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "client/viewstamp.h"
#include "tree/error.h"

/* The public enum is the tree's, number for number: the wire carries these values. */
_Static_assert((int) VS_ERR_NO_NODE == (int) TREE_ERR_NO_NODE, "");
_Static_assert((int) VS_ERR_NODE_EXISTS == (int) TREE_ERR_NODE_EXISTS, "");
_Static_assert((int) VS_ERR_BAD_VERSION == (int) TREE_ERR_BAD_VERSION, "");
_Static_assert((int) VS_ERR_NOT_EMPTY == (int) TREE_ERR_NOT_EMPTY, "");
_Static_assert((int) VS_ERR_BAD_PATH == (int) TREE_ERR_BAD_PATH, "");
_Static_assert((int) VS_ERR_VALUE_TOO_LARGE == (int) TREE_ERR_VALUE_TOO_LARGE, "");
_Static_assert((int) VS_ERR_TOO_MANY_OPS == (int) TREE_ERR_TOO_MANY_OPS, "");
_Static_assert((int) VS_ERR_PARENT_MISSING == (int) TREE_ERR_PARENT_MISSING, "");
_Static_assert((int) VS_ERR_BAD_REQUEST == (int) TREE_ERR_BAD_REQUEST, "");
_Static_assert((int) VS_ERR_ROOT == (int) TREE_ERR_ROOT, "");
_Static_assert((int) _TREE_ERR_MAX == (int) VS_ERR_ROOT + 1, "a new tree error needs its public enum value");

const char *vs_strerror(int error) {
        if (error >= 0)
                return tree_error_message(error);
        switch (-error) {
        case ETIMEDOUT:
                return "timed out; the request may or may not have taken effect";
        case ESTALE:
                return "session expired; the request did not take effect";
        case ELOOP:
                return "too many redirects between nodes";
        case ENXIO:
                return "no node contacted hosts the tenant";
        case EPROTO:
                return "the server refused the request as malformed";
        case EACCES:
                return "the tenant requires an access token, and the one given is missing or wrong";
        case EUSERS:
                return "over a limit of the server; the request did not take effect";
        case ECANCELED:
                return "canceled";
        case EKEYREJECTED:
                return "TLS handshake failed: the node's certificate is not trusted or names another host";
        default: {
                /* Thread-safe and static, unlike strerror(). */
                const char *s = strerrordesc_np(-error);
                return s ? s : "unknown error";
        }
        }
}

const char *vs_error_name(int error) {
        return error > 0 ? tree_error_name(error) : NULL;
}
