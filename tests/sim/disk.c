/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "journal/format.h"
#include "util/checksum.h"

#define DISK_TENANT 1
#define DISK_CLUSTER 7

static void blob_free(struct disk_blob *b) {
        free(b->buf);
        *b = (struct disk_blob) {};
}

void disk_done(struct disk *d) {
        vs_buf_free(&d->file);
        vs_buf_free(&d->next);
        blob_free(&d->ckpt);
        blob_free(&d->pending);
        *d = (struct disk) {};
}

static int start_file(struct disk *d) {
        int k = vs_buf_reserve(&d->file, VS_FORMAT_FILE_HEADER_SIZE);
        if (k < 0)
                return k;
        struct vs_file_header h = {
                .version = VS_FORMAT_VERSION, .cluster_id = DISK_CLUSTER, .node_id = 1,
                .generation = ++d->generation,
        };
        vs_format_file_header_encode(d->file.data + d->file.len, &h);
        d->file.len += VS_FORMAT_FILE_HEADER_SIZE;
        d->batch = 1;
        return 0;
}

int disk_append(struct disk *d, const struct vr_record *recs, size_t n) {
        if (d->file.len == 0) {
                int k = start_file(d);
                if (k < 0)
                        return k;
                d->durable_len = d->file.len;
        }
        for (size_t i = 0; i < n; i++) {
                struct vs_record_place at = {
                        .generation = d->generation, .batch = d->batch, .tenant = DISK_TENANT, .prev_seq = d->chain,
                };
                int k = vs_format_record_encode(&d->next, &at, &recs[i]);
                if (k < 0)
                        return k;
                d->chain = recs[i].seq;
                d->next_seq = recs[i].seq + 1;
        }
        return 0;
}

int disk_write_checkpoint(struct disk *d, uint64_t op, uint8_t *buf, size_t len) {
        blob_free(&d->pending);
        d->pending = (struct disk_blob) {
                .op = op, .after = d->file.len + d->next.len, .buf = buf, .len = len, .sum = vs_checksum(buf, len),
        };
        d->pending_in_sync = false;
        return 0;
}

bool disk_sync_due(const struct disk *d) {
        return !d->syncing && (d->next.len > 0 || d->pending.buf);
}

uint64_t disk_sync_begin(struct disk *d) {
        if (d->next.len > 0) {
                /* One batch: the next may only start once this one is durable. */
                int k = vs_buf_reserve(&d->file, d->next.len);
                if (k < 0)
                        abort(); /* the simulator cannot go on without its disk */
                memcpy(d->file.data + d->file.len, d->next.data, d->next.len);
                d->file.len += d->next.len;
                d->next.len = 0;
                d->batch++;
        }
        d->syncing = true;
        d->sync_len = d->file.len;
        d->pending_in_sync = d->pending.buf != NULL;
        return d->next_seq > 0 ? d->next_seq - 1 : 0;
}

uint64_t disk_sync_end(struct disk *d) {
        d->syncing = false;
        d->durable_len = d->sync_len;
        if (!d->pending_in_sync)
                return 0;
        d->pending_in_sync = false;
        blob_free(&d->ckpt);
        d->ckpt = d->pending;
        d->pending = (struct disk_blob) {};
        return d->ckpt.op;
}

void disk_crash(struct disk *d, struct prng *p) {
        size_t cut = d->durable_len + prng_below(p, d->file.len - d->durable_len + 1);
        d->file.len = cut;
        d->next.len = 0;
        if (d->pending.buf && cut > d->durable_len && cut >= d->pending.after) {
                blob_free(&d->ckpt);
                d->ckpt = d->pending;
                d->pending = (struct disk_blob) {};
        }
        blob_free(&d->pending);
        d->pending_in_sync = false;
        d->syncing = false;
        d->durable_len = d->file.len;
}

struct rot_walk {
        size_t durable_len;
        uint64_t last_batch;     /* newest batch with an intact durable record */
        size_t n;                /* candidates seen */
        size_t pick;             /* second pass: the candidate to hit */
        uint64_t off, len;
};

static bool rot_candidate(const struct rot_walk *w, const struct vs_walk_item *it) {
        return !it->damaged && (it->kind == VR_RECORD_ENTRY || it->kind == VR_RECORD_TRUNCATE) &&
                it->batch > 0 && it->batch < w->last_batch && it->offset + it->length <= w->durable_len;
}

static int rot_scan(void *ctx, const struct vs_walk_item *it) {
        struct rot_walk *w = ctx;
        if (!it->damaged && it->offset + it->length <= w->durable_len && it->batch > w->last_batch)
                w->last_batch = it->batch;
        return 0;
}

static int rot_choose(void *ctx, const struct vs_walk_item *it) {
        struct rot_walk *w = ctx;
        if (!rot_candidate(w, it))
                return 0;
        if (w->n++ == w->pick) {
                w->off = it->offset;
                w->len = it->length;
        }
        return 0;
}

bool disk_rot(struct disk *d, struct prng *p) {
        if (d->file.len == 0)
                return false;
        struct rot_walk w = { .durable_len = d->durable_len, .pick = SIZE_MAX };
        if (vs_format_walk(d->file.data, d->file.len, rot_scan, &w) < 0 ||
            vs_format_walk(d->file.data, d->file.len, rot_choose, &w) < 0 || w.n == 0)
                return false;
        w.pick = prng_below(p, w.n);
        w.n = 0;
        if (vs_format_walk(d->file.data, d->file.len, rot_choose, &w) < 0 || w.len == 0)
                return false;
        d->file.data[w.off + prng_below(p, w.len)] ^= (uint8_t) (1u << prng_below(p, 8));
        return true;
}

static int blob_read(void *ctx, void *buf, size_t len) {
        struct disk_load *l = ctx;
        if (l->ckpt->len - l->read_pos < len)
                return -EBADMSG;
        memcpy(buf, l->ckpt->buf + l->read_pos, len);
        l->read_pos += len;
        return 0;
}

int disk_load(struct disk *d, struct disk_load *ret) {
        *ret = (struct disk_load) { .ckpt = &d->ckpt };
        if (d->ckpt.op > 0 && vs_checksum(d->ckpt.buf, d->ckpt.len) != d->ckpt.sum)
                return -EBADMSG;
        ret->d = (struct vr_durable) {
                .next_seq = d->next_seq > 0 ? d->next_seq : 1,
                .checkpoint_op = d->ckpt.op,
                .checkpoint_read = blob_read,
                .checkpoint_ctx = ret,
        };
        if (d->file.len == 0)
                return 0;

        struct vs_scan scan;
        int k = vs_scan_buffer(d->file.data, d->file.len, &scan);
        if (k < 0)
                return k;
        const struct vs_scan_tenant *t = vs_scan_find(&scan, DISK_TENANT);
        if (t) {
                k = vs_scan_tenant_replay(t, &ret->records, &ret->d.n_records);
                ret->d.records = ret->records;
                ret->d.next_seq = t->max_seq + 1;
                ret->d.damaged = t->missing_from != 0;
                ret->d.have_meta = t->has_meta;
                if (t->has_meta)
                        ret->d.meta = t->meta;
        }
        /* Reopening rewrites the file as the scanned image; the records handed to the replica
         * still point into the old bytes. */
        ret->old = d->file;
        d->file = (struct vs_buf) {};
        if (k >= 0)
                k = start_file(d);
        if (k >= 0)
                k = vs_format_image_encode(&d->file, d->generation, &scan);
        t = vs_scan_find(&scan, DISK_TENANT);
        d->chain = t ? t->chain_seq : 0;
        d->next_seq = ret->d.next_seq;
        d->durable_len = d->file.len;
        vs_scan_done(&scan);
        return k;
}

void disk_load_done(struct disk_load *l) {
        free(l->records);
        vs_buf_free(&l->old);
        l->records = NULL;
}
