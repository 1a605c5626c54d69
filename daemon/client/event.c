/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How the client is driven: one epoll set holding the connection's socket and a timerfd for the
 * nearest deadline, exposed as the client's single stable descriptor, so any loop (poll, epoll,
 * sd-event) can wait on it and a reconnect never changes what the application watches.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "client/client.h"
#include "util/cleanup.h"

enum {
        TAG_TIMER = 1,
        TAG_SOCKET = 2,
};

int event_init(struct vs_client *c) {
        c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (c->epoll_fd < 0)
                return -errno;
        c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (c->timer_fd < 0)
                return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_TIMER };
        if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->timer_fd, &ev) < 0)
                return -errno;
        return 0;
}

void event_done(struct vs_client *c) {
        vs_client_detach_event(c);
        closep(&c->timer_fd);
        closep(&c->epoll_fd);
}

void event_update_conn(struct vs_client *c) {
        if (c->conn.fd < 0)
                return;
        uint32_t want = EPOLLIN;
        if (c->conn.connected ? conn_has_output(&c->conn) : conn_connect_wants_write(&c->conn))
                want |= EPOLLOUT;
        if (c->conn_polled && want == c->conn_events)
                return;
        struct epoll_event ev = { .events = want, .data.u32 = TAG_SOCKET };
        if (epoll_ctl(c->epoll_fd, c->conn_polled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->conn.fd, &ev) == 0) {
                c->conn_polled = true;
                c->conn_events = want;
        }
}

void event_forget_conn(struct vs_client *c) {
        if (c->conn_polled)
                (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->conn.fd, NULL);
        c->conn_polled = false;
}

void event_arm_timer(struct vs_client *c, uint64_t at) {
        if (at == c->timer_at)
                return;
        struct itimerspec its = {};
        if (at != UINT64_MAX) {
                /* An all-zero expiry would disarm the timer instead of firing it. */
                uint64_t t = at ? at : 1;
                its.it_value.tv_sec = (time_t) (t / 1000000u);
                its.it_value.tv_nsec = (long) (t % 1000000u) * 1000;
        }
        if (timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
                c->timer_at = at;
}

int vs_client_get_fd(const struct vs_client *c) {
        return c ? c->epoll_fd : -EINVAL;
}

int vs_client_process(struct vs_client *c) {
        if (!c)
                return -EINVAL;
        struct epoll_event ev[8];
        int n = epoll_wait(c->epoll_fd, ev, ELEMENTSOF(ev), 0);
        if (n < 0 && errno != EINTR)
                return -errno;
        for (int i = 0; i < n; i++) {
                if (ev[i].data.u32 == TAG_TIMER) {
                        uint64_t expirations;
                        (void) read(c->timer_fd, &expirations, sizeof expirations);
                        c->timer_at = UINT64_MAX;
                } else
                        client_socket_event(c, ev[i].events);
        }
        client_run_timers(c);
        client_run_callbacks(c);
        client_kick(c);
        return 0;
}

int vs_client_wait(struct vs_client *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        if (c->done.n == 0) {
                struct pollfd p = { .fd = c->epoll_fd, .events = POLLIN };
                int ms = -1;
                if (usec != UINT64_MAX) {
                        uint64_t rounded_up = usec / 1000u + (usec % 1000u != 0);
                        ms = rounded_up > INT_MAX ? INT_MAX : (int) rounded_up;
                }
                if (poll(&p, 1, ms) < 0)
                        return -errno;
        }
        return vs_client_process(c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return vs_client_process(userdata);
}

int vs_client_attach_event(struct vs_client *c, sd_event *event, int64_t priority) {
        if (!c || c->event_source)
                return -EINVAL;
        sd_event *e = event ? sd_event_ref(event) : NULL;
        int r;
        if (!e && (r = sd_event_default(&e)) < 0)
                return r;
        r = sd_event_add_io(e, &c->event_source, c->epoll_fd, EPOLLIN, on_io, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->event_source, priority);
        sd_event_unref(e);
        if (r < 0) {
                vs_client_detach_event(c);
                return r;
        }
        return 0;
}

void vs_client_detach_event(struct vs_client *c) {
        if (c && c->event_source)
                c->event_source = sd_event_source_disable_unref(c->event_source);
}
