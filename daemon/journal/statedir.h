/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The state directory's file names and the few whole-file operations the journal, the checkpoints
 * and the offline tool share. Every function takes a directory fd and a name inside it; names
 * follow journal.h's layout. Functions return 0 or a negative errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define VS_JOURNAL_NAME_MAX 64

void vs_journal_name(char buf[VS_JOURNAL_NAME_MAX], uint64_t generation);
void vs_checkpoint_name(char buf[VS_JOURNAL_NAME_MAX], uint64_t tenant, uint64_t op);

/* Parses names made by the functions above; false for anything else. */
bool vs_journal_name_parse(const char *name, uint64_t *ret_generation);
bool vs_checkpoint_name_parse(const char *name, uint64_t *ret_tenant, uint64_t *ret_op);

typedef int (*vs_statedir_fn)(void *ctx, const char *name);
/* Calls fn for every entry of the directory except . and ..; stops at fn's negative return. */
int vs_statedir_list(int dir_fd, vs_statedir_fn fn, void *ctx);

/* Highest journal generation in the directory, or -ENOENT when there is none. */
int vs_statedir_current_journal(int dir_fd, uint64_t *ret_generation);

/* Reads the whole file into b (replacing its contents). */
int vs_read_file_at(int dir_fd, const char *name, struct vs_buf *b);
/* Reads exactly len bytes at offset, or -EBADMSG if the file ends first. */
int vs_pread_full(int fd, void *buf, size_t len, uint64_t offset);
int vs_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset);

/* Creates `name` atomically: fill() writes the content into a temporary file (fd open O_RDWR),
 * then fdatasync, rename, fsync of the directory; after a crash the file is whole or absent. On
 * success returns the new file's fd if ret_fd is not NULL. fill returns 0 or a negative errno. */
int vs_write_file_atomic_with(int dir_fd, const char *name, int (*fill)(void *ctx, int fd), void *ctx,
                              int *ret_fd);
/* The same with the content in memory. */
int vs_write_file_atomic(int dir_fd, const char *name, const void *buf, size_t len, int *ret_fd);

/* Small files sealed with their checksum: the content followed by its 8-byte vs_checksum,
 * written atomically as above. Reading gives back the content only (b->len excludes the seal),
 * or -EBADMSG when the seal does not match. */
int vs_write_sealed_file(int dir_fd, const char *name, const void *buf, size_t len);
int vs_read_sealed_file(int dir_fd, const char *name, struct vs_buf *b);
