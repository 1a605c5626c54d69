/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checkpoints (§5): the client table and the state machine at an op boundary, as one stream:
 *   "VRCKPT01" | op (le64) | client table | state-machine snapshot
 * The same bytes are written to storage and sent to lagging replicas. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/unaligned.h"
#include "vr/replica.h"

#define CKPT_MAGIC "VRCKPT01"

int vr_checkpoint_write(struct vr_replica *r, vr_sm_write_fn write, void *ctx) {
        uint8_t hdr[16];
        memcpy(hdr, CKPT_MAGIC, 8);
        vs_put_le64(hdr + 8, r->applied);
        int k = write(ctx, hdr, sizeof(hdr));
        if (k < 0)
                return k;
        k = vr_client_table_write(&r->clients, write, ctx);
        if (k < 0)
                return k;
        return r->ops->snapshot(r->sm, write, ctx);
}

int vr_checkpoint_read(struct vr_replica *r, vr_sm_read_fn read, void *ctx, uint64_t *op) {
        uint8_t hdr[16];
        int k = read(ctx, hdr, sizeof(hdr));
        if (k < 0)
                return k;
        if (memcmp(hdr, CKPT_MAGIC, 8) != 0)
                return -EBADMSG;
        struct vr_client_table t;
        vr_client_table_init(&t, r->clients.max);
        k = vr_client_table_read(&t, read, ctx);
        if (k >= 0)
                k = r->ops->restore(r->sm, read, ctx);
        if (k < 0) {
                vr_client_table_done(&t);
                return k;
        }
        vr_client_table_done(&r->clients);
        r->clients = t;
        *op = vs_get_le64(hdr + 8);
        return 0;
}

static int buf_write(void *ctx, const void *p, size_t len) {
        struct vs_buf *b = ctx;
        int k = vs_buf_reserve(b, len);
        if (k < 0)
                return k;
        memcpy(b->data + b->len, p, len);
        b->len += len;
        return 0;
}

struct reader {
        const uint8_t *data;
        size_t len, pos;
};

static int buf_read(void *ctx, void *p, size_t len) {
        struct reader *b = ctx;
        if (b->len - b->pos < len)
                return -EBADMSG;
        memcpy(p, b->data + b->pos, len);
        b->pos += len;
        return 0;
}

/* Runs a checkpoint writer (write or take) into a malloc()ed buffer. */
static int into_buffer(struct vr_replica *r, int (*fn)(struct vr_replica *, vr_sm_write_fn, void *),
                       uint8_t **ret, size_t *ret_len) {
        struct vs_buf b = {};
        int k = fn(r, buf_write, &b);
        if (k < 0) {
                vs_buf_free(&b);
                return k;
        }
        *ret = b.data;
        *ret_len = b.len;
        return 0;
}

int vr_checkpoint_to_buffer(struct vr_replica *r, uint8_t **ret, size_t *ret_len) {
        return into_buffer(r, vr_checkpoint_write, ret, ret_len);
}

int vr_checkpoint_from_buffer(struct vr_replica *r, const uint8_t *buf, size_t len, uint64_t *op) {
        struct reader b = { .data = buf, .len = len };
        int k = vr_checkpoint_read(r, buf_read, &b, op);
        if (k < 0)
                return k;
        return b.pos == len ? 0 : -EBADMSG;
}

int vr_checkpoint_take_buffer(struct vr_replica *r, uint8_t **ret, size_t *ret_len) {
        return into_buffer(r, vr_checkpoint_take, ret, ret_len);
}

int vr_checkpoint_take(struct vr_replica *r, vr_sm_write_fn write, void *ctx) {
        if (r->ckpt_pending == 0 || r->ckpt_pending != r->applied)
                return -ESTALE;
        int k = vr_checkpoint_write(r, write, ctx);
        if (k < 0)
                return k;
        r->ckpt_taken = r->applied;
        r->ckpt_pending = 0;
        r->stats.checkpoints++;
        k = vr_write_installed_log(r);
        if (k < 0)
                return k;
        return vr_apply_committed(r);
}

int vr_checkpoint_durable(struct vr_replica *r, uint64_t op) {
        if (op == 0 || op > r->ckpt_taken)
                return -EINVAL;
        if (op >= r->install_op)
                r->install_op = 0;
        if (op <= r->checkpoint_op)
                return 0;
        r->checkpoint_op = op;
        int k = vr_emit_meta(r);
        if (k < 0)
                return k;
        /* Keep one interval of log below the newest checkpoint, so that replicas slightly
         * behind catch up from the log rather than by a whole checkpoint. */
        vr_log_drop_prefix(r, r->ckpt_prev);
        r->ckpt_prev = op;
        return 0;
}
