/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "tree/error.h"
#include "tree/path.h"
#include "util/checksum.h"

#define SEQUENTIAL_DIGITS 10

uint64_t path_root_hash(uint64_t seed) {
        return XXH3_64bits_withSeed("/", 1, seed);
}

uint64_t path_child_hash(uint64_t parent_hash, const char *name, size_t len) {
        return XXH3_64bits_withSeed(name, len, parent_hash);
}

static bool is_dot_name(const char *name, size_t len) {
        return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

bool path_name_valid(const char *name, size_t len) {
        return len > 0 && !is_dot_name(name, len) && !memchr(name, '/', len) && !memchr(name, 0, len);
}

int path_parse(const char *s, size_t len, size_t max_path, bool sequential, uint64_t seed, struct path *ret) {
        size_t limit = sequential ? (max_path > SEQUENTIAL_DIGITS ? max_path - SEQUENTIAL_DIGITS : 0) : max_path;

        if (!s || len == 0 || s[0] != '/' || len > limit || memchr(s, 0, len))
                return TREE_ERR_BAD_PATH;

        uint64_t h = path_root_hash(seed), parent = h;
        if (len == 1) {
                if (sequential) {
                        *ret = (struct path) { .s = s, .len = len, .name_off = 1, .parent_hash = h };
                        return 0;
                }
                *ret = (struct path) { .s = s, .len = 0, .name_off = 0, .hash = h, .parent_hash = h };
                return 0;
        }

        size_t start = 1;
        for (;;) {
                const char *slash = memchr(s + start, '/', len - start);
                size_t end = slash ? (size_t) (slash - s) : len;
                const char *name = s + start;
                size_t n = end - start;

                if (!slash) {
                        /* The last component: a sequential prefix may be empty or a dot name. */
                        if (!sequential) {
                                if (n == 0 || is_dot_name(name, n))
                                        return TREE_ERR_BAD_PATH;
                                h = path_child_hash(h, name, n);
                        }
                        *ret = (struct path) { .s = s, .len = len, .name_off = start, .hash = h, .parent_hash = parent };
                        return 0;
                }
                if (n == 0 || is_dot_name(name, n))
                        return TREE_ERR_BAD_PATH;
                parent = h = path_child_hash(h, name, n);
                start = end + 1;
        }
}
