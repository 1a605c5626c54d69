/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Path syntax and the path hash. The hash of a path is folded component by component from the
 * root's (a seeded XXH3 of each name with its parent's hash as seed), so the hash of a node can be
 * computed from its parent's hash and its own name alone, and parsing a path yields the hash of its
 * parent along the way.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct path {
        const char *s;
        size_t len;         /* bytes of the path; 0 for the root (the matching form, see index.h) */
        size_t name_off;    /* offset of the last component (len for the root) */
        uint64_t hash;      /* hash of the path; not computed for a sequential prefix */
        uint64_t parent_hash;
};

uint64_t path_root_hash(uint64_t seed);
uint64_t path_child_hash(uint64_t parent_hash, const char *name, size_t len);

/* Parses and validates s[0..len). With sequential, the last component may be empty or "."/".."
 * (a counter will be appended to it) and room is left for a 10-digit counter within max_path.
 * Returns 0 or TREE_ERR_BAD_PATH. */
int path_parse(const char *s, size_t len, size_t max_path, bool sequential, uint64_t seed, struct path *ret);

/* Whether a node name is valid on its own (restore checks names it did not parse from a path). */
bool path_name_valid(const char *name, size_t len);
