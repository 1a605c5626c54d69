/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "node/access_token.h"

static int hash(const void *token, size_t len, const uint8_t *salt, uint32_t iterations,
                uint8_t out[VS_ACCESS_TOKEN_HASH_LEN]) {
        if (len == 0 || len > VS_ACCESS_TOKEN_MAX || memchr(token, 0, len) || iterations == 0)
                return -EINVAL;
        gnutls_datum_t key = { .data = (unsigned char *) token, .size = (unsigned) len };
        gnutls_datum_t s = { .data = (unsigned char *) salt, .size = VS_ACCESS_TOKEN_SALT_LEN };
        if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &s, iterations, out, VS_ACCESS_TOKEN_HASH_LEN) < 0)
                return -EIO;
        return 0;
}

int vs_access_token_acceptable(const char *token, char *err, size_t errlen) {
        size_t len = strlen(token);
        if (len < VS_ACCESS_TOKEN_MIN || len > VS_ACCESS_TOKEN_MAX) {
                snprintf(err, errlen, "an access token has %d to %d characters, not %zu", VS_ACCESS_TOKEN_MIN,
                         VS_ACCESS_TOKEN_MAX, len);
                return -EINVAL;
        }
        for (size_t i = 0; i < len; i++)
                if (token[i] < 0x21 || token[i] > 0x7e) {
                        snprintf(err, errlen, "an access token is printable ASCII without spaces");
                        return -EINVAL;
                }
        return 0;
}

int vs_access_token_make(const void *token, size_t len, struct vs_access_token *ret) {
        struct vs_access_token t = { .set = true, .iterations = VS_ACCESS_TOKEN_ITERATIONS };
        if (len == 0 || len > VS_ACCESS_TOKEN_MAX || memchr(token, 0, len))
                return -EINVAL;
        if (gnutls_rnd(GNUTLS_RND_NONCE, t.salt, sizeof t.salt) < 0)
                return -EIO;
        int r = hash(token, len, t.salt, t.iterations, t.hash);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

int vs_access_token_check(const struct vs_access_token *t, const void *token, size_t len) {
        uint8_t h[VS_ACCESS_TOKEN_HASH_LEN];
        int r = hash(token, len, t->salt, t->iterations ? t->iterations : 1, h);
        if (r < 0)
                return r;
        if (!t->set || gnutls_memcmp(h, t->hash, sizeof h) != 0)
                return -EACCES;
        return 0;
}

bool vs_access_token_same(const struct vs_access_token *a, const struct vs_access_token *b) {
        if (!a->set || !b->set)
                return a->set == b->set;
        return a->iterations == b->iterations && memcmp(a->salt, b->salt, sizeof a->salt) == 0 &&
               memcmp(a->hash, b->hash, sizeof a->hash) == 0;
}
