/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"

int snapbuf_write(void *ctx, const void *buf, size_t len) {
        struct snapbuf *b = ctx;

        if (b->len + len > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap < b->len + len)
                        cap *= 2;
                uint8_t *d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, buf, len);
        b->len += len;
        b->writes++;
        if (len > b->largest_write)
                b->largest_write = len;
        return 0;
}

int snapbuf_read(void *ctx, void *buf, size_t len) {
        struct snapbuf *b = ctx;

        if (len > b->len - b->pos)
                return -EBADMSG;
        memcpy(buf, b->data + b->pos, len);
        b->pos += len;
        return 0;
}

void snapbuf_done(struct snapbuf *b) {
        free(b->data);
        *b = (struct snapbuf) {};
}

int snapbuf_take(const struct tree *t, struct snapbuf *b) {
        *b = (struct snapbuf) {};
        return tree_snapshot(t, snapbuf_write, b);
}

int snapbuf_restore(struct tree *t, struct snapbuf *b) {
        b->pos = 0;
        return tree_restore(t, snapbuf_read, b);
}

bool snapbuf_same(const struct tree *t, const struct snapbuf *b) {
        struct snapbuf now;
        if (snapbuf_take(t, &now) < 0)
                abort();
        bool same = now.len == b->len && memcmp(now.data, b->data, now.len) == 0;
        snapbuf_done(&now);
        return same;
}
