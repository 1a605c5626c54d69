/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viewstampctl's command tables: a command is a name, a one-line help and a function taking the
 * arguments after its name. A command with subcommands dispatches through its own table with
 * vs_verb_dispatch(), so adding a command is adding a row. Functions return a process exit status.
 */

#include <stddef.h>

struct vs_verb {
        const char *name;
        const char *args;   /* synopsis of the arguments, for help */
        const char *help;
        int (*run)(int argc, char **argv);
};

/* argv[0] is the command path so far (for messages), argv[1] the verb to run. Prints the table on
 * a missing or unknown verb and returns EXIT_FAILURE then. */
int vs_verb_dispatch(const char *prefix, const struct vs_verb *table, size_t n, int argc, char **argv);

/* Subcommand families. */
int vs_verb_journal(int argc, char **argv);
