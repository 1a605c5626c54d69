/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/unaligned.h"
#include "vr/client_table.h"

#define CLIENT_TABLE_MAX_SESSIONS (1u << 20)
#define CLIENT_REPLY_MAX (64u << 20)

void vr_client_table_init(struct vr_client_table *t, size_t max) {
        *t = (struct vr_client_table) { .max = max > 0 ? max : 1 };
}

void vr_client_table_done(struct vr_client_table *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->c[i].reply);
        free(t->c);
        t->c = NULL;
        t->n = t->cap = 0;
}

struct vr_client *vr_client_table_find(const struct vr_client_table *t, uint64_t id) {
        size_t i = VS_LOWER_BOUND(t->c, t->n, id, id);
        return i < t->n && t->c[i].id == id ? &t->c[i] : NULL;
}

static void remove_at(struct vr_client_table *t, size_t i) {
        free(t->c[i].reply);
        memmove(&t->c[i], &t->c[i + 1], (t->n - i - 1) * sizeof(t->c[0]));
        t->n--;
}

int vr_client_table_register(struct vr_client_table *t, uint64_t id, uint64_t request, uint64_t op,
                             struct vr_client **ret) {
        struct vr_client *c = vr_client_table_find(t, id);
        if (!c) {
                if (t->n >= t->max) {
                        size_t victim = 0;
                        for (size_t i = 1; i < t->n; i++)
                                if (t->c[i].op < t->c[victim].op)
                                        victim = i;
                        remove_at(t, victim);
                }
                int k = vs_array_grow((void **) &t->c, &t->cap, t->n + 1, sizeof(*t->c));
                if (k < 0)
                        return k;
                size_t i = VS_LOWER_BOUND(t->c, t->n, id, id);
                memmove(&t->c[i + 1], &t->c[i], (t->n - i) * sizeof(t->c[0]));
                t->n++;
                c = &t->c[i];
                *c = (struct vr_client) { .id = id };
        }
        vr_client_record(c, request, op, 0, NULL, 0);
        *ret = c;
        return 0;
}

void vr_client_record(struct vr_client *c, uint64_t request, uint64_t op, uint32_t status,
                      uint8_t *reply, uint32_t len) {
        free(c->reply);
        c->request = request;
        c->op = op;
        c->status = status;
        c->reply = reply;
        c->len = len;
}

int vr_client_table_write(const struct vr_client_table *t, vr_sm_write_fn write, void *ctx) {
        uint8_t hdr[8];
        vs_put_le64(hdr, t->n);
        int r = write(ctx, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n; i++) {
                const struct vr_client *c = &t->c[i];
                uint8_t rec[36];
                vs_put_le64(rec, c->id);
                vs_put_le64(rec + 8, c->request);
                vs_put_le64(rec + 16, c->op);
                vs_put_le32(rec + 24, c->status);
                vs_put_le32(rec + 28, c->len);
                vs_put_le32(rec + 32, 0);
                r = write(ctx, rec, sizeof(rec));
                if (r < 0)
                        return r;
                if (c->len > 0) {
                        r = write(ctx, c->reply, c->len);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Reads one session; *c owns its reply even on failure. */
static int read_client(struct vr_client *c, uint64_t prev_id, bool first, vr_sm_read_fn read, void *ctx) {
        uint8_t rec[36];
        int r = read(ctx, rec, sizeof(rec));
        if (r < 0)
                return r;
        *c = (struct vr_client) {
                .id = vs_get_le64(rec),
                .request = vs_get_le64(rec + 8),
                .op = vs_get_le64(rec + 16),
                .status = vs_get_le32(rec + 24),
                .len = vs_get_le32(rec + 28),
        };
        if (c->len > CLIENT_REPLY_MAX || (!first && c->id <= prev_id))
                return -EBADMSG;
        if (c->len == 0)
                return 0;
        c->reply = malloc(c->len);
        if (!c->reply)
                return -ENOMEM;
        return read(ctx, c->reply, c->len);
}

int vr_client_table_read(struct vr_client_table *t, vr_sm_read_fn read, void *ctx) {
        uint8_t hdr[8];
        int r = read(ctx, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        uint64_t n = vs_get_le64(hdr);
        if (n > CLIENT_TABLE_MAX_SESSIONS)
                return -EBADMSG;

        struct vr_client_table nt;
        vr_client_table_init(&nt, t->max);
        if (n > 0) {
                nt.c = calloc(n, sizeof(struct vr_client));
                if (!nt.c)
                        return -ENOMEM;
                nt.cap = n;
        }
        for (uint64_t i = 0; i < n; i++) {
                r = read_client(&nt.c[nt.n], i > 0 ? nt.c[nt.n - 1].id : 0, i == 0, read, ctx);
                nt.n++; /* owns its reply now, whatever happened */
                if (r < 0) {
                        vr_client_table_done(&nt);
                        return r;
                }
        }
        /* Keep the configured bound; a table written under a larger bound keeps all its
         * sessions until registrations evict them. */
        nt.max = t->max;
        vr_client_table_done(t);
        *t = nt;
        return 0;
}
