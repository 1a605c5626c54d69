/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node-to-node links of one viewstampd: exactly one TCP connection per pair of nodes,
 * carrying the messages of every tenant.
 *
 * Who connects: of two nodes, the one whose name sorts lower (strcmp) dials the other's peer
 * address; the other only accepts. So two nodes never race to open two connections, whichever
 * starts first.
 *
 * Authentication: every connection is TLS 1.3 with ECDHE-PSK (net/tls.h) before any frame is
 * read. The dialler's PSK identity is its node name, its key derived from the cluster secret
 * (auth/peer_key.h); the acceptor gives a key only to an identity that is a node of this set
 * (not itself), so a stranger, a node with another secret, a node not (or no longer) a member,
 * and replayed handshake bytes all fail the handshake, and the dialler learns that the acceptor
 * holds the secret too. A failed handshake closes the connection with one log line naming the
 * address and why. The dialler sends its Hello once the handshake is done (queued until then).
 *
 * Joins: a node that is no member yet authenticates with the reserved PSK identity
 * VS_PEER_JOIN_IDENTITY (auth/peer_key.h; no node name starts with a dot), keyed from the join
 * secret its token carries. Only a set given a join secret accepts that identity. Such a
 * connection may send exactly one frame, a JoinRequest, answered over the same encrypted
 * connection; any other frame closes it, and a JoinRequest on any other connection closes that.
 *
 * The first frame each way is a Hello (node name, cluster id): the dialler sends
 * its Hello at once, the acceptor checks it (the node the handshake authenticated, a known node
 * that is due to dial it, same cluster)
 * and answers with its own, which the dialler checks in turn (the address it dialled must
 * answer as the node it meant). A connection that fails these checks, sends anything else
 * first, or announces a frame above 1 KiB before its Hello is accepted, is closed with a log
 * line naming its address and why. The link is up once the Hellos
 * are exchanged; if a node dials again while its old link still looks up here (the old one died
 * without a FIN), the new connection replaces the old.
 *
 * Reconnecting: the dialler retries after a failed connect or a lost link with capped
 * exponential backoff (backoff_min doubling to backoff_max, each delay drawn uniformly from
 * [backoff/2, backoff] by a seeded PRNG so that restarted nodes do not retry in lockstep); the
 * backoff returns to backoff_min once a link is up. connect() is non-blocking; nothing here
 * blocks the loop.
 *
 * Liveness: every up link carries a Ping every ping_interval; a link on which nothing arrives for
 * dead_after is closed (a peer that vanished without a FIN is noticed). Pings are answered with a
 * Pong by the set itself.
 *
 * Sending never waits: to a peer without an up link it fails at once with -ENOTCONN, and with
 * -ENOBUFS when the link's send queue is full (the message is dropped and the link stays: the
 * VR protocol retransmits what matters, and a dead link is closed by the liveness check). The
 * set stamps the header's version and cluster id; the caller sets only header.tenant (or
 * leaves the header out for node-level messages).
 *
 * Every envelope but Hello that arrives on an up link, Pings and Pongs included, is handed to
 * on_envelope with the sending node's name. on_peer_state reports each link going up or down
 * (not a replacement of an up link). Callbacks run on the loop; they may send, but must not free
 * the set. Freeing the set closes every connection and calls nothing back.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "auth/secret.h"
#include "conf/conf.h"
#include "wire/envelope.h"

struct vs_peer_set;

/* Zero fields take the defaults in brackets. */
struct vs_peer_set_options {
        uint64_t cluster_id;
        uint64_t backoff_min_usec;       /* [100 ms] */
        uint64_t backoff_max_usec;       /* [5 s] */
        uint64_t ping_interval_usec;     /* [1 s] */
        uint64_t dead_after_usec;        /* [5 s] */
        uint64_t handshake_timeout_usec; /* [5 s]: Hello due within, after connecting */
        size_t max_send_queue;           /* [64 MiB] per link */
        unsigned max_unidentified;       /* [16] accepted connections still owing a Hello */
        uint64_t seed;                   /* jitter PRNG [from the clock] */
        const struct vs_secret *join_secret; /* copied; NULL: joins are refused at the handshake */
};

struct vs_peer_set_callbacks {
        void (*on_envelope)(struct vs_peer_set *s, const char *node, const Viewstamp__Envelope *env,
                            void *userdata);
        void (*on_peer_state)(struct vs_peer_set *s, const char *node, bool up, void *userdata);
        /* A join connection's JoinRequest (see Joins above; the handshake proved the join
         * secret): it is handed over with an id and remote address, and answered with
         * vs_peer_set_join_answer(); the joiner closes the connection once answered, and any
         * other frame on it closes it. NULL: such connections are closed. */
        void (*on_join)(struct vs_peer_set *s, uint64_t join_id, const char *remote, const Viewstamp__JoinRequest *req,
                        void *userdata);
};

/*
 * The links of node conf->name to every other node in conf->nodes (which may hold only this node;
 * vs_peer_set_add() brings more); conf is copied, frames up to conf->max_frame_bytes, every link
 * authenticated with keys derived from secret (copied; the copy is wiped when the set is freed).
 * Dialling starts on the next loop iteration; accepting starts with
 * vs_peer_set_listen(). -EINVAL if conf->name is not among conf->nodes.
 */
int vs_peer_set_new(sd_event *e, const struct vs_conf *conf, const struct vs_secret *secret,
                    const struct vs_peer_set_options *opts, const struct vs_peer_set_callbacks *cb, void *userdata,
                    struct vs_peer_set **ret);
struct vs_peer_set *vs_peer_set_free(struct vs_peer_set *s);

/*
 * Membership changes at run time. add: a link to node (dialled or awaited by the rule above);
 * for a node already known at the same peer address it only takes the new client address, and
 * a node known at another peer address gets a fresh link there. remove: closes the link (an up
 * link is reported down) and refuses the node's connections from then on. Neither may be called
 * from a callback about that node's own link. add: -EINVAL for this node itself, -E2BIG beyond
 * VS_CONF_NODES_MAX nodes; remove: -ENOENT for an unknown node.
 */
int vs_peer_set_add(struct vs_peer_set *s, const struct vs_conf_node *node);
int vs_peer_set_remove(struct vs_peer_set *s, const char *node);

/*
 * Binds this node's peer address (again: a previous listener is closed first, so the daemon
 * calls this when the address returns after its link went away). Up links are not affected.
 * Errors as vs_listener_new().
 */
int vs_peer_set_listen(struct vs_peer_set *s);
void vs_peer_set_unlisten(struct vs_peer_set *s);

/* -ENOENT unknown node (or this node), -ENOTCONN no up link, else as vs_conn_send(). */
int vs_peer_set_send(struct vs_peer_set *s, const char *node, const Viewstamp__Envelope *env);
/* The same envelope to each of nodes[0..n-1], encoded once; ret[i] is what vs_peer_set_send()
 * would have returned for nodes[i]. */
void vs_peer_set_send_each(struct vs_peer_set *s, const char *const *nodes, size_t n, const Viewstamp__Envelope *env,
                           int *ret);

/* Sends the answer to a join request; -ENOENT when its connection is gone. */
int vs_peer_set_join_answer(struct vs_peer_set *s, uint64_t join_id, const Viewstamp__JoinReply *reply);

bool vs_peer_set_is_up(const struct vs_peer_set *s, const char *node);
size_t vs_peer_set_n_up(const struct vs_peer_set *s);
/* CLOCK_REALTIME microseconds of the last frame received from node over an up link (Pings
 * included), 0 if none since it became a peer. */
uint64_t vs_peer_set_last_seen(const struct vs_peer_set *s, const char *node);

static inline void vs_peer_set_freep(struct vs_peer_set **s) {
        vs_peer_set_free(*s);
}
#define _cleanup_peer_set_ __attribute__((cleanup(vs_peer_set_freep)))
