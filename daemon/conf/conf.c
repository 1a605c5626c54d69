/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "util/cleanup.h"

void vs_conf_defaults(struct vs_conf *c) {
        *c = (struct vs_conf) {
                .log_level = VS_LOG_INFO,
                .tick_ms = 10,
                .heartbeat_ticks = 10,
                .view_change_ticks = 50,
                .lease_ticks = 40,
                .clock_drift_ppm = 10000,
                .checkpoint_interval = 10000,
                .batch_max = 256,
                .reads = VS_READS_LEASE,
                .max_frame_bytes = 16u << 20,
                .max_value_bytes = 1u << 20,
                .max_path_bytes = 4096,
                .max_connections = 1024,
                .max_connections_per_address = 64,
                .max_requests_per_connection = 1024,
                .max_tenants = 1024,
                .max_clients_per_tenant = 4096,
        };
        strcpy(c->state_dir, VS_CONF_DEFAULT_STATE_DIR);
}

bool vs_conf_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > VS_CONF_NAME_MAX || s[0] == '-' || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
                        return false;
        return true;
}

struct parse_ctx {
        struct vs_conf conf;
        unsigned line;    /* line most recently read */
        unsigned err_line;
        char *err;        /* reason for err_line */
        FILE *f;
};

typedef int (*key_parser)(struct parse_ctx *p, const char *value, void *field, uint32_t min, uint32_t max);

__attribute__((format(printf, 2, 3)))
static int fail(struct parse_ctx *p, const char *fmt, ...) {
        if (p->err)
                return 0;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&p->err, fmt, ap) < 0)
                p->err = NULL;
        va_end(ap);
        p->err_line = p->line;
        return 0;
}

static int parse_name(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (!vs_conf_name_valid(v))
                return fail(p, "invalid node name '%s' (1-%d of A-Z a-z 0-9 . _ -, not starting with . or -)",
                            v, VS_CONF_NAME_MAX);
        strcpy(field, v);
        return 1;
}

static int parse_path(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (v[0] != '/' || strlen(v) >= sizeof p->conf.state_dir)
                return fail(p, "'%s' is not an absolute path", v);
        strcpy(field, v);
        return 1;
}

/* Unsigned integer with an optional binary suffix K, M or G. */
static int parse_u32(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (*v < '0' || *v > '9')
                return fail(p, "'%s' is not a number", v);
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        unsigned shift = 0;
        if (*end && !end[1])
                shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 99;
        else if (*end)
                shift = 99;
        if (errno || shift == 99)
                return fail(p, "'%s' is not a number (optionally with K, M or G)", v);
        if (n > UINT32_MAX >> shift || (n << shift) < min || (n << shift) > max)
                return fail(p, "%s is out of range %u..%u", v, min, max);
        *(uint32_t *) field = (uint32_t) (n << shift);
        return 1;
}

static int parse_address(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (vs_address_parse(v, field) < 0)
                return fail(p, "invalid address '%s' (IPV4:PORT or [IPV6]:PORT)", v);
        return 1;
}

static int parse_level(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (vs_log_level_from_string(v, field) < 0)
                return fail(p, "unknown log level '%s' (err, warning, notice, info, debug)", v);
        return 1;
}

static int parse_reads(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        if (strcmp(v, "lease") == 0)
                *(enum vs_read_path *) field = VS_READS_LEASE;
        else if (strcmp(v, "log") == 0)
                *(enum vs_read_path *) field = VS_READS_LOG;
        else
                return fail(p, "Reads= must be 'lease' or 'log', not '%s'", v);
        return 1;
}

static int parse_node(struct parse_ctx *p, const char *v, void *field, uint32_t min, uint32_t max) {
        struct vs_conf *c = &p->conf;
        char name[VS_CONF_NAME_MAX + 2], peer[VS_ADDRESS_STRING_MAX + 1], client[VS_ADDRESS_STRING_MAX + 1];
        char extra;
        if (sscanf(v, "%64s %47s %47s %c", name, peer, client, &extra) != 3)
                return fail(p, "Node= takes NAME PEER_ADDRESS CLIENT_ADDRESS");
        if (c->n_nodes == VS_CONF_NODES_MAX)
                return fail(p, "more than %d nodes", VS_CONF_NODES_MAX);
        struct vs_conf_node *n = &c->nodes[c->n_nodes];
        if (parse_name(p, name, n->name, 0, 0) == 0)
                return 0;
        if (vs_address_parse(peer, &n->peer) < 0)
                return fail(p, "invalid peer address '%s' (IPV4:PORT or [IPV6]:PORT)", peer);
        if (vs_address_parse(client, &n->client) < 0)
                return fail(p, "invalid client address '%s' (IPV4:PORT or [IPV6]:PORT)", client);
        for (size_t i = 0; i < c->n_nodes; i++) {
                const struct vs_conf_node *o = &c->nodes[i];
                if (strcmp(o->name, n->name) == 0)
                        return fail(p, "node '%s' listed twice", n->name);
                if (vs_address_equal(&o->peer, &n->peer) || vs_address_equal(&o->client, &n->client) ||
                    vs_address_equal(&o->peer, &n->client) || vs_address_equal(&o->client, &n->peer))
                        return fail(p, "node '%s' reuses an address of node '%s'", n->name, o->name);
        }
        if (vs_address_equal(&n->peer, &n->client))
                return fail(p, "node '%s' uses one address for peers and clients", n->name);
        c->n_nodes++;
        return 1;
}

#define FIELD(f) offsetof(struct vs_conf, f)

static const struct key {
        const char *section, *name;
        key_parser parse;
        size_t offset;
        uint32_t min, max;
} keys[] = {
        { "Node", "Name", parse_name, FIELD(name), 0, 0 },
        { "Node", "StateDirectory", parse_path, FIELD(state_dir), 0, 0 },
        { "Node", "LogLevel", parse_level, FIELD(log_level), 0, 0 },
        { "Node", "PeerAddress", parse_address, FIELD(peer_address), 0, 0 },
        { "Node", "ClientAddress", parse_address, FIELD(client_address), 0, 0 },
        { "Cluster", "Node", parse_node, 0, 0, 0 },
        { "Cluster", "SecretFile", parse_path, FIELD(secret_file), 0, 0 },
        { "Client", "CertificateFile", parse_path, FIELD(client_cert_file), 0, 0 },
        { "Client", "KeyFile", parse_path, FIELD(client_key_file), 0, 0 },
        { "Replica", "TickMillis", parse_u32, FIELD(tick_ms), 1, 1000 },
        { "Replica", "HeartbeatTicks", parse_u32, FIELD(heartbeat_ticks), 1, 10000 },
        { "Replica", "ViewChangeTicks", parse_u32, FIELD(view_change_ticks), 2, 100000 },
        { "Replica", "LeaseTicks", parse_u32, FIELD(lease_ticks), 1, 100000 },
        { "Replica", "ClockDriftPPM", parse_u32, FIELD(clock_drift_ppm), 0, 500000 },
        { "Replica", "CheckpointInterval", parse_u32, FIELD(checkpoint_interval), 16, 1u << 30 },
        { "Replica", "BatchMax", parse_u32, FIELD(batch_max), 1, 65536 },
        { "Replica", "Reads", parse_reads, FIELD(reads), 0, 0 },
        { "Limits", "MaxFrameBytes", parse_u32, FIELD(max_frame_bytes), 4096, 1u << 30 },
        { "Limits", "MaxValueBytes", parse_u32, FIELD(max_value_bytes), 1, 256u << 20 },
        { "Limits", "MaxPathBytes", parse_u32, FIELD(max_path_bytes), 2, 65536 },
        { "Limits", "MaxConnections", parse_u32, FIELD(max_connections), 1, 1u << 20 },
        { "Limits", "MaxConnectionsPerAddress", parse_u32, FIELD(max_connections_per_address), 1, 1u << 20 },
        { "Limits", "MaxRequestsPerConnection", parse_u32, FIELD(max_requests_per_connection), 1, 1u << 20 },
        { "Limits", "MaxTenants", parse_u32, FIELD(max_tenants), 1, 1u << 20 },
        { "Limits", "MaxClientsPerTenant", parse_u32, FIELD(max_clients_per_tenant), 1, 1u << 24 },
};

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_ctx *p = user;
        bool section_known = false;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const struct key *k = &keys[i];
                if (strcmp(k->section, section) != 0)
                        continue;
                section_known = true;
                if (strcmp(k->name, name) == 0)
                        return k->parse(p, value, (char *) &p->conf + k->offset, k->min, k->max);
        }
        if (!section_known)
                return fail(p, "unknown section [%s]", section);
        return fail(p, "unknown key %s= in [%s]", name, section);
}

static char *reader(char *str, int num, void *stream) {
        struct parse_ctx *p = stream;
        char *s = fgets(str, num, p->f);
        if (s)
                p->line++;
        return s;
}

/* Checks that need the whole file. */
static int validate(struct parse_ctx *p) {
        const struct vs_conf *c = &p->conf;
        if (!c->name[0])
                return fail(p, "[Node] Name= is not set");
        if (c->n_nodes > 0 && !vs_conf_find_node(c, c->name))
                return fail(p, "this node '%s' is not in the [Cluster] Node= list", c->name);
        if (!c->peer_address.len != !c->client_address.len)
                return fail(p, "[Node] PeerAddress= and ClientAddress= are set together or not at all");
        if (c->peer_address.len) {
                const struct vs_conf_node *listed = vs_conf_find_node(c, c->name);
                if (vs_address_equal(&c->peer_address, &c->client_address))
                        return fail(p, "[Node] PeerAddress= and ClientAddress= are the same address");
                if (listed && (!vs_address_equal(&listed->peer, &c->peer_address) ||
                               !vs_address_equal(&listed->client, &c->client_address)))
                        return fail(p, "[Node] PeerAddress= and ClientAddress= differ from this node's [Cluster] Node= entry");
        }
        if (!c->client_cert_file[0] != !c->client_key_file[0])
                return fail(p, "[Client] CertificateFile= and KeyFile= go together: set both for TLS, or neither");
        if (c->lease_ticks >= c->view_change_ticks)
                return fail(p, "LeaseTicks=%u must be below ViewChangeTicks=%u, or a primary could hold a lease no view change can wait out",
                            c->lease_ticks, c->view_change_ticks);
        if (c->heartbeat_ticks >= c->lease_ticks)
                return fail(p, "HeartbeatTicks=%u must be below LeaseTicks=%u, or leases would lapse while the primary is healthy",
                            c->heartbeat_ticks, c->lease_ticks);
        return 1;
}

int vs_conf_load(struct vs_conf *c, const char *path, char **error) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
                        *error = NULL;
                return r;
        }

        _cleanup_free_ struct parse_ctx *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->conf = *c;
        p->f = f;
        int line = ini_parse_stream(reader, p, handler, p);
        if (line == 0 && !p->err) {
                p->line = 0;
                validate(p);
        }
        if (line != 0 || p->err) {
                int r;
                /* inih reports syntax errors (no '=', unclosed '[') only through its return value. */
                if (line > 0 && (!p->err || (unsigned) line < p->err_line))
                        r = asprintf(error, "%s:%d: syntax error", path, line);
                else if (p->err_line > 0)
                        r = asprintf(error, "%s:%u: %s", path, p->err_line, p->err);
                else
                        r = asprintf(error, "%s: %s", path, p->err);
                if (r < 0)
                        *error = NULL;
                free(p->err);
                return line < 0 ? -ENOMEM : -EINVAL;
        }
        *c = p->conf;
        return 0;
}

int vs_conf_self(const struct vs_conf *c, struct vs_conf_node *ret) {
        const struct vs_conf_node *listed = vs_conf_find_node(c, c->name);
        if (listed) {
                *ret = *listed;
                return 0;
        }
        if (!c->peer_address.len)
                return -ENOENT;
        *ret = (struct vs_conf_node) { .peer = c->peer_address, .client = c->client_address };
        strcpy(ret->name, c->name);
        return 0;
}

const struct vs_conf_node *vs_conf_find_node(const struct vs_conf *c, const char *name) {
        for (size_t i = 0; i < c->n_nodes; i++)
                if (strcmp(c->nodes[i].name, name) == 0)
                        return &c->nodes[i];
        return NULL;
}
