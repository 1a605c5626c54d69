/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-lincheck: checks generated linearizable histories and prints histories/s and events/s
 * for a few shapes (a figure, not a test; any verdict other than "linearizable" is an error).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "gen.h"

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const char *name, struct lc_gen_options o, unsigned histories) {
        double checking = 0;
        size_t events = 0;

        for (unsigned i = 0; i < histories; i++) {
                _cleanup_(lc_history_freep) struct lc_history *h = NULL;
                _cleanup_lc_result_ struct lc_result res = {};

                o.seed = i + 1;
                int r = lc_gen_history(&o, &h);
                if (r < 0)
                        return r;
                double start = now();
                r = lc_check(h, &res);
                checking += now() - start;
                if (r < 0 || !res.linearizable) {
                        fprintf(stderr, "%s seed %" PRIu64 ": %s\n", name, o.seed,
                                r < 0 ? "undecided" : res.explanation);
                        return r < 0 ? r : -EINVAL;
                }
                events += lc_history_size(h);
        }
        printf("%-44s %6u histories %9zu events %10.1f histories/s %12.0f events/s\n", name, histories,
               events, histories / checking, events / checking);
        return 0;
}

int main(void) {
        static const struct {
                const char *name;
                struct lc_gen_options o;
                unsigned histories;
        } shapes[] = {
                { "1 key, 5 procs, 2000 ops, unique values", { 5, 1, 2000, 0, 0, 0 }, 50 },
                { "1 key, 5 procs, 2000 ops, 10% info", { 5, 1, 2000, 10, 0, 0 }, 50 },
                { "1 key, 10 procs, 5000 ops, 20% info", { 10, 1, 5000, 20, 0, 0 }, 20 },
                { "8 keys, 10 procs, 5000 ops, 10% info", { 10, 8, 5000, 10, 0, 0 }, 20 },
                { "1 key, 5 procs, 500 ops, 5 values, 5% info", { 5, 1, 500, 5, 5, 0 }, 50 },
                { "1 key, 5 procs, 2000 ops, 5 values, 10% info", { 5, 1, 2000, 10, 5, 0 }, 20 },
                { "1 key, 10 procs, 5000 ops, 3 values, 20% info", { 10, 1, 5000, 20, 3, 0 }, 10 },
        };

        for (size_t i = 0; i < ELEMENTSOF(shapes); i++)
                if (run(shapes[i].name, shapes[i].o, shapes[i].histories) < 0)
                        return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
