/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The deterministic cluster simulator: replicas of the VR core, a simulated network, disks and
 * clients, all driven from one seeded PRNG in simulated time. Identical options give an
 * identical run, byte for byte: every choice comes from the PRNG, events are ordered by
 * (time, insertion number), nothing depends on addresses or hash order.
 *
 * Time: SIM_TICK units make one nominal tick; each replica's clock runs at its own rate within
 * the configured drift bound.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "disk.h"
#include "workload.h"
#include "lincheck.h"
#include "prng.h"
#include "vr/vr.h"

#define SIM_TICK 1000
#define SIM_TURN 100
#define SIM_MAX_CLIENTS 64
#define SIM_MAX_KEYS 64
#define SIM_MAX_NODES (VR_MAX_REPLICAS + SIM_MAX_CLIENTS + 1) /* replicas, clients, the admin */

struct sim_options {
        uint64_t seed;
        uint32_t replicas;
        uint32_t clients;
        uint32_t ops;
        uint32_t keys;
        bool faults;
        uint32_t loss_ppm;
        uint32_t dup_ppm;
        uint32_t long_delay_ppm;
        uint32_t partition_ppm;  /* per fault step */
        uint32_t crash_ppm;      /* per fault step */
        uint32_t rot_ppm;        /* per crash */
        int reads_through_log;   /* -1: chosen by the seed */
        const char *history_path;
        FILE *history_file;      /* also written here when set */
        bool verbose;
        bool kv;                 /* the small kv machine instead of the tree store */
        uint32_t max_batch;      /* entries per Prepare */
        uint32_t reconfigs;      /* reconfigurations an admin client asks for during the run */
        uint32_t value_bytes;    /* size of every value written (tree workload), at least 8 */
        uint32_t max_message_bytes; /* the replicas' message budget; the network fails the run
                                     * on any message over it */
};

void sim_options_default(struct sim_options *o);

struct sim_result {
        bool ok;
        char reason[256];
        uint64_t ops_done;      /* completed ok or fail */
        uint64_t ops_info;
        uint64_t views;         /* highest view reached */
        uint64_t grows, shrinks, moves; /* reconfigurations asked for */
        uint64_t epochs;        /* reconfigurations that took effect */
        uint64_t stops;         /* replicas that left their group and stopped */
        uint64_t long_partitions; /* partitions started with a reconfiguration, outliving it */
        uint64_t crashes;
        uint64_t rots;
        uint64_t sim_ticks;
        uint64_t prepares;
        uint64_t prepared_entries;
        uint64_t replica_msgs;  /* messages between replicas */
        struct vr_stats stats; /* summed over every replica incarnation */
        bool undecided;        /* the history was too hard for the checker's budget */
};

/* Runs one seed. Returns 0 with *res filled (res->ok false on a violation or stall), or a
 * negative errno when the run itself could not be carried out. */
int sim_run(const struct sim_options *o, struct sim_result *res);
