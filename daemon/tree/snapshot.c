/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "tree/children.h"
#include "tree/path.h"
#include "tree/state.h"
#include "util/checksum.h"
#include "util/cleanup.h"

#define SNAPSHOT_MAGIC "VSTREE\r\n"
#define SNAPSHOT_VERSION 1u
#define TAG_NODE 'N'
#define TAG_END 'E'
#define WRITE_BUFFER (64u * 1024u)

/* Fixed-size part of a node record after the tag. */
struct record {
        uint32_t depth;
        uint16_t name_len;
        uint64_t version, cversion, created_op, modified_op;
        uint32_t value_len;
};

struct writer {
        vr_sm_write_fn write;
        void *ctx;
        struct vs_checksum_state checksum;
        size_t used;
        int error;
        uint8_t buf[WRITE_BUFFER];
};

static void flush(struct writer *w) {
        if (w->used > 0 && w->error == 0)
                w->error = w->write(w->ctx, w->buf, w->used);
        w->used = 0;
}

static void put(struct writer *w, const void *data, size_t len) {
        if (w->error != 0 || len == 0)
                return;
        vs_checksum_update(&w->checksum, data, len);
        if (len > WRITE_BUFFER - w->used)
                flush(w);
        if (len >= WRITE_BUFFER) {
                /* A large value goes straight through instead of being copied in pieces. */
                if (w->error == 0)
                        w->error = w->write(w->ctx, data, len);
                return;
        }
        memcpy(w->buf + w->used, data, len);
        w->used += len;
}

static void put_u8(struct writer *w, uint8_t v) {
        put(w, &v, 1);
}

static void put_u16(struct writer *w, uint16_t v) {
        v = htole16(v);
        put(w, &v, sizeof(v));
}

static void put_u32(struct writer *w, uint32_t v) {
        v = htole32(v);
        put(w, &v, sizeof(v));
}

static void put_u64(struct writer *w, uint64_t v) {
        v = htole64(v);
        put(w, &v, sizeof(v));
}

static void header_bytes(uint8_t out[16], uint32_t version, uint32_t flags) {
        uint32_t v = htole32(version), f = htole32(flags);
        memcpy(out, SNAPSHOT_MAGIC, 8);
        memcpy(out + 8, &v, 4);
        memcpy(out + 12, &f, 4);
}

static void put_node(struct writer *w, const struct tree_node *n, uint32_t depth) {
        put_u8(w, TAG_NODE);
        put_u32(w, depth);
        put_u16(w, n->name_len);
        put(w, n->name, n->name_len);
        put_u64(w, n->version);
        put_u64(w, n->cversion);
        put_u64(w, n->created_op);
        put_u64(w, n->modified_op);
        put_u32(w, n->value_len);
        put(w, n->value, n->value_len);
}

int tree_snapshot(const struct tree *t, vr_sm_write_fn write, void *ctx) {
        _cleanup_free_ struct writer *w = malloc(sizeof(*w));
        uint8_t header[16];
        uint32_t depth = 0;

        if (!w)
                return -ENOMEM;
        w->write = write;
        w->ctx = ctx;
        w->used = 0;
        w->error = 0;
        vs_checksum_init(&w->checksum);

        header_bytes(header, SNAPSHOT_VERSION, 0);
        put(w, header, sizeof(header));
        put_u64(w, vs_checksum(header, sizeof(header)));

        for (const struct tree_node *n = t->root; n && w->error == 0;) {
                put_node(w, n, depth);
                const struct tree_node *next = children_next_preorder(n, t->root);
                if (!next)
                        break;
                /* next is a child of n or of one of n's ancestors. */
                if (next->parent == n)
                        depth++;
                else
                        for (const struct tree_node *p = n->parent; p != next->parent; p = p->parent)
                                depth--;
                n = next;
        }

        put_u8(w, TAG_END);
        put_u64(w, tree_count(t));
        put_u64(w, vs_checksum_final(&w->checksum));
        flush(w);
        return w->error;
}

struct reader {
        vr_sm_read_fn read;
        void *ctx;
        struct vs_checksum_state checksum;
};

static int get(struct reader *r, void *buf, size_t len) {
        if (len == 0)
                return 0;
        int e = r->read(r->ctx, buf, len);
        if (e < 0)
                return e;
        vs_checksum_update(&r->checksum, buf, len);
        return 0;
}

#define DEFINE_GET_LE(bits)                                                  \
        static int get_u##bits(struct reader *r, uint##bits##_t *v) {       \
                int e = get(r, v, sizeof(*v));                               \
                *v = le##bits##toh(*v);                                      \
                return e;                                                    \
        }
DEFINE_GET_LE(16)
DEFINE_GET_LE(32)
DEFINE_GET_LE(64)

static int get_header(struct reader *r) {
        uint8_t header[16], expect[16];
        uint64_t checksum;
        uint32_t version, flags;
        int e;

        if ((e = get(r, header, sizeof(header))) < 0 || (e = get_u64(r, &checksum)) < 0)
                return e;
        if (memcmp(header, SNAPSHOT_MAGIC, 8) != 0 || checksum != vs_checksum(header, sizeof(header)))
                return -EBADMSG;
        memcpy(&version, header + 8, 4);
        memcpy(&flags, header + 12, 4);
        version = le32toh(version);
        flags = le32toh(flags);
        if (version > SNAPSHOT_VERSION)
                return -EPROTONOSUPPORT;
        header_bytes(expect, SNAPSHOT_VERSION, 0);
        return memcmp(header, expect, sizeof(header)) == 0 ? 0 : -EBADMSG;
}

static int get_record(struct reader *r, struct record *rec, char name[static TREE_MAX_PATH_CEILING + 1]) {
        int e;

        if ((e = get_u32(r, &rec->depth)) < 0 || (e = get_u16(r, &rec->name_len)) < 0 ||
            (e = get(r, name, rec->name_len)) < 0 ||
            (e = get_u64(r, &rec->version)) < 0 || (e = get_u64(r, &rec->cversion)) < 0 ||
            (e = get_u64(r, &rec->created_op)) < 0 || (e = get_u64(r, &rec->modified_op)) < 0 ||
            (e = get_u32(r, &rec->value_len)) < 0)
                return e;
        name[rec->name_len] = 0;
        return rec->value_len <= TREE_MAX_VALUE_CEILING ? 0 : -EBADMSG;
}

static void set_stats(struct tree_node *n, const struct record *rec) {
        n->version = rec->version;
        n->cversion = rec->cversion;
        n->created_op = rec->created_op;
        n->modified_op = rec->modified_op;
}

static int get_value(struct reader *r, struct tree_node *n, uint32_t len) {
        if (len == 0)
                return 0;
        n->value = malloc(len);
        if (!n->value)
                return -ENOMEM;
        n->value_len = len;
        return get(r, n->value, len);
}

/* Places a node record read after prev (at prev_depth) into nt: it must be the next node of a
 * pre-order walk in name order, which makes the encoding of a tree unique. */
static int place_node(struct tree *nt, struct reader *r, const struct record *rec, const char *name,
                      struct tree_node **prev, uint32_t *prev_depth) {
        struct tree_node *parent = *prev, *sibling = NULL;

        if (rec->depth == 0 || rec->depth > *prev_depth + 1 || !path_name_valid(name, rec->name_len))
                return -EBADMSG;
        for (uint32_t d = *prev_depth + 1; d > rec->depth; d--) {
                sibling = parent;
                parent = parent->parent;
        }
        if (sibling && strcmp(sibling->name, name) >= 0)
                return -EBADMSG;

        int e = index_reserve(&nt->index, 1);
        if (e < 0)
                return e;
        struct tree_node *n = node_new(name, rec->name_len, NULL, 0);
        if (!n)
                return -ENOMEM;
        n->parent = parent;
        n->hash = path_child_hash(parent->hash, name, rec->name_len);
        set_stats(n, rec);
        parent->children = children_insert(parent->children, n);
        parent->num_children++;
        index_insert(&nt->index, n);
        *prev = n;
        *prev_depth = rec->depth;
        return get_value(r, n, rec->value_len);
}

static int read_tree(struct tree *nt, struct reader *r) {
        struct tree_node *prev = nt->root;
        uint32_t prev_depth = 0;
        struct record rec;
        uint64_t count, checksum, computed;
        uint8_t tag;
        int e;

        if ((e = get_header(r)) < 0)
                return e;
        _cleanup_free_ char *name = malloc(TREE_MAX_PATH_CEILING + 1);
        if (!name)
                return -ENOMEM;

        /* The root comes first, with depth 0 and no name. */
        if ((e = get(r, &tag, 1)) < 0 || (e = get_record(r, &rec, name)) < 0)
                return e;
        if (tag != TAG_NODE || rec.depth != 0 || rec.name_len != 0)
                return -EBADMSG;
        set_stats(nt->root, &rec);
        if ((e = get_value(r, nt->root, rec.value_len)) < 0)
                return e;

        for (;;) {
                if ((e = get(r, &tag, 1)) < 0)
                        return e;
                if (tag == TAG_END)
                        break;
                if (tag != TAG_NODE)
                        return -EBADMSG;
                if ((e = get_record(r, &rec, name)) < 0 || (e = place_node(nt, r, &rec, name, &prev, &prev_depth)) < 0)
                        return e;
        }

        if ((e = get_u64(r, &count)) < 0)
                return e;
        computed = vs_checksum_final(&r->checksum);
        if ((e = r->read(r->ctx, &checksum, sizeof(checksum))) < 0)
                return e;
        if (le64toh(checksum) != computed || count != tree_count(nt))
                return -EBADMSG;
        return 0;
}

int tree_restore(struct tree *t, vr_sm_read_fn read, void *ctx) {
        _cleanup_(tree_freep) struct tree *nt = NULL;
        struct reader r = { .read = read, .ctx = ctx };
        int e;

        e = tree_new(&t->opts, &nt);
        if (e < 0)
                return e;
        vs_checksum_init(&r.checksum);
        e = read_tree(nt, &r);
        if (e < 0)
                return e;

        /* Swap contents so that the caller's handle now holds the restored tree. */
        struct tree old = *t;
        *t = *nt;
        *nt = old;
        return 0;
}

static int digest_write(void *ctx, const void *buf, size_t len) {
        vs_checksum_update(ctx, buf, len);
        return 0;
}

int tree_digest(const struct tree *t, uint64_t *ret) {
        struct vs_checksum_state s;

        vs_checksum_init(&s);
        int e = tree_snapshot(t, digest_write, &s);
        if (e < 0)
                return e;
        *ret = vs_checksum_final(&s);
        return 0;
}
