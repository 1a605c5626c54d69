/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A single replica under test, driven by hand: the tests feed it messages and ticks, persist
 * what it asks for when they choose, and look at what it sent. Failing checks abort the test
 * (check's ck_assert).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "kv.h"
#include "vr/vr.h"

struct harness {
        struct vr_replica *r;
        struct kv kv;
        struct vr_config cfg;
        struct vr_output *out; /* everything sent since the last harness_clear() */
        size_t n_out;
        size_t n_records;      /* records written since the last harness_clear() */
        uint64_t last_seq;
        uint64_t checkpoint_op;
};

/* A replica of a fresh n-replica group; lease reads when lease, else reads through the log. */
void harness_new(struct harness *h, uint32_t n, uint32_t self, bool lease);
/* The same with the configuration harness_new() would use, changed by the test first. */
void harness_config(struct vr_config *c, uint32_t n, uint32_t self, bool lease);
void harness_new_config(struct harness *h, const struct vr_config *c);
void harness_free(struct harness *h);
/* Collects outputs (vr_ready_take) without persisting. */
void harness_drain(struct harness *h);
/* Reports every record written so far durable, then collects outputs. */
void harness_persist(struct harness *h);
void harness_clear(struct harness *h);
void harness_recv(struct harness *h, const struct vr_msg *m);
void harness_ticks(struct harness *h, unsigned n);
size_t harness_count(const struct harness *h, enum vr_msg_type t);
/* The last output of type t (to replica `to`, or any when to < 0), NULL if none. */
const struct vr_msg *harness_find(const struct harness *h, enum vr_msg_type t, int to);

/* A kv write command as an entry's data (static storage, valid until the next call). */
struct vr_entry harness_entry(uint64_t op, uint64_t view, uint64_t client, uint64_t request, int64_t value);
/* Opens a session for client and brings the (primary) replica's commit past it, with the
 * other replicas' acknowledgements simulated. */
void harness_register(struct harness *h, uint64_t client);

/* Runs a suite; the exit status for main(). */
int harness_run(Suite *s);
