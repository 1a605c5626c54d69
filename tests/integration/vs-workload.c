/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-workload: concurrent register operations against a live tenant through libviewstamp, with
 * the history recorded (JSON lines, tests/lincheck/lincheck.h) and checked for linearizability.
 *
 * Keys are tree nodes /run-R/kN (R random per run, so runs never see each other's values)
 * created empty up front (an empty value reads as absent). Each of P
 * logical processes keeps one operation outstanding: read = get, write = set, cas = set with the
 * version the process last saw for that key (the value it saw then is the cas's expected value;
 * a BadVersion refusal certainly did not take effect). Write values are unique. A request that
 * timed out (or could have run before it failed) is recorded as info. When the run ends, every
 * key is read once more, so a lost acknowledged write shows up as a violation.
 *
 * Exit status: 0 linearizable, 1 violation or too few operations completed, 2 usage or setup.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/viewstamp.h"
#include "lincheck.h"

struct process {
        struct workload *w;
        int64_t id;
        uint64_t counter;
        enum lc_fn f;
        unsigned key;
        int64_t expected, value;
        uint64_t *versions; /* per key, UINT64_MAX unknown */
        int64_t *seen;      /* value at that version */
        bool final;
};

struct workload {
        vs_client *client;
        struct lc_history *h;
        unsigned keys;
        uint64_t deadline, start;
        uint64_t rng;
        size_t outstanding;
        unsigned long ok, failed, info;
        struct process *procs;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t rnd(struct workload *w) {
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        return w->rng;
}

static char run_prefix[32];

static void key_path(char buf[64], unsigned key) {
        snprintf(buf, 64, "%s/k%u", run_prefix, key);
}

static int record(struct workload *w, struct process *p, enum lc_type type, int64_t value) {
        char key[64];
        key_path(key, p->key);
        struct lc_event e = {
                .process = p->id, .type = type, .f = p->f, .key = key,
                .value = type == LC_INVOKE && p->f == LC_READ ? LC_NIL : value,
                .expected = p->expected, .time = now_usec() - w->start,
        };
        return lc_history_add(w->h, &e);
}

static void issue(struct process *p);

static int64_t parse_value(const vs_result *r) {
        size_t len;
        const char *v = vs_result_value(r, &len);
        return len == 0 ? LC_NIL : strtoll(v, NULL, 10);
}

static void on_done(vs_client *c, vs_result *r, void *userdata) {
        struct process *p = userdata;
        struct workload *w = p->w;
        int err = vs_result_error(r);
        struct vs_stat st;
        w->outstanding--;
        if (err == 0) {
                int64_t v = p->f == LC_READ ? parse_value(r) : p->value;
                if (vs_result_stat(r, &st) == 0) {
                        p->versions[p->key] = st.version;
                        p->seen[p->key] = v;
                }
                record(w, p, LC_OK, v);
                w->ok++;
        } else if (err > 0 || err == -ESTALE || err == -ENXIO || err == -EPROTO || err == -ECONNREFUSED ||
                   err == -EHOSTUNREACH || err == -ENETUNREACH) {
                record(w, p, LC_FAIL, p->value);
                if (err == VS_ERR_BAD_VERSION)
                        p->versions[p->key] = UINT64_MAX;
                w->failed++;
        } else {
                record(w, p, LC_INFO, p->value);
                w->info++;
        }
        vs_result_free(r);
        if (!p->final)
                issue(p);
}

static void submit(struct process *p, vs_op *op) {
        struct workload *w = p->w;
        record(w, p, LC_INVOKE, p->value);
        if (vs_submit(w->client, op, on_done, p) < 0) {
                record(w, p, LC_FAIL, p->value);
                return;
        }
        w->outstanding++;
}

static void issue(struct process *p) {
        struct workload *w = p->w;
        if (now_usec() >= w->deadline)
                return;
        char path[64];
        vs_op *op = NULL;
        p->key = (unsigned) (rnd(w) % w->keys);
        key_path(path, p->key);
        unsigned dice = (unsigned) (rnd(w) % 10);
        p->expected = LC_NIL;
        p->value = LC_NIL;
        if (dice < 4) {
                p->f = LC_READ;
                vs_op_get(&op, path);
        } else {
                char buf[32];
                p->value = (p->id + 1) * 1000000000LL + (int64_t) ++p->counter;
                snprintf(buf, sizeof buf, "%" PRId64, p->value);
                if (dice < 8 || p->versions[p->key] == UINT64_MAX) {
                        p->f = LC_WRITE;
                        vs_op_set(&op, path, buf, strlen(buf), VS_VERSION_ANY);
                } else {
                        p->f = LC_CAS;
                        p->expected = p->seen[p->key];
                        vs_op_set(&op, path, buf, strlen(buf), p->versions[p->key]);
                }
        }
        if (op)
                submit(p, op);
}

static int drain(struct workload *w) {
        while (w->outstanding > 0) {
                int r = vs_client_wait(w->client, 100000);
                if (r < 0 && r != -EINTR)
                        return r;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "tenant", required_argument, NULL, 't' },
                { "node", required_argument, NULL, 'n' },
                { "processes", required_argument, NULL, 'p' },
                { "keys", required_argument, NULL, 'k' },
                { "duration-ms", required_argument, NULL, 'd' },
                { "timeout-ms", required_argument, NULL, 'T' },
                { "history", required_argument, NULL, 'H' },
                { "seed", required_argument, NULL, 's' },
                { "min-ok", required_argument, NULL, 'm' },
                {}
        };
        const char *tenant = NULL, *history = NULL;
        unsigned processes = 5, keys = 4, min_ok = 1;
        uint64_t duration = 5000, timeout = 5000, seed = 1;
        int opt, r;

        char **nodes = calloc((size_t) argc, sizeof *nodes);
        size_t n_nodes = 0;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 't': tenant = optarg; break;
                case 'n': nodes[n_nodes++] = optarg; break;
                case 'p': processes = (unsigned) atoi(optarg); break;
                case 'k': keys = (unsigned) atoi(optarg); break;
                case 'd': duration = strtoull(optarg, NULL, 10); break;
                case 'T': timeout = strtoull(optarg, NULL, 10); break;
                case 'H': history = optarg; break;
                case 's': seed = strtoull(optarg, NULL, 10) | 1; break;
                case 'm': min_ok = (unsigned) atoi(optarg); break;
                default: return 2;
                }
        if (!tenant || n_nodes == 0 || processes == 0 || keys == 0) {
                fprintf(stderr, "usage: vs-workload --tenant T --node ADDR... [--processes P] [--keys K] "
                                "[--duration-ms D] [--timeout-ms T] [--history FILE] [--seed S] [--min-ok N]\n");
                return 2;
        }

        struct workload w = { .keys = keys, .rng = seed };
        r = vs_client_new(&w.client, tenant);
        for (size_t i = 0; r >= 0 && i < n_nodes; i++)
                r = vs_client_add_node(w.client, nodes[i]);
        if (r >= 0)
                r = vs_client_set_timeout(w.client, timeout * 1000);
        if (r >= 0)
                r = lc_history_new(&w.h);
        if (r < 0) {
                fprintf(stderr, "setup: %s\n", vs_strerror(r));
                return 2;
        }

        /* The registers exist before the run (retried until the tenant answers). */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(run_prefix, sizeof run_prefix, "/run-%lx%lx", (unsigned long) ts.tv_sec, (unsigned long) ts.tv_nsec);
        for (int k = -1; k < (int) keys; k++) {
                char path[64];
                if (k < 0)
                        snprintf(path, sizeof path, "%s", run_prefix);
                else
                        key_path(path, (unsigned) k);
                uint64_t until = now_usec() + 30 * 1000000ULL;
                for (;;) {
                        r = vs_create(w.client, path, NULL, 0, 0, NULL);
                        if (r == 0 || r == VS_ERR_NODE_EXISTS)
                                break;
                        if (now_usec() > until) {
                                fprintf(stderr, "setup: cannot create %s: %s\n", path, vs_strerror(r));
                                return 2;
                        }
                }
        }

        w.procs = calloc(processes, sizeof *w.procs);
        w.start = now_usec();
        w.deadline = w.start + duration * 1000;
        for (unsigned i = 0; i < processes; i++) {
                struct process *p = &w.procs[i];
                *p = (struct process) { .w = &w, .id = i, .versions = malloc(keys * sizeof(uint64_t)),
                                        .seen = malloc(keys * sizeof(int64_t)) };
                for (unsigned k = 0; k < keys; k++)
                        p->versions[k] = UINT64_MAX;
        }
        for (unsigned i = 0; i < processes; i++)
                issue(&w.procs[i]);
        r = drain(&w);

        /* Final reads: every acknowledged write must still be there. */
        w.deadline = UINT64_MAX;
        for (unsigned k = 0; r >= 0 && k < keys; k++) {
                struct process *p = &w.procs[k % processes];
                char path[64];
                vs_op *op = NULL;
                p->final = true;
                p->key = k;
                p->f = LC_READ;
                p->value = p->expected = LC_NIL;
                key_path(path, k);
                if (vs_op_get(&op, path) >= 0)
                        submit(p, op);
                r = drain(&w);
        }

        if (history) {
                FILE *f = fopen(history, "we");
                if (!f || lc_history_write_jsonl(w.h, f) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "cannot write %s\n", history);
                        return 2;
                }
        }
        struct lc_result res = {};
        int k = lc_check(w.h, &res);
        printf("%lu ok, %lu failed, %lu indeterminate; %s\n", w.ok, w.failed, w.info,
               k < 0 ? "check undecided" : res.linearizable ? "linearizable" : "NOT linearizable");
        if (k >= 0 && !res.linearizable)
                printf("key %s:\n%s\n", res.key, res.explanation);
        bool good = k >= 0 && res.linearizable && w.ok >= min_ok;
        lc_result_done(&res);
        for (unsigned i = 0; i < processes; i++) {
                free(w.procs[i].versions);
                free(w.procs[i].seen);
        }
        free(w.procs);
        free(nodes);
        lc_history_free(w.h);
        vs_client_free(w.client);
        return good ? 0 : 1;
}
