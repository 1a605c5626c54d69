/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "log/log.h"
#include "log/ratelimit.h"
#include "net/conn.h"
#include "net/tls.h"
#include "util/cleanup.h"
#include "wire/frame.h"

/* Bytes per read() and read() calls per wakeup: enough to drain a busy peer link without
 * letting one connection starve the others (epoll is level-triggered: the rest is read on the
 * next iteration). */
#define READ_CHUNK (64u * 1024u)
#define READS_PER_WAKEUP 16
#define IOV_BATCH 64

struct queued_frame {
        struct queued_frame *next;
        size_t len, off;
        uint8_t data[]; /* one allocation per frame */
};

struct vs_conn {
        sd_event *event;
        int fd;
        sd_event_source *io, *timer, *flush;
        uint32_t io_events;

        struct vs_tls *tls;   /* NULL: plain */
        bool handshaking;     /* nothing is read or written but the handshake until it is done */
        bool tls_retry;       /* the session holds a record the socket did not take yet */

        struct vs_conn_options opts;
        struct vs_conn_callbacks cb;
        void *userdata;

        struct vs_frame_reader reader;
        struct vs_pb_arena decoded; /* the envelope being handled, until the next frame */
        struct queued_frame *head, *tail;
        size_t queued;

        struct vs_address remote;
        char remote_str[VS_ADDRESS_STRING_MAX];
        char *label; /* "NAME (ADDRESS)" once named */

        bool got_frame;
        uint64_t start_usec, last_frame_usec;

        unsigned busy;     /* callbacks in progress: freeing waits for them */
        bool free_pending;
        bool closed;
};

static struct vs_log_ctx log_ctx(const struct vs_conn *c) {
        return (struct vs_log_ctx) { .peer = c->label ? c->label : c->remote_str };
}

#define CLOSE_LOG_INTERVAL_USEC (1000u * 1000u)
#define CLOSE_LOG_BURST 10

/* Whether this connection's close line may be logged (opts.close_log); the first line after a
 * quiet spell is preceded by the count of the ones left out. */
static bool close_log_allowed(struct vs_conn *c) {
        if (!c->opts.close_log)
                return true;
        uint64_t now = 0;
        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        unsigned unlogged;
        if (!vs_ratelimit_allow(c->opts.close_log, now, CLOSE_LOG_INTERVAL_USEC, CLOSE_LOG_BURST, &unlogged))
                return false;
        if (unlogged > 0)
                log_warning(NULL, "%u more connections closed since the last report, not logged one by one", unlogged);
        return true;
}

static void queue_clear(struct vs_conn *c) {
        while (c->head) {
                struct queued_frame *q = c->head;
                c->head = q->next;
                free(q);
        }
        c->tail = NULL;
        c->queued = 0;
}

/* Drops the socket and everything that waits on it; the struct itself stays. */
static void release_io(struct vs_conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->flush = sd_event_source_disable_unref(c->flush);
        c->tls = vs_tls_free(c->tls);
        closep(&c->fd);
        c->fd = -1;
        queue_clear(c);
        vs_frame_reader_done(&c->reader);
        vs_pb_arena_done(&c->decoded);
}

static void conn_destroy(struct vs_conn *c) {
        release_io(c);
        sd_event_unref(c->event);
        free(c->label);
        free(c);
}

struct vs_conn *vs_conn_free(struct vs_conn *c) {
        if (!c)
                return NULL;
        if (c->busy > 0)
                c->free_pending = true;
        else
                conn_destroy(c);
        return NULL;
}

/* Brackets a callback into the owner, who may free the connection inside it. */
static void enter(struct vs_conn *c) {
        c->busy++;
}

/* False when the connection is gone (freed, or closed) and the caller must stop touching it. */
static bool leave(struct vs_conn *c) {
        if (--c->busy == 0 && c->free_pending) {
                conn_destroy(c);
                return false;
        }
        return !c->free_pending && !c->closed;
}

/* Closes the socket and reports reason once; the caller has logged why. */
static void conn_close(struct vs_conn *c, int reason) {
        if (c->closed)
                return;
        c->closed = true;
        release_io(c);

        enter(c);
        if (c->cb.on_close)
                c->cb.on_close(c, reason, c->userdata);
        leave(c);
}

static int update_events(struct vs_conn *c) {
        uint32_t want = EPOLLIN | (c->head ? EPOLLOUT : 0);
        if (c->handshaking)
                want = vs_tls_wants_write(c->tls) ? EPOLLOUT : EPOLLIN;
        if (want == c->io_events)
                return 0;
        int r = sd_event_source_set_io_events(c->io, want);
        if (r < 0)
                return r;
        c->io_events = want;
        return 0;
}

/* Drops k bytes the socket took from the head of the queue. */
static void consume(struct vs_conn *c, size_t k) {
        c->queued -= k;
        while (k > 0) {
                struct queued_frame *q = c->head;
                size_t left = q->len - q->off;
                if (k < left) {
                        q->off += k;
                        break;
                }
                k -= left;
                c->head = q->next;
                free(q);
        }
        if (!c->head)
                c->tail = NULL;
}

/* Over TLS, frames queued meanwhile are packed into full records, one record per send. */
static int flush_tls(struct vs_conn *c) {
        uint8_t rec[16384];
        size_t max = MIN(sizeof rec, vs_tls_record_max(c->tls));
        while (c->head) {
                ssize_t k;
                if (c->tls_retry)
                        k = vs_tls_send(c->tls, NULL, 0);
                else {
                        size_t n = 0;
                        for (struct queued_frame *q = c->head; q && n < max; q = q->next) {
                                size_t m = MIN(q->len - q->off, max - n);
                                memcpy(rec + n, q->data + q->off, m);
                                n += m;
                        }
                        k = vs_tls_send(c->tls, rec, n);
                }
                c->tls_retry = k == -EAGAIN;
                if (k == -EAGAIN)
                        break;
                if (k < 0)
                        return (int) k;
                consume(c, (size_t) k);
        }
        return update_events(c);
}

/* Writes as much of the queue as the socket takes. 0 or a negative errno from the socket. */
static int flush(struct vs_conn *c) {
        if (c->handshaking)
                return 0;
        if (c->tls)
                return flush_tls(c);
        while (c->head) {
                struct iovec iov[IOV_BATCH];
                size_t n = 0;
                for (struct queued_frame *q = c->head; q && n < IOV_BATCH; q = q->next)
                        iov[n++] = (struct iovec) { q->data + q->off, q->len - q->off };

                struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
                ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                consume(c, (size_t) k);
                if (c->head && c->head->off > 0)
                        break; /* socket buffer full: wait for EPOLLOUT */
        }
        return update_events(c);
}

static void close_with_socket_error(struct vs_conn *c, int err) {
        struct vs_log_ctx ctx = log_ctx(c);
        bool log = close_log_allowed(c);
        if (log && c->tls && (err == -EBADMSG || err == -EPROTO || err == -EKEYREJECTED))
                log_warning(&ctx, "closing connection: %s", vs_tls_error(c->tls));
        else if (log && err == -ECONNRESET)
                log_warning(&ctx, "closing connection: reset by peer");
        else if (log)
                log_warning_errno(&ctx, err, "closing connection: socket error");
        conn_close(c, err);
}

/* Runs in the loop iteration after frames were queued, so that every frame queued while
 * handling one batch of events leaves in one sendmsg() (one segment where they fit) rather than
 * one system call each. */
static int on_flush(sd_event_source *s, void *userdata) {
        struct vs_conn *c = userdata;
        int r = flush(c);
        if (r < 0)
                close_with_socket_error(c, r);
        return 0;
}

/* A frame of len bytes for the queue, which the caller fills and hands to push_frame(). */
static int new_frame(const struct vs_conn *c, size_t len, struct queued_frame **ret) {
        if (c->queued + len > c->opts.max_send_queue)
                return -ENOBUFS;
        struct queued_frame *q = malloc(sizeof *q + len);
        if (!q)
                return -ENOMEM;
        q->next = NULL;
        q->len = len;
        q->off = 0;
        *ret = q;
        return 0;
}

static int push_frame(struct vs_conn *c, struct queued_frame *frame) {
        _cleanup_free_ struct queued_frame *q = frame;
        /* While EPOLLOUT is armed the socket is full and on_io writes when it drains; during a
         * handshake the queue waits for its end. */
        if (!(c->io_events & EPOLLOUT) && !c->handshaking) {
                int r = sd_event_source_set_enabled(c->flush, SD_EVENT_ONESHOT);
                if (r < 0)
                        return r;
        }
        c->queued += q->len;
        if (c->tail)
                c->tail->next = q;
        else
                c->head = q;
        c->tail = TAKE_PTR(q);
        return 0;
}

int vs_conn_send(struct vs_conn *c, const Viewstamp__Envelope *env) {
        if (c->closed)
                return -ENOTCONN;
        size_t len;
        int r = vs_envelope_frame_size(env, c->opts.max_frame, &len);
        if (r < 0)
                return r;
        struct queued_frame *q;
        r = new_frame(c, len, &q);
        if (r < 0)
                return r;
        vs_envelope_frame_write(env, len, q->data);
        return push_frame(c, q);
}

int vs_conn_send_frame(struct vs_conn *c, const uint8_t *frame, size_t len) {
        if (c->closed)
                return -ENOTCONN;
        if (len <= VS_FRAME_HEADER_SIZE || len - VS_FRAME_HEADER_SIZE > c->opts.max_frame)
                return -EMSGSIZE;
        struct queued_frame *q;
        int r = new_frame(c, len, &q);
        if (r < 0)
                return r;
        memcpy(q->data, frame, len);
        return push_frame(c, q);
}

bool vs_conn_frame_follows(const struct vs_conn *c) {
        return !c->closed && vs_frame_reader_ready(&c->reader);
}

static void close_bad_input(struct vs_conn *c, int err) {
        struct vs_log_ctx ctx = log_ctx(c);
        switch (close_log_allowed(c) ? err : 0) {
        case 0:
                break;
        case -EMSGSIZE:
                log_warning(&ctx, "closing connection: oversize frame (limit %u bytes)", c->opts.max_frame);
                break;
        case -EPROTONOSUPPORT:
                log_warning(&ctx, "closing connection: unsupported wire protocol version");
                break;
        case -EPIPE:
                log_warning(&ctx, "closing connection: truncated frame at EOF (%zu bytes of an unfinished frame)",
                            vs_frame_reader_pending(&c->reader));
                break;
        case -ENOMEM:
                log_error(&ctx, "closing connection: out of memory");
                break;
        default:
                log_warning(&ctx, "closing connection: garbage (not a framed viewstamp envelope)");
                break;
        }
        conn_close(c, err);
}

/* Hands every complete frame to the owner. False when the connection is gone. */
static bool dispatch(struct vs_conn *c) {
        for (;;) {
                const uint8_t *body;
                size_t len;
                int r = vs_frame_reader_next(&c->reader, &body, &len);
                if (r == 0)
                        return true;
                if (r < 0) {
                        close_bad_input(c, r);
                        return false;
                }
                Viewstamp__Envelope *env = NULL;
                r = vs_envelope_decode_in(&c->decoded, body, len, &env);
                if (r < 0) {
                        close_bad_input(c, r);
                        return false;
                }
                c->got_frame = true;
                (void) sd_event_now(c->event, CLOCK_MONOTONIC, &c->last_frame_usec);

                enter(c);
                r = c->cb.on_envelope ? c->cb.on_envelope(c, env, c->userdata) : 0;
                if (!leave(c))
                        return false;
                if (r < 0) {
                        conn_close(c, r);
                        return false;
                }
        }
}

/* Bytes read (> 0), 0 at EOF, -EAGAIN, or a negative errno. */
static ssize_t transport_recv(struct vs_conn *c, void *buf, size_t len) {
        if (c->tls)
                return vs_tls_recv(c->tls, buf, len);
        ssize_t k = recv(c->fd, buf, len, MSG_DONTWAIT);
        return k >= 0 ? k : errno == EINTR ? -EAGAIN : -errno;
}

static void do_read(struct vs_conn *c) {
        uint8_t buf[READ_CHUNK];
        for (unsigned i = 0; i < READS_PER_WAKEUP; i++) {
                ssize_t k = transport_recv(c, buf, sizeof buf);
                if (k == -EAGAIN)
                        return;
                if (k < 0) {
                        close_with_socket_error(c, (int) k);
                        return;
                }
                if (k == 0) {
                        int r = vs_frame_reader_eof(&c->reader);
                        if (r < 0) {
                                close_bad_input(c, r);
                                return;
                        }
                        struct vs_log_ctx ctx = log_ctx(c);
                        log_debug(&ctx, "connection closed by peer");
                        conn_close(c, 0);
                        return;
                }
                int r = vs_frame_reader_feed(&c->reader, buf, (size_t) k);
                if (r < 0) {
                        close_bad_input(c, r);
                        return;
                }
                if (!dispatch(c))
                        return;
                /* A short read drained the socket; a TLS read returns one record at most. The
                 * session takes from the socket only the record it decrypts, and buf holds any
                 * record whole, so what is left stays visible to (level-triggered) epoll. */
                if (!c->tls && (size_t) k < sizeof buf)
                        return;
        }
}

/* Advances the handshake; once done, what was queued meanwhile leaves. */
static void handshake(struct vs_conn *c) {
        int r = vs_tls_handshake(c->tls);
        if (r == 0) {
                c->handshaking = false;
                struct vs_log_ctx ctx = log_ctx(c);
                log_debug(&ctx, "TLS handshake done");
                r = flush(c);
        } else if (r == -EAGAIN)
                r = update_events(c);
        else {
                struct vs_log_ctx ctx = log_ctx(c);
                if (close_log_allowed(c))
                        log_warning(&ctx, "closing connection: TLS handshake failed: %s", vs_tls_error(c->tls));
                conn_close(c, r);
                return;
        }
        if (r < 0)
                close_with_socket_error(c, r);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct vs_conn *c = userdata;

        if (c->handshaking) {
                /* Frames that came with its last flight wait in the socket: epoll reports them. */
                handshake(c);
                return 0;
        }
        if (revents & EPOLLOUT) {
                int r = flush(c);
                if (r < 0) {
                        close_with_socket_error(c, r);
                        return 0;
                }
        }
        /* EPOLLHUP/EPOLLERR: read to find buffered frames, then EOF or the error itself. */
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                enter(c);
                do_read(c);
                leave(c);
        }
        return 0;
}

/* When the connection must have received its next frame, or UINT64_MAX for never. */
static uint64_t deadline(const struct vs_conn *c) {
        uint64_t d = UINT64_MAX;
        if (!c->got_frame && c->opts.handshake_timeout_usec > 0)
                d = c->start_usec + c->opts.handshake_timeout_usec;
        if (c->opts.idle_timeout_usec > 0 && c->last_frame_usec + c->opts.idle_timeout_usec < d)
                d = c->last_frame_usec + c->opts.idle_timeout_usec;
        return d;
}

/* Frames only stamp last_frame_usec; the timer is moved here, at most once per timeout. */
static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vs_conn *c = userdata;
        uint64_t d = deadline(c);
        if (d == UINT64_MAX)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (d > usec) {
                int r = sd_event_source_set_time(s, d);
                return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }

        struct vs_log_ctx ctx = log_ctx(c);
        bool log = close_log_allowed(c);
        if (log && !c->got_frame && c->opts.handshake_timeout_usec > 0 &&
            c->start_usec + c->opts.handshake_timeout_usec <= usec)
                log_warning(&ctx, "closing connection: no frame within %g s of connecting",
                            (double) c->opts.handshake_timeout_usec / 1e6);
        else if (log)
                log_warning(&ctx, "closing connection: nothing received for %g s",
                            (double) c->opts.idle_timeout_usec / 1e6);
        conn_close(c, -ETIMEDOUT);
        return 0;
}

static int start_timer(struct vs_conn *c) {
        int r = sd_event_now(c->event, CLOCK_MONOTONIC, &c->start_usec);
        if (r < 0)
                return r;
        c->last_frame_usec = c->start_usec;
        uint64_t d = deadline(c);
        if (d == UINT64_MAX)
                return 0;
        return sd_event_add_time(c->event, &c->timer, CLOCK_MONOTONIC, d, 0, on_timer, c);
}

int vs_conn_new_tls(sd_event *e, int fd, struct vs_tls *tls, const struct vs_conn_options *opts,
                    const struct vs_conn_callbacks *cb, void *userdata, struct vs_conn **ret) {
        _cleanup_conn_ struct vs_conn *c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                vs_tls_free(tls);
                return -ENOMEM;
        }
        c->fd = fd;
        c->tls = tls;
        c->event = sd_event_ref(e);
        c->cb = *cb;
        c->userdata = userdata;
        if (opts)
                c->opts = *opts;
        if (c->opts.max_frame == 0)
                c->opts.max_frame = VS_FRAME_MAX_DEFAULT;
        if (c->opts.max_send_queue == 0)
                c->opts.max_send_queue = VS_CONN_SEND_QUEUE_DEFAULT;
        vs_frame_reader_init(&c->reader, c->opts.max_frame);

        c->remote.len = sizeof c->remote.in6;
        if (getpeername(c->fd, &c->remote.sa, &c->remote.len) < 0 ||
            (c->remote.sa.sa_family != AF_INET && c->remote.sa.sa_family != AF_INET6))
                c->remote = (struct vs_address) {};
        vs_address_to_string(&c->remote, c->remote_str);

        /* Replication latency is round trips of small frames: never wait to coalesce them. */
        if (c->remote.sa.sa_family != 0 &&
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int)) < 0)
                return -errno;

        /* A TLS connection starts with the handshake: the client speaks first, and whichever
         * side this is finds out from its first step. */
        c->io_events = EPOLLIN;
        if (c->tls) {
                vs_tls_set_fd(c->tls, c->fd);
                c->handshaking = true;
                c->io_events = EPOLLIN | EPOLLOUT;
        }
        int r = sd_event_add_io(e, &c->io, c->fd, c->io_events, on_io, c);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &c->flush, on_flush, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_priority(c->flush, VS_CONN_FLUSH_PRIORITY);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(c->flush, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = start_timer(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int vs_conn_new(sd_event *e, int fd, const struct vs_conn_options *opts, const struct vs_conn_callbacks *cb,
                void *userdata, struct vs_conn **ret) {
        return vs_conn_new_tls(e, fd, NULL, opts, cb, userdata, ret);
}

const char *vs_conn_tls_identity(const struct vs_conn *c) {
        return c->tls && !c->handshaking ? vs_tls_identity(c->tls) : NULL;
}

void vs_conn_set_max_frame(struct vs_conn *c, uint32_t max_frame) {
        c->opts.max_frame = max_frame ? max_frame : VS_FRAME_MAX_DEFAULT;
        c->reader.max_body = c->opts.max_frame;
}

size_t vs_conn_queued(const struct vs_conn *c) {
        return c->queued;
}

const struct vs_address *vs_conn_remote(const struct vs_conn *c) {
        return &c->remote;
}

const char *vs_conn_remote_string(const struct vs_conn *c) {
        return c->remote_str;
}

int vs_conn_set_label(struct vs_conn *c, const char *name) {
        char *l = NULL;
        if (name && asprintf(&l, "%s (%s)", name, c->remote_str) < 0)
                return -ENOMEM;
        free(c->label);
        c->label = l;
        return 0;
}

void vs_conn_set_userdata(struct vs_conn *c, void *userdata) {
        c->userdata = userdata;
}

void *vs_conn_get_userdata(const struct vs_conn *c) {
        return c->userdata;
}
