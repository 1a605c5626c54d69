/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "net/source_limit.h"
#include "../check-run.h"

static struct vs_address addr(const char *s) {
        struct vs_address a;
        ck_assert_int_eq(vs_address_parse(s, &a), 0);
        return a;
}

START_TEST(test_per_address) {
        struct vs_source_limit s;
        vs_source_limit_init(&s, 2);
        struct vs_address a1 = addr("10.0.0.1:1000"), a1b = addr("10.0.0.1:2000"), a2 = addr("10.0.0.2:1000");

        /* The port does not matter: one host, one budget. */
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a1), 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a1b), 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a1), -EUSERS);
        ck_assert_uint_eq(vs_source_limit_count(&s, &a1b), 2);
        /* Another host is not affected. */
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a2), 0);
        ck_assert_uint_eq(vs_source_limit_count(&s, &a2), 1);

        vs_source_limit_release(&s, &a1);
        ck_assert_uint_eq(vs_source_limit_count(&s, &a1), 1);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a1), 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &a1), -EUSERS);

        /* An address with no connection left is forgotten: memory follows the hosts connected. */
        vs_source_limit_release(&s, &a1);
        vs_source_limit_release(&s, &a1);
        vs_source_limit_release(&s, &a2);
        ck_assert_uint_eq(vs_source_limit_count(&s, &a1), 0);
        ck_assert_uint_eq(u64map_size(&s.counts), 0);
        vs_source_limit_done(&s);
}
END_TEST

START_TEST(test_ipv6_and_mapped) {
        struct vs_source_limit s;
        vs_source_limit_init(&s, 1);
        struct vs_address v4 = addr("192.0.2.7:1"), mapped = addr("[::ffff:192.0.2.7]:2"), v6 = addr("[2001:db8::7]:3"),
                          v6b = addr("[2001:db8::8]:3");
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v4), 0);
        /* The same IPv4 host seen through a dual-stack socket shares its budget. */
        ck_assert_int_eq(vs_source_limit_acquire(&s, &mapped), -EUSERS);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v6), 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v6), -EUSERS);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v6b), 0);
        vs_source_limit_done(&s);

        /* 0 means 1: a limit always lets some connection in. */
        vs_source_limit_init(&s, 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v4), 0);
        ck_assert_int_eq(vs_source_limit_acquire(&s, &v4), -EUSERS);
        vs_source_limit_done(&s);
}
END_TEST

int main(void) {
        Suite *s = suite_create("source-limit");
        TCase *tc = tcase_create("source-limit");
        tcase_add_test(tc, test_per_address);
        tcase_add_test(tc, test_ipv6_and_mapped);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
