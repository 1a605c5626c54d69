/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/authorize.h"
#include "bus/manager.h"
#include "bus/tenant.h"
#include "bus/tenant_reconfig.h"
#include "node/node.h"
#include "node/reconfig.h"
#include "node/tenant.h"
#include "util/cleanup.h"

static const char *error_name(int error, bool move) {
        switch (error) {
        case -EINVAL:
                return SD_BUS_ERROR_INVALID_ARGS;
        case -ENOENT:
                return move ? VS_BUS_ERROR_PREFIX "NoSuchNode" : VS_BUS_ERROR_PREFIX "NoSuchTenant";
        case -EBUSY:
                return VS_BUS_ERROR_PREFIX "Busy";
        case -ENOTCONN:
                return VS_BUS_ERROR_PREFIX "NotInCluster";
        case -ETIMEDOUT:
        case -EAGAIN:
                return VS_BUS_ERROR_PREFIX "Unavailable";
        default:
                return VS_BUS_ERROR_PREFIX "Internal";
        }
}

struct call {
        sd_bus_message *m;
        bool move;
};

static void reconfig_done(void *userdata, int error, const char *message) {
        struct call *c = userdata;
        if (error < 0)
                (void) sd_bus_reply_method_errorf(c->m, error_name(error, c->move), "%s", message);
        else
                (void) sd_bus_reply_method_return(c->m, NULL);
        sd_bus_message_unref(c->m);
        free(c);
}

/* Runs once the caller is authorized, possibly after the tenant went away from this node: the
 * name comes from the object path, and the root group decides whether the tenant exists. */
static int run(sd_bus_message *m, void *userdata, sd_bus_error *error, bool move) {
        struct vs_node *node = userdata;
        _cleanup_free_ char *name = NULL;
        int r = sd_bus_path_decode(sd_bus_message_get_path(m), VS_BUS_TENANT_PREFIX, &name);
        if (r < 0)
                return r;
        if (r == 0 || strcmp(name, VS_ROOT_TENANT_NAME) == 0)
                return sd_bus_error_setf(error, VS_BUS_ERROR_PREFIX "NoSuchTenant", "no such tenant");
        const char *nodes[VS_TENANT_REPLICAS_MAX + 1];
        uint32_t n = 0;
        const char *from = NULL, *to = NULL;
        if (move)
                r = sd_bus_message_read(m, "ss", &from, &to);
        else {
                r = sd_bus_message_enter_container(m, 'a', "s");
                const char *s;
                while (r >= 0 && (r = sd_bus_message_read(m, "s", &s)) > 0)
                        if (n <= VS_TENANT_REPLICAS_MAX)
                                nodes[n++] = s;
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                return r;
        struct call *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->m = sd_bus_message_ref(m);
        c->move = move;
        char why[512] = "";
        r = move ? vs_node_move_replica(node, name, from, to, reconfig_done, c, why, sizeof why)
                 : vs_node_reconfigure(node, name, nodes, n, reconfig_done, c, why, sizeof why);
        if (r < 0) {
                sd_bus_message_unref(c->m);
                free(c);
                return sd_bus_error_set(error, error_name(r, move), why);
        }
        return 1; /* answered by reconfig_done */
}

static int reconfigure(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return run(m, userdata, error, false);
}

static int move_replica(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return run(m, userdata, error, true);
}

/* The node, not the tenant: it outlives a polkit query (bus/authorize.h). */
int vs_bus_tenant_reconfigure(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return vs_bus_authorize(m, reconfigure, vs_tenant_node(userdata), error);
}

int vs_bus_tenant_move_replica(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return vs_bus_authorize(m, move_replica, vs_tenant_node(userdata), error);
}
