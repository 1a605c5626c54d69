/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/checkpoint.h"
#include "journal/compact.h"
#include "journal/format.h"
#include "journal/statedir.h"
#include "log/log.h"
#include "util/array.h"
#include "util/cleanup.h"

/* Per tenant: where its chain stands in the new file, and the checkpoint op its image metadata names. */
struct chain {
        uint64_t tenant;
        uint64_t seq;
        uint64_t checkpoint_op;
};

struct vs_compaction {
        int dir_fd;
        int old_fd;
        int fd;                 /* the new file, -1 before build */
        bool installed;
        uint64_t generation;
        uint64_t cluster_id;
        uint64_t node_id;
        uint8_t old_header[VS_FORMAT_FILE_HEADER_SIZE];
        uint64_t read_to;       /* old file bytes taken into the new file */
        uint64_t size;          /* new file bytes written */
        uint64_t image_size;    /* of them, the image's */
        struct chain *chains;   /* sorted by tenant */
        size_t n_chains;
        size_t cap_chains;
        char name[VS_JOURNAL_NAME_MAX];
        char tmp[VS_JOURNAL_NAME_MAX + 8];
};

int vs_compaction_new(int dir_fd, int old_fd, uint64_t generation, uint64_t cluster_id, uint64_t node_id,
                      struct vs_compaction **ret) {
        struct vs_compaction *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct vs_compaction) { .dir_fd = dir_fd, .old_fd = old_fd, .fd = -1, .generation = generation,
                                      .cluster_id = cluster_id, .node_id = node_id };
        vs_journal_name(c->name, generation);
        snprintf(c->tmp, sizeof(c->tmp), "%s.tmp", c->name);
        *ret = c;
        return 0;
}

static struct chain *chain_get(struct vs_compaction *c, uint64_t tenant) {
        size_t i = VS_LOWER_BOUND(c->chains, c->n_chains, tenant, tenant);
        if (i < c->n_chains && c->chains[i].tenant == tenant)
                return &c->chains[i];
        if (vs_array_insert_at((void **) &c->chains, &c->n_chains, &c->cap_chains, i, sizeof(*c->chains)) < 0)
                return NULL;
        c->chains[i] = (struct chain) { .tenant = tenant };
        return &c->chains[i];
}

static int write_out(struct vs_compaction *c, const struct vs_buf *b) {
        int r = vs_pwrite_full(c->fd, b->data, b->len, c->size);
        if (r < 0)
                return r;
        c->size += b->len;
        return 0;
}

/* Reads the old file's [from, to) behind a copy of its header, as vs_format_walk() wants it. */
static int read_old(struct vs_compaction *c, uint64_t from, uint64_t to, struct vs_buf *b) {
        size_t n = VS_FORMAT_FILE_HEADER_SIZE + (size_t) (to - from);
        int r = vs_buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->data, c->old_header, VS_FORMAT_FILE_HEADER_SIZE);
        r = vs_pread_full(c->old_fd, b->data + VS_FORMAT_FILE_HEADER_SIZE, n - VS_FORMAT_FILE_HEADER_SIZE, from);
        if (r < 0)
                return r;
        b->len = n;
        return 0;
}

int vs_compaction_build(struct vs_compaction *c, uint64_t cut) {
        _cleanup_(vs_buf_free) struct vs_buf old = {};
        _cleanup_(vs_buf_free) struct vs_buf img = {};
        struct vs_scan s;

        if (cut < VS_FORMAT_FILE_HEADER_SIZE)
                return -EINVAL;
        int r = vs_buf_reserve(&old, cut);
        if (r < 0)
                return r;
        r = vs_pread_full(c->old_fd, old.data, cut, 0);
        if (r < 0)
                return r;
        old.len = cut;
        memcpy(c->old_header, old.data, VS_FORMAT_FILE_HEADER_SIZE);
        r = vs_scan_buffer(old.data, old.len, &s);
        if (r < 0)
                return r;

        r = vs_buf_reserve(&img, VS_FORMAT_FILE_HEADER_SIZE);
        if (r >= 0) {
                vs_format_file_header_encode(img.data, &(struct vs_file_header) {
                        .version = VS_FORMAT_VERSION, .cluster_id = c->cluster_id,
                        .node_id = c->node_id, .generation = c->generation });
                img.len = VS_FORMAT_FILE_HEADER_SIZE;
                r = vs_format_image_encode(&img, c->generation, &s);
        }
        for (size_t i = 0; r >= 0 && i < s.n_tenants; i++) {
                const struct vs_scan_tenant *t = &s.tenants[i];
                struct chain *ch = chain_get(c, t->tenant);
                if (!ch)
                        r = -ENOMEM;
                else
                        /* A forgotten tenant needs no checkpoint at all. */
                        *ch = (struct chain) { .tenant = t->tenant, .seq = t->chain_seq,
                                               .checkpoint_op = t->forgotten ? UINT64_MAX
                                                                : t->has_meta ? t->meta.checkpoint_op : 0 };
        }
        vs_scan_done(&s);
        if (r < 0)
                return r;

        (void) unlinkat(c->dir_fd, c->tmp, 0);
        c->fd = openat(c->dir_fd, c->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (c->fd < 0)
                return -errno;
        c->read_to = cut;
        c->image_size = img.len;
        return write_out(c, &img);
}

struct carry {
        struct vs_compaction *c;
        const uint8_t *in;
        struct vs_buf out;
};

static int carry_record(void *ctx, const struct vs_walk_item *it) {
        struct carry *k = ctx;
        if (it->damaged)
                return -EBADMSG;
        if (it->kind == VS_RECORD_SEAL)
                return 0;
        struct chain *ch = chain_get(k->c, it->tenant);
        if (!ch)
                return -ENOMEM;
        int r = vs_buf_reserve(&k->out, it->length);
        if (r < 0)
                return r;
        uint8_t *rec = k->out.data + k->out.len;
        memcpy(rec, k->in + it->offset, it->length);
        vs_format_record_place(rec, &(struct vs_record_place) {
                .generation = k->c->generation, .batch = 0, .tenant = it->tenant, .prev_seq = ch->seq });
        ch->seq = it->rec.seq;
        k->out.len += it->length;
        return 0;
}

int vs_compaction_carry(struct vs_compaction *c, uint64_t end) {
        _cleanup_(vs_buf_free) struct vs_buf in = {};
        if (c->fd < 0 || end < c->read_to)
                return -EINVAL;
        if (end == c->read_to)
                return 0;
        int r = read_old(c, c->read_to, end, &in);
        if (r < 0)
                return r;
        struct carry k = { .c = c, .in = in.data };
        r = vs_format_walk(in.data, in.len, carry_record, &k);
        if (r >= 0)
                r = write_out(c, &k.out);
        vs_buf_free(&k.out);
        if (r < 0)
                return r;
        c->read_to = end;
        return 0;
}

uint64_t vs_compaction_carried(const struct vs_compaction *c) {
        return c->read_to;
}

int vs_compaction_sync(struct vs_compaction *c) {
        return fdatasync(c->fd) < 0 ? -errno : 0;
}

int vs_compaction_install(struct vs_compaction *c, int *ret_fd) {
        if (c->fd < 0)
                return -EINVAL;
        if (fdatasync(c->fd) < 0)
                return -errno;
        if (renameat(c->dir_fd, c->tmp, c->dir_fd, c->name) < 0)
                return -errno;
        c->installed = true;
        if (fsync(c->dir_fd) < 0)
                return -ENOTRECOVERABLE;
        *ret_fd = TAKE_FD(c->fd);
        return 0;
}

uint64_t vs_compaction_size(const struct vs_compaction *c) {
        return c->size;
}

uint64_t vs_compaction_image_size(const struct vs_compaction *c) {
        return c->image_size;
}

uint64_t vs_compaction_chain(const struct vs_compaction *c, uint64_t tenant) {
        size_t i = VS_LOWER_BOUND(c->chains, c->n_chains, tenant, tenant);
        return i < c->n_chains && c->chains[i].tenant == tenant ? c->chains[i].seq : 0;
}

void vs_compaction_prune(const struct vs_compaction *c) {
        for (size_t i = 0; i < c->n_chains; i++) {
                const struct chain *ch = &c->chains[i];
                int r = ch->checkpoint_op > 0 ? vs_checkpoint_prune(c->dir_fd, ch->tenant, ch->checkpoint_op) : 0;
                if (r < 0)
                        vs_log_full(VS_LOG_WARNING, NULL, r, "cannot remove old checkpoints");
        }
}

void vs_compaction_free(struct vs_compaction *c) {
        if (!c)
                return;
        if (c->fd >= 0) {
                close(c->fd);
                if (!c->installed)
                        (void) unlinkat(c->dir_fd, c->tmp, 0);
        }
        free(c->chains);
        free(c);
}
