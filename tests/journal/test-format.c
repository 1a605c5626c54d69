/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Crash consistency of the journal encoding: a journal built from a known sequence of records
 * (several tenants, entries, rewrites of uncommitted suffixes, truncations, metadata, respecting
 * the core's rule that ops at or below the commit number never change) is cut at every byte offset of its last records
 * and has single bits flipped at sampled offsets of every record; each time the recovery scan must
 * return exactly a valid state: never a corrupted record, never a record past a cut, holes reported
 * as missing ops, metadata one of the two last written.
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/format.h"
#include "util/checksum.h"
#include "util/unaligned.h"
#include "util/cleanup.h"
#include "../check-run.h"

#define N_TENANTS 3
#define N_RECORDS 90
#define MAX_OP 200
#define GENERATION 0x1234

struct model_tenant {
        bool present[MAX_OP];
        struct vr_entry e[MAX_OP];
        uint64_t last_op;
        uint64_t commit;
        uint64_t view;
        int n_meta;
        struct vr_meta meta[2]; /* [0] last written, [1] the one before */
};

struct seq_record {
        uint64_t tenant;
        struct vr_record rec;
        uint8_t data[64];
        size_t offset;
        size_t size;
};

struct journal_fixture {
        struct seq_record recs[N_RECORDS];
        struct vs_buf buf;
};

static uint64_t rng_state;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static void model_apply(struct model_tenant *m, const struct vr_record *r) {
        switch (r->kind) {
        case VR_RECORD_ENTRY:
                for (uint64_t op = r->entry.op; op < MAX_OP; op++)
                        m->present[op] = false;
                m->present[r->entry.op] = true;
                m->e[r->entry.op] = r->entry;
                m->last_op = r->entry.op;
                break;
        case VR_RECORD_TRUNCATE:
                for (uint64_t op = r->after + 1; op < MAX_OP; op++)
                        m->present[op] = false;
                m->last_op = r->after;
                break;
        case VR_RECORD_META:
                m->meta[1] = m->meta[0];
                m->meta[0] = r->meta;
                m->n_meta++;
                m->commit = r->meta.commit;
                break;
        }
}

/* Builds a journal of N_RECORDS records whose content respects the core's invariants. */
static void build(struct journal_fixture *f, uint64_t seed) {
        struct model_tenant gen[N_TENANTS] = {};
        uint64_t seq[N_TENANTS] = {}, prev[N_TENANTS] = {};

        rng_state = seed;
        memset(f, 0, sizeof(*f));
        ck_assert_int_eq(vs_buf_reserve(&f->buf, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(f->buf.data, &(struct vs_file_header) {
                .version = VS_FORMAT_VERSION, .cluster_id = 7, .node_id = 3, .generation = GENERATION });
        f->buf.len = VS_FORMAT_FILE_HEADER_SIZE;

        for (size_t i = 0; i < N_RECORDS; i++) {
                struct seq_record *s = &f->recs[i];
                unsigned t = rng() % N_TENANTS;
                struct model_tenant *m = &gen[t];
                unsigned pick = rng() % 10;

                s->tenant = 100 + t;
                s->rec.seq = ++seq[t];
                if (pick < 6 || m->last_op == 0) {
                        /* append, or now and then replace an uncommitted op */
                        uint64_t op = m->last_op + 1;
                        if (pick == 5 && m->last_op > m->commit)
                                op = m->commit + 1 + rng() % (m->last_op - m->commit);
                        uint32_t len = (uint32_t) (rng() % sizeof(s->data));
                        for (uint32_t k = 0; k < len; k++)
                                s->data[k] = (uint8_t) rng();
                        s->rec.kind = VR_RECORD_ENTRY;
                        s->rec.entry = (struct vr_entry) {
                                .op = op, .view = m->view, .client_id = rng(), .request = rng() % 1000,
                                .len = len, .data = s->data,
                        };
                } else if (pick < 9) {
                        uint64_t commit = m->commit + rng() % (m->last_op - m->commit + 1);
                        s->rec.kind = VR_RECORD_META;
                        s->rec.meta = (struct vr_meta) {
                                .epoch = 1, .view = ++m->view, .last_normal_view = m->view - 1,
                                .status = (uint32_t) (rng() % 4), .commit = commit,
                        };
                        if (pick == 8) {
                                /* An epoch's configuration too (the longer body). */
                                s->rec.meta.epoch_op = rng();
                                s->rec.meta.n_members = 1 + 2 * (uint32_t) (rng() % (VR_MAX_REPLICAS / 2));
                                s->rec.meta.n_old_members = (uint32_t) (rng() % (VR_MAX_REPLICAS + 1));
                                for (uint32_t k = 0; k < VR_MAX_REPLICAS; k++) {
                                        s->rec.meta.members[k] = k < s->rec.meta.n_members ? rng() : 0;
                                        s->rec.meta.old_members[k] = k < s->rec.meta.n_old_members ? rng() : 0;
                                }
                        }
                } else {
                        s->rec.kind = VR_RECORD_TRUNCATE;
                        s->rec.after = m->commit + rng() % (m->last_op - m->commit + 1);
                }
                model_apply(m, &s->rec);

                s->offset = f->buf.len;
                ck_assert_int_eq(vs_format_record_encode(&f->buf, &(struct vs_record_place) { .generation = GENERATION, .batch = i + 1, .tenant = s->tenant, .prev_seq = prev[t] }, &s->rec), 0);
                s->size = f->buf.len - s->offset;
                ck_assert_uint_eq(s->size, vs_format_record_size(&s->rec));
                prev[t] = s->rec.seq;
        }
}

static void model_after(const struct journal_fixture *f, size_t n, struct model_tenant m[N_TENANTS]) {
        memset(m, 0, sizeof(struct model_tenant) * N_TENANTS);
        for (size_t i = 0; i < n; i++)
                model_apply(&m[f->recs[i].tenant - 100], &f->recs[i].rec);
}

static bool meta_eq(const struct vr_meta *a, const struct vr_meta *b) {
        return a->epoch == b->epoch && a->view == b->view && a->last_normal_view == b->last_normal_view &&
               a->status == b->status && a->commit == b->commit && a->checkpoint_op == b->checkpoint_op &&
               a->epoch_op == b->epoch_op && a->n_members == b->n_members &&
               a->n_old_members == b->n_old_members &&
               memcmp(a->members, b->members, sizeof(a->members)) == 0 &&
               memcmp(a->old_members, b->old_members, sizeof(a->old_members)) == 0;
}

static size_t meta_body(const struct vr_meta *m) {
        return m->n_members == 0 ? VS_FORMAT_META_SIZE :
                VS_FORMAT_META_SIZE + VS_FORMAT_META_EPOCH_FIXED + 8 * (m->n_members + m->n_old_members);
}

/* The recovered entries are exactly the model's below the tenant's hole (all of them without one). */
static void check_entries(const struct vs_scan_tenant *t, const struct model_tenant *m) {
        size_t k = 0;
        for (uint64_t op = 1; op < MAX_OP; op++) {
                if (!m->present[op] || (t->missing_from && op >= t->missing_from))
                        continue;
                ck_assert_msg(k < t->n_entries, "tenant %llu: op %llu missing",
                              (unsigned long long) t->tenant, (unsigned long long) op);
                const struct vr_entry *a = &t->entries[k++], *b = &m->e[op];
                ck_assert_uint_eq(a->op, op);
                ck_assert_uint_eq(a->view, b->view);
                ck_assert_uint_eq(a->client_id, b->client_id);
                ck_assert_uint_eq(a->request, b->request);
                ck_assert_uint_eq(a->len, b->len);
                ck_assert(memcmp(a->data, b->data, a->len) == 0);
        }
        ck_assert_uint_eq(k, t->n_entries);
}

/* Exact equality with the model: what a clean prefix must give. */
static void check_exact(const struct vs_scan *s, const struct model_tenant m[N_TENANTS]) {
        for (unsigned i = 0; i < N_TENANTS; i++) {
                const struct vs_scan_tenant *t = vs_scan_find(s, 100 + i);
                if (!t) {
                        ck_assert_int_eq(m[i].n_meta, 0);
                        for (uint64_t op = 1; op < MAX_OP; op++)
                                ck_assert(!m[i].present[op]);
                        continue;
                }
                ck_assert_uint_eq(t->missing_from, 0);
                check_entries(t, &m[i]);
                ck_assert_int_eq(t->has_meta, m[i].n_meta > 0);
                if (t->has_meta)
                        ck_assert(meta_eq(&t->meta, &m[i].meta[0]));
        }
}

START_TEST(test_clean_roundtrip) {
        struct journal_fixture f;
        struct model_tenant m[N_TENANTS];
        struct vs_scan s;

        build(&f, 0x9e3779b97f4a7c15ULL);
        model_after(&f, N_RECORDS, m);
        ck_assert_int_eq(vs_scan_buffer(f.buf.data, f.buf.len, &s), 0);
        ck_assert_uint_eq(s.n_records, N_RECORDS);
        ck_assert_uint_eq(s.n_damage, 0);
        ck_assert_uint_eq(s.valid_end, f.buf.len);
        ck_assert_uint_eq(s.header.cluster_id, 7);
        ck_assert_uint_eq(s.header.node_id, 3);
        check_exact(&s, m);
        vs_scan_done(&s);
        vs_buf_free(&f.buf);
}
END_TEST

START_TEST(test_cut_every_offset) {
        struct journal_fixture f;
        struct model_tenant m[N_TENANTS];

        build(&f, 0xdeadbeefcafef00dULL);
        size_t from = f.recs[N_RECORDS - 6].offset;
        for (size_t cut = from; cut <= f.buf.len; cut++) {
                size_t whole = 0;
                while (whole < N_RECORDS && f.recs[whole].offset + f.recs[whole].size <= cut)
                        whole++;
                model_after(&f, whole, m);

                struct vs_scan s;
                ck_assert_int_eq(vs_scan_buffer(f.buf.data, cut, &s), 0);
                ck_assert_uint_eq(s.n_records, whole);
                ck_assert_uint_eq(s.valid_end, f.recs[whole - 1].offset + f.recs[whole - 1].size);
                for (size_t d = 0; d < s.n_damage; d++)
                        ck_assert(s.damage[d].tail);
                ck_assert_uint_eq(s.n_damage, cut > s.valid_end ? 1 : 0);
                check_exact(&s, m);
                vs_scan_done(&s);
        }
        vs_buf_free(&f.buf);
}
END_TEST

static void check_flip(struct journal_fixture *f, size_t i, size_t at, unsigned bit) {
        const struct seq_record *r = &f->recs[i];
        struct model_tenant m[N_TENANTS];
        struct vs_scan s;
        size_t body_end = r->offset + VS_FORMAT_RECORD_HEADER_SIZE +
                          (r->rec.kind == VR_RECORD_ENTRY ? VS_FORMAT_ENTRY_FIXED + r->rec.entry.len :
                           r->rec.kind == VR_RECORD_META  ? meta_body(&r->rec.meta) : 0);

        f->buf.data[at] ^= (uint8_t) (1u << bit);
        ck_assert_int_eq(vs_scan_buffer(f->buf.data, f->buf.len, &s), 0);

        if (at >= body_end) {
                /* padding carries nothing: the record is intact */
                model_after(f, N_RECORDS, m);
                ck_assert_uint_eq(s.n_damage, 0);
                check_exact(&s, m);
        } else if (i == N_RECORDS - 1) {
                /* damage at the tail is a torn write: cut, everything before intact */
                model_after(f, N_RECORDS - 1, m);
                ck_assert_uint_eq(s.n_damage, 1);
                ck_assert(s.damage[0].tail);
                ck_assert_uint_eq(s.damage[0].offset, r->offset);
                ck_assert_uint_eq(s.valid_end, r->offset);
                check_exact(&s, m);
        } else {
                model_after(f, N_RECORDS, m);
                ck_assert_uint_eq(s.n_damage, 1);
                ck_assert(!s.damage[0].tail);
                ck_assert_uint_eq(s.damage[0].offset, r->offset);
                ck_assert_uint_eq(s.n_records, N_RECORDS - 1);
                bool in_body = at >= r->offset + VS_FORMAT_RECORD_HEADER_SIZE;
                ck_assert_int_eq(s.damage[0].attributed, in_body);

                for (unsigned k = 0; k < N_TENANTS; k++) {
                        const struct vs_scan_tenant *t = vs_scan_find(&s, 100 + k);
                        const struct model_tenant *mk = &m[k];
                        bool owner = r->tenant == 100 + k;
                        bool later = false;
                        for (size_t j = i + 1; j < N_RECORDS; j++)
                                later |= f->recs[j].tenant == 100 + k;
                        if (!t) {
                                ck_assert(owner);
                                continue;
                        }
                        check_entries(t, mk);
                        if (!owner && later)
                                ck_assert_uint_eq(t->missing_from, 0);
                        if (owner && in_body && r->rec.kind == VR_RECORD_ENTRY)
                                /* lost entry, header still says which: exact, unless healed */
                                ck_assert(t->missing_from == 0 || t->missing_from == r->rec.entry.op);
                        if (owner && in_body && r->rec.kind == VR_RECORD_META)
                                ck_assert_uint_eq(t->missing_from, 0);
                        /* metadata: one of the two last written */
                        if (mk->n_meta > 0 && !(owner && r->rec.kind == VR_RECORD_META && mk->n_meta == 1)) {
                                ck_assert(t->has_meta);
                                ck_assert(meta_eq(&t->meta, &mk->meta[0]) ||
                                          (mk->n_meta > 1 && meta_eq(&t->meta, &mk->meta[1])));
                        }
                        if (!owner || r->rec.kind != VR_RECORD_META)
                                if (mk->n_meta > 0)
                                        ck_assert(meta_eq(&t->meta, &mk->meta[0]));
                }
        }
        vs_scan_done(&s);
        f->buf.data[at] ^= (uint8_t) (1u << bit);
}

START_TEST(test_flip_bits_every_record) {
        struct journal_fixture f;
        unsigned kinds_seen = 0;

        build(&f, 0x0123456789abcdefULL + (uint64_t) _i);
        for (size_t i = 0; i < N_RECORDS; i++) {
                const struct seq_record *r = &f.recs[i];
                kinds_seen |= 1u << r->rec.kind;
                /* a third of the header bytes (each loop a different third), and a sample of
                 * the body and padding */
                for (size_t k = (size_t) _i % 3; k < VS_FORMAT_RECORD_HEADER_SIZE; k += 3)
                        check_flip(&f, i, r->offset + k, (unsigned) (rng() % 8));
                for (unsigned n = 0; n < 12 && r->size > VS_FORMAT_RECORD_HEADER_SIZE; n++)
                        check_flip(&f, i, r->offset + VS_FORMAT_RECORD_HEADER_SIZE +
                                          rng() % (r->size - VS_FORMAT_RECORD_HEADER_SIZE),
                                   (unsigned) (rng() % 8));
        }
        ck_assert_uint_eq(kinds_seen, (1u << VR_RECORD_ENTRY) | (1u << VR_RECORD_TRUNCATE) | (1u << VR_RECORD_META));
        vs_buf_free(&f.buf);
}
END_TEST

START_TEST(test_file_header_refusals) {
        uint8_t h[VS_FORMAT_FILE_HEADER_SIZE];
        struct vs_file_header got;
        struct vs_file_header want = { .version = VS_FORMAT_VERSION, .cluster_id = 1, .node_id = 2, .generation = 3 };

        vs_format_file_header_encode(h, &want);
        ck_assert_int_eq(vs_format_file_header_decode(h, sizeof(h), &got), 0);
        ck_assert_uint_eq(got.generation, 3);
        ck_assert_int_eq(vs_format_file_header_decode(h, sizeof(h) - 1, &got), -EBADMSG);

        for (size_t k = 8; k < sizeof(h); k++) {
                h[k] ^= 0x10;
                ck_assert_int_eq(vs_format_file_header_decode(h, sizeof(h), &got), -EBADMSG);
                h[k] ^= 0x10;
        }
        h[0] = 'X';
        ck_assert_int_eq(vs_format_file_header_decode(h, sizeof(h), &got), -EMEDIUMTYPE);

        want.version = VS_FORMAT_VERSION + 1;
        vs_format_file_header_encode(h, &want);
        ck_assert_int_eq(vs_format_file_header_decode(h, sizeof(h), &got), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(test_encode_refuses_bad_records) {
        struct vs_buf b = {};
        const struct vs_record_place at = { .generation = 1, .batch = 1, .tenant = 1 };
        uint8_t byte = 0;
        struct vr_record r = { .kind = 9, .seq = 1 };

        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EINVAL);
        r = (struct vr_record) { .kind = VR_RECORD_META, .seq = 1, .meta.status = 17 };
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EINVAL);
        r = (struct vr_record) { .kind = VR_RECORD_ENTRY, .seq = 1, .entry = { .op = 0 } };
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EINVAL);
        r = (struct vr_record) { .kind = VR_RECORD_TRUNCATE, .seq = 0 };
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EINVAL);
        r.seq = VS_FORMAT_MAX_SEQ + 1;
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EINVAL);
        r = (struct vr_record) { .kind = VR_RECORD_ENTRY, .seq = 1,
                                 .entry = { .op = 1, .len = VS_FORMAT_MAX_COMMAND + 1, .data = &byte } };
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &r), -EMSGSIZE);
        ck_assert_uint_eq(vs_format_record_size(&r), 0);
        ck_assert_uint_eq(b.len, 0);
        vs_buf_free(&b);
}
END_TEST

/* A record whose checksums verify but which no writer produces is damage (both found by fuzzing):
 * an ENTRY at op 0 used to be kept, so it wiped the tenant's log in the scan yet vanished from the
 * rewritten image; a seq of 2^64 - 1 made the tenant's next seq wrap to 0. */
static size_t impossible_journal(struct vs_buf *b, unsigned at_byte, uint64_t value) {
        *b = (struct vs_buf) {};
        ck_assert_int_eq(vs_buf_reserve(b, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(b->data, &(struct vs_file_header) { .version = 1, .generation = 5 });
        b->len = VS_FORMAT_FILE_HEADER_SIZE;
        size_t forged = 0;
        for (uint64_t seq = 1; seq <= 4; seq++) {
                struct vs_record_place at = { .generation = 5, .batch = seq, .tenant = 9, .prev_seq = seq - 1 };
                struct vr_record r = { .kind = VR_RECORD_ENTRY, .seq = seq, .entry = { .op = seq, .view = 1 } };
                if (seq == 3)
                        forged = b->len;
                ck_assert_int_eq(vs_format_record_encode(b, &at, &r), 0);
                if (seq == 3) {
                        vs_put_le64(b->data + forged + at_byte, value);
                        vs_format_record_place(b->data + forged, &at);
                }
        }
        return forged;
}

START_TEST(test_impossible_record_is_damage) {
        struct vs_buf b;
        size_t forged = impossible_journal(&b, 40, 0); /* op 0 */
        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert_uint_eq(s.n_damage, 1);
        ck_assert_uint_eq(s.damage[0].offset, forged);
        ck_assert(s.damage[0].attributed);
        ck_assert(!s.damage[0].tail);
        const struct vs_scan_tenant *t = vs_scan_find(&s, 9);
        ck_assert_uint_eq(t->missing_from, 1);
        ck_assert_uint_eq(t->n_entries, 0);
        vs_scan_done(&s);
        vs_buf_free(&b);

        forged = impossible_journal(&b, 24, UINT64_MAX); /* seq */
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert_uint_eq(s.n_damage, 1);
        ck_assert_uint_eq(s.damage[0].offset, forged);
        ck_assert(!s.damage[0].attributed);
        t = vs_scan_find(&s, 9);
        ck_assert_uint_eq(t->max_seq, 4);
        ck_assert_uint_ne(t->missing_from, 0);
        vs_scan_done(&s);
        vs_buf_free(&b);
}
END_TEST

/* Metadata without an epoch configuration keeps the 48-byte body older journals hold; with one it
 * round-trips; a body whose counts disagree with its length is damage, never metadata. */
START_TEST(test_meta_epoch_encoding) {
        struct vs_buf b = {};
        ck_assert_int_eq(vs_buf_reserve(&b, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(b.data, &(struct vs_file_header) { .version = VS_FORMAT_VERSION, .generation = 1 });
        b.len = VS_FORMAT_FILE_HEADER_SIZE;
        struct vr_record legacy = { .kind = VR_RECORD_META, .seq = 1, .meta = { .epoch = 3, .view = 2, .commit = 4 } };
        struct vr_record epoch = { .kind = VR_RECORD_META, .seq = 2,
                                   .meta = { .epoch = 4, .view = 0, .commit = 9, .epoch_op = 9, .n_members = 3,
                                             .members = { 7, 1ull << 60, 3 }, .n_old_members = 1,
                                             .old_members = { 5 } } };
        const struct vs_record_place at = { .generation = 1, .batch = 1, .tenant = 1 };
        size_t start = b.len;
        ck_assert_int_eq(vs_format_record_encode(&b, &at, &legacy), 0);
        ck_assert_uint_eq(b.len - start, VS_FORMAT_RECORD_HEADER_SIZE + VS_FORMAT_META_SIZE);
        ck_assert_uint_eq(vs_get_le32(b.data + start + 48), VS_FORMAT_META_SIZE);

        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert_uint_eq(s.n_tenants, 1);
        ck_assert(s.tenants[0].has_meta);
        ck_assert(meta_eq(&s.tenants[0].meta, &legacy.meta));
        ck_assert_uint_eq(s.tenants[0].meta.n_members, 0);
        vs_scan_done(&s);

        start = b.len;
        struct vs_record_place at2 = at;
        at2.batch = 2;
        at2.prev_seq = 1;
        ck_assert_int_eq(vs_format_record_encode(&b, &at2, &epoch), 0);
        ck_assert_uint_eq(b.len - start, vs_format_record_size(&epoch));
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert(meta_eq(&s.tenants[0].meta, &epoch.meta));
        vs_scan_done(&s);

        /* Counts that claim more ids than the body holds, resealed so that checksums pass. */
        uint8_t *rec = b.data + start, *body = rec + VS_FORMAT_RECORD_HEADER_SIZE;
        vs_put_le32(body + VS_FORMAT_META_SIZE + 8, 5);
        vs_put_le64(rec + 64, vs_checksum(body, vs_get_le32(rec + 48)));
        vs_format_record_place(rec, &at2);
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert(meta_eq(&s.tenants[0].meta, &legacy.meta));
        vs_scan_done(&s);

        epoch.meta.n_members = VR_MAX_REPLICAS + 1;
        ck_assert_int_eq(vs_format_record_encode(&b, &at2, &epoch), -EINVAL);
        vs_buf_free(&b);
}
END_TEST

/* A hole stays until the tenant truncates below it, and a compacted image keeps it. */
START_TEST(test_hole_heal_and_image) {
        struct vs_buf b = {};
        uint8_t d[4] = { 1, 2, 3, 4 };
        size_t lost_at = 0;

        ck_assert_int_eq(vs_buf_reserve(&b, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(b.data, &(struct vs_file_header) { .version = 1, .generation = 5 });
        b.len = VS_FORMAT_FILE_HEADER_SIZE;
        uint64_t seq = 0;
        for (uint64_t op = 1; op <= 6; op++) {
                seq++;
                struct vr_record r = { .kind = VR_RECORD_ENTRY, .seq = seq,
                                       .entry = { .op = op, .view = 1, .len = sizeof(d), .data = d } };
                if (op == 4)
                        lost_at = b.len;
                ck_assert_int_eq(vs_format_record_encode(&b, &(struct vs_record_place) { .generation = 5, .batch = seq, .tenant = 9, .prev_seq = seq - 1 }, &r), 0);
        }
        b.data[lost_at + VS_FORMAT_RECORD_HEADER_SIZE] ^= 1;

        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        const struct vs_scan_tenant *t = vs_scan_find(&s, 9);
        ck_assert_uint_eq(t->missing_from, 4);
        ck_assert_uint_eq(t->n_entries, 3);
        ck_assert_uint_eq(t->max_seq, 6);

        /* the rewrite keeps the hole */
        struct vs_buf img = {};
        ck_assert_int_eq(vs_buf_reserve(&img, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(img.data, &(struct vs_file_header) { .version = 1, .generation = 6 });
        img.len = VS_FORMAT_FILE_HEADER_SIZE;
        ck_assert_int_eq(vs_format_image_encode(&img, 6, &s), 0);
        struct vs_scan s2;
        ck_assert_int_eq(vs_scan_buffer(img.data, img.len, &s2), 0);
        t = vs_scan_find(&s2, 9);
        ck_assert_uint_eq(t->missing_from, 4);
        ck_assert_uint_eq(t->n_entries, 3);
        ck_assert_uint_eq(t->max_seq, 6);
        vs_scan_done(&s2);
        vs_buf_free(&img);

        /* the core's repair: truncate below the hole, then fetch again */
        struct vr_record tr = { .kind = VR_RECORD_TRUNCATE, .seq = 7, .after = 3 };
        ck_assert_int_eq(vs_format_record_encode(&b, &(struct vs_record_place) { .generation = 5, .batch = 7, .tenant = 9, .prev_seq = 6 }, &tr), 0);
        struct vr_record e = { .kind = VR_RECORD_ENTRY, .seq = 8,
                               .entry = { .op = 4, .view = 2, .len = sizeof(d), .data = d } };
        ck_assert_int_eq(vs_format_record_encode(&b, &(struct vs_record_place) { .generation = 5, .batch = 8, .tenant = 9, .prev_seq = 7 }, &e), 0);
        vs_scan_done(&s);
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        t = vs_scan_find(&s, 9);
        ck_assert_uint_eq(t->missing_from, 0);
        ck_assert_uint_eq(t->n_entries, 4);
        ck_assert_uint_eq(t->entries[3].view, 2);
        vs_scan_done(&s);
        vs_buf_free(&b);
}
END_TEST

/* A TRUNCATE beyond the log's end restarts the log there (an installed checkpoint); the restart
 * survives a rewrite, and an ENTRY at or below a hole heals it. */
/* Appends r as tenant 1's next record in a generation-8 file. */
static void put(struct vs_buf *b, uint64_t *seq, struct vr_record r) {
        r.seq = *seq + 1;
        ck_assert_int_eq(vs_format_record_encode(b, &(struct vs_record_place) { .generation = 8, .batch = r.seq, .tenant = 1, .prev_seq = *seq }, &r), 0);
        *seq = r.seq;
}

START_TEST(test_restart_and_entry_heal) {
        struct vs_buf b = {};
        uint8_t d[8] = { 9 };
        uint64_t seq = 0;
        size_t lost_at = 0;

        ck_assert_int_eq(vs_buf_reserve(&b, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(b.data, &(struct vs_file_header) { .version = 1, .generation = 8 });
        b.len = VS_FORMAT_FILE_HEADER_SIZE;
        for (uint64_t op = 1; op <= 3; op++)
                put(&b, &seq, (struct vr_record) { .kind = VR_RECORD_ENTRY,
                                                   .entry = { .op = op, .len = sizeof(d), .data = d } });
        put(&b, &seq, (struct vr_record) { .kind = VR_RECORD_TRUNCATE, .after = 40 });
        for (uint64_t op = 41; op <= 44; op++) {
                if (op == 43)
                        lost_at = b.len;
                put(&b, &seq, (struct vr_record) { .kind = VR_RECORD_ENTRY,
                                                   .entry = { .op = op, .len = sizeof(d), .data = d } });
        }

        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        const struct vs_scan_tenant *t = vs_scan_find(&s, 1);
        ck_assert_uint_eq(t->log_base, 40);
        ck_assert_uint_eq(t->n_entries, 4);
        ck_assert_uint_eq(t->entries[0].op, 41);

        /* replayed (and rewritten) state keeps the restart */
        struct vr_record *recs;
        size_t n;
        ck_assert_int_eq(vs_scan_tenant_replay(t, &recs, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(recs[0].kind, VR_RECORD_TRUNCATE);
        ck_assert_uint_eq(recs[0].after, 40);
        ck_assert_uint_eq(recs[4].entry.op, 44);
        free(recs);
        struct vs_buf img = {};
        ck_assert_int_eq(vs_buf_reserve(&img, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(img.data, &(struct vs_file_header) { .version = 1, .generation = 9 });
        img.len = VS_FORMAT_FILE_HEADER_SIZE;
        ck_assert_int_eq(vs_format_image_encode(&img, 9, &s), 0);
        struct vs_scan s2;
        ck_assert_int_eq(vs_scan_buffer(img.data, img.len, &s2), 0);
        ck_assert_uint_eq(vs_scan_find(&s2, 1)->log_base, 40);
        ck_assert_uint_eq(vs_scan_find(&s2, 1)->n_entries, 4);
        vs_scan_done(&s2);
        vs_buf_free(&img);
        vs_scan_done(&s);

        /* lose op 43: missing from 43; a later entry above the hole is ignored, one at it heals */
        b.data[lost_at + VS_FORMAT_RECORD_HEADER_SIZE + 2] ^= 8;
        put(&b, &seq, (struct vr_record) { .kind = VR_RECORD_ENTRY, .entry = { .op = 45, .len = 1, .data = d } });
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        ck_assert_uint_eq(vs_scan_find(&s, 1)->missing_from, 43);
        ck_assert_uint_eq(vs_scan_find(&s, 1)->n_entries, 2);
        vs_scan_done(&s);
        put(&b, &seq, (struct vr_record) { .kind = VR_RECORD_ENTRY, .entry = { .op = 43, .len = 2, .data = d } });
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        t = vs_scan_find(&s, 1);
        ck_assert_uint_eq(t->missing_from, 0);
        ck_assert_uint_eq(t->n_entries, 3);
        ck_assert_uint_eq(t->entries[2].op, 43);
        ck_assert_uint_eq(t->entries[2].len, 2);
        vs_scan_done(&s);
        vs_buf_free(&b);
}
END_TEST

/* The image drops entries at or below the checkpoint and keeps everything else. */
START_TEST(test_image_reclaims_below_checkpoint) {
        struct journal_fixture f;
        struct vs_scan s, s2;

        build(&f, 77);
        struct vr_record m = { .kind = VR_RECORD_META, .seq = 1000,
                               .meta = { .epoch = 1, .view = 50, .commit = 5, .checkpoint_op = 5 } };
        /* tenant 100's chain: find its last seq */
        uint64_t prev = 0;
        for (size_t i = 0; i < N_RECORDS; i++)
                if (f.recs[i].tenant == 100)
                        prev = f.recs[i].rec.seq;
        ck_assert_int_eq(vs_format_record_encode(&f.buf, &(struct vs_record_place) { .generation = GENERATION, .batch = N_RECORDS + 1, .tenant = 100, .prev_seq = prev }, &m), 0);
        ck_assert_int_eq(vs_scan_buffer(f.buf.data, f.buf.len, &s), 0);

        struct vs_buf img = {};
        ck_assert_int_eq(vs_buf_reserve(&img, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(img.data, &(struct vs_file_header) { .version = 1, .generation = 99 });
        img.len = VS_FORMAT_FILE_HEADER_SIZE;
        ck_assert_int_eq(vs_format_image_encode(&img, 99, &s), 0);
        ck_assert_int_eq(vs_scan_buffer(img.data, img.len, &s2), 0);
        ck_assert_uint_eq(s2.n_damage, 0);
        ck_assert_uint_eq(s2.n_tenants, s.n_tenants);
        for (size_t k = 0; k < s.n_tenants; k++) {
                const struct vs_scan_tenant *a = &s.tenants[k], *b = &s2.tenants[k];
                ck_assert_uint_eq(a->tenant, b->tenant);
                ck_assert_uint_eq(a->max_seq, b->max_seq);
                ck_assert_int_eq(a->has_meta, b->has_meta);
                if (a->has_meta)
                        ck_assert(meta_eq(&a->meta, &b->meta));
                size_t skip = 0;
                while (a->has_meta && skip < a->n_entries && a->entries[skip].op <= a->meta.checkpoint_op)
                        skip++;
                ck_assert_uint_eq(b->n_entries, a->n_entries - skip);
                for (size_t e = 0; e < b->n_entries; e++) {
                        ck_assert_uint_eq(b->entries[e].op, a->entries[skip + e].op);
                        ck_assert_uint_eq(b->entries[e].len, a->entries[skip + e].len);
                        ck_assert(memcmp(b->entries[e].data, a->entries[skip + e].data, b->entries[e].len) == 0);
                }
        }
        ck_assert(vs_scan_find(&s2, 100)->n_entries == 0 || vs_scan_find(&s2, 100)->entries[0].op > 5);
        vs_scan_done(&s);
        vs_scan_done(&s2);
        vs_buf_free(&img);
        vs_buf_free(&f.buf);
}
END_TEST

/* Damage followed only by records of its own batch is a torn write (the device may persist an
 * unsynced batch's sectors in any order): cut with the rest of the batch. Followed by a later
 * batch, it is a hole. */
START_TEST(test_torn_within_last_batch) {
        struct vs_buf b = {};
        uint8_t d[16] = { 3 };
        size_t at[8];

        ck_assert_int_eq(vs_buf_reserve(&b, VS_FORMAT_FILE_HEADER_SIZE), 0);
        vs_format_file_header_encode(b.data, &(struct vs_file_header) { .version = 1, .generation = 2 });
        b.len = VS_FORMAT_FILE_HEADER_SIZE;
        for (uint64_t seq = 1; seq <= 8; seq++) {
                at[seq - 1] = b.len;
                struct vr_record e = { .kind = VR_RECORD_ENTRY, .seq = seq,
                                       .entry = { .op = seq, .len = sizeof(d), .data = d } };
                /* batch 1: ops 1-4, batch 2: ops 5-8 */
                ck_assert_int_eq(vs_format_record_encode(&b, &(struct vs_record_place) {
                        .generation = 2, .batch = 1 + (seq > 4), .tenant = 1, .prev_seq = seq - 1 }, &e), 0);
        }
        for (int header = 0; header <= 1; header++) {
                size_t in = header ? 5 : VS_FORMAT_RECORD_HEADER_SIZE + 5;
                struct vs_scan s;

                /* op 6 damaged: only batch 2 follows, so a torn write: ops 6-8 cut */
                b.data[at[5] + in] ^= 1;
                ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
                ck_assert_uint_eq(s.n_damage, 1);
                ck_assert(s.damage[0].tail);
                ck_assert_uint_eq(s.valid_end, at[5]);
                ck_assert_uint_eq(s.n_cut_records, 2);
                ck_assert_uint_eq(vs_scan_find(&s, 1)->missing_from, 0);
                ck_assert_uint_eq(vs_scan_find(&s, 1)->n_entries, 5);
                vs_scan_done(&s);
                b.data[at[5] + in] ^= 1;

                /* op 3 damaged: batch 2 follows, so batch 1 was durable: a hole */
                b.data[at[2] + in] ^= 1;
                ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
                ck_assert_uint_eq(s.n_damage, 1);
                ck_assert(!s.damage[0].tail);
                ck_assert_uint_eq(s.valid_end, b.len);
                /* exact when the header says which op; without metadata to bound the commit
                 * number, everything otherwise */
                ck_assert_uint_eq(vs_scan_find(&s, 1)->missing_from, header ? 1 : 3);
                ck_assert_uint_eq(vs_scan_find(&s, 1)->n_entries, header ? 0 : 2);
                vs_scan_done(&s);
                b.data[at[2] + in] ^= 1;
        }
        vs_buf_free(&b);
}
END_TEST

/* Zeros after the last record are preallocated space; anything else there is a torn write. */
START_TEST(test_zero_tail) {
        struct journal_fixture f;
        struct model_tenant m[N_TENANTS];
        struct vs_scan s;

        build(&f, 4242);
        model_after(&f, N_RECORDS, m);
        size_t end = f.buf.len;
        ck_assert_int_eq(vs_buf_reserve(&f.buf, 4096), 0);
        memset(f.buf.data + end, 0, 4096);
        f.buf.len += 4096;
        ck_assert_int_eq(vs_scan_buffer(f.buf.data, f.buf.len, &s), 0);
        ck_assert_uint_eq(s.n_damage, 0);
        ck_assert_uint_eq(s.valid_end, end);
        check_exact(&s, m);
        vs_scan_done(&s);

        f.buf.data[f.buf.len - 1] = 1;
        ck_assert_int_eq(vs_scan_buffer(f.buf.data, f.buf.len, &s), 0);
        ck_assert_uint_eq(s.n_damage, 1);
        ck_assert(s.damage[0].tail);
        ck_assert_uint_eq(s.damage[0].offset, end);
        check_exact(&s, m);
        vs_scan_done(&s);
        vs_buf_free(&f.buf);
}
END_TEST

static Suite *format_suite(void) {
        Suite *s = suite_create("journal-format");
        TCase *tc = tcase_create("format");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_clean_roundtrip);
        tcase_add_test(tc, test_cut_every_offset);
        tcase_add_loop_test(tc, test_flip_bits_every_record, 0, 3);
        tcase_add_test(tc, test_zero_tail);
        tcase_add_test(tc, test_torn_within_last_batch);
        tcase_add_test(tc, test_file_header_refusals);
        tcase_add_test(tc, test_encode_refuses_bad_records);
        tcase_add_test(tc, test_impossible_record_is_damage);
        tcase_add_test(tc, test_meta_epoch_encoding);
        tcase_add_test(tc, test_hole_heal_and_image);
        tcase_add_test(tc, test_restart_and_entry_heal);
        tcase_add_test(tc, test_image_reclaims_below_checkpoint);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(format_suite());
}
