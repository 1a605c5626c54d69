/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Scope-bound cleanup in the style of systemd: a variable declared with one of
 * these attributes is released when it leaves scope, so early returns on error
 * paths cannot leak. Use TAKE_PTR()/TAKE_FD() to hand ownership to the caller.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)           \
        static inline void func##p(type *p) {             \
                if (*p)                                   \
                        func(*p);                         \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                                       \
        ({                                                \
                __typeof__(p) _taken = (p);               \
                (p) = NULL;                               \
                _taken;                                   \
        })

#define TAKE_FD(fd)                                       \
        ({                                                \
                int _taken = (fd);                        \
                (fd) = -1;                                \
                _taken;                                   \
        })

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
