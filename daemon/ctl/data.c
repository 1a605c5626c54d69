/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The data commands, over libviewstamp: get, set, cas, create, delete, ls, stat and multi (rows
 * of viewstampctl's table, declared in verb.h). Each takes the arguments from its own name on,
 * accepts the common options anywhere among them (--tenant, --node, --token, --token-file, --json,
 * --timeout, --help)
 * and returns one of verb.h's exit statuses. Output goes to stdout (values raw, so "get" can
 * feed a pipe); errors to stderr as "viewstampctl COMMAND PATH: message", and with --json also as
 * a JSON error object on stdout, so a script always gets one document.
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
#include "ctl/verb.h"
#include "ctl/multi-input.h"
#include "ctl/show.h"
#include "ctl/token.h"
#include "util/cleanup.h"

#define DEFAULT_NODE "127.0.0.1:7501"
#define DEFAULT_TIMEOUT_USEC (10u * 1000u * 1000u)

void ctl_done(struct ctl *x) {
        free(x->nodes);
        free(x->input);
        if (x->token_read)
                explicit_bzero(x->token_read, strlen(x->token_read));
        free(x->token_read);
        vs_client_free(x->client);
}

int ctl_usage_error(const struct ctl *x, const char *what) {
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
               "     --token=TOKEN      the tenant's access token (default: $VIEWSTAMP_TOKEN)\n"
               "     --token-file=FILE  read the access token from FILE's first line\n"
               "  -j --json             print JSON\n"
               "  -T --timeout=SECONDS  give up after this long (default 10)\n"
               "     --tls-ca=FILE      connect with TLS, trusting the CA certificates in FILE\n"
               "     --tls-server-name=NAME  the name nodes' certificates carry (default: their IP)\n",
               command, synopsis);
}

int ctl_parse(struct ctl *x, int argc, char **argv, unsigned takes, int min_args, int max_args,
              const char *synopsis) {
        enum { OPT_SEQUENTIAL = 0x100, OPT_RECURSIVE, OPT_VERSION, OPT_STAT, OPT_TOKEN, OPT_TOKEN_FILE, OPT_TLS_CA,
               OPT_TLS_SERVER_NAME };
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
                { "token", required_argument, NULL, OPT_TOKEN },
                { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
                { "tls-ca", required_argument, NULL, OPT_TLS_CA },
                { "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
                {}
        };
        *x = (struct ctl) {
                .command = argv[0],
                .tenant = getenv("VIEWSTAMP_TENANT"),
                .token = getenv("VIEWSTAMP_TOKEN"),
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
                                return ctl_usage_error(x, "--timeout needs a positive number of seconds");
                        break;
                case 'h':
                        help(x->command, synopsis);
                        return CTL_EXIT_OK;
                case OPT_TLS_CA:
                        x->tls_ca = optarg;
                        break;
                case OPT_TLS_SERVER_NAME:
                        x->tls_server_name = optarg;
                        break;
                case OPT_SEQUENTIAL:
                case OPT_RECURSIVE:
                case OPT_VERSION:
                case OPT_STAT: {
                        static const unsigned needs[] = { TAKES_SEQUENTIAL, TAKES_RECURSIVE, TAKES_VERSION, TAKES_STAT };
                        if (!(takes & needs[c - OPT_SEQUENTIAL]))
                                return ctl_usage_error(x, "option not valid for this command");
                        if (c == OPT_SEQUENTIAL)
                                x->sequential = true;
                        else if (c == OPT_RECURSIVE)
                                x->recursive = true;
                        else if (c == OPT_STAT)
                                x->stat = true;
                        else if (parse_u64(optarg, &x->version) < 0 || x->version == VS_VERSION_ANY)
                                return ctl_usage_error(x, "--version needs a version number");
                        break;
                }
                case OPT_TOKEN:
                        x->token = optarg;
                        break;
                case OPT_TOKEN_FILE: {
                        free(x->token_read);
                        x->token_read = NULL;
                        int r = ctl_token_read_file(optarg, &x->token_read);
                        if (r < 0) {
                                fprintf(stderr, "viewstampctl %s: cannot read a token from %s: %s\n", x->command, optarg,
                                        r == -EMSGSIZE ? "longer than a token may be" : strerror(-r));
                                return r == -ENOMEM ? CTL_EXIT_LOCAL : CTL_EXIT_USAGE;
                        }
                        break;
                }
                case ':':
                        return ctl_usage_error(x, "option needs an argument");
                default:
                        return ctl_usage_error(x, "unknown option");
                }
        }
        x->args = argv + optind;
        x->n_args = argc - optind;
        if (x->n_args < min_args || x->n_args > max_args)
                return ctl_usage_error(x, x->n_args < min_args ? "missing argument" : "too many arguments");
        if (!x->tenant || !*x->tenant)
                return ctl_usage_error(x, "no tenant given (--tenant or $VIEWSTAMP_TENANT)");
        if (x->token_read)
                x->token = x->token_read;
        if (x->token && strlen(x->token) > VS_TOKEN_MAX)
                return ctl_usage_error(x, "the access token is longer than a token may be");
        if (x->tls_server_name && !x->tls_ca)
                return ctl_usage_error(x, "--tls-server-name needs --tls-ca");
        return -1;
}

int ctl_connect(struct ctl *x) {
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
        if (x->tls_ca && vs_client_set_tls(x->client, x->tls_ca, x->tls_server_name) < 0) {
                fprintf(stderr, "viewstampctl %s: cannot use %s as the TLS CA file (PEM certificates)\n", x->command,
                        x->tls_ca);
                return CTL_EXIT_LOCAL;
        }
        if (x->token && *x->token && vs_client_set_token(x->client, x->token, strlen(x->token)) < 0)
                return CTL_EXIT_LOCAL;
        (void) vs_client_set_timeout(x->client, x->timeout_usec);
        /* One request per command: one session is all it needs. Nothing listening anywhere is
         * said at once rather than after the whole timeout. */
        (void) vs_client_set_max_sessions(x->client, 1);
        (void) vs_client_set_connect_rounds(x->client, 3);
        return -1;
}

static int exit_for(int error) {
        if (error == 0)
                return CTL_EXIT_OK;
        if (error > 0 || error == -EUSERS)
                return CTL_EXIT_REFUSED;
        if (error == -EACCES)
                return CTL_EXIT_DENIED;
        return error == -ENOMEM ? CTL_EXIT_LOCAL : CTL_EXIT_UNAVAILABLE;
}

int ctl_report(const struct ctl *x, const vs_result *res, int error, const char *where) {
        const char *detail = res ? vs_result_message(res) : NULL;
        fprintf(stderr, "viewstampctl %s%s%s: %s%s%s\n", x->command, *where ? " " : "", where,
                vs_strerror(error), detail ? ": " : "", detail ? detail : "");
        if (x->json) {
                _cleanup_(json_object_putp) json_object *o = show_error_json(error, detail);
                if (o)
                        show_json(stdout, o, false);
        }
        return exit_for(error);
}

/* A data command: how its arguments are checked, the request they make, how a success prints. */
struct data_verb {
        unsigned takes;
        int min_args, max_args;
        const char *synopsis;
        /* Returns -1 with *ret set, or an exit status. */
        int (*make)(struct ctl *x, vs_op **ret);
        int (*print)(const struct ctl *x, const vs_result *res);
};

static int run_verb(const struct data_verb *v, int argc, char **argv) {
        _cleanup_(ctl_done) struct ctl x = {};
        int r = ctl_parse(&x, argc, argv, v->takes, v->min_args, v->max_args, v->synopsis);
        if (r >= 0)
                return r;
        vs_op *op = NULL;
        if ((r = v->make(&x, &op)) >= 0)
                return r;
        if ((r = ctl_connect(&x)) >= 0) {
                vs_op_free(op);
                return r;
        }
        _cleanup_(vs_result_freep) vs_result *res = NULL;
        int e = vs_call(x.client, op, &res);
        if (e == 0)
                return v->print(&x, res);
        char where[32] = "";
        if (x.n_args > 0)
                snprintf(where, sizeof where, "%s", x.args[0]);
        else if (e > 0) /* multi: which op */
                snprintf(where, sizeof where, "(op %zu)", vs_result_failed_op(res) + 1);
        return ctl_report(&x, res, e, where);
}

static const char *path_arg(const struct ctl *x) {
        return x->args[0];
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

/* set, cas, delete: quiet on success, the node's stat with --json. */
static int print_quiet(const struct ctl *x, const vs_result *res) {
        return x->json ? print_stat_json(path_arg(x), res) : CTL_EXIT_OK;
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

/* A VALUE argument: itself, or standard input for "-". -1 to go on, or an exit status. */
static int value_arg(struct ctl *x, const char *arg, const char **ret, size_t *ret_len) {
        if (strcmp(arg, "-") != 0) {
                *ret = arg;
                *ret_len = strlen(arg);
                return -1;
        }
        if (read_stdin(&x->input, ret_len) < 0) {
                fprintf(stderr, "viewstampctl %s: cannot read the value from standard input\n", x->command);
                return CTL_EXIT_LOCAL;
        }
        *ret = x->input;
        return -1;
}

static int make_get(struct ctl *x, vs_op **ret) {
        return vs_op_get(ret, path_arg(x)) < 0 ? CTL_EXIT_LOCAL : -1;
}

static int print_get(const struct ctl *x, const vs_result *res) {
        size_t len;
        const char *v = vs_result_value(res, &len);
        if (x->json) {
                struct vs_stat st;
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o || show_bytes_json(o, "value", v, len) < 0)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, "path", json_object_new_string(path_arg(x)));
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

/* set and cas: the value is the last argument; x->version is set (or VS_VERSION_ANY). */
static int make_set(struct ctl *x, vs_op **ret) {
        const char *value;
        size_t len;
        int r = value_arg(x, x->args[x->n_args - 1], &value, &len);
        if (r >= 0)
                return r;
        return vs_op_set(ret, path_arg(x), value, len, x->version) < 0 ? CTL_EXIT_LOCAL : -1;
}

static int make_cas(struct ctl *x, vs_op **ret) {
        if (parse_u64(x->args[1], &x->version) < 0 || x->version == VS_VERSION_ANY)
                return ctl_usage_error(x, "VERSION must be a version number");
        return make_set(x, ret);
}

static int make_create(struct ctl *x, vs_op **ret) {
        const char *value = "";
        size_t len = 0;
        int r = x->n_args > 1 ? value_arg(x, x->args[1], &value, &len) : -1;
        if (r >= 0)
                return r;
        return vs_op_create(ret, path_arg(x), value, len, x->sequential ? VS_CREATE_SEQUENTIAL : 0) < 0
                       ? CTL_EXIT_LOCAL
                       : -1;
}

static int print_create(const struct ctl *x, const vs_result *res) {
        const char *made = vs_result_path(res) ? vs_result_path(res) : path_arg(x);
        if (x->json)
                return print_stat_json(made, res);
        printf("%s\n", made);
        return CTL_EXIT_OK;
}

static int make_delete(struct ctl *x, vs_op **ret) {
        return vs_op_delete(ret, path_arg(x), x->version, x->recursive ? VS_DELETE_RECURSIVE : 0) < 0
                       ? CTL_EXIT_LOCAL
                       : -1;
}

static int make_ls(struct ctl *x, vs_op **ret) {
        return vs_op_list(ret, path_arg(x), x->stat ? VS_LIST_STAT : 0) < 0 ? CTL_EXIT_LOCAL : -1;
}

static int print_ls(const struct ctl *x, const vs_result *res) {
        if (!x->json) {
                show_list_human(stdout, res, x->stat);
                return CTL_EXIT_OK;
        }
        _cleanup_(json_object_putp) json_object *o = show_list_json(path_arg(x), res, x->stat);
        if (!o)
                return CTL_EXIT_LOCAL;
        show_json(stdout, o, false);
        return CTL_EXIT_OK;
}

static int make_stat(struct ctl *x, vs_op **ret) {
        return vs_op_exists(ret, path_arg(x)) < 0 ? CTL_EXIT_LOCAL : -1;
}

static int print_stat(const struct ctl *x, const vs_result *res) {
        if (x->json)
                return print_stat_json(path_arg(x), res);
        struct vs_stat st = {};
        (void) vs_result_stat(res, &st);
        show_stat_human(stdout, path_arg(x), &st);
        return CTL_EXIT_OK;
}

static int make_multi(struct ctl *x, vs_op **ret) {
        _cleanup_(vs_op_freep) vs_op *op = NULL;
        if (vs_op_multi(&op) < 0)
                return CTL_EXIT_LOCAL;
        unsigned line;
        const char *error = NULL;
        int r = multi_read(stdin, op, &line, &error);
        if (r == -EINVAL) {
                fprintf(stderr, "viewstampctl multi: standard input line %u: %s\n", line, error);
                return CTL_EXIT_USAGE;
        }
        if (r < 0)
                return CTL_EXIT_LOCAL;
        if (vs_op_multi_count(op) == 0)
                return ctl_usage_error(x, "no ops on standard input");
        *ret = TAKE_PTR(op);
        return -1;
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

static const struct data_verb verb_get = { 0, 1, 1, "[OPTIONS...] PATH", make_get, print_get };
static const struct data_verb verb_set = { TAKES_VERSION, 2, 2, "[OPTIONS...] [--version=N] PATH VALUE|-", make_set,
                                           print_quiet };
static const struct data_verb verb_cas = { 0, 3, 3, "[OPTIONS...] PATH VERSION VALUE|-", make_cas, print_quiet };
static const struct data_verb verb_create = { TAKES_SEQUENTIAL, 1, 2, "[OPTIONS...] [--sequential] PATH [VALUE|-]",
                                              make_create, print_create };
static const struct data_verb verb_delete = { TAKES_RECURSIVE | TAKES_VERSION, 1, 1,
                                              "[OPTIONS...] [--recursive] [--version=N] PATH", make_delete,
                                              print_quiet };
static const struct data_verb verb_ls = { TAKES_STAT, 1, 1, "[OPTIONS...] [--stat] PATH", make_ls, print_ls };
static const struct data_verb verb_stat = { 0, 1, 1, "[OPTIONS...] PATH", make_stat, print_stat };
static const struct data_verb verb_multi = { 0, 0, 0, "[OPTIONS...] < OPS", make_multi, print_multi };

int vs_verb_get(int argc, char **argv) {
        return run_verb(&verb_get, argc, argv);
}

int vs_verb_set(int argc, char **argv) {
        return run_verb(&verb_set, argc, argv);
}

int vs_verb_cas(int argc, char **argv) {
        return run_verb(&verb_cas, argc, argv);
}

int vs_verb_create(int argc, char **argv) {
        return run_verb(&verb_create, argc, argv);
}

int vs_verb_delete(int argc, char **argv) {
        return run_verb(&verb_delete, argc, argv);
}

int vs_verb_ls(int argc, char **argv) {
        return run_verb(&verb_ls, argc, argv);
}

int vs_verb_stat(int argc, char **argv) {
        return run_verb(&verb_stat, argc, argv);
}

int vs_verb_multi(int argc, char **argv) {
        return run_verb(&verb_multi, argc, argv);
}
