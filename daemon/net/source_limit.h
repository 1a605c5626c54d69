/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Connections held per source address (the IP, whatever the port), against a limit, so one host
 * cannot take every slot of a listener. Pure bookkeeping, no sockets: the owner acquires when it
 * accepts and releases when the connection ends, with the same address. Memory is proportional
 * to the number of distinct addresses holding connections (an address with none is forgotten).
 */

#include <stdbool.h>

#include "conf/address.h"
#include "util/u64map.h"

struct vs_source_limit {
        struct u64map counts; /* key of the address -> count (as a pointer, never 0 while held) */
        unsigned max;
};

void vs_source_limit_init(struct vs_source_limit *s, unsigned max_per_address);
void vs_source_limit_done(struct vs_source_limit *s);

/* Takes a slot for addr: 0, -EUSERS when addr already holds max, -ENOMEM. */
int vs_source_limit_acquire(struct vs_source_limit *s, const struct vs_address *addr);
/* Gives back a slot taken for addr. */
void vs_source_limit_release(struct vs_source_limit *s, const struct vs_address *addr);
/* Connections addr holds now. */
unsigned vs_source_limit_count(const struct vs_source_limit *s, const struct vs_address *addr);
