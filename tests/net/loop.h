/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers for the net tests: a private sd-event loop run for a bounded time, loopback
 * addresses, raw client sockets standing in for misbehaving peers, and a capture of stderr so
 * that tests can read the log lines the code under test wrote.
 */

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "conf/address.h"
#include "util/cleanup.h"
#include "wire/envelope.h"
#include "wire/frame.h"

static inline uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Runs e until done(arg) holds or timeout_usec passes; returns done(arg). Never hangs. */
static inline bool run_until(sd_event *e, bool (*done)(void *), void *arg, uint64_t timeout_usec) {
        uint64_t end = now_usec() + timeout_usec;
        while (!done(arg)) {
                uint64_t now = now_usec();
                if (now >= end)
                        return false;
                ck_assert_int_ge(sd_event_run(e, end - now < 10000 ? end - now : 10000), 0);
        }
        return true;
}

/* Runs e for about usec, whatever happens. */
static inline void run_for(sd_event *e, uint64_t usec) {
        uint64_t end = now_usec() + usec;
        for (uint64_t now = now_usec(); now < end; now = now_usec())
                ck_assert_int_ge(sd_event_run(e, end - now), 0);
}

static inline struct vs_address loopback(uint16_t port) {
        struct vs_address a = { .len = sizeof a.in };
        a.in.sin_family = AF_INET;
        a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.in.sin_port = htons(port);
        return a;
}

static inline uint16_t port_of(const struct vs_address *a) {
        return ntohs(a->in.sin_port);
}

/*
 * A free loopback port, held by a bound socket in *holder (no SO_REUSEADDR: with it, another
 * process's bind to port 0 could be handed the same port) until release_port() just before the
 * code under test binds it.
 */
static inline uint16_t reserve_port(int *holder) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        struct vs_address a = loopback(0);
        ck_assert_int_eq(bind(fd, &a.sa, a.len), 0);
        ck_assert_int_eq(getsockname(fd, &a.sa, &a.len), 0);
        *holder = fd;
        return port_of(&a);
}

static inline void release_port(int *holder) {
        if (*holder >= 0)
                close(*holder);
        *holder = -1;
}

/* A blocking client socket connected to a (loopback connects complete in the backlog). */
static inline int raw_connect(const struct vs_address *a) {
        int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, &a->sa, a->len), 0);
        return fd;
}

static inline void raw_write(int fd, const void *p, size_t n) {
        ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t) n);
}

/* True once fd has been closed by the other side (EOF or reset), without blocking. */
static inline bool raw_closed(int fd) {
        for (;;) {
                char buf[4096];
                ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                        return true;
                if (k < 0)
                        return false;
        }
}

/* env as a complete frame on the wire (malloc'ed); returns its length. */
static inline size_t frame_of(const Viewstamp__Envelope *env, uint8_t **ret) {
        size_t len;
        ck_assert_int_eq(vs_envelope_frame(env, VS_FRAME_MAX_DEFAULT, ret, &len), 0);
        return len;
}

/* stderr goes to a temporary file between capture_begin() and capture_end(), which returns
 * everything written meanwhile (malloc'ed). */
struct capture {
        int saved;
        FILE *f;
};

static inline void capture_begin(struct capture *c) {
        fflush(stderr);
        c->f = tmpfile();
        ck_assert_ptr_nonnull(c->f);
        c->saved = dup(STDERR_FILENO);
        ck_assert_int_ge(c->saved, 0);
        ck_assert_int_ge(dup2(fileno(c->f), STDERR_FILENO), 0);
}

static inline char *capture_end(struct capture *c) {
        fflush(stderr);
        ck_assert_int_ge(dup2(c->saved, STDERR_FILENO), 0);
        close(c->saved);
        long n = ftell(c->f);
        ck_assert_int_ge(n, 0);
        char *s = calloc(1, (size_t) n + 1);
        ck_assert_ptr_nonnull(s);
        rewind(c->f);
        ck_assert_uint_eq(fread(s, 1, (size_t) n, c->f), (size_t) n);
        fclose(c->f);
        fputs(s, stderr); /* still visible in the test log */
        return s;
}
