/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transport cost over loopback: a client and an echo server, both vs_conn on one sd-event loop
 * in one thread, exchanging Ping/Pong envelopes. For each window (outstanding Pings) prints
 * round trips per second and round-trip latency percentiles. Both ends share the CPU, so the
 * figures are the transport's own cost per message, not a network measurement. With --tls both
 * ends speak TLS 1.3 ECDHE-PSK as peer links do, so the difference is what TLS costs.
 *
 *   bench-conn [--tls] [SECONDS_PER_WINDOW]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "msg.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/tls.h"
#include "util/cleanup.h"

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static sd_event *event;
static struct vs_conn *server_conn, *client_conn;
static uint64_t *samples;
static size_t n_samples, cap_samples;
static size_t window, in_flight;
static bool measuring;
static bool use_tls;
static const uint8_t key[VS_TLS_PSK_SIZE] = { 42 };

static int send_ping(struct vs_conn *c, uint64_t nonce) {
        struct msg m;
        return vs_conn_send(c, msg_ping(&m, 0, nonce));
}

static int server_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct msg m;
        return vs_conn_send(c, msg_pong(&m, 0, env->ping->nonce));
}

static int client_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        uint64_t now = now_ns();
        if (measuring && n_samples < cap_samples)
                samples[n_samples++] = now - env->pong->nonce;
        in_flight--;
        while (in_flight < window) {
                int r = send_ping(c, now_ns());
                if (r < 0)
                        return r;
                in_flight++;
        }
        return 0;
}

static void on_close(struct vs_conn *c, int reason, void *userdata) {
        fprintf(stderr, "connection closed: %s\n", strerror(-reason));
        exit(EXIT_FAILURE);
}

static const struct vs_conn_callbacks server_cb = { server_envelope, on_close };
static const struct vs_conn_callbacks client_cb = { client_envelope, on_close };

static int lookup(const char *identity, uint8_t k[VS_TLS_PSK_SIZE], char *why, void *userdata) {
        memcpy(k, key, VS_TLS_PSK_SIZE);
        return 0;
}

/* The session one end speaks: TLS as peer links do, or none. */
static int tls_for(bool server, struct vs_tls **ret) {
        *ret = NULL;
        if (!use_tls)
                return 0;
        return server ? vs_tls_new_psk_server(lookup, NULL, ret) : vs_tls_new_psk_client("bench", key, ret);
}

static int on_accept(struct vs_listener *l, int fd, const struct vs_address *remote, void *userdata) {
        struct vs_tls *tls;
        int r = tls_for(true, &tls);
        if (r < 0) {
                close(fd);
                return r;
        }
        return vs_conn_new_tls(event, fd, tls, NULL, &server_cb, NULL, &server_conn);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double pct(double p) {
        size_t i = (size_t) (p * (double) (n_samples - 1));
        return (double) samples[i] / 1000.0;
}

static void run_window(size_t w, double seconds) {
        window = w;
        while (in_flight < window) {
                if (send_ping(client_conn, now_ns()) < 0)
                        exit(EXIT_FAILURE);
                in_flight++;
        }
        /* Warm up, then measure. */
        uint64_t end = now_ns() + 200000000u;
        while (now_ns() < end)
                sd_event_run(event, 1000);
        n_samples = 0;
        measuring = true;
        uint64_t start = now_ns();
        end = start + (uint64_t) (seconds * 1e9);
        while (now_ns() < end)
                sd_event_run(event, 1000);
        measuring = false;
        double elapsed = (double) (now_ns() - start) / 1e9;
        size_t n = n_samples;
        qsort(samples, n, sizeof *samples, cmp_u64);
        printf("%8zu %14.0f %10.1f %10.1f %10.1f\n", w, (double) n / elapsed, pct(0.5), pct(0.99), pct(0.999));
        /* Drain before the next window. */
        window = 0;
        while (in_flight > 0)
                sd_event_run(event, 1000);
}

int main(int argc, char **argv) {
        int arg = 1;
        if (argc > arg && strcmp(argv[arg], "--tls") == 0) {
                use_tls = true;
                arg++;
        }
        double seconds = argc > arg ? atof(argv[arg]) : 2.0;
        if (seconds <= 0 || argc > arg + 1) {
                fprintf(stderr, "usage: %s [--tls] [SECONDS_PER_WINDOW]\n", argv[0]);
                return EXIT_FAILURE;
        }
        cap_samples = 20u * 1000u * 1000u; /* untouched pages cost nothing */
        samples = malloc(cap_samples * sizeof *samples);
        if (!samples || sd_event_new(&event) < 0)
                return EXIT_FAILURE;

        struct vs_address a = { .len = sizeof a.in };
        a.in.sin_family = AF_INET;
        a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        struct vs_listener *l;
        if (vs_listener_new(event, &a, 4, on_accept, NULL, &l) < 0)
                return EXIT_FAILURE;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, &vs_listener_address(l)->sa, vs_listener_address(l)->len) < 0 ||
            fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return EXIT_FAILURE;
        struct vs_tls *tls;
        if (tls_for(false, &tls) < 0 || vs_conn_new_tls(event, fd, tls, NULL, &client_cb, NULL, &client_conn) < 0)
                return EXIT_FAILURE;
        while (!server_conn)
                sd_event_run(event, 1000);

        printf("# vs_conn Ping/Pong over loopback%s, client and server on one loop, %.1f s per window\n",
               use_tls ? " with TLS 1.3 ECDHE-PSK" : "", seconds);
        printf("# %6s %14s %10s %10s %10s\n", "window", "round trips/s", "p50 us", "p99 us", "p99.9 us");
        const size_t windows[] = { 1, 16, 64, 256 };
        for (size_t i = 0; i < ELEMENTSOF(windows); i++)
                run_window(windows[i], seconds);

        vs_conn_free(client_conn);
        vs_conn_free(server_conn);
        vs_listener_free(l);
        sd_event_unref(event);
        free(samples);
        return EXIT_SUCCESS;
}
