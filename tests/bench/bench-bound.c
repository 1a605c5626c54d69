/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * bench-bound DIR [ROUNDS]: the physical floor under one outstanding replicated write on this
 * machine. Measures the latency of writing a small record over preallocated blocks and
 * fdatasync()ing it in DIR (the disk the journals live on), and of a TCP ping-pong on loopback
 * with TCP_NODELAY, and prints the medians (and the sync's 90th percentile) and the bound: one
 * fdatasync plus one and a half round trips per op (client -> primary, primary <-> backups,
 * primary -> client, with the backups' syncs overlapping the primary's). Also prints the median
 * sync while three files are synced at once, as a loopback cluster's three journals share one
 * disk (not part of the bound, which assumes a disk per node). Figures only; it passes or fails
 * nothing.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

#define CONCURRENT_SYNCS 3

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Sorts ns and returns its quantile q in microseconds. */
static double quantile_us(uint64_t *ns, size_t n, double q) {
        qsort(ns, n, sizeof *ns, compare_u64);
        return (double) ns[(size_t) (q * (double) (n - 1))] / 1000.0;
}

/* Writes 256-byte records, each followed by fdatasync, over zeros written and synced beforehand,
 * as the journal does (journal.c: PREALLOC_BYTES), so the syncs commit no size change. */
static int measure_fdatasync(const char *dir, uint64_t *ns, size_t rounds) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/bench-bound.XXXXXX", dir) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = mkstemp(path);
        if (fd < 0)
                return -errno;
        (void) unlink(path);

        char record[256];
        memset(record, 0, sizeof record);
        for (size_t i = 0; i < rounds; i++)
                if (write(fd, record, sizeof record) != (ssize_t) sizeof record)
                        return -EIO;
        if (fdatasync(fd) < 0)
                return -errno;

        memset(record, 'x', sizeof record);
        for (size_t i = 0; i < rounds; i++) {
                uint64_t start = now_ns();
                if (pwrite(fd, record, sizeof record, (off_t) (i * sizeof record)) != (ssize_t) sizeof record)
                        return -EIO;
                if (fdatasync(fd) < 0)
                        return -errno;
                ns[i] = now_ns() - start;
        }
        return 0;
}

struct sync_job {
        const char *dir;
        uint64_t *ns;
        size_t rounds;
        pthread_t thread;
        int r;
};

static void *sync_thread(void *userdata) {
        struct sync_job *job = userdata;
        job->r = measure_fdatasync(job->dir, job->ns, job->rounds);
        return NULL;
}

/* Three writers syncing their own files at once, as the three journals of a loopback cluster
 * do: whether this disk overlaps concurrent flushes or queues them. */
static int measure_concurrent_fdatasync(const char *dir, uint64_t *ns, size_t rounds) {
        struct sync_job jobs[CONCURRENT_SYNCS];
        size_t started = 0;
        int r = 0;
        for (; started < CONCURRENT_SYNCS; started++) {
                jobs[started] = (struct sync_job) {
                        .dir = dir, .ns = ns + started * rounds, .rounds = rounds };
                if (pthread_create(&jobs[started].thread, NULL, sync_thread, &jobs[started]) != 0) {
                        r = -EAGAIN;
                        break;
                }
        }
        for (size_t i = 0; i < started; i++) {
                pthread_join(jobs[i].thread, NULL);
                if (jobs[i].r < 0)
                        r = jobs[i].r;
        }
        return r;
}

static void set_nodelay(int fd) {
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void *echo_thread(void *userdata) {
        int listener = *(int *) userdata;
        _cleanup_close_ int fd = accept(listener, NULL, NULL);
        if (fd < 0)
                return NULL;
        set_nodelay(fd);
        char buf[64];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                if (write(fd, buf, (size_t) n) != n)
                        break;
        return NULL;
}

/* A 64-byte ping answered by a 64-byte pong over loopback TCP, between two threads. */
static int measure_round_trip(uint64_t *ns, size_t rounds) {
        _cleanup_close_ int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener < 0)
                return -errno;
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof addr;
        if (bind(listener, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(listener, 1) < 0 ||
            getsockname(listener, (struct sockaddr *) &addr, &len) < 0)
                return -errno;

        pthread_t echo;
        if (pthread_create(&echo, NULL, echo_thread, &listener) != 0)
                return -EAGAIN;

        int r = 0;
        {
                _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0)
                        r = -errno;
                else {
                        set_nodelay(fd);
                        char buf[64] = { 0 };
                        for (size_t i = 0; i < rounds && r == 0; i++) {
                                uint64_t start = now_ns();
                                size_t got = 0;
                                if (write(fd, buf, sizeof buf) != (ssize_t) sizeof buf)
                                        r = -EIO;
                                while (r == 0 && got < sizeof buf) {
                                        ssize_t n = read(fd, buf + got, sizeof buf - got);
                                        if (n <= 0)
                                                r = -EIO;
                                        else
                                                got += (size_t) n;
                                }
                                ns[i] = now_ns() - start;
                        }
                }
        } /* closing the client ends the echo thread */
        pthread_join(echo, NULL);
        return r;
}

int main(int argc, char *argv[]) {
        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: bench-bound DIR [ROUNDS]\n");
                return 2;
        }
        size_t rounds = argc == 3 ? strtoul(argv[2], NULL, 10) : 500;
        if (rounds == 0) {
                fprintf(stderr, "bench-bound: ROUNDS must be a positive number\n");
                return 2;
        }
        /* Round trips are cheap: take more of them for a steadier median. */
        _cleanup_free_ uint64_t *ns = calloc(rounds * 20 + rounds * CONCURRENT_SYNCS, sizeof *ns);
        if (!ns)
                return 1;

        int r = measure_fdatasync(argv[1], ns, rounds);
        if (r < 0) {
                fprintf(stderr, "bench-bound: fdatasync in %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        double sync_us = quantile_us(ns, rounds, 0.5), sync_p90_us = quantile_us(ns, rounds, 0.9);

        r = measure_round_trip(ns, rounds * 20);
        if (r < 0) {
                fprintf(stderr, "bench-bound: loopback round trip: %s\n", strerror(-r));
                return 1;
        }
        double rtt_us = quantile_us(ns, rounds * 20, 0.5);

        r = measure_concurrent_fdatasync(argv[1], ns, rounds);
        if (r < 0) {
                fprintf(stderr, "bench-bound: concurrent fdatasync in %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        double sync3_us = quantile_us(ns, rounds * CONCURRENT_SYNCS, 0.5);

        double bound_us = sync_us + 1.5 * rtt_us;
        printf("fdatasync_us %.1f\nfdatasync_p90_us %.1f\nfdatasync_concurrent_us %.1f\nrtt_us %.1f\n"
               "bound_us %.1f\nbound_ops %.0f\n",
               sync_us, sync_p90_us, sync3_us, rtt_us, bound_us, 1e6 / bound_us);
        return 0;
}
