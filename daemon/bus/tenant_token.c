/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/authorize.h"
#include "bus/manager.h"
#include "bus/tenant.h"
#include "bus/tenant_token.h"
#include "log/log.h"
#include "node/node.h"
#include "node/cluster_state.h"
#include "node/tenant.h"
#include "tree/error.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"

/* Compare-and-set rounds lost to concurrent changes before giving up. */
#define MAX_ATTEMPTS 5

struct pending_token {
        sd_bus_message *call;
        struct vs_node *node;
        char name[VS_TENANT_NAME_MAX + 1];
        struct vs_access_token token;
        struct vs_tenant_config config; /* as read, with the new token */
        unsigned attempts;
};

static void pending_free(struct pending_token *p) {
        sd_bus_message_unref(p->call);
        explicit_bzero(&p->token, sizeof p->token);
        free(p);
}

static int read_config(struct pending_token *p);

static void finish_errno(struct pending_token *p, int error) {
        (void) sd_bus_reply_method_errnof(p->call, error, "cannot reach the cluster's root group: %m");
        pending_free(p);
}

static void set_done(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct pending_token *p = userdata;
        if (error < 0)
                return finish_errno(p, error);
        if (resp->error == TREE_ERR_BAD_VERSION && p->attempts < MAX_ATTEMPTS) {
                int r = read_config(p);
                if (r < 0)
                        finish_errno(p, r);
                return;
        }
        if (resp->error == TREE_ERR_BAD_VERSION)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "Busy",
                                                  "tenant '%s' kept changing; try again", p->name);
        else if (resp->error == TREE_ERR_NO_NODE)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "NoSuchTenant",
                                                  "the cluster holds no tenant '%s'", p->name);
        else if (resp->error != 0)
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "Internal", "the root group refused: %s",
                                                  tree_error_name((int) resp->error));
        else {
                (void) vs_node_refresh_tenant(p->node, &p->config);
                log_notice(&(struct vs_log_ctx) { .tenant = p->name }, "access token %s",
                           p->token.set ? "set" : "cleared");
                (void) sd_bus_reply_method_return(p->call, NULL);
        }
        pending_free(p);
}

static void get_done(void *userdata, int error, const Viewstamp__TreeResponse *resp) {
        struct pending_token *p = userdata;
        if (error < 0)
                return finish_errno(p, error);
        struct vs_tenant_config c;
        if (resp->error == TREE_ERR_NO_NODE || !resp->stat) {
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "NoSuchTenant",
                                                  "the cluster holds no tenant '%s'", p->name);
                return pending_free(p);
        }
        if (resp->error != 0 || vs_tenant_config_decode(resp->value.data, resp->value.len, &c) < 0) {
                (void) sd_bus_reply_method_errorf(p->call, VS_BUS_ERROR_PREFIX "Internal",
                                                  "the root group holds no readable configuration for '%s'", p->name);
                return pending_free(p);
        }
        c.token = p->token;
        _cleanup_free_ uint8_t *value = NULL, *set = NULL;
        size_t value_len, set_len;
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(p->name, path);
        int r = vs_tenant_config_encode(&c, &value, &value_len);
        if (r >= 0)
                r = tree_sm_encode_set(path, value, value_len, resp->stat->version, &set, &set_len);
        if (r < 0)
                return finish_errno(p, r);
        p->config = c;
        p->config.id = resp->stat->created_op + 1; /* the id as the root tree gives it (cluster_state.h) */
        r = vs_node_root_submit(p->node, set, set_len, set_done, p);
        if (r < 0)
                finish_errno(p, r);
}

static int read_config(struct pending_token *p) {
        _cleanup_free_ uint8_t *get = NULL;
        size_t get_len;
        char path[VS_TENANT_PATH_MAX];
        vs_cluster_tenant_path(p->name, path);
        p->attempts++;
        int r = tree_sm_encode_get(path, &get, &get_len);
        if (r < 0)
                return r;
        return vs_node_root_submit(p->node, get, get_len, get_done, p);
}

/* Runs once the caller is authorized, possibly after the tenant went away: found again here. */
static int set_access_token(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct vs_node *node = userdata;
        _cleanup_free_ char *name = NULL;
        int r = sd_bus_path_decode(sd_bus_message_get_path(m), VS_BUS_TENANT_PREFIX, &name);
        if (r < 0)
                return r;
        struct vs_tenant *t = r > 0 ? vs_node_find_tenant(node, name) : NULL;
        if (!t || strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                return sd_bus_error_setf(error, VS_BUS_ERROR_PREFIX "NoSuchTenant", "no tenant '%s' is hosted on this node",
                                         name ? name : "");
        const char *token;
        r = sd_bus_message_read(m, "s", &token);
        if (r < 0)
                return r;
        size_t len = strlen(token);
        char why[128];
        if (len > 0 && vs_access_token_acceptable(token, why, sizeof why) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);

        struct pending_token *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->call = sd_bus_message_ref(m);
        p->node = node;
        strcpy(p->name, vs_tenant_config(t)->name);
        r = len > 0 ? vs_access_token_make(token, len, &p->token) : 0;
        if (r >= 0)
                r = read_config(p);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        return 1; /* answered by set_done */
}

int vs_bus_tenant_set_access_token(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        /* The node, not the tenant: it outlives a polkit query (bus/authorize.h). */
        return vs_bus_authorize(m, set_access_token, vs_tenant_node(userdata), error);
}
