/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/show.h"
#include "util/cleanup.h"

json_object *show_stat_json(const struct vs_stat *st) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_uint64(st->version));
        json_object_object_add(o, "cversion", json_object_new_uint64(st->cversion));
        json_object_object_add(o, "created_op", json_object_new_uint64(st->created_op));
        json_object_object_add(o, "modified_op", json_object_new_uint64(st->modified_op));
        json_object_object_add(o, "num_children", json_object_new_uint64(st->num_children));
        json_object_object_add(o, "value_len", json_object_new_uint64(st->value_len));
        return o;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) and no NUL. */
static bool is_text(const uint8_t *s, size_t len) {
        size_t i = 0;
        while (i < len) {
                uint8_t c = s[i];
                size_t n;
                uint32_t cp;
                if (c == 0)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0)
                        n = 1, cp = c & 0x1f;
                else if ((c & 0xf0) == 0xe0)
                        n = 2, cp = c & 0x0f;
                else if ((c & 0xf8) == 0xf0)
                        n = 3, cp = c & 0x07;
                else
                        return false;
                if (len - i <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
                if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n + 1;
        }
        return true;
}

int show_bytes_json(json_object *obj, const char *key, const void *data, size_t len) {
        if (is_text(data, len)) {
                json_object *s = json_object_new_string_len(data, (int) len);
                return s ? json_object_object_add(obj, key, s) : -ENOMEM;
        }
        static const char digits[] = "0123456789abcdef";
        _cleanup_free_ char *hex = malloc(len * 2 + 1);
        _cleanup_free_ char *k = NULL;
        if (!hex || asprintf(&k, "%s_hex", key) < 0)
                return -ENOMEM;
        const uint8_t *p = data;
        for (size_t i = 0; i < len; i++) {
                hex[2 * i] = digits[p[i] >> 4];
                hex[2 * i + 1] = digits[p[i] & 15];
        }
        hex[2 * len] = 0;
        json_object *s = json_object_new_string(hex);
        return s ? json_object_object_add(obj, k, s) : -ENOMEM;
}

void show_json(FILE *f, json_object *obj, bool pretty) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
        fprintf(f, "%s\n", json_object_to_json_string_ext(obj, flags));
}

void show_stat_human(FILE *f, const char *path, const struct vs_stat *st) {
        fprintf(f, "%13s: %s\n", "Path", path);
        fprintf(f, "%13s: %" PRIu64 "\n", "Version", st->version);
        fprintf(f, "%13s: %" PRIu64 "\n", "Child version", st->cversion);
        fprintf(f, "%13s: %" PRIu64 "\n", "Created op", st->created_op);
        fprintf(f, "%13s: %" PRIu64 "\n", "Modified op", st->modified_op);
        fprintf(f, "%13s: %" PRIu32 "\n", "Children", st->num_children);
        fprintf(f, "%13s: %" PRIu32 " bytes\n", "Value size", st->value_len);
}

void show_list_human(FILE *f, const vs_result *r, bool with_stat) {
        size_t n = vs_result_children(r);
        if (with_stat)
                fprintf(f, "%-24s %10s %10s %10s %12s\n", "NAME", "VERSION", "CHILDREN", "SIZE", "MODIFIED-OP");
        for (size_t i = 0; i < n; i++) {
                struct vs_stat st;
                if (with_stat && vs_result_child_stat(r, i, &st) == 0)
                        fprintf(f, "%-24s %10" PRIu64 " %10" PRIu32 " %10" PRIu32 " %12" PRIu64 "\n",
                                vs_result_child_name(r, i), st.version, st.num_children, st.value_len,
                                st.modified_op);
                else
                        fprintf(f, "%s\n", vs_result_child_name(r, i));
        }
}

json_object *show_list_json(const char *path, const vs_result *r, bool with_stat) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        if (!o || !a) {
                json_object_put(o);
                json_object_put(a);
                return NULL;
        }
        json_object_object_add(o, "path", json_object_new_string(path));
        json_object_object_add(o, "children", a);
        for (size_t i = 0; i < vs_result_children(r); i++) {
                json_object *c = json_object_new_object();
                if (!c)
                        break;
                const char *name = vs_result_child_name(r, i);
                show_bytes_json(c, "name", name, strlen(name));
                struct vs_stat st;
                if (with_stat && vs_result_child_stat(r, i, &st) == 0)
                        json_object_object_add(c, "stat", show_stat_json(&st));
                json_object_array_add(a, c);
        }
        return o;
}

json_object *show_error_json(int error, const char *detail) {
        json_object *o = json_object_new_object(), *e = json_object_new_object();
        if (!o || !e) {
                json_object_put(o);
                json_object_put(e);
                return NULL;
        }
        const char *name = vs_error_name(error);
        json_object_object_add(e, "code", json_object_new_int(error));
        json_object_object_add(e, "name", name ? json_object_new_string(name) : NULL);
        json_object_object_add(e, "message", json_object_new_string(vs_strerror(error)));
        if (detail)
                json_object_object_add(e, "detail", json_object_new_string(detail));
        json_object_object_add(o, "error", e);
        return o;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int show_bytes_from_json(json_object *obj, const char *key, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *k = NULL;
        if (asprintf(&k, "%s_hex", key) < 0)
                return -ENOMEM;
        json_object *text = NULL, *hex = NULL;
        bool has_text = json_object_object_get_ex(obj, key, &text);
        bool has_hex = json_object_object_get_ex(obj, k, &hex);
        if (!has_text && !has_hex)
                return -ENOENT;
        json_object *v = has_text ? text : hex;
        if ((has_text && has_hex) || !json_object_is_type(v, json_type_string))
                return -EINVAL;
        const char *s = json_object_get_string(v);
        size_t n = (size_t) json_object_get_string_len(v);
        if (has_hex && n % 2 != 0)
                return -EINVAL;
        _cleanup_free_ uint8_t *out = malloc(n + 1); /* + 1: never malloc(0) */
        if (!out)
                return -ENOMEM;
        if (has_text) {
                memcpy(out, s, n);
        } else {
                for (size_t i = 0; i < n; i += 2) {
                        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        out[i / 2] = (uint8_t) (hi << 4 | lo);
                }
                n /= 2;
        }
        *ret = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}
