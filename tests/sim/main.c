/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-sim: runs the cluster simulator for one seed or a range of seeds.
 *
 *   vs-sim [--seed N] [--seeds COUNT] [--replicas 3|5] [--clients N] [--ops N] [--keys N]
 *          [--no-faults] [--loss PPM] [--dup PPM] [--long-delay PPM] [--partition PPM]
 *          [--crash PPM] [--rot PPM] [--reads-through-log | --lease-reads]
 *          [--kv] [--max-batch N] [--reconfigs N] [--history FILE] [--bench] [--twice] [--verbose]
 *
 * --reconfigs N has an admin client ask for N reconfigurations during the run (grow 3 -> 5,
 * shrink 5 -> 3, or move one replica to a new node), under the same faults.
 * The replicas run the tree store (registers are nodes), or with --kv a small register machine.
 * Prints one summary line per run (or per range), and for a failing seed the exact command
 * that replays it; exits 1 when any seed failed. --twice runs every seed again and fails it
 * unless history and result are identical. VS_SIM_SEED_PERCENT scales --seeds; under
 * VS_SANITIZED (the sanitizer build) it defaults to 10. --bench runs a fault-free and a faulty range and prints
 * simulated client ops per wall-clock second for each.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void print_replay(const struct sim_options *o) {
        fprintf(stderr, "replay: vs-sim --seed %lu --replicas %u --clients %u --ops %u --keys %u", o->seed,
                o->replicas, o->clients, o->ops, o->keys);
        if (!o->faults)
                fprintf(stderr, " --no-faults");
        else
                fprintf(stderr, " --loss %u --dup %u --long-delay %u --partition %u --crash %u --rot %u",
                        o->loss_ppm, o->dup_ppm, o->long_delay_ppm, o->partition_ppm, o->crash_ppm, o->rot_ppm);
        if (o->reads_through_log >= 0)
                fprintf(stderr, " %s", o->reads_through_log ? "--reads-through-log" : "--lease-reads");
        if (o->kv)
                fprintf(stderr, " --kv");
        if (o->reconfigs)
                fprintf(stderr, " --reconfigs %u", o->reconfigs);
        fprintf(stderr, " --value-bytes %u --max-message-bytes %u", o->value_bytes, o->max_message_bytes);
        fprintf(stderr, " --history /tmp/vs-sim-%lu.jsonl --verbose\n", o->seed);
}

struct totals {
        uint64_t runs, failed, undecided, ops, info, views, grows, shrinks, moves, epochs, stops, long_partitions, crashes, rots, prepares, entries, msgs;
        struct vr_stats st;
        double wall;
};

/* Runs the seed a second time and compares history and result byte for byte. */
static int check_replay(const struct sim_options *o, const struct sim_result *first, const char *first_hist,
                        size_t first_len) {
        struct sim_options again = *o;
        char *hist = NULL;
        size_t len = 0;
        again.history_file = open_memstream(&hist, &len);
        if (!again.history_file)
                return -ENOMEM;
        struct sim_result res;
        int k = sim_run(&again, &res);
        fclose(again.history_file);
        if (k >= 0 && (len != first_len || memcmp(hist, first_hist, len) != 0 ||
                       res.ops_done != first->ops_done || res.sim_ticks != first->sim_ticks ||
                       res.views != first->views || res.crashes != first->crashes))
                k = -EUCLEAN;
        free(hist);
        return k;
}

static int run_range(struct sim_options o, uint64_t first, uint64_t count, bool quiet, bool twice,
                     struct totals *t) {
        *t = (struct totals) {};
        double start = now_s();
        for (uint64_t seed = first; seed < first + count; seed++) {
                o.seed = seed;
                struct sim_result res;
                char *hist = NULL;
                size_t hist_len = 0;
                if (twice) {
                        o.history_file = open_memstream(&hist, &hist_len);
                        if (!o.history_file)
                                return -ENOMEM;
                }
                int k = sim_run(&o, &res);
                if (twice) {
                        fclose(o.history_file);
                        o.history_file = NULL;
                        if (k >= 0)
                                k = check_replay(&o, &res, hist, hist_len);
                        free(hist);
                        if (k == -EUCLEAN) {
                                fprintf(stderr, "seed %lu: FAILED: a second run differs\n", seed);
                                t->failed++;
                                k = 0;
                        }
                }
                if (k < 0) {
                        fprintf(stderr, "seed %lu: simulator error: %s\n", seed, strerror(-k));
                        print_replay(&o);
                        return k;
                }
                t->runs++;
                t->undecided += res.undecided;
                t->ops += res.ops_done;
                t->info += res.ops_info;
                t->views += res.views;
                t->grows += res.grows;
                t->shrinks += res.shrinks;
                t->moves += res.moves;
                t->epochs += res.epochs;
                t->stops += res.stops;
                t->long_partitions += res.long_partitions;
                t->crashes += res.crashes;
                t->rots += res.rots;
                t->prepares += res.prepares;
                t->entries += res.prepared_entries;
                t->msgs += res.replica_msgs;
                t->st.lease_reads += res.stats.lease_reads;
                t->st.views_started += res.stats.views_started;
                t->st.recoveries += res.stats.recoveries;
                t->st.checkpoints += res.stats.checkpoints;
                t->st.state_installs += res.stats.state_installs;
                t->st.log_transfers += res.stats.log_transfers;
                if (!res.ok) {
                        t->failed++;
                        fprintf(stderr, "seed %lu: FAILED: %s\n", seed, res.reason);
                        print_replay(&o);
                }
                if (!quiet && count == 1)
                        printf("seed=%lu replicas=%u ops_done=%lu info=%lu views=%lu epochs=%lu stops=%lu crashes=%lu rots=%lu ticks=%lu %s\n",
                               seed, o.replicas, res.ops_done, res.ops_info, res.views, res.epochs, res.stops, res.crashes, res.rots,
                               res.sim_ticks, res.ok ? "ok" : "FAILED");
        }
        t->wall = now_s() - start;
        return 0;
}

static void print_totals(const char *label, const struct sim_options *o, const struct totals *t) {
        printf("%sseeds=%lu replicas=%u failed=%lu undecided=%lu ops_done=%lu info=%lu views=%lu grows=%lu shrinks=%lu moves=%lu epochs=%lu stops=%lu long_partitions=%lu crashes=%lu rots=%lu "
               "recoveries=%lu checkpoints=%lu installs=%lu log_transfers=%lu lease_reads=%lu "
               "entries/prepare=%.2f replica_msgs/op=%.2f sim_ops/s=%.0f\n",
               label, t->runs, o->replicas, t->failed, t->undecided, t->ops, t->info, t->views, t->grows, t->shrinks, t->moves, t->epochs, t->stops, t->long_partitions, t->crashes, t->rots,
               t->st.recoveries, t->st.checkpoints, t->st.state_installs, t->st.log_transfers, t->st.lease_reads,
               t->prepares ? (double) t->entries / (double) t->prepares : 0.0,
               t->ops ? (double) t->msgs / (double) t->ops : 0.0,
               t->wall > 0 ? (double) t->ops / t->wall : 0.0);
}

int main(int argc, char **argv) {
        enum {
                ARG_SEEDS = 0x100, ARG_REPLICAS, ARG_CLIENTS, ARG_OPS, ARG_KEYS, ARG_NO_FAULTS, ARG_LOSS, ARG_DUP,
                ARG_LONG, ARG_PARTITION, ARG_CRASH, ARG_ROT, ARG_LOG_READS, ARG_LEASE_READS, ARG_HISTORY,
                ARG_BENCH, ARG_VERBOSE, ARG_SEED, ARG_TWICE, ARG_KV, ARG_BATCH, ARG_RECONFIGS,
                ARG_VALUE_BYTES, ARG_MAX_MESSAGE,
        };
        static const struct option opts[] = {
                { "seed", required_argument, NULL, ARG_SEED },
                { "seeds", required_argument, NULL, ARG_SEEDS },
                { "replicas", required_argument, NULL, ARG_REPLICAS },
                { "clients", required_argument, NULL, ARG_CLIENTS },
                { "ops", required_argument, NULL, ARG_OPS },
                { "keys", required_argument, NULL, ARG_KEYS },
                { "no-faults", no_argument, NULL, ARG_NO_FAULTS },
                { "loss", required_argument, NULL, ARG_LOSS },
                { "dup", required_argument, NULL, ARG_DUP },
                { "long-delay", required_argument, NULL, ARG_LONG },
                { "partition", required_argument, NULL, ARG_PARTITION },
                { "crash", required_argument, NULL, ARG_CRASH },
                { "rot", required_argument, NULL, ARG_ROT },
                { "reads-through-log", no_argument, NULL, ARG_LOG_READS },
                { "lease-reads", no_argument, NULL, ARG_LEASE_READS },
                { "history", required_argument, NULL, ARG_HISTORY },
                { "bench", no_argument, NULL, ARG_BENCH },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                { "twice", no_argument, NULL, ARG_TWICE },
                { "kv", no_argument, NULL, ARG_KV },
                { "max-batch", required_argument, NULL, ARG_BATCH },
                { "reconfigs", required_argument, NULL, ARG_RECONFIGS },
                { "value-bytes", required_argument, NULL, ARG_VALUE_BYTES },
                { "max-message-bytes", required_argument, NULL, ARG_MAX_MESSAGE },
                {},
        };
        struct sim_options o;
        sim_options_default(&o);
        uint64_t seeds = 1;
        bool bench = false, twice = false;
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                uint64_t v = 0;
                if (optarg && c != ARG_HISTORY && parse_u64(optarg, &v) < 0) {
                        fprintf(stderr, "vs-sim: bad number '%s'\n", optarg);
                        return 2;
                }
                if (optarg && c != ARG_HISTORY && c != ARG_SEED && c != ARG_SEEDS && v > UINT32_MAX) {
                        fprintf(stderr, "vs-sim: '%s' is too large\n", optarg);
                        return 2;
                }
                switch (c) {
                case ARG_SEED: o.seed = v; break;
                case ARG_SEEDS: seeds = v; break;
                case ARG_REPLICAS: o.replicas = (uint32_t) v; break;
                case ARG_CLIENTS: o.clients = (uint32_t) v; break;
                case ARG_OPS: o.ops = (uint32_t) v; break;
                case ARG_KEYS: o.keys = (uint32_t) v; break;
                case ARG_NO_FAULTS: o.faults = false; break;
                case ARG_LOSS: o.loss_ppm = (uint32_t) v; break;
                case ARG_DUP: o.dup_ppm = (uint32_t) v; break;
                case ARG_LONG: o.long_delay_ppm = (uint32_t) v; break;
                case ARG_PARTITION: o.partition_ppm = (uint32_t) v; break;
                case ARG_CRASH: o.crash_ppm = (uint32_t) v; break;
                case ARG_ROT: o.rot_ppm = (uint32_t) v; break;
                case ARG_LOG_READS: o.reads_through_log = 1; break;
                case ARG_LEASE_READS: o.reads_through_log = 0; break;
                case ARG_HISTORY: o.history_path = optarg; break;
                case ARG_BENCH: bench = true; break;
                case ARG_VERBOSE: o.verbose = true; break;
                case ARG_TWICE: twice = true; break;
                case ARG_KV: o.kv = true; break;
                case ARG_BATCH: o.max_batch = (uint32_t) v; break;
                case ARG_RECONFIGS: o.reconfigs = (uint32_t) v; break;
                case ARG_VALUE_BYTES: o.value_bytes = (uint32_t) v; break;
                case ARG_MAX_MESSAGE: o.max_message_bytes = (uint32_t) v; break;
                default: return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "vs-sim: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (o.replicas < 1 || o.replicas > VR_MAX_REPLICAS || o.replicas % 2 == 0 ||
            o.clients < 1 || o.clients > SIM_MAX_CLIENTS || o.keys < 1 || o.keys > SIM_MAX_KEYS) {
                fprintf(stderr, "vs-sim: replicas must be odd and at most %d, clients 1..%d, keys 1..%d\n",
                        VR_MAX_REPLICAS, SIM_MAX_CLIENTS, SIM_MAX_KEYS);
                return 2;
        }
        /* A command (the value and some 100 bytes of request) takes at most half the budget. */
        if (o.max_message_bytes < VR_MIN_MESSAGE_BYTES || (o.kv && o.value_bytes != 8) ||
            (uint64_t) o.value_bytes + 200 + VR_ENTRY_FIXED_BYTES > (o.max_message_bytes - VR_MSG_FIXED_BYTES) / 2) {
                fprintf(stderr, "vs-sim: --max-message-bytes must be at least %u and leave half of it, less %u bytes, to "
                        "a command of --value-bytes; --value-bytes needs the tree workload\n",
                        VR_MIN_MESSAGE_BYTES, VR_MSG_FIXED_BYTES);
                return 2;
        }
        const char *pct = getenv("VS_SIM_SEED_PERCENT");
        if (!pct && getenv("VS_SANITIZED"))
                pct = "10";
        uint64_t p;
        if (pct && parse_u64(pct, &p) == 0 && seeds > 1) {
                seeds = seeds * p / 100;
                if (seeds == 0)
                        seeds = 1;
        }

        struct totals t;
        int k;
        if (bench) {
                struct sim_options clean = o;
                clean.faults = false;
                k = run_range(clean, o.seed, seeds, true, false, &t);
                if (k < 0)
                        return 1;
                print_totals("bench fault-free: ", &clean, &t);
                bool failed = t.failed > 0;
                k = run_range(o, o.seed, seeds, true, false, &t);
                if (k < 0)
                        return 1;
                print_totals("bench faulty: ", &o, &t);
                return failed || t.failed > 0;
        }
        k = run_range(o, o.seed, seeds, false, twice, &t);
        if (k < 0)
                return 1;
        if (seeds > 1)
                print_totals("", &o, &t);
        return t.failed > 0;
}
