/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Translation between the replica core's messages (struct vr_msg) and their protobuf form
 * (wire/vr.proto), without copying payloads: each direction produces a *view* whose byte fields
 * point into the source, which must outlive it. That suits both paths: a received envelope is
 * decoded, viewed as a vr_msg, handed to vr_receive() (which copies whatever it keeps), then
 * freed; an outgoing vr_msg is viewed as a VrMessage, packed into a frame, and released.
 *
 * vs_vr_msg_from_pb() checks only what the struct cannot represent or what would be unsafe to
 * pass on (unknown type, a payload over 4 GiB, too many entries); protocol sanity (views, op
 * numbers, sender index) is the core's to judge.
 */

#include "vr/msg.h"
#include "wire/client.pb-c.h"
#include "wire/vr.pb-c.h"

#define VS_VR_MAX_ENTRIES VR_MSG_MAX_ENTRIES
/* At most what an Envelope adds around a VrMessage (its header, with a tenant name of up to 255
 * bytes, and the body's tag and length): a node gives its replicas MaxFrameBytes= less this as
 * their message budget (vr_config.max_message_bytes). */
#define VS_VR_ENVELOPE_BYTES 320u

/* -EBADMSG for a message the core must not see; -ENOMEM. Release with vs_vr_msg_view_done(). */
int vs_vr_msg_from_pb(const Viewstamp__VrMessage *pb, struct vr_msg *ret);
void vs_vr_msg_view_done(struct vr_msg *m);

/* A client's request as the core's VR_MSG_REQUEST (a view: nothing to release). Request number 0
 * opens a session, whatever the command says (client.proto): it carries VR_REGISTER_CMD.
 * -EBADMSG for a command over 4 GiB. */
int vs_vr_msg_from_client_request(const Viewstamp__ClientRequest *req, struct vr_msg *ret);

/* -ENOMEM. Release with vs_vr_pb_view_done(). */
int vs_vr_msg_to_pb(const struct vr_msg *m, Viewstamp__VrMessage *ret);
void vs_vr_pb_view_done(Viewstamp__VrMessage *pb);
