/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot restore over arbitrary bytes: the tree's reader (tree_restore), and the whole
 * checkpoint a replica restarts from or receives by state transfer (the core's header and
 * client table, then the tree's snapshot). The bytes of a snapshot the tree accepts must be the
 * ones it would write for the state it restored; one it refuses leaves the tree as it was.
 *
 * Input: a flags byte, then the bytes. Flag bit 0 restores a whole checkpoint into a restarting
 * replica instead of a snapshot into a tree. Flag bit 1 reseals the snapshot's header and
 * trailer checksums first, so that the fuzzer reaches the structure checks.
 */
#include <errno.h>

#include "../tree/snapbuf.h"
#include "fuzz.h"
#include "replica.h"
#include "tree/tree_sm.h"
#include "util/checksum.h"
#include "util/unaligned.h"

static void reseal(uint8_t *buf, size_t len) {
        if (len >= 24)
                vs_put_le64(buf + 16, vs_checksum(buf, 16));
        if (len >= 32)
                vs_put_le64(buf + len - 8, vs_checksum(buf, len - 8));
}

static void restore_tree(struct snapbuf *in) {
        struct tree_options o = { .limits = TREE_LIMITS_DEFAULT, .hash_seed = 3 };
        _cleanup_(tree_freep) struct tree *t = NULL;
        if (tree_new(&o, &t) < 0)
                return;
        if (tree_create(t, 1, "/before", "v", 1, 0, NULL, NULL) < 0)
                return;
        uint64_t before, after;
        if (tree_digest(t, &before) < 0)
                return;

        int r = snapbuf_restore(t, in);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -ENOMEM);
        if (r == 0) {
                /* What it read is what it writes back. Bytes after the trailer are the caller's
                 * (a stream holds whatever follows), so they are not read at all. */
                struct snapbuf read = { .data = in->data, .len = in->pos };
                fuzz_assert(snapbuf_same(t, &read));
                return;
        }
        if (tree_digest(t, &after) == 0)
                fuzz_assert(after == before);
}

static void restore_checkpoint(struct snapbuf *in) {
        uint64_t op = in->len >= 16 ? vs_get_le64(in->data + 8) : 1;
        struct vr_durable d = {
                .next_seq = 1,
                .have_meta = true,
                .meta = { .view = 1, .last_normal_view = 1, .commit = op, .checkpoint_op = op },
                .checkpoint_op = op,
                .checkpoint_read = snapbuf_read,
                .checkpoint_ctx = in,
        };
        if (op == 0)
                return; /* no checkpoint at all: nothing read */
        struct vr_config c;
        fuzz_replica_config(&c, 3, 1, false);
        struct fuzz_replica f;
        if (fuzz_replica_start(&f, &c, &d) < 0)
                return;
        fuzz_assert(vr_replica_applied(f.r) >= op || vr_replica_needs_repair(f.r));
        (void) fuzz_replica_ticks(&f, 30);
        fuzz_replica_done(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_input in = { data, size };
        uint8_t flags = fuzz_u8(&in);
        struct snapbuf b = { .data = malloc(in.n + 1), .len = in.n, .cap = in.n + 1 };
        if (!b.data)
                return 0;
        memcpy(b.data, in.p, in.n);
        if (flags & 2)
                reseal(b.data, b.len);
        if (flags & 1)
                restore_checkpoint(&b);
        else
                restore_tree(&b);
        snapbuf_done(&b);
        return 0;
}
