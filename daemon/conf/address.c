/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/address.h"

static int parse_port(const char *s, uint16_t *ret) {
        if (*s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long p = strtoul(s, &end, 10);
        if (errno || *end || p == 0 || p > 65535)
                return -EINVAL;
        *ret = (uint16_t) p;
        return 0;
}

int vs_address_parse(const char *s, struct vs_address *ret) {
        struct vs_address a = {};
        char host[INET6_ADDRSTRLEN];
        uint16_t port;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':' || (size_t) (close - s - 1) >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, close - s - 1);
                host[close - s - 1] = 0;
                if (parse_port(close + 2, &port) < 0 || inet_pton(AF_INET6, host, &a.in6.sin6_addr) != 1)
                        return -EINVAL;
                a.in6.sin6_family = AF_INET6;
                a.in6.sin6_port = htons(port);
                a.len = sizeof a.in6;
        } else {
                const char *colon = strrchr(s, ':');
                if (!colon || (size_t) (colon - s) >= sizeof host)
                        return -EINVAL;
                memcpy(host, s, colon - s);
                host[colon - s] = 0;
                if (parse_port(colon + 1, &port) < 0 || inet_pton(AF_INET, host, &a.in.sin_addr) != 1)
                        return -EINVAL;
                a.in.sin_family = AF_INET;
                a.in.sin_port = htons(port);
                a.len = sizeof a.in;
        }
        *ret = a;
        return 0;
}

const char *vs_address_to_string(const struct vs_address *a, char *buf) {
        char host[INET6_ADDRSTRLEN];
        if (a->sa.sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
                snprintf(buf, VS_ADDRESS_STRING_MAX, "[%s]:%u", host, ntohs(a->in6.sin6_port));
        } else if (a->sa.sa_family == AF_INET) {
                inet_ntop(AF_INET, &a->in.sin_addr, host, sizeof host);
                snprintf(buf, VS_ADDRESS_STRING_MAX, "%s:%u", host, ntohs(a->in.sin_port));
        } else
                snprintf(buf, VS_ADDRESS_STRING_MAX, "(none)");
        return buf;
}

bool vs_address_equal(const struct vs_address *a, const struct vs_address *b) {
        if (a->sa.sa_family != b->sa.sa_family)
                return false;
        if (a->sa.sa_family == AF_INET)
                return a->in.sin_port == b->in.sin_port &&
                       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
        if (a->sa.sa_family == AF_INET6)
                return a->in6.sin6_port == b->in6.sin6_port &&
                       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
        return true;
}
