/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mock-polkit RULE RECORD: owns org.freedesktop.PolicyKit1 on the system bus
 * ($DBUS_SYSTEM_BUS_ADDRESS) and answers CheckAuthorization by RULE: "yes" (authorized), "no"
 * (refused), "challenge" (authentication would be needed), or "hang" (never answers). Each
 * question is appended to the file RECORD as one line
 *     action=ACTION subject=KIND name=BUS-NAME flags=FLAGS
 * before it is answered. Runs until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "util/cleanup.h"

struct mock {
        const char *rule;
        const char *record;
};

/* The subject's kind and its "name" detail, from (sa{sv}). */
static int read_subject(sd_bus_message *m, const char **kind, const char **name) {
        *name = "";
        int r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_read(m, "s", kind);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", name);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const struct mock *mock = userdata;
        const char *kind, *name, *action;
        uint32_t flags;
        int r = read_subject(m, &kind, &name);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &action);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{ss}");
        if (r >= 0)
                r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;

        _cleanup_fclose_ FILE *f = fopen(mock->record, "ae");
        if (!f || fprintf(f, "action=%s subject=%s name=%s flags=%u\n", action, kind, name, flags) < 0 ||
            fflush(f) != 0)
                return sd_bus_error_set_errnof(error, errno, "cannot record the question: %m");

        if (strcmp(mock->rule, "hang") == 0)
                return 1;
        return sd_bus_reply_method_return(m, "(bba{ss})", strcmp(mock->rule, "yes") == 0,
                                          strcmp(mock->rule, "challenge") == 0, 0);
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char *argv[]) {
        if (argc != 3 ||
            (strcmp(argv[1], "yes") != 0 && strcmp(argv[1], "no") != 0 && strcmp(argv[1], "challenge") != 0 &&
             strcmp(argv[1], "hang") != 0)) {
                fprintf(stderr, "usage: mock-polkit yes|no|challenge|hang RECORD\n");
                return 2;
        }
        struct mock mock = { argv[1], argv[2] };
        sd_event *e = NULL;
        sd_bus *bus = NULL;
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        int r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", authority_vtable, &mock);
        if (r >= 0)
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
        if (r >= 0)
                r = sd_event_loop(e);
        if (r < 0)
                fprintf(stderr, "mock-polkit: %s\n", strerror(-r));
        sd_bus_flush_close_unref(bus);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}
