/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "journal/statedir.h"
#include "node/identity.h"
#include "util/cleanup.h"

#define FILE_NAME "cluster.id"
#define TOKEN_PREFIX "vsjoin1-"

static int random_bytes(void *buf, size_t len) {
        ssize_t n = getrandom(buf, len, 0);
        return n == (ssize_t) len ? 0 : -EIO;
}

int vs_identity_new(const char *node, struct vs_identity *ret) {
        struct vs_identity id = {};
        int r = random_bytes(&id.cluster_id, sizeof id.cluster_id);
        if (r >= 0)
                r = vs_secret_generate(&id.join_secret);
        if (r < 0)
                return r;
        id.cluster_id |= 1; /* 0 means "no cluster" on the wire */
        id.root = (struct vs_tenant_config) { .id = VS_ROOT_TENANT_ID, .n_replicas = 1 };
        strcpy(id.root.name, VS_ROOT_TENANT_NAME);
        snprintf(id.root.replicas[0], sizeof id.root.replicas[0], "%s", node);
        vs_tenant_config_number(&id.root);
        *ret = id;
        return 0;
}

void vs_identity_to_pb(const struct vs_identity *id, Viewstamp__ClusterIdentity *pb, Viewstamp__TenantConfig *root,
                       struct vs_tenant_config_pb_buf *root_names) {
        *pb = (Viewstamp__ClusterIdentity) VIEWSTAMP__CLUSTER_IDENTITY__INIT;
        pb->cluster_id = id->cluster_id;
        pb->join_secret = (ProtobufCBinaryData) { .len = sizeof id->join_secret.bytes,
                                                  .data = (uint8_t *) id->join_secret.bytes };
        vs_tenant_config_to_pb(&id->root, root, root_names);
        pb->root = root;
}

int vs_identity_from_pb(const Viewstamp__ClusterIdentity *pb, struct vs_identity *ret) {
        struct vs_identity id = { .cluster_id = pb->cluster_id };
        if (id.cluster_id == 0 || pb->join_secret.len != sizeof id.join_secret.bytes ||
            !pb->root || vs_tenant_config_from_pb(pb->root, &id.root) < 0 || strcmp(id.root.name, VS_ROOT_TENANT_NAME) != 0)
                return -EBADMSG;
        for (uint32_t i = 0; i < id.root.n_replicas; i++)
                if (!vs_conf_name_valid(id.root.replicas[i]))
                        return -EBADMSG;
        id.root.id = VS_ROOT_TENANT_ID;
        memcpy(id.join_secret.bytes, pb->join_secret.data, sizeof id.join_secret.bytes);
        *ret = id;
        return 0;
}

int vs_identity_save(int dir_fd, const struct vs_identity *id) {
        Viewstamp__ClusterIdentity pb;
        Viewstamp__TenantConfig root;
        struct vs_tenant_config_pb_buf names;
        vs_identity_to_pb(id, &pb, &root, &names);
        size_t n = viewstamp__cluster_identity__get_packed_size(&pb);
        _cleanup_free_ uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        viewstamp__cluster_identity__pack(&pb, buf);
        int r = vs_write_sealed_file(dir_fd, FILE_NAME, buf, n);
        explicit_bzero(buf, n);
        return r;
}

int vs_identity_load(int dir_fd, struct vs_identity *ret) {
        struct vs_buf b = {};
        int r = vs_read_sealed_file(dir_fd, FILE_NAME, &b);
        Viewstamp__ClusterIdentity *pb = NULL;
        if (r >= 0) {
                pb = viewstamp__cluster_identity__unpack(NULL, b.len, b.data);
                r = pb ? vs_identity_from_pb(pb, ret) : -EBADMSG;
        }
        if (b.data)
                explicit_bzero(b.data, b.cap);
        vs_buf_free(&b);
        if (pb)
                viewstamp__cluster_identity__free_unpacked(pb, NULL);
        return r;
}

void vs_join_token_format(const struct vs_identity *id, char buf[VS_JOIN_TOKEN_MAX]) {
        int k = snprintf(buf, VS_JOIN_TOKEN_MAX, TOKEN_PREFIX "%016" PRIx64 "-", id->cluster_id);
        for (size_t i = 0; i < sizeof id->join_secret.bytes; i++)
                k += snprintf(buf + k, VS_JOIN_TOKEN_MAX - (size_t) k, "%02x", id->join_secret.bytes[i]);
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int vs_join_token_parse(const char *token, uint64_t *ret_cluster_id, struct vs_secret *ret_secret) {
        size_t p = strlen(TOKEN_PREFIX);
        if (strlen(token) != VS_JOIN_TOKEN_MAX - 1 || strncmp(token, TOKEN_PREFIX, p) != 0 || token[p + 16] != '-')
                return -EINVAL;
        uint64_t id = 0;
        for (size_t i = 0; i < 16; i++) {
                int v = hex_value(token[p + i]);
                if (v < 0)
                        return -EINVAL;
                id = id << 4 | (uint64_t) v;
        }
        const char *s = token + p + 17;
        struct vs_secret secret;
        for (size_t i = 0; i < VS_SECRET_SIZE; i++) {
                int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                secret.bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret_cluster_id = id;
        *ret_secret = secret;
        vs_secret_erase(&secret);
        return 0;
}
