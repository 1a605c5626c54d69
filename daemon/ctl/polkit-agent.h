/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A polkit authentication agent for the length of one admin command, as systemctl and busctl run
 * one: when viewstampctl talks to a terminal (stdin and stdout are ttys) and is not root,
 * pkttyagent(1) is started for it (--fallback: an agent the session already has wins), so that a
 * method needing org.viewstamp1.manage with authentication asks for the password on that
 * terminal instead of failing with InteractiveAuthorizationRequired. The call itself must allow
 * interactive authorization (sd_bus_set_allow_interactive_authorization) for polkit to ask.
 *
 * Best effort: without a terminal, without pkttyagent, or when it fails to start, nothing is
 * started and the call goes on (the daemon's refusal then says what is missing).
 */

#include <stdbool.h>
#include <sys/types.h>

/* Whether a password may be asked for on this terminal: stdin and stdout are ttys. */
bool ctl_polkit_can_ask(void);

/* Starts the agent and waits until it is registered (or gave up); *ret is its pid, or 0 when
 * none was started. Returns 0 either way, or -errno for a local failure (pipe, fork). */
int ctl_polkit_agent_open(pid_t *ret);

/* Stops the agent started by ctl_polkit_agent_open (pid 0: nothing) and reaps it. */
void ctl_polkit_agent_close(pid_t *pid);
