/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "node/offload.h"

struct job {
        struct job *next;
        pthread_t thread;
        vs_offload_fn fn;
        vs_offload_done_fn done;
        void *ctx;
        int result;
        bool finished; /* written by the thread under the offloader's lock */
};

struct vs_offloader {
        pthread_mutex_t lock;
        struct job *jobs;
        int efd;
        sd_event_source *src;
};

/* Joins and completes every finished job (or every job, when all). */
static void reap(struct vs_offloader *o, bool all) {
        for (;;) {
                pthread_mutex_lock(&o->lock);
                struct job **p = &o->jobs, *j = NULL;
                for (; *p; p = &(*p)->next)
                        if (all || (*p)->finished) {
                                j = *p;
                                *p = j->next;
                                break;
                        }
                pthread_mutex_unlock(&o->lock);
                if (!j)
                        return;
                void *result;
                pthread_join(j->thread, &result);
                j->done(j->ctx, (int) (intptr_t) result);
                free(j);
        }
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct vs_offloader *o = userdata;
        uint64_t n;
        (void) !read(o->efd, &n, sizeof n);
        reap(o, false);
        return 0;
}

int vs_offloader_new(sd_event *e, struct vs_offloader **ret) {
        struct vs_offloader *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        pthread_mutex_init(&o->lock, NULL);
        o->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        int r = o->efd < 0 ? -errno : sd_event_add_io(e, &o->src, o->efd, EPOLLIN, on_event, o);
        if (r < 0) {
                vs_offloader_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

void vs_offload_wait_all(struct vs_offloader *o) {
        reap(o, true);
}

void vs_offloader_free(struct vs_offloader *o) {
        if (!o)
                return;
        reap(o, true);
        sd_event_source_disable_unref(o->src);
        if (o->efd >= 0)
                close(o->efd);
        pthread_mutex_destroy(&o->lock);
        free(o);
}

struct start {
        struct vs_offloader *o;
        struct job *j;
};

static void *thread_main(void *arg) {
        struct start s = *(struct start *) arg;
        free(arg);
        int result = s.j->fn(s.j->ctx);
        pthread_mutex_lock(&s.o->lock);
        s.j->finished = true;
        pthread_mutex_unlock(&s.o->lock);
        uint64_t one = 1;
        (void) !write(s.o->efd, &one, sizeof one);
        return (void *) (intptr_t) result;
}

int vs_offload(struct vs_offloader *o, vs_offload_fn fn, vs_offload_done_fn done, void *ctx) {
        struct job *j = calloc(1, sizeof *j);
        struct start *s = malloc(sizeof *s);
        if (!j || !s) {
                free(j);
                free(s);
                return -ENOMEM;
        }
        *j = (struct job) { .fn = fn, .done = done, .ctx = ctx };
        *s = (struct start) { o, j };
        pthread_mutex_lock(&o->lock);
        int r = -pthread_create(&j->thread, NULL, thread_main, s);
        if (r == 0) {
                j->next = o->jobs;
                o->jobs = j;
        }
        pthread_mutex_unlock(&o->lock);
        if (r < 0) {
                free(j);
                free(s);
        }
        return r;
}
