/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "journal/format.h"
#include "util/array.h"
#include "util/checksum.h"
#include "util/unaligned.h"

static const uint8_t file_magic[8] = { 'V', 'S', 'J', 'O', 'U', 'R', 'N', 0 };
#define RECORD_MAGIC UINT32_C(0x31525356)

static size_t pad8(size_t n) {
        return (n + 7) & ~(size_t) 7;
}

void vs_format_file_header_encode(uint8_t out[VS_FORMAT_FILE_HEADER_SIZE], const struct vs_file_header *h) {
        memset(out, 0, VS_FORMAT_FILE_HEADER_SIZE);
        memcpy(out, file_magic, sizeof(file_magic));
        vs_put_le32(out + 8, h->version);
        vs_put_le64(out + 16, h->cluster_id);
        vs_put_le64(out + 24, h->node_id);
        vs_put_le64(out + 32, h->generation);
        vs_put_le64(out + 56, vs_checksum(out, 56));
}

int vs_format_file_header_decode(const uint8_t *buf, size_t len, struct vs_file_header *ret) {
        if (len < VS_FORMAT_FILE_HEADER_SIZE)
                return -EBADMSG;
        if (memcmp(buf, file_magic, sizeof(file_magic)) != 0)
                return -EMEDIUMTYPE;
        if (vs_get_le64(buf + 56) != vs_checksum(buf, 56))
                return -EBADMSG;
        uint32_t version = vs_get_le32(buf + 8);
        if (version > VS_FORMAT_VERSION)
                return -EPROTONOSUPPORT;
        if (version == 0)
                return -EBADMSG;
        *ret = (struct vs_file_header) {
                .version = version,
                .cluster_id = vs_get_le64(buf + 16),
                .node_id = vs_get_le64(buf + 24),
                .generation = vs_get_le64(buf + 32),
        };
        return 0;
}

static size_t body_size(const struct vr_record *r) {
        switch (r->kind) {
        case VR_RECORD_ENTRY:
                return VS_FORMAT_ENTRY_FIXED + r->entry.len;
        case VR_RECORD_META:
                if (r->meta.n_members == 0)
                        return VS_FORMAT_META_SIZE;
                return VS_FORMAT_META_SIZE + VS_FORMAT_META_EPOCH_FIXED +
                        8 * ((size_t) r->meta.n_members + r->meta.n_old_members);
        default:
                return 0;
        }
}

static bool seq_ok(uint64_t seq) {
        return seq > 0 && seq <= VS_FORMAT_MAX_SEQ;
}

static int record_check(const struct vr_record *r) {
        if (!seq_ok(r->seq))
                return -EINVAL;
        switch (r->kind) {
        case VR_RECORD_ENTRY:
                if (r->entry.op == 0) /* ops are numbered from 1 */
                        return -EINVAL;
                if (r->entry.len > VS_FORMAT_MAX_COMMAND)
                        return -EMSGSIZE;
                if (r->entry.len > 0 && !r->entry.data)
                        return -EINVAL;
                return 0;
        case VR_RECORD_META:
                return r->meta.status <= VR_STATUS_TRANSITIONING && r->meta.n_members <= VR_MAX_REPLICAS &&
                        r->meta.n_old_members <= VR_MAX_REPLICAS ? 0 : -EINVAL;
        case VR_RECORD_TRUNCATE:
                return 0;
        default:
                return -EINVAL;
        }
}

size_t vs_format_record_size(const struct vr_record *r) {
        if (record_check(r) < 0)
                return 0;
        return VS_FORMAT_RECORD_HEADER_SIZE + pad8(body_size(r));
}

/* Reserves and zeroes a record of body length `body` at the end of b; returns its start. */
static uint8_t *record_begin(struct vs_buf *b, size_t body) {
        size_t total = VS_FORMAT_RECORD_HEADER_SIZE + pad8(body);
        if (vs_buf_reserve(b, total) < 0)
                return NULL;
        uint8_t *p = b->data + b->len;
        memset(p, 0, total);
        return p;
}

static void record_reseal(uint8_t *p) {
        vs_put_le64(p + 72, vs_checksum(p, 72));
}

static void record_seal(struct vs_buf *b, uint8_t *p, unsigned kind, const struct vs_record_place *at,
                        uint64_t seq, uint64_t arg, size_t body) {
        vs_put_le32(p, RECORD_MAGIC);
        p[4] = (uint8_t) kind;
        vs_put_le64(p + 8, at->generation);
        vs_put_le64(p + 16, at->tenant);
        vs_put_le64(p + 24, seq);
        vs_put_le64(p + 32, at->prev_seq);
        vs_put_le64(p + 40, arg);
        vs_put_le32(p + 48, (uint32_t) body);
        vs_put_le64(p + 56, at->batch);
        vs_put_le64(p + 64, vs_checksum(p + VS_FORMAT_RECORD_HEADER_SIZE, body));
        record_reseal(p);
        b->len += VS_FORMAT_RECORD_HEADER_SIZE + pad8(body);
}

int vs_format_record_encode(struct vs_buf *b, const struct vs_record_place *at, const struct vr_record *r) {
        int k = record_check(r);
        if (k < 0)
                return k;
        size_t body = body_size(r);
        uint8_t *p = record_begin(b, body);
        if (!p)
                return -ENOMEM;
        uint8_t *q = p + VS_FORMAT_RECORD_HEADER_SIZE;
        uint64_t arg = 0;
        switch (r->kind) {
        case VR_RECORD_ENTRY:
                arg = r->entry.op;
                vs_put_le64(q, r->entry.view);
                vs_put_le64(q + 8, r->entry.client_id);
                vs_put_le64(q + 16, r->entry.request);
                if (r->entry.len > 0)
                        memcpy(q + VS_FORMAT_ENTRY_FIXED, r->entry.data, r->entry.len);
                break;
        case VR_RECORD_META:
                vs_put_le64(q, r->meta.epoch);
                vs_put_le64(q + 8, r->meta.view);
                vs_put_le64(q + 16, r->meta.last_normal_view);
                vs_put_le32(q + 24, r->meta.status);
                vs_put_le64(q + 32, r->meta.commit);
                vs_put_le64(q + 40, r->meta.checkpoint_op);
                if (r->meta.n_members > 0) {
                        q += VS_FORMAT_META_SIZE;
                        vs_put_le64(q, r->meta.epoch_op);
                        vs_put_le32(q + 8, r->meta.n_members);
                        vs_put_le32(q + 12, r->meta.n_old_members);
                        q += VS_FORMAT_META_EPOCH_FIXED;
                        for (uint32_t i = 0; i < r->meta.n_members; i++, q += 8)
                                vs_put_le64(q, r->meta.members[i]);
                        for (uint32_t i = 0; i < r->meta.n_old_members; i++, q += 8)
                                vs_put_le64(q, r->meta.old_members[i]);
                }
                break;
        case VR_RECORD_TRUNCATE:
                arg = r->after;
                break;
        }
        record_seal(b, p, r->kind, at, r->seq, arg, body);
        return 0;
}

int vs_format_seal_encode(struct vs_buf *b, uint64_t generation, uint64_t batch) {
        uint8_t *p = record_begin(b, 0);
        if (!p)
                return -ENOMEM;
        record_seal(b, p, VS_RECORD_SEAL, &(struct vs_record_place) { .generation = generation, .batch = batch }, 0, 0, 0);
        return 0;
}

int vs_format_forget_encode(struct vs_buf *b, const struct vs_record_place *at, uint64_t seq) {
        uint8_t *p = record_begin(b, 0);
        if (!p)
                return -ENOMEM;
        record_seal(b, p, VS_RECORD_FORGET, at, seq, 0, 0);
        return 0;
}

int vs_format_missing_encode(struct vs_buf *b, const struct vs_record_place *at, uint64_t seq, uint64_t from) {
        uint8_t *p = record_begin(b, 0);
        if (!p)
                return -ENOMEM;
        record_seal(b, p, VS_RECORD_MISSING, at, seq, from, 0);
        return 0;
}

/* The epoch part of a META body: u64 epoch op, u32 members, u32 old members, then their ids. */
static bool meta_epoch_decode(const uint8_t *q, size_t len, struct vr_meta *m) {
        m->epoch_op = vs_get_le64(q);
        m->n_members = vs_get_le32(q + 8);
        m->n_old_members = vs_get_le32(q + 12);
        if (m->n_members == 0 || m->n_members > VR_MAX_REPLICAS || m->n_old_members > VR_MAX_REPLICAS ||
            len != VS_FORMAT_META_EPOCH_FIXED + 8 * ((size_t) m->n_members + m->n_old_members))
                return false;
        q += VS_FORMAT_META_EPOCH_FIXED;
        for (uint32_t i = 0; i < m->n_members; i++, q += 8)
                m->members[i] = vs_get_le64(q);
        for (uint32_t i = 0; i < m->n_old_members; i++, q += 8)
                m->old_members[i] = vs_get_le64(q);
        return true;
}

enum parse_result {
        PARSE_INVALID,   /* not a record header of this file */
        PARSE_BODY_BAD,  /* header verifies, body does not */
        PARSE_VALID,
};

static bool body_len_ok(unsigned kind, uint32_t len) {
        switch (kind) {
        case VR_RECORD_ENTRY:
                return len >= VS_FORMAT_ENTRY_FIXED && len - VS_FORMAT_ENTRY_FIXED <= VS_FORMAT_MAX_COMMAND;
        case VR_RECORD_META:
                /* Checked in full (counts against length) when the body is read. */
                return len == VS_FORMAT_META_SIZE ||
                        (len >= VS_FORMAT_META_SIZE + VS_FORMAT_META_EPOCH_FIXED + 8 &&
                         len <= VS_FORMAT_META_SIZE + VS_FORMAT_META_EPOCH_FIXED + 16 * VR_MAX_REPLICAS);
        case VR_RECORD_TRUNCATE:
        case VS_RECORD_MISSING:
        case VS_RECORD_SEAL:
        case VS_RECORD_FORGET:
                return len == 0;
        default:
                return false;
        }
}

static enum parse_result parse_record(const uint8_t *buf, size_t len, size_t pos, uint64_t generation,
                                      struct vs_walk_item *it) {
        if (len - pos < VS_FORMAT_RECORD_HEADER_SIZE)
                return PARSE_INVALID;
        const uint8_t *p = buf + pos;
        if (vs_get_le32(p) != RECORD_MAGIC || vs_get_le64(p + 8) != generation)
                return PARSE_INVALID;
        if (vs_get_le64(p + 72) != vs_checksum(p, 72))
                return PARSE_INVALID;
        unsigned kind = p[4];
        uint32_t blen = vs_get_le32(p + 48);
        if (!body_len_ok(kind, blen) || pad8(blen) > len - pos - VS_FORMAT_RECORD_HEADER_SIZE)
                return PARSE_INVALID;

        *it = (struct vs_walk_item) {
                .offset = pos,
                .length = VS_FORMAT_RECORD_HEADER_SIZE + pad8(blen),
                .kind = kind,
                .tenant = vs_get_le64(p + 16),
                .prev_seq = vs_get_le64(p + 32),
                .arg = vs_get_le64(p + 40),
                .batch = vs_get_le64(p + 56),
        };
        it->rec.seq = vs_get_le64(p + 24);
        /* A seq no writer reaches says nothing trustworthy about whose record this is. */
        if (kind != VS_RECORD_SEAL && !seq_ok(it->rec.seq))
                return PARSE_INVALID;
        const uint8_t *q = p + VS_FORMAT_RECORD_HEADER_SIZE;
        if (vs_get_le64(p + 64) != vs_checksum(q, blen)) {
                it->damaged = true;
                it->reason = VS_DAMAGE_BODY;
                return PARSE_BODY_BAD;
        }

        switch (kind) {
        case VR_RECORD_ENTRY:
                it->rec.kind = VR_RECORD_ENTRY;
                it->rec.entry = (struct vr_entry) {
                        .op = it->arg,
                        .view = vs_get_le64(q),
                        .client_id = vs_get_le64(q + 8),
                        .request = vs_get_le64(q + 16),
                        .len = blen - VS_FORMAT_ENTRY_FIXED,
                        .data = (uint8_t *) q + VS_FORMAT_ENTRY_FIXED,
                };
                break;
        case VR_RECORD_META:
                it->rec.kind = VR_RECORD_META;
                it->rec.meta = (struct vr_meta) {
                        .epoch = vs_get_le64(q),
                        .view = vs_get_le64(q + 8),
                        .last_normal_view = vs_get_le64(q + 16),
                        .status = vs_get_le32(q + 24),
                        .commit = vs_get_le64(q + 32),
                        .checkpoint_op = vs_get_le64(q + 40),
                };
                if (blen > VS_FORMAT_META_SIZE && !meta_epoch_decode(q + VS_FORMAT_META_SIZE,
                                                                     blen - VS_FORMAT_META_SIZE, &it->rec.meta)) {
                        it->damaged = true;
                        it->reason = VS_DAMAGE_BODY;
                        return PARSE_BODY_BAD;
                }
                break;
        case VR_RECORD_TRUNCATE:
                it->rec.kind = VR_RECORD_TRUNCATE;
                it->rec.after = it->arg;
                break;
        default:
                /* MISSING: described by kind and arg alone. */
                break;
        }
        /* Checksums that verify over content no writer produces (an ENTRY at op 0, a META with an
         * unknown status): not a record to replay, so damage whose owner is known. */
        if ((kind == VR_RECORD_ENTRY || kind == VR_RECORD_META) && record_check(&it->rec) < 0) {
                it->damaged = true;
                it->reason = VS_DAMAGE_BODY;
                return PARSE_BODY_BAD;
        }
        return PARSE_VALID;
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int vs_format_walk(const uint8_t *buf, size_t len, vs_walk_fn fn, void *ctx) {
        struct vs_file_header h;
        int r = vs_format_file_header_decode(buf, len, &h);
        if (r < 0)
                return r;

        size_t pos = VS_FORMAT_FILE_HEADER_SIZE;
        while (pos < len) {
                struct vs_walk_item it;
                enum parse_result pr = parse_record(buf, len, pos, h.generation, &it);
                if (pr == PARSE_INVALID && all_zero(buf + pos, len - pos))
                        break; /* preallocated space */
                if (pr == PARSE_INVALID) {
                        /* Resynchronise on the next header that verifies: a 64-bit checksum
                         * matching by chance is not a risk worth weighing. */
                        size_t next = pos + 8;
                        struct vs_walk_item skip;
                        while (next < len && parse_record(buf, len, next, h.generation, &skip) == PARSE_INVALID)
                                next += 8;
                        if (next > len)
                                next = len;
                        it = (struct vs_walk_item) {
                                .offset = pos,
                                .length = next - pos,
                                .damaged = true,
                                .reason = VS_DAMAGE_HEADER,
                        };
                }
                r = fn(ctx, &it);
                if (r < 0)
                        return r;
                pos += it.length;
        }
        return 0;
}

/* Index of the first tenant with id >= `tenant`. */
static size_t tenant_lower_bound(const struct vs_scan *s, uint64_t tenant) {
        return VS_LOWER_BOUND(s->tenants, s->n_tenants, tenant, tenant);
}

static struct vs_scan_tenant *tenant_get(struct vs_scan *s, uint64_t tenant, size_t *cap) {
        size_t i = tenant_lower_bound(s, tenant);
        if (i < s->n_tenants && s->tenants[i].tenant == tenant)
                return &s->tenants[i];
        if (vs_array_insert_at((void **) &s->tenants, &s->n_tenants, cap, i, sizeof(*s->tenants)) < 0)
                return NULL;
        s->tenants[i] = (struct vs_scan_tenant) { .tenant = tenant };
        return &s->tenants[i];
}

const struct vs_scan_tenant *vs_scan_find(const struct vs_scan *s, uint64_t tenant) {
        size_t i = tenant_lower_bound(s, tenant);
        return i < s->n_tenants && s->tenants[i].tenant == tenant && !s->tenants[i].forgotten ? &s->tenants[i] : NULL;
}

bool vs_scan_forgotten(const struct vs_scan *s, uint64_t tenant) {
        size_t i = tenant_lower_bound(s, tenant);
        return i < s->n_tenants && s->tenants[i].tenant == tenant && s->tenants[i].forgotten;
}

/* Index of the first entry with op >= `op`. */
static size_t entry_lower_bound(const struct vs_scan_tenant *t, uint64_t op) {
        return VS_LOWER_BOUND(t->entries, t->n_entries, op, op);
}

static void entries_drop_from(struct vs_scan_tenant *t, uint64_t op) {
        t->n_entries = entry_lower_bound(t, op);
}

/* The op the log ends at: its last entry, or the op it (re)started after. */
static uint64_t log_end(const struct vs_scan_tenant *t) {
        return t->n_entries > 0 ? t->entries[t->n_entries - 1].op : t->log_base;
}

/* ENTRY: the log continues at op, dropping whatever it held from op on (vr/vr.h). */
static int entry_put(struct vs_scan_tenant *t, const struct vr_entry *e) {
        entries_drop_from(t, e->op);
        if (vs_array_grow((void **) &t->entries, &t->cap_entries, t->n_entries + 1, sizeof(*t->entries)) < 0)
                return -ENOMEM;
        t->entries[t->n_entries++] = *e;
        return 0;
}

/* TRUNCATE: drops the entries above after; beyond the log's end the log restarts after it (an
 * installed checkpoint at after replaced it). */
static void truncate_log(struct vs_scan_tenant *t, uint64_t after) {
        if (after > log_end(t)) {
                t->n_entries = 0;
                t->log_base = after;
        } else
                entries_drop_from(t, after + 1);
}

static void poison(struct vs_scan_tenant *t, uint64_t from) {
        if (from == 0)
                from = 1;
        if (t->missing_from == 0 || from < t->missing_from)
                t->missing_from = from;
        entries_drop_from(t, t->missing_from);
}

/* The first op a lost record of unknown content may have changed: ops at or below the commit
 * number are never rewritten by the core, and ops above what the tenant holds may have been added. */
static void poison_unknown(struct vs_scan_tenant *t) {
        uint64_t held = t->has_meta ? t->meta.checkpoint_op : 0;
        if (log_end(t) > held)
                held = log_end(t);
        uint64_t committed = 0;
        if (t->has_meta)
                committed = t->meta.commit > t->meta.checkpoint_op ? t->meta.commit : t->meta.checkpoint_op;
        poison(t, (held < committed ? held : committed) + 1);
}

struct scan_state {
        struct vs_scan *s;
        size_t cap_tenants;
        size_t cap_damage;
        /* From the first pass: where the last valid record ends, and its batch. */
        uint64_t last_end;
        uint64_t last_batch;
        uint64_t batch;         /* batch of the last valid record so far */
        bool cut;               /* a torn write was found: nothing from there on is used */
        /* Offsets of holes whose owner is unknown. */
        uint64_t *unknown;
        size_t n_unknown;
        size_t cap_unknown;
};

/* Chains a record (valid, or damaged with a verified header) into its tenant's history; a broken
 * chain means records of the tenant were lost in a hole before it. */
static struct vs_scan_tenant *chain(struct scan_state *st, const struct vs_walk_item *it) {
        struct vs_scan_tenant *t = tenant_get(st->s, it->tenant, &st->cap_tenants);
        if (!t)
                return NULL;
        if (it->prev_seq != t->chain_seq)
                poison_unknown(t);
        t->chain_seq = it->rec.seq;
        if (it->rec.seq > t->max_seq)
                t->max_seq = it->rec.seq;
        t->last_offset = it->offset;
        return t;
}

static int apply(struct vs_scan_tenant *t, const struct vs_walk_item *it) {
        t->forgotten = it->kind == VS_RECORD_FORGET;
        switch (it->kind) {
        case VS_RECORD_FORGET:
                t->n_entries = 0;
                t->has_meta = false;
                t->missing_from = 0;
                t->log_base = 0;
                return 0;
        case VR_RECORD_ENTRY:
                /* The lost records changed nothing below the hole; an entry at or below it drops
                 * everything from there on, their effect included, and so heals the hole. Above
                 * it nothing is known. */
                if (t->missing_from != 0) {
                        if (it->rec.entry.op > t->missing_from)
                                return 0;
                        t->missing_from = 0;
                }
                return entry_put(t, &it->rec.entry);
        case VR_RECORD_TRUNCATE:
                if (t->missing_from != 0) {
                        if (it->rec.after >= t->missing_from)
                                return 0;
                        t->missing_from = 0;
                }
                truncate_log(t, it->rec.after);
                return 0;
        case VR_RECORD_META:
                t->meta = it->rec.meta;
                t->has_meta = true;
                return 0;
        default:
                poison(t, it->arg);
                return 0;
        }
}

/* Damage is a torn write, never reported durable, when nothing valid follows it or when everything
 * valid after it belongs to its own batch: batch N+1 is written only once batch N is durable, so a
 * later batch proves it durable, and then it is a hole. Batch 0 (a rewritten image) is durable. */
static bool torn(const struct scan_state *st, const struct vs_walk_item *it) {
        if (it->offset >= st->last_end)
                return true;
        uint64_t batch = it->reason == VS_DAMAGE_BODY ? it->batch : st->batch;
        return batch > 0 && batch >= st->last_batch;
}

/* A hole: account for what it lost. */
static int hole(struct scan_state *st, const struct vs_walk_item *it) {
        if (it->reason == VS_DAMAGE_HEADER) {
                if (vs_array_grow((void **) &st->unknown, &st->cap_unknown, st->n_unknown + 1,
                                  sizeof(*st->unknown)) < 0)
                        return -ENOMEM;
                st->unknown[st->n_unknown++] = it->offset;
                return 0;
        }
        struct vs_scan_tenant *t = chain(st, it);
        if (!t)
                return -ENOMEM;
        if (it->kind == VR_RECORD_ENTRY)
                poison(t, it->arg);
        return 0;
}

static int damage_add(struct scan_state *st, const struct vs_walk_item *it) {
        struct vs_scan *s = st->s;
        if (!st->cut && torn(st, it))
                st->cut = true;
        if (vs_array_grow((void **) &s->damage, &st->cap_damage, s->n_damage + 1, sizeof(*s->damage)) < 0)
                return -ENOMEM;
        s->damage[s->n_damage++] = (struct vs_damage) {
                .offset = it->offset,
                .length = it->length,
                .reason = it->reason,
                .tail = st->cut,
                .attributed = it->reason == VS_DAMAGE_BODY,
                .tenant = it->tenant,
                .seq = it->rec.seq,
        };
        return st->cut ? 0 : hole(st, it);
}

static int scan_cb(void *ctx, const struct vs_walk_item *it) {
        struct scan_state *st = ctx;
        struct vs_scan *s = st->s;

        if (it->damaged)
                return damage_add(st, it);
        if (st->cut) {
                s->n_cut_records++;
                return 0;
        }
        if (it->kind == VS_RECORD_SEAL) {
                st->batch = s->last_batch = it->batch;
                s->valid_end = it->offset + it->length;
                return 0;
        }
        struct vs_scan_tenant *t = chain(st, it);
        if (!t)
                return -ENOMEM;
        int r = apply(t, it);
        if (r < 0)
                return r;
        st->batch = s->last_batch = it->batch;
        s->n_records++;
        s->valid_end = it->offset + it->length;
        return 0;
}

static int find_last(void *ctx, const struct vs_walk_item *it) {
        struct scan_state *st = ctx;
        if (!it->damaged) {
                st->last_end = it->offset + it->length;
                st->last_batch = it->batch;
        }
        return 0;
}

int vs_scan_buffer(const uint8_t *buf, size_t len, struct vs_scan *ret) {
        *ret = (struct vs_scan) { .valid_end = VS_FORMAT_FILE_HEADER_SIZE };
        int r = vs_format_file_header_decode(buf, len, &ret->header);
        if (r < 0)
                return r;

        /* Two passes: whether damage is a torn write depends on what follows it. */
        struct scan_state st = { .s = ret };
        r = vs_format_walk(buf, len, find_last, &st);
        if (r >= 0)
                r = vs_format_walk(buf, len, scan_cb, &st);
        if (r >= 0)
                /* A tenant whose last record precedes a hole of unknown owner may have lost
                 * its next records in it. */
                for (size_t i = 0; i < st.n_unknown; i++)
                        for (size_t k = 0; k < ret->n_tenants; k++)
                                if (ret->tenants[k].last_offset < st.unknown[i])
                                        poison_unknown(&ret->tenants[k]);
        free(st.unknown);
        if (r < 0) {
                vs_scan_done(ret);
                return r;
        }
        return 0;
}

void vs_scan_done(struct vs_scan *s) {
        for (size_t i = 0; i < s->n_tenants; i++)
                free(s->tenants[i].entries);
        free(s->tenants);
        free(s->damage);
        *s = (struct vs_scan) {};
}

int vs_scan_tenant_replay(const struct vs_scan_tenant *t, struct vr_record **ret, size_t *ret_n) {
        uint64_t floor = t->has_meta ? t->meta.checkpoint_op : 0;
        size_t first = entry_lower_bound(t, floor + 1);
        size_t n = 0;
        struct vr_record *r = calloc(2 + t->n_entries - first, sizeof(*r));
        if (!r)
                return -ENOMEM;
        if (t->has_meta)
                r[n++] = (struct vr_record) { .kind = VR_RECORD_META, .meta = t->meta };
        if (t->log_base > floor)
                r[n++] = (struct vr_record) { .kind = VR_RECORD_TRUNCATE, .after = t->log_base };
        for (size_t k = first; k < t->n_entries; k++)
                r[n++] = (struct vr_record) { .kind = VR_RECORD_ENTRY, .entry = t->entries[k] };
        *ret = r;
        *ret_n = n;
        return 0;
}

int vs_format_image_encode(struct vs_buf *b, uint64_t generation, struct vs_scan *s) {
        for (size_t i = 0; i < s->n_tenants; i++) {
                struct vs_scan_tenant *t = &s->tenants[i];
                if (t->forgotten) {
                        t->chain_seq = 0;
                        continue;
                }
                struct vr_record *recs;
                size_t n;
                int r = vs_scan_tenant_replay(t, &recs, &n);
                if (r < 0)
                        return r;
                uint64_t total = n + (t->missing_from ? 1 : 0);
                uint64_t seq = t->max_seq >= total ? t->max_seq - total + 1 : 1;
                /* Batch 0: the image is durable before the file becomes current. */
                struct vs_record_place at = { .generation = generation, .tenant = t->tenant };
                for (size_t k = 0; k < n && r >= 0; k++) {
                        recs[k].seq = seq;
                        r = vs_format_record_encode(b, &at, &recs[k]);
                        at.prev_seq = seq++;
                }
                free(recs);
                /* Last: an entry replayed after it would heal it. */
                if (r >= 0 && t->missing_from) {
                        r = vs_format_missing_encode(b, &at, seq, t->missing_from);
                        at.prev_seq = seq;
                }
                if (r < 0)
                        return r;
                t->chain_seq = at.prev_seq;
        }
        return 0;
}

void vs_format_record_place(uint8_t *rec, const struct vs_record_place *at) {
        vs_put_le64(rec + 8, at->generation);
        vs_put_le64(rec + 16, at->tenant);
        vs_put_le64(rec + 32, at->prev_seq);
        vs_put_le64(rec + 56, at->batch);
        record_reseal(rec);
}
