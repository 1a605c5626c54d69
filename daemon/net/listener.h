/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A listening TCP socket on one vs_address, accepting on an sd-event loop.
 *
 * The socket has SO_REUSEADDR (a restarted daemon rebinds at once despite connections in
 * TIME_WAIT) and, for IPv6, IPV6_V6ONLY. Accepted sockets are non-blocking and close-on-exec
 * and are handed to on_accept, which takes ownership of the fd. Each accepted connection holds
 * one of max_connections slots until the owner calls vs_listener_release(); a connection that
 * arrives when every slot is held is closed at once (the peer sees the connection end) with a
 * log line naming its address, rate-limited to one line per second under a flood. When the
 * process runs out of file descriptors, accepting pauses briefly instead of spinning.
 */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf/address.h"

struct vs_listener;

/* Owns fd from here on, also when refusing it. Returns 0 if the connection now holds a slot
 * (the owner calls vs_listener_release() when it ends), or a negative errno after closing fd
 * (the slot stays free). */
typedef int (*vs_listener_accept_fn)(struct vs_listener *l, int fd, const struct vs_address *remote,
                                     void *userdata);

/*
 * Binds and listens on addr (port 0 picks a free port: see vs_listener_address()). Errors are
 * negative errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, ...) and logged with the address.
 * max_connections: at least 1.
 */
int vs_listener_new(sd_event *e, const struct vs_address *addr, unsigned max_connections,
                    vs_listener_accept_fn on_accept, void *userdata, struct vs_listener **ret);
struct vs_listener *vs_listener_free(struct vs_listener *l);

/* The address actually bound (with the port the kernel chose for port 0). */
const struct vs_address *vs_listener_address(const struct vs_listener *l);

/* A connection accepted through l has ended: its slot is free again. */
void vs_listener_release(struct vs_listener *l);
unsigned vs_listener_connections(const struct vs_listener *l);

static inline void vs_listener_freep(struct vs_listener **l) {
        vs_listener_free(*l);
}
#define _cleanup_listener_ __attribute__((cleanup(vs_listener_freep)))
