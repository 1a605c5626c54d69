/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/peer_key.h"
#include "journal/statedir.h"
#include "log/log.h"
#include "net/conn.h"
#include "net/tls.h"
#include "node/node_internal.h"
#include "tree/error.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"
#include "util/consteq.h"

/*
 * Forming a cluster at run time.
 *  - InitCluster: a new cluster secret (its own file, auth/secret.h) and a new identity whose
 *    root group is this node, then the node starts.
 *  - JoinCluster (the joiner): one TLS connection to a member's peer port, authenticated with
 *    the PSK identity VS_PEER_JOIN_IDENTITY and a key derived from the token's join secret and
 *    cluster id, carrying one JoinRequest; on JOIN_OK the membership, the cluster secret and
 *    the identity from the answer are written to the state directory (the identity last: it
 *    marks the join done), then the node starts and follows the root. A wrong token fails the
 *    handshake: the member logs it with the address (net/conn.h), the joiner hears JoinRefused.
 *  - Accepting a join (a member): the handshake proved the token; the new node is committed
 *    under /nodes through the root group, and only then answered, over the encrypted
 *    connection, with the identity, the cluster secret and the membership. A refusal changes
 *    nothing and is logged with the joiner's address.
 */

/* The joiner waits this long for its answer; a member gives the root group less, so that the
 * joiner hears "unavailable" rather than nothing. */
#define JOIN_TIMEOUT_USEC (10ULL * 1000 * 1000)
#define ACCEPT_TIMEOUT_USEC (4ULL * 1000 * 1000)

/* A node in no cluster may start or join one only with a state directory holding no journal: one
 * there belongs to a cluster this node no longer knows, and would refuse the new one. */
static int check_fresh(struct vs_node *n, char *err, size_t errlen) {
        if (n->started || n->joining) {
                snprintf(err, errlen, "this node is already %s a cluster", n->started ? "in" : "joining");
                return -EALREADY;
        }
        uint64_t generation;
        if (vs_statedir_current_journal(n->state_fd, &generation) >= 0) {
                snprintf(err, errlen, "%s holds the journal of an earlier cluster: move it away first",
                         n->conf.state_dir);
                return -EEXIST;
        }
        return 0;
}

/*
 * Writes the cluster secret where the configuration says, once. A file already there is taken
 * by InitCluster (left by an InitCluster that stopped before writing the identity, or installed
 * by the administrator); a joiner accepts it only when it holds the secret received (a join
 * retried after a crash).
 */
static int save_secret(struct vs_node *n, struct vs_secret *s, bool take_existing, char *err, size_t errlen) {
        char path[4096];
        if (vs_secret_path(&n->conf, path, sizeof path) < 0) {
                snprintf(err, errlen, "the cluster secret's path is too long");
                return -ENAMETOOLONG;
        }
        int r = vs_secret_save(path, s, err, errlen);
        if (r != -EEXIST)
                return r;
        _cleanup_(vs_secret_erase) struct vs_secret have = {};
        r = vs_secret_load(path, &have, err, errlen);
        if (r < 0)
                return r;
        if (take_existing) {
                log_notice(NULL, "using the cluster secret already in %s", path);
                *s = have;
        } else if (!vs_consteq(have.bytes, s->bytes, sizeof have.bytes)) {
                snprintf(err, errlen, "%s holds another cluster's secret: move it away first", path);
                return -EEXIST;
        }
        return 0;
}

int vs_node_init_cluster(struct vs_node *n, char *err, size_t errlen) {
        int r = check_fresh(n, err, errlen);
        if (r < 0)
                return r;
        _cleanup_(vs_secret_erase) struct vs_secret secret = {};
        r = vs_secret_generate(&secret);
        if (r < 0) {
                snprintf(err, errlen, "cannot generate the cluster secret: %s", strerror(-r));
                return r;
        }
        r = save_secret(n, &secret, true, err, errlen);
        if (r < 0)
                return r;
        r = vs_identity_new(n->conf.name, &n->identity);
        if (r >= 0)
                r = vs_identity_save(n->state_fd, &n->identity);
        if (r < 0) {
                snprintf(err, errlen, "cannot create the cluster's identity: %s", strerror(-r));
                return r;
        }
        n->has_identity = true;
        n->cluster_id = n->identity.cluster_id;
        n->root = n->identity.root;
        log_notice(NULL, "initialised cluster %016llx with this node as its root group",
                   (unsigned long long) n->cluster_id);
        return vs_node_start(n, err, errlen);
}

int vs_node_join_token(const struct vs_node *n, char buf[VS_JOIN_TOKEN_MAX]) {
        if (!n->has_identity)
                return -ENOENT;
        vs_join_token_format(&n->identity, buf);
        return 0;
}

/* --- a member, answering a join ----------------------------------------------------------- */

struct join_pending {
        struct join_pending *next;
        struct vs_node *node;   /* NULL once the node is gone */
        uint64_t join_id;
        char remote[VS_ADDRESS_STRING_MAX];
        struct vs_member member;
        sd_event_source *deadline;
};

static void pending_free(struct join_pending *p) {
        if (p->node)
                for (struct join_pending **q = &p->node->accepting; *q; q = &(*q)->next)
                        if (*q == p) {
                                *q = p->next;
                                break;
                        }
        sd_event_source_disable_unref(p->deadline);
        free(p);
}

static void answer(struct vs_node *n, uint64_t join_id, Viewstamp__JoinStatus status, const char *message) {
        Viewstamp__JoinReply reply = VIEWSTAMP__JOIN_REPLY__INIT;
        reply.status = status;
        reply.message = (char *) message;
        (void) vs_peer_set_join_answer(n->peers, join_id, &reply);
}

static void refuse(struct vs_node *n, uint64_t join_id, const char *remote, const char *name, const char *why) {
        struct vs_log_ctx c = { .peer = remote };
        log_warning(&c, "refusing to let %s%s%s join from %s: %s", name ? "node '" : "a node", name ? name : "",
                    name ? "'" : "", remote, why);
        answer(n, join_id, VIEWSTAMP__JOIN_STATUS__JOIN_REFUSED, why);
}

/* The new node is in the root group: it becomes a peer here at once (the others learn it from
 * the root), and hears the cluster's identity and membership. */
static void accept_join(struct join_pending *p) {
        struct vs_node *n = p->node;
        struct vs_log_ctx c = { .peer = p->member.node.name };
        vs_node_follow_invalidate(n);
        if (vs_members_put(&n->members, &p->member) > 0) {
                (void) vs_peer_set_add(n->peers, &p->member.node);
                (void) vs_members_save(n->state_fd, &n->members);
                if (n->cb.member_changed)
                        n->cb.member_changed(n, p->member.node.name, 1, n->userdata);
        }
        log_notice(&c, "node joined the cluster from %s", p->remote);

        char why[4096 + 160];
        _cleanup_(vs_secret_erase) struct vs_secret secret = {};
        if (vs_secret_load_conf(&n->conf, &secret, why, sizeof why) < 0) {
                log_error(&c, "cannot answer the joined node: %s", why);
                return answer(n, p->join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE,
                              "the member cannot read the cluster secret; ask another member");
        }
        Viewstamp__ClusterIdentity id;
        Viewstamp__TenantConfig root;
        struct vs_tenant_config_pb_buf root_names;
        vs_identity_to_pb(&n->identity, &id, &root, &root_names);
        _cleanup_free_ Viewstamp__NodeInfo *infos = calloc(n->members.n, sizeof *infos);
        _cleanup_free_ Viewstamp__NodeInfo **ptrs = calloc(n->members.n, sizeof *ptrs);
        _cleanup_free_ char (*addrs)[2][VS_ADDRESS_STRING_MAX] = calloc(n->members.n, sizeof *addrs);
        if (!infos || !ptrs || !addrs)
                return answer(n, p->join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE, "out of memory");
        for (size_t i = 0; i < n->members.n; i++) {
                vs_member_to_pb(&n->members.v[i], &infos[i], addrs[i][0], addrs[i][1]);
                ptrs[i] = &infos[i];
        }
        Viewstamp__JoinReply reply = VIEWSTAMP__JOIN_REPLY__INIT;
        reply.status = VIEWSTAMP__JOIN_STATUS__JOIN_OK;
        reply.identity = &id;
        reply.secret = (ProtobufCBinaryData) { .len = sizeof secret.bytes, .data = secret.bytes };
        reply.members = ptrs;
        reply.n_members = n->members.n;
        (void) vs_peer_set_join_answer(n->peers, p->join_id, &reply);
}

static void on_existing(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct join_pending *p = userdata;
        struct vs_member have;
        if (error >= 0 && p->node) {
                if (resp->error == 0 && vs_member_decode(resp->value.data, resp->value.len, &have) >= 0 &&
                    vs_address_equal(&have.node.peer, &p->member.node.peer) &&
                    vs_address_equal(&have.node.client, &p->member.node.client)) {
                        p->member.state = have.state;
                        accept_join(p); /* the same node asking again (its first answer was lost) */
                } else
                        refuse(p->node, p->join_id, p->remote, p->member.node.name,
                               "a node of that name is already a member, at other addresses");
        }
        pending_free(p);
}

static void on_created(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct join_pending *p = userdata;
        if (error < 0 || !p->node) {
                pending_free(p);
                return;
        }
        if (resp->error == 0) {
                p->member.joined_op = resp->stat ? resp->stat->created_op : 0;
                accept_join(p);
        } else if (resp->error == TREE_ERR_NODE_EXISTS) {
                char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
                snprintf(path, sizeof path, VS_NODES_PATH "/%s", p->member.node.name);
                if (vs_node_root_get(p->node, path, on_existing, p) >= 0)
                        return;
                answer(p->node, p->join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE, "out of memory");
        } else
                refuse(p->node, p->join_id, p->remote, p->member.node.name, tree_error_name((int) resp->error));
        pending_free(p);
}

/* The root group did not answer in time: the joiner hears so (its operation may still commit;
 * asking again then finds it there). */
static int on_accept_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct join_pending *p = userdata;
        p->deadline = sd_event_source_disable_unref(p->deadline);
        if (p->node)
                answer(p->node, p->join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE,
                       "the cluster's root group did not answer in time; try again");
        return 0;
}

/* Why a node may not take the name or addresses asked for, or NULL. */
static const char *taken(const struct vs_node *n, const struct vs_member *m) {
        for (size_t i = 0; i < n->members.n; i++) {
                const struct vs_conf_node *o = &n->members.v[i].node;
                bool same_name = strcmp(o->name, m->node.name) == 0;
                bool same_peer = vs_address_equal(&o->peer, &m->node.peer);
                bool same_client = vs_address_equal(&o->client, &m->node.client);
                if (same_name && strcmp(o->name, n->conf.name) == 0)
                        return "that is this node's own name";
                if (same_name && (!same_peer || !same_client))
                        return "a node of that name is already a member, at other addresses";
                if (!same_name && (same_peer || same_client || vs_address_equal(&o->peer, &m->node.client) ||
                                   vs_address_equal(&o->client, &m->node.peer)))
                        return "its addresses are another member's";
        }
        return NULL;
}

void vs_node_on_join(struct vs_peer_set *s, uint64_t join_id, const char *remote, const Viewstamp__JoinRequest *req,
                     void *userdata) {
        struct vs_node *n = userdata;
        /* Names from the wire reach the log only once known to be plain. */
        const char *name = vs_conf_name_valid(req->node) ? req->node : NULL;
        /* The handshake proved the join secret, with a key bound to this cluster's id. */
        if (req->cluster_id != n->identity.cluster_id)
                return refuse(n, join_id, remote, name, "the join request names another cluster");

        struct join_pending *p = calloc(1, sizeof *p);
        if (!p)
                return answer(n, join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE, "out of memory");
        p->join_id = join_id;
        snprintf(p->remote, sizeof p->remote, "%s", remote);
        const char *why = NULL;
        if (!name)
                why = "invalid node name";
        else if (vs_address_parse(req->peer_address, &p->member.node.peer) < 0 ||
                 vs_address_parse(req->client_address, &p->member.node.client) < 0 ||
                 vs_address_equal(&p->member.node.peer, &p->member.node.client))
                why = "invalid addresses";
        else {
                strcpy(p->member.node.name, name);
                why = taken(n, &p->member);
        }
        if (why) {
                free(p);
                return refuse(n, join_id, remote, name, why);
        }

        char path[sizeof VS_NODES_PATH "/" + VS_CONF_NAME_MAX];
        snprintf(path, sizeof path, VS_NODES_PATH "/%s", name);
        _cleanup_free_ uint8_t *value = NULL, *cmd = NULL;
        size_t value_len, cmd_len;
        int r = vs_member_encode(&p->member, &value, &value_len);
        if (r >= 0)
                r = tree_sm_encode_create(path, value, value_len, 0, &cmd, &cmd_len);
        if (r >= 0)
                r = sd_event_add_time_relative(n->event, &p->deadline, CLOCK_MONOTONIC, ACCEPT_TIMEOUT_USEC, 0,
                                               on_accept_deadline, p);
        if (r >= 0)
                r = vs_node_root_ensure_folder(n, VS_NODES_PATH);
        if (r >= 0)
                r = vs_node_root_submit(n, cmd, cmd_len, on_created, p);
        if (r < 0) {
                pending_free(p);
                return answer(n, join_id, VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE, strerror(-r));
        }
        p->node = n;
        p->next = n->accepting;
        n->accepting = p;
        struct vs_log_ctx c = { .peer = remote };
        log_info(&c, "node '%s' asks to join from %s with a valid token", name, remote);
}

/* --- the joiner --------------------------------------------------------------------------- */

struct join_client {
        struct vs_node *node;
        int fd;
        sd_event_source *connect_io;
        sd_event_source *timeout;
        struct vs_tls *tls;     /* keyed from the token; the connection owns it once made */
        struct vs_conn *conn;
        char address[VS_ADDRESS_STRING_MAX];
        uint64_t cluster_id;
        vs_node_done_fn done;
        void *userdata;
};

static void client_free(struct join_client *j) {
        if (!j)
                return;
        sd_event_source_disable_unref(j->connect_io);
        sd_event_source_disable_unref(j->timeout);
        vs_conn_free(j->conn);
        vs_tls_free(j->tls);
        if (j->fd >= 0)
                close(j->fd);
        free(j);
}

/* Ends the join: exactly one call of done. */
static void client_finish(struct join_client *j, int error, const char *message) {
        struct vs_node *n = j->node;
        n->joining = NULL;
        vs_node_done_fn done = j->done;
        void *userdata = j->userdata;
        client_free(j);
        if (error < 0)
                log_warning(NULL, "cannot join the cluster: %s", message);
        done(userdata, error, message);
}

/* The answer's identity, secret and membership become this node's, on disk first. */
static int adopt(struct vs_node *n, const Viewstamp__JoinReply *reply, char *err, size_t errlen) {
        struct vs_identity id;
        struct vs_members members = {};
        _cleanup_(vs_secret_erase) struct vs_secret secret = {};
        int r = reply->identity ? vs_identity_from_pb(reply->identity, &id) : -EBADMSG;
        if (r >= 0 && reply->secret.len != sizeof secret.bytes)
                r = -EBADMSG;
        if (r >= 0)
                memcpy(secret.bytes, reply->secret.data, sizeof secret.bytes);
        for (size_t i = 0; r >= 0 && i < reply->n_members; i++) {
                struct vs_member m;
                r = vs_member_from_pb(reply->members[i], &m);
                if (r >= 0 && strcmp(m.node.name, n->conf.name) != 0)
                        r = vs_members_put(&members, &m);
        }
        if (r < 0) {
                vs_members_done(&members);
                snprintf(err, errlen, "the member's answer is malformed");
                return -EBADMSG;
        }
        r = vs_members_save(n->state_fd, &members);
        vs_members_done(&members);
        if (r < 0) {
                snprintf(err, errlen, "cannot write the membership: %s", strerror(-r));
                return r;
        }
        r = save_secret(n, &secret, false, err, errlen);
        if (r < 0)
                return r;
        r = vs_identity_save(n->state_fd, &id);
        if (r < 0) {
                snprintf(err, errlen, "cannot write the cluster's identity: %s", strerror(-r));
                return r;
        }
        n->identity = id;
        n->has_identity = true;
        n->cluster_id = id.cluster_id;
        n->root = id.root;
        log_notice(NULL, "joined cluster %016llx", (unsigned long long) id.cluster_id);
        return vs_node_start(n, err, errlen);
}

static int on_client_envelope(struct vs_conn *c, const Viewstamp__Envelope *env, void *userdata) {
        struct join_client *j = userdata;
        struct vs_node *n = j->node;
        if (env->body_case != VIEWSTAMP__ENVELOPE__BODY_JOIN_REPLY) {
                client_finish(j, -EPROTO, "the member answered something else than a join reply");
                return 0;
        }
        const Viewstamp__JoinReply *reply = env->join_reply;
        char why[512];
        switch (reply->status) {
        case VIEWSTAMP__JOIN_STATUS__JOIN_OK: {
                int r = adopt(n, reply, why, sizeof why);
                if (r < 0 && n->has_identity) {
                        /* The identity is on disk but the node did not start: a restart will. */
                        log_error(NULL, "%s; exiting so that a restart brings the node up", why);
                        (void) sd_event_exit(n->event, EXIT_FAILURE);
                }
                client_finish(j, r < 0 ? r : 0, r < 0 ? why : "joined");
                return 0;
        }
        case VIEWSTAMP__JOIN_STATUS__JOIN_UNAVAILABLE:
                snprintf(why, sizeof why, "%s: %s", j->address, reply->message);
                client_finish(j, -EAGAIN, why);
                return 0;
        default:
                snprintf(why, sizeof why, "%s refused: %s", j->address, reply->message);
                client_finish(j, -EPERM, why);
                return 0;
        }
}

static void on_client_close(struct vs_conn *c, int reason, void *userdata) {
        struct join_client *j = userdata;
        char why[256];
        if (reason == -EKEYREJECTED) {
                /* The handshake failed on the key: the member did not take the token's. */
                snprintf(why, sizeof why, "%s refused: wrong join token, or a cluster that takes no joins",
                         j->address);
                client_finish(j, -EPERM, why);
                return;
        }
        snprintf(why, sizeof why, "%s closed the connection without answering (%s)", j->address,
                 reason ? strerror(-reason) : "end of stream");
        client_finish(j, reason < 0 ? reason : -ECONNRESET, why);
}

static void client_send(struct join_client *j) {
        static const struct vs_conn_callbacks cb = { on_client_envelope, on_client_close };
        struct vs_node *n = j->node;
        int fd = j->fd;
        j->fd = -1;
        int r = vs_conn_new_tls(n->event, fd, TAKE_PTR(j->tls), NULL, &cb, j, &j->conn);
        struct vs_conf_node self;
        char peer[VS_ADDRESS_STRING_MAX], client[VS_ADDRESS_STRING_MAX];
        (void) vs_conf_self(&n->conf, &self);
        Viewstamp__JoinRequest req = VIEWSTAMP__JOIN_REQUEST__INIT;
        req.node = n->conf.name;
        req.peer_address = (char *) vs_address_to_string(&self.peer, peer);
        req.client_address = (char *) vs_address_to_string(&self.client, client);
        req.cluster_id = j->cluster_id;
        Viewstamp__Header h = VIEWSTAMP__HEADER__INIT;
        h.version = VS_WIRE_VERSION;
        h.cluster_id = j->cluster_id;
        Viewstamp__Envelope env = VIEWSTAMP__ENVELOPE__INIT;
        env.header = &h;
        env.body_case = VIEWSTAMP__ENVELOPE__BODY_JOIN_REQUEST;
        env.join_request = &req;
        if (r >= 0)
                r = vs_conn_send(j->conn, &env);
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof why, "cannot send to %s: %s", j->address, strerror(-r));
                client_finish(j, r, why);
        }
}

static int on_connect(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct join_client *j = userdata;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        j->connect_io = sd_event_source_disable_unref(j->connect_io);
        if (err) {
                char why[128];
                snprintf(why, sizeof why, "cannot connect to %s: %s", j->address, strerror(err));
                client_finish(j, -err, why);
                return 0;
        }
        client_send(j);
        return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct join_client *j = userdata;
        char why[128];
        snprintf(why, sizeof why, "%s did not answer in time", j->address);
        client_finish(j, -ETIMEDOUT, why);
        return 0;
}

int vs_node_join_cluster(struct vs_node *n, const char *address, const char *token, vs_node_done_fn done,
                         void *userdata, char *err, size_t errlen) {
        int r = check_fresh(n, err, errlen);
        if (r < 0)
                return r;
        struct vs_address a;
        if (vs_address_parse(address, &a) < 0) {
                snprintf(err, errlen, "'%s' is not a numeric address with a port", address);
                return -EINVAL;
        }
        _cleanup_free_ struct join_client *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        _cleanup_(vs_secret_erase) struct vs_secret join_secret = {};
        if (vs_join_token_parse(token, &j->cluster_id, &join_secret) < 0) {
                snprintf(err, errlen, "%s: ask a member for one with GetJoinToken",
                         token[0] ? "not a join token" : "a join token is needed");
                return -EKEYREJECTED;
        }
        uint8_t key[VS_PEER_KEY_SIZE];
        r = vs_peer_key(&join_secret, j->cluster_id, VS_PEER_JOIN_IDENTITY, key);
        if (r >= 0)
                r = vs_tls_new_psk_client(VS_PEER_JOIN_IDENTITY, key, &j->tls);
        explicit_bzero(key, sizeof key);
        if (r < 0) {
                snprintf(err, errlen, "cannot set up TLS for the join: %s", strerror(-r));
                return r;
        }
        j->fd = -1;
        j->node = n;
        j->done = done;
        j->userdata = userdata;
        vs_address_to_string(&a, j->address);
        j->fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        r = j->fd < 0 ? -errno : 0;
        if (r >= 0 && connect(j->fd, &a.sa, a.len) < 0 && errno != EINPROGRESS)
                r = -errno;
        if (r >= 0)
                r = sd_event_add_io(n->event, &j->connect_io, j->fd, EPOLLOUT, on_connect, j);
        if (r >= 0)
                r = sd_event_add_time_relative(n->event, &j->timeout, CLOCK_MONOTONIC, JOIN_TIMEOUT_USEC, 0,
                                               on_client_timeout, j);
        if (r < 0) {
                snprintf(err, errlen, "cannot connect to %s: %s", j->address, strerror(-r));
                client_free(TAKE_PTR(j));
                return r;
        }
        log_notice(NULL, "joining the cluster through %s", j->address);
        n->joining = TAKE_PTR(j);
        return 0;
}

void vs_node_join_done(struct vs_node *n) {
        while (n->accepting) {
                struct join_pending *p = n->accepting;
                n->accepting = p->next;
                p->node = NULL;
                p->deadline = sd_event_source_disable_unref(p->deadline);
        }
        if (n->joining)
                client_finish(n->joining, -ESHUTDOWN, "the daemon is stopping");
}
