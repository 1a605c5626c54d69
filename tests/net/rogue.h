/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A rogue (or fake) peer for tests: blocking, single-threaded, outside any event loop, so a
 * unit test runs it in a forked child while its nodes run on the parent's loop, and
 * tests/integration's vs-rogue runs it against real daemons. It speaks raw TCP or TLS with any
 * identity and key, and can record a genuine TLS handshake through a relay and replay the
 * client's bytes later. Every call returns 0 or a negative errno; nothing here aborts.
 */

#include <stddef.h>
#include <stdint.h>

#include "conf/address.h"
#include "net/tls.h"

struct rogue {
        int fd;
        struct vs_tls *tls; /* NULL: plain TCP */
};

/* Plain TCP connection to a. */
int rogue_connect(const struct vs_address *a, struct rogue *ret);
/* TLS over r's connection as a PSK client (identity, key), handshake done within timeout_ms.
 * The handshake's error when the other side refuses it (-EKEYREJECTED, -ECONNRESET, ...). */
int rogue_tls_client(struct rogue *r, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], int timeout_ms);
/* TLS over r's connection as a PSK server that knows one identity and its key. */
int rogue_tls_server(struct rogue *r, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], int timeout_ms);
/* Writes all of buf (through TLS when set up). */
int rogue_send(struct rogue *r, const void *buf, size_t len);
/* Reads until the other side closes the connection: 0 once it did (EOF or reset), -ETIMEDOUT
 * if it still had not after timeout_ms. What arrives meanwhile is dropped. */
int rogue_wait_closed(struct rogue *r, int timeout_ms);
void rogue_close(struct rogue *r);

/*
 * Runs a genuine TLS handshake as (identity, key) with the server at a through a relay that
 * records every byte the client sent (*ret, malloc'ed, *ret_len), then closes. 0 when the
 * handshake succeeded and was recorded.
 */
int rogue_record_handshake(const struct vs_address *a, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE],
                           uint8_t **ret, size_t *ret_len);
