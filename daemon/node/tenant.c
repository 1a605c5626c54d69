/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/vr_codec.h"
#include "journal/checkpoint.h"
#include "journal/journal.h"
#include "log/log.h"
#include "net/conn.h"
#include "node/node.h"
#include "node/routes.h"
#include "node/tenant.h"
#include "tree/tree.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "util/u64map.h"

struct vs_tenant {
        struct vs_node *node;
        struct vs_tenant_config config;
        uint64_t member_id;
        struct vs_routes peers;
        char primary[VS_CONF_NAME_MAX + 1]; /* as of the replica's last status, "" unknown */
        struct tree *tree;
        struct vr_replica *vr;
        struct u64map routes; /* client id -> route + 1 (never NULL) */
        sd_event_source *drive_soon; /* defer: outputs held back for a burst of requests */
        bool failed;
        bool stopped;
};

static struct vs_log_ctx log_ctx(const struct vs_tenant *t) {
        struct vs_log_ctx c = { .tenant = t->config.name };
        if (t->vr) {
                c.view = vr_replica_view(t->vr);
                c.has_view = true;
                c.op = vr_replica_op(t->vr);
                c.has_op = true;
        }
        return c;
}

static void fail(struct vs_tenant *t, int error, const char *what) {
        if (t->failed)
                return;
        t->failed = true;
        struct vs_log_ctx c = log_ctx(t);
        log_error_errno(&c, error, "replica stopped: %s; restart viewstampd to recover from its journal", what);
        vs_node_tenant_changed(t->node, t);
}

static int persist(struct vs_tenant *t, const struct vr_record *recs, size_t n) {
        struct vs_journal *j = vs_node_journal(t->node);
        for (size_t i = 0; i < n; i++) {
                int r = vs_journal_append(j, t->config.id, &recs[i]);
                if (r < 0)
                        return r;
                vs_node_commit_soon(t->node, vr_replica_is_primary(t->vr));
        }
        return 0;
}

static void reply_to_client(struct vs_tenant *t, const struct vr_output *out) {
        void *v = u64map_get(&t->routes, out->client_id);
        if (!v)
                return; /* no connection known: the client retries */
        uint64_t route = (uint64_t) (uintptr_t) v - 1;

        const struct vr_msg *m = &out->msg;
        Viewstamp__ClientReply reply = VIEWSTAMP__CLIENT_REPLY__INIT;
        reply.client_id = m->client_id;
        reply.request = m->request;
        /* reply.primary points here until the reply is sent, after the switch. */
        char primary[VS_ADDRESS_STRING_MAX] = ""; // cppcheck-suppress variableScope
        char text[160];                            // cppcheck-suppress variableScope
        switch (m->reply_status) {
        case VR_REPLY_OK:
                reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_OK;
                reply.reply = (ProtobufCBinaryData) { .len = m->len, .data = m->data };
                break;
        case VR_REPLY_NOT_PRIMARY:
        case VR_REPLY_NEW_EPOCH: {
                /* Both carry the epoch's members; a new epoch starts in view 0. */
                bool moved = m->reply_status == VR_REPLY_NEW_EPOCH;
                uint64_t view = moved ? 0 : m->view;
                const char *node = m->n_members > 0 ? vs_routes_node(&t->peers, m->members[view % m->n_members]) : NULL;
                const struct vs_conf_node *n = node ? vs_node_find_member(t->node, node) : NULL;
                if (!n || (!moved && strcmp(node, vs_node_conf(t->node)->name) == 0)) {
                        reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_UNAVAILABLE;
                        reply.message = moved ? (char *) "the tenant moved to replicas this node cannot name yet"
                                              : (char *) "no primary at the moment (view change)";
                } else {
                        reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_REDIRECT;
                        reply.primary = (char *) vs_address_to_string(&n->client, primary);
                        reply.message = moved ? (char *) "the tenant moved to other replicas" : (char *) "not the primary";
                }
                break;
        }
        case VR_REPLY_TOO_LARGE:
                reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_LIMIT;
                snprintf(text, sizeof text,
                         "command too large to replicate: a command may take at most half of MaxFrameBytes=%" PRIu32,
                         vs_node_conf(t->node)->max_frame_bytes);
                reply.message = text;
                break;
        case VR_REPLY_BAD_CONFIG:
                reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_BAD_REQUEST;
                reply.message = (char *) "not a usable member list for a reconfiguration";
                break;
        case VR_REPLY_SESSION_EXPIRED:
        default:
                reply.status = VIEWSTAMP__CLIENT_STATUS__CLIENT_SESSION_EXPIRED;
                snprintf(text, sizeof text,
                         "unknown or expired client session (the tenant remembers its %u most recently active "
                         "clients, MaxClientsPerTenant=): register a new client id",
                         vs_node_conf(t->node)->max_clients_per_tenant);
                reply.message = text;
                break;
        }
        vs_node_send_client(t->node, route, t->config.name, &reply);
}

/* The journal writes the snapshot as a checkpoint file before any record appended after this,
 * which is the order vr.h asks for, and reports it durable through the node. */
static int start_checkpoint(struct vs_tenant *t, uint64_t op) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r = vr_checkpoint_take_buffer(t->vr, &buf, &len);
        if (r < 0)
                return r;
        r = vs_journal_checkpoint(vs_node_journal(t->node), t->config.id, op, buf, len);
        if (r >= 0) {
                TAKE_PTR(buf); /* the journal owns it now */
                vs_node_commit_soon(t->node, vr_replica_is_primary(t->vr));
        }
        return r;
}

/* Drains the replica's outputs until it has nothing more to say. */
static void drive(struct vs_tenant *t) {
        (void) sd_event_source_set_enabled(t->drive_soon, SD_EVENT_OFF);
        while (!t->failed) {
                struct vr_ready rd;
                int r = vr_ready_take(t->vr, &rd);
                if (r < 0)
                        return fail(t, r, "cannot take the replica's outputs");

                if (rd.n_records > 0)
                        r = persist(t, rd.records, rd.n_records);
                if (rd.n_members > 0)
                        vs_routes_learn_epoch(&t->peers, rd.epoch, rd.n_members, rd.members);
                for (size_t i = 0; r >= 0 && i < rd.n_msgs; i++) {
                        const struct vr_output *out = &rd.msgs[i];
                        if (out->to_client) {
                                reply_to_client(t, out);
                                continue;
                        }
                        /* A broadcast's copies follow one another: one encoding for all. */
                        const char *to[VR_MAX_REPLICAS];
                        size_t n_to = 0;
                        for (;; i++) {
                                const char *node = vs_routes_node(&t->peers, rd.msgs[i].to_id);
                                if (node && rd.msgs[i].to_id != t->member_id && n_to < VR_MAX_REPLICAS)
                                        to[n_to++] = node;
                                if (i + 1 == rd.n_msgs || !rd.msgs[i + 1].same_msg)
                                        break;
                        }
                        if (n_to > 0)
                                vs_node_send_replica(t->node, to, n_to, t->config.name, &out->msg);
                }
                bool again = false;
                if (r >= 0 && rd.checkpoint_op > 0) {
                        r = start_checkpoint(t, rd.checkpoint_op);
                        again = true;
                }
                if (rd.status_changed) {
                        const char *p = rd.primary < rd.n_members ? vs_routes_node(&t->peers, rd.members[rd.primary]) : NULL;
                        snprintf(t->primary, sizeof t->primary, "%s", p ? p : "");
                        struct vs_log_ctx c = log_ctx(t);
                        if (rd.stopped && !t->stopped)
                                log_notice(&c, "replica left the group in epoch %" PRIu64 " and stopped", rd.epoch);
                        else
                                log_info(&c, "epoch %" PRIu64 ", status %s, primary %s", rd.epoch,
                                         vr_status_name(rd.status), p ? p : "(unknown)");
                        t->stopped = rd.stopped;
                        vs_node_tenant_changed(t->node, t);
                }
                size_t n_out = rd.n_records + rd.n_msgs;
                vr_ready_done(&rd);
                if (r < 0)
                        return fail(t, r, r == -ENOSPC || r == -ENOBUFS ? "journal out of space" : "cannot persist or send");
                if (!again && n_out == 0)
                        return;
        }
}

static int on_drive_soon(sd_event_source *s, void *userdata) {
        drive(userdata);
        return 0;
}

void vs_tenant_checkpoint_durable(struct vs_tenant *t, uint64_t op, int error) {
        if (t->failed)
                return;
        if (error < 0)
                return fail(t, error, "cannot write a checkpoint");
        int r = vr_checkpoint_durable(t->vr, op);
        if (r < 0)
                return fail(t, r, "checkpoint");
        drive(t);
}

/* The replica's place in the newest epoch its configuration names it for. A replica new in an
 * epoch after the first holds nothing yet and joins (vr.h); its journal's metadata, once it has
 * some, is what a restart goes by. */
static struct vr_config replica_config(const struct vs_tenant *t, bool has_meta) {
        const struct vs_conf *conf = vs_node_conf(t->node);
        const struct vs_tenant_config *tc = &t->config;
        int self = vs_tenant_config_index(tc, conf->name);
        struct vr_config c;
        if (self >= 0) {
                vr_config_default(&c, tc->n_replicas, (uint32_t) self);
                memcpy(c.members, tc->member_ids, tc->n_replicas * sizeof *c.members);
                c.epoch = tc->epoch;
                bool was_member = false;
                for (uint32_t i = 0; i < tc->n_old; i++)
                        was_member |= tc->old_member_ids[i] == t->member_id;
                c.joining = tc->epoch > 0 && !was_member && !has_meta;
        } else {
                uint32_t k = 0;
                while (k + 1 < tc->n_old && tc->old_member_ids[k] != t->member_id)
                        k++;
                vr_config_default(&c, tc->n_old, k);
                memcpy(c.members, tc->old_member_ids, tc->n_old * sizeof *c.members);
                c.epoch = tc->epoch - 1;
        }
        c.heartbeat_ticks = conf->heartbeat_ticks;
        c.view_change_ticks = conf->view_change_ticks;
        c.jitter_ticks = conf->view_change_ticks / 2;
        c.lease_ticks = conf->lease_ticks;
        c.drift_ppm = conf->clock_drift_ppm;
        c.reads_through_log = conf->reads == VS_READS_LOG;
        c.checkpoint_interval = conf->checkpoint_interval;
        c.max_batch = conf->batch_max;
        c.client_table_size = conf->max_clients_per_tenant;
        c.max_message_bytes = conf->max_frame_bytes - VS_VR_ENVELOPE_BYTES;
        c.seed = vs_node_random(t->node);
        return c;
}

int vs_tenant_new(struct vs_node *node, const struct vs_tenant_config *config, const struct vs_scan_tenant *rec,
                  bool lost, struct vs_tenant **ret) {
        const struct vs_conf *conf = vs_node_conf(node);
        uint64_t member_id;
        if (vs_tenant_config_member_id(config, conf->name, &member_id) < 0)
                return -ENOENT;

        _cleanup_free_ struct vs_tenant *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->node = node;
        t->config = *config;
        t->member_id = member_id;
        vs_routes_learn_config(&t->peers, config);

        struct tree_options topts = { .limits = TREE_LIMITS_DEFAULT, .hash_seed = vs_node_random(node) };
        topts.limits.max_value = conf->max_value_bytes;
        topts.limits.max_path = conf->max_path_bytes;
        int r = tree_new(&topts, &t->tree);
        if (r < 0)
                return r;

        struct vr_config c = replica_config(t, rec && rec->has_meta);
        struct vs_log_ctx lc = { .tenant = config->name };
        if (!rec && !lost) {
                r = vr_replica_new(&c, &tree_sm_ops, t->tree, &t->vr);
        } else if (!rec) {
                struct vr_durable d = { .next_seq = 1, .damaged = true };
                log_warning(&lc, "this node hosted the replica but its journal is gone; recovering from peers");
                r = vr_replica_restart(&c, &tree_sm_ops, t->tree, &d, vs_node_random(node), &t->vr);
        } else {
                struct vs_checkpoint_reader *reader = NULL;
                struct vr_durable d = {
                        .next_seq = rec->max_seq + 1,
                        .damaged = rec->missing_from != 0,
                        .have_meta = rec->has_meta,
                        .meta = rec->meta,
                };
                uint64_t ckpt = rec->has_meta ? rec->meta.checkpoint_op : 0;
                if (ckpt > 0) {
                        r = vs_journal_checkpoint_open(vs_node_journal(node), config->id, ckpt, &reader);
                        if (r < 0) {
                                /* Without its base the log is useless: repair from peers. */
                                log_warning_errno(&lc, r, "checkpoint at op %" PRIu64 " unusable; recovering from peers", ckpt);
                                d.damaged = true;
                                d.meta.checkpoint_op = 0;
                        } else {
                                d.checkpoint_op = ckpt;
                                d.checkpoint_read = vs_checkpoint_read;
                                d.checkpoint_ctx = reader;
                        }
                }
                struct vr_record *recs = NULL;
                size_t n = 0;
                r = d.damaged ? 0 : vs_scan_tenant_replay(rec, &recs, &n);
                if (r >= 0) {
                        d.records = recs;
                        d.n_records = n;
                        if (rec->missing_from)
                                log_warning(&lc, "journal lost records from op %" PRIu64 " on; recovering from peers",
                                            rec->missing_from);
                        r = vr_replica_restart(&c, &tree_sm_ops, t->tree, &d, vs_node_random(node), &t->vr);
                }
                free(recs);
                if (reader)
                        vs_checkpoint_close(reader);
        }
        if (r < 0) {
                tree_free(t->tree);
                return log_error_errno(&lc, r, "cannot start the replica");
        }
        r = sd_event_add_defer(vs_node_event(node), &t->drive_soon, on_drive_soon, t);
        if (r >= 0)
                r = sd_event_source_set_priority(t->drive_soon, VS_CONN_FLUSH_PRIORITY - 1);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->drive_soon, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_disable_unref(t->drive_soon);
                vr_replica_free(t->vr);
                tree_free(t->tree);
                return log_error_errno(&lc, r, "cannot start the replica");
        }
        struct vs_log_ctx c2 = log_ctx(t);
        log_info(&c2, "replica (member %" PRIu64 ") of epoch %" PRIu64 " %s", member_id, c.epoch,
                 rec ? "restarted from its journal" : lost ? "recovering" : c.joining ? "joining" : "created");
        drive(t);
        *ret = TAKE_PTR(t);
        return 0;
}

void vs_tenant_free(struct vs_tenant *t) {
        if (!t)
                return;
        sd_event_source_disable_unref(t->drive_soon);
        u64map_done(&t->routes);
        vr_replica_free(t->vr);
        tree_free(t->tree);
        free(t);
}

const struct vs_tenant_config *vs_tenant_config(const struct vs_tenant *t) {
        return &t->config;
}

int vs_tenant_refresh_config(struct vs_tenant *t, const struct vs_tenant_config *c) {
        const struct vs_tenant_config *old = &t->config;
        /* Within an epoch the only change of members is the group confirming it. */
        bool newer = c->epoch > old->epoch || (c->epoch == old->epoch && old->reconfiguring && !c->reconfiguring);
        bool token = !vs_access_token_same(&old->token, &c->token);
        if (!newer && !token)
                return 0;
        struct vs_tenant_config next = newer ? *c : *old;
        next.token = c->token;
        struct vs_log_ctx lc = log_ctx(t);
        int r = vs_tenant_config_save(vs_node_state_fd(t->node), &next);
        if (r < 0)
                return log_error_errno(&lc, r, "cannot save the tenant's new configuration");
        t->config = next;
        vs_routes_learn_config(&t->peers, &next);
        if (token)
                log_notice(&lc, next.token.set ? "access token set: connections must present it" : "access token cleared");
        if (newer)
                log_info(&lc, "configuration of epoch %" PRIu64 "%s", next.epoch,
                         next.reconfiguring ? " (being entered)" : "");
        vs_node_tenant_changed(t->node, t);
        return 0;
}

struct vs_node *vs_tenant_node(const struct vs_tenant *t) {
        return t->node;
}

struct vr_replica *vs_tenant_replica(const struct vs_tenant *t) {
        return t->vr;
}

struct tree *vs_tenant_tree(const struct vs_tenant *t) {
        return t->tree;
}

bool vs_tenant_failed(const struct vs_tenant *t) {
        return t->failed;
}

bool vs_tenant_stopped(const struct vs_tenant *t) {
        return t->stopped;
}

const char *vs_tenant_primary(const struct vs_tenant *t) {
        return t->primary;
}

void vs_tenant_receive(struct vs_tenant *t, const char *from_node, const Viewstamp__VrMessage *pb) {
        if (t->failed)
                return;
        struct vs_log_ctx c = log_ctx(t);
        struct vr_msg m;
        int r = vs_vr_msg_from_pb(pb, &m);
        if (r < 0 || m.type == VR_MSG_REQUEST || m.type == VR_MSG_REPLY) {
                log_debug(&c, "dropped a malformed replica message from %s", from_node);
                if (r >= 0)
                        vs_vr_msg_view_done(&m);
                return;
        }
        /* Who sent it is the link's word and the configuration's, never the message's. */
        if (vs_routes_sender(&t->peers, from_node, m.epoch, &m.sender, &m.from) < 0 || m.sender == t->member_id) {
                log_debug(&c, "dropped a replica message from %s, which holds no other replica of this tenant", from_node);
                vs_vr_msg_view_done(&m);
                return;
        }
        r = vr_receive(t->vr, &m);
        vs_vr_msg_view_done(&m);
        if (r == -EINVAL) {
                log_debug(&c, "replica refused a message from %s", from_node);
                return;
        }
        if (r < 0)
                return fail(t, r, "cannot handle a message");
        drive(t);
}

void vs_tenant_client_request(struct vs_tenant *t, uint64_t route, const Viewstamp__ClientRequest *req, bool more) {
        if (t->failed)
                return;
        int r = u64map_put(&t->routes, req->client_id, (void *) (uintptr_t) (route + 1));
        if (r < 0)
                return fail(t, r, "out of memory");

        struct vr_msg m;
        r = vs_vr_msg_from_client_request(req, &m);
        if (r < 0)
                return; /* cannot fit in a frame anyway */
        r = vr_receive(t->vr, &m);
        if (r < 0 && r != -EINVAL)
                return fail(t, r, "cannot handle a client request");
        if (!more)
                return drive(t);
        r = sd_event_source_set_enabled(t->drive_soon, SD_EVENT_ONESHOT);
        if (r < 0)
                drive(t);
}

void vs_tenant_tick(struct vs_tenant *t) {
        if (t->failed)
                return;
        int r = vr_tick(t->vr);
        if (r < 0)
                return fail(t, r, "tick");
        drive(t);
}

void vs_tenant_persisted(struct vs_tenant *t, uint64_t seq, int error) {
        if (t->failed)
                return;
        if (error == -ENOSPC) {
                struct vs_log_ctx c = log_ctx(t);
                log_warning(&c, "journal out of space: not acknowledging until space returns");
                return;
        }
        if (error < 0)
                return fail(t, error, "the journal failed");
        int r = vr_persisted(t->vr, seq);
        if (r < 0)
                return fail(t, r, "persisted");
        drive(t);
}
