/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/multi-input.h"
#include "util/cleanup.h"

static char *next_word(char **p) {
        *p += strspn(*p, " \t");
        if (**p == 0)
                return NULL;
        char *w = *p;
        *p += strcspn(*p, " \t");
        if (**p) {
                **p = 0;
                (*p)++;
        }
        return w;
}

static int parse_version(const char *s, uint64_t *ret) {
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v == VS_VERSION_ANY)
                return -EINVAL;
        *ret = v;
        return 0;
}

int multi_parse_line(vs_op *multi, char *line, const char **error) {
        char *p = line;
        char *verb = next_word(&p);
        if (!verb || verb[0] == '#')
                return 0;

        bool sequential = false, recursive = false;
        uint64_t version = VS_VERSION_ANY;
        char *path;
        for (;;) {
                path = next_word(&p);
                if (!path) {
                        *error = "missing path";
                        return -EINVAL;
                }
                if (path[0] != '-') {
                        break;
                }
                if (strcmp(path, "-s") == 0)
                        sequential = true;
                else if (strcmp(path, "-r") == 0)
                        recursive = true;
                else if (strcmp(path, "-v") == 0) {
                        if (parse_version(next_word(&p), &version) < 0) {
                                *error = "-v needs a version number";
                                return -EINVAL;
                        }
                } else {
                        *error = "unknown flag";
                        return -EINVAL;
                }
        }
        /* The value is the rest of the line after one blank. */
        const char *value = p;
        size_t len = strlen(value);
        bool has_value = len > 0;

        int r;
        if (strcmp(verb, "create") == 0 && !recursive && version == VS_VERSION_ANY)
                r = vs_op_multi_create(multi, path, value, len, sequential ? VS_CREATE_SEQUENTIAL : 0);
        else if (strcmp(verb, "set") == 0 && !recursive && !sequential)
                r = vs_op_multi_set(multi, path, value, len, version);
        else if (strcmp(verb, "delete") == 0 && !sequential && !has_value)
                r = vs_op_multi_delete(multi, path, version, recursive ? VS_DELETE_RECURSIVE : 0);
        else if (strcmp(verb, "check") == 0 && !sequential && !recursive && !has_value)
                r = vs_op_multi_check(multi, path, version);
        else {
                *error = "unknown op, or a flag or value it does not take";
                return -EINVAL;
        }
        return r < 0 ? r : 1;
}

int multi_read(FILE *in, vs_op *multi, unsigned *line_no, const char **error) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        *line_no = 0;
        while ((n = getline(&line, &cap, in)) >= 0) {
                ++*line_no;
                if (n > 0 && line[n - 1] == '\n')
                        line[--n] = 0;
                int r = multi_parse_line(multi, line, error);
                if (r < 0)
                        return r;
        }
        return ferror(in) ? -EIO : 0;
}
