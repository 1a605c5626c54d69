/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/unaligned.h"
#include "vr/msg.h"

static int dup_bytes(uint8_t **dst, const uint8_t *src, size_t len) {
        *dst = NULL;
        if (len == 0)
                return 0;
        *dst = malloc(len);
        if (!*dst)
                return -ENOMEM;
        memcpy(*dst, src, len);
        return 0;
}

int vr_entry_copy(struct vr_entry *dst, const struct vr_entry *src) {
        *dst = *src;
        return dup_bytes(&dst->data, src->data, src->len);
}

void vr_entry_done(struct vr_entry *e) {
        free(e->data);
        e->data = NULL;
        e->len = 0;
}

void vr_msg_done(struct vr_msg *m) {
        free(m->data);
        m->data = NULL;
        if (!m->entries_borrowed) {
                for (size_t i = 0; i < m->n_entries; i++)
                        vr_entry_done(&m->entries[i]);
                free(m->entries);
        }
        m->entries = NULL;
        m->n_entries = 0;
        m->entries_borrowed = false;
}

void vr_msg_free(struct vr_msg *m) {
        if (!m)
                return;
        vr_msg_done(m);
        free(m);
}

uint64_t vr_msg_bytes(const struct vr_msg *m) {
        uint64_t n = VR_MSG_FIXED_BYTES + (uint64_t) m->len;
        for (size_t i = 0; i < m->n_entries; i++)
                n += vr_entry_bytes(&m->entries[i]);
        return n;
}

int vr_msg_copy(struct vr_msg *dst, const struct vr_msg *src) {
        *dst = *src;
        dst->data = NULL;
        dst->entries = NULL;
        dst->n_entries = 0;
        dst->entries_borrowed = false;

        int r = dup_bytes(&dst->data, src->data, src->len);
        if (r < 0)
                return r;
        if (src->n_entries > 0) {
                dst->entries = calloc(src->n_entries, sizeof(struct vr_entry));
                if (!dst->entries) {
                        vr_msg_done(dst);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < src->n_entries; i++) {
                        r = vr_entry_copy(&dst->entries[i], &src->entries[i]);
                        dst->n_entries = i + 1;
                        if (r < 0) {
                                vr_msg_done(dst);
                                return r;
                        }
                }
        }
        return 0;
}

int vr_msg_share(struct vr_msg *dst, const struct vr_msg *src) {
        if (!src->entries_borrowed)
                return vr_msg_copy(dst, src);
        *dst = *src;
        return dup_bytes(&dst->data, src->data, src->len);
}

int vr_msg_dup(const struct vr_msg *src, struct vr_msg **ret) {
        _cleanup_free_ struct vr_msg *m = malloc(sizeof(*m));
        if (!m)
                return -ENOMEM;
        int r = vr_msg_copy(m, src);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

const char *vr_msg_type_name(enum vr_msg_type t) {
        static const char *const names[] = {
                [VR_MSG_REQUEST] = "Request",
                [VR_MSG_REPLY] = "Reply",
                [VR_MSG_PREPARE] = "Prepare",
                [VR_MSG_PREPARE_OK] = "PrepareOK",
                [VR_MSG_COMMIT] = "Commit",
                [VR_MSG_START_VIEW_CHANGE] = "StartViewChange",
                [VR_MSG_DO_VIEW_CHANGE] = "DoViewChange",
                [VR_MSG_START_VIEW] = "StartView",
                [VR_MSG_RECOVERY] = "Recovery",
                [VR_MSG_RECOVERY_RESPONSE] = "RecoveryResponse",
                [VR_MSG_GET_STATE] = "GetState",
                [VR_MSG_NEW_STATE] = "NewState",
                [VR_MSG_START_EPOCH] = "StartEpoch",
                [VR_MSG_EPOCH_STARTED] = "EpochStarted",
        };
        if ((size_t) t < ELEMENTSOF(names) && names[t])
                return names[t];
        return "Unknown";
}

int vr_members_check(const uint64_t *members, uint32_t n) {
        if (n == 0 || n % 2 == 0 || n > VR_MAX_REPLICAS)
                return -EINVAL;
        for (uint32_t i = 0; i < n; i++)
                for (uint32_t j = 0; j < i; j++)
                        if (members[i] == members[j])
                                return -EINVAL;
        return 0;
}

int vr_reconfigure_cmd(const uint64_t *members, uint32_t n, uint8_t **ret, size_t *ret_len) {
        int k = vr_members_check(members, n);
        if (k < 0)
                return k;
        size_t len = VR_RECONFIGURE_CMD_LEN + 4 + 8 * (size_t) n;
        uint8_t *b = malloc(len);
        if (!b)
                return -ENOMEM;
        memcpy(b, VR_RECONFIGURE_CMD, VR_RECONFIGURE_CMD_LEN);
        vs_put_le32(b + VR_RECONFIGURE_CMD_LEN, n);
        for (uint32_t i = 0; i < n; i++)
                vs_put_le64(b + VR_RECONFIGURE_CMD_LEN + 4 + 8 * i, members[i]);
        *ret = b;
        *ret_len = len;
        return 0;
}

int vr_reconfigure_parse(const uint8_t *cmd, size_t len, uint64_t members[VR_MAX_REPLICAS], uint32_t *n) {
        if (len < VR_RECONFIGURE_CMD_LEN || memcmp(cmd, VR_RECONFIGURE_CMD, VR_RECONFIGURE_CMD_LEN) != 0)
                return -ENOENT;
        *n = 0;
        if (len < VR_RECONFIGURE_CMD_LEN + 4)
                return -EINVAL;
        uint32_t count = vs_get_le32(cmd + VR_RECONFIGURE_CMD_LEN);
        if (count > VR_MAX_REPLICAS || len != VR_RECONFIGURE_CMD_LEN + 4 + 8 * (size_t) count)
                return -EINVAL;
        for (uint32_t i = 0; i < count; i++)
                members[i] = vs_get_le64(cmd + VR_RECONFIGURE_CMD_LEN + 4 + 8 * i);
        *n = count;
        return vr_members_check(members, count);
}

const char *vr_status_name(enum vr_status s) {
        switch (s) {
        case VR_STATUS_NORMAL:
                return "normal";
        case VR_STATUS_VIEW_CHANGE:
                return "view-change";
        case VR_STATUS_RECOVERING:
                return "recovering";
        case VR_STATUS_TRANSITIONING:
                return "transitioning";
        }
        return "unknown";
}
