/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/statedir.h"
#include "node/tenant_config.h"
#include "util/cleanup.h"
#include "wire/cluster.pb-c.h"

/* Tenant names follow node names' rules (they too end up in object paths, file names and log
 * fields), except that the cluster's own tenants start with a dot no user tenant can have. */
bool vs_tenant_name_valid(const char *name, bool internal) {
        if (internal && name[0] == '.')
                return strlen(name) <= VS_TENANT_NAME_MAX && vs_conf_name_valid(name + 1);
        return vs_conf_name_valid(name);
}

int vs_tenant_config_check(const struct vs_tenant_config *c, const struct vs_members *members, char *err,
                           size_t errlen) {
        if (!vs_tenant_name_valid(c->name, c->id == VS_ROOT_TENANT_ID)) {
                snprintf(err, errlen, "invalid tenant name '%s' (1-%d of A-Z a-z 0-9 . _ -, not starting with . or -)",
                         c->name, VS_TENANT_NAME_MAX);
                return -EINVAL;
        }
        if (c->n_replicas != 1 && c->n_replicas != 3 && c->n_replicas != 5) {
                snprintf(err, errlen, "a tenant has 1, 3 or 5 replicas, not %u", c->n_replicas);
                return -EINVAL;
        }
        for (uint32_t i = 0; i < c->n_replicas; i++) {
                if (!vs_members_find(members, c->replicas[i])) {
                        snprintf(err, errlen, "'%s' is not a node of this cluster", c->replicas[i]);
                        return -EINVAL;
                }
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(c->replicas[i], c->replicas[j]) == 0) {
                                snprintf(err, errlen, "node '%s' named twice: replicas must be on distinct nodes",
                                         c->replicas[i]);
                                return -EINVAL;
                        }
        }
        return 0;
}

int vs_tenant_config_index(const struct vs_tenant_config *c, const char *node) {
        for (uint32_t i = 0; i < c->n_replicas; i++)
                if (strcmp(c->replicas[i], node) == 0)
                        return (int) i;
        return -ENOENT;
}

int vs_tenant_config_member_id(const struct vs_tenant_config *c, const char *node, uint64_t *ret) {
        int i = vs_tenant_config_index(c, node);
        if (i >= 0) {
                *ret = c->member_ids[i];
                return 0;
        }
        for (uint32_t k = 0; k < c->n_old; k++)
                if (strcmp(c->old_replicas[k], node) == 0) {
                        *ret = c->old_member_ids[k];
                        return 0;
                }
        return -ENOENT;
}

bool vs_tenant_config_named(const struct vs_tenant_config *c, const char *node) {
        uint64_t id;
        return vs_tenant_config_member_id(c, node, &id) >= 0;
}

void vs_tenant_config_number(struct vs_tenant_config *c) {
        for (uint32_t i = 0; i < c->n_replicas; i++)
                c->member_ids[i] = i;
        c->next_member_id = c->n_replicas;
        c->n_old = 0;
        c->reconfiguring = false;
}

int vs_tenant_config_next_epoch(const struct vs_tenant_config *c, const char *const *nodes, uint32_t n,
                                struct vs_tenant_config *ret) {
        if (n != 1 && n != 3 && n != 5)
                return -EINVAL;
        struct vs_tenant_config x = { .id = c->id, .epoch = c->epoch + 1, .n_replicas = n,
                                      .next_member_id = c->next_member_id, .n_old = c->n_replicas,
                                      .reconfiguring = true, .token = c->token };
        strcpy(x.name, c->name);
        for (uint32_t i = 0; i < n; i++) {
                if (strlen(nodes[i]) > VS_CONF_NAME_MAX)
                        return -EINVAL;
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(nodes[i], nodes[j]) == 0)
                                return -EINVAL;
                strcpy(x.replicas[i], nodes[i]);
                int k = vs_tenant_config_index(c, nodes[i]);
                x.member_ids[i] = k >= 0 ? c->member_ids[k] : x.next_member_id++;
        }
        memcpy(x.old_replicas, c->replicas, sizeof x.old_replicas);
        memcpy(x.old_member_ids, c->member_ids, sizeof x.old_member_ids);
        *ret = x;
        return 0;
}

int vs_tenant_config_move(const struct vs_tenant_config *c, const char *from, const char *to,
                          const char *ret[VS_TENANT_REPLICAS_MAX], uint32_t *ret_n) {
        int i = vs_tenant_config_index(c, from);
        bool has_to = vs_tenant_config_index(c, to) >= 0;
        if (i >= 0 && has_to)
                return -EEXIST;
        if (i < 0 && !has_to)
                return -ENOENT;
        for (uint32_t k = 0; k < c->n_replicas; k++)
                ret[k] = (int) k == i ? to : c->replicas[k];
        *ret_n = c->n_replicas;
        return 0;
}

bool vs_tenant_config_same_nodes(const struct vs_tenant_config *c, const char *const *nodes, uint32_t n) {
        if (n != c->n_replicas)
                return false;
        for (uint32_t i = 0; i < n; i++)
                if (vs_tenant_config_index(c, nodes[i]) < 0)
                        return false;
        /* Equal counts and every node found: the same set unless a node was named twice. */
        for (uint32_t i = 0; i < n; i++)
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(nodes[i], nodes[j]) == 0)
                                return false;
        return true;
}

void vs_tenant_config_to_pb(const struct vs_tenant_config *c, Viewstamp__TenantConfig *pb,
                            struct vs_tenant_config_pb_buf *buf) {
        *pb = (Viewstamp__TenantConfig) VIEWSTAMP__TENANT_CONFIG__INIT;
        pb->name = (char *) c->name;
        pb->id = c->id;
        pb->epoch = c->epoch;
        for (uint32_t i = 0; i < c->n_replicas; i++)
                buf->names[i] = (char *) c->replicas[i];
        pb->replicas = buf->names;
        pb->n_replicas = c->n_replicas;
        pb->member_ids = (uint64_t *) c->member_ids;
        pb->n_member_ids = c->n_replicas;
        pb->next_member_id = c->next_member_id;
        for (uint32_t i = 0; i < c->n_old; i++)
                buf->old_names[i] = (char *) c->old_replicas[i];
        pb->old_replicas = buf->old_names;
        pb->n_old_replicas = c->n_old;
        pb->old_member_ids = (uint64_t *) c->old_member_ids;
        pb->n_old_member_ids = c->n_old;
        pb->reconfiguring = c->reconfiguring;
        if (c->token.set) {
                pb->token_salt = (ProtobufCBinaryData) { .len = sizeof c->token.salt, .data = (uint8_t *) c->token.salt };
                pb->token_hash = (ProtobufCBinaryData) { .len = sizeof c->token.hash, .data = (uint8_t *) c->token.hash };
                pb->token_iterations = c->token.iterations;
        }
}

static int names_from_pb(char *const *names, size_t n, char out[][VS_CONF_NAME_MAX + 1]) {
        for (size_t i = 0; i < n; i++) {
                if (strlen(names[i]) > VS_CONF_NAME_MAX)
                        return -EBADMSG;
                strcpy(out[i], names[i]);
        }
        return 0;
}

static bool ids_valid(const uint64_t *ids, size_t n, uint64_t next) {
        for (size_t i = 0; i < n; i++) {
                if (ids[i] >= next)
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (ids[i] == ids[j])
                                return false;
        }
        return true;
}

int vs_tenant_config_from_pb(const Viewstamp__TenantConfig *pb, struct vs_tenant_config *ret) {
        struct vs_tenant_config c = { .id = pb->id, .epoch = pb->epoch, .n_replicas = (uint32_t) pb->n_replicas,
                                      .n_old = (uint32_t) pb->n_old_replicas, .reconfiguring = pb->reconfiguring };
        if (strlen(pb->name) > VS_TENANT_NAME_MAX || pb->n_replicas == 0 || pb->n_replicas > VS_TENANT_REPLICAS_MAX ||
            pb->n_old_replicas > VS_TENANT_REPLICAS_MAX || pb->n_old_member_ids != pb->n_old_replicas ||
            (pb->n_member_ids != 0 && pb->n_member_ids != pb->n_replicas))
                return -EBADMSG;
        if (names_from_pb(pb->replicas, pb->n_replicas, c.replicas) < 0 ||
            names_from_pb(pb->old_replicas, pb->n_old_replicas, c.old_replicas) < 0)
                return -EBADMSG;
        if (pb->token_hash.len > 0) {
                if (pb->token_hash.len != sizeof c.token.hash || pb->token_salt.len != sizeof c.token.salt ||
                    pb->token_iterations == 0)
                        return -EBADMSG;
                c.token.set = true;
                c.token.iterations = pb->token_iterations;
                memcpy(c.token.salt, pb->token_salt.data, sizeof c.token.salt);
                memcpy(c.token.hash, pb->token_hash.data, sizeof c.token.hash);
        }
        uint64_t next = 0;
        for (size_t i = 0; i < pb->n_replicas; i++) {
                c.member_ids[i] = pb->n_member_ids ? pb->member_ids[i] : i;
                if (c.member_ids[i] >= next)
                        next = c.member_ids[i] + 1;
        }
        for (size_t i = 0; i < c.n_old; i++) {
                c.old_member_ids[i] = pb->old_member_ids[i];
                if (c.old_member_ids[i] >= next)
                        next = c.old_member_ids[i] + 1;
        }
        c.next_member_id = pb->next_member_id ? pb->next_member_id : next;
        if (!ids_valid(c.member_ids, c.n_replicas, c.next_member_id) ||
            !ids_valid(c.old_member_ids, c.n_old, c.next_member_id))
                return -EBADMSG;
        strcpy(c.name, pb->name);
        *ret = c;
        return 0;
}

int vs_tenant_config_encode(const struct vs_tenant_config *c, uint8_t **ret, size_t *ret_len) {
        struct vs_tenant_config_pb_buf names;
        Viewstamp__TenantConfig pb;
        vs_tenant_config_to_pb(c, &pb, &names);
        size_t n = viewstamp__tenant_config__get_packed_size(&pb);
        uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        viewstamp__tenant_config__pack(&pb, buf);
        *ret = buf;
        *ret_len = n;
        return 0;
}

int vs_tenant_config_decode(const uint8_t *buf, size_t len, struct vs_tenant_config *ret) {
        Viewstamp__TenantConfig *pb = viewstamp__tenant_config__unpack(NULL, len, buf);
        if (!pb)
                return -EBADMSG;
        int r = vs_tenant_config_from_pb(pb, ret);
        viewstamp__tenant_config__free_unpacked(pb, NULL);
        return r;
}

void vs_tenant_config_root(const struct vs_conf *conf, struct vs_tenant_config *ret) {
        size_t n = conf->n_nodes >= 5 ? 5 : conf->n_nodes >= 3 ? 3 : 1;
        *ret = (struct vs_tenant_config) { .id = VS_ROOT_TENANT_ID, .n_replicas = (uint32_t) n };
        strcpy(ret->name, VS_ROOT_TENANT_NAME);
        for (size_t i = 0; i < n; i++)
                strcpy(ret->replicas[i], conf->nodes[i].name);
        vs_tenant_config_number(ret);
}

#define FILE_PREFIX "tenant-"
#define FILE_SUFFIX ".conf"

static void file_name(char buf[64], uint64_t id) {
        snprintf(buf, 64, FILE_PREFIX "%016" PRIx64 FILE_SUFFIX, id);
}

int vs_tenant_config_save(int dir_fd, const struct vs_tenant_config *c) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r = vs_tenant_config_encode(c, &buf, &len);
        if (r < 0)
                return r;
        char name[64];
        file_name(name, c->id);
        return vs_write_sealed_file(dir_fd, name, buf, len);
}

struct load_ctx {
        int dir_fd;
        int (*fn)(void *ctx, const struct vs_tenant_config *c);
        void *ctx;
        char *err;
        size_t errlen;
};

static int load_one(void *userdata, const char *name) {
        struct load_ctx *l = userdata;
        size_t n = strlen(name);
        if (strncmp(name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0 || n < strlen(FILE_SUFFIX) ||
            strcmp(name + n - strlen(FILE_SUFFIX), FILE_SUFFIX) != 0)
                return 0;
        struct vs_buf b = {};
        int r = vs_read_sealed_file(l->dir_fd, name, &b);
        struct vs_tenant_config c;
        if (r >= 0)
                r = vs_tenant_config_decode(b.data, b.len, &c);
        vs_buf_free(&b);
        if (r < 0) {
                snprintf(l->err, l->errlen, "%s: %s", name, r == -EBADMSG ? "damaged tenant configuration" : strerror(-r));
                return r;
        }
        char expect[64];
        file_name(expect, c.id);
        if (strcmp(expect, name) != 0) {
                snprintf(l->err, l->errlen, "%s: holds tenant id %016" PRIx64 ", not the one its name says", name, c.id);
                return -EBADMSG;
        }
        return l->fn(l->ctx, &c);
}

int vs_tenant_config_load_all(int dir_fd, int (*fn)(void *ctx, const struct vs_tenant_config *c), void *ctx,
                              char *err, size_t errlen) {
        struct load_ctx l = { dir_fd, fn, ctx, err, errlen };
        return vs_statedir_list(dir_fd, load_one, &l);
}

int vs_tenant_config_remove(int dir_fd, uint64_t id) {
        char name[64];
        file_name(name, id);
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return fsync(dir_fd) < 0 ? -errno : 0;
}

bool vs_tenant_config_exists(int dir_fd, uint64_t id) {
        char name[64];
        file_name(name, id);
        return faccessat(dir_fd, name, F_OK, 0) == 0;
}
