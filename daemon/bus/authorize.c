/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus/authorize.h"
#include "log/log.h"
#include "util/cleanup.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1u

/*
 * A call waiting for polkit. It holds the call (which holds its bus), and the bus holds the
 * reply slot, so the queries are also kept on a list that vs_bus_authorize_drop() can empty:
 * without it, closing the bus with a query pending would leave that cycle behind. The daemon
 * runs one thread, so the list needs no lock.
 */
struct query {
        sd_bus_message *call;
        sd_bus_slot *slot;
        sd_bus_message_handler_t handler;
        void *userdata;
        bool interactive;
        struct query *prev, *next;
};

static struct query *queries;

static void query_free(struct query *q) {
        if (q->prev)
                q->prev->next = q->next;
        else
                queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        free(q);
}

static int deny(sd_bus_error *error, const char *why) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "not authorized for %s: %s",
                                 VS_BUS_ACTION_MANAGE, why);
}

/* 1 when polkit says yes, otherwise the refusal in error. */
static int polkit_verdict(sd_bus_message *reply, bool interactive, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e) {
                /* No polkit, or one this bus does not let us ask: root only. */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_ACCESS_DENIED))
                        return deny(error, "only root may, and polkit is not available to ask");
                log_warning(NULL, "polkit failed to check %s: %s: %s", VS_BUS_ACTION_MANAGE, e->name,
                            e->message ? e->message : "");
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "not authorized for %s: polkit failed: %s",
                                         VS_BUS_ACTION_MANAGE, e->message ? e->message : e->name);
        }

        int authorized, challenge;
        int r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return deny(error, "polkit's answer is malformed");
        if (authorized)
                return 1;
        if (challenge && !interactive)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "%s needs authentication: call again allowing interactive authorization",
                                         VS_BUS_ACTION_MANAGE);
        return deny(error, "polkit refused");
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *unused) {
        struct query *q = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = polkit_verdict(reply, q->interactive, &error);
        if (r > 0)
                r = q->handler(q->call, q->userdata, &error);
        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(q->call, &error);
        else if (r < 0)
                (void) sd_bus_reply_method_errno(q->call, r, NULL);
        query_free(q);
        return 0;
}

int vs_bus_authorize(sd_bus_message *m, sd_bus_message_handler_t handler, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return deny(error, "the bus cannot tell who is calling");
        if (euid == 0)
                return handler(m, userdata, error);

        const char *sender = sd_bus_message_get_sender(m);
        if (!sender) /* a direct connection: nobody to ask polkit about */
                return deny(error, "only root may");

        struct query *q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (struct query) {
                .call = sd_bus_message_ref(m),
                .handler = handler,
                .userdata = userdata,
                .interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0,
                .next = queries,
        };
        if (queries)
                queries->prev = q;
        queries = q;

        r = sd_bus_call_method_async(sd_bus_message_get_bus(m), &q->slot, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                     "CheckAuthorization", on_polkit_reply, q, "(sa{sv})sa{ss}us", "system-bus-name", 1,
                                     "name", "s", sender, VS_BUS_ACTION_MANAGE, 0,
                                     q->interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "");
        if (r < 0) {
                query_free(q);
                return r;
        }
        return 1; /* answered by on_polkit_reply() */
}

void vs_bus_authorize_drop(const sd_bus *bus) {
        for (struct query *q = queries, *next; q; q = next) {
                next = q->next;
                if (sd_bus_message_get_bus(q->call) == bus)
                        query_free(q);
        }
}
