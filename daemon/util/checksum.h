/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one checksum used for everything viewstamp writes to disk (journal records, metadata,
 * checkpoints, snapshots): XXH3-64 from Debian's libxxhash. 64 bits make an undetected random
 * corruption far less likely than CRC32C's 32, at a speed above memory bandwidth. Checksums are
 * stored little-endian. Changing the algorithm is an on-disk format change.
 */

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t vs_checksum(const void *buf, size_t len) {
        return XXH3_64bits(buf, len);
}

/* Incremental form, for data produced in pieces (streamed snapshots). Equal to vs_checksum()
 * over the concatenation of all pieces. */
struct vs_checksum_state {
        XXH3_state_t xxh;
};

static inline void vs_checksum_init(struct vs_checksum_state *s) {
        XXH3_64bits_reset(&s->xxh);
}

static inline void vs_checksum_update(struct vs_checksum_state *s, const void *buf, size_t len) {
        XXH3_64bits_update(&s->xxh, buf, len);
}

static inline uint64_t vs_checksum_final(const struct vs_checksum_state *s) {
        return XXH3_64bits_digest(&s->xxh);
}
