/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One non-blocking TCP connection to a node: connect, a growable output buffer that frames are
 * packed into directly, and a frame reader for input. It knows nothing about requests; the
 * client decides what to do when any of these calls fails (close and reconnect elsewhere).
 *
 * With TLS credentials the connection is a TLS client (net/tls.h) that verifies the node's
 * certificate; it counts as connected once the handshake is done, and frames go through TLS.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/address.h"
#include "net/tls.h"
#include "wire/frame.h"

struct conn {
        int fd;         /* -1 when closed */
        bool tcp_up;    /* the TCP handshake completed */
        bool connected; /* ...and the TLS handshake, when there is one */
        struct vs_tls *tls;
        bool tls_retry; /* the session holds a record the socket did not take yet */
        struct vs_address addr;
        char name[VS_ADDRESS_STRING_MAX];
        struct vs_frame_reader reader;
        uint8_t *out;
        size_t out_start, out_end, out_cap;
};

void conn_init(struct conn *c);
/* Starts connecting to a, over TLS when creds is set (the certificate must name server_name, or
 * a's IP address when NULL). 0 (in progress or done) or the negative errno of an immediate
 * failure. */
int conn_open(struct conn *c, const struct vs_address *a, uint32_t max_frame, struct vs_tls_creds *creds,
              const char *server_name);
/* Drops the socket and all buffered bytes in both directions. Idempotent. */
void conn_close(struct conn *c);
/* The socket became ready while connecting: 0 when connected, -EAGAIN while the TLS handshake
 * goes on, else the connect or handshake error. */
int conn_finish_connect(struct conn *c);
/* While connecting: whether to wait for the socket to be writable (else readable). */
bool conn_connect_wants_write(const struct conn *c);

/* Space for n more output bytes, valid until the next call; NULL on ENOMEM. */
uint8_t *conn_reserve(struct conn *c, size_t n);
void conn_commit(struct conn *c, size_t n);
static inline bool conn_has_output(const struct conn *c) {
        return c->out_end > c->out_start;
}
/* Writes what the socket takes. 0 (possibly with output left) or a negative errno. */
int conn_flush(struct conn *c);
/* Feeds what the socket has into the reader. 1 when bytes came, 0 at end of stream, -EAGAIN when
 * nothing was there, or a negative errno. */
int conn_fill(struct conn *c);
