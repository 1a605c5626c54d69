/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every libFuzzer target here shares: the entry point's prototype, a reader that takes
 * fields off the front of an input (running short yields zeros, so every input is usable), and
 * the assertion that turns a broken invariant into a crash libFuzzer records.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_assert(expr)                                                                   \
        do {                                                                                \
                if (!(expr)) {                                                              \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                            \
                }                                                                           \
        } while (0)

struct fuzz_input {
        const uint8_t *p;
        size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_input *in) {
        if (in->n == 0)
                return 0;
        in->n--;
        return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_input *in) {
        uint16_t lo = fuzz_u8(in);
        return (uint16_t) (lo | fuzz_u8(in) << 8);
}

/* Up to n bytes off the front (fewer when the input runs out); *len says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t n, size_t *len) {
        const uint8_t *p = in->p;
        *len = n < in->n ? n : in->n;
        in->p += *len;
        in->n -= *len;
        return p;
}
