/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-rogue: attacks a node's peer port the way test-peer-auth.sh needs, or records a genuine
 * connection for it to replay.
 *
 *   vs-rogue plain ADDRESS NAME        a Hello as NAME without TLS
 *   vs-rogue tls ADDRESS IDENTITY      TLS 1.3 PSK as IDENTITY with a random key (a wrong secret)
 *   vs-rogue replay ADDRESS FILE       FILE's bytes (a recorded client side) on a new connection
 *   vs-rogue relay LISTEN TARGET FILE  forwards every connection to LISTEN on to TARGET until
 *                                      killed, appending what the first one's client sent to FILE
 *
 * The attacks print "from ADDRESS" (their own address, for the test to find in the node's log)
 * and exit 0 when the node refused them (the handshake failed, or the node closed the
 * connection within 10 s), 1 when it did not, 2 on usage or local errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/address.h"
#include "net/tls.h"
#include "rogue.h"
#include "util/cleanup.h"
#include "wire/envelope.h"

static int parse(const char *s, struct vs_address *a) {
        if (vs_address_parse(s, a) < 0) {
                fprintf(stderr, "vs-rogue: '%s' is not an address\n", s);
                return -EINVAL;
        }
        return 0;
}

static void print_self(const struct rogue *r) {
        struct vs_address a = { .len = sizeof a.in6 };
        if (getsockname(r->fd, &a.sa, &a.len) == 0) {
                char buf[VS_ADDRESS_STRING_MAX];
                printf("from %s\n", vs_address_to_string(&a, buf));
        }
        fflush(stdout);
}

/* 0 refused, 1 not. */
static int outcome(struct rogue *r) {
        int k = rogue_wait_closed(r, 10000);
        rogue_close(r);
        return k == 0 ? 0 : 1;
}

static int plain(const struct vs_address *a, const char *name) {
        Viewstamp__Hello hello = VIEWSTAMP__HELLO__INIT;
        hello.node = (char *) name;
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        _cleanup_free_ uint8_t *frame = NULL;
        size_t len;
        struct rogue r;
        if (vs_envelope_frame(&env, 1024, &frame, &len) < 0 || rogue_connect(a, &r) < 0)
                return 2;
        print_self(&r);
        if (rogue_send(&r, frame, len) < 0) {
                rogue_close(&r);
                return 0; /* thrown out while sending */
        }
        return outcome(&r);
}

static int tls(const struct vs_address *a, const char *identity) {
        uint8_t key[VS_TLS_PSK_SIZE];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, key, sizeof key) != (ssize_t) sizeof key)
                return 2;
        close(fd);
        struct rogue r;
        if (rogue_connect(a, &r) < 0)
                return 2;
        print_self(&r);
        int k = rogue_tls_client(&r, identity, key, 10000);
        if (k < 0) {
                printf("handshake refused: %s\n", vs_tls_error(r.tls));
                rogue_close(&r);
                return 0;
        }
        rogue_close(&r);
        return 1;
}

static int replay(const struct vs_address *a, const char *file) {
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        uint8_t buf[1 << 16];
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        struct rogue r;
        if (len == 0 || rogue_connect(a, &r) < 0)
                return 2;
        print_self(&r);
        printf("replaying %zu bytes\n", len);
        if (rogue_send(&r, buf, len) < 0) {
                rogue_close(&r);
                return 0;
        }
        return outcome(&r);
}

/* Forwards one connection both ways until either side ends it. */
static void forward(int client, int server, FILE *record) {
        struct pollfd p[] = { { .fd = client, .events = POLLIN }, { .fd = server, .events = POLLIN } };
        for (;;) {
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return;
                for (int i = 0; i < 2; i++) {
                        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        uint8_t buf[16384];
                        ssize_t k = recv(p[i].fd, buf, sizeof buf, 0);
                        if (k <= 0)
                                return;
                        if (i == 0 && record) {
                                fwrite(buf, 1, (size_t) k, record);
                                fflush(record);
                        }
                        if (send(p[1 - i].fd, buf, (size_t) k, MSG_NOSIGNAL) != k)
                                return;
                }
        }
}

static int relay(const struct vs_address *listen_addr, const struct vs_address *target, const char *file) {
        int l = socket(listen_addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)) < 0 ||
            bind(l, &listen_addr->sa, listen_addr->len) < 0 || listen(l, 4) < 0) {
                perror("vs-rogue: relay");
                return 2;
        }
        _cleanup_fclose_ FILE *record = fopen(file, "we");
        if (!record)
                return 2;
        for (bool first = true;; first = false) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                int s = socket(target->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s >= 0 && connect(s, &target->sa, target->len) == 0)
                        forward(c, s, first ? record : NULL);
                if (s >= 0)
                        close(s);
                close(c);
        }
}

int main(int argc, char *argv[]) {
        struct vs_address a, b;
        if (argc == 4 && strcmp(argv[1], "plain") == 0 && parse(argv[2], &a) == 0)
                return plain(&a, argv[3]);
        if (argc == 4 && strcmp(argv[1], "tls") == 0 && parse(argv[2], &a) == 0)
                return tls(&a, argv[3]);
        if (argc == 4 && strcmp(argv[1], "replay") == 0 && parse(argv[2], &a) == 0)
                return replay(&a, argv[3]);
        if (argc == 5 && strcmp(argv[1], "relay") == 0 && parse(argv[2], &a) == 0 && parse(argv[3], &b) == 0)
                return relay(&a, &b, argv[4]);
        fprintf(stderr, "usage: vs-rogue plain|tls ADDRESS NAME | replay ADDRESS FILE | relay LISTEN TARGET FILE\n");
        return 2;
}
