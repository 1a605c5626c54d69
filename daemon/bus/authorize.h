/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who may change the cluster over D-Bus. Properties and read-only methods are open to every
 * local user; every mutating method runs only for a caller that is
 *
 *   - root (the effective uid the bus vouches for, asked with sd_bus_query_sender_creds()), or
 *   - authorized by polkit for the action VS_BUS_ACTION_MANAGE, asked with CheckAuthorization
 *     about the caller's system-bus-name, with user interaction allowed when the caller set
 *     the message's ALLOW_INTERACTIVE_AUTHORIZATION flag.
 *
 * When polkit is not on the bus (no owner, not activatable, or the bus policy forbids asking)
 * only root is allowed. The policy file lets everyone call into the daemon: this check is what
 * keeps mutating members closed.
 *
 * Usage: the vtable entry of a mutating method points at a small function that returns
 * vs_bus_authorize(m, real_handler, userdata, error) (VS_BUS_AUTHORIZED defines one);
 * real_handler is an ordinary sd-bus method handler that reads the arguments and replies (now or
 * later). Contract:
 *
 *   - A root caller: real_handler runs at once, within this call, and its return value is
 *     returned (so it behaves exactly like a direct vtable handler).
 *   - Anyone else: polkit is asked asynchronously (the loop never blocks on it) and 1 is
 *     returned; the call is answered later. When polkit allows, real_handler(m, userdata, ...)
 *     runs from the bus's event dispatch with the message's read position untouched, and an
 *     error it returns (negative errno or a set sd_bus_error) is sent as the reply.
 *   - Refused: org.freedesktop.DBus.Error.AccessDenied with a message naming the action, or
 *     org.freedesktop.DBus.Error.InteractiveAuthorizationRequired when polkit would ask the user
 *     but the caller did not allow interaction. real_handler never runs.
 *
 * userdata must stay valid while a query may be pending, i.e. until the bus is freed: pass
 * long-lived objects (the manager, the node) and find short-lived ones (a tenant) from the
 * message inside real_handler. A query pending when the bus is closed is dropped with
 * vs_bus_authorize_drop() (vs_bus_close() does it), without running real_handler. Single-threaded:
 * call from the thread that runs the bus.
 */

#include <systemd/sd-bus.h>

#define VS_BUS_ACTION_MANAGE "org.viewstamp1.manage"

int vs_bus_authorize(sd_bus_message *m, sd_bus_message_handler_t handler, void *userdata, sd_bus_error *error);

/* Defines method_<handler>, the vtable entry that runs handler (same userdata) once authorized. */
#define VS_BUS_AUTHORIZED(handler)                                                                   \
        static int method_##handler(sd_bus_message *m, void *userdata, sd_bus_error *error) {        \
                return vs_bus_authorize(m, handler, userdata, error);                                \
        }

/* Forgets the queries pending on bus without answering them; call before closing it. */
void vs_bus_authorize_drop(const sd_bus *bus);
