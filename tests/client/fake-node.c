/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * fake-node [PORT]: serves the client protocol from one in-memory tree (fake.h) until SIGINT or
 * SIGTERM, printing its address first. For trying viewstampctl by hand and for measuring the
 * client library's own overhead with viewstamp-bench (no replication, no disk).
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake.h"

int main(int argc, char **argv) {
        unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
        if (port > 65535) {
                fprintf(stderr, "usage: fake-node [PORT]\n");
                return EXIT_FAILURE;
        }
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        /* Blocked before the server thread starts, so only sigwait() sees them. */
        pthread_sigmask(SIG_BLOCK, &set, NULL);

        struct fake f;
        if (fake_start(&f, (uint16_t) port) < 0) {
                perror("fake-node");
                return EXIT_FAILURE;
        }
        printf("%s\n", f.address);
        fflush(stdout);
        int sig;
        sigwait(&set, &sig);
        fake_stop(&f);
        return EXIT_SUCCESS;
}
