/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging with context. Under systemd (stderr is the journal stream named by $JOURNAL_STREAM)
 * entries go to the journal with structured fields TENANT=, VIEW=, OP=, PEER= besides MESSAGE=
 * and PRIORITY=, so `journalctl TENANT=accounts` works. Otherwise each entry is one plain line
 * on stderr: "<level>: [tenant=... view=... op=... peer=...] message".
 *
 * The level threshold is process-wide and may change at any time (config reload, D-Bus).
 * Logging never fails from the caller's point of view and never changes errno.
 */

#include <stdbool.h>
#include <stdint.h>

enum vs_log_level {
        VS_LOG_ERR = 3,
        VS_LOG_WARNING = 4,
        VS_LOG_NOTICE = 5,
        VS_LOG_INFO = 6,
        VS_LOG_DEBUG = 7,
};

/* Where an entry comes from; any field may be left empty (NULL / has_* false). */
struct vs_log_ctx {
        const char *tenant;
        const char *peer;
        uint64_t view, op;
        bool has_view, has_op;
};

void vs_log_set_level(enum vs_log_level l);
enum vs_log_level vs_log_get_level(void);
/* Re-checks whether stderr is the journal (call after re-opening stderr). Done lazily otherwise. */
void vs_log_open(void);

const char *vs_log_level_to_string(enum vs_log_level l);
int vs_log_level_from_string(const char *s, enum vs_log_level *ret);

/* Logs and returns err (a negative errno, logged as its message), in the style of
 * systemd's log_*_errno(); err may be 0 for a plain entry. */
int vs_log_full(enum vs_log_level level, const struct vs_log_ctx *ctx, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#define log_error(ctx, ...) vs_log_full(VS_LOG_ERR, ctx, 0, __VA_ARGS__)
#define log_warning(ctx, ...) vs_log_full(VS_LOG_WARNING, ctx, 0, __VA_ARGS__)
#define log_notice(ctx, ...) vs_log_full(VS_LOG_NOTICE, ctx, 0, __VA_ARGS__)
#define log_info(ctx, ...) vs_log_full(VS_LOG_INFO, ctx, 0, __VA_ARGS__)
#define log_debug(ctx, ...) vs_log_full(VS_LOG_DEBUG, ctx, 0, __VA_ARGS__)
#define log_error_errno(ctx, err, ...) vs_log_full(VS_LOG_ERR, ctx, err, __VA_ARGS__)
#define log_warning_errno(ctx, err, ...) vs_log_full(VS_LOG_WARNING, ctx, err, __VA_ARGS__)
