/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The envelopes the net tests and benchmark send, built in caller-provided storage (valid as
 * long as it is): current protocol version, the given cluster id, no tenant.
 */

#include <stdint.h>

#include "wire/envelope.h"

struct msg {
        Viewstamp__Header header;
        Viewstamp__Ping ping;
        Viewstamp__Pong pong;
        Viewstamp__Hello hello;
        Viewstamp__Envelope env;
};

static inline Viewstamp__Envelope *msg_init(struct msg *m, uint64_t cluster) {
        *m = (struct msg) {
                .header = VIEWSTAMP__HEADER__INIT,
                .ping = VIEWSTAMP__PING__INIT,
                .pong = VIEWSTAMP__PONG__INIT,
                .hello = VIEWSTAMP__HELLO__INIT,
                .env = VIEWSTAMP__ENVELOPE__INIT,
        };
        m->header.version = VS_WIRE_VERSION;
        m->header.cluster_id = cluster;
        m->env.header = &m->header;
        return &m->env;
}

static inline Viewstamp__Envelope *msg_ping(struct msg *m, uint64_t cluster, uint64_t nonce) {
        msg_init(m, cluster);
        m->ping.nonce = nonce;
        m->env.body_case = VIEWSTAMP__ENVELOPE__BODY_PING;
        m->env.ping = &m->ping;
        return &m->env;
}

static inline Viewstamp__Envelope *msg_pong(struct msg *m, uint64_t cluster, uint64_t nonce) {
        msg_init(m, cluster);
        m->pong.nonce = nonce;
        m->env.body_case = VIEWSTAMP__ENVELOPE__BODY_PONG;
        m->env.pong = &m->pong;
        return &m->env;
}

static inline Viewstamp__Envelope *msg_hello(struct msg *m, uint64_t cluster, const char *node) {
        msg_init(m, cluster);
        m->hello.node = (char *) node;
        m->hello.cluster_id = cluster;
        m->env.body_case = VIEWSTAMP__ENVELOPE__BODY_HELLO;
        m->env.hello = &m->hello;
        return &m->env;
}
