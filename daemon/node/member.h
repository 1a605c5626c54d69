/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The cluster's members: the nodes the root group lists under /nodes/NAME (wire/cluster.proto's
 * NodeInfo), as a set kept sorted by name, and this node's cached copy of it in the state
 * directory (members.cache, sealed with its checksum), which lets a restart reach its peers
 * before the root group answers.
 *
 * Decoding checks what the wire cannot: a plain node name (vs_conf_name_valid) and numeric
 * addresses; anything else is -EBADMSG, so a damaged or hostile value never becomes a peer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "wire/cluster.pb-c.h"

enum vs_member_state {
        VS_MEMBER_ACTIVE = 0,   /* hosts replicas and takes new ones */
        VS_MEMBER_DRAINING = 1, /* takes no new replicas */
};

struct vs_member {
        struct vs_conf_node node; /* name, peer and client addresses */
        enum vs_member_state state;
        uint64_t joined_op;       /* op of the root group that created /nodes/NAME; 0 unknown */
};

/* Sorted by name, at most VS_CONF_NODES_MAX. */
struct vs_members {
        struct vs_member *v;
        size_t n;
};

const char *vs_member_state_name(enum vs_member_state s);

/* NodeInfo bytes as stored under /nodes/NAME (joined_op included when set). */
int vs_member_encode(const struct vs_member *m, uint8_t **ret, size_t *ret_len);
int vs_member_decode(const uint8_t *buf, size_t len, struct vs_member *ret);
/* The protobuf form: pb's strings point into m and the two address buffers. */
void vs_member_to_pb(const struct vs_member *m, Viewstamp__NodeInfo *pb, char peer[VS_ADDRESS_STRING_MAX],
                     char client[VS_ADDRESS_STRING_MAX]);
int vs_member_from_pb(const Viewstamp__NodeInfo *pb, struct vs_member *ret);
bool vs_member_equal(const struct vs_member *a, const struct vs_member *b);

const struct vs_member *vs_members_find(const struct vs_members *s, const char *name);
/* Adds m, or replaces the member of that name. 1 if the set changed, 0 if it held m already,
 * -E2BIG beyond VS_CONF_NODES_MAX members, -ENOMEM. */
int vs_members_put(struct vs_members *s, const struct vs_member *m);
/* true if a member of that name was there. */
bool vs_members_remove(struct vs_members *s, const char *name);
bool vs_members_equal(const struct vs_members *a, const struct vs_members *b);
/* Adds the static configuration's [Cluster] nodes. */
int vs_members_from_conf(struct vs_members *s, const struct vs_conf *conf);
int vs_members_copy(const struct vs_members *from, struct vs_members *to);
void vs_members_done(struct vs_members *s);

/* The cache file. Loading replaces *s: -ENOENT without a cache, -EBADMSG for a damaged one. */
int vs_members_save(int dir_fd, const struct vs_members *s);
int vs_members_load(int dir_fd, struct vs_members *s);
