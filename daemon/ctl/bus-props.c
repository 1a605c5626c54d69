/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/manager.h"
#include "ctl/bus-props.h"
#include "ctl/show.h"
#include "util/cleanup.h"

static int read_basic(sd_bus_message *m, char type, json_object **ret) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
        } v;
        int r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BYTE:
                *ret = json_object_new_int(v.y);
                break;
        case SD_BUS_TYPE_BOOLEAN:
                *ret = json_object_new_boolean(v.b);
                break;
        case SD_BUS_TYPE_INT16:
                *ret = json_object_new_int(v.n);
                break;
        case SD_BUS_TYPE_UINT16:
                *ret = json_object_new_int(v.q);
                break;
        case SD_BUS_TYPE_INT32:
                *ret = json_object_new_int(v.i);
                break;
        case SD_BUS_TYPE_UINT32:
                *ret = json_object_new_int64(v.u);
                break;
        case SD_BUS_TYPE_INT64:
                *ret = json_object_new_int64(v.x);
                break;
        case SD_BUS_TYPE_UINT64:
                *ret = json_object_new_uint64(v.t);
                break;
        case SD_BUS_TYPE_DOUBLE:
                *ret = json_object_new_double(v.d);
                break;
        case SD_BUS_TYPE_UNIX_FD:
                *ret = json_object_new_int(v.i);
                break;
        default: /* string, object path, signature */
                *ret = json_object_new_string(v.s);
                break;
        }
        return *ret ? 0 : -ENOMEM;
}

int bus_read_json(sd_bus_message *m, json_object **ret) {
        char type;
        const char *contents;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        if (!strchr("avre", type)) /* peek_type names structs 'r' and dict entries 'e' */
                return read_basic(m, type, ret);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        _cleanup_(json_object_putp) json_object *v = NULL;
        if (type == SD_BUS_TYPE_VARIANT)
                r = bus_read_json(m, &v);
        else {
                /* Arrays, structs and dict entries all become arrays of their members. */
                v = json_object_new_array();
                if (!v)
                        return -ENOMEM;
                while (r >= 0 && (r = sd_bus_message_at_end(m, false)) == 0) {
                        json_object *e = NULL;
                        r = bus_read_json(m, &e);
                        if (r >= 0 && json_object_array_add(v, e) < 0) {
                                json_object_put(e);
                                r = -ENOMEM;
                        }
                }
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

static char *snake_case(const char *name) {
        char *s = malloc(strlen(name) * 2 + 1), *p = s;
        if (!s)
                return NULL;
        for (const char *c = name; *c; c++) {
                if (isupper((unsigned char) *c) && c != name)
                        *p++ = '_';
                *p++ = (char) tolower((unsigned char) *c);
        }
        *p = 0;
        return s;
}

int bus_get_all_json(sd_bus *bus, const char *path, const char *interface, sd_bus_error *error,
                     json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, VS_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", error,
                                   &reply, "s", interface);
        if (r < 0)
                return r;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                const char *name;
                json_object *v = NULL;
                r = sd_bus_message_read_basic(reply, SD_BUS_TYPE_STRING, &name);
                if (r >= 0)
                        r = bus_read_json(reply, &v);
                if (r < 0)
                        break;
                _cleanup_free_ char *key = snake_case(name);
                if (!key || json_object_object_add(o, key, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

char *bus_label(const char *key) {
        char *s = strdup(key);
        if (!s)
                return NULL;
        s[0] = (char) toupper((unsigned char) s[0]);
        for (char *p = s; *p; p++)
                if (*p == '_')
                        *p = ' ';
        return s;
}

char *bus_text(json_object *v) {
        if (!json_object_is_type(v, json_type_array))
                return strdup(json_object_get_string(v));
        size_t n = json_object_array_length(v), len = 0;
        _cleanup_free_ char *s = strdup("");
        for (size_t i = 0; s && i < n; i++) {
                _cleanup_free_ char *e = bus_text(json_object_array_get_idx(v, i));
                if (!e)
                        return NULL;
                size_t k = strlen(e);
                char *t = realloc(s, len + k + 3);
                if (!t)
                        return NULL;
                s = t;
                if (i > 0) {
                        memcpy(s + len, ", ", 2);
                        len += 2;
                }
                memcpy(s + len, e, k + 1);
                len += k;
        }
        return TAKE_PTR(s);
}
