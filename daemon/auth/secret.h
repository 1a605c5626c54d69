/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The cluster secret: 32 random bytes every node of a cluster holds, from which the keys that
 * authenticate peer links are derived (auth/peer_key.h). Whoever holds it can join the cluster's
 * replication, so it is never logged and lives in one file readable only by the daemon's user.
 *
 * File format: exactly 64 hexadecimal digits (either case), optionally followed by one newline;
 * nothing else. The file must be a regular file owned by the effective user with no group or
 * other permission bits (mode 0600 or 0400). vs_secret_load() refuses anything else with a
 * message naming the file and the problem (never the content); vs_secret_save() writes exactly
 * that format with mode 0600, atomically (a crash leaves either no file or the whole file) and
 * durably (file and directory synced), and never replaces an existing file.
 *
 * Default location: <StateDirectory>/cluster.key, or [Cluster] SecretFile= when set.
 */

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define VS_SECRET_SIZE 32
#define VS_SECRET_FILE_NAME "cluster.key"

struct vs_secret {
        uint8_t bytes[VS_SECRET_SIZE];
};

/* Fills s from the kernel's random source through GnuTLS's key generator. */
int vs_secret_generate(struct vs_secret *s);

/*
 * Reads path into *ret. -ENOENT missing; -EPERM not owned by this user or group/other bits set;
 * -EINVAL not a regular file, or wrong size or format; other errno from the file system. err
 * (errlen bytes) gets "PATH: reason" on failure. *ret is untouched on failure.
 */
int vs_secret_load(const char *path, struct vs_secret *ret, char *err, size_t errlen);

/* Writes s to path as described above. -EEXIST if path exists; err as for vs_secret_load(). */
int vs_secret_save(const char *path, const struct vs_secret *s, char *err, size_t errlen);

/* The secret file conf names: SecretFile=, or <StateDirectory>/cluster.key. -ENAMETOOLONG. */
int vs_secret_path(const struct vs_conf *conf, char *buf, size_t size);

/*
 * The secret of the cluster conf describes, from vs_secret_path(). A static cluster of one node
 * has no peer to authenticate: without a file it gets an all-zero secret and 0. A cluster formed
 * at run time (no node list) always has its file. err as above.
 */
int vs_secret_load_conf(const struct vs_conf *conf, struct vs_secret *ret, char *err, size_t errlen);

/* Wipes s so no copy of the secret outlives its use. */
void vs_secret_erase(struct vs_secret *s);
