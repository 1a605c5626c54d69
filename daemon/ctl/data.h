/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What viewstampctl's data commands share (ctl/data.c, ctl/export.c): the common options
 * (--tenant, --node, --json, --timeout, --help, anywhere among the arguments), one client for
 * the tenant, and the one way a failed request is reported. Functions returning an int return
 * -1 to go on, or one of verb.h's exit statuses to stop with.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/viewstamp.h"

/* Which command-specific flags a command takes. */
enum {
        TAKES_SEQUENTIAL = 1 << 0,
        TAKES_RECURSIVE = 1 << 1,
        TAKES_VERSION = 1 << 2,
        TAKES_STAT = 1 << 3,
};

struct ctl {
        const char *command;
        const char *tenant;
        const char **nodes;
        size_t n_nodes;
        const char *token;      /* --token or $VIEWSTAMP_TOKEN */
        char *token_read;       /* --token-file's */
        const char *tls_ca, *tls_server_name; /* TLS when tls_ca is set */
        bool json;
        uint64_t timeout_usec;
        bool sequential, recursive, stat;
        uint64_t version;
        char **args;
        int n_args;
        char *input; /* a value read from standard input */
        vs_client *client;
};

/* Parses argv (argv[0] is the command's name) into x, which ctl_done() releases whatever the
 * outcome; between min_args and max_args arguments must remain. */
int ctl_parse(struct ctl *x, int argc, char **argv, unsigned takes, int min_args, int max_args,
              const char *synopsis);
void ctl_done(struct ctl *x);
/* Prints "viewstampctl COMMAND: what (see viewstampctl --help)"; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *x, const char *what);
/* Creates x->client for the tenant and nodes given, for one request at a time. */
int ctl_connect(struct ctl *x);
/* Reports a failed request (error as vs_result_error()) on stderr, and with --json as a JSON
 * error object on stdout; where names the path or op concerned ("" for none). Returns the exit
 * status for it. */
int ctl_report(const struct ctl *x, const vs_result *res, int error, const char *where);
