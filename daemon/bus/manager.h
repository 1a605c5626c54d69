/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The node's D-Bus API: object /org/viewstamp1, interface org.viewstamp1.Manager, under the
 * well-known name org.viewstamp1 (documented in org.viewstamp1(5); the introspection XML in
 * dbus/ is checked against the live object by the tests).
 *
 * The bus is the system bus unless $DBUS_SYSTEM_BUS_ADDRESS points elsewhere (tests run a
 * private dbus-daemon). Losing the name or the bus connection is fatal for the daemon: an
 * administrator must never talk to a stale instance.
 */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "conf/conf.h"

#define VS_BUS_NAME "org.viewstamp1"
#define VS_BUS_PATH "/org/viewstamp1"
#define VS_BUS_MANAGER_INTERFACE "org.viewstamp1.Manager"

/* Connects, publishes the Manager object for conf and requests the name. */
int vs_bus_open(sd_event *e, const struct vs_conf *conf, sd_bus **ret);
