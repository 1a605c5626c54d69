/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How viewstampctl's data commands print results: human-readable text in the style of
 * timedatectl (aligned "Label: value" lines, plain lists), or one JSON document per command
 * (json-c). JSON values are strings when the bytes are valid UTF-8 without NUL, otherwise the
 * key gets a "_hex" suffix and the bytes are hex-encoded, so the output is always valid JSON.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/viewstamp.h"
#include "util/cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(vs_result *, vs_result_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(vs_op *, vs_op_free)

/* {"version":..,"cversion":..,"created_op":..,"modified_op":..,"num_children":..,"value_len":..} */
json_object *show_stat_json(const struct vs_stat *st);
/* Adds key (or key_hex) for the bytes to obj. 0 or -ENOMEM. */
int show_bytes_json(json_object *obj, const char *key, const void *data, size_t len);
/* The inverse: the bytes of key (a string taken as is) or key_hex (lower-case hex) in obj, in a
 * malloc()ed buffer. -ENOENT when obj has neither, -EINVAL for both, a non-string or bad hex. */
int show_bytes_from_json(json_object *obj, const char *key, uint8_t **ret, size_t *ret_len);
/* Prints obj as one line (pretty-printed when pretty), followed by a newline. */
void show_json(FILE *f, json_object *obj, bool pretty);

void show_stat_human(FILE *f, const char *path, const struct vs_stat *st);
/* ls: names one per line, or with stats a table with a header line. */
void show_list_human(FILE *f, const vs_result *r, bool with_stat);
json_object *show_list_json(const char *path, const vs_result *r, bool with_stat);

/* {"error":{"code":N,"name":"NoNode"|null,"message":"..."}} for a failed command. */
json_object *show_error_json(int error, const char *detail);
