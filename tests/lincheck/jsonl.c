/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-c/json.h>

#include "history.h"
#include "util/cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free)

static const char *const type_names[] = {
        [LC_INVOKE] = "invoke",
        [LC_OK] = "ok",
        [LC_FAIL] = "fail",
        [LC_INFO] = "info",
};

static const char *const fn_names[] = {
        [LC_READ] = "read",
        [LC_WRITE] = "write",
        [LC_CAS] = "cas",
};

static struct json_object *new_value(int64_t v) {
        return v == LC_NIL ? NULL : json_object_new_int64(v);
}

static int add_field(struct json_object *o, const char *name, struct json_object *v, bool may_be_null) {
        if (!v && !may_be_null)
                return -ENOMEM;
        if (json_object_object_add(o, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Whether the event's "value" is null: cas completions may omit their arguments. */
static bool value_is_null(const struct lc_event *e) {
        if (e->f != LC_CAS)
                return e->value == LC_NIL;
        return e->type != LC_INVOKE && e->value == LC_NIL && e->expected == LC_NIL;
}

static struct json_object *new_event_value(const struct lc_event *e) {
        if (e->f != LC_CAS || value_is_null(e))
                return new_value(e->value);

        _cleanup_(json_object_putp) struct json_object *a = json_object_new_array_ext(2);
        if (!a)
                return NULL;
        struct json_object *x = new_value(e->expected), *n = new_value(e->value);
        if ((e->expected != LC_NIL && !x) || json_object_array_add(a, x) < 0) {
                json_object_put(x);
                json_object_put(n);
                return NULL;
        }
        if ((e->value != LC_NIL && !n) || json_object_array_add(a, n) < 0) {
                json_object_put(n);
                return NULL;
        }
        return TAKE_PTR(a);
}

int lc_event_format(const struct lc_event *e, FILE *f) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        struct json_object *value = new_event_value(e);
        bool nil = value_is_null(e);
        if ((r = add_field(o, "process", json_object_new_int64(e->process), false)) < 0 ||
            (r = add_field(o, "type", json_object_new_string(type_names[e->type]), false)) < 0 ||
            (r = add_field(o, "f", json_object_new_string(fn_names[e->f]), false)) < 0 ||
            (r = add_field(o, "key", json_object_new_string(e->key), false)) < 0) {
                json_object_put(value);
                return r;
        }
        if ((r = add_field(o, "value", value, nil)) < 0 ||
            (r = add_field(o, "time", json_object_new_uint64(e->time), false)) < 0)
                return r;

        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        return fputs(s, f) < 0 ? -EIO : 0;
}

int lc_history_write_event_jsonl(const struct lc_event *e, FILE *f) {
        int r = lc_event_format(e, f);
        if (r < 0)
                return r;
        return fputc('\n', f) < 0 ? -EIO : 0;
}

int lc_history_write_jsonl(const struct lc_history *h, FILE *f) {
        for (size_t i = 0; i < h->n_events; i++) {
                int r = lc_history_write_event_jsonl(&h->events[i], f);
                if (r < 0)
                        return r;
        }
        return fflush(f) == 0 ? 0 : -EIO;
}

static int bad(const char **why, const char *reason) {
        *why = reason;
        return -EBADMSG;
}

/* An int64 other than the reserved LC_NIL, or null (LC_NIL) when allowed. */
static int get_int(struct json_object *v, bool nullable, int64_t *ret, const char **why) {
        if (!v) {
                if (!nullable)
                        return bad(why, "null where an integer is required");
                *ret = LC_NIL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return bad(why, "a number that is not an integer, or a non-number");
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno != 0 || x == INT64_MIN || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t) INT64_MAX))
                return bad(why, "integer out of range");
        *ret = x;
        return 0;
}

static int lookup_name(struct json_object *v, const char *const *names, size_t n, unsigned *ret) {
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (strcmp(json_object_get_string(v), names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EBADMSG;
}

static int parse_value(struct json_object *v, struct lc_event *e, const char **why) {
        if (e->f != LC_CAS || !v) {
                e->expected = LC_NIL;
                if (e->f == LC_CAS && e->type == LC_INVOKE)
                        return bad(why, "cas invoke without [expected,new]");
                return get_int(v, true, &e->value, why);
        }
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
                return bad(why, "cas value is not [expected,new]");
        int r = get_int(json_object_array_get_idx(v, 0), true, &e->expected, why);
        if (r < 0)
                return r;
        return get_int(json_object_array_get_idx(v, 1), true, &e->value, why);
}

enum { F_PROCESS, F_TYPE, F_F, F_KEY, F_VALUE, F_TIME, N_FIELDS };

static const struct {
        const char *name;
        const char *missing;
} fields[N_FIELDS] = {
        [F_PROCESS] = { "process", "missing \"process\"" },
        [F_TYPE] = { "type", "missing \"type\"" },
        [F_F] = { "f", "missing \"f\"" },
        [F_KEY] = { "key", "missing \"key\"" },
        [F_VALUE] = { "value", "missing \"value\"" },
        [F_TIME] = { "time", "missing \"time\"" },
};

static int parse_event(struct json_object *o, struct lc_event *e, const char **why) {
        struct json_object *v[N_FIELDS];
        unsigned t, fn;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return bad(why, "not a JSON object");
        for (size_t i = 0; i < N_FIELDS; i++)
                if (!json_object_object_get_ex(o, fields[i].name, &v[i]))
                        return bad(why, fields[i].missing);

        *e = (struct lc_event) {};
        if ((r = get_int(v[F_PROCESS], false, &e->process, why)) < 0)
                return r;
        if (lookup_name(v[F_TYPE], type_names, ELEMENTSOF(type_names), &t) < 0)
                return bad(why, "\"type\" is not one of invoke, ok, fail, info");
        if (lookup_name(v[F_F], fn_names, ELEMENTSOF(fn_names), &fn) < 0)
                return bad(why, "\"f\" is not one of read, write, cas");
        e->type = t;
        e->f = fn;
        if (!json_object_is_type(v[F_KEY], json_type_string))
                return bad(why, "\"key\" is not a string");
        e->key = json_object_get_string(v[F_KEY]);
        if ((r = parse_value(v[F_VALUE], e, why)) < 0)
                return r;
        /* time is unsigned 64-bit, wider than the int64 values above */
        if (!v[F_TIME] || !json_object_is_type(v[F_TIME], json_type_int))
                return bad(why, "\"time\" is not an integer");
        if (json_object_get_int64(v[F_TIME]) < 0)
                return bad(why, "negative \"time\"");
        e->time = json_object_get_uint64(v[F_TIME]);
        return 0;
}

static int parse_line(struct json_tokener *tok, const char *buf, size_t len, struct json_object **ret,
                      const char **why) {
        while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
                len--;
        if (len == 0)
                return bad(why, "empty line");
        if (memchr(buf, 0, len))
                return bad(why, "NUL byte in line");

        json_tokener_reset(tok);
        struct json_object *o = json_tokener_parse_ex(tok, buf, len);
        enum json_tokener_error err = json_tokener_get_error(tok);
        if (err == json_tokener_continue || (err == json_tokener_success && !o))
                return bad(why, "incomplete JSON");
        if (err != json_tokener_success)
                return bad(why, "invalid JSON");
        if ((size_t) json_tokener_get_parse_end(tok) != len) {
                json_object_put(o);
                return bad(why, "trailing characters after the JSON object");
        }
        *ret = o;
        return 0;
}

int lc_history_read_jsonl_why(FILE *f, struct lc_history **ret, unsigned *line, const char **why) {
        _cleanup_(lc_history_freep) struct lc_history *h = NULL;
        _cleanup_(json_tokener_freep) struct json_tokener *tok = json_tokener_new();
        _cleanup_free_ char *buf = NULL;
        const char *reason = NULL;
        size_t size = 0;
        int r;

        if (!why)
                why = &reason;
        *why = "out of memory";
        *line = 0;
        if (!tok)
                return -ENOMEM;
        r = lc_history_new(&h);
        if (r < 0)
                return r;

        for (;;) {
                errno = 0;
                ssize_t len = getline(&buf, &size, f);
                if (len < 0)
                        break;
                ++*line;

                _cleanup_(json_object_putp) struct json_object *o = NULL;
                struct lc_event e;
                r = parse_line(tok, buf, len, &o, why);
                if (r < 0)
                        return r;
                r = parse_event(o, &e, why);
                if (r < 0)
                        return r;
                r = lc_history_add_why(h, &e, why);
                if (r < 0)
                        return r;
        }
        if (errno == ENOMEM || ferror(f)) {
                ++*line;
                *why = errno == ENOMEM ? "out of memory" : "read error";
                return errno == ENOMEM ? -ENOMEM : -EIO;
        }
        *why = NULL;
        *ret = TAKE_PTR(h);
        return 0;
}

int lc_history_read_jsonl(FILE *f, struct lc_history **ret, unsigned *line) {
        return lc_history_read_jsonl_why(f, ret, line, NULL);
}
