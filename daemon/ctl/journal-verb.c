/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viewstampctl journal verify|dump DIR: offline inspection of a state directory, read-only (it
 * neither locks nor repairs, so it may run beside a live daemon, seeing a moment's state). The
 * exit status is non-zero when anything is damaged, including a torn tail the daemon would cut.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/verb.h"
#include "journal/checkpoint.h"
#include "journal/format.h"
#include "journal/statedir.h"
#include "util/cleanup.h"

static const char *kind_name(unsigned kind) {
        switch (kind) {
        case VR_RECORD_ENTRY:
                return "entry";
        case VR_RECORD_TRUNCATE:
                return "truncate";
        case VR_RECORD_META:
                return "meta";
        case VS_RECORD_MISSING:
                return "missing";
        case VS_RECORD_SEAL:
                return "seal";
        case VS_RECORD_FORGET:
                return "forget";
        default:
                return "?";
        }
}

static const char *damage_name(enum vs_damage_reason r) {
        return r == VS_DAMAGE_BODY ? "body checksum mismatch" : "unreadable record header";
}

static void print_meta(const struct vr_meta *m) {
        printf("epoch=%" PRIu64 " view=%" PRIu64 " last-normal-view=%" PRIu64 " status=%" PRIu32
               " commit=%" PRIu64 " checkpoint-op=%" PRIu64, m->epoch, m->view, m->last_normal_view,
               m->status, m->commit, m->checkpoint_op);
        if (m->n_members == 0)
                return;
        printf(" epoch-op=%" PRIu64 " members=", m->epoch_op);
        for (uint32_t i = 0; i < m->n_members; i++)
                printf("%s%" PRIu64, i ? "," : "", m->members[i]);
        printf(" old-members=");
        for (uint32_t i = 0; i < m->n_old_members; i++)
                printf("%s%" PRIu64, i ? "," : "", m->old_members[i]);
}

static int dump_item(void *ctx, const struct vs_walk_item *it) {
        if (it->damaged) {
                printf("%10" PRIu64 "  DAMAGED %" PRIu64 " bytes: %s", it->offset, it->length, damage_name(it->reason));
                if (it->reason == VS_DAMAGE_BODY)
                        printf(" (tenant %016" PRIx64 " seq %" PRIu64 " %s)", it->tenant, it->rec.seq, kind_name(it->kind));
                printf("\n");
                return 0;
        }
        printf("%10" PRIu64 "  tenant %016" PRIx64 " seq %" PRIu64 " prev %" PRIu64 " %-8s ", it->offset,
               it->tenant, it->rec.seq, it->prev_seq, kind_name(it->kind));
        switch (it->kind) {
        case VR_RECORD_ENTRY:
                printf("op=%" PRIu64 " view=%" PRIu64 " client=%016" PRIx64 " request=%" PRIu64 " len=%" PRIu32,
                       it->rec.entry.op, it->rec.entry.view, it->rec.entry.client_id, it->rec.entry.request,
                       it->rec.entry.len);
                break;
        case VR_RECORD_TRUNCATE:
                printf("after=%" PRIu64, it->rec.after);
                break;
        case VR_RECORD_META:
                print_meta(&it->rec.meta);
                break;
        case VS_RECORD_SEAL:
                printf("batch=%" PRIu64, it->batch);
                break;
        case VS_RECORD_FORGET:
                break;
        default:
                printf("from=%" PRIu64, it->arg);
        }
        printf("\n");
        return 0;
}

struct checkpoints {
        int dir_fd;
        unsigned bad;
        unsigned seen;
};

static int check_checkpoint(void *ctx, const char *name) {
        struct checkpoints *c = ctx;
        uint64_t tenant, op, cluster, length;
        size_t n = strlen(name);

        if (n > 4 && strcmp(name + n - 4, ".tmp") == 0) {
                printf("  %s: unfinished write (removed at next start)\n", name);
                return 0;
        }
        if (!vs_checkpoint_name_parse(name, &tenant, &op))
                return 0;
        c->seen++;
        int r = vs_checkpoint_verify(c->dir_fd, name, &cluster, &length);
        if (r < 0) {
                c->bad++;
                printf("  %s: BAD: %s\n", name, r == -EBADMSG ? "damaged or truncated" : strerror(-r));
        } else
                printf("  %s: ok, tenant %016" PRIx64 " op %" PRIu64 " cluster %016" PRIx64 ", %" PRIu64 " bytes\n",
                       name, tenant, op, cluster, length);
        return 0;
}

static int inspect(const char *dir, bool dump) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                fprintf(stderr, "%s: %m\n", dir);
                return EXIT_FAILURE;
        }
        uint64_t generation;
        int r = vs_statedir_current_journal(dfd, &generation);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", dir, r == -ENOENT ? "no journal here" : strerror(-r));
                return EXIT_FAILURE;
        }
        char name[VS_JOURNAL_NAME_MAX];
        vs_journal_name(name, generation);
        _cleanup_(vs_buf_free) struct vs_buf b = {};
        r = vs_read_file_at(dfd, name, &b);
        if (r < 0) {
                fprintf(stderr, "%s/%s: %s\n", dir, name, strerror(-r));
                return EXIT_FAILURE;
        }

        struct vs_scan s;
        r = vs_scan_buffer(b.data, b.len, &s);
        if (r < 0) {
                fprintf(stderr, "%s/%s: %s\n", dir, name,
                        r == -EMEDIUMTYPE ? "not a viewstamp journal" :
                        r == -EPROTONOSUPPORT ? "written by a newer format version" :
                        r == -EBADMSG ? "file header damaged" : strerror(-r));
                return EXIT_FAILURE;
        }
        printf("%s/%s: format %" PRIu32 ", cluster %016" PRIx64 ", node %016" PRIx64 ", generation %" PRIu64
               ", %zu bytes, %" PRIu64 " valid records\n", dir, name, s.header.version, s.header.cluster_id,
               s.header.node_id, s.header.generation, b.len, s.n_records);
        if (dump)
                (void) vs_format_walk(b.data, b.len, dump_item, NULL);

        for (size_t i = 0; i < s.n_damage; i++) {
                const struct vs_damage *d = &s.damage[i];
                printf("DAMAGE at offset %" PRIu64 ", %" PRIu64 " bytes: %s; %s\n", d->offset, d->length,
                       damage_name(d->reason),
                       d->tail ? "torn tail, cut at next start" : "hole, records after it are valid");
        }
        for (size_t i = 0; i < s.n_tenants; i++) {
                const struct vs_scan_tenant *t = &s.tenants[i];
                printf("tenant %016" PRIx64 ": max seq %" PRIu64 ", %zu entries", t->tenant, t->max_seq, t->n_entries);
                if (t->n_entries > 0)
                        printf(" (ops %" PRIu64 "..%" PRIu64 ")", t->entries[0].op, t->entries[t->n_entries - 1].op);
                if (t->has_meta) {
                        printf(", meta ");
                        print_meta(&t->meta);
                }
                if (t->missing_from)
                        printf(", MISSING ops from %" PRIu64 " on", t->missing_from);
                printf("\n");
        }
        bool damaged = s.n_damage > 0;
        for (size_t i = 0; i < s.n_tenants; i++)
                damaged = damaged || s.tenants[i].missing_from != 0;
        vs_scan_done(&s);

        struct checkpoints c = { .dir_fd = dfd };
        printf("checkpoints:\n");
        r = vs_statedir_list(dfd, check_checkpoint, &c);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", dir, strerror(-r));
                return EXIT_FAILURE;
        }
        if (c.seen == 0)
                printf("  none\n");

        if (damaged || c.bad > 0) {
                printf("%s: CORRUPTION FOUND\n", dir);
                return EXIT_FAILURE;
        }
        printf("%s: ok\n", dir);
        return EXIT_SUCCESS;
}

static int verb_verify(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: viewstampctl journal verify DIR\n");
                return CTL_EXIT_USAGE;
        }
        return inspect(argv[1], false);
}

static int verb_dump(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: viewstampctl journal dump DIR\n");
                return CTL_EXIT_USAGE;
        }
        return inspect(argv[1], true);
}

static const struct vs_verb journal_verbs[] = {
        { "verify", "DIR", "check every checksum; non-zero exit on any damage", verb_verify },
        { "dump", "DIR", "print every record, the tenants' state and the checkpoints", verb_dump },
};

int vs_verb_journal(int argc, char **argv) {
        return vs_verb_dispatch("viewstampctl journal", journal_verbs, ELEMENTSOF(journal_verbs), argc, argv);
}
