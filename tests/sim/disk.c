/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "util/checksum.h"

static uint64_t record_sum(const struct vr_record *r) {
        struct vs_checksum_state s;
        uint64_t f[8] = { r->kind, r->seq };
        vs_checksum_init(&s);
        switch (r->kind) {
        case VR_RECORD_ENTRY:
                f[2] = r->entry.op;
                f[3] = r->entry.view;
                f[4] = r->entry.client_id;
                f[5] = r->entry.request;
                f[6] = r->entry.len;
                vs_checksum_update(&s, f, sizeof(f));
                if (r->entry.len > 0)
                        vs_checksum_update(&s, r->entry.data, r->entry.len);
                break;
        case VR_RECORD_TRUNCATE:
                f[2] = r->after;
                vs_checksum_update(&s, f, sizeof(f));
                break;
        default:
                f[2] = r->meta.epoch;
                f[3] = r->meta.view;
                f[4] = r->meta.last_normal_view;
                f[5] = r->meta.status;
                f[6] = r->meta.commit;
                f[7] = r->meta.checkpoint_op;
                vs_checksum_update(&s, f, sizeof(f));
                break;
        }
        return vs_checksum_final(&s);
}

static void rec_free(struct disk_rec *r) {
        if (r->rec.kind == VR_RECORD_ENTRY)
                vr_entry_done(&r->rec.entry);
}

static void blob_free(struct disk_blob *b) {
        free(b->buf);
        *b = (struct disk_blob) {};
}

void disk_done(struct disk *d) {
        for (size_t i = 0; i < d->n; i++)
                rec_free(&d->recs[i]);
        free(d->recs);
        blob_free(&d->ckpt);
        blob_free(&d->pending);
        *d = (struct disk) {};
}

int disk_append(struct disk *d, const struct vr_record *recs, size_t n) {
        if (d->n + n > d->cap) {
                size_t cap = d->cap ? d->cap : 64;
                while (cap < d->n + n)
                        cap *= 2;
                struct disk_rec *nr = reallocarray(d->recs, cap, sizeof(*nr));
                if (!nr)
                        return -ENOMEM;
                d->recs = nr;
                d->cap = cap;
        }
        for (size_t i = 0; i < n; i++) {
                struct disk_rec *r = &d->recs[d->n];
                *r = (struct disk_rec) { .rec = recs[i] };
                if (recs[i].kind == VR_RECORD_ENTRY) {
                        int k = vr_entry_copy(&r->rec.entry, &recs[i].entry);
                        if (k < 0)
                                return k;
                }
                r->sum = record_sum(&r->rec);
                d->n++;
                d->next_seq = recs[i].seq + 1;
        }
        return 0;
}

int disk_write_checkpoint(struct disk *d, uint64_t op, uint8_t *buf, size_t len) {
        blob_free(&d->pending);
        d->pending = (struct disk_blob) {
                .op = op, .after_n = d->n, .buf = buf, .len = len, .sum = vs_checksum(buf, len),
        };
        d->pending_in_sync = false;
        return 0;
}

uint64_t disk_sync_begin(struct disk *d) {
        d->sync_target = d->next_seq > 0 ? d->next_seq - 1 : 0;
        d->pending_in_sync = d->pending.buf != NULL;
        return d->sync_target;
}

uint64_t disk_sync_end(struct disk *d, uint64_t target) {
        for (size_t i = 0; i < d->n; i++) {
                struct disk_rec *r = &d->recs[i];
                if (r->rec.seq > target || r->durable)
                        continue;
                r->durable = true;
                if (r->rec.kind == VR_RECORD_META && r->rec.meta.status == VR_STATUS_RECOVERING)
                        d->hole = false;
        }
        d->sync_target = 0;
        if (!d->pending_in_sync)
                return 0;
        d->pending_in_sync = false;
        blob_free(&d->ckpt);
        d->ckpt = d->pending;
        d->pending = (struct disk_blob) {};
        return d->ckpt.op;
}

void disk_crash(struct disk *d, struct prng *p) {
        size_t first = d->n;
        for (size_t i = 0; i < d->n; i++)
                if (!d->recs[i].durable) {
                        first = i;
                        break;
                }
        size_t unsynced = d->n - first;
        size_t keep = unsynced > 0 ? prng_below(p, unsynced + 1) : 0;
        size_t end = first + keep;
        if (end < d->n && prng_chance(p, 500000)) {
                d->recs[end].sum ^= 1ULL << prng_below(p, 64); /* torn */
                end++;
        }
        for (size_t i = end; i < d->n; i++)
                rec_free(&d->recs[i]);
        d->n = end;
        for (size_t i = 0; i < d->n; i++)
                d->recs[i].durable = true; /* what survived is on the platter now */
        if (d->pending.buf && end > d->pending.after_n) {
                blob_free(&d->ckpt);
                d->ckpt = d->pending;
                d->pending = (struct disk_blob) {};
        }
        blob_free(&d->pending);
        d->pending_in_sync = false;
        d->sync_target = 0;
}

bool disk_rot(struct disk *d, struct prng *p) {
        /* The later record must be intact: a torn tail does not tell rot from a torn write. */
        size_t last = d->n;
        for (size_t i = d->n; i > 0; i--)
                if (d->recs[i - 1].durable && record_sum(&d->recs[i - 1].rec) == d->recs[i - 1].sum) {
                        last = i - 1;
                        break;
                }
        if (last == d->n || last == 0)
                return false;
        /* A log record with a later durable record after it. */
        size_t candidates = 0;
        for (size_t i = 0; i < last; i++)
                if (d->recs[i].durable && d->recs[i].rec.kind != VR_RECORD_META)
                        candidates++;
        if (candidates == 0)
                return false;
        size_t pick = prng_below(p, candidates);
        for (size_t i = 0; i < last; i++) {
                struct disk_rec *r = &d->recs[i];
                if (!r->durable || r->rec.kind == VR_RECORD_META || pick-- > 0)
                        continue;
                if (r->rec.kind == VR_RECORD_ENTRY && r->rec.entry.len > 0)
                        r->rec.entry.data[prng_below(p, r->rec.entry.len)] ^= (uint8_t) (1u << prng_below(p, 8));
                else if (r->rec.kind == VR_RECORD_ENTRY)
                        r->rec.entry.request ^= 1ULL << prng_below(p, 64);
                else
                        r->rec.after ^= 1ULL << prng_below(p, 64);
                return true;
        }
        return false;
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
        *ret = (struct disk_load) {};
        size_t bad = d->n;
        for (size_t i = 0; i < d->n; i++)
                if (record_sum(&d->recs[i].rec) != d->recs[i].sum) {
                        bad = i;
                        break;
                }
        bool damaged = false, have_meta = false;
        struct vr_meta meta = {};
        for (size_t i = bad; i < d->n; i++) {
                if (i == bad || record_sum(&d->recs[i].rec) != d->recs[i].sum)
                        continue;
                damaged = true;
                if (d->recs[i].rec.kind == VR_RECORD_META) {
                        meta = d->recs[i].rec.meta;
                        have_meta = true;
                }
        }
        ret->cut_tail = bad < d->n && !damaged;
        damaged = damaged || d->hole;
        d->hole = damaged;
        /* What the journal does on open: cut from the first bad record, and when that was a
         * hole keep the newest metadata found beyond it. */
        size_t keep_meta = SIZE_MAX;
        for (size_t i = bad + 1; have_meta && i < d->n; i++)
                if (d->recs[i].rec.kind == VR_RECORD_META && record_sum(&d->recs[i].rec) == d->recs[i].sum)
                        keep_meta = i;
        struct disk_rec saved = {};
        if (keep_meta != SIZE_MAX)
                saved = d->recs[keep_meta]; /* a META owns nothing: freeing it below is a no-op */
        for (size_t i = bad; i < d->n; i++)
                rec_free(&d->recs[i]);
        d->n = bad;
        if (keep_meta != SIZE_MAX)
                d->recs[d->n++] = saved;
        for (size_t i = 0; i < d->n; i++)
                d->recs[i].durable = true;

        ret->records = calloc(d->n > 0 ? d->n : 1, sizeof(struct vr_record));
        if (!ret->records)
                return -ENOMEM;
        for (size_t i = 0; i < d->n; i++)
                ret->records[i] = d->recs[i].rec;
        ret->ckpt = &d->ckpt;
        if (d->ckpt.op > 0 && vs_checksum(d->ckpt.buf, d->ckpt.len) != d->ckpt.sum)
                return -EBADMSG;
        ret->d = (struct vr_durable) {
                .records = ret->records,
                .n_records = d->n,
                .next_seq = d->next_seq > 0 ? d->next_seq : 1,
                .damaged = damaged,
                .have_meta = have_meta,
                .meta = meta,
                .checkpoint_op = d->ckpt.op,
                .checkpoint_read = blob_read,
                .checkpoint_ctx = ret,
        };
        return 0;
}

void disk_load_done(struct disk_load *l) {
        free(l->records);
        l->records = NULL;
}
