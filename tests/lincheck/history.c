/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <xxhash.h>

#include "grow.h"
#include "history.h"
#include "util/cleanup.h"

int lc_history_new(struct lc_history **ret) {
        struct lc_history *h = calloc(1, sizeof(*h));

        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

void lc_history_free(struct lc_history *h) {
        if (!h)
                return;
        for (size_t i = 0; i < h->n_keys; i++)
                free(h->keys[i]);
        free(h->keys);
        free(h->events);
        free(h->event_key);
        free(h->partner);
        free(h->processes);
        lc_idtable_done(&h->key_index);
        lc_idtable_done(&h->process_index);
        free(h);
}

size_t lc_history_size(const struct lc_history *h) {
        return h->n_events;
}

const struct lc_event *lc_history_get(const struct lc_history *h, size_t i) {
        return i < h->n_events ? &h->events[i] : NULL;
}

static bool key_eq(uint32_t id, const void *probe, void *userdata) {
        const struct lc_history *h = userdata;

        return strcmp(h->keys[id], probe) == 0;
}

static bool process_eq(uint32_t id, const void *probe, void *userdata) {
        const struct lc_history *h = userdata;

        return h->processes[id].id == *(const int64_t *) probe;
}

static uint64_t process_hash(int64_t p) {
        return XXH3_64bits(&p, sizeof(p));
}

/* The id of key, interning it if new. */
static int intern_key(struct lc_history *h, const char *key, uint32_t *ret) {
        uint64_t hash = XXH3_64bits(key, strlen(key));
        uint32_t id = lc_idtable_find(&h->key_index, hash, key_eq, key, h);

        if (id == LC_ID_NONE) {
                if (h->n_keys >= LC_ID_NONE)
                        return -E2BIG;
                int r = lc_grow(&h->keys, &h->cap_keys, h->n_keys + 1);
                if (r < 0)
                        return r;
                char *copy = strdup(key);
                if (!copy)
                        return -ENOMEM;
                id = h->n_keys;
                r = lc_idtable_put(&h->key_index, hash, id);
                if (r < 0) {
                        free(copy);
                        return r;
                }
                h->keys[h->n_keys++] = copy;
        }
        *ret = id;
        return 0;
}

static int find_process(struct lc_history *h, int64_t process, struct lc_process **ret) {
        uint64_t hash = process_hash(process);
        uint32_t id = lc_idtable_find(&h->process_index, hash, process_eq, &process, h);

        if (id == LC_ID_NONE) {
                if (h->n_processes >= LC_ID_NONE)
                        return -E2BIG;
                int r = lc_grow(&h->processes, &h->cap_processes, h->n_processes + 1);
                if (r < 0)
                        return r;
                id = h->n_processes;
                r = lc_idtable_put(&h->process_index, hash, id);
                if (r < 0)
                        return r;
                h->processes[h->n_processes++] = (struct lc_process) {
                        .id = process,
                        .outstanding = LC_NO_EVENT,
                };
        }
        *ret = &h->processes[id];
        return 0;
}

static int reject(const char **why, const char *reason) {
        if (why)
                *why = reason;
        return -EINVAL;
}

/* Checks e against the rules in lincheck.h and fills *n with the event as stored. */
static int normalise(const struct lc_history *h, const struct lc_event *e, const struct lc_process *p,
                     struct lc_event *n, const char **why) {
        if (e->type > LC_INFO)
                return reject(why, "unknown event type");
        if (e->f > LC_CAS)
                return reject(why, "unknown function");

        *n = *e;
        if (e->type == LC_INVOKE) {
                if (p->outstanding != LC_NO_EVENT)
                        return reject(why, "invoke while the process has an op outstanding");
                if (!e->key)
                        return reject(why, "invoke without a key");
                if (e->f == LC_READ && e->value != LC_NIL)
                        return reject(why, "read invoke with a value");
                if (e->f != LC_CAS)
                        n->expected = LC_NIL;
                return 0;
        }

        if (p->outstanding == LC_NO_EVENT)
                return reject(why, "completion without an outstanding invoke");
        const struct lc_event *inv = &h->events[p->outstanding];
        if (e->f != inv->f)
                return reject(why, "completion for a different function than its invoke");
        if (e->key && strcmp(e->key, inv->key) != 0)
                return reject(why, "completion for a different key than its invoke");

        if (e->f == LC_READ) {
                if (e->type != LC_OK && e->value != LC_NIL)
                        return reject(why, "failed or indeterminate read with a value");
                n->expected = LC_NIL;
                return 0;
        }
        bool echoes = e->value == inv->value && (e->f != LC_CAS || e->expected == inv->expected);
        bool blank = e->value == LC_NIL && (e->f != LC_CAS || e->expected == LC_NIL);
        if (!echoes && !blank)
                return reject(why, "completion with arguments different from its invoke");
        n->value = inv->value;
        n->expected = inv->expected;
        return 0;
}

int lc_history_add_why(struct lc_history *h, const struct lc_event *e, const char **why) {
        struct lc_process *p;
        struct lc_event n;
        uint32_t key;
        int r;

        r = find_process(h, e->process, &p);
        if (r < 0)
                return r;
        r = normalise(h, e, p, &n, why);
        if (r < 0)
                return r;
        if (e->type == LC_INVOKE) {
                r = intern_key(h, e->key, &key);
                if (r < 0)
                        return r;
        } else
                key = h->event_key[p->outstanding];

        if (lc_grow(&h->events, &h->cap_events, h->n_events + 1) < 0 ||
            lc_grow(&h->event_key, &h->cap_event_key, h->n_events + 1) < 0 ||
            lc_grow(&h->partner, &h->cap_partner, h->n_events + 1) < 0)
                return -ENOMEM;

        size_t i = h->n_events++;
        n.key = h->keys[key];
        h->events[i] = n;
        h->event_key[i] = key;
        if (e->type == LC_INVOKE) {
                h->partner[i] = LC_NO_EVENT;
                p->outstanding = i;
        } else {
                h->partner[i] = p->outstanding;
                h->partner[p->outstanding] = i;
                p->outstanding = LC_NO_EVENT;
        }
        return 0;
}

int lc_history_add(struct lc_history *h, const struct lc_event *e) {
        return lc_history_add_why(h, e, NULL);
}
