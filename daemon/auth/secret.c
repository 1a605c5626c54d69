/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/secret.h"
#include "journal/statedir.h"
#include "util/cleanup.h"

#define HEX_LEN (2 * VS_SECRET_SIZE)

static int failf(int r, char *err, size_t errlen, const char *path, const char *reason) {
        snprintf(err, errlen, "%s: %s", path, reason);
        return r;
}

int vs_secret_generate(struct vs_secret *s) {
        return gnutls_rnd(GNUTLS_RND_KEY, s->bytes, sizeof s->bytes) < 0 ? -EIO : 0;
}

void vs_secret_erase(struct vs_secret *s) {
        explicit_bzero(s, sizeof *s);
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int vs_secret_load(const char *path, struct vs_secret *ret, char *err, size_t errlen) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                int r = -errno;
                if (r == -ELOOP)
                        return failf(-EINVAL, err, errlen, path, "is a symbolic link; name the file itself");
                return failf(r, err, errlen, path,
                             r == -ENOENT ? "missing (make one with viewstampd --new-secret=FILE, copy it to every node)" : strerror(-r));
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return failf(-errno, err, errlen, path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return failf(-EINVAL, err, errlen, path, "not a regular file");
        if (st.st_uid != geteuid())
                return failf(-EPERM, err, errlen, path, "not owned by the user the daemon runs as");
        if (st.st_mode & (S_IRWXG | S_IRWXO))
                return failf(-EPERM, err, errlen, path,
                             "readable or writable by group or others; it must be mode 0600 (chmod 0600)");

        /* One byte more than a valid file may hold tells an overlong file apart. */
        char text[HEX_LEN + 2];
        ssize_t n = read(fd, text, sizeof text);
        if (n < 0)
                return failf(-errno, err, errlen, path, strerror(errno));
        if (n == HEX_LEN + 1 && text[HEX_LEN] == '\n')
                n--;
        struct vs_secret s;
        bool ok = n == HEX_LEN;
        for (size_t i = 0; ok && i < VS_SECRET_SIZE; i++) {
                int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
                ok = hi >= 0 && lo >= 0;
                s.bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        explicit_bzero(text, sizeof text);
        if (!ok) {
                vs_secret_erase(&s);
                return failf(-EINVAL, err, errlen, path,
                             "not a cluster secret (exactly 64 hexadecimal digits and an optional newline)");
        }
        *ret = s;
        vs_secret_erase(&s);
        return 0;
}

int vs_secret_save(const char *path, const struct vs_secret *s, char *err, size_t errlen) {
        char dir_buf[4096];
        if (snprintf(dir_buf, sizeof dir_buf, "%s", path) >= (int) sizeof dir_buf)
                return failf(-ENAMETOOLONG, err, errlen, path, strerror(ENAMETOOLONG));
        const char *dir = dirname(dir_buf);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return failf(-errno, err, errlen, path, strerror(errno));

        /* Written unnamed, then linked under its name: a crash never leaves half a secret, and
         * linkat() fails rather than replacing a file that appeared meanwhile. */
        _cleanup_close_ int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return failf(-errno, err, errlen, path, strerror(errno));
        char text[HEX_LEN + 1];
        for (size_t i = 0; i < VS_SECRET_SIZE; i++)
                snprintf(text + 2 * i, 3, "%02x", s->bytes[i]);
        text[HEX_LEN] = '\n';
        int r = vs_pwrite_full(fd, text, sizeof text, 0);
        explicit_bzero(text, sizeof text);
        if (r < 0)
                return failf(r, err, errlen, path, strerror(-r));
        /* The umask never widens 0600, but a directory's default ACL could: set it explicitly. */
        if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
                return failf(-errno, err, errlen, path, strerror(errno));
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
                r = -errno;
                return failf(r, err, errlen, path, r == -EEXIST ? "a cluster secret file already exists" : strerror(-r));
        }
        if (fsync(dfd) < 0)
                return failf(-errno, err, errlen, path, strerror(errno));
        return 0;
}

int vs_secret_path(const struct vs_conf *conf, char *buf, size_t size) {
        int n = conf->secret_file[0] ? snprintf(buf, size, "%s", conf->secret_file)
                                     : snprintf(buf, size, "%s/%s", conf->state_dir, VS_SECRET_FILE_NAME);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int vs_secret_load_conf(const struct vs_conf *conf, struct vs_secret *ret, char *err, size_t errlen) {
        char path[4096];
        int r = vs_secret_path(conf, path, sizeof path);
        if (r < 0)
                return failf(r, err, errlen, conf->secret_file[0] ? conf->secret_file : conf->state_dir,
                             "cluster secret path too long");
        char why[4096 + 128];
        r = vs_secret_load(path, ret, why, sizeof why);
        if (r == -ENOENT && conf->n_nodes == 1) {
                *ret = (struct vs_secret) {};
                return 0;
        }
        if (r < 0)
                snprintf(err, errlen, "cluster secret %s", why);
        return r;
}
