/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * "viewstampctl export [PATH]" writes a tenant's tree (or the subtree at PATH) to stdout in the
 * format of export.h, reading node by node; "viewstampctl import" creates the nodes of such a
 * stream read from stdin. Both are rows of viewstampctl's table (verb.h) and take the data
 * commands' common options (data.h).
 *
 * An export is not a snapshot: each line is a value its node had at some moment during the
 * export, and a node created or deleted meanwhile may be missing or present. Nodes deleted while
 * the walk reaches them are skipped. An import checks its whole input before it writes anything;
 * the tenant may still refuse a line (the node exists, its parent is missing, the value is over
 * the limit), which stops the import there with the nodes before it created.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/data.h"
#include "ctl/export.h"
#include "ctl/show.h"
#include "ctl/verb.h"
#include "tree/path.h"
#include "util/array.h"
#include "util/cleanup.h"

json_object *export_line_json(const char *path, const void *value, size_t len) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *p = json_object_new_string(path);
        if (!o || !p || json_object_object_add(o, "path", p) < 0) {
                json_object_put(p);
                return NULL;
        }
        if (show_bytes_json(o, "value", value, len) < 0)
                return NULL;
        return TAKE_PTR(o);
}

#define KEYS_ERROR "a line has \"path\" and one of \"value\" (a string) or \"value_hex\" (lower-case hex), nothing else"

int export_line_parse(const char *line, char **ret_path, uint8_t **ret_value, size_t *ret_len,
                      const char **error) {
        size_t len = strlen(line);
        if (len > INT_MAX) {
                *error = "line too long";
                return -EINVAL;
        }
        struct json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        size_t end = json_tokener_get_parse_end(tok);
        bool whole = o && json_tokener_get_error(tok) == json_tokener_success && line[end + strspn(line + end, " \t\r")] == 0;
        json_tokener_free(tok);
        if (!whole || !json_object_is_type(o, json_type_object)) {
                *error = "not one JSON object (in UTF-8) on the line";
                return -EINVAL;
        }

        json_object *p;
        if (!json_object_object_get_ex(o, "path", &p) || !json_object_is_type(p, json_type_string)) {
                *error = "no \"path\" string";
                return -EINVAL;
        }
        if (json_object_object_length(o) != 2) {
                *error = KEYS_ERROR;
                return -EINVAL;
        }
        const char *path = json_object_get_string(p);
        size_t path_len = (size_t) json_object_get_string_len(p);
        struct path parsed;
        if (strlen(path) != path_len || path_parse(path, path_len, SIZE_MAX, false, 0, &parsed) != 0 ||
            parsed.len == 0) {
                *error = "\"path\" is not an absolute path below the root (no empty, \".\" or \"..\" components, no trailing '/')";
                return -EINVAL;
        }
        _cleanup_free_ uint8_t *value = NULL;
        size_t value_len;
        int r = show_bytes_from_json(o, "value", &value, &value_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *error = KEYS_ERROR;
                return -EINVAL;
        }
        char *path_copy = strdup(path);
        if (!path_copy)
                return -ENOMEM;
        *ret_path = path_copy;
        *ret_value = TAKE_PTR(value);
        *ret_len = value_len;
        return 0;
}

static int child_path(const char *parent, const char *name, char **ret) {
        return asprintf(ret, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, name) < 0 ? -ENOMEM : 0;
}

/* Paths still to visit, popped from the end: children are pushed in reverse name order so that
 * the walk is pre-order with siblings in name order. */
struct walk {
        char **paths;
        size_t n, cap;
};

static void walk_done(struct walk *w) {
        while (w->n > 0)
                free(w->paths[--w->n]);
        free(w->paths);
}

static int walk_push(struct walk *w, char *path) {
        if (vs_array_grow((void **) &w->paths, &w->cap, w->n + 1, sizeof *w->paths) < 0) {
                free(path);
                return -ENOMEM;
        }
        w->paths[w->n++] = path;
        return 0;
}

/* Pushes path's children; a node deleted meanwhile has none. -1 to go on, or an exit status. */
static int push_children(struct ctl *x, struct walk *w, const char *path) {
        vs_op *op;
        if (vs_op_list(&op, path, 0) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        int e = vs_call(x->client, op, &res);
        if (e == VS_ERR_NO_NODE)
                return -1;
        if (e != 0)
                return ctl_report(x, res, e, path);
        for (size_t i = vs_result_children(res); i > 0; i--) {
                char *child;
                if (child_path(path, vs_result_child_name(res, i - 1), &child) < 0 || walk_push(w, child) < 0)
                        return CTL_EXIT_LOCAL;
        }
        return -1;
}

/* Prints path's line; *ret_children tells whether it has children to visit. A node deleted
 * meanwhile is skipped, unless it is the top of the export. */
static int export_one(struct ctl *x, const char *path, bool top, bool *ret_children) {
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        *ret_children = false;
        int e = vs_get(x->client, path, &res);
        if (e == VS_ERR_NO_NODE && !top)
                return -1;
        if (e != 0)
                return ctl_report(x, res, e, path);
        size_t len;
        const void *value = vs_result_value(res, &len);
        struct vs_stat st;
        _cleanup_(json_object_putp) json_object *o = export_line_json(path, value, len);
        if (!o || vs_result_stat(res, &st) < 0)
                return CTL_EXIT_LOCAL;
        show_json(stdout, o, false);
        *ret_children = st.num_children > 0;
        return -1;
}

int vs_verb_export(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = ctl_parse(&x, argc, argv, 0, 0, 1, "[OPTIONS...] [PATH] > FILE");
        if (r >= 0)
                return r;
        if (x.json)
                return ctl_usage_error(&x, "the output is JSON lines already; --json is not for export");
        if ((r = ctl_connect(&x)) >= 0)
                return r;
        const char *top = x.n_args > 0 ? x.args[0] : "/";
        _cleanup_(walk_done) struct walk w = {};
        char *top_copy = strdup(top);
        if (!top_copy || walk_push(&w, top_copy) < 0)
                return CTL_EXIT_LOCAL;
        while (w.n > 0) {
                _cleanup_free_ char *path = w.paths[--w.n];
                bool children = true;
                /* The root has no line of its own; every other node is printed before its children. */
                if (strcmp(path, "/") != 0 && (r = export_one(&x, path, path == top_copy, &children)) >= 0)
                        return r;
                if (children && (r = push_children(&x, &w, path)) >= 0)
                        return r;
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_LOCAL;
}

struct node_line {
        char *path;
        uint8_t *value;
        size_t len;
        unsigned line;
};

struct import {
        struct node_line *nodes;
        size_t n, cap;
};

static void import_done(struct import *im) {
        for (size_t i = 0; i < im->n; i++) {
                free(im->nodes[i].path);
                free(im->nodes[i].value);
        }
        free(im->nodes);
}

/* Reads and checks every line of stdin. -1 to go on, or an exit status. */
static int import_read(struct ctl *x, struct import *im) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned no = 0;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
                no++;
                if (n > 0 && line[n - 1] == '\n')
                        line[--n] = 0;
                if (line[strspn(line, " \t\r")] == 0)
                        continue;
                if ((size_t) n != strlen(line)) {
                        fprintf(stderr, "viewstampctl import: standard input line %u: a NUL byte\n", no);
                        return CTL_EXIT_USAGE;
                }
                if (vs_array_grow((void **) &im->nodes, &im->cap, im->n + 1, sizeof *im->nodes) < 0)
                        return CTL_EXIT_LOCAL;
                struct node_line *l = &im->nodes[im->n];
                const char *error = NULL;
                int r = export_line_parse(line, &l->path, &l->value, &l->len, &error);
                if (r == -EINVAL) {
                        fprintf(stderr, "viewstampctl import: standard input line %u: %s\n", no, error);
                        return CTL_EXIT_USAGE;
                }
                if (r < 0)
                        return CTL_EXIT_LOCAL;
                l->line = no;
                im->n++;
        }
        if (ferror(stdin)) {
                fprintf(stderr, "viewstampctl import: cannot read standard input\n");
                return CTL_EXIT_LOCAL;
        }
        if (im->n == 0)
                return ctl_usage_error(x, "no nodes on standard input");
        return -1;
}

int vs_verb_import(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = ctl_parse(&x, argc, argv, 0, 0, 0, "[OPTIONS...] < FILE");
        if (r >= 0)
                return r;
        _cleanup_(import_done) struct import im = {};
        if ((r = import_read(&x, &im)) >= 0)
                return r;
        if ((r = ctl_connect(&x)) >= 0)
                return r;
        for (size_t i = 0; i < im.n; i++) {
                const struct node_line *l = &im.nodes[i];
                _cleanup_(vs_result_freep) vs_result *res = NULL;
                int e = vs_create(x.client, l->path, l->value, l->len, 0, &res);
                if (e != 0) {
                        fprintf(stderr, "viewstampctl import: stopped at standard input line %u, after creating %zu nodes\n",
                                l->line, i);
                        return ctl_report(&x, res, e, l->path);
                }
        }
        if (x.json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, "created", json_object_new_uint64(im.n));
                show_json(stdout, o, false);
        } else
                printf("%zu nodes created\n", im.n);
        return CTL_EXIT_OK;
}
