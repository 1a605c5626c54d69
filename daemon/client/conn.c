/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/conn.h"
#include "util/cleanup.h"

void conn_init(struct conn *c) {
        *c = (struct conn) { .fd = -1 };
}

/* The IP address of a, for checking a certificate that names it. */
static void ip_of(const struct vs_address *a, char buf[INET6_ADDRSTRLEN]) {
        if (a->sa.sa_family == AF_INET6)
                inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, INET6_ADDRSTRLEN);
        else
                inet_ntop(AF_INET, &a->in.sin_addr, buf, INET6_ADDRSTRLEN);
}

int conn_open(struct conn *c, const struct vs_address *a, uint32_t max_frame, struct vs_tls_creds *creds,
              const char *server_name) {
        conn_close(c);
        if (creds) {
                char ip[INET6_ADDRSTRLEN];
                ip_of(a, ip);
                int r = vs_tls_new_cert_client(creds, server_name ? server_name : ip, &c->tls);
                if (r < 0)
                        return r;
        }
        int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
                int r = -errno;
                c->tls = vs_tls_free(c->tls);
                return r;
        }
        /* Requests are small and latency-bound; never wait for more to fill a segment. */
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->addr = *a;
        vs_address_to_string(a, c->name);
        if (connect(fd, &a->sa, a->len) == 0)
                c->tcp_up = true;
        else if (errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                c->tls = vs_tls_free(c->tls);
                return r;
        }
        vs_frame_reader_init(&c->reader, max_frame);
        c->fd = fd;
        if (c->tls)
                vs_tls_set_fd(c->tls, fd);
        c->connected = c->tcp_up && !c->tls;
        return 0;
}

void conn_close(struct conn *c) {
        if (c->fd >= 0) {
                close(c->fd);
                vs_frame_reader_done(&c->reader);
        }
        c->fd = -1;
        c->tls = vs_tls_free(c->tls);
        c->tls_retry = false;
        c->tcp_up = c->connected = false;
        c->out_start = c->out_end = 0;
}

int conn_finish_connect(struct conn *c) {
        if (!c->tcp_up) {
                int err = 0;
                socklen_t len = sizeof err;
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        return -errno;
                if (err)
                        return -err;
                c->tcp_up = true;
        }
        if (c->tls) {
                int r = vs_tls_handshake(c->tls);
                if (r < 0)
                        return r;
        }
        c->connected = true;
        return 0;
}

bool conn_connect_wants_write(const struct conn *c) {
        return !c->tcp_up || !c->tls || vs_tls_wants_write(c->tls);
}

uint8_t *conn_reserve(struct conn *c, size_t n) {
        if (c->out_start == c->out_end)
                c->out_start = c->out_end = 0;
        if (c->out_cap - c->out_end >= n)
                return c->out + c->out_end;
        /* Reclaim what was written before growing. */
        if (c->out_start > 0) {
                memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
                c->out_end -= c->out_start;
                c->out_start = 0;
                if (c->out_cap - c->out_end >= n)
                        return c->out + c->out_end;
        }
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_end < n)
                cap *= 2;
        uint8_t *b = realloc(c->out, cap);
        if (!b)
                return NULL;
        c->out = b;
        c->out_cap = cap;
        return c->out + c->out_end;
}

void conn_commit(struct conn *c, size_t n) {
        c->out_end += n;
}

/* Writes up to n bytes from p: how many the socket (or the session) took, -EAGAIN, or -errno. */
static ssize_t transport_send(struct conn *c, const uint8_t *p, size_t n) {
        if (c->tls) {
                /* A record the socket refused must be offered again as it is: the session kept it. */
                ssize_t k = c->tls_retry ? vs_tls_send(c->tls, NULL, 0)
                                         : vs_tls_send(c->tls, p, MIN(n, vs_tls_record_max(c->tls)));
                c->tls_retry = k == -EAGAIN;
                return k;
        }
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        return k >= 0 ? k : errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

int conn_flush(struct conn *c) {
        while (c->out_end > c->out_start) {
                ssize_t k = transport_send(c, c->out + c->out_start, c->out_end - c->out_start);
                if (k < 0)
                        return k == -EAGAIN ? 0 : (int) k;
                c->out_start += (size_t) k;
        }
        return 0;
}

int conn_fill(struct conn *c) {
        uint8_t buf[65536];
        ssize_t k;
        if (c->tls)
                k = vs_tls_recv(c->tls, buf, sizeof buf);
        else {
                k = recv(c->fd, buf, sizeof buf, 0);
                if (k < 0)
                        k = errno == EINTR ? -EAGAIN : -errno;
        }
        if (k < 0)
                return (int) k;
        if (k == 0)
                return 0;
        int r = vs_frame_reader_feed(&c->reader, buf, (size_t) k);
        return r < 0 ? r : 1;
}
