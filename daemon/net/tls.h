/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One TLS session (GnuTLS) over a non-blocking socket, set up for one of viewstamp's uses; the
 * connection (net/conn.h) drives it from its event loop. Nothing here blocks: every call that
 * would wait returns -EAGAIN, and vs_tls_wants_write() tells which readiness to wait for.
 *
 * Peer links (PSK): TLS 1.3 only, ECDHE-PSK only (a pre-shared key alone never makes the session
 * keys, so recorded traffic stays secret if the key leaks later), no session tickets, no early
 * data: every connection runs a full handshake with fresh randoms and key shares, so replayed
 * handshake bytes never complete. The client names itself with the PSK identity; the server asks
 * its lookup function for that identity's key, which may refuse with a reason. Only a valid node
 * name (conf.h) or the join identity (auth/peer_key.h) reaches the lookup.
 *
 * Client connections (certificates): TLS 1.2 or 1.3 with the server's X.509 certificate; the
 * client verifies it against its CA file and a name (a host name, or the IP address it dialled,
 * matched against the certificate's subject alternative names). No client certificates.
 *
 * Failures keep a one-line reason for the connection's close line (vs_tls_error()): the lookup's
 * reason when it refused the identity, else what GnuTLS said, with a hint for the usual causes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VS_TLS_PSK_SIZE 32
#define VS_TLS_REASON_MAX 160

struct vs_tls;
/* Certificate credentials shared by many sessions: a server's certificate and key, or a client's
 * trusted CAs. They must outlive every session made from them. */
struct vs_tls_creds;

/* Fills key and returns 0, or returns a negative errno with why (VS_TLS_REASON_MAX) filled. */
typedef int (*vs_tls_psk_lookup_fn)(const char *identity, uint8_t key[VS_TLS_PSK_SIZE], char *why, void *userdata);

/* The dialling side of a peer link, authenticating as identity with key. */
int vs_tls_new_psk_client(const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], struct vs_tls **ret);
/* The accepting side of a peer link. */
int vs_tls_new_psk_server(vs_tls_psk_lookup_fn lookup, void *userdata, struct vs_tls **ret);
/* A server's certificate chain and key, both PEM. err gets "FILE: reason" on failure. */
int vs_tls_creds_load_server(const char *cert_file, const char *key_file, struct vs_tls_creds **ret, char *err,
                             size_t errlen);
/* The CA certificates (PEM) a client trusts. */
int vs_tls_creds_load_ca(const char *ca_file, struct vs_tls_creds **ret, char *err, size_t errlen);
struct vs_tls_creds *vs_tls_creds_free(struct vs_tls_creds *c);

/* The accepting side of a client connection, presenting creds' certificate. */
int vs_tls_new_cert_server(struct vs_tls_creds *creds, struct vs_tls **ret);
/* The connecting side: the server's certificate must chain to creds' CAs and name server_name. */
int vs_tls_new_cert_client(struct vs_tls_creds *creds, const char *server_name, struct vs_tls **ret);
struct vs_tls *vs_tls_free(struct vs_tls *t);

/* Binds the session to a connected, non-blocking socket (the caller keeps owning it). */
void vs_tls_set_fd(struct vs_tls *t, int fd);

/* 0 once the handshake is done, -EAGAIN to be called again when the socket is ready, or a
 * negative errno: -EKEYREJECTED authentication failed, -ECONNRESET the peer ended it, -EPROTO
 * anything else (not TLS, no common parameters, ...). */
int vs_tls_handshake(struct vs_tls *t);
/* After -EAGAIN: the session waits to write (else to read). */
bool vs_tls_wants_write(const struct vs_tls *t);

/* Bytes received (> 0), 0 at the end of the stream, -EAGAIN, or a negative errno (-EBADMSG a
 * record failed authentication, the socket's error). */
ssize_t vs_tls_recv(struct vs_tls *t, void *buf, size_t len);
/* Bytes taken (> 0), -EAGAIN (the bytes are taken but not yet sent: call again with NULL, 0
 * until it returns their number), or a negative errno. At most vs_tls_record_max() per call. */
ssize_t vs_tls_send(struct vs_tls *t, const void *buf, size_t len);
size_t vs_tls_record_max(const struct vs_tls *t);

/* The identity the client authenticated with (server side, after the handshake), or NULL. */
const char *vs_tls_identity(const struct vs_tls *t);
/* Why the last call failed, for a log line. */
const char *vs_tls_error(const struct vs_tls *t);
