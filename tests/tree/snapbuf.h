/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * In-memory snapshot storage for tests and the benchmark: a growable byte buffer with sm.h-compatible write and
 * read callbacks. Reading past the end fails with -EBADMSG as sm.h requires of a truncated stream.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree/tree.h"

struct snapbuf {
        uint8_t *data;
        size_t len, cap;
        size_t pos; /* read position */
        size_t writes; /* number of write calls, to check streaming */
        size_t largest_write;
};

int snapbuf_write(void *ctx, const void *buf, size_t len);
int snapbuf_read(void *ctx, void *buf, size_t len);
void snapbuf_done(struct snapbuf *b);

/* Snapshot of t into a fresh buffer (b is reset first); tree_snapshot()'s result. */
int snapbuf_take(const struct tree *t, struct snapbuf *b);
/* Whether t's snapshot is byte for byte b's content: the whole state compared. -ENOMEM aborts. */
bool snapbuf_same(const struct tree *t, const struct snapbuf *b);
/* Restores t from b, reading from the start; returns tree_restore()'s result. */
int snapbuf_restore(struct tree *t, struct snapbuf *b);
