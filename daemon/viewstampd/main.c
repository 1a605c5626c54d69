/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * viewstampd: the node daemon. One sd-event loop runs everything: signals, D-Bus, rtnetlink,
 * and the one tick timer that drives every hosted tenant. READY=1 is sent only once the
 * configuration is valid, the node's addresses exist and the bus name is owned.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "auth/secret.h"
#include "bus/manager.h"
#include "bus/tenant.h"
#include "conf/conf.h"
#include "link/link.h"
#include "log/log.h"
#include "node/member.h"
#include "node/node.h"
#include "util/cleanup.h"

/* Options given on the command line win over the file, also across SIGHUP reloads. */
struct overrides {
        const char *state_dir, *name, *log_level;
};

struct daemon {
        struct vs_conf conf;
        const char *config_path;
        struct overrides overrides;
        struct vs_conf_node self;
        sd_event *event;
        sd_bus *bus;
        struct vs_bus_manager manager;
        struct vs_node *node;
        struct vs_link_watch *links;
        sd_event_source *status_timer;
        bool peer_up, client_up;
};

static void help(void) {
        printf("viewstampd [OPTIONS...]\n\n"
               "Viewstamped Replication node daemon.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "  -c --config=FILE        Configuration file (default " VS_CONF_DEFAULT_PATH ")\n"
               "     --state-dir=DIR      Override StateDirectory=\n"
               "     --name=NAME          Override Name=\n"
               "     --log-level=LEVEL    Override LogLevel= (err, warning, notice, info, debug)\n"
               "     --check-config       Validate the configuration and exit\n"
               "     --new-secret=FILE    Write a new cluster secret to FILE (mode 0600) and exit\n");
}

static int load_conf(const char *path, const struct overrides *o, struct vs_conf *ret) {
        struct vs_conf c;
        vs_conf_defaults(&c);
        _cleanup_free_ char *error = NULL;
        int r = vs_conf_load(&c, path, &error);
        if (r < 0) {
                log_error(NULL, "%s", error ? error : "cannot load configuration");
                return r;
        }
        if (o->state_dir)
                snprintf(c.state_dir, sizeof c.state_dir, "%s", o->state_dir);
        if (o->name)
                snprintf(c.name, sizeof c.name, "%s", o->name);
        if (o->log_level && vs_log_level_from_string(o->log_level, &c.log_level) < 0) {
                log_error(NULL, "--log-level=%s: unknown level", o->log_level);
                return -EINVAL;
        }
        struct vs_conf_node self;
        if (vs_conf_is_static(&c) && !vs_conf_find_node(&c, c.name)) {
                log_error(NULL, "%s: node '%s' is not in the [Cluster] Node= list", path, c.name);
                return -EINVAL;
        }
        if (vs_conf_self(&c, &self) < 0) {
                log_error(NULL, "%s: list the cluster's nodes in [Cluster] Node=, or give this node's [Node] PeerAddress= and ClientAddress=",
                          path);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

static void update_status(struct daemon *d) {
        if (!d->node)
                return;
        if (!vs_node_in_cluster(d->node)) {
                sd_notifyf(false, "STATUS=Node %s: in no cluster (waiting for InitCluster or JoinCluster)", d->conf.name);
                return;
        }
        size_t tenants, primaries;
        vs_node_count_tenants(d->node, &tenants, &primaries);
        sd_notifyf(false, "STATUS=Node %s: %zu tenants (%zu primary here), %zu of %zu peers connected%s%s",
                   d->conf.name, tenants, primaries, vs_node_n_peers_up(d->node),
                   vs_node_members(d->node)->n - 1, d->peer_up ? "" : "; peer address DOWN",
                   d->client_up ? "" : "; client address DOWN");
}

static void on_links_changed(struct vs_link_watch *w, void *userdata) {
        struct daemon *d = userdata;
        bool peer = vs_link_watch_available(w, &d->self.peer), client = vs_link_watch_available(w, &d->self.client);
        char buf[VS_ADDRESS_STRING_MAX];
        if (peer != d->peer_up)
                vs_log_full(peer ? VS_LOG_NOTICE : VS_LOG_WARNING, NULL, 0, "peer address %s is %s",
                            vs_address_to_string(&d->self.peer, buf), peer ? "back" : "gone");
        if (client != d->client_up)
                vs_log_full(client ? VS_LOG_NOTICE : VS_LOG_WARNING, NULL, 0, "client address %s is %s",
                            vs_address_to_string(&d->self.client, buf), client ? "back" : "gone");
        bool back = (peer && !d->peer_up) || (client && !d->client_up);
        d->peer_up = peer;
        d->client_up = client;
        if (back)
                vs_node_rebind(d->node);
        update_status(d);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        update_status(userdata);
        return sd_event_source_set_time_relative(s, 1000ULL * 1000ULL);
}

static void on_tenant_changed(struct vs_node *n, struct vs_tenant *t, bool added, void *userdata) {
        struct daemon *d = userdata;
        vs_bus_tenant_changed(d->bus, t, added);
}

static void on_tenant_removed(struct vs_node *n, struct vs_tenant *t, void *userdata) {
        struct daemon *d = userdata;
        vs_bus_tenant_removed(d->bus, t);
}

static void on_member_changed(struct vs_node *n, const char *name, int change, void *userdata) {
        struct daemon *d = userdata;
        vs_bus_manager_member_changed(d->bus, name, change);
}

static void on_cluster_tenant_changed(struct vs_node *n, const char *name, bool present, void *userdata) {
        struct daemon *d = userdata;
        vs_bus_manager_tenant_changed(d->bus, name, present);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct daemon *d = userdata;
        log_notice(NULL, "received %s, shutting down", strsignal((int) si->ssi_signo));
        sd_notify(false, "STOPPING=1");
        return sd_event_exit(d->event, EXIT_SUCCESS);
}

/* SIGHUP: re-read the file and apply what can change live (the log level). Settings that need a
 * restart are left as they are, with a notice. A bad file changes nothing. */
static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct daemon *d = userdata;
        sd_notify(false, "RELOADING=1");
        struct vs_conf c;
        if (load_conf(d->config_path, &d->overrides, &c) < 0)
                log_warning(NULL, "reload: keeping the running configuration");
        else {
                if (c.log_level != d->conf.log_level) {
                        log_notice(NULL, "reload: log level %s", vs_log_level_to_string(c.log_level));
                        vs_log_set_level(c.log_level);
                        d->conf.log_level = c.log_level;
                }
                c.log_level = d->conf.log_level;
                if (memcmp(&c, &d->conf, sizeof c) != 0)
                        log_notice(NULL, "reload: settings other than LogLevel= take effect on restart");
        }
        sd_notify(false, "READY=1");
        return 0;
}

static int check_addresses(struct daemon *d) {
        const struct vs_address *addrs[] = { &d->self.peer, &d->self.client };
        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                bool ok;
                int r = vs_link_address_available(addrs[i], &ok);
                if (r < 0)
                        return log_error_errno(NULL, r, "cannot list local addresses");
                if (!ok) {
                        char buf[VS_ADDRESS_STRING_MAX];
                        log_error(NULL, "%s address %s of node %s is not on any local interface that is up",
                                  i == 0 ? "peer" : "client", vs_address_to_string(addrs[i], buf), d->conf.name);
                        return -EADDRNOTAVAIL;
                }
        }
        d->peer_up = d->client_up = true;
        return 0;
}

/* For a static bootstrap: one node makes the secret, the operator copies the file to the others. */
static int new_secret(const char *path) {
        struct vs_secret s;
        char err[4200];
        int r = vs_secret_generate(&s);
        if (r < 0)
                return log_error_errno(NULL, r, "cannot generate a cluster secret");
        r = vs_secret_save(path, &s, err, sizeof err);
        vs_secret_erase(&s);
        if (r < 0) {
                log_error(NULL, "%s", err);
                return r;
        }
        printf("%s: new cluster secret; copy this file to every node of the cluster (mode 0600, owned by the user viewstampd runs as)\n",
               path);
        return 0;
}

static void daemon_done(struct daemon *d) {
        sd_event_source_disable_unref(d->status_timer);
        vs_link_watch_free(d->links);
        d->bus = vs_bus_close(d->bus);
        vs_node_free(d->node);
        sd_event_unref(d->event);
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_STATE_DIR, ARG_NAME, ARG_LOG_LEVEL, ARG_CHECK_CONFIG, ARG_NEW_SECRET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "name", required_argument, NULL, ARG_NAME },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "new-secret", required_argument, NULL, ARG_NEW_SECRET },
                {}
        };
        struct daemon d = { .config_path = VS_CONF_DEFAULT_PATH };
        struct overrides *o = &d.overrides;
        bool check_only = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("viewstampd %s\n", VS_VERSION);
                        return EXIT_SUCCESS;
                case 'c':
                        d.config_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case ARG_NAME:
                        o->name = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        o->log_level = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        check_only = true;
                        break;
                case ARG_NEW_SECRET:
                        return new_secret(optarg) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc) {
                log_error(NULL, "unexpected argument '%s'", argv[optind]);
                return EXIT_FAILURE;
        }

        if (load_conf(d.config_path, o, &d.conf) < 0)
                return EXIT_FAILURE;
        vs_log_set_level(d.conf.log_level);
        (void) vs_conf_self(&d.conf, &d.self);
        if (check_only) {
                if (vs_conf_is_static(&d.conf))
                        printf("%s: valid, node %s of %zu\n", d.config_path, d.conf.name, d.conf.n_nodes);
                else
                        printf("%s: valid, node %s (cluster formed with InitCluster/JoinCluster)\n", d.config_path,
                               d.conf.name);
                return EXIT_SUCCESS;
        }

        r = check_addresses(&d);
        if (r >= 0)
                r = sd_event_default(&d.event);
        if (r >= 0) {
                sigset_t mask;
                sigemptyset(&mask);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGHUP);
                r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
        }
        if (r >= 0)
                r = sd_event_add_signal(d.event, NULL, SIGTERM, on_terminate, &d);
        if (r >= 0)
                r = sd_event_add_signal(d.event, NULL, SIGINT, on_terminate, &d);
        if (r >= 0)
                r = sd_event_add_signal(d.event, NULL, SIGHUP, on_reload, &d);
        if (r >= 0)
                r = sd_event_set_watchdog(d.event, true); /* sends WATCHDOG=1 when WatchdogSec= is set */
        if (r >= 0)
                r = vs_link_watch_new(d.event, on_links_changed, &d, &d.links);
        if (r >= 0)
                r = sd_event_add_time_relative(d.event, &d.status_timer, CLOCK_MONOTONIC, 1000ULL * 1000ULL, 0,
                                               on_status_timer, &d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d.status_timer, SD_EVENT_ON);
        if (r >= 0) {
                char err[512] = "";
                static const struct vs_node_callbacks ncb = { on_tenant_changed, on_tenant_removed, on_member_changed,
                                                              on_cluster_tenant_changed };
                r = vs_node_new(d.event, &d.conf, &ncb, &d, &d.node, err, sizeof err);
                if (r < 0) {
                        log_error_errno(NULL, r, "%s", err);
                        daemon_done(&d);
                        return EXIT_FAILURE;
                }
        }
        if (r >= 0) {
                d.manager = (struct vs_bus_manager) { &d.conf, d.node };
                r = vs_bus_open(d.event, &d.manager, &d.bus);
        }
        if (r < 0) {
                log_error_errno(NULL, r, "start-up failed");
                daemon_done(&d);
                return EXIT_FAILURE;
        }

        log_notice(NULL, "node %s ready (%zu nodes in the cluster)", d.conf.name, vs_node_members(d.node)->n);
        sd_notify(false, "READY=1");
        update_status(&d);

        r = sd_event_loop(d.event);
        daemon_done(&d);
        return r < 0 ? EXIT_FAILURE : r;
}
