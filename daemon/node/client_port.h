/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node's client port: the listener on the node's client address and every client
 * connection accepted on it (net/listener.h, net/conn.h), carrying wire/client.proto.
 *
 * Each connection gets a serial (from 1 up, never reused while the port lives) that is the
 * route of the requests it brings (node/tenant.h): requests go to the hosted tenant the
 * envelope's header names, and replies come back through vs_client_port_send() by that route.
 * A request for a tenant this node does not host (or for the root tenant, which clients may
 * not address) is answered CLIENT_NO_TENANT at once. A connection must send its first frame
 * within a handshake timeout, and one that does not read its replies is closed rather than
 * buffered without bound.
 *
 * Limits (conf [Limits]): at most max_connections at once (the listener's), and at most
 * max_connections_per_address from one source IP (refused at accept); at most
 * max_requests_per_connection sessions with a request forwarded and unanswered on one connection
 * (more is answered CLIENT_LIMIT with a message naming the setting). Refusals and bad
 * connections' close lines are logged at most ten a second, with a count of the rest.
 *
 * Access tokens: a ClientAuth frame records a token for the tenant its header names, for the
 * rest of the connection (a later one replaces it). A request for a tenant whose configuration
 * holds a token (node/access_token.h) runs only if the connection presented a token for that
 * tenant that matches it now; otherwise it is answered CLIENT_UNAUTHORIZED and nothing runs.
 * The check is made once per connection and stored token, so a rotation (the tenant's
 * configuration refreshed, vs_node_refresh_tenant()) refuses connections that presented the old
 * token from their next request on, and admits those that present the new one.
 */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf/conf.h"
#include "wire/client.pb-c.h"

struct vs_node;
struct vs_client_port;
struct vs_tls_creds;

/* Binds addr (this node's client address) with conf's limits; with tls (server credentials,
 * borrowed: they must outlive the port), every connection is TLS (net/tls.h). -errno (logged with
 * the address) when the address cannot be bound. */
int vs_client_port_new(sd_event *e, struct vs_node *node, const struct vs_conf *conf, const struct vs_address *addr,
                       struct vs_tls_creds *tls, struct vs_client_port **ret);
/* Closes every connection and the listener. NULL ok. */
void vs_client_port_free(struct vs_client_port *p);

/* Binds again if the listener is gone (its address came back); 0 when listening. */
int vs_client_port_rebind(struct vs_client_port *p);

/* Sends reply on the connection with serial route, if it is still open. */
void vs_client_port_send(struct vs_client_port *p, uint64_t route, const char *tenant,
                         const Viewstamp__ClientReply *reply);
