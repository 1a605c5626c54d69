/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Numeric socket addresses as written in configuration and on the wire: "IPV4:PORT" or
 * "[IPV6]:PORT". Host names are refused on purpose: a replication daemon must not depend on a
 * resolver at start or have a peer's identity change under it.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#define VS_ADDRESS_STRING_MAX (INET6_ADDRSTRLEN + 8)

struct vs_address {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        };
        socklen_t len;
};

/* -EINVAL for anything but a numeric address with a port in 1..65535. */
int vs_address_parse(const char *s, struct vs_address *ret);
/* Writes the canonical form into buf (VS_ADDRESS_STRING_MAX bytes) and returns buf. */
const char *vs_address_to_string(const struct vs_address *a, char *buf);
bool vs_address_equal(const struct vs_address *a, const struct vs_address *b);
