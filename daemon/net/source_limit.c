/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "net/source_limit.h"
#include "util/checksum.h"

/* The IP alone: a host opening many connections uses many ports. An IPv4 address mapped into
 * IPv6 counts as the IPv4 address it is. A 64-bit hash collision would only make two hosts
 * share one budget. */
static uint64_t key_of(const struct vs_address *a) {
        static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
        if (a->sa.sa_family == AF_INET6) {
                const uint8_t *ip = a->in6.sin6_addr.s6_addr;
                if (memcmp(ip, v4mapped, sizeof v4mapped) == 0)
                        return vs_checksum(ip + 12, 4);
                return vs_checksum(ip, 16);
        }
        if (a->sa.sa_family == AF_INET)
                return vs_checksum(&a->in.sin_addr, 4);
        return 0; /* not IP (tests over socketpairs): one shared budget */
}

void vs_source_limit_init(struct vs_source_limit *s, unsigned max_per_address) {
        *s = (struct vs_source_limit) { .max = max_per_address ? max_per_address : 1 };
}

void vs_source_limit_done(struct vs_source_limit *s) {
        u64map_done(&s->counts);
}

unsigned vs_source_limit_count(const struct vs_source_limit *s, const struct vs_address *addr) {
        return (unsigned) (uintptr_t) u64map_get(&s->counts, key_of(addr));
}

int vs_source_limit_acquire(struct vs_source_limit *s, const struct vs_address *addr) {
        unsigned n = vs_source_limit_count(s, addr);
        if (n >= s->max)
                return -EUSERS;
        return u64map_put(&s->counts, key_of(addr), (void *) (uintptr_t) (n + 1));
}

void vs_source_limit_release(struct vs_source_limit *s, const struct vs_address *addr) {
        uint64_t key = key_of(addr);
        unsigned n = vs_source_limit_count(s, addr);
        if (n > 1)
                (void) u64map_put(&s->counts, key, (void *) (uintptr_t) (n - 1)); /* replaces: cannot fail */
        else
                u64map_remove(&s->counts, key);
}
