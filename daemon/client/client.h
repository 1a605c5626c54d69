/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The client's internals shared by its files: the request life cycle (client.c), the event
 * plumbing (event.c) and the synchronous calls (call.c).
 *
 * A request is pending (waiting for an idle session), then in flight on its session until it
 * completes; completed requests queue up and their callbacks run at the end of processing, so
 * callbacks never run inside a submit call and may themselves submit.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/conn.h"
#include "client/session.h"
#include "client/viewstamp.h"
#include "net/backoff.h"

struct sd_event_source;

struct request {
        struct request *prev, *next;
        struct session *session;   /* NULL while pending */
        uint8_t *command;          /* encoded TreeRequest; NULL for a registration */
        size_t len;
        bool registration;
        bool sent;                 /* written (or queued) on the current connection */
        bool delivered;            /* reached a connected socket at least once */
        uint64_t deadline;         /* CLOCK_MONOTONIC usec: completes with an error then */
        uint64_t at;               /* unsent: not before; sent: check for a lost reply */
        uint64_t sent_at;
        unsigned redirects;
        struct vs_result *result;  /* once completed */
        vs_callback callback;
        void *userdata;
};

struct request_list {
        struct request *head, *tail;
        size_t n;
};

struct vs_client {
        char *tenant;
        uint8_t *token;              /* access token presented on every connection; NULL: none */
        size_t token_len;
        struct vs_address *nodes;
        bool *no_tenant;             /* per node: said it hosts no replica of the tenant */
        size_t n_nodes, next_node;
        bool have_redirect;
        struct vs_address redirect;

        uint64_t timeout_usec;
        unsigned max_redirects, max_sessions, connect_rounds;

        struct conn conn;
        struct vs_tls_creds *tls;    /* NULL: plain connections */
        char *tls_server_name;       /* NULL: the node's IP address */
        bool conn_polled;            /* conn.fd is in the epoll set */
        uint32_t conn_events;
        uint64_t last_rx;            /* when the current connection last delivered a frame */
        unsigned unavailable;        /* consecutive "no primary here" answers on this connection */
        unsigned failed_connects;    /* consecutive connection failures */
        uint64_t reconnect_at;
        struct vs_backoff connect_backoff, retry_backoff;
        int last_connect_error;

        struct request_list pending, inflight, done;
        struct session_table sessions;
        struct session *idle;
        size_t n_registering;

        int epoll_fd, timer_fd;
        uint64_t timer_at;           /* armed expiry, UINT64_MAX: disarmed */
        struct sd_event_source *event_source;
        bool closing;                /* being freed: no new requests */
        unsigned callback_depth;     /* callbacks running: submissions wait for one kick */
};

uint64_t client_now(void);

/* Does everything due now that runs no callback: sessions, connecting, sending, timer. */
void client_kick(struct vs_client *c);
/* Handles socket readiness (epoll events) and expired timers. */
void client_socket_event(struct vs_client *c, uint32_t events);
void client_run_timers(struct vs_client *c);
/* Runs the callbacks of completed requests. */
void client_run_callbacks(struct vs_client *c);
/* Completes every outstanding request with error (their callbacks run later). */
void client_fail_all(struct vs_client *c, int error, const char *message);

/* event.c: keep the epoll set and the timer in line with the connection and the requests. */
int event_init(struct vs_client *c);
void event_done(struct vs_client *c);
void event_update_conn(struct vs_client *c);
void event_forget_conn(struct vs_client *c);
void event_arm_timer(struct vs_client *c, uint64_t at);
