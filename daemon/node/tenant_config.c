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

void vs_tenant_config_to_pb(const struct vs_tenant_config *c, Viewstamp__TenantConfig *pb,
                            char *names[VS_TENANT_REPLICAS_MAX]) {
        *pb = (Viewstamp__TenantConfig) VIEWSTAMP__TENANT_CONFIG__INIT;
        pb->name = (char *) c->name;
        pb->id = c->id;
        pb->epoch = c->epoch;
        for (uint32_t i = 0; i < c->n_replicas; i++)
                names[i] = (char *) c->replicas[i];
        pb->replicas = names;
        pb->n_replicas = c->n_replicas;
        if (c->token.set) {
                pb->token_salt = (ProtobufCBinaryData) { .len = sizeof c->token.salt, .data = (uint8_t *) c->token.salt };
                pb->token_hash = (ProtobufCBinaryData) { .len = sizeof c->token.hash, .data = (uint8_t *) c->token.hash };
                pb->token_iterations = c->token.iterations;
        }
}

int vs_tenant_config_from_pb(const Viewstamp__TenantConfig *pb, struct vs_tenant_config *ret) {
        struct vs_tenant_config c = { .id = pb->id, .epoch = pb->epoch, .n_replicas = (uint32_t) pb->n_replicas };
        if (strlen(pb->name) > VS_TENANT_NAME_MAX || pb->n_replicas == 0 || pb->n_replicas > VS_TENANT_REPLICAS_MAX)
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
        for (size_t i = 0; i < pb->n_replicas; i++) {
                if (strlen(pb->replicas[i]) > VS_CONF_NAME_MAX)
                        return -EBADMSG;
                strcpy(c.replicas[i], pb->replicas[i]);
        }
        strcpy(c.name, pb->name);
        *ret = c;
        return 0;
}

int vs_tenant_config_encode(const struct vs_tenant_config *c, uint8_t **ret, size_t *ret_len) {
        char *names[VS_TENANT_REPLICAS_MAX];
        Viewstamp__TenantConfig pb;
        vs_tenant_config_to_pb(c, &pb, names);
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
