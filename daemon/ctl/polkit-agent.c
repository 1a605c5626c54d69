/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/polkit-agent.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"
/* pkttyagent registers in well under a second; a wedged one must not hold the command forever. */
#define AGENT_REGISTER_TIMEOUT_MS 10000

bool ctl_polkit_can_ask(void) {
        return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

int ctl_polkit_agent_open(pid_t *ret) {
        *ret = 0;
        if (geteuid() == 0 || !ctl_polkit_can_ask() || access(PKTTYAGENT, X_OK) < 0)
                return 0;
        int notify[2];
        if (pipe2(notify, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(notify[0]);
                close(notify[1]);
                return r;
        }
        if (pid == 0) {
                /* The write end is the one descriptor the agent keeps: it closes it once registered. */
                char fd[16];
                if (fcntl(notify[1], F_SETFD, 0) < 0)
                        _exit(127);
                snprintf(fd, sizeof fd, "%d", notify[1]);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd, "--fallback", (char *) NULL);
                _exit(127);
        }
        close(notify[1]);
        /* EOF (or a byte) on the pipe: registered, or exited having failed to. */
        struct pollfd p = { .fd = notify[0], .events = POLLIN };
        while (poll(&p, 1, AGENT_REGISTER_TIMEOUT_MS) < 0 && errno == EINTR)
                ;
        close(notify[0]);
        *ret = pid;
        return 0;
}

void ctl_polkit_agent_close(pid_t *pid) {
        if (*pid <= 0)
                return;
        (void) kill(*pid, SIGTERM);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                ;
        *pid = 0;
}
