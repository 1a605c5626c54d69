/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Results (struct vs_result, opaque in viewstamp.h): either a decoded TreeResponse or a failure
 * the library decided on. Everything the accessors return is owned by the result.
 */

#include <stddef.h>
#include <stdint.h>

#include "client/viewstamp.h"

/* A failure with no server reply: error < 0 (or > 0), message optional (copied). NULL on ENOMEM. */
struct vs_result *result_new_error(int error, const char *message);

/* Decodes an encoded TreeResponse. -EBADMSG if it does not decode, -ENOMEM. */
int result_new_reply(const uint8_t *buf, size_t len, struct vs_result **ret);
