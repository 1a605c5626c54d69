/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viewstamp-bench: a closed-loop load generator on libviewstamp. Each connection is a vs_client
 * on its own thread keeping --outstanding requests in flight (one session each); every
 * completion immediately submits the next request. Keys are /PREFIX/k0 ... picked uniformly; a
 * read is a get, a write a set, a cas a set expecting the version this connection last saw for
 * that key (a mismatch is counted as a conflict, not an error). Prints throughput and latency
 * quantiles.
 *
 * With --history, every op is also recorded for the linearizability checker (bench/history.h):
 * each request slot is a process, writes store unique integers as decimal text, the keys start
 * empty (absent), and a cas's expected value is the one this connection saw with that version
 * (a node's version identifies its value, so the cas succeeds exactly when the value is that).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/histogram.h"
#include "bench/history.h"
#include "client/viewstamp.h"
#include "util/cleanup.h"

enum kind { KIND_READ, KIND_WRITE, KIND_CAS, _KIND_MAX };

struct config {
        const char *tenant;
        const char *token; /* the tenant's access token, or NULL */
        const char **nodes;
        size_t n_nodes;
        unsigned connections, outstanding;
        unsigned mix[_KIND_MAX]; /* percent */
        size_t value_size;
        unsigned keys;
        double duration;
        const char *prefix;
        char *value;
        const char *history_path;
        struct history *history; /* NULL: not recording */
        const char *tls_ca, *tls_server_name; /* TLS when tls_ca is set */
};

struct slot {
        struct worker *w;
        uint64_t process;
        uint64_t start;
        enum kind kind;
        unsigned key;
        int64_t written;  /* history: the value a write or cas stores */
};

struct worker {
        const struct config *cfg;
        unsigned index;
        pthread_t thread;
        vs_client *client;
        uint64_t rng;
        uint64_t end;
        unsigned inflight;
        struct slot *slots;
        struct slot **free_slots;
        unsigned n_free;
        struct histogram hist;
        uint64_t done[_KIND_MAX], conflicts, errors;
        int first_error;
        uint64_t *version;  /* per key: the version this connection last saw */
        int64_t *seen;      /* history: per key, the value that went with it */
        uint64_t written;   /* history: writes so far, for unique values */
};

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* xorshift64*: plenty for picking keys, and private to each thread. */
static uint64_t next_random(uint64_t *s) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * UINT64_C(2685821657736338717);
}

static void key_path(const struct config *cfg, unsigned key, char *buf, size_t size) {
        snprintf(buf, size, "%s/k%u", cfg->prefix, key);
}

static void on_done(vs_client *c, vs_result *r, void *userdata);

static const enum history_fn history_fns[] = {
        [KIND_READ] = HISTORY_READ,
        [KIND_WRITE] = HISTORY_WRITE,
        [KIND_CAS] = HISTORY_CAS,
};

static void record(struct slot *s, enum history_type type, int64_t value, int64_t expected) {
        const struct config *cfg = s->w->cfg;
        if (!cfg->history)
                return;
        char path[256];
        key_path(cfg, s->key, path, sizeof path);
        history_add(cfg->history, s->process, type, history_fns[s->kind], path, value, expected);
}

/* Whether a failed request certainly did not take effect (see viewstamp.h), or might have. */
static enum history_type failure_type(int error) {
        switch (error) {
        case -ESTALE:
        case -ENXIO:
        case -EPROTO:
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
                return HISTORY_FAIL;
        default:
                return error > 0 ? HISTORY_FAIL : HISTORY_INFO;
        }
}

static void submit_next(struct worker *w) {
        const struct config *cfg = w->cfg;
        struct slot *s = w->free_slots[--w->n_free];
        uint64_t rnd = next_random(&w->rng);
        unsigned pick = (unsigned) (rnd % 100);
        s->kind = pick < cfg->mix[KIND_READ] ? KIND_READ
                  : pick < cfg->mix[KIND_READ] + cfg->mix[KIND_WRITE] ? KIND_WRITE
                                                                      : KIND_CAS;
        s->key = (unsigned) ((rnd >> 32) % cfg->keys);
        char path[256];
        key_path(cfg, s->key, path, sizeof path);

        vs_op *op = NULL;
        int r;
        if (s->kind == KIND_READ) {
                r = vs_op_get(&op, path);
                record(s, HISTORY_INVOKE, HISTORY_NIL, HISTORY_NIL);
        } else {
                const char *value = cfg->value;
                size_t len = cfg->value_size;
                char number[24];
                int64_t expected = HISTORY_NIL;
                if (cfg->history) {
                        s->written = (int64_t) ((uint64_t) (w->index + 1) << 40 | ++w->written);
                        len = (size_t) snprintf(number, sizeof number, "%" PRId64, s->written);
                        value = number;
                        expected = w->seen[s->key];
                }
                r = vs_op_set(&op, path, value, len, s->kind == KIND_CAS ? w->version[s->key] : VS_VERSION_ANY);
                record(s, HISTORY_INVOKE, s->written, expected);
        }
        s->start = now_ns();
        if (r >= 0)
                r = vs_submit(w->client, op, on_done, s);
        if (r < 0) {
                record(s, HISTORY_FAIL, HISTORY_NIL, HISTORY_NIL);
                w->errors++;
                if (!w->first_error)
                        w->first_error = r;
                w->free_slots[w->n_free++] = s;
                return;
        }
        w->inflight++;
}

/* A read's result as the history's integer: empty is absent, anything not a number we wrote
 * becomes -1, which no write stores, so the checker reports it. */
static int64_t read_value(const vs_result *r) {
        size_t len;
        const char *v = vs_result_value(r, &len);
        if (len == 0)
                return HISTORY_NIL;
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        return errno || (size_t) (end - v) != len || n < 0 ? -1 : n;
}

static void on_done(vs_client *c, vs_result *r, void *userdata) {
        struct slot *s = userdata;
        struct worker *w = s->w;
        uint64_t t = now_ns();
        int e = vs_result_error(r);
        struct vs_stat st;
        if (e == 0) {
                histogram_record(&w->hist, t - s->start);
                w->done[s->kind]++;
                int64_t value = s->kind == KIND_READ ? read_value(r) : s->written;
                if (vs_result_stat(r, &st) == 0) {
                        w->version[s->key] = st.version;
                        if (w->seen)
                                w->seen[s->key] = value;
                }
                record(s, HISTORY_OK, s->kind == KIND_READ ? value : HISTORY_NIL, HISTORY_NIL);
        } else if (e == VS_ERR_BAD_VERSION && s->kind == KIND_CAS) {
                histogram_record(&w->hist, t - s->start);
                w->conflicts++;
                record(s, HISTORY_FAIL, HISTORY_NIL, HISTORY_NIL);
        } else {
                w->errors++;
                if (!w->first_error)
                        w->first_error = e;
                record(s, failure_type(e), HISTORY_NIL, HISTORY_NIL);
        }
        vs_result_free(r);
        w->inflight--;
        w->free_slots[w->n_free++] = s;
        if (t < w->end)
                submit_next(w);
}

static void *run_worker(void *userdata) {
        struct worker *w = userdata;
        w->end = now_ns() + (uint64_t) (w->cfg->duration * 1e9);
        for (unsigned i = 0; i < w->cfg->outstanding; i++)
                submit_next(w);
        while (w->inflight > 0)
                (void) vs_client_wait(w->client, UINT64_MAX);
        return NULL;
}

static int client_new(const struct config *cfg, unsigned sessions, vs_client **ret) {
        vs_client *c;
        int r = vs_client_new(&c, cfg->tenant);
        if (r < 0)
                return r;
        for (size_t i = 0; i < cfg->n_nodes && r >= 0; i++)
                r = vs_client_add_node(c, cfg->nodes[i]);
        if (r >= 0)
                r = vs_client_set_max_sessions(c, sessions);
        if (r >= 0 && cfg->tls_ca)
                r = vs_client_set_tls(c, cfg->tls_ca, cfg->tls_server_name);
        if (r >= 0 && cfg->token && *cfg->token)
                r = vs_client_set_token(c, cfg->token, strlen(cfg->token));
        if (r < 0) {
                vs_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

struct setup {
        unsigned next, inflight, failed;
        int error;
        bool reset; /* second pass: empty every value */
        const struct config *cfg;
};

static void submit_setup(vs_client *c, struct setup *s);

static void on_setup(vs_client *c, vs_result *r, void *userdata) {
        struct setup *s = userdata;
        int e = vs_result_error(r);
        if (e != 0 && (s->reset || e != VS_ERR_NODE_EXISTS)) {
                s->failed++;
                s->error = e;
        }
        vs_result_free(r);
        s->inflight--;
        if (s->next < s->cfg->keys && s->failed == 0)
                submit_setup(c, s);
}

static void submit_setup(vs_client *c, struct setup *s) {
        char path[256];
        key_path(s->cfg, s->next++, path, sizeof path);
        vs_op *op;
        int r = s->reset ? vs_op_set(&op, path, NULL, 0, VS_VERSION_ANY)
                         : vs_op_create(&op, path, s->cfg->value, s->cfg->history ? 0 : s->cfg->value_size, 0);
        if (r >= 0)
                r = vs_submit(c, op, on_setup, s);
        if (r < 0) {
                s->failed++;
                s->error = r;
                return;
        }
        s->inflight++;
}

static int setup_pass(vs_client *c, const struct config *cfg, bool reset) {
        struct setup s = { .cfg = cfg, .reset = reset };
        while (s.next < cfg->keys && s.inflight < 64 && s.failed == 0)
                submit_setup(c, &s);
        while (s.inflight > 0)
                (void) vs_client_wait(c, UINT64_MAX);
        return s.failed ? s.error : 0;
}

/* Creates the prefix and every key (keeping what exists), pipelined; for a history, every key
 * then starts empty, that is absent. */
static int create_keys(const struct config *cfg) {
        vs_client *c;
        int r = client_new(cfg, 64, &c);
        if (r < 0)
                return r;
        r = vs_create(c, cfg->prefix, NULL, 0, 0, NULL);
        if (r == VS_ERR_NODE_EXISTS)
                r = 0;
        if (r == 0)
                r = setup_pass(c, cfg, false);
        if (r == 0 && cfg->history)
                r = setup_pass(c, cfg, true);
        vs_client_free(c);
        return r;
}

static int parse_mix(const char *s, unsigned mix[_KIND_MAX]) {
        unsigned a, b, c;
        char end;
        if (sscanf(s, "%u:%u:%u%c", &a, &b, &c, &end) != 3 || a + b + c != 100)
                return -EINVAL;
        mix[KIND_READ] = a;
        mix[KIND_WRITE] = b;
        mix[KIND_CAS] = c;
        return 0;
}

static void help(void) {
        printf("viewstamp-bench [OPTIONS...]\n\n"
               "  -t --tenant=NAME        tenant to load (required)\n"
               "  -n --node=ADDRESS       a node's client address, repeatable (default 127.0.0.1:7501)\n"
               "  -a --token=TOKEN        the tenant's access token (default: $VIEWSTAMP_TOKEN)\n"
               "  -c --connections=N      clients, one thread each (default 1)\n"
               "  -o --outstanding=N      requests in flight per connection (default 16)\n"
               "  -m --mix=R:W:C          percent of reads, writes, cas (default 50:50:0)\n"
               "  -s --value-size=BYTES   bytes per written value (default 100)\n"
               "  -k --keys=N             distinct keys (default 1000)\n"
               "  -d --duration=SECONDS   how long to run (default 10)\n"
               "  -p --prefix=PATH        parent of the keys (default /bench)\n"
               "  -H --history=FILE       record every op for vs-lincheck (values become integers)\n"
               "     --tls-ca=FILE        connect with TLS, trusting the CA certificates in FILE\n"
               "     --tls-server-name=NAME  the name nodes' certificates carry (default: their IP)\n");
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || *s < '0' || *s > '9' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_args(int argc, char **argv, struct config *cfg) {
        enum { OPT_TLS_CA = 0x100, OPT_TLS_SERVER_NAME };
        static const struct option options[] = {
                { "tenant", required_argument, NULL, 't' },
                { "node", required_argument, NULL, 'n' },
                { "token", required_argument, NULL, 'a' },
                { "connections", required_argument, NULL, 'c' },
                { "outstanding", required_argument, NULL, 'o' },
                { "mix", required_argument, NULL, 'm' },
                { "value-size", required_argument, NULL, 's' },
                { "keys", required_argument, NULL, 'k' },
                { "duration", required_argument, NULL, 'd' },
                { "prefix", required_argument, NULL, 'p' },
                { "history", required_argument, NULL, 'H' },
                { "tls-ca", required_argument, NULL, OPT_TLS_CA },
                { "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;
        unsigned size;
        while ((c = getopt_long(argc, argv, "t:n:a:c:o:m:s:k:d:p:H:h", options, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 't':
                        cfg->tenant = optarg;
                        break;
                case 'n': {
                        const char **v = reallocarray(cfg->nodes, cfg->n_nodes + 1, sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        v[cfg->n_nodes++] = optarg;
                        cfg->nodes = v;
                        break;
                }
                case 'a':
                        cfg->token = optarg;
                        r = strlen(optarg) > VS_TOKEN_MAX ? -EINVAL : 0;
                        break;
                case 'c':
                        r = parse_unsigned(optarg, 1, 4096, &cfg->connections);
                        break;
                case 'o':
                        r = parse_unsigned(optarg, 1, 65536, &cfg->outstanding);
                        break;
                case 'm':
                        r = parse_mix(optarg, cfg->mix);
                        break;
                case 's':
                        r = parse_unsigned(optarg, 0, 64u << 20, &size);
                        cfg->value_size = size;
                        break;
                case 'k':
                        r = parse_unsigned(optarg, 1, 100000000, &cfg->keys);
                        break;
                case 'd': {
                        char *end;
                        cfg->duration = strtod(optarg, &end);
                        r = *end || !(cfg->duration > 0) ? -EINVAL : 0;
                        break;
                }
                case 'p':
                        cfg->prefix = optarg;
                        break;
                case 'H':
                        cfg->history_path = optarg;
                        break;
                case OPT_TLS_CA:
                        cfg->tls_ca = optarg;
                        break;
                case OPT_TLS_SERVER_NAME:
                        cfg->tls_server_name = optarg;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "viewstamp-bench: invalid value for -%c: %s\n", c, optarg);
                        return r;
                }
        }
        if (cfg->tls_server_name && !cfg->tls_ca) {
                fprintf(stderr, "viewstamp-bench: --tls-server-name needs --tls-ca\n");
                return -EINVAL;
        }
        if (optind < argc || !cfg->tenant) {
                fprintf(stderr, "viewstamp-bench: %s (see --help)\n",
                        cfg->tenant ? "unexpected argument" : "--tenant is required");
                return -EINVAL;
        }
        return 0;
}

static void report(const struct config *cfg, struct worker *w, double elapsed) {
        struct histogram all = {};
        uint64_t done[_KIND_MAX] = {}, conflicts = 0, errors = 0;
        int first_error = 0;
        for (unsigned i = 0; i < cfg->connections; i++) {
                histogram_merge(&all, &w[i].hist);
                for (int k = 0; k < _KIND_MAX; k++)
                        done[k] += w[i].done[k];
                conflicts += w[i].conflicts;
                errors += w[i].errors;
                if (!first_error)
                        first_error = w[i].first_error;
        }
        uint64_t total = done[KIND_READ] + done[KIND_WRITE] + done[KIND_CAS] + conflicts;
        printf("viewstamp-bench: %u connection(s) x %u outstanding, mix %u:%u:%u (read:write:cas), "
               "%zu-byte values, %u keys, %.1f s\n",
               cfg->connections, cfg->outstanding, cfg->mix[KIND_READ], cfg->mix[KIND_WRITE], cfg->mix[KIND_CAS],
               cfg->value_size, cfg->keys, elapsed);
        printf("ops: %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64 ", cas %" PRIu64 ", cas conflicts %" PRIu64
               ", errors %" PRIu64 ")\n",
               total, done[KIND_READ], done[KIND_WRITE], done[KIND_CAS], conflicts, errors);
        printf("throughput: %.0f ops/s\n", (double) total / elapsed);
        printf("latency: p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
               (double) histogram_quantile(&all, 0.50) / 1e6, (double) histogram_quantile(&all, 0.99) / 1e6,
               (double) histogram_quantile(&all, 0.999) / 1e6, (double) all.max / 1e6);
        if (errors)
                printf("first error: %s\n", vs_strerror(first_error));
}

static void free_workers(struct worker *w, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                vs_client_free(w[i].client);
                free(w[i].version);
                free(w[i].seen);
                free(w[i].slots);
                free(w[i].free_slots);
        }
        free(w);
}

int main(int argc, char **argv) {
        static const char *const default_node = "127.0.0.1:7501";
        struct config cfg = {
                .connections = 1,
                .outstanding = 16,
                .mix = { 50, 50, 0 },
                .value_size = 100,
                .keys = 1000,
                .duration = 10,
                .prefix = "/bench",
                .token = getenv("VIEWSTAMP_TOKEN"),
        };
        int r = parse_args(argc, argv, &cfg);
        if (r < 0) {
                free(cfg.nodes);
                return 2;
        }
        if (cfg.n_nodes == 0) {
                cfg.nodes = malloc(sizeof *cfg.nodes);
                if (!cfg.nodes)
                        return 1;
                cfg.nodes[cfg.n_nodes++] = default_node;
        }
        _cleanup_free_ const char **nodes = cfg.nodes; /* cppcheck-suppress unreadVariable */
        _cleanup_free_ char *value = malloc(cfg.value_size + 1);
        if (!value)
                return 1;
        memset(value, 'v', cfg.value_size);
        cfg.value = value;
        struct history history;
        if (cfg.history_path) {
                r = history_open(&history, cfg.history_path);
                if (r < 0) {
                        fprintf(stderr, "viewstamp-bench: cannot write %s: %s\n", cfg.history_path, strerror(-r));
                        return 1;
                }
                cfg.history = &history;
        }

        r = create_keys(&cfg);
        if (r != 0) {
                fprintf(stderr, "viewstamp-bench: creating the keys under %s failed: %s\n", cfg.prefix, vs_strerror(r));
                return 1;
        }

        struct worker *w = calloc(cfg.connections, sizeof *w);
        if (!w)
                return 1;
        for (unsigned i = 0; i < cfg.connections; i++) {
                w[i].cfg = &cfg;
                w[i].index = i;
                w[i].rng = UINT64_C(0x9e3779b97f4a7c15) * (i + 1);
                w[i].slots = calloc(cfg.outstanding, sizeof *w[i].slots);
                w[i].free_slots = calloc(cfg.outstanding, sizeof *w[i].free_slots);
                w[i].version = calloc(cfg.keys, sizeof *w[i].version);
                if (cfg.history && (w[i].seen = malloc(cfg.keys * sizeof *w[i].seen)))
                        for (unsigned k = 0; k < cfg.keys; k++)
                                w[i].seen[k] = HISTORY_NIL;
                if (!w[i].slots || !w[i].free_slots || !w[i].version || (cfg.history && !w[i].seen) ||
                    client_new(&cfg, cfg.outstanding, &w[i].client) < 0) {
                        free_workers(w, cfg.connections);
                        return 1;
                }
                for (unsigned k = 0; k < cfg.outstanding; k++) {
                        w[i].slots[k] = (struct slot) { .w = &w[i], .process = (uint64_t) i * cfg.outstanding + k };
                        w[i].free_slots[w[i].n_free++] = &w[i].slots[k];
                }
        }

        uint64_t t0 = now_ns();
        unsigned started = 0;
        for (; started < cfg.connections; started++)
                if (pthread_create(&w[started].thread, NULL, run_worker, &w[started]) != 0)
                        break;
        for (unsigned i = 0; i < started; i++)
                pthread_join(w[i].thread, NULL);
        double elapsed = (double) (now_ns() - t0) / 1e9;

        report(&cfg, w, elapsed);
        free_workers(w, cfg.connections);
        if (cfg.history && (r = history_close(cfg.history)) < 0) {
                fprintf(stderr, "viewstamp-bench: writing %s failed: %s\n", cfg.history_path, strerror(-r));
                return 1;
        }
        return started == cfg.connections ? 0 : 1;
}
