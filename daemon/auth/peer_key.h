/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The pre-shared key that authenticates one node's peer connections (TLS 1.3 ECDHE-PSK, with the
 * node's name as the PSK identity), derived from the cluster secret with HKDF-SHA256 (RFC 5869):
 *
 *     PRK = HKDF-Extract(salt = "viewstamp cluster secret v1", IKM = secret)
 *     key = HKDF-Expand(PRK, info = "viewstamp peer psk v1" || cluster id (8 bytes, little endian)
 *                                   || node name, 32)
 *
 * Deterministic: every holder of the secret derives the same key for a node, so an acceptor can
 * check any member's handshake. Binding the cluster id and the name means a key is worth nothing
 * for another cluster sharing the secret by mistake, or under another identity.
 */

#include <stdint.h>

#include "auth/secret.h"

#define VS_PEER_KEY_SIZE 32
/* The PSK identity of a node joining with a token, keyed from the join secret instead of the
 * cluster secret: a name no node can have (names never start with a dot). */
#define VS_PEER_JOIN_IDENTITY ".join"

/* 0, or -EINVAL (name too long), -EIO (the library failed). */
int vs_peer_key(const struct vs_secret *secret, uint64_t cluster_id, const char *node,
                uint8_t key[VS_PEER_KEY_SIZE]);
