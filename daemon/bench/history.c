/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <time.h>

#include "bench/history.h"

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int history_open(struct history *h, const char *path) {
        *h = (struct history) { .t0 = now_ns() };
        h->f = fopen(path, "we");
        if (!h->f)
                return -errno;
        pthread_mutex_init(&h->lock, NULL);
        return 0;
}

int history_close(struct history *h) {
        if (!h->f)
                return 0;
        if (fclose(h->f) != 0 && !h->error)
                h->error = -errno;
        h->f = NULL;
        pthread_mutex_destroy(&h->lock);
        return h->error;
}

static void put_int(FILE *f, int64_t v) {
        if (v == HISTORY_NIL)
                fputs("null", f);
        else
                fprintf(f, "%" PRId64, v);
}

void history_add(struct history *h, uint64_t process, enum history_type type, enum history_fn fn, const char *key,
                 int64_t value, int64_t expected) {
        static const char *const types[] = { "invoke", "ok", "fail", "info" };
        static const char *const fns[] = { "read", "write", "cas" };
        /* json-c escapes the key, which comes from the command line's prefix. */
        json_object *k = json_object_new_string(key);
        if (!k) {
                h->error = h->error ? h->error : -ENOMEM;
                return;
        }
        pthread_mutex_lock(&h->lock);
        fprintf(h->f, "{\"process\":%" PRIu64 ",\"type\":\"%s\",\"f\":\"%s\",\"key\":%s,\"value\":", process,
                types[type], fns[fn], json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (fn == HISTORY_CAS && type == HISTORY_INVOKE) {
                fputc('[', h->f);
                put_int(h->f, expected);
                fputc(',', h->f);
                put_int(h->f, value);
                fputc(']', h->f);
        } else
                put_int(h->f, value);
        fprintf(h->f, ",\"time\":%" PRIu64 "}\n", now_ns() - h->t0);
        if (ferror(h->f) && !h->error)
                h->error = -EIO;
        pthread_mutex_unlock(&h->lock);
        json_object_put(k);
}
