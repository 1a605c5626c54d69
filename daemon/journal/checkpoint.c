/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/checkpoint.h"
#include "journal/statedir.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "util/unaligned.h"

#define HEADER_SIZE 64
#define TRAILER_SIZE 16
#define CHECKPOINT_VERSION 1
#define WRITE_CHUNK (1u << 20)

static const uint8_t magic[8] = { 'V', 'S', 'C', 'H', 'E', 'C', 'K', 0 };

struct writer {
        int fd;
        uint64_t offset;
        uint64_t length;
        struct vs_checksum_state sum;
        uint8_t *buf;
        size_t used;
};

static int writer_drain(struct writer *w) {
        int r = vs_pwrite_full(w->fd, w->buf, w->used, w->offset);
        if (r < 0)
                return r;
        w->offset += w->used;
        w->used = 0;
        return 0;
}

static int writer_put(void *ctx, const void *buf, size_t len) {
        struct writer *w = ctx;
        const uint8_t *p = buf;
        vs_checksum_update(&w->sum, buf, len);
        w->length += len;
        while (len > 0) {
                size_t n = WRITE_CHUNK - w->used < len ? WRITE_CHUNK - w->used : len;
                memcpy(w->buf + w->used, p, n);
                w->used += n;
                p += n;
                len -= n;
                if (w->used == WRITE_CHUNK) {
                        int r = writer_drain(w);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

struct snapshot_source {
        const struct vs_checkpoint_id *id;
        int (*snapshot)(void *sm, vr_sm_write_fn write, void *ctx);
        void *sm;
};

static int fill_checkpoint(void *ctx, int fd) {
        const struct snapshot_source *src = ctx;
        uint8_t h[HEADER_SIZE] = {};

        _cleanup_free_ uint8_t *chunk = malloc(WRITE_CHUNK);
        if (!chunk)
                return -ENOMEM;
        memcpy(h, magic, sizeof(magic));
        vs_put_le32(h + 8, CHECKPOINT_VERSION);
        vs_put_le64(h + 16, src->id->cluster_id);
        vs_put_le64(h + 24, src->id->tenant);
        vs_put_le64(h + 32, src->id->op);
        vs_put_le64(h + 56, vs_checksum(h, 56));

        struct writer w = { .fd = fd, .buf = chunk };
        int r = writer_put(&w, h, sizeof(h));
        /* The header is not part of the snapshot's checksum or length. */
        vs_checksum_init(&w.sum);
        w.length = 0;
        if (r >= 0)
                r = src->snapshot(src->sm, writer_put, &w);
        if (r >= 0) {
                uint8_t t[TRAILER_SIZE];
                uint64_t length = w.length, sum = vs_checksum_final(&w.sum);
                vs_put_le64(t, length);
                vs_put_le64(t + 8, sum);
                r = writer_put(&w, t, sizeof(t));
        }
        if (r >= 0)
                r = writer_drain(&w);
        return r;
}

int vs_checkpoint_write(int dir_fd, const struct vs_checkpoint_id *id,
                        int (*snapshot)(void *sm, vr_sm_write_fn write, void *ctx), void *sm) {
        char name[VS_JOURNAL_NAME_MAX];
        struct snapshot_source src = { id, snapshot, sm };
        vs_checkpoint_name(name, id->tenant, id->op);
        return vs_write_file_atomic_with(dir_fd, name, fill_checkpoint, &src, NULL);
}

struct vs_checkpoint_reader {
        int fd;
        uint64_t length;
        uint64_t pos;
};

/* Verifies an open checkpoint file; fills id from its header. */
static int verify(int fd, struct vs_checkpoint_id *ret_id, uint64_t *ret_length) {
        uint8_t h[HEADER_SIZE], t[TRAILER_SIZE];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        uint64_t size = (uint64_t) st.st_size;
        if (size < HEADER_SIZE + TRAILER_SIZE)
                return -EBADMSG;
        int r = vs_pread_full(fd, h, sizeof(h), 0);
        if (r < 0)
                return r;
        if (memcmp(h, magic, sizeof(magic)) != 0)
                return -EMEDIUMTYPE;
        if (vs_get_le64(h + 56) != vs_checksum(h, 56))
                return -EBADMSG;
        if (vs_get_le32(h + 8) > CHECKPOINT_VERSION)
                return -EPROTONOSUPPORT;
        r = vs_pread_full(fd, t, sizeof(t), size - TRAILER_SIZE);
        if (r < 0)
                return r;
        uint64_t length = vs_get_le64(t);
        if (length != size - HEADER_SIZE - TRAILER_SIZE)
                return -EBADMSG;

        _cleanup_free_ uint8_t *buf = malloc(WRITE_CHUNK);
        if (!buf)
                return -ENOMEM;
        struct vs_checksum_state sum;
        vs_checksum_init(&sum);
        for (uint64_t off = 0; off < length;) {
                size_t n = length - off < WRITE_CHUNK ? (size_t) (length - off) : WRITE_CHUNK;
                r = vs_pread_full(fd, buf, n, HEADER_SIZE + off);
                if (r < 0)
                        return r;
                vs_checksum_update(&sum, buf, n);
                off += n;
        }
        if (vs_checksum_final(&sum) != vs_get_le64(t + 8))
                return -EBADMSG;
        *ret_id = (struct vs_checkpoint_id) {
                .cluster_id = vs_get_le64(h + 16), .tenant = vs_get_le64(h + 24), .op = vs_get_le64(h + 32) };
        *ret_length = length;
        return 0;
}

int vs_checkpoint_open(int dir_fd, const struct vs_checkpoint_id *id, struct vs_checkpoint_reader **ret) {
        char name[VS_JOURNAL_NAME_MAX];
        struct vs_checkpoint_id got;
        uint64_t length;

        vs_checkpoint_name(name, id->tenant, id->op);
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = verify(fd, &got, &length);
        if (r < 0)
                return r;
        if (got.cluster_id != id->cluster_id || got.tenant != id->tenant || got.op != id->op)
                return -EXDEV;
        struct vs_checkpoint_reader *rd = malloc(sizeof(*rd));
        if (!rd)
                return -ENOMEM;
        *rd = (struct vs_checkpoint_reader) { .fd = TAKE_FD(fd), .length = length };
        *ret = rd;
        return 0;
}

int vs_checkpoint_read(void *ctx, void *buf, size_t len) {
        struct vs_checkpoint_reader *rd = ctx;
        if (len > rd->length - rd->pos)
                return -EBADMSG;
        int r = vs_pread_full(rd->fd, buf, len, HEADER_SIZE + rd->pos);
        if (r < 0)
                return r;
        rd->pos += len;
        return 0;
}

uint64_t vs_checkpoint_length(const struct vs_checkpoint_reader *r) {
        return r->length;
}

void vs_checkpoint_close(struct vs_checkpoint_reader *r) {
        if (!r)
                return;
        close(r->fd);
        free(r);
}

struct prune_ctx {
        int dir_fd;
        uint64_t tenant;
        uint64_t keep_op;
        int removed;
};

static int prune_one(void *ctx, const char *name) {
        struct prune_ctx *p = ctx;
        uint64_t tenant, op;
        if (!vs_checkpoint_name_parse(name, &tenant, &op) || tenant != p->tenant || op >= p->keep_op)
                return 0;
        if (unlinkat(p->dir_fd, name, 0) < 0)
                return -errno;
        p->removed++;
        return 0;
}

int vs_checkpoint_prune(int dir_fd, uint64_t tenant, uint64_t keep_op) {
        struct prune_ctx p = { .dir_fd = dir_fd, .tenant = tenant, .keep_op = keep_op };
        int r = vs_statedir_list(dir_fd, prune_one, &p);
        return r < 0 ? r : p.removed;
}

int vs_checkpoint_verify(int dir_fd, const char *name, uint64_t *ret_cluster_id, uint64_t *ret_length) {
        struct vs_checkpoint_id want, got;
        if (!vs_checkpoint_name_parse(name, &want.tenant, &want.op))
                return -EINVAL;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = verify(fd, &got, ret_length);
        if (r < 0)
                return r;
        if (got.tenant != want.tenant || got.op != want.op)
                return -EXDEV;
        *ret_cluster_id = got.cluster_id;
        return 0;
}
