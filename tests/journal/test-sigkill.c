/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A writer process appends a stream of records for several tenants (entries, and metadata that
 * advances a checkpoint queued just before it, so that checkpoint files and rewrites happen too), reporting every "durable up to seq" through a
 * pipe; it is killed with SIGKILL at random moments, hundreds of times. After each kill the journal
 * is reopened and every seq reported durable before the kill must be there, intact, with no hole.
 * A second run kills only while a rewrite is being built beside the growing file.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"
#include "log/log.h"
#include "util/cleanup.h"
#include "../check-run.h"

#define TENANTS 4
#define META_EVERY 50
#define ITERATIONS 300
#define TIME_BUDGET_S 40

static char dir[] = "/tmp/vs-sigkill-test-XXXXXX";

struct report {
        uint64_t tenant;
        uint64_t seq;
};

/* Reports with these tenants say a rewrite is being built, and that it is installed. */
#define REWRITING UINT64_MAX
#define REWRITTEN (UINT64_MAX - 1)

/* Small, so that rewrites are frequent; smaller still when kills wait for them. */
static uint64_t compact_bytes;

static struct vs_journal_options opts(void) {
        return (struct vs_journal_options) { .dir = dir, .cluster_id = 9, .node_id = 1,
                                             .compact_bytes = compact_bytes };
}

/* The command bytes of entry `seq` of `tenant`: derived, so the checker can tell them apart. */
static uint32_t fill_command(uint8_t *buf, uint64_t tenant, uint64_t seq) {
        uint32_t len = (uint32_t) ((seq * 37 + tenant) % 300);
        for (uint32_t i = 0; i < len; i++)
                buf[i] = (uint8_t) (seq + tenant * 3 + i);
        return len;
}

static struct vr_record record_for(uint64_t tenant, uint64_t seq, uint8_t *buf) {
        if (seq % META_EVERY == 0)
                return (struct vr_record) {
                        .kind = VR_RECORD_META, .seq = seq,
                        .meta = { .epoch = 1, .view = seq, .last_normal_view = seq, .commit = seq - 1,
                                  .checkpoint_op = seq > 200 ? seq - 200 : 0 },
                };
        return (struct vr_record) {
                .kind = VR_RECORD_ENTRY, .seq = seq,
                .entry = { .op = seq, .view = 1, .client_id = tenant, .request = seq,
                           .len = fill_command(buf, tenant, seq), .data = buf },
        };
}

static void report(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        int fd = *(int *) ctx;
        struct report r = { tenant, seq };
        if (error != 0 || write(fd, &r, sizeof(r)) != (ssize_t) sizeof(r))
                _exit(3);
}

static _Noreturn void writer(int fd, unsigned seed) {
        struct vs_journal_options o = opts();
        struct vs_journal *j;
        uint64_t next[TENANTS];
        uint8_t buf[300];
        bool rewriting = false;

        if (vs_journal_open(&o, &j, NULL, 0) < 0)
                _exit(2);
        for (uint64_t t = 0; t < TENANTS; t++) {
                const struct vs_scan_tenant *st = vs_scan_find(vs_journal_recovery(j), t);
                next[t] = st ? st->max_seq + 1 : 1;
        }
        vs_journal_recovery_done(j);
        srand(seed);
        for (;;) {
                int n = 1 + rand() % 24;
                for (int i = 0; i < n; i++) {
                        uint64_t t = (uint64_t) (rand() % TENANTS);
                        struct vr_record r = record_for(t, next[t], buf);
                        /* the checkpoint a META names is queued before it, as the core does */
                        if (r.kind == VR_RECORD_META && r.meta.checkpoint_op > 0) {
                                uint8_t *snap = malloc(300);
                                if (!snap)
                                        _exit(5);
                                uint32_t len = fill_command(snap, t, r.meta.checkpoint_op);
                                if (vs_journal_checkpoint(j, t, r.meta.checkpoint_op, snap, len) < 0)
                                        _exit(4);
                        }
                        if (vs_journal_append(j, t, &r) < 0)
                                _exit(4);
                        next[t]++;
                }
                /* half the batches written by this thread when the I/O thread is idle, as a node's
                 * loop does */
                if (rand() % 2)
                        vs_journal_commit_here(j, report, NULL, &fd);
                else
                        vs_journal_commit(j);
                struct pollfd p = { .fd = vs_journal_fd(j), .events = POLLIN };
                if (poll(&p, 1, rand() % 2) > 0)
                        vs_journal_dispatch(j, report, NULL, &fd);
                struct vs_journal_stats st;
                vs_journal_stats(j, &st);
                if (st.rewriting != rewriting) {
                        struct report r = { st.rewriting ? REWRITING : REWRITTEN, st.rewrites };
                        if (write(fd, &r, sizeof(r)) != (ssize_t) sizeof(r))
                                _exit(3);
                }
                rewriting = st.rewriting;
        }
}

/* Everything reported durable is in the reopened journal, exactly as written. */
static void check_recovered(const uint64_t durable[TENANTS]) {
        struct vs_journal_options o = opts();
        struct vs_journal *j;
        char err[256] = "";
        uint8_t buf[300];

        ck_assert_msg(vs_journal_open(&o, &j, err, sizeof(err)) == 0, "reopen: %s", err);
        const struct vs_scan *s = vs_journal_recovery(j);
        for (size_t i = 0; i < s->n_damage; i++)
                ck_assert_msg(s->damage[i].tail, "hole at offset %llu", (unsigned long long) s->damage[i].offset);
        for (uint64_t t = 0; t < TENANTS; t++) {
                if (durable[t] == 0)
                        continue;
                const struct vs_scan_tenant *st = vs_scan_find(s, t);
                ck_assert_ptr_nonnull(st);
                ck_assert_uint_eq(st->missing_from, 0);
                ck_assert_uint_ge(st->max_seq, durable[t]);
                uint64_t last_meta = durable[t] - durable[t] % META_EVERY;
                if (last_meta > 0) {
                        ck_assert(st->has_meta);
                        ck_assert_uint_ge(st->meta.view, last_meta);
                }
                uint64_t floor = st->has_meta ? st->meta.checkpoint_op : 0;
                if (floor > 0) {
                        /* the checkpoint a durable META names is there, whole */
                        struct vs_checkpoint_reader *rd;
                        uint8_t got[300];
                        uint32_t len = fill_command(buf, t, floor);
                        ck_assert_int_eq(vs_journal_checkpoint_open(j, t, floor, &rd), 0);
                        ck_assert_uint_eq(vs_checkpoint_length(rd), len);
                        ck_assert_int_eq(vs_checkpoint_read(rd, got, len), 0);
                        ck_assert(memcmp(got, buf, len) == 0);
                        vs_checkpoint_close(rd);
                }
                size_t k = 0;
                while (k < st->n_entries && st->entries[k].op <= floor)
                        k++;
                for (uint64_t seq = floor + 1; seq <= durable[t]; seq++) {
                        if (seq % META_EVERY == 0)
                                continue;
                        ck_assert_msg(k < st->n_entries && st->entries[k].op == seq,
                                      "tenant %llu lost durable seq %llu", (unsigned long long) t,
                                      (unsigned long long) seq);
                        uint32_t len = fill_command(buf, t, seq);
                        ck_assert_uint_eq(st->entries[k].len, len);
                        ck_assert(memcmp(st->entries[k].data, buf, len) == 0);
                        k++;
                }
        }
        vs_journal_close(j);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Takes the writer's reports until the marker `what` comes; false if none does. */
static bool await_marker(int fd, uint64_t what, uint64_t durable[TENANTS], unsigned *reports) {
        struct report r;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 5000) != 1 || read(fd, &r, sizeof(r)) != (ssize_t) sizeof(r))
                        return false;
                if (r.tenant == what)
                        return true;
                if (r.tenant == REWRITING || r.tenant == REWRITTEN)
                        continue;
                ck_assert_uint_lt(r.tenant, TENANTS);
                ck_assert_uint_ge(r.seq, durable[r.tenant]);
                durable[r.tenant] = r.seq;
                (*reports)++;
        }
}

/* Kills a writer hundreds of times and checks the reopened journal after each kill: at random
 * moments, or (during_rewrite) alternately at a random moment while the writer's first rewrite is
 * built and switched to (as long as the last one took) and just after one was installed (so
 * that the file shrinks: a kill before the switch leaves the old file, and the next rewrite
 * waits for it to double). */
static void kill_writers(bool during_rewrite) {
        uint64_t durable[TENANTS] = {};
        unsigned kills = 0, reports = 0, in_rewrite = 0;
        uint64_t rewrite_usec = 10000;
        time_t start = time(NULL);

        strcpy(dir, "/tmp/vs-sigkill-test-XXXXXX");
        compact_bytes = during_rewrite ? 16 * 1024 : 128 * 1024;
        ck_assert_ptr_nonnull(mkdtemp(dir));
        srand(12345);
        for (unsigned it = 0; it < ITERATIONS && time(NULL) - start < TIME_BUDGET_S; it++) {
                int p[2];
                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                pid_t pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        close(p[0]);
                        writer(p[1], it + 1);
                }
                close(p[1]);
                if (during_rewrite && await_marker(p[0], REWRITING, durable, &reports)) {
                        if (it % 2 == 0) {
                                in_rewrite++;
                                usleep((useconds_t) ((uint64_t) rand() % rewrite_usec));
                        } else {
                                uint64_t started = now_usec();
                                if (await_marker(p[0], REWRITTEN, durable, &reports))
                                        rewrite_usec = now_usec() - started + 1;
                                usleep((useconds_t) (rand() % 2000));
                        }
                } else
                        usleep((useconds_t) (rand() % 25000));
                ck_assert_int_eq(kill(pid, SIGKILL), 0);
                int status;
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                              "writer failed on its own: status %d", status);
                kills++;

                struct report r;
                ssize_t n;
                while ((n = read(p[0], &r, sizeof(r))) == (ssize_t) sizeof(r)) {
                        if (r.tenant == REWRITING || r.tenant == REWRITTEN)
                                continue;
                        ck_assert_uint_lt(r.tenant, TENANTS);
                        ck_assert_uint_ge(r.seq, durable[r.tenant]);
                        durable[r.tenant] = r.seq;
                        reports++;
                }
                ck_assert_int_eq(n, 0);
                close(p[0]);
                check_recovered(durable);
        }
        fprintf(stderr, "%u kills (%u while a rewrite was built), %u durable reports, durable seqs %llu %llu %llu %llu\n",
                kills, in_rewrite, reports, (unsigned long long) durable[0], (unsigned long long) durable[1],
                (unsigned long long) durable[2], (unsigned long long) durable[3]);
        /* each kill during a rewrite first waits for one to start: about the file's size written,
         * which on a loaded machine's slow syncs takes seconds */
        ck_assert_uint_ge(kills, during_rewrite ? 10 : 100);
        ck_assert_uint_gt(reports, 0);
        if (during_rewrite)
                ck_assert_uint_ge(in_rewrite, kills / 3);

        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_sigkill_never_loses_durable) {
        kill_writers(false);
}
END_TEST

START_TEST(test_sigkill_during_rewrites) {
        kill_writers(true);
}
END_TEST

static Suite *sigkill_suite(void) {
        Suite *s = suite_create("journal-sigkill");
        TCase *tc = tcase_create("sigkill");
        tcase_set_timeout(tc, TIME_BUDGET_S + 60);
        tcase_add_test(tc, test_sigkill_never_loses_durable);
        tcase_add_test(tc, test_sigkill_during_rewrites);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        /* every reopen after a kill cuts a torn tail: expected here, not worth a line each */
        vs_log_set_level(VS_LOG_ERR);
        return vs_check_run(sigkill_suite());
}
