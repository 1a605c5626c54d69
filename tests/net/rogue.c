/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rogue.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline; -ETIMEDOUT after it. */
static int wait_fd(int fd, short events, int64_t deadline) {
        for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int n = poll(&p, 1, (int) left);
                if (n > 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return -errno;
        }
}

int rogue_connect(const struct vs_address *a, struct rogue *ret) {
        int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, &a->sa, a->len) < 0 && errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                return r;
        }
        int r = wait_fd(fd, POLLOUT, now_ms() + 5000);
        int err = 0;
        socklen_t len = sizeof err;
        if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
                r = -err;
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret = (struct rogue) { .fd = fd };
        return 0;
}

static int handshake(struct rogue *r, int timeout_ms) {
        vs_tls_set_fd(r->tls, r->fd);
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                int k = vs_tls_handshake(r->tls);
                if (k != -EAGAIN)
                        return k;
                k = wait_fd(r->fd, vs_tls_wants_write(r->tls) ? POLLOUT : POLLIN, deadline);
                if (k < 0)
                        return k;
        }
}

int rogue_tls_client(struct rogue *r, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], int timeout_ms) {
        int k = vs_tls_new_psk_client(identity, key, &r->tls);
        return k < 0 ? k : handshake(r, timeout_ms);
}

struct one_identity {
        const char *identity;
        const uint8_t *key;
};

static int lookup_one(const char *identity, uint8_t key[VS_TLS_PSK_SIZE], char *why, void *userdata) {
        const struct one_identity *o = userdata;
        if (strcmp(identity, o->identity) != 0)
                return -EPERM;
        memcpy(key, o->key, VS_TLS_PSK_SIZE);
        return 0;
}

int rogue_tls_server(struct rogue *r, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], int timeout_ms) {
        struct one_identity o = { identity, key };
        int k = vs_tls_new_psk_server(lookup_one, &o, &r->tls);
        return k < 0 ? k : handshake(r, timeout_ms);
}

int rogue_send(struct rogue *r, const void *buf, size_t len) {
        const uint8_t *p = buf;
        int64_t deadline = now_ms() + 5000;
        bool retry = false;
        while (len > 0) {
                ssize_t k;
                if (r->tls)
                        k = retry ? vs_tls_send(r->tls, NULL, 0) : vs_tls_send(r->tls, p, len);
                else {
                        k = send(r->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (k < 0)
                                k = errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
                }
                retry = r->tls && k == -EAGAIN;
                if (k == -EAGAIN) {
                        int w = wait_fd(r->fd, POLLOUT, deadline);
                        if (w < 0)
                                return w;
                        continue;
                }
                if (k < 0)
                        return (int) k;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

int rogue_wait_closed(struct rogue *r, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                uint8_t buf[4096];
                ssize_t k = r->tls ? vs_tls_recv(r->tls, buf, sizeof buf) : recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
                if (!r->tls && k < 0)
                        k = errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
                if (k == 0 || (k < 0 && k != -EAGAIN))
                        return 0;
                if (k > 0)
                        continue;
                int w = wait_fd(r->fd, POLLIN, deadline);
                if (w < 0)
                        return w;
        }
}

void rogue_close(struct rogue *r) {
        r->tls = vs_tls_free(r->tls);
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
}

/* Moves what from has to offer into to (blocking writes are fine: the peers keep reading),
 * appending it to rec when set. -EPIPE once from is at its end. */
static int relay(int from, int to, struct vs_buf *rec) {
        uint8_t buf[16384];
        ssize_t k = recv(from, buf, sizeof buf, MSG_DONTWAIT);
        if (k == 0)
                return -EPIPE;
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (rec) {
                if (vs_buf_reserve(rec, (size_t) k) < 0)
                        return -ENOMEM;
                memcpy(rec->data + rec->len, buf, (size_t) k);
                rec->len += (size_t) k;
        }
        for (ssize_t off = 0; off < k;) {
                ssize_t w = send(to, buf + off, (size_t) (k - off), MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                if (w > 0)
                        off += w;
                else {
                        struct pollfd p = { .fd = to, .events = POLLOUT };
                        (void) poll(&p, 1, 100);
                }
        }
        return 0;
}

int rogue_record_handshake(const struct vs_address *a, const char *identity, const uint8_t key[VS_TLS_PSK_SIZE],
                           uint8_t **ret, size_t *ret_len) {
        /* client <-> pair[0] | pair[1] <-> relay <-> server: the relay sees every byte. */
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return -errno;
        struct rogue client = { .fd = pair[0] }, server;
        _cleanup_close_ int relay_fd = pair[1];
        int r = rogue_connect(a, &server);
        if (r < 0) {
                rogue_close(&client);
                return r;
        }
        struct vs_buf rec = {};
        r = vs_tls_new_psk_client(identity, key, &client.tls);
        if (r >= 0)
                vs_tls_set_fd(client.tls, client.fd);
        int64_t deadline = now_ms() + 5000;
        while (r >= 0) {
                r = vs_tls_handshake(client.tls);
                if (r != -EAGAIN)
                        break;
                struct pollfd p[] = {
                        { .fd = client.fd, .events = vs_tls_wants_write(client.tls) ? POLLOUT : POLLIN },
                        { .fd = relay_fd, .events = POLLIN },
                        { .fd = server.fd, .events = POLLIN },
                };
                if (now_ms() > deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                (void) poll(p, ELEMENTSOF(p), 100);
                r = relay(relay_fd, server.fd, &rec);
                if (r >= 0)
                        r = relay(server.fd, relay_fd, NULL);
        }
        /* The client's last flight may still sit in the relay. */
        if (r >= 0)
                r = relay(relay_fd, server.fd, &rec);
        rogue_close(&client);
        rogue_close(&server);
        if (r < 0) {
                vs_buf_free(&rec);
                return r;
        }
        *ret_len = rec.len;
        *ret = rec.data;
        return 0;
}
