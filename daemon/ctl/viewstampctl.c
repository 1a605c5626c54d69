/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* viewstampctl: the administrator's command line. Commands are rows of the table below. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/data.h"
#include "util/cleanup.h"

static const struct {
        const char *name;
        const char *args;
        const char *help;
        int (*run)(int argc, char **argv);
} commands[] = {
        { "get", "PATH", "print a node's value", vs_verb_get },
        { "set", "PATH VALUE|-", "set a node's value (--version=N: only if at that version)", vs_verb_set },
        { "cas", "PATH VERSION VALUE|-", "set a node's value if it is at VERSION", vs_verb_cas },
        { "create", "PATH [VALUE|-]", "create a node (--sequential: numbered name)", vs_verb_create },
        { "delete", "PATH", "delete a node (--recursive, --version=N)", vs_verb_delete },
        { "ls", "PATH", "list a node's children (--stat: with their metadata)", vs_verb_ls },
        { "stat", "PATH", "print a node's metadata", vs_verb_stat },
        { "multi", "< OPS", "apply the ops on standard input all or nothing", vs_verb_multi },
};

static void usage(FILE *f) {
        fprintf(f, "Usage: viewstampctl COMMAND [OPTIONS...] ARGS...\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-6s %-22s %s\n", commands[i].name, commands[i].args, commands[i].help);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                usage(stderr);
                return CTL_EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
                usage(stdout);
                return CTL_EXIT_OK;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "viewstampctl: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return CTL_EXIT_USAGE;
}
