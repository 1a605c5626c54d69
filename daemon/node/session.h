/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A client session of this node with one tenant's replica group: the root group's (the node's
 * administrative requests, vs_node_root_submit) and any other a reconfiguration drives
 * (node/reconfig.h). Requests go over the peer links to a replica's node, or straight to this
 * node's own replica, one at a time in submission order, each retried with the same request
 * number until answered: at most once, like any client (vr/vr.h).
 *
 * Whom it asks: the nodes given (vs_session_set_nodes), starting with this node when it is one
 * of them; a redirect (not the primary, or the group moved to a new epoch: node/tenant.h)
 * names the next one by its client address; a request unanswered for SESSION_RETRY_TICKS goes
 * to the next node given. An expired session registers again (under a new random id, or its
 * fixed one) and sends the request again (nothing ran).
 *
 * done(userdata, 0, reply) with the OK reply, done(userdata, -EINVAL, NULL) when the group refused
 * the request as malformed (nothing ran), or done(userdata, -ESHUTDOWN, NULL) when the session
 * is freed first; done never runs from inside vs_session_submit(). Sending happens from a defer
 * source, never from inside a reply or a replica's drive: the replica may be this node's own,
 * and its answer must not re-enter it.
 */

#include <stdint.h>

#include "wire/client.pb-c.h"

struct vs_node;
struct vs_session;

/* Ticks a request waits for an answer before it goes to the next node. */
#define SESSION_RETRY_TICKS 50

typedef void (*vs_session_done_fn)(void *userdata, int error, const Viewstamp__ClientReply *reply);

int vs_session_new(struct vs_node *n, const char *tenant, struct vs_session **ret);
/* A session under a client id the caller derives (nonzero), for a request that must run once
 * however many drivers, on however many nodes, send it: the first request is sent as request 1
 * of that id straight away (the group answers a repeat from its client table), and the id is
 * registered only when the group does not know it. */
int vs_session_new_fixed(struct vs_node *n, const char *tenant, uint64_t client_id, struct vs_session **ret);
/* Completes what is pending with -ESHUTDOWN. NULL is fine. */
void vs_session_free(struct vs_session *s);

const char *vs_session_tenant(const struct vs_session *s);
/* The nodes to ask, at most 2 * VS_TENANT_REPLICAS_MAX (more are ignored). */
void vs_session_set_nodes(struct vs_session *s, const char *const *nodes, uint32_t n);
/* command is copied. -ENOMEM. */
int vs_session_submit(struct vs_session *s, const uint8_t *command, size_t len, vs_session_done_fn done,
                      void *userdata);

/* A reply addressed to this session's tenant (whatever its client id: others are ignored). */
void vs_session_reply(struct vs_session *s, const Viewstamp__ClientReply *reply);
void vs_session_tick(struct vs_session *s);
/* A peer link came up: a request may have been waiting for it. */
void vs_session_kick(struct vs_session *s);
