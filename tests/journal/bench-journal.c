/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * bench-journal [DIR [SECONDS]]: figures for the journal on the device holding DIR (default: a
 * fresh directory under the current one; SECONDS per measurement, default 2).
 *
 *  1. the device's raw rate of append + fdatasync, measured here, as the ceiling (in slices
 *     alternating with the journal's 1-record batches, because the device's rate drifts);
 *  2. the journal, closed loop (append a batch, commit, wait until durable, repeat), for 1, 8, 64
 *     and 512 records of 128-byte commands per batch: records/s, MB/s, and the p50/p99 latency
 *     from append to the durable callback;
 *        - 1 tenant;
 *        - 100 tenants taking turns (the same records per batch, spread over tenants);
 *        - 100 tenants each appending the batch size (100 times the records per batch);
 *  3. the alternative design, one file per tenant, 100 tenants with one record each per turn:
 *     one fdatasync per tenant file, against the shared journal doing the same work.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"
#include "log/log.h"
#include "util/cleanup.h"

#define COMMAND_BYTES 128
#define MAX_TENANTS 100
#define SLICES 5

static double seconds = 2.0;
static char dir[4096];

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-journal: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

static double raw_fdatasync_rate(double secs) {
        char path[4200];
        uint8_t rec[VS_FORMAT_RECORD_HEADER_SIZE + VS_FORMAT_ENTRY_FIXED + COMMAND_BYTES] = {};
        snprintf(path, sizeof(path), "%s/raw", dir);
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                die(path, -errno);
        unsigned n = 0;
        double start = now(), t;
        off_t off = 0;
        do {
                if (pwrite(fd, rec, sizeof(rec), off) != (ssize_t) sizeof(rec) || fdatasync(fd) < 0)
                        die("raw write", -errno);
                off += (off_t) sizeof(rec);
                n++;
        } while ((t = now()) - start < secs);
        unlink(path);
        return n / (t - start);
}

/* One file per tenant: what the node-wide journal is chosen against. */
static double per_tenant_files_rate(unsigned tenants, double secs) {
        int fds[MAX_TENANTS];
        uint8_t rec[VS_FORMAT_RECORD_HEADER_SIZE + VS_FORMAT_ENTRY_FIXED + COMMAND_BYTES] = {};
        char path[4200];
        for (unsigned i = 0; i < tenants; i++) {
                snprintf(path, sizeof(path), "%s/tenant-%u", dir, i);
                fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fds[i] < 0)
                        die(path, -errno);
        }
        unsigned long n = 0;
        off_t off = 0;
        double start = now(), t;
        do {
                for (unsigned i = 0; i < tenants; i++)
                        if (pwrite(fds[i], rec, sizeof(rec), off) != (ssize_t) sizeof(rec))
                                die("per-tenant write", -errno);
                for (unsigned i = 0; i < tenants; i++)
                        if (fdatasync(fds[i]) < 0)
                                die("per-tenant fdatasync", -errno);
                off += (off_t) sizeof(rec);
                n += tenants;
        } while ((t = now()) - start < secs);
        for (unsigned i = 0; i < tenants; i++) {
                close(fds[i]);
                snprintf(path, sizeof(path), "%s/tenant-%u", dir, i);
                unlink(path);
        }
        return n / (t - start);
}

struct waiter {
        uint64_t durable[MAX_TENANTS];
};

static void on_durable(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        struct waiter *w = ctx;
        if (error != 0)
                die("durable callback", error);
        w->durable[tenant] = seq;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* One configuration's measurements, accumulated over the slices it ran in. */
struct series {
        uint64_t records;
        uint64_t bytes;
        double elapsed;
        double *lat;
        size_t n_lat;
        size_t cap;
};

static void series_add_latency(struct series *s, double v) {
        if (s->n_lat == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 1 << 16;
                s->lat = realloc(s->lat, s->cap * sizeof(double));
                if (!s->lat)
                        die("realloc", -ENOMEM);
        }
        s->lat[s->n_lat++] = v;
}

/* Closed loop: per_batch records over `tenants` tenants (round robin), commit, wait, repeat. */
static void run_journal(struct series *out, unsigned tenants, unsigned per_batch, double secs) {
        static unsigned run_id;
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/j%u", dir, run_id++);
        if (mkdir(sub, 0700) < 0)
                die(sub, -errno);
        struct vs_journal_options o = { .dir = sub, .cluster_id = 1, .node_id = 1,
                                        .compact_bytes = UINT64_C(1) << 40 };
        struct vs_journal *j;
        char err[256] = "";
        int r = vs_journal_open(&o, &j, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "bench-journal: %s\n", err);
                exit(EXIT_FAILURE);
        }
        vs_journal_recovery_done(j);

        uint8_t command[COMMAND_BYTES];
        memset(command, 0x5a, sizeof(command));
        uint64_t seq[MAX_TENANTS] = {};
        struct waiter w = {};
        double *issued = malloc(per_batch * sizeof(double));
        unsigned *owner = malloc(per_batch * sizeof(unsigned));
        uint64_t *want = malloc(per_batch * sizeof(uint64_t));
        if (!issued || !owner || !want)
                die("malloc", -ENOMEM);
        uint64_t records = 0, start_size = vs_journal_size(j);
        unsigned cursor = 0;

        double start = now(), t;
        do {
                for (unsigned i = 0; i < per_batch; i++) {
                        unsigned tenant = cursor++ % tenants;
                        struct vr_record e = {
                                .kind = VR_RECORD_ENTRY, .seq = ++seq[tenant],
                                .entry = { .op = seq[tenant], .view = 1, .client_id = 7, .request = seq[tenant],
                                           .len = COMMAND_BYTES, .data = command },
                        };
                        issued[i] = now();
                        owner[i] = tenant;
                        want[i] = seq[tenant];
                        r = vs_journal_append(j, tenant, &e);
                        if (r < 0)
                                die("append", r);
                }
                vs_journal_commit(j);
                /* Each record's latency ends when the callback covering it has run. */
                unsigned left = per_batch;
                while (left > 0) {
                        struct pollfd p = { .fd = vs_journal_fd(j), .events = POLLIN };
                        if (poll(&p, 1, 10000) != 1)
                                die("poll", -ETIMEDOUT);
                        vs_journal_dispatch(j, on_durable, NULL, &w);
                        double done = now();
                        for (unsigned i = 0; i < per_batch; i++)
                                if (issued[i] > 0 && w.durable[owner[i]] >= want[i]) {
                                        series_add_latency(out, done - issued[i]);
                                        issued[i] = 0;
                                        left--;
                                }
                }
                records += per_batch;
        } while ((t = now()) - start < secs);

        out->bytes += vs_journal_size(j) - start_size;
        out->records += records;
        out->elapsed += t - start;
        vs_journal_close(j);
        free(issued);
        free(owner);
        free(want);
        char cmd[4300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
        if (system(cmd) != 0)
                die("cleanup", -EIO);
}

static double rate(const struct series *s) {
        return s->records / s->elapsed;
}

/* Prints a row and frees the series. */
static void row(const char *what, unsigned tenants, unsigned per_batch, struct series *s, double ref) {
        qsort(s->lat, s->n_lat, sizeof(double), cmp_double);
        printf("%-26s %7u %9u %12.0f %8.2f %9.0f %9.0f", what, tenants, per_batch, rate(s),
               s->bytes / s->elapsed / 1e6, s->lat[s->n_lat / 2] * 1e6, s->lat[(size_t) (s->n_lat * 0.99)] * 1e6);
        if (ref > 0)
                printf(" %7.1f%%", 100.0 * rate(s) / ref);
        printf("\n");
        free(s->lat);
}

int main(int argc, char **argv) {
        const unsigned batches[] = { 1, 8, 64, 512 };

        vs_log_set_level(VS_LOG_WARNING);
        if (argc > 1)
                snprintf(dir, sizeof(dir), "%s/bench-journal-XXXXXX", argv[1]);
        else
                snprintf(dir, sizeof(dir), "bench-journal-XXXXXX");
        if (argc > 2)
                seconds = atof(argv[2]);
        if (!mkdtemp(dir))
                die(dir, -errno);

        /* The device's rate drifts (and other users share it): every comparison runs its sides in
         * alternating slices, so that drift hits both alike. */
        printf("device under %s\n", dir);
        printf("%-26s %7s %9s %12s %8s %9s %9s %8s\n", "journal", "tenants", "per-batch", "records/s", "MB/s",
               "p50(us)", "p99(us)", "vs-ref");
        double files = 0;
        for (size_t i = 0; i < ELEMENTSOF(batches); i++) {
                unsigned b = batches[i];
                struct series one = {}, rr = {}, each = {};
                double raw = 0;
                for (int k = 0; k < SLICES; k++) {
                        if (b == 1) {
                                raw += raw_fdatasync_rate(seconds / SLICES) / SLICES;
                                files += per_tenant_files_rate(100, seconds / SLICES) / SLICES;
                        }
                        run_journal(&one, 1, b, seconds / SLICES);
                        run_journal(&rr, 100, b, seconds / SLICES);
                        run_journal(&each, 100, 100 * b, seconds / SLICES);
                }
                if (b == 1)
                        printf("%-26s %7s %9u %12.0f %8s %9.0f %9s\n", "raw append+fdatasync", "-", 1u, raw, "-",
                               1e6 / raw, "-");
                double ref = rate(&one);
                row("1 tenant", 1, b, &one, b == 1 ? raw : 0);
                row("100 tenants, round robin", 100, b, &rr, ref);
                if (b == 1)
                        printf("%-26s %7u %9u %12.0f %8s %9s %9s %7.1f%%\n", "100 tenant files, 1 each", 100u, 1u,
                               files, "-", "-", "-", 100.0 * files / rate(&each));
                row("100 tenants, each a batch", 100, 100 * b, &each, ref);
        }
        printf("\nvs-ref: 1 tenant against the raw sync rate; 100 tenants against 1 tenant at the same batch\n"
               "size; one file per tenant (100 fdatasyncs per turn) against the shared journal's 100 x 1\n");

        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
