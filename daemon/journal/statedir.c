/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/statedir.h"
#include "util/checksum.h"
#include "util/cleanup.h"
#include "util/unaligned.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

void vs_journal_name(char buf[VS_JOURNAL_NAME_MAX], uint64_t generation) {
        snprintf(buf, VS_JOURNAL_NAME_MAX, "journal-%016" PRIx64 ".vsj", generation);
}

void vs_checkpoint_name(char buf[VS_JOURNAL_NAME_MAX], uint64_t tenant, uint64_t op) {
        snprintf(buf, VS_JOURNAL_NAME_MAX, "checkpoint-%016" PRIx64 "-%016" PRIx64 ".vsc", tenant, op);
}

/* Parses exactly 16 lower-case hex digits. */
static bool hex16(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 16; i++) {
                char c = s[i];
                if (c >= '0' && c <= '9')
                        v = v << 4 | (uint64_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v = v << 4 | (uint64_t) (c - 'a' + 10);
                else
                        return false;
        }
        *ret = v;
        return true;
}

bool vs_journal_name_parse(const char *name, uint64_t *ret_generation) {
        return strlen(name) == 28 && strncmp(name, "journal-", 8) == 0 && strcmp(name + 24, ".vsj") == 0 &&
               hex16(name + 8, ret_generation);
}

bool vs_checkpoint_name_parse(const char *name, uint64_t *ret_tenant, uint64_t *ret_op) {
        return strlen(name) == 48 && strncmp(name, "checkpoint-", 11) == 0 && name[27] == '-' &&
               strcmp(name + 44, ".vsc") == 0 && hex16(name + 11, ret_tenant) && hex16(name + 28, ret_op);
}

int vs_statedir_list(int dir_fd, vs_statedir_fn fn, void *ctx) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de)
                        return errno ? -errno : 0;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int r = fn(ctx, de->d_name);
                if (r < 0)
                        return r;
        }
}

static int highest_journal(void *ctx, const char *name) {
        uint64_t *best = ctx, g;
        if (vs_journal_name_parse(name, &g) && g > *best)
                *best = g;
        return 0;
}

int vs_statedir_current_journal(int dir_fd, uint64_t *ret_generation) {
        uint64_t best = 0;
        int r = vs_statedir_list(dir_fd, highest_journal, &best);
        if (r < 0)
                return r;
        if (best == 0)
                return -ENOENT;
        *ret_generation = best;
        return 0;
}

int vs_pread_full(int fd, void *buf, size_t len, uint64_t offset) {
        uint8_t *p = buf;
        while (len > 0) {
                ssize_t n = pread(fd, p, len, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EBADMSG;
                p += n;
                len -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

int vs_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset) {
        const uint8_t *p = buf;
        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

int vs_read_file_at(int dir_fd, const char *name, struct vs_buf *b) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        b->len = 0;
        int r = vs_buf_reserve(b, (size_t) st.st_size);
        if (r < 0)
                return r;
        r = vs_pread_full(fd, b->data, (size_t) st.st_size, 0);
        if (r < 0)
                return r;
        b->len = (size_t) st.st_size;
        return 0;
}

int vs_write_file_atomic_with(int dir_fd, const char *name, int (*fill)(void *ctx, int fd), void *ctx,
                              int *ret_fd) {
        char tmp[VS_JOURNAL_NAME_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.tmp", name);
        (void) unlinkat(dir_fd, tmp, 0);
        _cleanup_close_ int fd = openat(dir_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int r = fill(ctx, fd);
        if (r >= 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (fsync(dir_fd) < 0)
                return -errno;
        if (ret_fd)
                *ret_fd = TAKE_FD(fd); // cppcheck-suppress unreadVariable
        return 0;
}

struct memory_content {
        const void *buf;
        size_t len;
};

static int fill_from_memory(void *ctx, int fd) {
        const struct memory_content *m = ctx;
        return vs_pwrite_full(fd, m->buf, m->len, 0);
}

int vs_write_file_atomic(int dir_fd, const char *name, const void *buf, size_t len, int *ret_fd) {
        struct memory_content m = { buf, len };
        return vs_write_file_atomic_with(dir_fd, name, fill_from_memory, &m, ret_fd);
}

int vs_write_sealed_file(int dir_fd, const char *name, const void *buf, size_t len) {
        if (len > SIZE_MAX - 8)
                return -EFBIG;
        struct vs_buf b = {};
        int r = vs_buf_reserve(&b, len + 8);
        if (r < 0)
                return r;
        memcpy(b.data, buf, len);
        vs_put_le64(b.data + len, vs_checksum(buf, len));
        r = vs_write_file_atomic(dir_fd, name, b.data, len + 8, NULL);
        vs_buf_free(&b);
        return r;
}

int vs_read_sealed_file(int dir_fd, const char *name, struct vs_buf *b) {
        int r = vs_read_file_at(dir_fd, name, b);
        if (r < 0)
                return r;
        if (b->len < 8 || vs_get_le64(b->data + b->len - 8) != vs_checksum(b->data, b->len - 8))
                return -EBADMSG;
        b->len -= 8;
        return 0;
}
