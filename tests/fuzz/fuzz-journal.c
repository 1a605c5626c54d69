/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Journal recovery over arbitrary file bytes: the walk and the recovery scan of
 * journal/format.h, the compacted image the journal rewrites from that scan (which must scan
 * back to the same state), and the replay of each tenant's records into a replica as
 * node/tenant.c does on start-up (a checkpoint the metadata names is treated as unusable, the
 * daemon's path when its file is gone).
 *
 * Input: a flags byte, then the file. Flag bit 0 reseals the file's checksums first (header, and
 * every record whose magic sits at an 8-byte boundary), so that the fuzzer reaches the scan's
 * logic instead of stopping at checksums it cannot forge.
 */
#include <errno.h>

#include "fuzz.h"
#include "journal/format.h"
#include "replica.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "util/unaligned.h"

#define RECORD_MAGIC UINT32_C(0x31525356)
#define MAX_REPLAYED_TENANTS 4

static void reseal(uint8_t *buf, size_t len) {
        if (len < VS_FORMAT_FILE_HEADER_SIZE)
                return;
        vs_put_le64(buf + 56, vs_checksum(buf, 56));
        size_t off = VS_FORMAT_FILE_HEADER_SIZE;
        while (off + VS_FORMAT_RECORD_HEADER_SIZE <= len) {
                uint8_t *rec = buf + off;
                uint32_t body = vs_get_le32(rec + 48);
                if (vs_get_le32(rec) != RECORD_MAGIC || body > len - off - VS_FORMAT_RECORD_HEADER_SIZE) {
                        off += 8;
                        continue;
                }
                vs_put_le64(rec + 64, vs_checksum(rec + VS_FORMAT_RECORD_HEADER_SIZE, body));
                vs_put_le64(rec + 72, vs_checksum(rec, 72));
                off += VS_FORMAT_RECORD_HEADER_SIZE + ((body + 7u) & ~7u);
        }
}

struct walk {
        size_t len;
        uint64_t next;
};

static int walk_item(void *ctx, const struct vs_walk_item *it) {
        struct walk *w = ctx;
        fuzz_assert(it->offset == w->next);
        fuzz_assert(it->length > 0 && it->length <= w->len - it->offset);
        w->next = it->offset + it->length;
        return 0;
}

static void check_tenant(const struct vs_scan_tenant *t) {
        for (size_t i = 0; i < t->n_entries; i++) {
                fuzz_assert(i == 0 || t->entries[i - 1].op < t->entries[i].op);
                fuzz_assert(t->missing_from == 0 || t->entries[i].op < t->missing_from);
        }
}

/* The entries above the checkpoint op (those at or below it are reclaimed by a rewrite). */
static bool entries_equal(const struct vs_scan_tenant *a, const struct vs_scan_tenant *b) {
        uint64_t floor = a->has_meta ? a->meta.checkpoint_op : 0;
        size_t i = 0, k = 0;
        while (i < a->n_entries && a->entries[i].op <= floor)
                i++;
        while (k < b->n_entries && b->entries[k].op <= floor)
                k++;
        if (a->n_entries - i != b->n_entries - k)
                return false;
        for (; i < a->n_entries; i++, k++) {
                const struct vr_entry *x = &a->entries[i], *y = &b->entries[k];
                if (x->op != y->op || x->view != y->view || x->client_id != y->client_id ||
                    x->request != y->request || x->len != y->len || (x->len > 0 && memcmp(x->data, y->data, x->len) != 0))
                        return false;
        }
        return true;
}

static bool meta_equal(const struct vr_meta *a, const struct vr_meta *b) {
        return a->epoch == b->epoch && a->view == b->view && a->last_normal_view == b->last_normal_view &&
               a->status == b->status && a->commit == b->commit && a->checkpoint_op == b->checkpoint_op;
}

/* The rewrite keeps what the scan recovered: the image scans back to the same tenants, but for
 * the forgotten (deleted) ones. */
static void check_image(const struct vs_scan *s) {
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        struct vs_file_header h = s->header;
        h.generation++;
        if (vs_buf_reserve(&b, VS_FORMAT_FILE_HEADER_SIZE) < 0)
                return;
        vs_format_file_header_encode(b.data, &h);
        b.len = VS_FORMAT_FILE_HEADER_SIZE;
        struct vs_scan copy = *s; /* the image encoder updates chain_seq, nothing the check reads */
        if (vs_format_image_encode(&b, h.generation, &copy) < 0)
                return;
        struct vs_scan again;
        int r = vs_scan_buffer(b.data, b.len, &again);
        if (r == -ENOMEM)
                return;
        fuzz_assert(r == 0);
        fuzz_assert(again.n_damage == 0);
        fuzz_assert(again.valid_end == b.len);
        fuzz_assert(again.n_tenants <= s->n_tenants);
        for (size_t i = 0; i < s->n_tenants; i++) {
                const struct vs_scan_tenant *t = &s->tenants[i], *u = vs_scan_find(&again, t->tenant);
                if (t->forgotten) {
                        /* Deleted: the rewrite leaves it out altogether. */
                        fuzz_assert(!u && !vs_scan_forgotten(&again, t->tenant));
                        continue;
                }
                if (!u) {
                        fuzz_assert(!t->has_meta && t->missing_from == 0 && entries_equal(t, &(struct vs_scan_tenant) {}));
                        continue;
                }
                fuzz_assert(u->has_meta == t->has_meta);
                fuzz_assert(!t->has_meta || meta_equal(&u->meta, &t->meta));
                fuzz_assert(u->missing_from == t->missing_from);
                /* Equal for anything the core writes; above only for seqs it never writes (0, or
                 * repeated), where the image's consecutive seqs need more room: appends still
                 * continue above every seq the file held. */
                fuzz_assert(u->max_seq >= t->max_seq);
                fuzz_assert(entries_equal(u, t));
        }
        vs_scan_done(&again);
}

/* node/tenant.c's restart of one tenant's replica from what the scan recovered. */
static void replay(const struct vs_scan_tenant *t) {
        struct vr_durable d = {
                .next_seq = t->max_seq + 1,
                .damaged = t->missing_from != 0,
                .have_meta = t->has_meta,
                .meta = t->meta,
        };
        if (t->has_meta && t->meta.checkpoint_op > 0) {
                d.damaged = true;
                d.meta.checkpoint_op = 0;
        }
        _cleanup_free_ struct vr_record *recs = NULL;
        size_t n = 0;
        if (!d.damaged && vs_scan_tenant_replay(t, &recs, &n) < 0)
                return;
        d.records = recs;
        d.n_records = n;
        struct vr_config c;
        fuzz_replica_config(&c, 3, (uint32_t) (t->tenant % 3), false);
        struct fuzz_replica f;
        if (fuzz_replica_start(&f, &c, &d) < 0)
                return;
        (void) (fuzz_replica_persist(&f) && fuzz_replica_ticks(&f, 30));
        fuzz_replica_done(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_input in = { data, size };
        uint8_t flags = fuzz_u8(&in);
        _cleanup_free_ uint8_t *buf = malloc(in.n + 1);
        if (!buf)
                return 0;
        size_t len = in.n;
        memcpy(buf, in.p, len);
        if (flags & 1)
                reseal(buf, len);

        struct walk w = { .len = len, .next = VS_FORMAT_FILE_HEADER_SIZE };
        int r = vs_format_walk(buf, len, walk_item, &w);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -EMEDIUMTYPE || r == -EPROTONOSUPPORT);
        /* Every byte is a record or damage, but for preallocated zeros at the end. */
        for (size_t i = w.next; r == 0 && i < len; i++)
                fuzz_assert(buf[i] == 0);

        struct vs_scan s;
        r = vs_scan_buffer(buf, len, &s);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -EMEDIUMTYPE || r == -EPROTONOSUPPORT || r == -ENOMEM);
        if (r < 0)
                return 0;
        fuzz_assert(s.valid_end >= VS_FORMAT_FILE_HEADER_SIZE && s.valid_end <= len);
        for (size_t i = 0; i < s.n_tenants; i++) {
                fuzz_assert(i == 0 || s.tenants[i - 1].tenant < s.tenants[i].tenant);
                check_tenant(&s.tenants[i]);
        }
        check_image(&s);
        for (size_t i = 0; i < s.n_tenants && i < MAX_REPLAYED_TENANTS; i++)
                replay(&s.tenants[i]);
        vs_scan_done(&s);
        return 0;
}
