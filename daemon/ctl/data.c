/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The data commands. Output goes to stdout (values raw, so "get" can feed a pipe); errors to
 * stderr as "viewstampctl: COMMAND PATH: message", and with --json also as a JSON error object on
 * stdout, so a script always gets one document.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/data.h"
#include "ctl/multi-input.h"
#include "ctl/show.h"
#include "util/cleanup.h"

#define DEFAULT_NODE "127.0.0.1:7501"
#define DEFAULT_TIMEOUT_USEC (10u * 1000u * 1000u)

/* Which command-specific flags a command takes. */
enum {
        TAKES_SEQUENTIAL = 1 << 0,
        TAKES_RECURSIVE = 1 << 1,
        TAKES_VERSION = 1 << 2,
        TAKES_STAT = 1 << 3,
};

struct ctl {
        const char *command;
        const char *tenant;
        const char **nodes;
        size_t n_nodes;
        bool json;
        uint64_t timeout_usec;
        bool sequential, recursive, stat;
        uint64_t version;
        char **args;
        int n_args;
        vs_client *client;
};

static void ctl_done(struct ctl *x) {
        free(x->nodes);
        vs_client_free(x->client);
}

static int usage_error(const struct ctl *x, const char *what) {
        fprintf(stderr, "viewstampctl %s: %s (see viewstampctl --help)\n", x->command, what);
        return CTL_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *ret) {
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_timeout(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        double sec = strtod(s, &end);
        if (errno || *end || !(sec > 0) || sec > 86400.0 * 365)
                return -EINVAL;
        *ret = (uint64_t) (sec * 1e6);
        return *ret > 0 ? 0 : -EINVAL;
}

static void help(const char *command, const char *synopsis) {
        printf("viewstampctl %s %s\n\n"
               "  -t --tenant=NAME      tenant to address (default: $VIEWSTAMP_TENANT)\n"
               "  -n --node=ADDRESS     a node's client address, repeatable (default " DEFAULT_NODE ")\n"
               "  -j --json             print JSON\n"
               "  -T --timeout=SECONDS  give up after this long (default 10)\n",
               command, synopsis);
}

/* Returns -1 to go on, or an exit status. */
static int parse(struct ctl *x, int argc, char **argv, unsigned takes, int min_args, int max_args,
                 const char *synopsis) {
        enum { OPT_SEQUENTIAL = 0x100, OPT_RECURSIVE, OPT_VERSION, OPT_STAT };
        static const struct option options[] = {
                { "tenant", required_argument, NULL, 't' },
                { "node", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                { "sequential", no_argument, NULL, OPT_SEQUENTIAL },
                { "recursive", no_argument, NULL, OPT_RECURSIVE },
                { "version", required_argument, NULL, OPT_VERSION },
                { "stat", no_argument, NULL, OPT_STAT },
                {}
        };
        *x = (struct ctl) {
                .command = argv[0],
                .tenant = getenv("VIEWSTAMP_TENANT"),
                .timeout_usec = DEFAULT_TIMEOUT_USEC,
                .version = VS_VERSION_ANY,
        };

        optind = 0; /* GNU getopt: rescan from scratch, argv is new */
        opterr = 0;
        int c;
        /* Options may come anywhere; an operand starting with '-' goes after "--". */
        while ((c = getopt_long(argc, argv, ":t:n:jT:h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        x->tenant = optarg;
                        break;
                case 'n': {
                        const char **v = reallocarray(x->nodes, x->n_nodes + 1, sizeof *v);
                        if (!v)
                                return CTL_EXIT_LOCAL;
                        v[x->n_nodes++] = optarg;
                        x->nodes = v;
                        break;
                }
                case 'j':
                        x->json = true;
                        break;
                case 'T':
                        if (parse_timeout(optarg, &x->timeout_usec) < 0)
                                return usage_error(x, "--timeout needs a positive number of seconds");
                        break;
                case 'h':
                        help(x->command, synopsis);
                        return CTL_EXIT_OK;
                case OPT_SEQUENTIAL:
                case OPT_RECURSIVE:
                case OPT_VERSION:
                case OPT_STAT: {
                        static const unsigned needs[] = { TAKES_SEQUENTIAL, TAKES_RECURSIVE, TAKES_VERSION, TAKES_STAT };
                        if (!(takes & needs[c - OPT_SEQUENTIAL]))
                                return usage_error(x, "option not valid for this command");
                        if (c == OPT_SEQUENTIAL)
                                x->sequential = true;
                        else if (c == OPT_RECURSIVE)
                                x->recursive = true;
                        else if (c == OPT_STAT)
                                x->stat = true;
                        else if (parse_u64(optarg, &x->version) < 0 || x->version == VS_VERSION_ANY)
                                return usage_error(x, "--version needs a version number");
                        break;
                }
                case ':':
                        return usage_error(x, "option needs an argument");
                default:
                        return usage_error(x, "unknown option");
                }
        }
        x->args = argv + optind;
        x->n_args = argc - optind;
        if (x->n_args < min_args || x->n_args > max_args)
                return usage_error(x, x->n_args < min_args ? "missing argument" : "too many arguments");
        if (!x->tenant || !*x->tenant)
                return usage_error(x, "no tenant given (--tenant or $VIEWSTAMP_TENANT)");
        return -1;
}

static int connect_client(struct ctl *x) {
        int r = vs_client_new(&x->client, x->tenant);
        if (r < 0)
                return CTL_EXIT_LOCAL;
        if (x->n_nodes == 0 && vs_client_add_node(x->client, DEFAULT_NODE) < 0)
                return CTL_EXIT_LOCAL;
        for (size_t i = 0; i < x->n_nodes; i++)
                if (vs_client_add_node(x->client, x->nodes[i]) < 0) {
                        fprintf(stderr, "viewstampctl %s: invalid node address '%s' (expected IP:PORT or [IPV6]:PORT)\n",
                                x->command, x->nodes[i]);
                        return CTL_EXIT_USAGE;
                }
        (void) vs_client_set_timeout(x->client, x->timeout_usec);
        /* One request per command: one session is all it needs. */
        (void) vs_client_set_max_sessions(x->client, 1);
        return -1;
}

static int exit_for(int error) {
        if (error == 0)
                return CTL_EXIT_OK;
        if (error > 0)
                return CTL_EXIT_REFUSED;
        return error == -ENOMEM ? CTL_EXIT_LOCAL : CTL_EXIT_UNAVAILABLE;
}

/* Reports a failed request and returns the exit status for it. */
static int report(const struct ctl *x, const vs_result *res, int error, const char *path) {
        const char *detail = res ? vs_result_message(res) : NULL;
        fprintf(stderr, "viewstampctl %s %s: %s%s%s\n", x->command, path ? path : "", vs_strerror(error),
                detail ? ": " : "", detail ? detail : "");
        if (x->json) {
                _cleanup_(json_object_putp) json_object *o = show_error_json(error, detail);
                if (o)
                        show_json(stdout, o, false);
        }
        return exit_for(error);
}

/* Runs op; on failure reports it. Returns -1 with *ret set on success, else an exit status. */
static int run(struct ctl *x, vs_op *op, const char *path, vs_result **ret) {
        int r = connect_client(x);
        if (r >= 0) {
                vs_op_free(op);
                return r;
        }
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        int e = vs_call(x->client, op, &res);
        if (e != 0)
                return report(x, res, e, path);
        *ret = TAKE_PTR(res);
        return -1;
}

static int print_stat_json(const char *path, const vs_result *res) {
        struct vs_stat st;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        if (!o)
                return CTL_EXIT_LOCAL;
        json_object_object_add(o, "path", json_object_new_string(path));
        if (vs_result_stat(res, &st) == 0)
                json_object_object_add(o, "stat", show_stat_json(&st));
        show_json(stdout, o, false);
        return CTL_EXIT_OK;
}

int vs_verb_get(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, 0, 1, 1, "[OPTIONS...] PATH");
        if (r >= 0)
                return r;
        const char *path = x.args[0];
        vs_op *op;
        if (vs_op_get(&op, path) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        if ((r = run(&x, op, path, &res)) >= 0)
                return r;

        size_t len;
        const char *v = vs_result_value(res, &len);
        if (x.json) {
                struct vs_stat st;
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o || show_bytes_json(o, "value", v, len) < 0)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, "path", json_object_new_string(path));
                if (vs_result_stat(res, &st) == 0)
                        json_object_object_add(o, "stat", show_stat_json(&st));
                show_json(stdout, o, false);
                return CTL_EXIT_OK;
        }
        fwrite(v, 1, len, stdout);
        /* Raw bytes for pipes; a terminal gets its line finished. */
        if (isatty(STDOUT_FILENO) && len > 0 && v[len - 1] != '\n')
                putchar('\n');
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_LOCAL;
}

static int read_stdin(char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (cap - len < 65536) {
                        cap = cap ? cap * 2 : 65536;
                        char *b = realloc(buf, cap);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                size_t k = fread(buf + len, 1, cap - len, stdin);
                len += k;
                if (k == 0)
                        break;
        }
        if (ferror(stdin))
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* set and cas: the value is an argument, or stdin for "-". */
static int do_set(struct ctl *x, const char *path, const char *value_arg) {
        _cleanup_free_ char *input = NULL;
        const char *value = value_arg;
        size_t len = strlen(value_arg);
        if (strcmp(value_arg, "-") == 0) {
                if (read_stdin(&input, &len) < 0) {
                        fprintf(stderr, "viewstampctl %s: cannot read the value from standard input\n", x->command);
                        return CTL_EXIT_LOCAL;
                }
                value = input;
        }
        vs_op *op;
        if (vs_op_set(&op, path, value, len, x->version) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        int r = run(x, op, path, &res);
        if (r >= 0)
                return r;
        return x->json ? print_stat_json(path, res) : CTL_EXIT_OK;
}

int vs_verb_set(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, TAKES_VERSION, 2, 2, "[OPTIONS...] [--version=N] PATH VALUE|-");
        return r >= 0 ? r : do_set(&x, x.args[0], x.args[1]);
}

int vs_verb_cas(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, 0, 3, 3, "[OPTIONS...] PATH VERSION VALUE|-");
        if (r >= 0)
                return r;
        if (parse_u64(x.args[1], &x.version) < 0 || x.version == VS_VERSION_ANY)
                return usage_error(&x, "VERSION must be a version number");
        return do_set(&x, x.args[0], x.args[2]);
}

int vs_verb_create(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, TAKES_SEQUENTIAL, 1, 2, "[OPTIONS...] [--sequential] PATH [VALUE|-]");
        if (r >= 0)
                return r;
        const char *path = x.args[0];
        _cleanup_free_ char *input = NULL;
        const char *value = x.n_args > 1 ? x.args[1] : "";
        size_t len = strlen(value);
        if (strcmp(value, "-") == 0) {
                if (read_stdin(&input, &len) < 0)
                        return CTL_EXIT_LOCAL;
                value = input;
        }
        vs_op *op;
        if (vs_op_create(&op, path, value, len, x.sequential ? VS_CREATE_SEQUENTIAL : 0) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        if ((r = run(&x, op, path, &res)) >= 0)
                return r;
        const char *made = vs_result_path(res) ? vs_result_path(res) : path;
        if (x.json)
                return print_stat_json(made, res);
        printf("%s\n", made);
        return CTL_EXIT_OK;
}

int vs_verb_delete(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, TAKES_RECURSIVE | TAKES_VERSION, 1, 1,
                      "[OPTIONS...] [--recursive] [--version=N] PATH");
        if (r >= 0)
                return r;
        const char *path = x.args[0];
        vs_op *op;
        if (vs_op_delete(&op, path, x.version, x.recursive ? VS_DELETE_RECURSIVE : 0) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        if ((r = run(&x, op, path, &res)) >= 0)
                return r;
        if (x.json)
                return print_stat_json(path, res);
        return CTL_EXIT_OK;
}

int vs_verb_ls(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, TAKES_STAT, 1, 1, "[OPTIONS...] [--stat] PATH");
        if (r >= 0)
                return r;
        const char *path = x.args[0];
        vs_op *op;
        if (vs_op_list(&op, path, x.stat ? VS_LIST_STAT : 0) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        if ((r = run(&x, op, path, &res)) >= 0)
                return r;
        if (x.json) {
                _cleanup_(json_object_putp) json_object *o = show_list_json(path, res, x.stat);
                if (!o)
                        return CTL_EXIT_LOCAL;
                show_json(stdout, o, false);
        } else
                show_list_human(stdout, res, x.stat);
        return CTL_EXIT_OK;
}

int vs_verb_stat(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, 0, 1, 1, "[OPTIONS...] PATH");
        if (r >= 0)
                return r;
        const char *path = x.args[0];
        vs_op *op;
        if (vs_op_exists(&op, path) < 0)
                return CTL_EXIT_LOCAL;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        if ((r = run(&x, op, path, &res)) >= 0)
                return r;
        if (x.json)
                return print_stat_json(path, res);
        struct vs_stat st = {};
        (void) vs_result_stat(res, &st);
        show_stat_human(stdout, path, &st);
        return CTL_EXIT_OK;
}

static int print_multi(const struct ctl *x, const vs_result *res) {
        size_t n = vs_result_op_results(res);
        if (!x->json) {
                for (size_t i = 0; i < n; i++) {
                        const char *p = vs_result_op_path(res, i);
                        if (p)
                                printf("%s\n", p);
                }
                return CTL_EXIT_OK;
        }
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *a = json_object_new_array();
        if (!o || !a) {
                json_object_put(a);
                return CTL_EXIT_LOCAL;
        }
        json_object_object_add(o, "results", a);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_new_object();
                if (!e)
                        return CTL_EXIT_LOCAL;
                const char *p = vs_result_op_path(res, i);
                struct vs_stat st;
                if (p)
                        json_object_object_add(e, "path", json_object_new_string(p));
                if (vs_result_op_stat(res, i, &st) == 0)
                        json_object_object_add(e, "stat", show_stat_json(&st));
                json_object_array_add(a, e);
        }
        show_json(stdout, o, false);
        return CTL_EXIT_OK;
}

int vs_verb_multi(int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = parse(&x, argc, argv, 0, 0, 0, "[OPTIONS...] < OPS");
        if (r >= 0)
                return r;
        _cleanup_(vs_op_freep) vs_op *op = NULL;
        if (vs_op_multi(&op) < 0)
                return CTL_EXIT_LOCAL;
        unsigned line;
        const char *error = NULL;
        r = multi_read(stdin, op, &line, &error);
        if (r == -EINVAL) {
                fprintf(stderr, "viewstampctl multi: standard input line %u: %s\n", line, error);
                return CTL_EXIT_USAGE;
        }
        if (r < 0)
                return CTL_EXIT_LOCAL;
        if (vs_op_multi_count(op) == 0)
                return usage_error(&x, "no ops on standard input");

        if ((r = connect_client(&x)) >= 0)
                return r;
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        int e = vs_call(x.client, TAKE_PTR(op), &res);
        if (e > 0) {
                char where[32];
                snprintf(where, sizeof where, "(op %zu)", vs_result_failed_op(res) + 1);
                return report(&x, res, e, where);
        }
        if (e < 0)
                return report(&x, res, e, NULL);
        return print_multi(&x, res);
}
