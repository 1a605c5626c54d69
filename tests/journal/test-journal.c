/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The journal's file layer: group commit and durable reporting, recovery after reopen, torn tails
 * and holes on a real file, refusals that change nothing, running out of space (an enforced limit
 * and, when the test may mount, a real full tmpfs), rewriting with reclaim below checkpoints while
 * batches go on, and checkpoint files.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "journal/checkpoint.h"
#include "journal/journal.h"
#include "journal/statedir.h"
#include "util/cleanup.h"
#include "../check-run.h"

#define CLUSTER 0xc1
#define NODE 0x2
#define MAX_TENANTS 8

static char dir[] = "/tmp/vs-journal-test-XXXXXX";

struct durable {
        uint64_t seq[MAX_TENANTS];
        int error[MAX_TENANTS];
        unsigned calls;
};

static void on_durable(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        struct durable *d = ctx;
        ck_assert_uint_lt(tenant, MAX_TENANTS);
        if (error == 0)
                ck_assert_uint_gt(seq, d->seq[tenant]);
        d->seq[tenant] = seq;
        d->error[tenant] = error;
        d->calls++;
}

/* Runs completions until the tenant is durable up to seq or reports an error. */
static int wait_durable(struct vs_journal *j, struct durable *d, uint64_t tenant, uint64_t seq) {
        while (d->seq[tenant] < seq && d->error[tenant] == 0) {
                struct pollfd p = { .fd = vs_journal_fd(j), .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 10000), 1);
                vs_journal_dispatch(j, on_durable, NULL, d);
        }
        return d->error[tenant];
}

/* Loop tests run with _i 0 (vs_journal_commit: the I/O thread writes) and 1
 * (vs_journal_commit_here: the caller writes while the I/O thread is idle). */
static bool here;

static void commit(struct vs_journal *j, struct durable *d) {
        if (here)
                (void) vs_journal_commit_here(j, on_durable, NULL, d);
        else
                vs_journal_commit(j);
}

static void setup(void) {
        here = false;
        strcpy(dir, "/tmp/vs-journal-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        char cmd[128], mnt[300];
        snprintf(mnt, sizeof(mnt), "%s/small", dir);
        (void) umount2(mnt, MNT_DETACH);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static struct vs_journal_options opts(void) {
        return (struct vs_journal_options) { .dir = dir, .cluster_id = CLUSTER, .node_id = NODE };
}

static struct vs_journal *open_ok(const struct vs_journal_options *o) {
        struct vs_journal *j = NULL;
        char err[256] = "";
        int r = vs_journal_open(o, &j, err, sizeof(err));
        ck_assert_msg(r == 0, "open: %d %s", r, err);
        return j;
}

static uint8_t payload[256];

static struct vr_record entry(uint64_t seq, uint64_t op) {
        return (struct vr_record) {
                .kind = VR_RECORD_ENTRY, .seq = seq,
                .entry = { .op = op, .view = 1, .client_id = 42, .request = op,
                           .len = (uint32_t) (op % sizeof(payload)), .data = payload },
        };
}

static int append_entry(struct vs_journal *j, uint64_t tenant, uint64_t seq, uint64_t op) {
        struct vr_record e = entry(seq, op);
        return vs_journal_append(j, tenant, &e);
}

/* Appends n entries of tenant (seq, op), (seq + 1, op + 1), ... as one batch and waits for them. */
static void commit_entries(struct vs_journal *j, struct durable *d, uint64_t tenant, uint64_t seq, uint64_t op,
                           unsigned n) {
        for (unsigned i = 0; i < n; i++)
                ck_assert_int_eq(append_entry(j, tenant, seq + i, op + i), 0);
        commit(j, d);
        ck_assert_int_eq(wait_durable(j, d, tenant, seq + n - 1), 0);
}

static void check_entries(const struct vs_scan_tenant *t, uint64_t first, uint64_t last) {
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->n_entries, last >= first ? last - first + 1 : 0);
        for (size_t i = 0; i < t->n_entries; i++) {
                ck_assert_uint_eq(t->entries[i].op, first + i);
                ck_assert_uint_eq(t->entries[i].len, (first + i) % sizeof(payload));
                ck_assert(memcmp(t->entries[i].data, payload, t->entries[i].len) == 0);
        }
}

/* Reopens and checks that the tenant's entries are exactly ops first..last, with no damage. */
static void reopen_check(const struct vs_journal_options *o, uint64_t tenant, uint64_t first, uint64_t last) {
        struct vs_journal *j = open_ok(o);
        ck_assert_uint_eq(vs_journal_recovery(j)->n_damage, 0);
        ck_assert_uint_eq(vs_scan_find(vs_journal_recovery(j), tenant)->missing_from, 0);
        check_entries(vs_scan_find(vs_journal_recovery(j), tenant), first, last);
        vs_journal_close(j);
}

/* Appends ops 1..n for each of `tenants` tenants, one commit per round, and waits for all. */
static void fill(struct vs_journal *j, struct durable *d, unsigned tenants, uint64_t n) {
        for (uint64_t op = 1; op <= n; op++) {
                for (unsigned t = 0; t < tenants; t++)
                        ck_assert_int_eq(append_entry(j, t, op, op), 0);
                commit(j, d);
        }
        for (unsigned t = 0; t < tenants; t++)
                ck_assert_int_eq(wait_durable(j, d, t, n), 0);
}

static char *current_path(void) {
        uint64_t g;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(vs_statedir_current_journal(dfd, &g), 0);
        char name[VS_JOURNAL_NAME_MAX], *path;
        vs_journal_name(name, g);
        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        return path;
}

START_TEST(test_group_commit_and_reopen) {
        here = _i;
        struct vs_journal_options o = opts();
        struct durable d = {};
        struct vs_journal *j = open_ok(&o);

        ck_assert_uint_eq(vs_journal_recovery(j)->n_tenants, 0);
        ck_assert(vs_journal_created(j));
        vs_journal_recovery_done(j);
        fill(j, &d, 3, 50);
        struct vr_record m = { .kind = VR_RECORD_META, .seq = 51,
                               .meta = { .epoch = 1, .view = 4, .last_normal_view = 4, .commit = 40 } };
        ck_assert_int_eq(vs_journal_append(j, 1, &m), 0);
        struct vr_record tr = { .kind = VR_RECORD_TRUNCATE, .seq = 52, .after = 45 };
        ck_assert_int_eq(vs_journal_append(j, 1, &tr), 0);
        /* a seq that does not increase is refused and changes nothing */
        ck_assert_int_eq(vs_journal_append(j, 1, &tr), -EINVAL);
        struct vr_record bad = { .kind = VR_RECORD_META, .seq = 53, .meta.status = 99 };
        ck_assert_int_eq(vs_journal_append(j, 1, &bad), -EINVAL);
        commit(j, &d);
        ck_assert_int_eq(wait_durable(j, &d, 1, 52), 0);
        vs_journal_close(j);

        j = open_ok(&o);
        ck_assert(!vs_journal_created(j));
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        ck_assert_uint_eq(s->n_tenants, 3);
        check_entries(vs_scan_find(s, 0), 1, 50);
        check_entries(vs_scan_find(s, 1), 1, 45);
        check_entries(vs_scan_find(s, 2), 1, 50);
        ck_assert(vs_scan_find(s, 1)->has_meta);
        ck_assert_uint_eq(vs_scan_find(s, 1)->meta.view, 4);
        ck_assert_uint_eq(vs_scan_find(s, 1)->max_seq, 52);
        vs_journal_recovery_done(j);

        /* appends continue the chain after reopening */
        memset(&d, 0, sizeof(d));
        ck_assert_int_eq(append_entry(j, 1, 52, 47), -EINVAL);
        commit_entries(j, &d, 1, 53, 46, 1);
        vs_journal_close(j);
        reopen_check(&o, 1, 1, 46);
}
END_TEST

START_TEST(test_torn_tail_is_cut) {
        struct vs_journal_options o = opts();
        struct durable d = {};
        struct vs_journal *j = open_ok(&o);
        fill(j, &d, 2, 20);
        uint64_t end = vs_journal_size(j);
        vs_journal_close(j);

        _cleanup_free_ char *path = current_path();
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        /* zeros are kept ahead of the records */
        ck_assert_int_gt(st.st_size, (off_t) end);
        /* a torn batch: half of a record, in the preallocated zeros */
        _cleanup_close_ int fd = open(path, O_WRONLY);
        struct vs_buf b = {};
        struct vr_record e = entry(21, 21);
        ck_assert_int_eq(vs_format_record_encode(&b, &(struct vs_record_place) { .generation = 1, .batch = 99, .prev_seq = 20 }, &e), 0);
        ck_assert_int_eq(pwrite(fd, b.data, b.len / 2, (off_t) end), (ssize_t) (b.len / 2));
        vs_buf_free(&b);

        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 1);
        ck_assert(s->damage[0].tail);
        ck_assert_uint_eq(s->damage[0].offset, end);
        check_entries(vs_scan_find(s, 0), 1, 20);
        vs_journal_recovery_done(j);
        struct stat st2;
        ck_assert_int_eq(stat(path, &st2), 0);
        ck_assert_int_eq(st2.st_size, (off_t) end);
        vs_journal_close(j);

        /* the zeros alone are no damage */
        j = open_ok(&o);
        memset(&d, 0, sizeof(d));
        commit_entries(j, &d, 0, 21, 21, 5);
        vs_journal_close(j);
        reopen_check(&o, 0, 1, 25);
}
END_TEST

START_TEST(test_hole_survives_reopen) {
        struct vs_journal_options o = opts();
        struct durable d = {};
        struct vs_journal *j = open_ok(&o);
        fill(j, &d, 1, 30);
        /* a later batch, which proves the batches before it durable */
        commit_entries(j, &d, 0, 31, 31, 1);
        vs_journal_close(j);

        /* flip a bit in the body of op 10 (tenant 0's tenth record) */
        _cleanup_free_ char *path = current_path();
        struct vs_buf b = {};
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(vs_read_file_at(dfd, strrchr(path, '/') + 1, &b), 0);
        size_t off = VS_FORMAT_FILE_HEADER_SIZE;
        for (uint64_t op = 1; op < 10; op++) {
                struct vr_record e = entry(op, op);
                off += vs_format_record_size(&e);
        }
        _cleanup_close_ int fd = open(path, O_WRONLY);
        uint8_t byte = b.data[off + VS_FORMAT_RECORD_HEADER_SIZE + 3] ^ 0x40;
        ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t) (off + VS_FORMAT_RECORD_HEADER_SIZE + 3)), 1);
        vs_buf_free(&b);

        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 1);
        ck_assert(!s->damage[0].tail);
        ck_assert_uint_eq(vs_scan_find(s, 0)->missing_from, 10);
        check_entries(vs_scan_find(s, 0), 1, 9);
        vs_journal_close(j);

        /* the rewrite made the hole explicit: the damaged file is gone, the hole is not */
        ck_assert_int_eq(access(path, F_OK), -1);
        j = open_ok(&o);
        s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        ck_assert_uint_eq(vs_scan_find(s, 0)->missing_from, 10);
        check_entries(vs_scan_find(s, 0), 1, 9);
        uint64_t next = vs_scan_find(s, 0)->max_seq + 1;
        vs_journal_recovery_done(j);

        /* the core's repair heals it */
        memset(&d, 0, sizeof(d));
        ck_assert_int_eq(vs_journal_append(j, 0, &(struct vr_record) { .kind = VR_RECORD_TRUNCATE,
                                                                      .seq = next, .after = 9 }), 0);
        commit_entries(j, &d, 0, next + 1, 10, 1);
        vs_journal_close(j);
        reopen_check(&o, 0, 1, 10);
}
END_TEST

/* A batch followed by nothing is sealed when the journal goes idle and when it closes, so that
 * rot in it is a hole (repaired from peers), not taken for a torn write and cut. */
START_TEST(test_seal_tells_rot_from_torn) {
        here = _i;
        struct vs_journal_options o = opts();
        struct durable d = {};
        struct vs_journal *j = open_ok(&o);

        commit_entries(j, &d, 0, 1, 1, 10);
        uint64_t end = vs_journal_size(j);
        for (int i = 0; i < 100 && vs_journal_size(j) == end; i++)
                usleep(10 * 1000);
        ck_assert_uint_eq(vs_journal_size(j), end + VS_FORMAT_RECORD_HEADER_SIZE);
        commit_entries(j, &d, 0, 11, 11, 2);
        vs_journal_close(j);

        /* rot in op 12, the last record of the last batch: only the seal at close follows it */
        _cleanup_free_ char *path = current_path();
        struct vs_buf b = {};
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(vs_read_file_at(dfd, strrchr(path, '/') + 1, &b), 0);
        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(b.data, b.len, &s), 0);
        struct vr_record e12 = entry(12, 12);
        uint64_t at = s.valid_end - VS_FORMAT_RECORD_HEADER_SIZE - vs_format_record_size(&e12);
        vs_scan_done(&s);
        vs_buf_free(&b);
        _cleanup_close_ int fd = open(path, O_RDWR);
        uint8_t byte;
        ck_assert_int_eq(pread(fd, &byte, 1, (off_t) at + VS_FORMAT_RECORD_HEADER_SIZE + 1), 1);
        byte ^= 2;
        ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t) at + VS_FORMAT_RECORD_HEADER_SIZE + 1), 1);

        j = open_ok(&o);
        const struct vs_scan *r = vs_journal_recovery(j);
        ck_assert_uint_eq(r->n_damage, 1);
        ck_assert(!r->damage[0].tail);
        ck_assert_uint_eq(vs_scan_find(r, 0)->missing_from, 12);
        check_entries(vs_scan_find(r, 0), 1, 11);
        vs_journal_close(j);
}
END_TEST

/* With the I/O thread idle, vs_journal_commit_here() writes and syncs the batch on the caller's
 * thread, reports it through the callbacks before it returns, and the I/O thread still seals the
 * journal when it goes idle after such a batch. */
START_TEST(test_commit_here) {
        struct vs_journal_options o = opts();
        struct durable d = {};
        struct vs_journal *j = open_ok(&o);
        unsigned wrote = 0;
        int last = 0;

        uint64_t seq;
        for (seq = 1; seq <= 200 || last == 0; seq++) {
                ck_assert_uint_lt(seq, 10000);
                ck_assert_int_eq(append_entry(j, 0, seq, seq), 0);
                last = vs_journal_commit_here(j, on_durable, NULL, &d);
                /* written here: reported before it returned, with nothing for the eventfd */
                if (last == 1)
                        ck_assert_uint_eq(d.seq[0], seq);
                ck_assert_int_eq(wait_durable(j, &d, 0, seq), 0);
                wrote += (unsigned) last;
                if (last == 0)
                        usleep(1000); /* the I/O thread had work (preallocation): let it finish */
        }
        /* only preallocation, every 512 KiB, keeps the I/O thread busy in this test */
        ck_assert_uint_gt(wrote, 100);
        uint64_t end = vs_journal_size(j);
        for (int i = 0; i < 100 && vs_journal_size(j) == end; i++)
                usleep(10 * 1000);
        ck_assert_uint_eq(vs_journal_size(j), end + VS_FORMAT_RECORD_HEADER_SIZE);
        vs_journal_close(j);
        reopen_check(&o, 0, 1, seq - 1);
}
END_TEST

/* Refused opens return the documented error and leave the directory byte for byte as it was. */
static void expect_refusal(const struct vs_journal_options *o, int want, const char *path) {
        struct vs_buf before = {}, after = {};
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        const char *name = path ? strrchr(path, '/') + 1 : NULL;
        if (name)
                ck_assert_int_eq(vs_read_file_at(dfd, name, &before), 0);

        struct vs_journal *j = NULL;
        char err[256] = "";
        ck_assert_int_eq(vs_journal_open(o, &j, err, sizeof(err)), want);
        ck_assert_ptr_null(j);
        ck_assert_msg(strlen(err) > 10, "no explanation for %d", want);

        if (name) {
                ck_assert_int_eq(vs_read_file_at(dfd, name, &after), 0);
                ck_assert_uint_eq(before.len, after.len);
                ck_assert(memcmp(before.data, after.data, before.len) == 0);
        }
        vs_buf_free(&before);
        vs_buf_free(&after);
}

START_TEST(test_refusals) {
        struct vs_journal_options o = opts();
        struct durable d = {};

        o.dir = "/nonexistent/viewstamp";
        expect_refusal(&o, -ENOENT, NULL);

        o = opts();
        struct vs_journal *j = open_ok(&o);
        fill(j, &d, 1, 5);
        /* one writer per directory */
        expect_refusal(&o, -EBUSY, NULL);
        vs_journal_close(j);

        _cleanup_free_ char *path = current_path();
        o.cluster_id = CLUSTER + 1;
        expect_refusal(&o, -EXDEV, path);
        o = opts();
        o.node_id = NODE + 1;
        expect_refusal(&o, -EXDEV, path);

        /* newer format */
        o = opts();
        struct vs_buf b = {};
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(vs_read_file_at(dfd, strrchr(path, '/') + 1, &b), 0);
        struct vs_file_header h;
        ck_assert_int_eq(vs_format_file_header_decode(b.data, b.len, &h), 0);
        h.version = VS_FORMAT_VERSION + 1;
        uint8_t hdr[VS_FORMAT_FILE_HEADER_SIZE];
        vs_format_file_header_encode(hdr, &h);
        _cleanup_close_ int fd = open(path, O_WRONLY);
        ck_assert_int_eq(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t) sizeof(hdr));
        expect_refusal(&o, -EPROTONOSUPPORT, path);

        /* damaged header */
        hdr[20] ^= 1;
        ck_assert_int_eq(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t) sizeof(hdr));
        expect_refusal(&o, -EBADMSG, path);

        /* foreign file */
        ck_assert_int_eq(pwrite(fd, "#!/bin/sh\nexit 0\n", 17, 0), 17);
        expect_refusal(&o, -EMEDIUMTYPE, path);
        vs_buf_free(&b);
}
END_TEST

START_TEST(test_permission_denied) {
        /* root passes permission checks; drop to nobody in a child to see the refusal */
        if (geteuid() != 0)
                return;
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (chmod(dir, 0755) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(2);
                struct vs_journal_options o = opts();
                struct vs_journal *j = NULL;
                char err[256];
                _exit(vs_journal_open(&o, &j, err, sizeof(err)) == -EACCES && !j ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_int_eq(access(dir, F_OK), 0);
}
END_TEST

START_TEST(test_read_only_file_system) {
        char mnt[300];
        snprintf(mnt, sizeof(mnt), "%s/small", dir);
        ck_assert_int_eq(mkdir(mnt, 0700), 0);
        if (mount("tmpfs", mnt, "tmpfs", MS_RDONLY, "size=64k") < 0) {
                fprintf(stderr, "cannot mount a tmpfs (%m): EROFS not exercised\n");
                return;
        }
        struct vs_journal_options o = opts();
        o.dir = mnt;
        expect_refusal(&o, -EROFS, NULL);
        ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

/* Out of space: nothing becomes durable, nothing durable is lost, writes resume with space. */
static void exercise_nospace(struct vs_journal *j, void (*make_room)(struct vs_journal *j)) {
        struct durable d = {};
        fill(j, &d, 2, 10);
        uint64_t size = vs_journal_size(j);

        uint64_t seq = 10, err = 0;
        while (err == 0) {
                seq++;
                ck_assert_int_eq(append_entry(j, 0, seq, seq), 0);
                commit(j, &d);
                err = (uint64_t) -wait_durable(j, &d, 0, seq);
                ck_assert_uint_lt(seq, 100000);
        }
        ck_assert_int_eq(d.error[0], -ENOSPC);
        uint64_t durable = d.seq[0];
        ck_assert_uint_lt(durable, seq);
        ck_assert_uint_ge(vs_journal_size(j), size);

        /* still refused until there is room; appends queue meanwhile */
        ck_assert_int_eq(append_entry(j, 1, 11, 11), 0);
        commit(j, &d);
        usleep(50 * 1000);
        vs_journal_dispatch(j, on_durable, NULL, &d);
        ck_assert_uint_eq(d.seq[0], durable);
        ck_assert_uint_eq(d.seq[1], 10);

        make_room(j);
        d.error[0] = d.error[1] = 0;
        ck_assert_int_eq(wait_durable(j, &d, 0, seq), 0);
        ck_assert_int_eq(wait_durable(j, &d, 1, 11), 0);
}

static void raise_limit(struct vs_journal *j) {
        vs_journal_set_max_bytes(j, 0);
}

START_TEST(test_nospace_limit) {
        here = _i;
        struct vs_journal_options o = opts();
        o.max_bytes = 32 * 1024;
        struct vs_journal *j = open_ok(&o);
        exercise_nospace(j, raise_limit);
        vs_journal_close(j);

        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        check_entries(vs_scan_find(s, 0), 1, vs_scan_find(s, 0)->max_seq);
        ck_assert_uint_gt(vs_scan_find(s, 0)->max_seq, 10);
        check_entries(vs_scan_find(s, 1), 1, 11);
        vs_journal_close(j);
}
END_TEST

static char filler[512];

static void remove_filler(struct vs_journal *j) {
        ck_assert_int_eq(unlink(filler), 0);
        /* the I/O thread retries every second on its own; no call needed */
        (void) j;
}

START_TEST(test_nospace_tmpfs) {
        here = _i;
        char mnt[300];
        snprintf(mnt, sizeof(mnt), "%s/small", dir);
        ck_assert_int_eq(mkdir(mnt, 0700), 0);
        if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
                fprintf(stderr, "cannot mount a tmpfs (%m): real ENOSPC not exercised\n");
                return;
        }
        snprintf(filler, sizeof(filler), "%s/filler", mnt);
        int fd = open(filler, O_WRONLY | O_CREAT, 0600);
        static uint8_t block[4096];
        for (int i = 0; i < 48; i++)
                ck_assert_int_eq(write(fd, block, sizeof(block)), (ssize_t) sizeof(block));
        ck_assert_int_eq(close(fd), 0);

        struct vs_journal_options o = opts();
        o.dir = mnt;
        struct vs_journal *j = open_ok(&o);
        exercise_nospace(j, remove_filler);
        vs_journal_close(j);
        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        check_entries(vs_scan_find(s, 0), 1, vs_scan_find(s, 0)->max_seq);
        check_entries(vs_scan_find(s, 1), 1, 11);
        vs_journal_close(j);
        ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

/* Under a steady load with checkpoints the file stays bounded, and survives reopening. */
START_TEST(test_rewrite_bounds_disk_use) {
        here = _i;
        struct vs_journal_options o = opts();
        o.compact_bytes = 64 * 1024;
        struct vs_journal *j = open_ok(&o);
        struct durable d = {};
        uint64_t seq[2] = {}, max_size = 0;

        for (uint64_t op = 1; op <= 3000; op++) {
                for (unsigned t = 0; t < 2; t++) {
                        ck_assert_int_eq(append_entry(j, t, ++seq[t], op), 0);
                        if (op % 100 == 0) {
                                struct vr_record m = { .kind = VR_RECORD_META, .seq = ++seq[t],
                                                       .meta = { .epoch = 1, .view = 1, .commit = op,
                                                                 .checkpoint_op = op - 50 } };
                                ck_assert_int_eq(vs_journal_append(j, t, &m), 0);
                        }
                }
                commit(j, &d);
                if (op % 7 == 0)
                        ck_assert_int_eq(wait_durable(j, &d, 1, seq[1]), 0);
                uint64_t size = vs_journal_size(j);
                if (size > max_size)
                        max_size = size;
        }
        ck_assert_int_eq(wait_durable(j, &d, 0, seq[0]), 0);
        ck_assert_int_eq(wait_durable(j, &d, 1, seq[1]), 0);
        vs_journal_close(j);
        /* 2 x 3000 entries of ~200 bytes would be over 1 MiB (16 x compact_bytes) without
         * rewrites. The file peaks at twice what the last rewrite kept plus what batches added
         * while the next one was built: about 4 x compact_bytes, more when the compactor thread
         * gets little CPU (appends are never held back for it), so the bound leaves room. */
        ck_assert_uint_lt(max_size, 8 * o.compact_bytes);

        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        for (unsigned t = 0; t < 2; t++) {
                const struct vs_scan_tenant *st = vs_scan_find(s, t);
                ck_assert_uint_eq(st->max_seq, seq[t]);
                ck_assert_uint_eq(st->meta.checkpoint_op, 2950);
                ck_assert_uint_eq(st->entries[st->n_entries - 1].op, 3000);
                ck_assert_uint_le(st->entries[0].op, 2951);
                for (size_t i = 1; i < st->n_entries; i++)
                        ck_assert_uint_eq(st->entries[i].op, st->entries[i - 1].op + 1);
        }
        vs_journal_close(j);
}
END_TEST

/* A deleted tenant: FORGET is durable like a record, recovery no longer returns the tenant, the
 * next rewrite drops its records and its checkpoint files; the other tenants are untouched. */
START_TEST(test_forget) {
        struct vs_journal_options o = opts();
        o.compact_bytes = 64 * 1024;
        struct vs_journal *j = open_ok(&o);
        struct durable d = {};
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        char name[VS_JOURNAL_NAME_MAX];
        vs_checkpoint_name(name, 1, 5);
        _cleanup_close_ int ck = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(ck, 0);

        commit_entries(j, &d, 1, 1, 1, 10);
        commit_entries(j, &d, 2, 1, 1, 10);
        uint64_t seq = 0;
        ck_assert_int_eq(vs_journal_forget(j, 1, &seq), 0);
        ck_assert_uint_eq(seq, 11);
        ck_assert_int_eq(append_entry(j, 1, 11, 11), -EINVAL); /* nothing more for it */
        vs_journal_commit(j);
        ck_assert_int_eq(wait_durable(j, &d, 1, 11), 0);
        vs_journal_close(j);

        j = open_ok(&o);
        ck_assert_ptr_null(vs_scan_find(vs_journal_recovery(j), 1));
        check_entries(vs_scan_find(vs_journal_recovery(j), 2), 1, 10);
        vs_journal_recovery_done(j);
        /* Enough of tenant 2 to make the journal rewrite itself, and a rewrite installed: one
         * still being built at close (a slow machine) would have pruned nothing yet. */
        uint64_t op = 11;
        struct vs_journal_stats rs;
        vs_journal_stats(j, &rs);
        while ((vs_journal_size(j) < 4 * o.compact_bytes || rs.rewrites == 0 || rs.rewriting) && op < 100000) {
                commit_entries(j, &d, 2, op, op, 50);
                op += 50;
                vs_journal_stats(j, &rs);
        }
        vs_journal_close(j);
        ck_assert_int_eq(faccessat(dfd, name, F_OK, 0), -1); /* its checkpoint is gone */

        /* No record of tenant 1 is left in the file. */
        _cleanup_free_ char *path = current_path();
        _cleanup_close_ int fd = open(path, O_RDONLY);
        struct stat st;
        ck_assert_int_eq(fstat(fd, &st), 0);
        _cleanup_free_ uint8_t *buf = malloc((size_t) st.st_size);
        ck_assert_int_eq(pread(fd, buf, (size_t) st.st_size, 0), st.st_size);
        struct vs_scan s;
        ck_assert_int_eq(vs_scan_buffer(buf, (size_t) st.st_size, &s), 0);
        for (size_t i = 0; i < s.n_tenants; i++)
                ck_assert_uint_ne(s.tenants[i].tenant, 1);
        check_entries(vs_scan_find(&s, 2), 1, op - 1);
        vs_scan_done(&s);
}
END_TEST

/* Batches committed while a rewrite is being built become durable before it ends, land in the new
 * file with everything else, and the rewrite keeps what it must. */
START_TEST(test_batches_during_rewrite) {
        here = _i;
        struct vs_journal_options o = opts();
        o.compact_bytes = 8 << 20;
        struct vs_journal *j = open_ok(&o);
        struct durable d = {};
        struct vs_journal_stats st;
        uint64_t op = 0, seq1 = 0;
        unsigned overlapped = 0;

        /* without checkpoints the image keeps everything: a rewrite with a lot to write */
        do {
                commit_entries(j, &d, 0, op + 1, op + 1, 500);
                op += 500;
                vs_journal_stats(j, &st);
        } while (st.rewrites == 0 && !st.rewriting);
        ck_assert_uint_eq(st.rewrites, 0);

        for (;;) {
                vs_journal_stats(j, &st);
                if (!st.rewriting)
                        break;
                seq1++;
                commit_entries(j, &d, 1, seq1, seq1, 1);
                struct vs_journal_stats after;
                vs_journal_stats(j, &after);
                if (after.rewriting && after.rewrites == st.rewrites)
                        overlapped++;
        }
        vs_journal_stats(j, &st);
        ck_assert_uint_eq(st.rewrites, 1);
        ck_assert_msg(overlapped > 0, "no batch became durable while the rewrite was built");
        /* and batches go on after the switch, in the new file */
        commit_entries(j, &d, 1, seq1 + 1, seq1 + 1, 3);
        commit_entries(j, &d, 0, op + 1, op + 1, 3);
        vs_journal_close(j);
        fprintf(stderr, "%u batches durable during a rewrite of %llu entries\n", overlapped,
                (unsigned long long) op);

        j = open_ok(&o);
        const struct vs_scan *s = vs_journal_recovery(j);
        ck_assert_uint_eq(s->n_damage, 0);
        ck_assert_uint_eq(s->header.generation, 2);
        check_entries(vs_scan_find(s, 0), 1, op + 3);
        check_entries(vs_scan_find(s, 1), 1, seq1 + 3);
        vs_journal_close(j);
}
END_TEST

struct fake_sm {
        size_t len;
        uint64_t seed;
};

static int fake_snapshot(void *sm, vr_sm_write_fn write, void *ctx) {
        struct fake_sm *f = sm;
        uint8_t chunk[1000];
        uint64_t x = f->seed;
        size_t used = 0;
        for (size_t done = 0; done < f->len; done++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                chunk[used++] = (uint8_t) (x >> 56);
                if (used == sizeof(chunk) || done + 1 == f->len) {
                        int r = write(ctx, chunk, used);
                        if (r < 0)
                                return r;
                        used = 0;
                }
        }
        return 0;
}

START_TEST(test_checkpoints) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        struct fake_sm sm = { .len = 3 * 1024 * 1024 + 17, .seed = 5 };
        struct vs_checkpoint_id id = { .cluster_id = CLUSTER, .tenant = 3, .op = 100 };
        struct vs_checkpoint_reader *rd;

        ck_assert_int_eq(vs_checkpoint_open(dfd, &id, &rd), -ENOENT);
        ck_assert_int_eq(vs_checkpoint_write(dfd, &id, fake_snapshot, &sm), 0);
        id.op = 200;
        ck_assert_int_eq(vs_checkpoint_write(dfd, &id, fake_snapshot, &sm), 0);

        ck_assert_int_eq(vs_checkpoint_open(dfd, &id, &rd), 0);
        ck_assert_uint_eq(vs_checkpoint_length(rd), sm.len);
        _cleanup_free_ uint8_t *got = malloc(sm.len), *want = malloc(sm.len);
        ck_assert_int_eq(vs_checkpoint_read(rd, got, sm.len), 0);
        ck_assert_int_eq(vs_checkpoint_read(rd, got, 1), -EBADMSG);
        vs_checkpoint_close(rd);
        /* regenerate the expected bytes */
        uint64_t x = sm.seed;
        for (size_t i = 0; i < sm.len; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                want[i] = (uint8_t) (x >> 56);
        }
        ck_assert(memcmp(got, want, sm.len) == 0);

        /* another cluster's checkpoint is refused */
        id.cluster_id = CLUSTER + 1;
        ck_assert_int_eq(vs_checkpoint_open(dfd, &id, &rd), -EXDEV);
        id.cluster_id = CLUSTER;

        /* a flipped bit anywhere, or a truncation, is caught before any byte is handed out */
        char name[VS_JOURNAL_NAME_MAX];
        vs_checkpoint_name(name, 3, 200);
        _cleanup_close_ int fd = openat(dfd, name, O_RDWR);
        const off_t spots[] = { 3, 30, 64, 64 + 1000000, 64 + (off_t) sm.len + 3, 64 + (off_t) sm.len + 12 };
        for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
                uint8_t b;
                ck_assert_int_eq(pread(fd, &b, 1, spots[i]), 1);
                b ^= 4;
                ck_assert_int_eq(pwrite(fd, &b, 1, spots[i]), 1);
                int r = vs_checkpoint_open(dfd, &id, &rd);
                ck_assert_msg(r == -EBADMSG || r == -EMEDIUMTYPE, "flip at %lld: %d", (long long) spots[i], r);
                b ^= 4;
                ck_assert_int_eq(pwrite(fd, &b, 1, spots[i]), 1);
        }
        ck_assert_int_eq(ftruncate(fd, 64 + (off_t) sm.len), 0);
        ck_assert_int_eq(vs_checkpoint_open(dfd, &id, &rd), -EBADMSG);

        /* pruning keeps the newest */
        ck_assert_int_eq(vs_checkpoint_prune(dfd, 3, 200), 1);
        id.op = 100;
        ck_assert_int_eq(vs_checkpoint_open(dfd, &id, &rd), -ENOENT);
}
END_TEST

struct checkpoints_seen {
        struct durable d;
        uint64_t op[4];
        unsigned n;
        bool before_records; /* the checkpoint came before the records of its batch */
};

static void on_checkpoint(void *ctx, uint64_t tenant, uint64_t op, int error) {
        struct checkpoints_seen *c = ctx;
        ck_assert_int_eq(error, 0);
        ck_assert_uint_eq(tenant, 2);
        ck_assert_uint_lt(c->n, 4);
        c->before_records = c->d.seq[2] < 2 * (c->n + 1) - 1;
        c->op[c->n++] = op;
}

static void on_durable_ckpt(void *ctx, uint64_t tenant, uint64_t seq, int error) {
        struct checkpoints_seen *c = ctx;
        on_durable(&c->d, tenant, seq, error);
}

/* Checkpoints go through the I/O thread ahead of the records queued after them, and rewrites
 * delete the ones older than what durable metadata names. */
START_TEST(test_queued_checkpoints) {
        here = _i;
        struct vs_journal_options o = opts();
        o.compact_bytes = 4096;
        struct vs_journal *j = open_ok(&o);
        struct checkpoints_seen c = {};

        for (uint64_t k = 1; k <= 2; k++) {
                uint8_t *snap = malloc(1000);
                memset(snap, (int) k, 1000);
                ck_assert_int_eq(vs_journal_checkpoint(j, 2, 100 * k, snap, 1000), 0);
                struct vr_record m = { .kind = VR_RECORD_META, .seq = 2 * k - 1,
                                       .meta = { .epoch = 1, .commit = 100 * k, .checkpoint_op = 100 * k } };
                ck_assert_int_eq(vs_journal_append(j, 2, &m), 0);
                ck_assert_int_eq(append_entry(j, 2, 2 * k, 100 * k + 1), 0);
                if (here)
                        (void) vs_journal_commit_here(j, on_durable_ckpt, on_checkpoint, &c);
                else
                        vs_journal_commit(j);
                while (c.d.seq[2] < 2 * k) {
                        struct pollfd p = { .fd = vs_journal_fd(j), .events = POLLIN };
                        ck_assert_int_eq(poll(&p, 1, 10000), 1);
                        vs_journal_dispatch(j, on_durable_ckpt, on_checkpoint, &c);
                }
                ck_assert_uint_eq(c.n, k);
                ck_assert_uint_eq(c.op[k - 1], 100 * k);
                ck_assert(c.before_records);
        }
        ck_assert_int_eq(vs_journal_checkpoint(j, 2, 0, NULL, 0), -EINVAL);

        struct vs_checkpoint_reader *rd;
        ck_assert_int_eq(vs_journal_checkpoint_open(j, 2, 200, &rd), 0);
        uint8_t back[1000];
        ck_assert_int_eq(vs_checkpoint_read(rd, back, sizeof(back)), 0);
        ck_assert_uint_eq(back[999], 2);
        vs_checkpoint_close(rd);

        /* enough records to rewrite: the checkpoint at 100 goes, the one at 200 stays */
        struct durable d = {};
        struct vs_journal_stats st;
        uint64_t op = 202;
        for (; op < 232; op++)
                commit_entries(j, &d, 2, op + 3 - 202 + 2, op, 1);
        /* the rewrite is built beside the batches: wait for it to be installed */
        for (vs_journal_stats(j, &st); st.rewrites == 0 || st.rewriting; vs_journal_stats(j, &st), op++)
                commit_entries(j, &d, 2, op + 3 - 202 + 2, op, 1);
        ck_assert_int_eq(vs_journal_checkpoint_open(j, 2, 100, &rd), -ENOENT);
        ck_assert_int_eq(vs_journal_checkpoint_open(j, 2, 200, &rd), 0);
        vs_checkpoint_close(rd);
        vs_journal_close(j);
}
END_TEST

struct loop_ctx {
        struct vs_journal *j;
        struct durable d;
};

static int on_journal_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct loop_ctx *c = userdata;
        vs_journal_dispatch(c->j, on_durable, NULL, &c->d);
        return 0;
}

/* The daemon's way: the eventfd watched by sd-event, one commit per loop turn. */
START_TEST(test_sd_event_driver) {
        here = _i;
        struct vs_journal_options o = opts();
        struct loop_ctx c = { .j = open_ok(&o) };
        sd_event *e = NULL;
        sd_event_source *src = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(sd_event_add_io(e, &src, vs_journal_fd(c.j), EPOLLIN, on_journal_ready, &c), 0);
        for (uint64_t turn = 1; turn <= 50; turn++) {
                for (uint64_t t = 0; t < 3; t++)
                        ck_assert_int_eq(append_entry(c.j, t, turn, turn), 0);
                commit(c.j, &c.d);
                while (c.d.seq[0] < turn || c.d.seq[1] < turn || c.d.seq[2] < turn)
                        ck_assert_int_ge(sd_event_run(e, 10 * 1000 * 1000), 1);
        }
        /* one callback per tenant per batch at most: 3 tenants, 50 batches */
        ck_assert_uint_le(c.d.calls, 150);
        sd_event_source_unref(src);
        sd_event_unref(e);
        vs_journal_close(c.j);
}
END_TEST

static Suite *journal_suite(void) {
        Suite *s = suite_create("journal");
        TCase *tc = tcase_create("journal");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_group_commit_and_reopen, 0, 2);
        tcase_add_test(tc, test_torn_tail_is_cut);
        tcase_add_test(tc, test_hole_survives_reopen);
        tcase_add_loop_test(tc, test_seal_tells_rot_from_torn, 0, 2);
        tcase_add_test(tc, test_commit_here);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_permission_denied);
        tcase_add_test(tc, test_read_only_file_system);
        tcase_add_loop_test(tc, test_nospace_limit, 0, 2);
        tcase_add_loop_test(tc, test_nospace_tmpfs, 0, 2);
        tcase_add_loop_test(tc, test_rewrite_bounds_disk_use, 0, 2);
        tcase_add_test(tc, test_forget);
        tcase_add_loop_test(tc, test_batches_during_rewrite, 0, 2);
        tcase_add_test(tc, test_checkpoints);
        tcase_add_loop_test(tc, test_sd_event_driver, 0, 2);
        tcase_add_loop_test(tc, test_queued_checkpoints, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        for (size_t i = 0; i < sizeof(payload); i++)
                payload[i] = (uint8_t) (i * 7 + 1);
        return vs_check_run(journal_suite());
}
