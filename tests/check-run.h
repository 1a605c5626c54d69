/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The main() of every check-based unit test: runs the suite with check's defaults (forking each
 * test, CK_NORMAL output) and turns its failure count into the exit status meson reads.
 */

#include <check.h>
#include <stdlib.h>

static inline int vs_check_run(Suite *s) {
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
