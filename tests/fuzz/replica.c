/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "fuzz.h"
#include "replica.h"
#include "tree/tree_sm.h"

void fuzz_replica_config(struct vr_config *c, uint32_t n, uint32_t self, bool lease) {
        vr_config_default(c, n, self);
        c->heartbeat_ticks = 2;
        c->view_change_ticks = 10;
        c->jitter_ticks = 3;
        c->lease_ticks = lease ? 6 : 0;
        c->reads_through_log = !lease;
        c->checkpoint_interval = 4;
        c->max_batch = 4;
        c->client_table_size = 4;
        c->state_chunk = 64;
}

int fuzz_replica_start(struct fuzz_replica *f, const struct vr_config *c, const struct vr_durable *d) {
        *f = (struct fuzz_replica) { .cfg = *c };
        struct tree_options o = { .limits = TREE_LIMITS_DEFAULT, .hash_seed = 1 };
        int r = tree_new(&o, &f->tree);
        if (r < 0)
                return r;
        if (d)
                r = vr_replica_restart(c, &tree_sm_ops, f->tree, d, 1, &f->r);
        else
                r = vr_replica_new(c, &tree_sm_ops, f->tree, &f->r);
        fuzz_assert(r == 0 || r == -ENOMEM || (d && r == -EBADMSG));
        if (r < 0) {
                tree_free(f->tree);
                f->tree = NULL;
                return r;
        }
        if (d)
                f->last_seq = d->next_seq - 1;
        f->view = vr_replica_view(f->r);
        if (!fuzz_replica_after(f, 0, 0, 0))
                return -ENOMEM;
        return 0;
}

void fuzz_replica_done(struct fuzz_replica *f) {
        vr_replica_free(f->r);
        tree_free(f->tree);
        free(f->checkpoint);
        *f = (struct fuzz_replica) {};
}

static void check(struct fuzz_replica *f) {
        const struct vr_replica *r = f->r;
        uint64_t op = vr_replica_op(r), commit = vr_replica_commit(r), applied = vr_replica_applied(r);
        fuzz_assert(commit <= op);
        fuzz_assert(applied <= commit);
        fuzz_assert(vr_replica_checkpoint(r) <= applied);
        fuzz_assert(vr_replica_view(r) >= f->view);
        fuzz_assert(commit >= f->commit);
        fuzz_assert(vr_replica_status(r) <= VR_STATUS_TRANSITIONING);
        f->view = vr_replica_view(r);
        f->commit = commit;
}

static bool drain(struct fuzz_replica *f) {
        for (;;) {
                struct vr_ready rd;
                int r = vr_ready_take(f->r, &rd);
                if (r == -ENOMEM)
                        return !(f->oom = true);
                fuzz_assert(r == 0);
                for (size_t i = 0; i < rd.n_records; i++)
                        fuzz_assert(rd.records[i].seq == ++f->last_seq);
                /* The epoch's members, not the configuration started with, decide the indexes
                 * (a journal's metadata may name five); VR_NO_INDEX reaches a replica outside the
                 * epoch. The epoch may change within one take, so only the bound is checked. */
                for (size_t i = 0; i < rd.n_msgs; i++)
                        fuzz_assert(rd.msgs[i].to_client || rd.msgs[i].replica == VR_NO_INDEX ||
                                    rd.msgs[i].replica < VR_MAX_REPLICAS);
                uint64_t ckpt = rd.checkpoint_op;
                size_t n_out = rd.n_records + rd.n_msgs;
                vr_ready_done(&rd);
                if (ckpt > 0) {
                        free(f->checkpoint);
                        f->checkpoint = NULL;
                        r = vr_checkpoint_take_buffer(f->r, &f->checkpoint, &f->checkpoint_len);
                        if (r == -ENOMEM)
                                return !(f->oom = true);
                        fuzz_assert(r == 0);
                        r = vr_checkpoint_durable(f->r, ckpt);
                        if (r == -ENOMEM)
                                return !(f->oom = true);
                        fuzz_assert(r == 0);
                        continue;
                }
                if (n_out == 0)
                        break;
        }
        check(f);
        return true;
}

bool fuzz_replica_after(struct fuzz_replica *f, int r, int ok1, int ok2) {
        if (r == -ENOMEM)
                return !(f->oom = true);
        if (r < 0 && r != ok1 && r != ok2) {
                fprintf(stderr, "core call failed: %s\n", strerror(-r));
                abort();
        }
        return drain(f);
}

bool fuzz_replica_persist(struct fuzz_replica *f) {
        if (f->last_seq == 0)
                return true;
        return fuzz_replica_after(f, vr_persisted(f->r, f->last_seq), 0, 0);
}

bool fuzz_replica_ticks(struct fuzz_replica *f, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (!fuzz_replica_after(f, vr_tick(f->r), 0, 0))
                        return false;
        return true;
}
