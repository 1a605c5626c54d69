/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/checkpoint.h"
#include "journal/compact.h"
#include "journal/journal.h"
#include "journal/statedir.h"
#include "log/log.h"
#include "util/array.h"
#include "util/cleanup.h"

#define DEFAULT_COMPACT_BYTES (UINT64_C(64) << 20)
#define DEFAULT_MAX_PENDING (UINT64_C(256) << 20)
/* Zeros are written this far ahead of the records, so that a batch overwrites allocated, written
 * blocks and its fdatasync need not commit a size change: measured about 1.4x the syncs per second
 * of appending on ext4. */
#define PREALLOC_BYTES (UINT64_C(1) << 20)
/* Idle time after a batch before it is sealed (format.h: SEAL). */
#define SEAL_DELAY_NS (20 * 1000 * 1000)
/* A rewrite carries what batches appended meanwhile in rounds off the I/O thread until less than
 * this is left (or CARRY_ROUNDS ran: batches outpace it); the I/O thread carries the rest itself,
 * holding batches back for about one small write and three syncs. */
#define CARRY_LEFT_BYTES (UINT64_C(256) << 10)
#define CARRY_ROUNDS 8

struct tenant {
        uint64_t tenant;
        uint64_t chain_seq;    /* prev_seq for its next record placed in the current file */
        uint64_t last_seq;     /* last seq appended */
        uint64_t durable_seq;
        bool reported;         /* scratch while building one batch's completions */
};

/* One appended record of a batch: where it is in the batch buffer and whose it is. */
struct queued {
        size_t offset;
        uint64_t tenant;
        uint64_t seq;
};

/* A checkpoint to be made durable before the records appended after it was queued. */
struct queued_checkpoint {
        uint64_t tenant;
        uint64_t op;
        uint8_t *data;
        size_t len;
};

struct batch {
        struct vs_buf bytes;
        struct queued *recs;
        size_t n_recs;
        size_t cap_recs;
        size_t n_placed;        /* records already given their file, batch and chain */
        struct queued_checkpoint *ckpts;
        size_t n_ckpts;
        size_t cap_ckpts;
};

struct completion {
        uint64_t tenant;
        uint64_t seq;
        uint64_t checkpoint_op; /* nonzero: a checkpoint, not records */
        int error;
};

struct vs_journal {
        struct vs_journal_options opt;
        int dir_fd;
        int fd;                 /* current journal file */
        int event_fd;
        uint64_t generation;
        uint64_t file_end;      /* durable end; only the I/O thread changes it after open */
        uint64_t rewrite_size;  /* size right after the last rewrite */
        uint64_t allocated;     /* file size: file_end plus preallocated zeros (writer only) */
        uint64_t batch;         /* number of the next batch written (writer only) */
        bool created;           /* open found no journal and made an empty one */
        bool unsealed;          /* no batch follows the last one yet (writer; read under lock) */

        struct vs_buf recovery_bytes;
        struct vs_scan recovery;

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        /* under lock: */
        struct tenant *tenants; /* sorted by id */
        size_t n_tenants;
        size_t cap_tenants;
        struct batch pending;   /* appended, not yet taken by the I/O thread */
        bool commit_requested;
        bool stop;
        bool nospace;
        bool retry_now;
        int failed;             /* fatal error, 0 if none */
        struct completion *done;
        size_t n_done;
        size_t cap_done;
        enum { IO_RUNNING, IO_WAIT_TIMED, IO_WAIT_UNTIMED } io_wait; /* the I/O thread's state */
        /* The loop writes a batch itself (vs_journal_commit_here()): until it clears this, the I/O
         * thread waits and the "writer only" fields are the loop's. */
        bool writing;
        bool maintenance;       /* the I/O thread is asked to preallocate or start a rewrite */
        struct timespec seal_at; /* CLOCK_REALTIME: an unsealed journal idle until then is sealed */
        bool compacted;         /* the compactor thread is done, with compact_result */
        int compact_result;
        bool rewriting;
        uint64_t n_rewrites;
        /* writer only (the I/O thread, or the loop while writing): */
        struct batch flushing;
        struct vs_compaction *compaction; /* being built by the compactor thread */
        pthread_t compactor;
};

static int fail(char *err, size_t errlen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...) {
        if (err && errlen > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return r;
}

static bool batch_empty(const struct batch *b) {
        return b->n_recs == 0 && b->n_ckpts == 0;
}

static void batch_clear(struct batch *b) {
        b->bytes.len = 0;
        b->n_recs = 0;
        b->n_placed = 0;
        for (size_t i = 0; i < b->n_ckpts; i++)
                free(b->ckpts[i].data);
        b->n_ckpts = 0;
}

static void batch_free(struct batch *b) {
        batch_clear(b);
        vs_buf_free(&b->bytes);
        free(b->recs);
        free(b->ckpts);
        *b = (struct batch) {};
}

/* Moves src's records to the end of dst, leaving src empty. */
static int batch_move(struct batch *dst, struct batch *src) {
        if (batch_empty(dst)) {
                struct batch t = *dst;
                *dst = *src;
                *src = t;
                batch_clear(src);
                dst->n_placed = 0;
                return 0;
        }
        int r = vs_buf_reserve(&dst->bytes, src->bytes.len);
        if (r < 0)
                return r;
        r = vs_array_grow((void **) &dst->recs, &dst->cap_recs, dst->n_recs + src->n_recs, sizeof(*dst->recs));
        if (r < 0)
                return r;
        r = vs_array_grow((void **) &dst->ckpts, &dst->cap_ckpts, dst->n_ckpts + src->n_ckpts, sizeof(*dst->ckpts));
        if (r < 0)
                return r;
        if (src->n_ckpts > 0)
                memcpy(dst->ckpts + dst->n_ckpts, src->ckpts, src->n_ckpts * sizeof(*src->ckpts));
        dst->n_ckpts += src->n_ckpts;
        src->n_ckpts = 0; /* their data now belongs to dst */
        for (size_t i = 0; i < src->n_recs; i++) {
                dst->recs[dst->n_recs + i] = src->recs[i];
                dst->recs[dst->n_recs + i].offset += dst->bytes.len;
        }
        /* src's records are all unplaced: dst->n_placed stays. */
        if (src->bytes.len > 0)
                memcpy(dst->bytes.data + dst->bytes.len, src->bytes.data, src->bytes.len);
        dst->bytes.len += src->bytes.len;
        dst->n_recs += src->n_recs;
        batch_clear(src);
        return 0;
}

static struct tenant *tenant_find(struct vs_journal *j, uint64_t id, size_t *ret_index) {
        size_t lo = VS_LOWER_BOUND(j->tenants, j->n_tenants, tenant, id);
        if (ret_index)
                *ret_index = lo;
        return lo < j->n_tenants && j->tenants[lo].tenant == id ? &j->tenants[lo] : NULL;
}

static struct tenant *tenant_get(struct vs_journal *j, uint64_t id) {
        size_t i;
        struct tenant *t = tenant_find(j, id, &i);
        if (t)
                return t;
        if (vs_array_insert_at((void **) &j->tenants, &j->n_tenants, &j->cap_tenants, i, sizeof(*j->tenants)) < 0)
                return NULL;
        j->tenants[i] = (struct tenant) { .tenant = id };
        return &j->tenants[i];
}

/* Called with the lock held: gives the flushing batch's new records their file, batch number and
 * chain. Done when a batch is taken rather than at append, so that a rewrite in between changes
 * nothing queued. */
static void place(struct vs_journal *j) {
        struct batch *b = &j->flushing;
        for (size_t i = b->n_placed; i < b->n_recs; i++) {
                struct tenant *t = tenant_find(j, b->recs[i].tenant, NULL);
                vs_format_record_place(b->bytes.data + b->recs[i].offset, &(struct vs_record_place) {
                        .generation = j->generation, .batch = j->batch,
                        .tenant = t->tenant, .prev_seq = t->chain_seq });
                t->chain_seq = b->recs[i].seq;
        }
        b->n_placed = b->n_recs;
}

/* Installs a compaction built and carried up to file_end, and switches to its file. Called on the
 * I/O thread (or in open, before it exists) with no batch in flight. Returns 0, a negative errno
 * for a rewrite that failed harmlessly (the old file stays current), or -EIO for a fatal failure.
 * Takes c in every case. */
static int switch_to(struct vs_journal *j, struct vs_compaction *c) {
        char old_name[VS_JOURNAL_NAME_MAX];
        int fd = -1;
        int r = vs_compaction_carry(c, j->file_end);
        if (r >= 0)
                r = vs_compaction_install(c, &fd);
        if (r < 0) {
                vs_compaction_free(c);
                return r;
        }

        pthread_mutex_lock(&j->lock);
        vs_journal_name(old_name, j->generation);
        close(j->fd);
        j->fd = fd;
        j->generation++;
        j->file_end = j->allocated = vs_compaction_size(c);
        /* The next rewrite is due when the file doubles what compaction kept (what it merely carried
         * is no smaller for having been moved). */
        j->rewrite_size = vs_compaction_image_size(c);
        j->unsealed = false; /* the new file is durable as a whole */
        for (size_t i = 0; i < j->n_tenants; i++)
                j->tenants[i].chain_seq = vs_compaction_chain(c, j->tenants[i].tenant);
        j->n_rewrites++;
        pthread_mutex_unlock(&j->lock);
        /* Checkpoints older than what durable metadata names are no longer needed. */
        vs_compaction_prune(c);
        vs_compaction_free(c);

        /* A crash before this unlink leaves both files; open keeps the newer. */
        if (unlinkat(j->dir_fd, old_name, 0) < 0)
                vs_log_full(VS_LOG_WARNING, NULL, -errno, "cannot remove %s after rewrite", old_name);
        vs_log_full(VS_LOG_INFO, NULL, 0, "rewrote journal as generation %" PRIu64 ": %" PRIu64 " bytes",
                    j->generation, j->file_end);
        return 0;
}

/* Rewrites [0, file_end) at once: for open, which has no thread and no batches yet. */
static int rewrite_now(struct vs_journal *j) {
        struct vs_compaction *c;
        int r = vs_compaction_new(j->dir_fd, j->fd, j->generation + 1, j->opt.cluster_id, j->opt.node_id, &c);
        if (r < 0)
                return r;
        r = vs_compaction_build(c, j->file_end);
        if (r < 0) {
                vs_compaction_free(c);
                return r;
        }
        return switch_to(j, c);
}

static bool should_rewrite(const struct vs_journal *j) {
        uint64_t min = j->opt.compact_bytes ? j->opt.compact_bytes : DEFAULT_COMPACT_BYTES;
        return j->file_end >= min && j->file_end >= 2 * j->rewrite_size;
}

/* Called with the lock held: completions for the tenants of a batch, in order, one per tenant. */
static int complete(struct vs_journal *j, const struct batch *b, int error) {
        for (size_t i = 0; i < b->n_ckpts; i++) {
                int r = vs_array_grow((void **) &j->done, &j->cap_done, j->n_done + 1, sizeof(*j->done));
                if (r < 0)
                        return r;
                j->done[j->n_done++] = (struct completion) {
                        .tenant = b->ckpts[i].tenant, .checkpoint_op = b->ckpts[i].op, .error = error };
        }
        for (size_t i = b->n_recs; i > 0; i--) {
                struct tenant *t = tenant_find(j, b->recs[i - 1].tenant, NULL);
                if (t->reported)
                        continue;
                t->reported = true;
                if (error == 0)
                        t->durable_seq = b->recs[i - 1].seq;
                int r = vs_array_grow((void **) &j->done, &j->cap_done, j->n_done + 1, sizeof(*j->done));
                if (r < 0)
                        return r;
                j->done[j->n_done++] = (struct completion) {
                        .tenant = t->tenant, .seq = t->durable_seq, .error = error };
        }
        for (size_t i = 0; i < b->n_recs; i++)
                tenant_find(j, b->recs[i].tenant, NULL)->reported = false;
        return 0;
}

static void signal_loop(struct vs_journal *j) {
        uint64_t one = 1;
        /* The counter only saturates after 2^64 - 2 unread signals. */
        (void) !write(j->event_fd, &one, sizeof(one));
}

/* Writes and syncs the flushing batch. Returns 0, -ENOSPC (retryable: the file is as before), or
 * another negative errno (fatal). */
struct memory_snapshot {
        const uint8_t *data;
        size_t len;
};

static int snapshot_from_memory(void *sm, vr_sm_write_fn write, void *ctx) {
        const struct memory_snapshot *m = sm;
        return write(ctx, m->data, m->len);
}

static int flush(struct vs_journal *j, uint64_t max_bytes) {
        struct batch *b = &j->flushing;
        if (max_bytes && j->file_end + b->bytes.len > max_bytes)
                return -ENOSPC;
        /* Checkpoints first: durable no later than the records queued after them. Rewriting one
         * that a failed attempt already wrote replaces it atomically with the same bytes. */
        for (size_t i = 0; i < b->n_ckpts; i++) {
                const struct queued_checkpoint *c = &b->ckpts[i];
                struct vs_checkpoint_id id = { .cluster_id = j->opt.cluster_id, .tenant = c->tenant, .op = c->op };
                int r = vs_checkpoint_write(j->dir_fd, &id, snapshot_from_memory,
                                            &(struct memory_snapshot) { c->data, c->len });
                if (r == -ENOSPC || r == -EDQUOT)
                        return -ENOSPC;
                if (r < 0)
                        return r;
        }
        if (b->bytes.len == 0)
                return 0;
        int r = vs_pwrite_full(j->fd, b->bytes.data, b->bytes.len, j->file_end);
        if (r == -ENOSPC || r == -EDQUOT) {
                /* Cut the partial batch away so the file ends on the last durable record. */
                if (ftruncate(j->fd, (off_t) j->file_end) < 0)
                        return -errno;
                j->allocated = j->file_end;
                return -ENOSPC;
        }
        if (r < 0)
                return r;
        if (fdatasync(j->fd) < 0)
                return errno == ENOSPC ? -EIO : -errno;
        if (j->allocated < j->file_end + b->bytes.len)
                j->allocated = j->file_end + b->bytes.len;
        return 0;
}

/* Keeps zeros written and synced ahead of the records, off the path of any batch. Returns 0 (also
 * when there is no room for them: batches then append) or a fatal error. */
static int preallocate(struct vs_journal *j, uint64_t max_bytes) {
        static const uint8_t zeros[64 * 1024];
        if (j->allocated - j->file_end >= PREALLOC_BYTES / 2)
                return 0;
        uint64_t target = (j->file_end / PREALLOC_BYTES + 2) * PREALLOC_BYTES;
        if (max_bytes && target > max_bytes)
                target = max_bytes;
        if (target <= j->allocated)
                return 0;
        int r = 0;
        for (uint64_t off = j->allocated; off < target && r >= 0; off += sizeof(zeros)) {
                size_t n = target - off < sizeof(zeros) ? (size_t) (target - off) : sizeof(zeros);
                r = vs_pwrite_full(j->fd, zeros, n, off);
        }
        if (r < 0) {
                /* Out of room or failing: leave the file as it was; batches will say more. */
                if (ftruncate(j->fd, (off_t) j->allocated) < 0)
                        return -errno;
                return 0;
        }
        if (fdatasync(j->fd) < 0)
                return -errno;
        j->allocated = target;
        return 0;
}

/* Writes a SEAL batch after the last batch, so that rot in it can be told from a torn write.
 * Returns 0 (also when there is no room: it is only an aid) or a fatal error. */
static int seal(struct vs_journal *j, uint64_t max_bytes) {
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        int r = vs_format_seal_encode(&b, j->generation, j->batch);
        if (r < 0)
                return r;
        if (max_bytes && j->file_end + b.len > max_bytes)
                return 0;
        r = vs_pwrite_full(j->fd, b.data, b.len, j->file_end);
        if (r == -ENOSPC || r == -EDQUOT)
                return ftruncate(j->fd, (off_t) j->allocated) < 0 ? -errno : 0;
        if (r < 0)
                return r;
        if (fdatasync(j->fd) < 0)
                return -errno;
        pthread_mutex_lock(&j->lock);
        j->file_end += b.len;
        j->unsealed = false;
        pthread_mutex_unlock(&j->lock);
        if (j->allocated < j->file_end)
                j->allocated = j->file_end;
        j->batch++;
        return 0;
}

static void rewrite_failed(struct vs_journal *j, int r) {
        vs_log_full(VS_LOG_WARNING, NULL, r, "journal rewrite failed, will retry later");
        /* Not at every batch: only after the file has doubled again. */
        j->rewrite_size = j->file_end;
}

/* The compactor thread: builds the image and carries batches over while the I/O thread goes on
 * writing them to the old file; reads only below file_end, which is never written again. */
static void *compact_thread(void *arg) {
        struct vs_journal *j = arg;
        struct vs_compaction *c = j->compaction;

        pthread_mutex_lock(&j->lock);
        uint64_t end = j->file_end;
        pthread_mutex_unlock(&j->lock);
        int r = vs_compaction_build(c, end);
        for (unsigned round = 0; r >= 0 && round < CARRY_ROUNDS; round++) {
                pthread_mutex_lock(&j->lock);
                end = j->file_end;
                bool stop = j->stop || j->failed;
                pthread_mutex_unlock(&j->lock);
                if (stop)
                        r = -ECANCELED;
                else if (end - vs_compaction_carried(c) <= CARRY_LEFT_BYTES)
                        break;
                else
                        r = vs_compaction_carry(c, end);
        }
        if (r >= 0)
                r = vs_compaction_sync(c);

        pthread_mutex_lock(&j->lock);
        j->compacted = true;
        j->compact_result = r;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        return NULL;
}

/* On the I/O thread, after a batch. */
static void start_compaction(struct vs_journal *j) {
        int r = vs_compaction_new(j->dir_fd, j->fd, j->generation + 1, j->opt.cluster_id, j->opt.node_id,
                                  &j->compaction);
        if (r >= 0) {
                r = -pthread_create(&j->compactor, NULL, compact_thread, j);
                if (r < 0)
                        vs_compaction_free(TAKE_PTR(j->compaction));
        }
        if (r < 0) {
                rewrite_failed(j, r);
                return;
        }
        pthread_mutex_lock(&j->lock);
        j->rewriting = true;
        pthread_mutex_unlock(&j->lock);
}

/* On the I/O thread between batches, once the compactor is done with result r. */
static void finish_compaction(struct vs_journal *j, int r) {
        pthread_join(j->compactor, NULL);
        struct vs_compaction *c = TAKE_PTR(j->compaction);
        if (r >= 0)
                r = switch_to(j, c);
        else
                vs_compaction_free(c);
        pthread_mutex_lock(&j->lock);
        j->rewriting = false;
        if (r == -ENOTRECOVERABLE) {
                vs_log_full(VS_LOG_ERR, NULL, r, "journal rewrite could not sync the state directory, journal stopped");
                j->failed = -EIO;
        }
        pthread_mutex_unlock(&j->lock);
        if (r == -ENOTRECOVERABLE)
                signal_loop(j);
        else if (r < 0)
                rewrite_failed(j, r);
}

/* Whether a realtime deadline has passed. */
static bool deadline_passed(const struct timespec *t) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static struct timespec deadline_in(long ns) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += ns;
        t.tv_sec += t.tv_nsec / 1000000000;
        t.tv_nsec %= 1000000000;
        return t;
}

/* Called with the lock held by the writer (the I/O thread, or the loop in vs_journal_commit_here()):
 * takes the pending batch, writes and syncs it, records its completions and, if signal, signals
 * the loop. Returns with the lock held; true if the journal is still healthy. */
static bool write_batch(struct vs_journal *j, bool signal) {
        int r = batch_move(&j->flushing, &j->pending);
        if (r >= 0)
                place(j);
        j->commit_requested = false;
        j->retry_now = false;
        uint64_t max_bytes = j->opt.max_bytes;
        pthread_mutex_unlock(&j->lock);

        if (r >= 0)
                r = flush(j, max_bytes);

        pthread_mutex_lock(&j->lock);
        bool was_nospace = j->nospace;
        if (r == 0) {
                j->file_end += j->flushing.bytes.len;
                if (j->flushing.n_recs > 0) {
                        j->batch++;
                        j->unsealed = true;
                        j->seal_at = deadline_in(SEAL_DELAY_NS);
                }
                j->nospace = false;
                r = complete(j, &j->flushing, 0);
                batch_clear(&j->flushing);
                if (was_nospace)
                        vs_log_full(VS_LOG_NOTICE, NULL, 0, "space available again, journal writes resumed");
        } else if (r == -ENOSPC) {
                j->nospace = true;
                /* Report once when writes stop, not at every retry. */
                if (!was_nospace) {
                        vs_log_full(VS_LOG_ERR, NULL, 0, "journal out of space at %" PRIu64 " bytes; "
                                "acknowledgements stop until space returns", j->file_end);
                        r = complete(j, &j->flushing, -ENOSPC);
                } else
                        r = 0;
        }
        if (r < 0 && r != -ENOSPC) {
                vs_log_full(VS_LOG_ERR, NULL, r, "journal write failed, journal stopped");
                j->failed = r;
                (void) complete(j, &j->flushing, r);
        }
        bool healthy = !j->failed && !j->nospace;
        if (signal) {
                pthread_mutex_unlock(&j->lock);
                signal_loop(j);
                pthread_mutex_lock(&j->lock);
        }
        return healthy;
}

/* Called with the lock held: whether the I/O thread has preallocation or a rewrite to start. */
static bool maintenance_due(const struct vs_journal *j) {
        return !j->failed && !j->nospace &&
               (j->allocated - j->file_end < PREALLOC_BYTES / 2 || (!j->compaction && should_rewrite(j)));
}

/* On the I/O thread, after a batch: preallocation, and a rewrite when one is due. */
static void maintain(struct vs_journal *j, uint64_t max_bytes) {
        int r = preallocate(j, max_bytes);
        if (r < 0) {
                vs_log_full(VS_LOG_ERR, NULL, r, "journal sync failed, journal stopped");
                pthread_mutex_lock(&j->lock);
                j->failed = r;
                pthread_mutex_unlock(&j->lock);
                signal_loop(j);
                return;
        }
        if (!j->compaction && should_rewrite(j))
                start_compaction(j);
}

/* Called with the lock held: whether the I/O thread has something to do now. While the loop
 * writes a batch itself (writing), the I/O thread waits whatever else is due. */
static bool io_work(struct vs_journal *j, bool *ret_seal_due) {
        *ret_seal_due = false;
        if (j->writing)
                return false;
        if (j->stop || j->failed || j->compacted || j->maintenance)
                return true;
        if (j->commit_requested && !(batch_empty(&j->pending) && batch_empty(&j->flushing)))
                return true;
        if (j->nospace)
                return j->retry_now;
        *ret_seal_due = j->unsealed && deadline_passed(&j->seal_at);
        return *ret_seal_due;
}

static void *io_thread(void *arg) {
        struct vs_journal *j = arg;

        pthread_mutex_lock(&j->lock);
        for (;;) {
                bool seal_due;
                while (!io_work(j, &seal_due)) {
                        if (!j->writing && (j->nospace || j->unsealed)) {
                                struct timespec ts = j->nospace ? deadline_in(1000000000L) : j->seal_at;
                                j->io_wait = IO_WAIT_TIMED;
                                int w = pthread_cond_timedwait(&j->wake, &j->lock, &ts);
                                if (w == ETIMEDOUT && j->nospace)
                                        j->retry_now = true;
                        } else {
                                j->io_wait = IO_WAIT_UNTIMED;
                                pthread_cond_wait(&j->wake, &j->lock);
                        }
                        j->io_wait = IO_RUNNING;
                }
                if (j->failed)
                        break;
                if (j->stop || seal_due) {
                        uint64_t max_bytes = j->opt.max_bytes;
                        bool stop = j->stop;
                        pthread_mutex_unlock(&j->lock);
                        int r = j->unsealed && !j->nospace ? seal(j, max_bytes) : 0;
                        pthread_mutex_lock(&j->lock);
                        if (r < 0) {
                                vs_log_full(VS_LOG_ERR, NULL, r, "journal sync failed, journal stopped");
                                j->failed = r;
                        }
                        if (stop || r < 0)
                                break;
                        continue;
                }
                if (j->compacted) {
                        /* A batch that waits for space was placed in the old file. */
                        int cr = batch_empty(&j->flushing) ? j->compact_result : -ENOSPC;
                        j->compacted = false;
                        pthread_mutex_unlock(&j->lock);
                        finish_compaction(j, cr);
                        pthread_mutex_lock(&j->lock);
                        continue;
                }
                bool healthy = true;
                if (!j->maintenance)
                        healthy = write_batch(j, true);
                j->maintenance = false;
                uint64_t max_bytes = j->opt.max_bytes;
                pthread_mutex_unlock(&j->lock);
                if (healthy)
                        maintain(j, max_bytes);
                pthread_mutex_lock(&j->lock);
        }
        pthread_mutex_unlock(&j->lock);
        return NULL;
}

static void log_damage(struct vs_journal *j, const char *name, const struct vs_scan *s) {
        for (size_t i = 0; i < s->n_damage; i++) {
                const struct vs_damage *d = &s->damage[i];
                const char *why = d->reason == VS_DAMAGE_BODY ? "body checksum mismatch" : "unreadable record header";
                if (d->tail)
                        vs_log_full(VS_LOG_WARNING, NULL, 0, "%s: cut %" PRIu64 " bytes at offset %" PRIu64
                                " (%s): torn write of a batch never reported durable",
                                name, d->length, d->offset, why);
                else
                        vs_log_full(VS_LOG_ERR, NULL, 0, "%s: %" PRIu64 " damaged bytes at offset %" PRIu64 " (%s)%s",
                                name, d->length, d->offset, why, d->attributed ? "" : ", owner unknown");
        }
        for (size_t i = 0; i < s->n_tenants; i++)
                if (s->tenants[i].missing_from)
                        vs_log_full(VS_LOG_ERR, NULL, 0, "tenant %016" PRIx64 ": ops from %" PRIu64
                                " on are missing and must be repaired from peers",
                                s->tenants[i].tenant, s->tenants[i].missing_from);
}

static int create_first(struct vs_journal *j, char *err, size_t errlen) {
        uint8_t h[VS_FORMAT_FILE_HEADER_SIZE];
        char name[VS_JOURNAL_NAME_MAX];

        j->generation = 1;
        vs_format_file_header_encode(h, &(struct vs_file_header) {
                .version = VS_FORMAT_VERSION, .cluster_id = j->opt.cluster_id,
                .node_id = j->opt.node_id, .generation = j->generation });
        vs_journal_name(name, j->generation);
        int r = vs_write_file_atomic(j->dir_fd, name, h, sizeof(h), &j->fd);
        if (r < 0)
                return fail(err, errlen, r, "cannot create journal %s/%s: %s", j->opt.dir, name, strerror(-r));
        j->file_end = j->rewrite_size = j->allocated = sizeof(h);
        j->batch = 1;
        j->created = true;
        return vs_scan_buffer(h, sizeof(h), &j->recovery);
}

/* Checks the current journal's identity before anything is changed. */
static int check_header(struct vs_journal *j, const char *name, char *err, size_t errlen) {
        struct vs_file_header h;
        const struct vs_buf *b = &j->recovery_bytes;
        int r = vs_format_file_header_decode(b->data, b->len, &h);
        if (r == -EMEDIUMTYPE)
                return fail(err, errlen, r, "%s/%s is not a viewstamp journal", j->opt.dir, name);
        if (r == -EPROTONOSUPPORT)
                return fail(err, errlen, r, "%s/%s has format version %" PRIu32 ", newer than this "
                            "viewstamp's %d: refusing to touch it", j->opt.dir, name,
                            b->len >= 12 ? (uint32_t) b->data[8] | (uint32_t) b->data[9] << 8 : 0, VS_FORMAT_VERSION);
        if (r < 0)
                return fail(err, errlen, r, "%s/%s: file header is damaged", j->opt.dir, name);
        if (h.cluster_id != j->opt.cluster_id || h.node_id != j->opt.node_id)
                return fail(err, errlen, -EXDEV, "%s/%s belongs to cluster %016" PRIx64 " node %016" PRIx64
                            ", not to this node (cluster %016" PRIx64 " node %016" PRIx64 "): "
                            "was it copied to the wrong place?", j->opt.dir, name, h.cluster_id, h.node_id,
                            j->opt.cluster_id, j->opt.node_id);
        if (h.generation != j->generation)
                return fail(err, errlen, -EBADMSG, "%s/%s: header says generation %" PRIu64,
                            j->opt.dir, name, h.generation);
        return 0;
}

static int tenants_from_recovery(struct vs_journal *j) {
        for (size_t i = 0; i < j->recovery.n_tenants; i++) {
                const struct vs_scan_tenant *s = &j->recovery.tenants[i];
                struct tenant *t = tenant_get(j, s->tenant);
                if (!t)
                        return -ENOMEM;
                *t = (struct tenant) { .tenant = s->tenant, .chain_seq = s->chain_seq,
                                       .last_seq = s->max_seq, .durable_seq = s->max_seq };
        }
        return 0;
}

static int remove_stale(void *ctx, const char *name) {
        struct vs_journal *j = ctx;
        uint64_t g;
        size_t n = strlen(name);
        bool stale = (vs_journal_name_parse(name, &g) && g < j->generation) ||
                     (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
        if (stale && unlinkat(j->dir_fd, name, 0) < 0)
                return -errno;
        return 0;
}

static int recover(struct vs_journal *j, char *err, size_t errlen) {
        char name[VS_JOURNAL_NAME_MAX];
        int r = vs_statedir_current_journal(j->dir_fd, &j->generation);
        if (r == -ENOENT)
                return create_first(j, err, errlen);
        if (r < 0)
                return fail(err, errlen, r, "cannot list %s: %s", j->opt.dir, strerror(-r));

        vs_journal_name(name, j->generation);
        r = vs_read_file_at(j->dir_fd, name, &j->recovery_bytes);
        if (r < 0)
                return fail(err, errlen, r, "cannot read %s/%s: %s", j->opt.dir, name, strerror(-r));
        r = check_header(j, name, err, errlen);
        if (r < 0)
                return r;
        j->fd = openat(j->dir_fd, name, O_RDWR | O_CLOEXEC);
        if (j->fd < 0)
                return fail(err, errlen, -errno, "cannot open %s/%s for writing: %m", j->opt.dir, name);
        r = vs_scan_buffer(j->recovery_bytes.data, j->recovery_bytes.len, &j->recovery);
        if (r < 0)
                return fail(err, errlen, r, "cannot scan %s/%s: %s", j->opt.dir, name, strerror(-r));
        log_damage(j, name, &j->recovery);

        r = tenants_from_recovery(j);
        if (r < 0)
                return r;
        r = vs_statedir_list(j->dir_fd, remove_stale, j);
        if (r < 0)
                return fail(err, errlen, r, "cannot clean %s: %s", j->opt.dir, strerror(-r));

        j->file_end = j->recovery.valid_end;
        j->rewrite_size = j->allocated = j->file_end;
        /* Batch 0 is reserved for rewritten images. */
        j->batch = j->recovery.last_batch + 1;
        if (j->recovery_bytes.len > j->file_end) {
                if (ftruncate(j->fd, (off_t) j->file_end) < 0 || fdatasync(j->fd) < 0)
                        return fail(err, errlen, -errno, "cannot cut torn tail of %s/%s: %m", j->opt.dir, name);
        }
        for (size_t i = 0; i < j->recovery.n_damage; i++)
                if (!j->recovery.damage[i].tail) {
                        /* Make holes explicit (MISSING records) so that later scans do not depend
                         * on the damaged bytes staying as they are. */
                        r = rewrite_now(j);
                        if (r < 0)
                                return fail(err, errlen, r, "cannot rewrite damaged %s/%s: %s",
                                            j->opt.dir, name, strerror(-r));
                        break;
                }
        return 0;
}

int vs_journal_open(const struct vs_journal_options *o, struct vs_journal **ret, char *err, size_t errlen) {
        _cleanup_free_ struct vs_journal *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->opt = *o;
        if (!j->opt.dir)
                j->opt.dir = VS_JOURNAL_DEFAULT_DIR;
        j->fd = j->event_fd = -1;
        pthread_mutex_init(&j->lock, NULL);
        pthread_cond_init(&j->wake, NULL);

        j->dir_fd = open(j->opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->dir_fd < 0) {
                int r = -errno;
                return fail(err, errlen, r, "state directory %s: %s", j->opt.dir, strerror(-r));
        }
        int r = 0;
        if (faccessat(j->dir_fd, ".", W_OK, AT_EACCESS) < 0)
                r = fail(err, errlen, -errno, "state directory %s is not writable: %m", j->opt.dir);
        else if (flock(j->dir_fd, LOCK_EX | LOCK_NB) < 0)
                r = fail(err, errlen, errno == EWOULDBLOCK ? -EBUSY : -errno,
                         "state directory %s is in use by another process", j->opt.dir);
        if (r >= 0)
                r = recover(j, err, errlen);
        if (r >= 0) {
                j->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (j->event_fd < 0)
                        r = -errno;
        }
        if (r >= 0) {
                r = -pthread_create(&j->thread, NULL, io_thread, j);
                j->thread_started = r >= 0;
        }
        if (r < 0) {
                vs_journal_close(TAKE_PTR(j));
                return r;
        }
        *ret = TAKE_PTR(j);
        return 0;
}

/* Seals the last batch first, so that rot in it is found on the next open. */
void vs_journal_close(struct vs_journal *j) {
        if (!j)
                return;
        if (j->thread_started) {
                pthread_mutex_lock(&j->lock);
                j->stop = true;
                pthread_cond_signal(&j->wake);
                pthread_mutex_unlock(&j->lock);
                pthread_join(j->thread, NULL);
        }
        if (j->compaction) {
                pthread_join(j->compactor, NULL);
                vs_compaction_free(j->compaction);
        }
        pthread_cond_destroy(&j->wake);
        pthread_mutex_destroy(&j->lock);
        vs_journal_recovery_done(j);
        batch_free(&j->pending);
        batch_free(&j->flushing);
        free(j->tenants);
        free(j->done);
        if (j->fd >= 0)
                close(j->fd);
        if (j->event_fd >= 0)
                close(j->event_fd);
        if (j->dir_fd >= 0)
                close(j->dir_fd);
        free(j);
}

bool vs_journal_created(const struct vs_journal *j) {
        return j->created;
}

const struct vs_scan *vs_journal_recovery(const struct vs_journal *j) {
        return &j->recovery;
}

void vs_journal_recovery_done(struct vs_journal *j) {
        vs_scan_done(&j->recovery);
        vs_buf_free(&j->recovery_bytes);
}

/* Queues one record of `size` bytes for the tenant; seq 0 takes the tenant's next. */
static int queue(struct vs_journal *j, uint64_t tenant, const struct vr_record *r, size_t size, uint64_t *ret_seq) {
        pthread_mutex_lock(&j->lock);
        int ret = j->failed;
        struct tenant *t = NULL;
        uint64_t max_pending = j->opt.max_pending ? j->opt.max_pending : DEFAULT_MAX_PENDING;
        if (ret == 0 && j->nospace && j->pending.bytes.len + j->flushing.bytes.len + size > max_pending)
                ret = -ENOBUFS;
        if (ret == 0) {
                t = tenant_get(j, tenant);
                if (!t)
                        ret = -ENOMEM;
                else if (r && r->seq <= t->last_seq)
                        ret = -EINVAL;
        }
        uint64_t seq = r ? r->seq : t ? t->last_seq + 1 : 0;
        if (ret == 0)
                ret = vs_array_grow((void **) &j->pending.recs, &j->pending.cap_recs, j->pending.n_recs + 1,
                                 sizeof(*j->pending.recs));
        if (ret == 0) {
                size_t offset = j->pending.bytes.len;
                /* Placed in its file, batch and chain when the I/O thread takes it. */
                struct vs_record_place at = { .tenant = tenant };
                ret = r ? vs_format_record_encode(&j->pending.bytes, &at, r)
                        : vs_format_forget_encode(&j->pending.bytes, &at, seq);
                if (ret == 0) {
                        j->pending.recs[j->pending.n_recs++] = (struct queued) {
                                .offset = offset, .tenant = tenant, .seq = seq };
                        t->last_seq = seq;
                        if (ret_seq)
                                *ret_seq = seq;
                }
        }
        pthread_mutex_unlock(&j->lock);
        return ret;
}

int vs_journal_append(struct vs_journal *j, uint64_t tenant, const struct vr_record *r) {
        size_t size = vs_format_record_size(r);
        if (size == 0)
                return r->kind == VR_RECORD_ENTRY && r->entry.len > VS_FORMAT_MAX_COMMAND ? -EMSGSIZE : -EINVAL;
        return queue(j, tenant, r, size, NULL);
}

int vs_journal_forget(struct vs_journal *j, uint64_t tenant, uint64_t *ret_seq) {
        return queue(j, tenant, NULL, VS_FORMAT_RECORD_HEADER_SIZE, ret_seq);
}

int vs_journal_checkpoint(struct vs_journal *j, uint64_t tenant, uint64_t op, uint8_t *data, size_t len) {
        if (op == 0)
                return -EINVAL;
        pthread_mutex_lock(&j->lock);
        int r = j->failed;
        uint64_t max_pending = j->opt.max_pending ? j->opt.max_pending : DEFAULT_MAX_PENDING;
        if (r == 0 && j->nospace && j->pending.bytes.len + j->flushing.bytes.len + len > max_pending)
                r = -ENOBUFS;
        if (r == 0)
                r = vs_array_grow((void **) &j->pending.ckpts, &j->pending.cap_ckpts, j->pending.n_ckpts + 1,
                                  sizeof(*j->pending.ckpts));
        if (r == 0)
                j->pending.ckpts[j->pending.n_ckpts++] = (struct queued_checkpoint) {
                        .tenant = tenant, .op = op, .data = data, .len = len };
        pthread_mutex_unlock(&j->lock);
        return r;
}

int vs_journal_checkpoint_open(struct vs_journal *j, uint64_t tenant, uint64_t op, struct vs_checkpoint_reader **ret) {
        struct vs_checkpoint_id id = { .cluster_id = j->opt.cluster_id, .tenant = tenant, .op = op };
        return vs_checkpoint_open(j->dir_fd, &id, ret);
}

void vs_journal_commit(struct vs_journal *j) {
        pthread_mutex_lock(&j->lock);
        bool wake = false;
        if (!batch_empty(&j->pending)) {
                j->commit_requested = true;
                j->retry_now = true;
                /* A busy I/O thread sees the request before it sleeps again: no wake-up needed. */
                wake = j->io_wait != IO_RUNNING;
        }
        pthread_mutex_unlock(&j->lock);
        /* Signalled after unlocking, so that the woken thread does not at once block on the lock
         * the loop still holds (it rechecks the request under the lock in any case). */
        if (wake)
                pthread_cond_signal(&j->wake);
}

size_t vs_journal_batch_size(struct vs_journal *j) {
        pthread_mutex_lock(&j->lock);
        size_t n = j->pending.n_recs + j->pending.n_ckpts;
        pthread_mutex_unlock(&j->lock);
        return n;
}

/* Reports the completions recorded so far, in order. */
static int report(struct vs_journal *j, vs_journal_durable_fn fn, vs_journal_checkpoint_fn checkpoint_fn, void *ctx) {
        pthread_mutex_lock(&j->lock);
        struct completion *done = TAKE_PTR(j->done);
        size_t n_done = j->n_done;
        j->n_done = j->cap_done = 0;
        pthread_mutex_unlock(&j->lock);

        for (size_t i = 0; i < n_done; i++)
                if (done[i].checkpoint_op == 0)
                        fn(ctx, done[i].tenant, done[i].seq, done[i].error);
                else if (checkpoint_fn)
                        checkpoint_fn(ctx, done[i].tenant, done[i].checkpoint_op, done[i].error);
        free(done);
        return (int) n_done;
}

/* Called with the lock held: whether the caller may write the pending batch itself. Only a plain
 * batch of records on a healthy journal whose I/O thread waits with nothing else to do: whatever
 * else is going on (a batch in flight, retries for space, a rewrite to switch to, checkpoint files
 * to write, maintenance) stays on the I/O thread, in its order. */
static bool may_write_here(struct vs_journal *j) {
        bool seal_due;
        return !batch_empty(&j->pending) && j->pending.n_ckpts == 0 && batch_empty(&j->flushing) &&
               j->io_wait != IO_RUNNING && !j->writing && !j->nospace && !io_work(j, &seal_due);
}

int vs_journal_commit_here(struct vs_journal *j, vs_journal_durable_fn fn, vs_journal_checkpoint_fn checkpoint_fn,
                           void *ctx) {
        pthread_mutex_lock(&j->lock);
        if (!may_write_here(j)) {
                pthread_mutex_unlock(&j->lock);
                vs_journal_commit(j);
                return 0;
        }
        j->writing = true;
        bool healthy = write_batch(j, false);
        j->writing = false;
        if (healthy && maintenance_due(j))
                j->maintenance = true;
        /* The I/O thread slept through the write: wake it only if it has work now, or a seal or
         * retry timer it did not arm (once per idle period, not per batch). */
        bool seal_due;
        bool wake = io_work(j, &seal_due) || (j->io_wait == IO_WAIT_UNTIMED && (j->unsealed || j->nospace));
        pthread_mutex_unlock(&j->lock);
        if (wake)
                pthread_cond_signal(&j->wake);
        (void) report(j, fn, checkpoint_fn, ctx);
        return 1;
}

int vs_journal_fd(const struct vs_journal *j) {
        return j->event_fd;
}

int vs_journal_dispatch(struct vs_journal *j, vs_journal_durable_fn fn, vs_journal_checkpoint_fn checkpoint_fn,
                        void *ctx) {
        uint64_t n;
        (void) !read(j->event_fd, &n, sizeof(n));
        return report(j, fn, checkpoint_fn, ctx);
}

void vs_journal_set_max_bytes(struct vs_journal *j, uint64_t max_bytes) {
        pthread_mutex_lock(&j->lock);
        j->opt.max_bytes = max_bytes;
        j->retry_now = true;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
}

uint64_t vs_journal_size(struct vs_journal *j) {
        pthread_mutex_lock(&j->lock);
        uint64_t n = j->file_end;
        pthread_mutex_unlock(&j->lock);
        return n;
}

void vs_journal_stats(struct vs_journal *j, struct vs_journal_stats *ret) {
        pthread_mutex_lock(&j->lock);
        *ret = (struct vs_journal_stats) { .rewrites = j->n_rewrites, .rewriting = j->rewriting };
        pthread_mutex_unlock(&j->lock);
}
