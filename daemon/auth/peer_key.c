/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "auth/peer_key.h"
#include "conf/conf.h"
#include "util/unaligned.h"

#define SALT "viewstamp cluster secret v1"
#define INFO "viewstamp peer psk v1"

int vs_peer_key(const struct vs_secret *secret, uint64_t cluster_id, const char *node,
                uint8_t key[VS_PEER_KEY_SIZE]) {
        size_t name_len = strlen(node);
        if (name_len > VS_CONF_NAME_MAX)
                return -EINVAL;

        uint8_t info[sizeof INFO - 1 + 8 + VS_CONF_NAME_MAX];
        memcpy(info, INFO, sizeof INFO - 1);
        vs_put_le64(info + sizeof INFO - 1, cluster_id);
        memcpy(info + sizeof INFO - 1 + 8, node, name_len);

        uint8_t prk[32];
        gnutls_datum_t ikm = { (unsigned char *) secret->bytes, VS_SECRET_SIZE };
        gnutls_datum_t salt = { (unsigned char *) SALT, sizeof SALT - 1 };
        int r = gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &ikm, &salt, prk);
        if (r >= 0) {
                gnutls_datum_t prk_d = { prk, sizeof prk }, info_d = { info, sizeof INFO - 1 + 8 + name_len };
                r = gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &prk_d, &info_d, key, VS_PEER_KEY_SIZE);
        }
        explicit_bzero(prk, sizeof prk);
        return r < 0 ? -EIO : 0;
}
