/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration parser (vs_conf_load) over arbitrary file contents. A file it refuses
 * leaves the caller's settings untouched and says why with "PATH:..."; one it accepts names a
 * valid node, in the cluster's node list when there is one, and loads again to the same settings.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/conf.h"
#include "fuzz.h"
#include "util/cleanup.h"

static int load(int fd, struct vs_conf *c, char **error) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        memset(c, 0, sizeof *c); /* padding too, so that whole structs compare */
        vs_conf_defaults(c);
        struct vs_conf before = *c;
        int r = vs_conf_load(c, path, error);
        if (r < 0) {
                fuzz_assert(r != -ENOENT);
                fuzz_assert(memcmp(c, &before, sizeof before) == 0);
                fuzz_assert(*error && strncmp(*error, path, strlen(path)) == 0);
        }
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
        fuzz_assert(fd >= 0);
        if (write(fd, data, size) != (ssize_t) size)
                return 0;

        static struct vs_conf c, again; /* large: kept off the stack */
        _cleanup_free_ char *error = NULL, *error2 = NULL;
        int r = load(fd, &c, &error);
        if (r == -ENOMEM)
                return 0;
        if (r < 0)
                return 0;
        fuzz_assert(vs_conf_name_valid(c.name));
        fuzz_assert(c.n_nodes <= VS_CONF_NODES_MAX);
        fuzz_assert(c.n_nodes == 0 || vs_conf_find_node(&c, c.name));
        for (size_t i = 0; i < c.n_nodes; i++)
                fuzz_assert(vs_conf_name_valid(c.nodes[i].name));
        fuzz_assert(load(fd, &again, &error2) == 0);
        fuzz_assert(memcmp(&c, &again, sizeof c) == 0);
        return 0;
}
