/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viewstampctl's data commands, over libviewstamp: get, set, create, delete, ls, stat, cas and
 * multi. Each is a row of viewstampctl's command table: it takes the arguments from its own
 * name on (argv[0] is the command name), accepts the common options anywhere among them
 * (--tenant, --node, --json, --timeout, --help), and returns one of the exit statuses below.
 */

/* Exit statuses, documented in viewstampctl(1); scripts rely on them. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_REFUSED = 1,     /* the data model refused: no node, exists, bad version, ... */
        CTL_EXIT_USAGE = 2,       /* bad command line or input */
        CTL_EXIT_UNAVAILABLE = 3, /* not completed: unreachable, timed out, expired, ... */
        CTL_EXIT_LOCAL = 4,       /* a local failure: reading input, out of memory */
};

int vs_verb_get(int argc, char **argv);
int vs_verb_set(int argc, char **argv);
int vs_verb_create(int argc, char **argv);
int vs_verb_delete(int argc, char **argv);
int vs_verb_ls(int argc, char **argv);
int vs_verb_stat(int argc, char **argv);
int vs_verb_cas(int argc, char **argv);
int vs_verb_multi(int argc, char **argv);
