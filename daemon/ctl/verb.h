/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viewstampctl's command tables: a command is a name, a one-line help and a function taking the
 * arguments after its name. A command with subcommands dispatches through its own table with
 * vs_verb_dispatch(), so adding a command is adding a row. Functions return a process exit status.
 */

#include <stddef.h>

/* Exit statuses of every command, documented in viewstampctl(1); scripts rely on them. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_REFUSED = 1,     /* data: the data model or a limit of the server refused; journal: damage or unreadable;
                                   * admin: the daemon refused (tenant exists, no such tenant, bad name) */
        CTL_EXIT_USAGE = 2,       /* bad command line or input; nothing was done */
        CTL_EXIT_UNAVAILABLE = 3, /* not completed (unreachable, timed out, no daemon on the bus, ...) */
        CTL_EXIT_LOCAL = 4,       /* a local failure (reading input, out of memory) */
        CTL_EXIT_DENIED = 5,      /* admin: the daemon denied the caller permission; data: the tenant's
                                   * access token is missing or wrong */
};

struct vs_verb {
        const char *name;
        const char *args;   /* synopsis of the arguments, for help */
        const char *help;
        int (*run)(int argc, char **argv);
};

/* argv[0] is the command path so far (for messages), argv[1] the verb to run. Prints the table on
 * a missing or unknown verb and returns CTL_EXIT_USAGE then. */
int vs_verb_dispatch(const char *prefix, const struct vs_verb *table, size_t n, int argc, char **argv);

/* Subcommand families. */
int vs_verb_journal(int argc, char **argv);
int vs_verb_tenant(int argc, char **argv);
int vs_verb_cluster(int argc, char **argv);
int vs_verb_node(int argc, char **argv);

/* The admin commands over D-Bus (ctl/bus-verb.c). */
int vs_verb_status(int argc, char **argv);
int vs_verb_tenants(int argc, char **argv);

/* The data commands (ctl/data.c). */
int vs_verb_get(int argc, char **argv);
int vs_verb_set(int argc, char **argv);
int vs_verb_create(int argc, char **argv);
int vs_verb_delete(int argc, char **argv);
int vs_verb_ls(int argc, char **argv);
int vs_verb_stat(int argc, char **argv);
int vs_verb_cas(int argc, char **argv);
int vs_verb_multi(int argc, char **argv);

/* The logical backup commands (ctl/export.c). */
int vs_verb_export(int argc, char **argv);
int vs_verb_import(int argc, char **argv);
