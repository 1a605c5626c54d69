/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log/log.h"
#include "util/cleanup.h"

static enum vs_log_level max_level = VS_LOG_INFO;
static int to_journal = -1; /* unknown until first use */

void vs_log_set_level(enum vs_log_level l) {
        max_level = l;
}

enum vs_log_level vs_log_get_level(void) {
        return max_level;
}

static const char *const level_names[] = {
        [VS_LOG_ERR] = "err",
        [VS_LOG_WARNING] = "warning",
        [VS_LOG_NOTICE] = "notice",
        [VS_LOG_INFO] = "info",
        [VS_LOG_DEBUG] = "debug",
};

const char *vs_log_level_to_string(enum vs_log_level l) {
        return (size_t) l < ELEMENTSOF(level_names) && level_names[l] ? level_names[l] : "?";
}

int vs_log_level_from_string(const char *s, enum vs_log_level *ret) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (level_names[i] && strcmp(level_names[i], s) == 0) {
                        *ret = (enum vs_log_level) i;
                        return 0;
                }
        return -EINVAL;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to stderr. */
void vs_log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                     (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static void log_journal(enum vs_log_level level, const struct vs_log_ctx *ctx, const char *msg) {
        /* The iovecs point into these until sd_journal_sendv() returns: keep them at function scope. */
        char prio[16];
        char view[32]; // cppcheck-suppress variableScope
        char op[32];   // cppcheck-suppress variableScope
        _cleanup_free_ char *m = NULL, *tenant = NULL, *peer = NULL;
        struct iovec iov[6];
        size_t n = 0;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return;
        iov[n++] = (struct iovec) { m, strlen(m) };
        snprintf(prio, sizeof prio, "PRIORITY=%d", (int) level);
        iov[n++] = (struct iovec) { prio, strlen(prio) };
        if (ctx && ctx->tenant && asprintf(&tenant, "TENANT=%s", ctx->tenant) >= 0)
                iov[n++] = (struct iovec) { tenant, strlen(tenant) };
        if (ctx && ctx->peer && asprintf(&peer, "PEER=%s", ctx->peer) >= 0)
                iov[n++] = (struct iovec) { peer, strlen(peer) };
        if (ctx && ctx->has_view) {
                snprintf(view, sizeof view, "VIEW=%" PRIu64, ctx->view);
                iov[n++] = (struct iovec) { view, strlen(view) };
        }
        if (ctx && ctx->has_op) {
                snprintf(op, sizeof op, "OP=%" PRIu64, ctx->op);
                iov[n++] = (struct iovec) { op, strlen(op) };
        }
        sd_journal_sendv(iov, (int) n);
}

static void log_stderr(enum vs_log_level level, const struct vs_log_ctx *ctx, const char *msg) {
        char prefix[512] = "";
        size_t k = 0;
        if (ctx && ctx->tenant)
                k += snprintf(prefix + k, sizeof prefix - k, "tenant=%s ", ctx->tenant);
        if (ctx && ctx->has_view && k < sizeof prefix)
                k += snprintf(prefix + k, sizeof prefix - k, "view=%" PRIu64 " ", ctx->view);
        if (ctx && ctx->has_op && k < sizeof prefix)
                k += snprintf(prefix + k, sizeof prefix - k, "op=%" PRIu64 " ", ctx->op);
        if (ctx && ctx->peer && k < sizeof prefix)
                k += snprintf(prefix + k, sizeof prefix - k, "peer=%s ", ctx->peer);
        if (k > 0 && k < sizeof prefix)
                prefix[k - 1] = 0; /* the separating space */
        fprintf(stderr, "%s: %s%s%s%s\n", vs_log_level_to_string(level), k ? "[" : "", prefix, k ? "] " : "", msg);
}

int vs_log_full(enum vs_log_level level, const struct vs_log_ctx *ctx, int err, const char *fmt, ...) {
        if (level > max_level)
                return err;

        int saved = errno;
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (err < 0 && k >= 0 && (size_t) k < sizeof msg)
                snprintf(msg + k, sizeof msg - k, ": %s", strerror(-err));

        if (to_journal < 0)
                vs_log_open();
        if (to_journal)
                log_journal(level, ctx, msg);
        else
                log_stderr(level, ctx, msg);
        errno = saved;
        return err;
}
