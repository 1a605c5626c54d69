/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Sessions: a registered client id with its latest request number. A session carries at most one
 * request at a time (the server's client table remembers one reply per session, so this is what
 * makes every retry answerable). The table finds a session by the client id a reply names.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct request;

struct session {
        uint64_t id;
        uint64_t number;      /* request number of the latest request; 0 while registering */
        bool registered;
        struct request *req;  /* in flight on this session, or NULL when idle */
        struct session *next_idle;
};

struct session_table {
        struct session **slots; /* open addressing, linear probing; cap a power of two */
        size_t cap, n;
};

void session_table_done(struct session_table *t);
/* -ENOMEM; -EEXIST if the id is taken (the caller draws another). */
int session_table_add(struct session_table *t, struct session *s);
struct session *session_table_find(const struct session_table *t, uint64_t id);
void session_table_remove(struct session_table *t, struct session *s);
