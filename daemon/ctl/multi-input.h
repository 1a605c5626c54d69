/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The input format of "viewstampctl multi": one op per line,
 *
 *     create [-s] PATH [VALUE]
 *     set [-v VERSION] PATH [VALUE]
 *     delete [-r] [-v VERSION] PATH
 *     check [-v VERSION] PATH
 *
 * Words are separated by blanks; VALUE is the rest of the line after PATH and one blank, taken
 * verbatim (it may hold blanks, not newlines). -s: sequential, -r: recursive, -v: expected
 * version. Blank lines and lines starting with '#' are ignored.
 */

#include <stdio.h>

#include "client/viewstamp.h"

/* Adds the op of one line (without its newline) to multi. 1 when added, 0 for a blank or comment
 * line, -EINVAL with *error naming what is wrong, -ENOMEM. line is modified. */
int multi_parse_line(vs_op *multi, char *line, const char **error);

/* Reads every line of in into multi. On -EINVAL, *line_no is the offending line. -EIO on a read
 * error. */
int multi_read(FILE *in, vs_op *multi, unsigned *line_no, const char **error);
