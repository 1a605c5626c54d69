/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client/viewstamp.h"
#include "ctl/token.h"
#include "util/cleanup.h"

#define GENERATED_BYTES 32

int ctl_token_read(FILE *f, char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        errno = 0;
        ssize_t n = getline(&line, &cap, f);
        if (n < 0) {
                if (errno != 0)
                        return -errno;
                *ret = strdup(""); /* empty input */
                return *ret ? 0 : -ENOMEM;
        }
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
                line[--n] = '\0';
        if (n > VS_TOKEN_MAX)
                return -EMSGSIZE;
        if (strlen(line) != (size_t) n)
                return -EINVAL;
        *ret = TAKE_PTR(line);
        return 0;
}

int ctl_token_read_file(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        return ctl_token_read(f, ret);
}

int ctl_token_generate(char **ret) {
        uint8_t b[GENERATED_BYTES];
        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -EIO;
        char *s = malloc(2 * sizeof b + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof b; i++)
                sprintf(s + 2 * i, "%02x", b[i]);
        explicit_bzero(b, sizeof b);
        *ret = s;
        return 0;
}
