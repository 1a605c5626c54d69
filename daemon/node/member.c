/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/statedir.h"
#include "node/member.h"
#include "util/array.h"
#include "util/cleanup.h"
#include "wire/cluster.pb-c.h"

#define CACHE_FILE "members.cache"

const char *vs_member_state_name(enum vs_member_state s) {
        return s == VS_MEMBER_DRAINING ? "draining" : "active";
}

void vs_member_to_pb(const struct vs_member *m, Viewstamp__NodeInfo *pb, char peer[VS_ADDRESS_STRING_MAX],
                  char client[VS_ADDRESS_STRING_MAX]) {
        *pb = (Viewstamp__NodeInfo) VIEWSTAMP__NODE_INFO__INIT;
        pb->name = (char *) m->node.name;
        pb->peer_address = (char *) vs_address_to_string(&m->node.peer, peer);
        pb->client_address = (char *) vs_address_to_string(&m->node.client, client);
        pb->state = m->state == VS_MEMBER_DRAINING ? VIEWSTAMP__NODE_STATE__NODE_DRAINING
                                                   : VIEWSTAMP__NODE_STATE__NODE_ACTIVE;
        pb->joined_op = m->joined_op;
}

int vs_member_from_pb(const Viewstamp__NodeInfo *pb, struct vs_member *ret) {
        struct vs_member m = { .joined_op = pb->joined_op };
        if (!vs_conf_name_valid(pb->name) || vs_address_parse(pb->peer_address, &m.node.peer) < 0 ||
            vs_address_parse(pb->client_address, &m.node.client) < 0)
                return -EBADMSG;
        switch (pb->state) {
        case VIEWSTAMP__NODE_STATE__NODE_ACTIVE:
                m.state = VS_MEMBER_ACTIVE;
                break;
        case VIEWSTAMP__NODE_STATE__NODE_DRAINING:
                m.state = VS_MEMBER_DRAINING;
                break;
        default:
                return -EBADMSG;
        }
        strcpy(m.node.name, pb->name);
        *ret = m;
        return 0;
}

int vs_member_encode(const struct vs_member *m, uint8_t **ret, size_t *ret_len) {
        char peer[VS_ADDRESS_STRING_MAX], client[VS_ADDRESS_STRING_MAX];
        Viewstamp__NodeInfo pb;
        vs_member_to_pb(m, &pb, peer, client);
        size_t n = viewstamp__node_info__get_packed_size(&pb);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        viewstamp__node_info__pack(&pb, buf);
        *ret = buf;
        *ret_len = n;
        return 0;
}

int vs_member_decode(const uint8_t *buf, size_t len, struct vs_member *ret) {
        Viewstamp__NodeInfo *pb = viewstamp__node_info__unpack(NULL, len, buf);
        if (!pb)
                return -EBADMSG;
        int r = vs_member_from_pb(pb, ret);
        viewstamp__node_info__free_unpacked(pb, NULL);
        return r;
}

bool vs_member_equal(const struct vs_member *a, const struct vs_member *b) {
        return strcmp(a->node.name, b->node.name) == 0 && vs_address_equal(&a->node.peer, &b->node.peer) &&
               vs_address_equal(&a->node.client, &b->node.client) && a->state == b->state &&
               a->joined_op == b->joined_op;
}

static size_t lower_bound(const struct vs_members *s, const char *name) {
        return VS_LOWER_BOUND_STR(s->v, s->n, node.name, name);
}

const struct vs_member *vs_members_find(const struct vs_members *s, const char *name) {
        size_t i = lower_bound(s, name);
        return i < s->n && strcmp(s->v[i].node.name, name) == 0 ? &s->v[i] : NULL;
}

int vs_members_put(struct vs_members *s, const struct vs_member *m) {
        size_t i = lower_bound(s, m->node.name);
        if (i < s->n && strcmp(s->v[i].node.name, m->node.name) == 0) {
                if (vs_member_equal(&s->v[i], m))
                        return 0;
                s->v[i] = *m;
                return 1;
        }
        if (s->n == VS_CONF_NODES_MAX)
                return -E2BIG;
        if (!s->v) {
                s->v = calloc(VS_CONF_NODES_MAX, sizeof *s->v);
                if (!s->v)
                        return -ENOMEM;
        }
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
        s->v[i] = *m;
        s->n++;
        return 1;
}

bool vs_members_remove(struct vs_members *s, const char *name) {
        size_t i = lower_bound(s, name);
        if (i == s->n || strcmp(s->v[i].node.name, name) != 0)
                return false;
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
        s->n--;
        return true;
}

bool vs_members_equal(const struct vs_members *a, const struct vs_members *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!vs_member_equal(&a->v[i], &b->v[i]))
                        return false;
        return true;
}

int vs_members_copy(const struct vs_members *from, struct vs_members *to) {
        for (size_t i = 0; i < from->n; i++) {
                int r = vs_members_put(to, &from->v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void vs_members_done(struct vs_members *s) {
        free(s->v);
        *s = (struct vs_members) {};
}

int vs_members_save(int dir_fd, const struct vs_members *s) {
        _cleanup_free_ Viewstamp__NodeInfo *pbs = calloc(s->n ? s->n : 1, sizeof *pbs);
        _cleanup_free_ Viewstamp__NodeInfo **ptrs = calloc(s->n ? s->n : 1, sizeof *ptrs);
        _cleanup_free_ char (*addrs)[2][VS_ADDRESS_STRING_MAX] = calloc(s->n ? s->n : 1, sizeof *addrs);
        if (!pbs || !ptrs || !addrs)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                vs_member_to_pb(&s->v[i], &pbs[i], addrs[i][0], addrs[i][1]);
                ptrs[i] = &pbs[i];
        }
        Viewstamp__Membership pb = VIEWSTAMP__MEMBERSHIP__INIT;
        pb.nodes = ptrs;
        pb.n_nodes = s->n;
        size_t n = viewstamp__membership__get_packed_size(&pb);
        _cleanup_free_ uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        viewstamp__membership__pack(&pb, buf);
        return vs_write_sealed_file(dir_fd, CACHE_FILE, buf, n);
}

int vs_members_load(int dir_fd, struct vs_members *s) {
        struct vs_buf b = {};
        int r = vs_read_sealed_file(dir_fd, CACHE_FILE, &b);
        Viewstamp__Membership *pb = NULL;
        if (r >= 0) {
                pb = viewstamp__membership__unpack(NULL, b.len, b.data);
                if (!pb)
                        r = -EBADMSG;
        }
        vs_buf_free(&b);
        if (r < 0)
                return r;
        struct vs_members loaded = {};
        for (size_t i = 0; r >= 0 && i < pb->n_nodes; i++) {
                struct vs_member m;
                r = vs_member_from_pb(pb->nodes[i], &m);
                if (r >= 0)
                        r = vs_members_put(&loaded, &m);
        }
        viewstamp__membership__free_unpacked(pb, NULL);
        if (r < 0) {
                vs_members_done(&loaded);
                return r == -E2BIG ? -EBADMSG : r;
        }
        vs_members_done(s);
        *s = loaded;
        return 0;
}

int vs_members_from_conf(struct vs_members *s, const struct vs_conf *conf) {
        for (size_t i = 0; i < conf->n_nodes; i++) {
                int r = vs_members_put(s, &(struct vs_member) { .node = conf->nodes[i] });
                if (r < 0)
                        return r;
        }
        return 0;
}
