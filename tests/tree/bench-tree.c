/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Tree benchmark: prints memory overhead per node at 1M nodes (from mallinfo2: every byte the
 * allocator hands out, including its own headers and the index, minus the value bytes) and
 * single-core throughput of create/get/exists/set/list/multi/snapshot/restore at 100k nodes.
 * Usage: bench-tree [nodes-for-memory [nodes-for-throughput]]
 */

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapbuf.h"
#include "tree/tree.h"
#include "tree/tree_sm.h"
#include "util/cleanup.h"

#define CHILDREN_PER_DIR 1000

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static size_t heap_in_use(void) {
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks + mi.hblkhd;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-tree: %s failed: %d\n", what, r);
        exit(EXIT_FAILURE);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Paths of n nodes: /dXXXXX directories with CHILDREN_PER_DIR children /dXXXXX/nXXXXXXX each. */
static char *node_path(size_t i, char buf[static 32]) {
        size_t dir = i / (CHILDREN_PER_DIR + 1), k = i % (CHILDREN_PER_DIR + 1);
        if (k == 0)
                snprintf(buf, 32, "/d%05zu", dir);
        else
                snprintf(buf, 32, "/d%05zu/n%07zu", dir, k - 1);
        return buf;
}

static struct tree *build(size_t n, size_t value_len, double *ret_seconds) {
        struct tree *t;
        char buf[32], value[64] = {};
        int r = tree_new(NULL, &t);
        if (r < 0)
                die("tree_new", r);
        double start = now();
        for (size_t i = 0; i < n; i++) {
                r = tree_create(t, i + 1, node_path(i, buf), value, value_len, 0, NULL, NULL);
                if (r != 0)
                        die("create", r);
        }
        if (ret_seconds)
                *ret_seconds = now() - start;
        return t;
}

static void memory(size_t n) {
        for (size_t value_len = 0; value_len <= 32; value_len += 32) {
                size_t before = heap_in_use();
                struct tree *t = build(n, value_len, NULL);
                size_t used = heap_in_use() - before;
                printf("memory: %zu nodes, %2zu-byte values: %.1f bytes/node overhead (heap %.1f MiB, excluding %zu value bytes each)\n",
                       n, value_len, (double) (used - n * value_len) / (double) n, (double) used / (1024 * 1024), value_len);
                tree_free(t);
        }
}

static void report(const char *what, size_t ops, double seconds) {
        printf("%-28s %10zu ops in %6.3f s: %8.2f M ops/s, %7.1f ns/op\n", what, ops, seconds,
               (double) ops / seconds / 1e6, seconds / (double) ops * 1e9);
}

static int count_child(void *ctx, const char *name, const struct tree_stat *st) {
        (*(size_t *) ctx)++;
        return 0;
}

/* Encoded commands through the state-machine interface: protobuf decoding, the tree and reply
 * encoding, as a replica pays per op. Commands are encoded beforehand. */
static void sm_commands(struct tree *t, char (*paths)[32], size_t npaths, uint64_t op) {
        const size_t count = 1000000, ncmds = 1024;
        uint8_t *gets[1024], *sets[1024];
        size_t get_len[1024], set_len[1024];
        double start;
        int r;

        for (size_t i = 0; i < ncmds; i++)
                if (tree_sm_encode_get(paths[i % npaths], &gets[i], &get_len[i]) < 0 ||
                    tree_sm_encode_set(paths[i % npaths], "0123456789abcdef", 16, TREE_ANY_VERSION, &sets[i], &set_len[i]) < 0)
                        die("encode", -ENOMEM);

        start = now();
        for (size_t i = 0; i < count; i++) {
                uint8_t *reply;
                size_t len;
                r = tree_sm_ops.read(t, gets[i % ncmds], get_len[i % ncmds], &reply, &len);
                if (r < 0)
                        die("sm read", r);
                free(reply);
        }
        report("sm read (get)", count, now() - start);

        start = now();
        for (size_t i = 0; i < count; i++) {
                uint8_t *reply;
                size_t len;
                r = tree_sm_ops.apply(t, op + i, sets[i % ncmds], set_len[i % ncmds], &reply, &len);
                if (r < 0)
                        die("sm apply", r);
                free(reply);
        }
        report("sm apply (set, 16 bytes)", count, now() - start);

        for (size_t i = 0; i < ncmds; i++) {
                free(gets[i]);
                free(sets[i]);
        }
}

static void throughput(size_t n) {
        const size_t gets = 10 * 1000 * 1000, sets = 2 * 1000 * 1000;
        char buf[32];
        double seconds, start;
        int r;

        struct tree *t = build(n, 16, &seconds);
        report("create", n, seconds);

        /* Pre-built random paths, so that only the tree is measured. */
        const size_t npaths = 1 << 16;
        char (*paths)[32] = malloc(npaths * sizeof(*paths));
        if (!paths)
                die("malloc", -ENOMEM);
        for (size_t i = 0; i < npaths; i++)
                node_path(rnd() % n, paths[i]);

        const void *v;
        struct tree_stat st;
        size_t sum = 0;
        start = now();
        for (size_t i = 0; i < gets; i++) {
                r = tree_get(t, paths[i & (npaths - 1)], &v, &st);
                if (r != 0)
                        die("get", r);
                sum += st.value_len;
        }
        report("get (value + stat)", gets, now() - start);

        start = now();
        for (size_t i = 0; i < gets; i++)
                sum += tree_exists(t, paths[i & (npaths - 1)], NULL) == 0;
        report("exists", gets, now() - start);

        start = now();
        for (size_t i = 0; i < gets; i++)
                sum += tree_exists(t, "/d00001/nope", NULL) == TREE_ERR_NO_NODE;
        report("exists (missing)", gets, now() - start);

        start = now();
        for (size_t i = 0; i < sets; i++) {
                r = tree_set(t, n + i, paths[i & (npaths - 1)], "0123456789abcdef", 16, TREE_ANY_VERSION, NULL);
                if (r != 0)
                        die("set", r);
        }
        report("set (16 bytes)", sets, now() - start);

        start = now();
        for (size_t i = 0; i < sets; i++) {
                const char *p = paths[i & (npaths - 1)];
                r = tree_exists(t, p, &st);
                if (r == 0)
                        r = tree_set(t, n + sets + i, p, "x", 1, st.version, NULL);
                if (r != 0)
                        die("cas", r);
        }
        report("exists + set(version)", sets, now() - start);

        const size_t multis = 500000;
        start = now();
        for (size_t i = 0; i < multis; i++) {
                struct tree_op ops[4];
                for (size_t k = 0; k < 4; k++)
                        ops[k] = (struct tree_op) { .kind = TREE_OP_SET, .path = paths[(i * 4 + k) & (npaths - 1)],
                                                    .value = "m", .value_len = 1, .version = TREE_ANY_VERSION };
                r = tree_multi(t, 3 * n + i, ops, 4, NULL, NULL);
                if (r != 0)
                        die("multi", r);
        }
        report("multi (4 sets)", multis, now() - start);

        sm_commands(t, paths, npaths, 3 * n + multis);

        const size_t lists = 10000;
        size_t children = 0;
        start = now();
        for (size_t i = 0; i < lists; i++)
                if (tree_list(t, node_path((rnd() % (n / (CHILDREN_PER_DIR + 1))) * (CHILDREN_PER_DIR + 1), buf), count_child, &children) != 0)
                        die("list", -EINVAL);
        seconds = now() - start;
        report("list (1000 children)", lists, seconds);
        printf("%-28s %10zu children listed: %8.2f M children/s\n", "", children, (double) children / seconds / 1e6);

        struct snapbuf s;
        start = now();
        r = snapbuf_take(t, &s);
        if (r < 0)
                die("snapshot", r);
        seconds = now() - start;
        printf("%-28s %10zu nodes in %6.3f s: %8.1f MB/s (%zu bytes)\n", "snapshot", tree_count(t), seconds,
               (double) s.len / seconds / 1e6, s.len);

        struct tree *u;
        r = tree_new(NULL, &u);
        if (r < 0)
                die("tree_new", r);
        start = now();
        r = snapbuf_restore(u, &s);
        if (r < 0)
                die("restore", r);
        seconds = now() - start;
        printf("%-28s %10zu nodes in %6.3f s: %8.1f MB/s\n", "restore", tree_count(u), seconds, (double) s.len / seconds / 1e6);

        size_t deleted = 0;
        start = now();
        for (size_t i = 0; i < n; i += CHILDREN_PER_DIR + 1) {
                r = tree_delete(u, node_path(i, buf), TREE_ANY_VERSION, TREE_DELETE_RECURSIVE);
                if (r != 0)
                        die("delete", r);
                deleted += CHILDREN_PER_DIR + 1;
        }
        report("delete (recursive, nodes)", deleted, now() - start);

        if (sum == 42)
                printf("\n");
        snapbuf_done(&s);
        free(paths);
        tree_free(u);
        tree_free(t);
}

int main(int argc, char **argv) {
        size_t mem_nodes = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        size_t tp_nodes = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;

        if (mem_nodes < CHILDREN_PER_DIR + 1 || tp_nodes < CHILDREN_PER_DIR + 1) {
                fprintf(stderr, "bench-tree: node counts must be at least %d\n", CHILDREN_PER_DIR + 1);
                return EXIT_FAILURE;
        }
        memory(mem_nodes);
        printf("throughput at %zu nodes, one core:\n", tp_nodes);
        throughput(tp_nodes);
        return EXIT_SUCCESS;
}
