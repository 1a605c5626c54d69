/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapbuf.h"
#include "tree/tree.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "../check-run.h"

static struct tree *sample_tree(uint64_t hash_seed) {
        struct tree_options o = { .limits = TREE_LIMITS_DEFAULT, .hash_seed = hash_seed };
        struct tree *t;
        _cleanup_free_ char *big = malloc(200000);

        ck_assert_ptr_nonnull(big);
        for (size_t i = 0; i < 200000; i++)
                big[i] = (char) (i * 13);
        ck_assert_int_eq(tree_new(&o, &t), 0);
        ck_assert_int_eq(tree_set(t, 1, "/", "rootval", 7, TREE_ANY_VERSION, NULL), 0);
        ck_assert_int_eq(tree_create(t, 2, "/b", "B", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 3, "/a", "A", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 4, "/a/z", NULL, 0, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 5, "/a/z/deep", "d", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 6, "/a/m", "big", 0, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_set(t, 7, "/a/m", big, 200000, 0, NULL), 0);
        ck_assert_int_eq(tree_create(t, 8, "/a/q-", NULL, 0, TREE_CREATE_SEQUENTIAL, NULL, NULL), 0);
        ck_assert_int_eq(tree_delete(t, "/b", TREE_ANY_VERSION, 0), 0);
        ck_assert_int_eq(tree_create(t, 9, "/c", "C", 1, 0, NULL, NULL), 0);
        for (unsigned i = 0; i < 3000; i++) {
                char p[32];
                snprintf(p, sizeof(p), "/c/n%u", i * 7919 % 3001);
                ck_assert_int_eq(tree_create(t, 10 + i, p, p, strlen(p), 0, NULL, NULL), 0);
        }
        return t;
}

START_TEST(test_round_trip) {
        _cleanup_(tree_freep) struct tree *t = sample_tree(0), *u = NULL;
        struct snapbuf s;
        struct tree_stat st;
        const void *v;

        ck_assert_int_eq(snapbuf_take(t, &s), 0);
        ck_assert_int_eq(tree_new(NULL, &u), 0);
        ck_assert_int_eq(tree_create(u, 1, "/other", NULL, 0, 0, NULL, NULL), 0);
        ck_assert_int_eq(snapbuf_restore(u, &s), 0);
        ck_assert_uint_eq(s.pos, s.len); /* read exactly what was written */
        ck_assert(snapbuf_same(u, &s));
        ck_assert_uint_eq(tree_count(u), tree_count(t));

        ck_assert_int_eq(tree_exists(u, "/other", NULL), TREE_ERR_NO_NODE);
        ck_assert_int_eq(tree_get(u, "/", &v, &st), 0);
        ck_assert(st.value_len == 7 && memcmp(v, "rootval", 7) == 0);
        ck_assert_uint_eq(st.cversion, 4);
        ck_assert_uint_eq(st.num_children, 2);
        ck_assert_int_eq(tree_get(u, "/a/m", &v, &st), 0);
        ck_assert_uint_eq(st.value_len, 200000);
        ck_assert_uint_eq(st.version, 1);
        ck_assert_uint_eq(st.created_op, 6);
        ck_assert_uint_eq(st.modified_op, 7);
        ck_assert_int_eq(((const char *) v)[199999], (char) (199999 * 13));
        ck_assert_int_eq(tree_exists(u, "/a/q-0000000002", NULL), 0);
        ck_assert_int_eq(tree_exists(u, "/a/z/deep", NULL), 0);
        ck_assert_int_eq(tree_exists(u, "/c/n3000", NULL), 0);

        /* The restored tree keeps working: sequential numbering continues from cversion. */
        char *p;
        ck_assert_int_eq(tree_create(u, 99, "/a/q-", NULL, 0, TREE_CREATE_SEQUENTIAL, &p, NULL), 0);
        ck_assert_str_eq(p, "/a/q-0000000003");
        free(p);
        ck_assert_int_eq(tree_delete(u, "/c", TREE_ANY_VERSION, TREE_DELETE_RECURSIVE), 0);
        ck_assert_uint_eq(tree_count(u), 7);
        snapbuf_done(&s);
}
END_TEST

START_TEST(test_streaming_and_deterministic) {
        _cleanup_(tree_freep) struct tree *t = sample_tree(0), *t2 = sample_tree(0xdeadbeef);
        struct snapbuf a, b;

        ck_assert_int_eq(snapbuf_take(t, &a), 0);
        ck_assert_int_eq(snapbuf_take(t2, &b), 0);
        /* The hash seed does not show in the bytes. */
        ck_assert_uint_eq(a.len, b.len);
        ck_assert(memcmp(a.data, b.data, a.len) == 0);
        /* Written in bounded pieces: nothing above the buffer but the one large value. */
        ck_assert_uint_gt(a.writes, 2);
        ck_assert_uint_eq(a.largest_write, 200000);
        ck_assert_uint_gt(a.len, 200000 + 3000 * 40);

        /* The digest is the checksum of exactly those bytes. */
        uint64_t d1, d2;
        ck_assert_int_eq(tree_digest(t, &d1), 0);
        ck_assert_int_eq(tree_digest(t2, &d2), 0);
        ck_assert_uint_eq(d1, vs_checksum(a.data, a.len));
        ck_assert_uint_eq(d1, d2);
        ck_assert_int_eq(tree_set(t2, 100, "/a", "changed", 7, TREE_ANY_VERSION, NULL), 0);
        ck_assert_int_eq(tree_digest(t2, &d2), 0);
        ck_assert_uint_ne(d1, d2);
        snapbuf_done(&a);
        snapbuf_done(&b);
}
END_TEST

static void assert_refused(struct snapbuf *bad, int error) {
        _cleanup_(tree_freep) struct tree *u = NULL;
        struct snapbuf before;

        ck_assert_int_eq(tree_new(NULL, &u), 0);
        ck_assert_int_eq(tree_create(u, 1, "/keep", "k", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(u, 2, "/keep/me", "m", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(snapbuf_take(u, &before), 0);
        ck_assert_int_eq(snapbuf_restore(u, bad), error);
        if (error == 0)
                ck_assert(snapbuf_same(u, bad));
        else {
                ck_assert(snapbuf_same(u, &before));
                ck_assert_int_eq(tree_exists(u, "/keep/me", NULL), 0);
        }
        snapbuf_done(&before);
}

static struct tree *small_tree(void) {
        struct tree *t;
        ck_assert_int_eq(tree_new(NULL, &t), 0);
        ck_assert_int_eq(tree_create(t, 1, "/a", "xyz", 3, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 2, "/a/b", NULL, 0, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_create(t, 3, "/c", "c", 1, 0, NULL, NULL), 0);
        ck_assert_int_eq(tree_set(t, 4, "/c", "cc", 2, TREE_ANY_VERSION, NULL), 0);
        return t;
}

static void flip_each(struct snapbuf *s, size_t stride) {
        for (size_t i = 0; i < s->len; i += stride) {
                uint8_t saved = s->data[i];
                s->data[i] ^= (uint8_t) (1u << (i % 8));
                assert_refused(s, -EBADMSG);
                s->data[i] = saved;
        }
        assert_refused(s, 0);
}

START_TEST(test_corrupted) {
        _cleanup_(tree_freep) struct tree *t = small_tree(), *big = sample_tree(0);
        struct snapbuf s;

        /* Every byte of a small snapshot, a sample of a large one. */
        ck_assert_int_eq(snapbuf_take(t, &s), 0);
        flip_each(&s, 1);
        snapbuf_done(&s);
        ck_assert_int_eq(snapbuf_take(big, &s), 0);
        flip_each(&s, 3001);
        snapbuf_done(&s);
}
END_TEST

START_TEST(test_truncated) {
        _cleanup_(tree_freep) struct tree *t = NULL;
        struct snapbuf s;
        size_t full;

        t = small_tree();
        ck_assert_int_eq(snapbuf_take(t, &s), 0);
        full = s.len;
        for (size_t len = 0; len < full; len++) {
                s.len = len;
                assert_refused(&s, -EBADMSG);
        }
        s.len = full;
        assert_refused(&s, 0);
        snapbuf_done(&s);
}
END_TEST

/* Hand-built snapshots, to reach checks that a checksum alone would hide. */
struct builder {
        struct snapbuf b;
        struct vs_checksum_state ck;
};

static void b_put(struct builder *w, const void *p, size_t len) {
        ck_assert_int_eq(snapbuf_write(&w->b, p, len), 0);
        vs_checksum_update(&w->ck, p, len);
}

static void b_u32(struct builder *w, uint32_t v) {
        v = htole32(v);
        b_put(w, &v, 4);
}

static void b_u64(struct builder *w, uint64_t v) {
        v = htole64(v);
        b_put(w, &v, 8);
}

static void b_header(struct builder *w, uint32_t version, uint32_t flags) {
        uint8_t h[16];
        uint32_t v = htole32(version), f = htole32(flags);
        memcpy(h, "VSTREE\r\n", 8);
        memcpy(h + 8, &v, 4);
        memcpy(h + 12, &f, 4);
        *w = (struct builder) {};
        vs_checksum_init(&w->ck);
        b_put(w, h, 16);
        b_u64(w, vs_checksum(h, 16));
}

static void b_node(struct builder *w, uint32_t depth, const char *name, const char *value) {
        uint16_t nl = htole16((uint16_t) strlen(name));
        b_put(w, "N", 1);
        b_u32(w, depth);
        b_put(w, &nl, 2);
        b_put(w, name, strlen(name));
        for (int i = 0; i < 4; i++)
                b_u64(w, 0);
        b_u32(w, (uint32_t) strlen(value));
        b_put(w, value, strlen(value));
}

static void b_end(struct builder *w, uint64_t count) {
        b_put(w, "E", 1);
        b_u64(w, count);
        uint64_t c = htole64(vs_checksum_final(&w->ck));
        ck_assert_int_eq(snapbuf_write(&w->b, &c, 8), 0);
}

START_TEST(test_structure_checked) {
        struct builder w;

        /* The builder itself produces acceptable snapshots. */
        b_header(&w, 1, 0);
        b_node(&w, 0, "", "");
        b_node(&w, 1, "a", "1");
        b_node(&w, 2, "x", "");
        b_node(&w, 1, "b", "2");
        b_end(&w, 4);
        assert_refused(&w.b, 0);
        snapbuf_done(&w.b);

        /* A newer format is refused as such. */
        b_header(&w, 2, 0);
        b_node(&w, 0, "", "");
        b_end(&w, 1);
        assert_refused(&w.b, -EPROTONOSUPPORT);
        snapbuf_done(&w.b);

        /* Version 0, unknown flags: damaged. */
        b_header(&w, 0, 0);
        b_node(&w, 0, "", "");
        b_end(&w, 1);
        assert_refused(&w.b, -EBADMSG);
        snapbuf_done(&w.b);
        b_header(&w, 1, 1);
        b_node(&w, 0, "", "");
        b_end(&w, 1);
        assert_refused(&w.b, -EBADMSG);
        snapbuf_done(&w.b);

        static const struct {
                const char *names[3];
                uint32_t depths[3];
        } bad[] = {
                { { "b", "a" }, { 1, 1 } },        /* siblings out of order */
                { { "a", "a" }, { 1, 1 } },        /* duplicate */
                { { "a", "x", "a" }, { 1, 2, 1 } }, /* duplicate after a descent */
                { { "a", "x" }, { 1, 3 } },        /* depth jump */
                { { "a", "x" }, { 1, 0 } },        /* second root */
                { { "a/b" }, { 1 } },              /* slash in a name */
                { { "" }, { 1 } },                 /* empty name */
                { { ".." }, { 1 } },
                { { "." }, { 1 } },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t n = 0;
                b_header(&w, 1, 0);
                b_node(&w, 0, "", "");
                for (; n < 3 && bad[i].names[n]; n++)
                        b_node(&w, bad[i].depths[n], bad[i].names[n], "");
                b_end(&w, 1 + n);
                assert_refused(&w.b, -EBADMSG);
                snapbuf_done(&w.b);
        }

        /* Root with a name; wrong node count; unknown tag. */
        b_header(&w, 1, 0);
        b_node(&w, 0, "r", "");
        b_end(&w, 1);
        assert_refused(&w.b, -EBADMSG);
        snapbuf_done(&w.b);
        b_header(&w, 1, 0);
        b_node(&w, 0, "", "");
        b_node(&w, 1, "a", "");
        b_end(&w, 3);
        assert_refused(&w.b, -EBADMSG);
        snapbuf_done(&w.b);
        b_header(&w, 1, 0);
        b_node(&w, 0, "", "");
        b_put(&w, "X", 1);
        b_end(&w, 1);
        assert_refused(&w.b, -EBADMSG);
        snapbuf_done(&w.b);

        /* Foreign data. */
        struct snapbuf junk = {};
        ck_assert_int_eq(snapbuf_write(&junk, "PK\3\4 this is a zip file, not a tree snapshot at all", 50), 0);
        assert_refused(&junk, -EBADMSG);
        snapbuf_done(&junk);
}
END_TEST

static int fail_after(void *ctx, const void *buf, size_t len) {
        size_t *left = ctx;
        if (*left < len)
                return -EIO;
        *left -= len;
        return 0;
}

static int read_fails(void *ctx, void *buf, size_t len) {
        return -EIO;
}

START_TEST(test_io_errors_propagate) {
        _cleanup_(tree_freep) struct tree *t = sample_tree(0);
        size_t budget = 100000;

        ck_assert_int_eq(tree_snapshot(t, fail_after, &budget), -EIO);
        budget = 0;
        ck_assert_int_eq(tree_snapshot(t, fail_after, &budget), -EIO);
        ck_assert_int_eq(tree_restore(t, read_fails, NULL), -EIO);
        ck_assert_int_eq(tree_exists(t, "/a/z/deep", NULL), 0);
}
END_TEST

static Suite *snapshot_suite(void) {
        Suite *s = suite_create("tree-snapshot");
        TCase *tc = tcase_create("snapshot");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_streaming_and_deterministic);
        tcase_add_test(tc, test_corrupted);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_structure_checked);
        tcase_add_test(tc, test_io_errors_propagate);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return vs_check_run(snapshot_suite());
}
