/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading a D-Bus object's properties for viewstampctl's admin commands, generically, so that a
 * property the daemon adds shows up in "tenant show" without a change here. Values become json-c
 * values: strings, object paths and signatures are strings, booleans booleans, integers integers
 * (64-bit unsigned kept exact), doubles doubles, arrays and structs arrays.
 */

#include <json-c/json.h>
#include <systemd/sd-bus.h>

/* Reads the next complete value of m (of any type) into *ret. 0 or negative errno. */
int bus_read_json(sd_bus_message *m, json_object **ret);

/* Every property of interface at path on the daemon, in the daemon's order, keyed by the
 * property's name converted to snake_case ("OpNumber" -> "op_number"). On failure the
 * D-Bus error is in *error. 0 or negative errno. */
int bus_get_all_json(sd_bus *bus, const char *path, const char *interface, sd_bus_error *error,
                     json_object **ret);

/* "op_number" -> "Op number": the label for human output. malloc()ed, NULL on ENOMEM. */
char *bus_label(const char *key);

/* A value as text for humans: strings as they are, arrays joined with ", ". malloc()ed. */
char *bus_text(json_object *v);
