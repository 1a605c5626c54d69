/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Whether the addresses viewstampd listens on exist on this machine, now and as links and
 * addresses come and go (libnl-route-3 caches kept current by rtnetlink events on the daemon's
 * sd-event loop).
 *
 * An address is available when it is assigned to an interface that is up, or lies in the
 * prefix of a loopback interface that is up (127.0.0.2 works like 127.0.0.1), or is a wildcard
 * (0.0.0.0, ::). The watch calls back after every batch of rtnetlink changes; the callback
 * asks again for the addresses it cares about, so no event is interpreted twice.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "conf/address.h"

struct vs_link_watch;

typedef void (*vs_link_changed_fn)(struct vs_link_watch *w, void *userdata);

/* Subscribes to link and address events on e. */
int vs_link_watch_new(sd_event *e, vs_link_changed_fn cb, void *userdata, struct vs_link_watch **ret);
struct vs_link_watch *vs_link_watch_free(struct vs_link_watch *w);

bool vs_link_watch_available(struct vs_link_watch *w, const struct vs_address *a);

/* One-shot form for start-up checks and tools: fills the caches, answers, drops them. */
int vs_link_address_available(const struct vs_address *a, bool *ret);

static inline void vs_link_watch_freep(struct vs_link_watch **w) {
        vs_link_watch_free(*w);
}
