/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Access tokens on viewstampctl's side: read from a file or standard input (the first line,
 * without its line end, so `echo TOKEN > file` works), or generated (32 random bytes from the
 * kernel as 64 hex digits: as strong as a token gets, and safe in files, shells and D-Bus).
 */

#include <stdio.h>

/* *ret: a malloc()ed NUL-terminated token, possibly empty. -EMSGSIZE when the line exceeds
 * VS_TOKEN_MAX bytes, -EINVAL when it holds a NUL byte, -errno on a read error. */
int ctl_token_read(FILE *f, char **ret);
int ctl_token_read_file(const char *path, char **ret);
int ctl_token_generate(char **ret);
