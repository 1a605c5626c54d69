/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vs-lincheck [--budget STEPS] [FILE|-]: checks a JSON-lines register history for
 * linearizability. Exit status: 0 linearizable, 1 not linearizable (the failing key and window
 * are printed), 2 bad input or usage (naming the line), 3 undecided (search budget exhausted)
 * or another error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "lincheck.h"

enum { EXIT_VIOLATION = 1, EXIT_BAD_INPUT = 2, EXIT_UNDECIDED = 3 };

static int usage(FILE *f, int status) {
        fprintf(f, "usage: vs-lincheck [--budget STEPS] [FILE|-]\n"
                   "Checks a JSON-lines register history for linearizability.\n"
                   "Exit: 0 linearizable, 1 violation, 2 bad input, 3 undecided or error.\n");
        return status;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "budget", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_fclose_ FILE *owned = NULL;
        _cleanup_lc_result_ struct lc_result res = {};
        uint64_t budget = LC_DEFAULT_BUDGET;
        const char *path = "-", *why = NULL;
        unsigned line = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "b:h", options, NULL)) >= 0)
                switch (c) {
                case 'b': {
                        char *end;
                        errno = 0;
                        budget = strtoull(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || budget == 0) {
                                fprintf(stderr, "vs-lincheck: invalid --budget '%s'\n", optarg);
                                return EXIT_BAD_INPUT;
                        }
                        break;
                }
                case 'h':
                        return usage(stdout, 0);
                default:
                        return usage(stderr, EXIT_BAD_INPUT);
                }
        if (argc - optind > 1)
                return usage(stderr, EXIT_BAD_INPUT);
        if (optind < argc)
                path = argv[optind];

        FILE *in = stdin;
        if (strcmp(path, "-") != 0) {
                owned = fopen(path, "re");
                if (!owned) {
                        fprintf(stderr, "vs-lincheck: %s: %s\n", path, strerror(errno));
                        return EXIT_BAD_INPUT;
                }
                in = owned;
        }

        r = lc_history_read_jsonl_why(in, &h, &line, &why);
        if (r < 0) {
                fprintf(stderr, "vs-lincheck: %s:%u: %s\n", path, line, why ? why : strerror(-r));
                return r == -EBADMSG || r == -EINVAL ? EXIT_BAD_INPUT : EXIT_UNDECIDED;
        }

        r = lc_check_budget(h, budget, &res);
        if (r == -E2BIG) {
                fprintf(stderr, "vs-lincheck: undecided: a key needs more than %" PRIu64 " search steps "
                        "(raise --budget)\n", budget);
                return EXIT_UNDECIDED;
        }
        if (r < 0) {
                fprintf(stderr, "vs-lincheck: %s\n", strerror(-r));
                return EXIT_UNDECIDED;
        }
        if (res.linearizable) {
                printf("linearizable\n");
                return 0;
        }
        printf("not linearizable: %s", res.explanation);
        return EXIT_VIOLATION;
}
