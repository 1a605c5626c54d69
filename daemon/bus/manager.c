/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "bus/manager.h"
#include "log/log.h"

static int property_node_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_conf *conf = userdata;
        return sd_bus_message_append(reply, "s", conf->name);
}

/* a(sss): name, peer address, client address, in configuration order. */
static int property_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct vs_conf *conf = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < conf->n_nodes; i++) {
                char peer[VS_ADDRESS_STRING_MAX], client[VS_ADDRESS_STRING_MAX];
                r = sd_bus_message_append(reply, "(sss)", conf->nodes[i].name,
                                          vs_address_to_string(&conf->nodes[i].peer, peer),
                                          vs_address_to_string(&conf->nodes[i].client, client));
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NodeName", "s", property_node_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Nodes", "a(sss)", property_nodes, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static int on_name_lost(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_event *e = userdata;
        log_error(NULL, "lost the D-Bus name %s to another owner; exiting", VS_BUS_NAME);
        return sd_event_exit(e, EXIT_FAILURE);
}

int vs_bus_open(sd_event *e, const struct vs_conf *conf, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system_with_description(&bus, "viewstampd");
        if (r < 0)
                return log_error_errno(NULL, r, "cannot connect to the system bus");

        r = sd_bus_add_object_vtable(bus, NULL, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, manager_vtable,
                                     (void *) conf);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameLost", on_name_lost, e);
        if (r >= 0)
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return log_error_errno(NULL, r, "cannot publish %s", VS_BUS_PATH);
        }

        r = sd_bus_request_name(bus, VS_BUS_NAME, 0);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                if (r == -EEXIST)
                        return log_error_errno(NULL, r, "%s is already owned: is another viewstampd running?",
                                               VS_BUS_NAME);
                return log_error_errno(NULL, r, "cannot own %s (is the D-Bus policy installed?)", VS_BUS_NAME);
        }
        *ret = bus;
        return 0;
}
