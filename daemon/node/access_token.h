/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A tenant's access token as the cluster stores it: never the token, only a random salt and
 * PBKDF2-HMAC-SHA256 (GnuTLS) of the token over it. Checking a presented token recomputes the
 * hash with the stored salt and iteration count and compares in constant time (gnutls_memcmp),
 * so neither the stored form nor the time a check takes tells anything about the token.
 *
 * Tokens are 1..VS_ACCESS_TOKEN_MAX bytes other than NUL (HMAC pads its key with zero bytes, so
 * "x" and "x\0" would hash alike; D-Bus strings cannot hold NUL anyway). The iteration count is stored with the
 * hash, so raising the default later leaves existing tokens valid.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_ACCESS_TOKEN_MAX 1024
#define VS_ACCESS_TOKEN_SALT_LEN 16
#define VS_ACCESS_TOKEN_HASH_LEN 32
/* A check costs about a millisecond: negligible once per connection, and it makes guessing a
 * weak (administrator-chosen) token from a leaked configuration slow. */
#define VS_ACCESS_TOKEN_ITERATIONS 1000

struct vs_access_token {
        bool set; /* false: no token required */
        uint32_t iterations;
        uint8_t salt[VS_ACCESS_TOKEN_SALT_LEN];
        uint8_t hash[VS_ACCESS_TOKEN_HASH_LEN];
};

/* What an administrator may set as a new token: at least VS_ACCESS_TOKEN_MIN bytes (a token
 * guards a whole tenant: a short one is guessable) and at most VS_ACCESS_TOKEN_MAX, of printable
 * ASCII without spaces (tokens live in files, environment variables and command lines). 0, or
 * -EINVAL with the reason in err. */
#define VS_ACCESS_TOKEN_MIN 16
int vs_access_token_acceptable(const char *token, char *err, size_t errlen);

/* Salts (fresh random salt) and hashes token. -EINVAL for an empty or oversized token, or one
 * holding a NUL byte. */
int vs_access_token_make(const void *token, size_t len, struct vs_access_token *ret);

/* 0 when token is the one t was made from, -EACCES when not (or t is not set), -EINVAL for a
 * token that could not be one (empty, oversized, with a NUL byte), other -errno when hashing
 * failed. */
int vs_access_token_check(const struct vs_access_token *t, const void *token, size_t len);

/* Whether a and b are the same stored token (both unset, or same salt, count and hash). */
bool vs_access_token_same(const struct vs_access_token *a, const struct vs_access_token *b);
