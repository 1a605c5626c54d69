/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A replica of the core with the tree as its state machine, driven the way the daemon drives it
 * (node/tenant.c), for the targets that feed it input: after every input its outputs are drained,
 * its records are remembered until the target declares them durable, checkpoints are taken and
 * reported durable at once (the last one is kept in `checkpoint`), and the replica's own
 * invariants are checked (a broken one aborts): op >= commit >= applied >= checkpoint, view and
 * commit never go back, records arrive with seqs increasing by one, and no call fails for any
 * reason but lack of memory.
 */

#include <stdbool.h>
#include <stdint.h>

#include "tree/tree.h"
#include "vr/vr.h"

struct fuzz_replica {
        struct vr_config cfg;
        struct tree *tree;
        struct vr_replica *r;
        uint64_t last_seq;  /* of the last record handed out */
        uint64_t view;
        uint64_t commit;
        uint8_t *checkpoint; /* the last one taken */
        size_t checkpoint_len;
        bool oom;           /* the allocator said no: the input ends here, not a finding */
};

/* A fresh configuration for replica self of n: short timeouts and frequent checkpoints, so that
 * a short input reaches every path. */
void fuzz_replica_config(struct vr_config *c, uint32_t n, uint32_t self, bool lease);

/* 0, or -ENOMEM. When d is NULL the replica is brand new, else it restarts from d. */
int fuzz_replica_start(struct fuzz_replica *f, const struct vr_config *c, const struct vr_durable *d);
void fuzz_replica_done(struct fuzz_replica *f);

/* Checks what a core call returned (ok lists the refusals it may give besides 0 and -ENOMEM),
 * then drains the outputs. Returns false once the replica ran out of memory. */
bool fuzz_replica_after(struct fuzz_replica *f, int r, int ok1, int ok2);
/* Every record handed out so far is durable. */
bool fuzz_replica_persist(struct fuzz_replica *f);
bool fuzz_replica_ticks(struct fuzz_replica *f, unsigned n);
