/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/conn.h"
#include "util/cleanup.h"

void conn_init(struct conn *c) {
        *c = (struct conn) { .fd = -1 };
}

int conn_open(struct conn *c, const struct vs_address *a, uint32_t max_frame) {
        conn_close(c);
        int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        /* Requests are small and latency-bound; never wait for more to fill a segment. */
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->addr = *a;
        vs_address_to_string(a, c->name);
        if (connect(fd, &a->sa, a->len) == 0)
                c->connected = true;
        else if (errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                return r;
        }
        vs_frame_reader_init(&c->reader, max_frame);
        c->fd = fd;
        return 0;
}

void conn_close(struct conn *c) {
        if (c->fd >= 0) {
                close(c->fd);
                vs_frame_reader_done(&c->reader);
        }
        c->fd = -1;
        c->connected = false;
        c->out_start = c->out_end = 0;
}

int conn_finish_connect(struct conn *c) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        if (err)
                return -err;
        c->connected = true;
        return 0;
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

int conn_flush(struct conn *c) {
        while (c->out_end > c->out_start) {
                ssize_t k = send(c->fd, c->out + c->out_start, c->out_end - c->out_start, MSG_NOSIGNAL);
                if (k < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                c->out_start += (size_t) k;
        }
        return 0;
}

int conn_fill(struct conn *c) {
        uint8_t buf[65536];
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k < 0)
                return errno == EINTR ? -EAGAIN : -errno;
        if (k == 0)
                return 0;
        int r = vs_frame_reader_feed(&c->reader, buf, (size_t) k);
        return r < 0 ? r : 1;
}
