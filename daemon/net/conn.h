/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One framed connection over a connected, non-blocking stream socket, driven by an sd-event loop.
 *
 * Receiving: bytes are read when the socket is readable, cut into frames (wire/frame.h) and each
 * body is decoded (wire/envelope.h) and handed to on_envelope, in order, one at a time. The
 * envelope is borrowed: it is freed when on_envelope returns.
 *
 * Sending: vs_conn_send() frames an envelope into the send queue and returns; it never does
 * I/O. The queue is written on the next loop iteration, all frames queued meanwhile in one
 * sendmsg() (so a burst of messages produced by one event costs one system call), from a defer
 * source of priority VS_CONN_FLUSH_PRIORITY: before any source of normal priority, post sources
 * included (so a frame leaves before the loop blocks in a post source, e.g. the node's journal
 * commit, node/node.h), and what the
 * socket does not take waits for EPOLLOUT (asked for only while the queue is non-empty). The
 * queue is bounded in bytes: a send that would take it over the limit fails with -ENOBUFS,
 * nothing is queued and the connection stays open; the caller decides whether to drop the
 * message or close the connection. Frames are never split or interleaved: the peer sees either
 * all of a frame or the connection end.
 *
 * Closing: garbage (an empty frame or a body that is not a valid envelope), an oversize frame
 * header, an unsupported protocol version, a frame cut short by EOF, an orderly EOF, a socket
 * error (reset, ...) or a timeout closes the connection: the socket is closed, exactly one log
 * line names the peer address and the reason, and on_close is called once with the reason as a
 * negative errno (0 for an orderly EOF on a frame boundary). on_close is never called from
 * inside vs_conn_send() or vs_conn_free(). (With opts.close_log, lines are rate-limited.) A connection whose on_envelope returns a negative errno is closed the same way without
 * a log line of its own (the handler knows why and says so).
 *
 * Lifetime: the owner frees the connection with vs_conn_free(), also from inside its own
 * callbacks (freeing is deferred until the callback returns). After on_close the connection is
 * inert: sends fail with -ENOTCONN until it is freed.
 *
 * TLS (vs_conn_new_tls()): the same, over a TLS session (net/tls.h) on the socket. The handshake
 * runs first, driven by the loop like everything else; until it is done nothing is read as a
 * frame and nothing queued is sent (vs_conn_send() queues as usual). A failed handshake closes
 * the connection like bad input, with the handshake's reason in the log line and as on_close's
 * reason (-EKEYREJECTED authentication, -EPROTO not TLS or no common parameters, -ECONNRESET
 * peer gone). Frames queued meanwhile are packed into full TLS records.
 *
 * Timeouts: handshake_timeout closes a connection whose first frame has not arrived in time
 * (half-open or silent connections cannot hold a slot forever; a TLS handshake counts in it); idle_timeout closes one that
 * has received no frame for that long (the peer layer keeps links busy with Pings).
 */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf/address.h"
#include "wire/envelope.h"

#define VS_CONN_FLUSH_PRIORITY SD_EVENT_PRIORITY_IMPORTANT

struct vs_conn;
struct vs_ratelimit;
struct vs_tls;

struct vs_conn_options {
        uint32_t max_frame;              /* largest body received or sent; 0: VS_FRAME_MAX_DEFAULT */
        size_t max_send_queue;           /* unsent bytes allowed to wait; 0: VS_CONN_SEND_QUEUE_DEFAULT */
        uint64_t handshake_timeout_usec; /* first frame due within; 0: none */
        uint64_t idle_timeout_usec;      /* a frame due at least this often; 0: none */
        /* Shared by the connections of one port: their close lines are rate-limited together
         * (ten per second, then a count of those left out), so a flood of bad connections
         * cannot flood the log. NULL: every close is logged. */
        struct vs_ratelimit *close_log;
};

#define VS_CONN_SEND_QUEUE_DEFAULT (64u * 1024u * 1024u)

struct vs_conn_callbacks {
        /* Returns 0 to go on, or a negative errno to close the connection with that reason. */
        int (*on_envelope)(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata);
        /* reason: 0 orderly EOF, -EBADMSG garbage, -EMSGSIZE oversize frame, -EPROTONOSUPPORT
         * other protocol version, -EPIPE truncated frame at EOF, -ETIMEDOUT timeout, the
         * handler's error, or the socket's error (-ECONNRESET, ...). */
        void (*on_close)(struct vs_conn *c, int reason, void *userdata);
};

/*
 * Takes ownership of fd (closed on failure too) and switches on TCP_NODELAY where the socket
 * supports it. opts may be NULL for defaults.
 */
int vs_conn_new(sd_event *e, int fd, const struct vs_conn_options *opts, const struct vs_conn_callbacks *cb,
                void *userdata, struct vs_conn **ret);
/* As vs_conn_new(), over tls, which the connection owns from here on (freed on failure too). */
int vs_conn_new_tls(sd_event *e, int fd, struct vs_tls *tls, const struct vs_conn_options *opts,
                    const struct vs_conn_callbacks *cb, void *userdata, struct vs_conn **ret);
struct vs_conn *vs_conn_free(struct vs_conn *c);

/* 0 when the frame is queued whole. -EMSGSIZE above max_frame, -ENOBUFS when the queue limit
 * would be exceeded, -ENOTCONN after close, -ENOMEM; nothing is queued on error. */
int vs_conn_send(struct vs_conn *c, const Viewstamp__Envelope *env);
/* The same for a frame already encoded (vs_envelope_frame(): header and body, len bytes in all),
 * which is copied: one encoding sent on several connections. */
int vs_conn_send_frame(struct vs_conn *c, const uint8_t *frame, size_t len);

/* Changes the largest frame accepted and sent from the next frame on: a protocol keeps it small
 * until the other side has identified itself, so an unauthenticated peer cannot make it buffer
 * a large frame. 0: VS_FRAME_MAX_DEFAULT. */
void vs_conn_set_max_frame(struct vs_conn *c, uint32_t max_frame);

/* From inside on_envelope: whether another frame is already buffered, to be handed over as soon
 * as this call returns (unless the connection closes first). A handler may hold back work that
 * batches well until the last frame of a burst. */
bool vs_conn_frame_follows(const struct vs_conn *c);

/* Bytes waiting in the send queue. */
size_t vs_conn_queued(const struct vs_conn *c);
/* The peer's address ("(none)" family for non-IP sockets) and its printable form. */
const struct vs_address *vs_conn_remote(const struct vs_conn *c);
const char *vs_conn_remote_string(const struct vs_conn *c);
/* Names the peer in log lines from now on ("NAME (ADDRESS)"); NULL returns to the bare address. */
int vs_conn_set_label(struct vs_conn *c, const char *name);
/* The PSK identity the peer proved in the TLS handshake (accepting side), else NULL. */
const char *vs_conn_tls_identity(const struct vs_conn *c);
void vs_conn_set_userdata(struct vs_conn *c, void *userdata);
void *vs_conn_get_userdata(const struct vs_conn *c);

static inline void vs_conn_freep(struct vs_conn **c) {
        vs_conn_free(*c);
}
#define _cleanup_conn_ __attribute__((cleanup(vs_conn_freep)))
