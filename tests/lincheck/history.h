/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The in-memory history behind the opaque struct lc_history, shared by the JSON-lines codec and
 * the checker. Events are stored in the order added; every key is interned once so events of
 * one key share a key id (dense, in order of first appearance) and a key pointer.
 */

#include "idtable.h"
#include "lincheck.h"

#define LC_NO_EVENT SIZE_MAX

struct lc_process {
        int64_t id;
        size_t outstanding;  /* index of its invoke awaiting completion, or LC_NO_EVENT */
};

struct lc_history {
        struct lc_event *events;
        uint32_t *event_key;   /* key id per event */
        size_t *partner;       /* invoke <-> its completion; LC_NO_EVENT if none (yet) */
        size_t n_events, cap_events, cap_event_key, cap_partner;

        char **keys;
        size_t n_keys, cap_keys;
        struct lc_idtable key_index;

        struct lc_process *processes;
        size_t n_processes, cap_processes;
        struct lc_idtable process_index;
};

/* lc_history_add(), with *why set to a static reason when it returns -EINVAL. */
int lc_history_add_why(struct lc_history *h, const struct lc_event *e, const char **why);

/* Writes the event as one JSON object, without a newline. */
int lc_event_format(const struct lc_event *e, FILE *f);
