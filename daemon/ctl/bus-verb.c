/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The admin commands, over the node daemon's D-Bus API (org.viewstamp1(5)) on the system bus
 * ($DBUS_SYSTEM_BUS_ADDRESS overrides it): status, tenants, tenant create|delete|show|move|reconfigure|token, cluster
 * init|join|token and node ls|drain|remove. Each accepts --json and --help anywhere among its arguments and returns one of
 * verb.h's exit statuses. Errors go to stderr as "viewstampctl: <the daemon's message>", and with
 * --json also as {"error":{"name":...,"message":...}} on stdout, so a script always gets one
 * document. Tenant properties are read generically (ctl/bus-props.h), so the JSON keys are the
 * D-Bus property names in snake_case.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bus/manager.h"
#include "bus/node.h"
#include "bus/tenant.h"
#include "ctl/bus-props.h"
#include "ctl/polkit-agent.h"
#include "ctl/show.h"
#include "ctl/token.h"
#include "ctl/verb.h"
#include "util/cleanup.h"

struct admin {
        bool json;
        bool drain;
        bool no_ask_password;
        pid_t agent; /* polkit agent started for this command (polkit-agent.h), 0: none */
        uint32_t replicas; /* 0: not given */
        char **args;
        int n_args;
        sd_bus *bus;
};

/* Options beyond --json and --help a command takes. */
#define OPT_REPLICAS (1u << 0)
#define OPT_DRAIN (1u << 1)
/* Changes the cluster: the daemon may need polkit to authenticate the caller (--no-ask-password). */
#define OPT_AUTH (1u << 2)
/* How long a call may wait while polkit asks for a password. */
#define INTERACTIVE_CALL_USEC (5ULL * 60 * 1000 * 1000)

/* An admin command: its name for messages, how its arguments are checked, and what it does once
 * connected: returns an exit status, or a negative errno with the D-Bus error (if any) in error. */
struct admin_verb {
        const char *command;
        int min_args, max_args;
        const char *synopsis;
        int (*run)(const struct admin *a, sd_bus_error *error);
        unsigned options;
};

static void admin_done(struct admin *a) {
        sd_bus_flush_close_unref(a->bus);
        ctl_polkit_agent_close(&a->agent);
}

static int usage_error(const char *command, const char *what) {
        fprintf(stderr, "viewstampctl %s: %s (see viewstampctl %s --help)\n", command, what, command);
        return CTL_EXIT_USAGE;
}

/* Reports a failed call (error may be unset when the failure was local) and returns its exit
 * status: refusals by the daemon are CTL_EXIT_REFUSED, permission CTL_EXIT_DENIED, the rest
 * (no daemon on the bus, timeouts, disconnection) CTL_EXIT_UNAVAILABLE. */
static int report(const struct admin *a, int r, const sd_bus_error *error) {
        const char *message = sd_bus_error_is_set(error) && error->message ? error->message : strerror(-r);
        fprintf(stderr, "viewstampctl: %s\n", message);
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *e = json_object_new_object();
                if (o && e) {
                        json_object_object_add(e, "name", sd_bus_error_is_set(error) ? json_object_new_string(error->name) : NULL);
                        json_object_object_add(e, "message", json_object_new_string(message));
                        json_object_object_add(o, "error", e);
                        show_json(stdout, o, false);
                } else
                        json_object_put(e);
        }
        if (sd_bus_error_has_names(error, VS_BUS_ERROR_PREFIX "TenantExists", VS_BUS_ERROR_PREFIX "NoSuchTenant",
                                   SD_BUS_ERROR_INVALID_ARGS, VS_BUS_ERROR_PREFIX "AlreadyInCluster",
                                   VS_BUS_ERROR_PREFIX "NotInCluster", VS_BUS_ERROR_PREFIX "BadToken",
                                   VS_BUS_ERROR_PREFIX "JoinRefused", VS_BUS_ERROR_PREFIX "StaticCluster",
                                   VS_BUS_ERROR_PREFIX "NoSuchNode", VS_BUS_ERROR_PREFIX "NodeNotEmpty",
                                   VS_BUS_ERROR_PREFIX "NeedsReconfiguration", VS_BUS_ERROR_PREFIX "NotEnoughNodes",
                                   VS_BUS_ERROR_PREFIX "StateNotEmpty", VS_BUS_ERROR_PREFIX "TooManyTenants"))
                return CTL_EXIT_REFUSED;
        if (r == -EACCES || r == -EPERM)
                return CTL_EXIT_DENIED;
        if (r == -ENOMEM)
                return CTL_EXIT_LOCAL;
        return CTL_EXIT_UNAVAILABLE;
}

/* Returns -1 to go on (connected), or an exit status. */
static int admin_start(struct admin *a, const struct admin_verb *v, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "replicas", required_argument, NULL, 'r' },
                { "drain", no_argument, NULL, 'd' },
                { "no-ask-password", no_argument, NULL, 'n' },
                {}
        };
        const char *command = v->command;
        *a = (struct admin) {};
        optind = 0; /* GNU getopt: rescan from scratch, argv is new */
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0) {
                if (c == 'j')
                        a->json = true;
                else if (c == 'h') {
                        printf("viewstampctl %s %s\n\n"
                               "  -j --json       print JSON\n%s%s%s",
                               command, v->synopsis,
                               v->options & OPT_REPLICAS ? "     --replicas=N  let the cluster place N replicas\n" : "",
                               v->options & OPT_DRAIN ? "     --drain       move the node's replicas first\n" : "",
                               v->options & OPT_AUTH ? "     --no-ask-password\n"
                                                       "                   never ask for a password (polkit)\n" : "");
                        return CTL_EXIT_OK;
                } else if (c == 'r' && (v->options & OPT_REPLICAS)) {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || n == 0 || n > UINT32_MAX)
                                return usage_error(command, "--replicas takes a number");
                        a->replicas = (uint32_t) n;
                } else if (c == 'd' && (v->options & OPT_DRAIN))
                        a->drain = true;
                else if (c == 'n' && (v->options & OPT_AUTH))
                        a->no_ask_password = true;
                else
                        return usage_error(command, "unknown option");
        }
        a->args = argv + optind;
        a->n_args = argc - optind;
        if (a->n_args < v->min_args || a->n_args > v->max_args)
                return usage_error(command, a->n_args < v->min_args ? "missing argument" : "too many arguments");

        int r = sd_bus_open_system_with_description(&a->bus, "viewstampctl");
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                (void) sd_bus_error_set_errnof(&error, r, "cannot connect to the system bus: %m");
                return report(a, r, &error);
        }
        /* Like systemctl: on a terminal, polkit may ask the caller for a password. */
        if ((v->options & OPT_AUTH) && !a->no_ask_password && ctl_polkit_can_ask()) {
                r = sd_bus_set_allow_interactive_authorization(a->bus, true);
                if (r >= 0)
                        r = sd_bus_set_method_call_timeout(a->bus, INTERACTIVE_CALL_USEC);
                if (r >= 0)
                        r = ctl_polkit_agent_open(&a->agent);
                if (r < 0) {
                        fprintf(stderr, "viewstampctl %s: cannot prepare for authentication: %s\n", command, strerror(-r));
                        return CTL_EXIT_LOCAL;
                }
        }
        return -1;
}

/* Appends the properties of interface on the object at path to list, as one JSON object. */
static int append_object(sd_bus *bus, const char *path, const char *interface, sd_bus_error *error,
                         json_object *list) {
        json_object *o = NULL;
        int r = bus_get_all_json(bus, path, interface, error, &o);
        if (r >= 0 && json_object_array_add(list, o) < 0) {
                json_object_put(o);
                r = -ENOMEM;
        }
        return r;
}

/* Every tenant hosted on the node, each as an object of its properties. */
static int list_tenants(sd_bus *bus, sd_bus_error *error, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "ListTenants", error,
                                   &reply, NULL);
        if (r < 0)
                return r;
        _cleanup_(json_object_putp) json_object *list = json_object_new_array();
        if (!list)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(so)");
        const char *name, *path;
        while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &name, &path)) > 0) {
                r = append_object(bus, path, VS_BUS_TENANT_INTERFACE, error, list);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

struct column {
        const char *header;
        const char *key;
        bool right;
};

/* rows: an array of objects; one line per object, columns aligned to their widest cell. */
static int print_table(json_object *rows, const struct column *cols, size_t n_cols) {
        size_t n_rows = json_object_array_length(rows);
        _cleanup_free_ char **cells = calloc((n_rows + 1) * n_cols, sizeof *cells);
        _cleanup_free_ int *width = calloc(n_cols, sizeof *width);
        int r = cells && width ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i <= n_rows; i++)
                for (size_t k = 0; r == 0 && k < n_cols; k++) {
                        json_object *v = NULL;
                        if (i > 0)
                                json_object_object_get_ex(json_object_array_get_idx(rows, i - 1), cols[k].key, &v);
                        char *s = i == 0 ? strdup(cols[k].header) : v ? bus_text(v) : strdup("-");
                        if (!s)
                                r = -ENOMEM;
                        else if ((int) strlen(s) > width[k])
                                width[k] = (int) strlen(s);
                        cells[i * n_cols + k] = s;
                }
        for (size_t i = 0; r == 0 && i <= n_rows; i++)
                for (size_t k = 0; k < n_cols; k++) {
                        const char *s = cells[i * n_cols + k];
                        if (k + 1 == n_cols)
                                printf("%s\n", s);
                        else
                                printf(cols[k].right ? "%*s  " : "%-*s  ", width[k], s);
                }
        for (size_t i = 0; cells && i < (n_rows + 1) * n_cols; i++)
                free(cells[i]);
        return r;
}

static const struct column tenant_columns[] = {
        { "NAME", "name", false },
        { "ID", "id", true },
        { "VIEW", "view", true },
        { "STATUS", "status", false },
        { "PRIMARY", "primary", false },
        { "OP", "op_number", true },
        { "COMMIT", "commit_number", true },
        { "REPLICAS", "replicas", false },
};

/* A list command's output: {"<noun>s": list} in JSON, else a table and a count. */
static int print_list(const struct admin *a, json_object *list, const char *noun, const struct column *cols,
                      size_t n_cols) {
        char key[32];
        snprintf(key, sizeof key, "%ss", noun);
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o || json_object_object_add(o, key, json_object_get(list)) < 0)
                        return CTL_EXIT_LOCAL;
                show_json(stdout, o, false);
                return CTL_EXIT_OK;
        }
        size_t n = json_object_array_length(list);
        if (n > 0 && print_table(list, cols, n_cols) < 0)
                return CTL_EXIT_LOCAL;
        printf("%s%zu %s%s listed.\n", n > 0 ? "\n" : "", n, noun, n == 1 ? "" : "s");
        return CTL_EXIT_OK;
}

static int tenants_run(const struct admin *a, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *list = NULL;
        int r = list_tenants(a->bus, error, &list);
        return r < 0 ? r : print_list(a, list, "tenant", tenant_columns, ELEMENTSOF(tenant_columns));
}

/* Nodes is a(sss); as objects it reads better in JSON and prints through print_table(). */
static json_object *nodes_json(json_object *nodes) {
        static const char *const keys[] = { "name", "peer", "client" };
        json_object *list = json_object_new_array();
        for (size_t i = 0; list && i < json_object_array_length(nodes); i++) {
                json_object *n = json_object_array_get_idx(nodes, i), *o = json_object_new_object();
                if (!o || json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        json_object_put(list);
                        return NULL;
                }
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        json_object_object_add(o, keys[k], json_object_get(json_object_array_get_idx(n, k)));
        }
        return list;
}

static int status_run(const struct admin *a, sd_bus_error *error) {
        static const struct column node_columns[] = {
                { "NODE", "name", false },
                { "PEER", "peer", false },
                { "CLIENT", "client", false },
        };
        static const struct column here_columns[] = {
                { "TENANT", "name", false },
                { "VIEW", "view", true },
                { "STATUS", "status", false },
                { "PRIMARY", "primary", false },
        };
        _cleanup_(json_object_putp) json_object *manager = NULL, *tenants = NULL, *nodes = NULL, *o = NULL;
        int r = bus_get_all_json(a->bus, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, error, &manager);
        if (r >= 0)
                r = list_tenants(a->bus, error, &tenants);
        if (r < 0)
                return r;
        json_object *name = NULL, *raw_nodes = NULL;
        json_object_object_get_ex(manager, "node_name", &name);
        json_object_object_get_ex(manager, "nodes", &raw_nodes);
        nodes = nodes_json(raw_nodes);
        o = json_object_new_object();
        if (!nodes || !o)
                return CTL_EXIT_LOCAL;

        if (a->json) {
                json_object_object_add(o, "node", json_object_get(name));
                json_object_object_add(o, "nodes", json_object_get(nodes));
                json_object_object_add(o, "tenants", json_object_get(tenants));
                show_json(stdout, o, false);
                return CTL_EXIT_OK;
        }
        printf("Node: %s\n\n", json_object_get_string(name));
        if (print_table(nodes, node_columns, ELEMENTSOF(node_columns)) < 0)
                return CTL_EXIT_LOCAL;
        printf("\n");
        if (json_object_array_length(tenants) == 0)
                printf("No tenants hosted here.\n");
        else if (print_table(tenants, here_columns, ELEMENTSOF(here_columns)) < 0)
                return CTL_EXIT_LOCAL;
        return CTL_EXIT_OK;
}

static int tenant_create_run(const struct admin *a, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const char *path;
        /* --replicas N: the cluster places it; otherwise on the named nodes. */
        if ((a->replicas > 0) == (a->n_args > 1))
                return usage_error("tenant create", "give either --replicas=N or the nodes");
        int r = sd_bus_message_new_method_call(a->bus, &call, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE,
                                               a->replicas > 0 ? "PlaceTenant" : "CreateTenant");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", a->args[0]);
        if (r >= 0)
                r = a->replicas > 0 ? sd_bus_message_append(call, "u", a->replicas)
                                    : sd_bus_message_append_strv(call, a->args + 1); /* argv ends with NULL */
        if (r >= 0)
                r = sd_bus_call(a->bus, call, 0, error, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, "name", json_object_new_string(a->args[0]));
                json_object_object_add(o, "path", json_object_new_string(path));
                show_json(stdout, o, false);
        } else
                printf("%s\n", path);
        return CTL_EXIT_OK;
}

static int tenant_show_run(const struct admin *a, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *t = NULL;
        const char *path;
        int r = sd_bus_call_method(a->bus, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "GetTenant", error,
                                   &reply, "s", a->args[0]);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = bus_get_all_json(a->bus, path, VS_BUS_TENANT_INTERFACE, error, &t);
        if (r < 0)
                return r;
        if (a->json) {
                show_json(stdout, t, false);
                return CTL_EXIT_OK;
        }
        int width = 0;
        json_object_object_foreach(t, key, unused) {
                (void) unused;
                width = (int) strlen(key) > width ? (int) strlen(key) : width;
        }
        json_object_object_foreach(t, k, v) {
                _cleanup_free_ char *label = bus_label(k), *text = bus_text(v);
                if (!label || !text)
                        return CTL_EXIT_LOCAL;
                printf("%*s: %s\n", width, label, text);
        }
        return CTL_EXIT_OK;
}

/* Tenant methods exist on the nodes hosting the tenant: elsewhere the object is unknown. */
static void tenant_not_here(const struct admin *a, sd_bus_error *error) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                sd_bus_error_free(error);
                (void) sd_bus_error_setf(error, VS_BUS_ERROR_PREFIX "NoSuchTenant", "no tenant '%s' is hosted on this node",
                                         a->args[0]);
        }
}

/* Generates a token, or with "-" reads one from standard input (empty clears it), and sets it.
 * A generated token is printed: the daemon keeps only its hash, so this is its one appearance. */
static int tenant_token_run(const struct admin *a, sd_bus_error *error) {
        bool from_stdin = a->n_args == 2;
        if (from_stdin && strcmp(a->args[1], "-") != 0)
                return usage_error("tenant token", "the only argument after NAME is '-' (read the token from standard input)");
        _cleanup_free_ char *token = NULL;
        int r = from_stdin ? ctl_token_read(stdin, &token) : ctl_token_generate(&token);
        if (r < 0) {
                fprintf(stderr, "viewstampctl tenant token: %s\n",
                        r == -EMSGSIZE ? "the token is longer than a token may be" :
                        r == -EINVAL ? "the token holds a NUL byte" : strerror(-r));
                return r == -EMSGSIZE || r == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_LOCAL;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        r = sd_bus_path_encode(VS_BUS_TENANT_PREFIX, a->args[0], &path);
        if (r >= 0)
                r = sd_bus_call_method(a->bus, VS_BUS_NAME, path, VS_BUS_TENANT_INTERFACE, "SetAccessToken", error,
                                       &reply, "s", token);
        if (r >= 0 && a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o)
                        r = -ENOMEM;
                else {
                        json_object_object_add(o, "name", json_object_new_string(a->args[0]));
                        json_object_object_add(o, "token", from_stdin ? NULL : json_object_new_string(token));
                        json_object_object_add(o, "required", json_object_new_boolean(*token != '\0'));
                        show_json(stdout, o, false);
                }
        } else if (r >= 0 && !from_stdin)
                printf("%s\n", token);
        explicit_bzero(token, strlen(token));
        tenant_not_here(a, error);
        return r < 0 ? r : CTL_EXIT_OK;
}

static int run_admin(const struct admin_verb *v, int argc, char **argv) {
        _cleanup_(admin_done) struct admin a = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = admin_start(&a, v, argc, argv);
        if (r >= 0)
                return r;
        r = v->run(&a, &error);
        return r < 0 ? report(&a, r, &error) : r;
}

/* Defines the verb function name (for a vs_verb table) running the admin_verb given. */
#define ADMIN_VERB(name, ...)                                                                        \
        static int name(int argc, char **argv) {                                                     \
                static const struct admin_verb v = { __VA_ARGS__ };                                  \
                return run_admin(&v, argc, argv);                                                    \
        }

int vs_verb_status(int argc, char **argv) {
        static const struct admin_verb v = { "status", 0, 0, "", status_run, 0 };
        return run_admin(&v, argc, argv);
}

int vs_verb_tenants(int argc, char **argv) {
        static const struct admin_verb v = { "tenants", 0, 0, "", tenants_run, 0 };
        return run_admin(&v, argc, argv);
}

/* The daemon checks the number of replicas, with the reason. */
ADMIN_VERB(verb_tenant_create, "tenant create", 1, INT_MAX, "NAME --replicas=N | NAME NODE...",
           tenant_create_run, OPT_REPLICAS | OPT_AUTH)

ADMIN_VERB(verb_tenant_show, "tenant show", 1, 1, "NAME", tenant_show_run, 0)

/* Calls a Manager method whose only answer is done or an error; prints `done` (or {"key": arg}). */
/* Moving replicas waits for each group to take its new members in: longer than D-Bus's default. */
#define MOVE_TIMEOUT_USEC (30ULL * 60 * 1000 * 1000)

/* Sends call (timeout 0: D-Bus's default) and reports its success: {"key": the first argument}, or
 * the line done. */
static int call_done(const struct admin *a, sd_bus_message *call, uint64_t timeout, sd_bus_error *error,
                     const char *key, const char *done) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call(a->bus, call, timeout, error, &reply);
        if (r < 0)
                return r;
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, key, json_object_new_string(a->args[0]));
                show_json(stdout, o, false);
        } else
                printf("%s\n", done);
        return CTL_EXIT_OK;
}

/* A Manager method without result, its arguments given as for sd_bus_message_append(). */
static int simple_call(const struct admin *a, sd_bus_error *error, uint64_t timeout, const char *method,
                       const char *key, const char *done, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r = sd_bus_message_new_method_call(a->bus, &call, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE,
                                               method);
        if (r >= 0 && types) {
                va_list ap;
                va_start(ap, types);
                r = sd_bus_message_appendv(call, types, ap);
                va_end(ap);
        }
        return r < 0 ? r : call_done(a, call, timeout, error, key, done);
}

/* tenant move NAME FROM TO, tenant reconfigure NAME NODE...: through a node hosting the tenant. */
static int tenant_reconfigure(const struct admin *a, sd_bus_error *error, bool move) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_free_ char *path = NULL;
        int r = sd_bus_path_encode(VS_BUS_TENANT_PREFIX, a->args[0], &path);
        if (r >= 0)
                r = sd_bus_message_new_method_call(a->bus, &call, VS_BUS_NAME, path, VS_BUS_TENANT_INTERFACE,
                                                   move ? "MoveReplica" : "Reconfigure");
        if (r >= 0)
                r = move ? sd_bus_message_append(call, "ss", a->args[1], a->args[2])
                         : sd_bus_message_append_strv(call, a->args + 1);
        if (r >= 0)
                r = call_done(a, call, MOVE_TIMEOUT_USEC, error, move ? "moved" : "reconfigured",
                              move ? "Replica moved." : "Tenant reconfigured.");
        tenant_not_here(a, error);
        return r;
}

static int tenant_move_run(const struct admin *a, sd_bus_error *error) {
        return tenant_reconfigure(a, error, true);
}

static int tenant_reconfigure_run(const struct admin *a, sd_bus_error *error) {
        return tenant_reconfigure(a, error, false);
}

ADMIN_VERB(verb_tenant_move, "tenant move", 3, 3, "NAME FROM TO", tenant_move_run, OPT_AUTH)

ADMIN_VERB(verb_tenant_reconfigure, "tenant reconfigure", 2, INT_MAX, "NAME NODE...", tenant_reconfigure_run, OPT_AUTH)

static int tenant_delete_run(const struct admin *a, sd_bus_error *error) {
        return simple_call(a, error, 0, "DeleteTenant", "deleted", "Tenant deleted.", "s", a->args[0]);
}

ADMIN_VERB(verb_tenant_delete, "tenant delete", 1, 1, "NAME", tenant_delete_run, OPT_AUTH)

/* A Manager method answering one string: printed, or as {"key": value}. */
static int string_call(const struct admin *a, sd_bus_error *error, const char *method, const char *key) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        int r = sd_bus_call_method(a->bus, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, method, error, &reply,
                                   NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return r;
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o)
                        return CTL_EXIT_LOCAL;
                json_object_object_add(o, key, json_object_new_string(s));
                show_json(stdout, o, false);
        } else
                printf("%s\n", s);
        return CTL_EXIT_OK;
}

static int cluster_init_run(const struct admin *a, sd_bus_error *error) {
        return string_call(a, error, "InitCluster", "cluster_id");
}

static int cluster_token_run(const struct admin *a, sd_bus_error *error) {
        return string_call(a, error, "GetJoinToken", "token");
}

static int cluster_join_run(const struct admin *a, sd_bus_error *error) {
        return simple_call(a, error, 0, "JoinCluster", "joined", "Joined the cluster.", "ss", a->args[0], a->args[1]);
}

ADMIN_VERB(verb_cluster_init, "cluster init", 0, 0, "", cluster_init_run, OPT_AUTH)

ADMIN_VERB(verb_cluster_join, "cluster join", 2, 2, "ADDRESS TOKEN", cluster_join_run, OPT_AUTH)

ADMIN_VERB(verb_cluster_token, "cluster token", 0, 0, "", cluster_token_run, OPT_AUTH)

int vs_verb_cluster(int argc, char **argv) {
        static const struct vs_verb verbs[] = {
                { "init", "", "start a new cluster on this node", verb_cluster_init },
                { "join", "ADDRESS TOKEN", "join the cluster of the member at ADDRESS (its peer port)", verb_cluster_join },
                { "token", "", "print the token new nodes join with", verb_cluster_token },
        };
        return vs_verb_dispatch("viewstampctl cluster", verbs, ELEMENTSOF(verbs), argc, argv);
}

/* Every member's org.viewstamp1.Node properties, in the Nodes property's order (by name). */
static int list_nodes(sd_bus *bus, sd_bus_error *error, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *list = json_object_new_array();
        if (!list)
                return -ENOMEM;
        int r = sd_bus_get_property(bus, VS_BUS_NAME, VS_BUS_PATH, VS_BUS_MANAGER_INTERFACE, "Nodes", error, &reply,
                                    "a(sss)");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        const char *name, *peer, *client;
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sss)", &name, &peer, &client)) > 0) {
                _cleanup_free_ char *path = NULL;
                r = sd_bus_path_encode(VS_BUS_NODE_PREFIX, name, &path);
                if (r >= 0)
                        r = append_object(bus, path, VS_BUS_NODE_INTERFACE, error, list);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

static int node_ls_run(const struct admin *a, sd_bus_error *error) {
        static const struct column columns[] = {
                { "NODE", "name", false },
                { "STATE", "state", false },
                { "REACHABLE", "reachable", false },
                { "PEER", "peer_address", false },
                { "CLIENT", "client_address", false },
                { "TENANTS", "tenants", false },
        };
        _cleanup_(json_object_putp) json_object *list = NULL;
        int r = list_nodes(a->bus, error, &list);
        return r < 0 ? r : print_list(a, list, "node", columns, ELEMENTSOF(columns));
}

static int node_drain_run(const struct admin *a, sd_bus_error *error) {
        return simple_call(a, error, MOVE_TIMEOUT_USEC, "DrainNode", "drained", "Node drained.", "s", a->args[0]);
}

static int node_remove_run(const struct admin *a, sd_bus_error *error) {
        return simple_call(a, error, a->drain ? MOVE_TIMEOUT_USEC : 0, "RemoveNode", "removed", "Node removed.", "sb",
                           a->args[0], (int) a->drain);
}

ADMIN_VERB(verb_node_ls, "node ls", 0, 0, "", node_ls_run, 0)

ADMIN_VERB(verb_node_drain, "node drain", 1, 1, "NAME", node_drain_run, OPT_AUTH)

ADMIN_VERB(verb_node_remove, "node remove", 1, 1, "NAME [--drain]", node_remove_run, OPT_DRAIN | OPT_AUTH)

int vs_verb_node(int argc, char **argv) {
        static const struct vs_verb verbs[] = {
                { "ls", "", "list the cluster's nodes", verb_node_ls },
                { "drain", "NAME", "stop placing replicas on a node and move its replicas off", verb_node_drain },
                { "remove", "NAME", "remove a node that hosts no replica (--drain: move them first)", verb_node_remove },
        };
        return vs_verb_dispatch("viewstampctl node", verbs, ELEMENTSOF(verbs), argc, argv);
}

ADMIN_VERB(verb_tenant_token, "tenant token", 1, 2, "NAME [-]", tenant_token_run, OPT_AUTH)

int vs_verb_tenant(int argc, char **argv) {
        static const struct vs_verb verbs[] = {
                { "create", "NAME --replicas=N | NAME NODE...",
                  "create a tenant placed by the cluster, or on the named nodes", verb_tenant_create },
                { "delete", "NAME", "delete a tenant and its data everywhere", verb_tenant_delete },
                { "move", "NAME FROM TO", "move a tenant's replica from one node to another", verb_tenant_move },
                { "reconfigure", "NAME NODE...", "move a tenant's replica group to these 1, 3 or 5 nodes",
                  verb_tenant_reconfigure },
                { "show", "NAME", "print every property of a tenant hosted here", verb_tenant_show },
                { "token", "NAME [-]", "set a new access token for a tenant (generated and printed, or - to read it from standard input; empty clears)", verb_tenant_token },
        };
        return vs_verb_dispatch("viewstampctl tenant", verbs, ELEMENTSOF(verbs), argc, argv);
}
