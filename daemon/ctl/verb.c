/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/verb.h"

static void usage(FILE *f, const char *prefix, const struct vs_verb *table, size_t n) {
        fprintf(f, "Usage: %s COMMAND ...\n\nCommands:\n", prefix);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "  %-8s %-22s %s\n", table[i].name, table[i].args, table[i].help);
}

int vs_verb_dispatch(const char *prefix, const struct vs_verb *table, size_t n, int argc, char **argv) {
        if (argc < 2) {
                usage(stderr, prefix, table, n);
                return CTL_EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
                usage(stdout, prefix, table, n);
                return EXIT_SUCCESS;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[1], table[i].name) == 0)
                        return table[i].run(argc - 1, argv + 1);
        fprintf(stderr, "%s: unknown command '%s'\n\n", prefix, argv[1]);
        usage(stderr, prefix, table, n);
        return CTL_EXIT_USAGE;
}
