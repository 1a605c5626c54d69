/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Blocking work (a checkpoint's write and fsync) run on a thread of its own, with its completion
 * delivered back on the event loop, so the loop keeps serving while the disk works. Jobs are
 * independent; the caller orders what depends on them by acting only in `done`.
 *
 * vs_offload_wait_all() joins every job still running and runs its `done` (at shutdown, before
 * what the jobs reference is freed).
 */

#include <systemd/sd-event.h>

struct vs_offloader;

typedef int (*vs_offload_fn)(void *ctx);                 /* on the job's thread */
typedef void (*vs_offload_done_fn)(void *ctx, int result); /* on the loop */

int vs_offloader_new(sd_event *e, struct vs_offloader **ret);
void vs_offloader_free(struct vs_offloader *o);
int vs_offload(struct vs_offloader *o, vs_offload_fn fn, vs_offload_done_fn done, void *ctx);
void vs_offload_wait_all(struct vs_offloader *o);
