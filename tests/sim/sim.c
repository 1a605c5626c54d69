/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "util/checksum.h"
#include "util/cleanup.h"

/* Liveness: once faults stop, every pending op completes within this many ticks. */
#define SIM_STALL_TICKS 4000
/* Faulty phase ends at the op budget or after this many ticks. */
#define SIM_MAX_FAULTY_TICKS 60000
#define CLIENT_RETRY_TICKS 25
#define CLIENT_GIVE_UP_TICKS 400
/* Simulated nodes: replica hosts are 0..VR_MAX_REPLICAS-1 (a node's number is its replica's
 * member id), clients follow. */
#define CLIENT_NODE(proc) (VR_MAX_REPLICAS + (proc))
#define SIM_MAX_EPOCHS 64
/* Chance that a reconfiguration starts under a long partition, when faults are on. */
#define SIM_RECONF_PARTITION_PPM 300000

enum ev_type { EV_DELIVER, EV_TICK, EV_SYNC, EV_CLIENT, EV_FAULT, EV_RESTART, EV_HEAL };

struct event {
        uint64_t time;
        uint64_t order;
        enum ev_type type;
        uint32_t node;
        uint64_t gen; /* incarnation (replicas) or timer generation (clients) */
        uint64_t arg;
        uint32_t src;
        struct vr_msg *msg;
};

struct replica {
        struct vr_replica *vr;
        void *sm;
        struct disk disk;
        bool up;
        uint64_t inc;
        uint64_t period;
        uint64_t last_commit;
        uint64_t last_applied;
        struct vr_config cfg;   /* what it was created with; restarts reuse it */
        bool hosted;            /* a replica lives here (once started, for good) */
        bool retired;           /* it stopped: its files are deleted, it only answers */
        uint64_t started_epoch; /* 1 + the newest epoch it held durably as a member, 0: none */
};

/* A group configuration as a client or the admin knows it. */
struct config {
        uint64_t epoch;
        uint32_t n;
        uint64_t members[VR_MAX_REPLICAS];
};

struct client {
        uint32_t proc;
        uint64_t id;
        uint32_t session;
        bool registered;
        bool busy;   /* an op is outstanding (or the registration) */
        bool done;
        uint64_t req;
        uint64_t next_req;
        enum wl_kind kind;
        uint32_t key;
        int64_t value, expected;
        uint64_t invoked;
        uint32_t target;        /* index into conf */
        struct config conf;
        bool admin;             /* asks for reconfigurations, no register ops */
        bool asking;            /* admin: a reconfiguration not yet answered */
        struct config want;     /* ... to these members */
        uint64_t timer;
        int64_t seen[SIM_MAX_KEYS];     /* last value seen per key, LC_NIL: unknown */
        uint64_t version[SIM_MAX_KEYS]; /* ... and the register version it had */
};

struct canon {
        bool set;
        uint64_t view, client, request, digest;
};

struct sim {
        const struct sim_options *o;
        const struct workload *wl;
        struct sim_result *res;
        struct prng rng;
        uint64_t now;
        uint64_t order;
        struct event *heap;
        size_t n_ev, cap_ev;

        struct vr_config cfg;
        struct replica r[VR_MAX_REPLICAS];
        uint32_t n;             /* nodes used so far */
        struct client c[SIM_MAX_CLIENTS + 1]; /* the admin last */
        uint32_t nc;            /* workload clients */
        struct client *admin;   /* NULL without reconfigurations */
        uint32_t reconfigs;     /* asked for so far */
        uint64_t next_id;       /* the next node that never hosted a replica */
        struct config epochs[SIM_MAX_EPOCHS]; /* as the replicas reported them */
        uint64_t max_commit[SIM_MAX_EPOCHS];  /* highest commit seen in each epoch */
        bool dirty[VR_MAX_REPLICAS];

        bool phase1;    /* clients start new ops */
        bool faults_on; /* phase1 with faults enabled */
        bool partitioned, oneway;
        uint64_t partition_gen; /* a heal ends only the partition it was scheduled for */
        uint8_t side[SIM_MAX_NODES];
        uint64_t quiet_since;

        uint32_t invoked;
        int64_t next_value;
        struct lc_history *h;

        struct canon *log;       /* committed entries by op */
        struct canon *state;     /* state digests by applied op */
        size_t cap_log, cap_state;
        uint32_t *committer[SIM_MAX_EPOCHS]; /* by epoch, view: 1 + replica that committed as primary */
        size_t cap_committer[SIM_MAX_EPOCHS];
        bool failed;
};

static void fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sim *s, const char *fmt, ...) {
        if (s->failed)
                return;
        s->failed = true;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->res->reason, sizeof(s->res->reason), fmt, ap);
        va_end(ap);
}

/* ---- event heap, ordered by (time, order) ---- */

static bool ev_less(const struct event *a, const struct event *b) {
        return a->time < b->time || (a->time == b->time && a->order < b->order);
}

static int ev_push(struct sim *s, struct event e) {
        if (s->n_ev == s->cap_ev) {
                size_t cap = s->cap_ev ? s->cap_ev * 2 : 1024;
                struct event *n = reallocarray(s->heap, cap, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->heap = n;
                s->cap_ev = cap;
        }
        e.order = s->order++;
        size_t i = s->n_ev++;
        while (i > 0) {
                size_t p = (i - 1) / 2;
                if (!ev_less(&e, &s->heap[p]))
                        break;
                s->heap[i] = s->heap[p];
                i = p;
        }
        s->heap[i] = e;
        return 0;
}

static struct event ev_pop(struct sim *s) {
        struct event top = s->heap[0];
        struct event last = s->heap[--s->n_ev];
        size_t i = 0;
        for (;;) {
                size_t l = 2 * i + 1, m = i;
                if (l < s->n_ev && ev_less(&s->heap[l], &last))
                        m = l;
                if (l + 1 < s->n_ev && ev_less(&s->heap[l + 1], m == i ? &last : &s->heap[m]))
                        m = l + 1;
                if (m == i)
                        break;
                s->heap[i] = s->heap[m];
                i = m;
        }
        if (s->n_ev > 0)
                s->heap[i] = last;
        return top;
}

/* ---- network ---- */

static bool link_up(const struct sim *s, uint32_t from, uint32_t to) {
        if (!s->partitioned || s->side[from] == s->side[to])
                return true;
        return s->oneway && s->side[from] == 1; /* one-way: only side 0 -> side 1 is cut */
}

static int net_send(struct sim *s, uint32_t from, uint32_t to, const struct vr_msg *m) {
        if (!link_up(s, from, to))
                return 0;
        unsigned copies = 1;
        if (s->faults_on) {
                if (prng_chance(&s->rng, s->o->loss_ppm))
                        return 0;
                if (prng_chance(&s->rng, s->o->dup_ppm))
                        copies = 2;
        }
        for (unsigned i = 0; i < copies; i++) {
                uint64_t delay = prng_range(&s->rng, SIM_TICK / 10, 3 * SIM_TICK / 2);
                if (s->faults_on && prng_chance(&s->rng, s->o->long_delay_ppm))
                        delay = prng_range(&s->rng, 2 * SIM_TICK, 30 * SIM_TICK);
                /* A replica handles what arrived during one turn of its event loop before it
                 * writes and sends: arrivals are rounded up to turns, so requests batch. */
                uint64_t at = s->now + delay;
                at += SIM_TURN - 1 - (at + SIM_TURN - 1) % SIM_TURN;
                struct vr_msg *copy;
                int k = vr_msg_dup(m, &copy);
                if (k < 0)
                        return k;
                k = ev_push(s, (struct event) {
                        .time = at, .type = EV_DELIVER, .node = to, .src = from, .msg = copy,
                });
                if (k < 0) {
                        vr_msg_free(copy);
                        return k;
                }
        }
        return 0;
}

/* ---- invariants ---- */

static int grow_canon(struct canon **a, size_t *cap, uint64_t idx) {
        if (idx < *cap)
                return 0;
        size_t n = *cap ? *cap : 1024;
        while (n <= idx)
                n *= 2;
        struct canon *x = reallocarray(*a, n, sizeof(**a));
        if (!x)
                return -ENOMEM;
        memset(x + *cap, 0, (n - *cap) * sizeof(**a));
        *a = x;
        *cap = n;
        return 0;
}

static int check_replica(struct sim *s, uint32_t i) {
        struct replica *rp = &s->r[i];
        const struct vr_replica *v = rp->vr;
        uint64_t commit = vr_replica_commit(v);
        if (commit < rp->last_commit)
                fail(s, "replica %u: commit went back from %lu to %lu", i, rp->last_commit, commit);
        if (commit > vr_replica_op(v))
                fail(s, "replica %u: commit %lu beyond op %lu", i, commit, vr_replica_op(v));
        int k = grow_canon(&s->log, &s->cap_log, commit);
        if (k < 0)
                return k;
        for (uint64_t op = rp->last_commit + 1; op <= commit; op++) {
                const struct vr_entry *e = vr_replica_entry(v, op);
                if (!e)
                        continue;
                struct canon c = {
                        .set = true, .view = e->view, .client = e->client_id, .request = e->request,
                        .digest = e->len > 0 ? vs_checksum(e->data, e->len) : 0,
                };
                struct canon *g = &s->log[op];
                if (!g->set)
                        *g = c;
                else if (g->view != c.view || g->client != c.client || g->request != c.request ||
                         g->digest != c.digest)
                        fail(s, "replica %u: committed op %lu differs (view %lu vs %lu)", i, op, c.view, g->view);
        }
        uint64_t epoch = vr_replica_epoch(v);
        if (epoch >= SIM_MAX_EPOCHS)
                return -E2BIG;
        if (commit > rp->last_commit && vr_replica_is_primary(v)) {
                uint64_t view = vr_replica_view(v);
                uint32_t **by_view = &s->committer[epoch];
                size_t *cap = &s->cap_committer[epoch];
                if (view >= *cap) {
                        size_t n = *cap ? *cap : 64;
                        while (n <= view)
                                n *= 2;
                        uint32_t *x = reallocarray(*by_view, n, sizeof(*x));
                        if (!x)
                                return -ENOMEM;
                        memset(x + *cap, 0, (n - *cap) * sizeof(*x));
                        *by_view = x;
                        *cap = n;
                }
                if ((*by_view)[view] == 0)
                        (*by_view)[view] = i + 1;
                else if ((*by_view)[view] != i + 1)
                        fail(s, "epoch %lu view %lu: replicas %u and %u both committed as primary", epoch, view,
                             (*by_view)[view] - 1, i);
        }
        rp->last_commit = commit;
        if (!vr_replica_stopped(v) && commit > s->max_commit[epoch])
                s->max_commit[epoch] = commit;
        /* Committed ops are never lost across epochs: nothing committed in an older epoch lies
         * beyond the op that ended it. */
        uint64_t end = vr_replica_epoch_op(v);
        for (uint64_t e = 0; end > 0 && e < epoch; e++)
                if (s->max_commit[e] > end)
                        fail(s, "op %lu committed in epoch %lu, beyond op %lu that ended it", s->max_commit[e], e, end);
        if (vr_replica_epoch_started(v) && rp->started_epoch < epoch + 1)
                rp->started_epoch = epoch + 1;

        uint64_t applied = vr_replica_applied(v);
        if (applied != rp->last_applied) {
                k = grow_canon(&s->state, &s->cap_state, applied);
                if (k < 0)
                        return k;
                uint64_t d;
                k = s->wl->digest(rp->sm, &d);
                if (k < 0)
                        return k;
                struct canon *g = &s->state[applied];
                if (!g->set)
                        *g = (struct canon) { .set = true, .digest = d };
                else if (g->digest != d)
                        fail(s, "replica %u: state after op %lu differs from another replica's", i, applied);
                rp->last_applied = applied;
        }
        uint64_t view = vr_replica_view(v);
        if (view > s->res->views)
                s->res->views = view;
        return 0;
}

/* ---- replicas ---- */

static int schedule_sync(struct sim *s, uint32_t i) {
        struct replica *rp = &s->r[i];
        if (!disk_sync_due(&rp->disk))
                return 0;
        uint64_t target = disk_sync_begin(&rp->disk);
        return ev_push(s, (struct event) {
                .time = s->now + prng_range(&s->rng, SIM_TICK / 5, 2 * SIM_TICK),
                .type = EV_SYNC, .node = i, .gen = rp->inc, .arg = target,
        });
}

static int start_replica(struct sim *s, uint32_t i, bool fresh);

static uint64_t clock_period(struct sim *s) {
        /* Each clock within the drift bound the core is configured with. */
        int64_t drift = (int64_t) prng_below(&s->rng, 2 * s->cfg.drift_ppm + 1) - s->cfg.drift_ppm;
        return (uint64_t) ((int64_t) SIM_TICK + drift * SIM_TICK / 1000000);
}

/* What a driver does when a replica reports its epoch: keep the configuration, start the new
 * members nobody hosts yet (joining), and retire a replica that stopped, checking that the new
 * epoch held the state first. */
static int epoch_news(struct sim *s, uint32_t i, const struct vr_ready *rd) {
        struct replica *rp = &s->r[i];
        if (rd->epoch >= SIM_MAX_EPOCHS)
                return -E2BIG;
        struct config *known = &s->epochs[rd->epoch];
        if (known->n == 0) {
                *known = (struct config) { .epoch = rd->epoch, .n = rd->n_members };
                if (rd->epoch > s->res->epochs)
                        s->res->epochs = rd->epoch;
                memcpy(known->members, rd->members, rd->n_members * sizeof(*rd->members));
                if (s->o->verbose) {
                        fprintf(stderr, "%8lu epoch %lu:", s->now / SIM_TICK, rd->epoch);
                        for (uint32_t j = 0; j < known->n; j++)
                                fprintf(stderr, " r%lu", known->members[j]);
                        fprintf(stderr, "\n");
                }
                for (uint32_t j = 0; j < known->n; j++) {
                        uint64_t id = known->members[j];
                        if (id >= VR_MAX_REPLICAS || s->r[id].hosted)
                                continue;
                        struct replica *np = &s->r[id];
                        np->cfg = s->cfg;
                        np->cfg.epoch = rd->epoch;
                        np->cfg.n_replicas = known->n;
                        memcpy(np->cfg.members, known->members, sizeof(known->members));
                        np->cfg.self = j;
                        np->cfg.joining = true;
                        np->period = clock_period(s);
                        if (id >= s->n)
                                s->n = (uint32_t) id + 1;
                        int k = start_replica(s, (uint32_t) id, true);
                        if (k < 0)
                                return k;
                }
        } else if (known->n != rd->n_members || memcmp(known->members, rd->members, known->n * sizeof(*rd->members)) != 0)
                fail(s, "epoch %lu: replica %u reports another member list", rd->epoch, i);
        if (rd->stopped && !rp->retired) {
                uint32_t started = 0;
                for (uint32_t j = 0; j < known->n; j++)
                        if (known->members[j] < VR_MAX_REPLICAS && s->r[known->members[j]].started_epoch > rd->epoch)
                                started++;
                if (started < known->n / 2 + 1)
                        fail(s, "replica %u stopped while only %u members of epoch %lu held its state", i, started,
                             rd->epoch);
                rp->retired = true;
                s->res->stops++;
                if (s->o->verbose)
                        fprintf(stderr, "%8lu r%u stopped\n", s->now / SIM_TICK, i);
        }
        return 0;
}

static int drain(struct sim *s, uint32_t i) {
        struct replica *rp = &s->r[i];
        for (;;) {
                struct vr_ready rd;
                int k = vr_ready_take(rp->vr, &rd);
                if (k < 0)
                        return k;
                bool again = false;
                if (rd.status_changed && s->o->verbose)
                        fprintf(stderr, "%8lu r%u epoch=%lu view=%lu status=%d op=%lu commit=%lu applied=%lu base=%lu\n",
                                s->now / SIM_TICK, i, rd.epoch, rd.view, rd.status, vr_replica_op(rp->vr),
                                vr_replica_commit(rp->vr), vr_replica_applied(rp->vr),
                                vr_replica_checkpoint(rp->vr));
                k = disk_append(&rp->disk, rd.records, rd.n_records);
                for (size_t j = 0; k >= 0 && j < rd.n_msgs; j++) {
                        const struct vr_output *out = &rd.msgs[j];
                        /* What the daemon could not frame would never arrive: a view change or
                         * a transfer that needs it would never finish. */
                        if (vr_msg_bytes(&out->msg) > s->o->max_message_bytes ||
                            out->msg.n_entries > VR_MSG_MAX_ENTRIES)
                                fail(s, "replica %u sent a %s of %lu bytes (%zu entries), over the budget of %u", i,
                                     vr_msg_type_name(out->msg.type), vr_msg_bytes(&out->msg), out->msg.n_entries,
                                     s->o->max_message_bytes);
                        if (out->msg.type == VR_MSG_PREPARE) {
                                s->res->prepares++;
                                s->res->prepared_entries += out->msg.n_entries;
                        }
                        if (!out->to_client) {
                                s->res->replica_msgs++;
                                if (out->to_id < VR_MAX_REPLICAS)
                                        k = net_send(s, i, (uint32_t) out->to_id, &out->msg);
                                continue;
                        }
                        uint32_t proc = (uint32_t) (out->client_id >> 20) - 1;
                        if (proc <= s->nc)
                                k = net_send(s, i, CLIENT_NODE(proc), &out->msg);
                }
                if (k >= 0 && rd.status_changed)
                        k = epoch_news(s, i, &rd);
                if (k >= 0 && rd.checkpoint_op > 0) {
                        uint8_t *buf;
                        size_t len;
                        k = vr_checkpoint_take_buffer(rp->vr, &buf, &len);
                        if (k >= 0)
                                k = disk_write_checkpoint(&rp->disk, rd.checkpoint_op, buf, len);
                        again = true;
                }
                size_t n_out = rd.n_records + rd.n_msgs;
                vr_ready_done(&rd);
                if (k < 0)
                        return k;
                k = schedule_sync(s, i);
                if (k < 0)
                        return k;
                if (!again && n_out == 0)
                        break;
        }
        return check_replica(s, i);
}

static int start_replica(struct sim *s, uint32_t i, bool fresh) {
        struct replica *rp = &s->r[i];
        s->wl->sm_free(rp->sm);
        rp->sm = NULL;
        int k = s->wl->sm_new(s->o->keys, &rp->sm);
        if (k < 0)
                return k;
        struct vr_config c = rp->cfg;
        c.seed = prng_next(&s->rng);
        rp->hosted = true;
        if (fresh)
                k = vr_replica_new(&c, s->wl->sm_ops, rp->sm, &rp->vr);
        else {
                struct disk_load l;
                k = disk_load(&rp->disk, &l);
                if (k >= 0)
                        k = vr_replica_restart(&c, s->wl->sm_ops, rp->sm, &l.d, prng_next(&s->rng), &rp->vr);
                disk_load_done(&l);
        }
        if (k < 0)
                return k;
        if (s->o->verbose)
                fprintf(stderr, "%8lu r%u %s\n", s->now / SIM_TICK, i, fresh ? "start" : "restart");
        rp->up = true;
        rp->inc++;
        rp->last_commit = vr_replica_commit(rp->vr);
        rp->last_applied = 0;
        s->dirty[i] = true;
        return ev_push(s, (struct event) {
                .time = s->now + prng_below(&s->rng, rp->period) + 1, .type = EV_TICK, .node = i, .gen = rp->inc,
        });
}

static void add_stats(struct vr_stats *sum, const struct vr_stats *x) {
        sum->lease_reads += x->lease_reads;
        sum->views_started += x->views_started;
        sum->recoveries += x->recoveries;
        sum->checkpoints += x->checkpoints;
        sum->state_installs += x->state_installs;
        sum->log_transfers += x->log_transfers;
}

static void crash_replica(struct sim *s, uint32_t i) {
        struct replica *rp = &s->r[i];
        add_stats(&s->res->stats, vr_replica_stats(rp->vr));
        vr_replica_free(rp->vr);
        rp->vr = NULL;
        rp->up = false;
        rp->inc++;
        s->dirty[i] = false;
        disk_crash(&rp->disk, &s->rng);
        s->res->crashes++;
        if (s->o->verbose)
                fprintf(stderr, "%8lu r%u crash\n", s->now / SIM_TICK, i);
}

/* ---- clients ---- */

static int client_send(struct sim *s, struct client *c, const uint8_t *cmd, size_t len) {
        struct vr_msg m = {
                .type = VR_MSG_REQUEST,
                .client_id = c->id,
                .request = c->req,
                .len = (uint32_t) len,
                .data = (uint8_t *) cmd,
        };
        c->timer++;
        int k = net_send(s, CLIENT_NODE(c->proc), (uint32_t) c->conf.members[c->target], &m);
        if (k < 0)
                return k;
        return ev_push(s, (struct event) {
                .time = s->now + CLIENT_RETRY_TICKS * SIM_TICK, .type = EV_CLIENT, .node = c->proc, .gen = c->timer,
        });
}

static int client_resend(struct sim *s, struct client *c) {
        if (!c->registered)
                return client_send(s, c, (const uint8_t *) VR_REGISTER_CMD, VR_REGISTER_CMD_LEN);
        _cleanup_free_ uint8_t *cmd = NULL;
        size_t len;
        int k = c->admin ? vr_reconfigure_cmd(c->want.members, c->want.n, &cmd, &len) :
                s->wl->encode(c->kind, c->key, c->value, c->expected, c->version[c->key], s->o->value_bytes,
                              &cmd, &len);
        if (k < 0)
                return k;
        return client_send(s, c, cmd, len);
}

static int client_register(struct sim *s, struct client *c) {
        c->session++;
        c->id = ((uint64_t) c->proc + 1) << 20 | c->session;
        c->registered = false;
        c->busy = true;
        c->req = 1;
        c->next_req = 2;
        return client_resend(s, c);
}

static char *key_name(uint32_t key, char buf[16]) {
        snprintf(buf, 16, "k%u", key);
        return buf;
}

static int history(struct sim *s, const struct client *c, enum lc_type type, int64_t value) {
        char key[16];
        static const enum lc_fn fns[] = { [WL_READ] = LC_READ, [WL_WRITE] = LC_WRITE, [WL_CAS] = LC_CAS };
        struct lc_event e = {
                .process = c->proc,
                .type = type,
                .f = fns[c->kind],
                .key = key_name(c->key, key),
                .value = value,
                .expected = c->kind == WL_CAS ? c->expected : LC_NIL,
                .time = s->now,
        };
        return lc_history_add(s->h, &e);
}

/* A fresh node for the admin's next configuration, or VR_NO_INDEX when none is left. */
static uint64_t fresh_node(struct sim *s) {
        return s->next_id < VR_MAX_REPLICAS ? s->next_id++ : VR_NO_INDEX;
}

/* The admin's next reconfiguration: grow 3 -> 5, shrink 5 -> 3, or move one replica to a node
 * that never hosted one. */
static int admin_next(struct sim *s, struct client *c) {
        if (!s->phase1 || s->reconfigs >= s->o->reconfigs) {
                c->done = true;
                c->busy = false;
                return 0;
        }
        struct config w = c->conf;
        bool move = prng_chance(&s->rng, 500000);
        if (!move && w.n <= 3 && s->next_id + 2 <= VR_MAX_REPLICAS) {
                w.members[w.n++] = fresh_node(s);
                w.members[w.n++] = fresh_node(s);
                s->res->grows++;
        } else if (!move && w.n >= 5) {
                for (int drop = 0; drop < 2; drop++) {
                        uint32_t j = (uint32_t) prng_below(&s->rng, w.n);
                        w.members[j] = w.members[--w.n];
                }
                s->res->shrinks++;
        } else {
                uint64_t id = fresh_node(s);
                if (id == VR_NO_INDEX) {
                        c->done = true;
                        c->busy = false;
                        return 0;
                }
                w.members[prng_below(&s->rng, w.n)] = id;
                s->res->moves++;
        }
        s->reconfigs++;
        c->want = w;
        c->asking = true;
        c->req = c->next_req++;
        c->busy = true;
        c->invoked = s->now;
        if (s->o->verbose) {
                fprintf(stderr, "%8lu reconfigure to", s->now / SIM_TICK);
                for (uint32_t j = 0; j < w.n; j++)
                        fprintf(stderr, " r%lu", w.members[j]);
                fprintf(stderr, "\n");
        }
        if (s->faults_on && prng_chance(&s->rng, SIM_RECONF_PARTITION_PPM)) {
                /* A partition that outlives the reconfiguration (it takes tens of ticks). */
                s->partitioned = true;
                s->partition_gen++;
                s->res->long_partitions++;
                s->oneway = false;
                for (uint32_t i = 0; i < SIM_MAX_NODES; i++)
                        s->side[i] = (uint8_t) prng_below(&s->rng, 2);
                int k = ev_push(s, (struct event) {
                        .time = s->now + prng_range(&s->rng, 200, 600) * SIM_TICK, .type = EV_HEAL,
                        .arg = s->partition_gen,
                });
                if (k < 0)
                        return k;
        }
        return client_resend(s, c);
}

static int client_next(struct sim *s, struct client *c) {
        if (c->admin)
                return admin_next(s, c);
        if (!s->phase1 || s->invoked >= s->o->ops) {
                c->done = true;
                c->busy = false;
                return 0;
        }
        s->invoked++;
        uint64_t roll = prng_below(&s->rng, 100);
        c->kind = roll < 45 ? WL_READ : roll < 80 ? WL_WRITE : WL_CAS;
        c->key = (uint32_t) prng_below(&s->rng, s->o->keys);
        if (c->kind == WL_CAS && c->seen[c->key] == LC_NIL)
                c->kind = WL_WRITE; /* a cas needs a value seen */
        c->value = c->kind == WL_READ ? LC_NIL : ++s->next_value;
        c->expected = c->kind == WL_CAS ? c->seen[c->key] : LC_NIL;
        c->req = c->next_req++;
        c->busy = true;
        c->invoked = s->now;
        int k = history(s, c, LC_INVOKE, c->kind == WL_READ ? LC_NIL : c->value);
        if (k < 0)
                return k;
        return client_resend(s, c);
}

static int client_complete(struct sim *s, struct client *c, enum lc_type type, int64_t value) {
        int k = history(s, c, type, value);
        if (k < 0)
                return k;
        if (type == LC_INFO)
                s->res->ops_info++;
        else
                s->res->ops_done++;
        c->busy = false;
        c->timer++;
        /* Think, then the next op. */
        return ev_push(s, (struct event) {
                .time = s->now + prng_below(&s->rng, 2 * SIM_TICK) + 1, .type = EV_CLIENT, .node = c->proc,
                .gen = c->timer, .arg = 1,
        });
}

/* A reply naming a newer configuration than the client knows. */
static void client_learn(struct client *c, const struct vr_msg *m) {
        if (m->epoch <= c->conf.epoch || m->n_members == 0 || m->n_members > VR_MAX_REPLICAS)
                return;
        c->conf.epoch = m->epoch;
        c->conf.n = m->n_members;
        memcpy(c->conf.members, m->members, sizeof(c->conf.members));
        c->target = 0;
}

static int admin_reply(struct sim *s, struct client *c, const struct vr_msg *m) {
        if (m->reply_status == VR_REPLY_BAD_CONFIG) {
                fail(s, "reconfiguration refused");
                return 0;
        }
        c->conf = c->want;
        c->conf.epoch = m->epoch;
        c->asking = false;
        c->busy = false;
        c->timer++;
        return ev_push(s, (struct event) {
                .time = s->now + prng_range(&s->rng, 20, 200) * SIM_TICK, .type = EV_CLIENT, .node = c->proc,
                .gen = c->timer, .arg = 1,
        });
}

static int client_reply(struct sim *s, struct client *c, const struct vr_msg *m) {
        if (!c->busy || m->client_id != c->id || m->request != c->req)
                return 0;
        switch (m->reply_status) {
        case VR_REPLY_NOT_PRIMARY: {
                client_learn(c, m);
                if (m->epoch != c->conf.epoch)
                        return 0;
                uint32_t p = (uint32_t) (m->view % c->conf.n);
                if (p == c->target)
                        return 0;
                c->target = p;
                return client_resend(s, c);
        }
        case VR_REPLY_NEW_EPOCH:
                client_learn(c, m);
                return 0; /* the retry timer goes on with the new configuration */
        case VR_REPLY_SESSION_EXPIRED:
                if (c->registered && !c->admin) {
                        /* A read had no effect; a write may or may not have happened. */
                        int k = history(s, c, c->kind == WL_READ ? LC_FAIL : LC_INFO, LC_NIL);
                        if (k < 0)
                                return k;
                        s->res->ops_info++;
                }
                return client_register(s, c);
        default:
                break;
        }
        if (!c->registered) {
                c->registered = true;
                c->busy = false;
                /* An admin whose session expired asks again for what it wanted. */
                if (c->admin && c->asking) {
                        c->req = c->next_req++;
                        c->busy = true;
                        return client_resend(s, c);
                }
                return client_next(s, c);
        }
        if (c->admin)
                return admin_reply(s, c, m);
        struct wl_result res;
        if (s->wl->decode(c->kind, m->data, m->len, &res) < 0) {
                fail(s, "client %u: malformed reply", c->proc);
                return 0;
        }
        if (c->kind == WL_CAS && !res.applied) {
                c->seen[c->key] = LC_NIL; /* read again before the next cas */
                return client_complete(s, c, LC_FAIL, c->value);
        }
        c->version[c->key] = res.version;
        if (c->kind == WL_READ) {
                c->seen[c->key] = res.value == WL_ABSENT ? LC_NIL : res.value;
                return client_complete(s, c, LC_OK, c->seen[c->key]);
        }
        c->seen[c->key] = c->value;
        return client_complete(s, c, LC_OK, c->value);
}

static int client_timer(struct sim *s, struct client *c, const struct event *e) {
        if (e->gen != c->timer || c->done)
                return 0;
        if (e->arg == 1)
                return client_next(s, c);
        if (!c->busy)
                return 0;
        if (c->registered && !c->admin && s->phase1 && s->now - c->invoked > CLIENT_GIVE_UP_TICKS * SIM_TICK) {
                /* Give up: the op may still take effect later. */
                int k = client_complete(s, c, c->kind == WL_READ ? LC_FAIL : LC_INFO,
                                        c->kind == WL_READ ? LC_NIL : c->value);
                if (k < 0)
                        return k;
                return 0;
        }
        c->target = (c->target + 1) % c->conf.n;
        return client_resend(s, c);
}

/* ---- faults ---- */

/* Replicas other than `except` that are down or not whole. */
static uint32_t count_down(const struct sim *s, uint32_t except) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < s->n; i++)
                if (i != except && s->r[i].hosted && !s->r[i].retired &&
                    (!s->r[i].up || vr_replica_needs_repair(s->r[i].vr)))
                        n++;
        return n;
}

static int fault_step(struct sim *s) {
        if (!s->faults_on)
                return 0;
        const struct sim_options *o = s->o;
        if (!s->partitioned && prng_chance(&s->rng, o->partition_ppm)) {
                s->partitioned = true;
                s->oneway = prng_chance(&s->rng, 300000);
                for (uint32_t i = 0; i < s->n; i++)
                        s->side[i] = (uint8_t) prng_below(&s->rng, 2);
                for (uint32_t i = 0; i < s->nc; i++)
                        s->side[CLIENT_NODE(i)] = (uint8_t) prng_below(&s->rng, 2);
                int k = ev_push(s, (struct event) {
                        .time = s->now + prng_range(&s->rng, 20, 400) * SIM_TICK, .type = EV_HEAL,
                        .arg = ++s->partition_gen,
                });
                if (k < 0)
                        return k;
        }
        if (prng_chance(&s->rng, o->crash_ppm)) {
                uint32_t i = (uint32_t) prng_below(&s->rng, s->n);
                if (s->r[i].up && !s->r[i].retired) {
                        /* Rot only while every other replica is healthy: recovery assumes at
                         * most f replicas have lost state at once (so never with f = 0). */
                        bool rot = prng_chance(&s->rng, o->rot_ppm) && s->n > 1 && count_down(s, i) == 0;
                        crash_replica(s, i);
                        if (rot && disk_rot(&s->r[i].disk, &s->rng)) {
                                s->res->rots++;
                                if (o->verbose)
                                        fprintf(stderr, "%8lu r%u rot\n", s->now / SIM_TICK, i);
                        }
                        int k = ev_push(s, (struct event) {
                                .time = s->now + prng_range(&s->rng, 5, 300) * SIM_TICK,
                                .type = EV_RESTART, .node = i, .gen = s->r[i].inc,
                        });
                        if (k < 0)
                                return k;
                }
        }
        return ev_push(s, (struct event) { .time = s->now + 10 * SIM_TICK, .type = EV_FAULT });
}

static int stop_faults(struct sim *s) {
        s->phase1 = false;
        s->faults_on = false;
        s->partitioned = false;
        s->quiet_since = s->now;
        for (uint32_t i = 0; i < s->n; i++)
                if (s->r[i].hosted && !s->r[i].retired && !s->r[i].up) {
                        int k = start_replica(s, i, false);
                        if (k < 0)
                                return k;
                }
        return 0;
}

/* ---- the run ---- */

static int handle(struct sim *s, struct event *e) {
        struct replica *rp = e->node < VR_MAX_REPLICAS ? &s->r[e->node] : NULL;
        int k;
        switch (e->type) {
        case EV_DELIVER:
                if (e->node >= VR_MAX_REPLICAS) {
                        struct client *c = &s->c[e->node - VR_MAX_REPLICAS];
                        return client_reply(s, c, e->msg);
                }
                if (!rp->up)
                        return 0;
                /* The link knows who sent it (as the daemon's peer links do). */
                if (e->msg->type != VR_MSG_REQUEST)
                        e->msg->sender = e->src;
                s->dirty[e->node] = true;
                return vr_receive(rp->vr, e->msg);
        case EV_TICK:
                if (!rp->up || e->gen != rp->inc || rp->retired)
                        return 0;
                s->dirty[e->node] = true;
                e->time += rp->period;
                struct event next = *e;
                k = ev_push(s, next);
                if (k < 0)
                        return k;
                return vr_tick(rp->vr);
        case EV_SYNC: {
                if (!rp->up || e->gen != rp->inc)
                        return 0;
                uint64_t ckpt = disk_sync_end(&rp->disk);
                s->dirty[e->node] = true;
                if (e->arg > 0) {
                        k = vr_persisted(rp->vr, e->arg);
                        if (k < 0)
                                return k;
                }
                if (ckpt > 0) {
                        k = vr_checkpoint_durable(rp->vr, ckpt);
                        if (k < 0)
                                return k;
                }
                return 0;
        }
        case EV_CLIENT:
                return client_timer(s, &s->c[e->node], e);
        case EV_FAULT:
                return fault_step(s);
        case EV_HEAL:
                if (e->arg == s->partition_gen)
                        s->partitioned = false;
                return 0;
        case EV_RESTART:
                if (!s->phase1 || rp->up || e->gen != rp->inc || rp->retired)
                        return 0;
                return start_replica(s, e->node, false);
        }
        return 0;
}

static bool all_done(const struct sim *s) {
        for (uint32_t i = 0; i < s->nc + (s->admin ? 1 : 0); i++)
                if (!s->c[i].done)
                        return false;
        return true;
}

static void sim_free(struct sim *s) {
        for (size_t i = 0; i < s->n_ev; i++)
                vr_msg_free(s->heap[i].msg);
        free(s->heap);
        for (uint32_t i = 0; i < s->n; i++) {
                if (s->r[i].vr)
                        add_stats(&s->res->stats, vr_replica_stats(s->r[i].vr));
                vr_replica_free(s->r[i].vr);
                s->wl->sm_free(s->r[i].sm);
                disk_done(&s->r[i].disk);
        }
        free(s->log);
        free(s->state);
        for (size_t e = 0; e < SIM_MAX_EPOCHS; e++)
                free(s->committer[e]);
        lc_history_free(s->h);
}

void sim_options_default(struct sim_options *o) {
        *o = (struct sim_options) {
                .seed = 1,
                .replicas = 3,
                .clients = 4,
                .ops = 200,
                .keys = 3,
                .faults = true,
                .loss_ppm = 20000,
                .dup_ppm = 10000,
                .long_delay_ppm = 10000,
                .partition_ppm = 80000,
                .crash_ppm = 80000,
                .rot_ppm = 300000,
                .reads_through_log = -1,
                .max_batch = 16,
                .value_bytes = 8,
                .max_message_bytes = 16u << 20,
        };
}

static int run(struct sim *s) {
        const struct sim_options *o = s->o;
        vr_config_default(&s->cfg, o->replicas, 0);
        s->cfg.checkpoint_interval = 32;
        s->cfg.max_batch = o->max_batch;
        /* Small chunks make many; with large values, as many as a small budget makes. */
        s->cfg.state_chunk = o->value_bytes > 8 ? o->max_message_bytes / 2 : 48;
        s->cfg.max_message_bytes = o->max_message_bytes;
        s->cfg.client_table_size = o->clients + 1 + (o->reconfigs > 0);
        s->cfg.reads_through_log = o->reads_through_log >= 0 ? o->reads_through_log : prng_chance(&s->rng, 250000);
        int k = lc_history_new(&s->h);
        if (k < 0)
                return k;

        for (uint32_t i = 0; i < s->n; i++) {
                s->r[i].period = clock_period(s);
                s->r[i].cfg = s->cfg;
                s->r[i].cfg.self = i;
                k = start_replica(s, i, true);
                if (k < 0)
                        return k;
        }
        s->next_id = s->n;
        if (o->reconfigs > 0) {
                s->admin = &s->c[s->nc];
                s->admin->admin = true;
        }
        for (uint32_t i = 0; i < s->nc + (s->admin ? 1 : 0); i++) {
                s->c[i].proc = i;
                s->c[i].conf = (struct config) { .n = s->n };
                memcpy(s->c[i].conf.members, s->cfg.members, sizeof(s->cfg.members));
                s->c[i].target = (uint32_t) prng_below(&s->rng, s->n);
                for (uint32_t j = 0; j < SIM_MAX_KEYS; j++)
                        s->c[i].seen[j] = LC_NIL;
                k = client_register(s, &s->c[i]);
                if (k < 0)
                        return k;
        }
        if (s->faults_on) {
                k = ev_push(s, (struct event) { .time = 10 * SIM_TICK, .type = EV_FAULT });
                if (k < 0)
                        return k;
        }

        while (s->n_ev > 0 && !s->failed) {
                struct event e = ev_pop(s);
                s->now = e.time;
                k = handle(s, &e);
                vr_msg_free(e.msg);
                if (k < 0)
                        return k;
                if (s->n_ev > 0 && s->heap[0].time == s->now)
                        continue;
                for (uint32_t i = 0; i < s->n; i++) {
                        if (!s->dirty[i] || !s->r[i].up)
                                continue;
                        s->dirty[i] = false;
                        k = drain(s, i);
                        if (k < 0)
                                return k;
                }
                if (s->phase1 && (s->invoked >= o->ops || s->now > SIM_MAX_FAULTY_TICKS * (uint64_t) SIM_TICK)) {
                        k = stop_faults(s);
                        if (k < 0)
                                return k;
                }
                if (!s->phase1 && all_done(s))
                        break;
                if (!s->phase1 && s->now > s->quiet_since + SIM_STALL_TICKS * (uint64_t) SIM_TICK) {
                        uint32_t pending = 0;
                        for (uint32_t i = 0; i < s->nc + (s->admin ? 1 : 0); i++)
                                pending += !s->c[i].done;
                        fail(s, "stall: %u clients still waiting %u ticks after faults stopped", pending,
                             SIM_STALL_TICKS);
                }
        }
        s->res->sim_ticks = s->now / SIM_TICK;
        if (s->failed)
                return 0;

        if (o->history_path) {
                _cleanup_fclose_ FILE *f = fopen(o->history_path, "we");
                if (!f)
                        return -errno;
                k = lc_history_write_jsonl(s->h, f);
                if (k < 0)
                        return k;
        }
        if (o->history_file) {
                k = lc_history_write_jsonl(s->h, o->history_file);
                if (k < 0)
                        return k;
        }
        struct lc_result lr = {};
        k = lc_check(s->h, &lr);
        if (k < 0) {
                lc_result_done(&lr);
                if (k == -E2BIG) {
                        s->res->undecided = true; /* beyond the checker's budget: reported */
                        return 0;
                }
                return k;
        }
        if (!lr.linearizable) {
                fail(s, "history not linearizable on key %s", lr.key ? lr.key : "?");
                if (o->verbose && lr.explanation)
                        fprintf(stderr, "%s\n", lr.explanation);
        }
        lc_result_done(&lr);
        return 0;
}

int sim_run(const struct sim_options *o, struct sim_result *res) {
        if (o->replicas < 1 || o->replicas > VR_MAX_REPLICAS || o->replicas % 2 == 0 ||
            o->clients < 1 || o->clients > SIM_MAX_CLIENTS || o->keys < 1 || o->keys > SIM_MAX_KEYS)
                return -EINVAL;
        *res = (struct sim_result) {};
        struct sim *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->o = o;
        s->wl = o->kv ? &workload_kv : &workload_tree;
        s->res = res;
        s->n = o->replicas;
        s->nc = o->clients;
        s->phase1 = true;
        s->faults_on = o->faults;
        prng_seed(&s->rng, o->seed);
        int k = run(s);
        res->ok = !s->failed;
        sim_free(s);
        free(s);
        return k;
}
