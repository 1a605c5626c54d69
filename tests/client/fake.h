/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fake node for testing clients: a thread serving the client protocol on a loopback port,
 * executing commands on a real tree (tree_sm_ops) with a client table of its own (register,
 * at-most-once retries, SESSION_EXPIRED for unknown ids), and misbehaving on request: redirect,
 * drop the connection after executing, execute without answering, stay silent, expire sessions,
 * answer unavailable, send
 * garbage or replies with wrong numbers, hold replies and release them in reverse order, probe
 * with Pings, require an access token, refuse as over a limit.
 *
 * Every knob is a counter or flag set under fake_lock(); it applies to requests that arrive
 * afterwards. Registrations are only affected by redirect, no_tenant, token and limit.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tree;

struct fake_entry {
        uint64_t client_id;
        uint64_t request;
        bool registration;
};

struct fake {
        int listen_fd;
        int stop_pipe[2];
        pthread_t thread;
        pthread_mutex_t lock;
        char address[64];
        struct tree *tree;
        uint64_t op;

        /* Knobs (under lock). */
        char redirect[64];    /* non-empty: redirect everything there */
        bool no_tenant;
        bool silent;          /* never answer user requests */
        unsigned drop;        /* execute, then close the connection instead of answering */
        unsigned expire;      /* answer SESSION_EXPIRED without executing */
        unsigned unavailable; /* answer UNAVAILABLE */
        unsigned garbage;     /* answer with a frame that is not an envelope */
        unsigned wrong;       /* precede the answer by replies naming other numbers and ids */
        unsigned hold;        /* keep answers until this many are held, then send newest first */
        unsigned ping;        /* precede the answer by a Ping (nonce 1000 + count left) */
        unsigned mute;        /* execute, then answer nothing and keep the connection */
        char token[64];       /* non-empty: requests on connections whose last ClientAuth was not
                               * this token are answered UNAUTHORIZED (registrations too) */
        unsigned limit;       /* answer LIMIT (registrations too) */

        /* What arrived (under lock). */
        struct fake_entry *log;
        size_t n_log, cap_log;
        unsigned executed;    /* user requests executed */
        unsigned connections; /* accepted so far */
        unsigned pongs;       /* Pongs that echoed one of our Pings */
        unsigned auths;       /* ClientAuths received */

        /* The client table. */
        struct fake_session *sessions;
        size_t n_sessions;
};

/* Starts serving on 127.0.0.1 at port (0: an ephemeral one), named in f->address. */
int fake_start(struct fake *f, uint16_t port);
void fake_stop(struct fake *f);

void fake_lock(struct fake *f);
void fake_unlock(struct fake *f);
