/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The logical backup format of "viewstampctl export" and "import": JSON lines, one tree node per
 * line, parents before their children (pre-order, children in name order):
 *
 *     {"path":"/config","value":"x=1"}
 *     {"path":"/blob","value_hex":"00ff"}
 *
 * "value" holds the bytes when they are UTF-8 text without NUL, "value_hex" otherwise (show.h).
 * A line has exactly these keys; versions and other metadata are not kept (an import creates
 * fresh nodes). The root node itself is never a line.
 */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* The object of one line. NULL on -ENOMEM. */
json_object *export_line_json(const char *path, const void *value, size_t len);

/* Parses one line (without its newline). 0, -EINVAL with *error saying what is wrong (malformed
 * JSON, a missing, extra or mistyped key, bad hex, a path that is not a valid absolute path or
 * is the root), or -ENOMEM. *ret_path and *ret_value are malloc()ed. */
int export_line_parse(const char *line, char **ret_path, uint8_t **ret_value, size_t *ret_len,
                      const char **error);
