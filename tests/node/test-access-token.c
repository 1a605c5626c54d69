/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/access_token.h"
#include "node/tenant_config.h"
#include "util/cleanup.h"
#include "../check-run.h"

START_TEST(test_make_and_check) {
        struct vs_access_token t;
        ck_assert_int_eq(vs_access_token_make("s3cret", 6, &t), 0);
        ck_assert(t.set);
        ck_assert_uint_eq(t.iterations, VS_ACCESS_TOKEN_ITERATIONS);
        ck_assert_int_eq(vs_access_token_check(&t, "s3cret", 6), 0);
        ck_assert_int_eq(vs_access_token_check(&t, "s3creT", 6), -EACCES);
        ck_assert_int_eq(vs_access_token_check(&t, "s3cre", 5), -EACCES);
        ck_assert_int_eq(vs_access_token_check(&t, "s3cret\0", 7), -EINVAL);
        ck_assert_int_eq(vs_access_token_make("a\0b", 3, &t), -EINVAL);
        ck_assert_int_eq(vs_access_token_check(&t, "", 0), -EINVAL);
        /* The stored form holds neither the token nor anything that repeats for it. */
        ck_assert_ptr_null(memmem(&t, sizeof t, "s3cret", 6));
        struct vs_access_token again;
        ck_assert_int_eq(vs_access_token_make("s3cret", 6, &again), 0);
        ck_assert_mem_ne(t.salt, again.salt, sizeof t.salt);
        ck_assert_mem_ne(t.hash, again.hash, sizeof t.hash);
        ck_assert(!vs_access_token_same(&t, &again));
        ck_assert(vs_access_token_same(&t, &t));
        ck_assert_int_eq(vs_access_token_check(&again, "s3cret", 6), 0);

        /* No token stored: nothing matches it. */
        struct vs_access_token none = {};
        ck_assert_int_eq(vs_access_token_check(&none, "s3cret", 6), -EACCES);
        ck_assert(vs_access_token_same(&none, &(struct vs_access_token) {}));
        ck_assert(!vs_access_token_same(&none, &t));

        /* Sizes: 1..VS_ACCESS_TOKEN_MAX bytes of anything. */
        static char big[VS_ACCESS_TOKEN_MAX + 1];
        memset(big, 0xff, sizeof big);
        ck_assert_int_eq(vs_access_token_make(big, sizeof big, &t), -EINVAL);
        ck_assert_int_eq(vs_access_token_make("", 0, &t), -EINVAL);
        ck_assert_int_eq(vs_access_token_make(big, VS_ACCESS_TOKEN_MAX, &t), 0);
        ck_assert_int_eq(vs_access_token_check(&t, big, VS_ACCESS_TOKEN_MAX), 0);
        ck_assert_int_eq(vs_access_token_check(&t, big, sizeof big), -EINVAL);
}
END_TEST

START_TEST(test_acceptable) {
        char err[128];
        ck_assert_int_eq(vs_access_token_acceptable("0123456789abcdef", err, sizeof err), 0);
        ck_assert_int_eq(vs_access_token_acceptable("~!@#$%^&*()_+{}|:<>?", err, sizeof err), 0);
        ck_assert_int_eq(vs_access_token_acceptable("0123456789abcde", err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "an access token has 16 to 1024 characters, not 15");
        ck_assert_int_eq(vs_access_token_acceptable("0123456789 abcdef", err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "an access token is printable ASCII without spaces");
        ck_assert_int_eq(vs_access_token_acceptable("0123456789abcdef\x7f", err, sizeof err), -EINVAL);
        ck_assert_int_eq(vs_access_token_acceptable("0123456789abcdef\xc3\xa9", err, sizeof err), -EINVAL);
        static char big[VS_ACCESS_TOKEN_MAX + 2];
        memset(big, 'x', VS_ACCESS_TOKEN_MAX);
        ck_assert_int_eq(vs_access_token_acceptable(big, err, sizeof err), 0);
        big[VS_ACCESS_TOKEN_MAX] = 'x';
        ck_assert_int_eq(vs_access_token_acceptable(big, err, sizeof err), -EINVAL);
}
END_TEST

/* The iteration count travels with the hash: a token made under another count still checks. */
START_TEST(test_stored_iterations) {
        struct vs_access_token t;
        ck_assert_int_eq(vs_access_token_make("tok", 3, &t), 0);
        struct vs_access_token other = t;
        other.iterations = 2;
        ck_assert_int_eq(vs_access_token_check(&other, "tok", 3), -EACCES);
        ck_assert(!vs_access_token_same(&t, &other));
}
END_TEST

START_TEST(test_in_tenant_config) {
        struct vs_tenant_config c = { .name = "t", .id = 7, .n_replicas = 1, .replicas = { "a" } };
        ck_assert_int_eq(vs_access_token_make("tok", 3, &c.token), 0);
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        ck_assert_int_eq(vs_tenant_config_encode(&c, &buf, &len), 0);
        struct vs_tenant_config d;
        ck_assert_int_eq(vs_tenant_config_decode(buf, len, &d), 0);
        ck_assert(vs_access_token_same(&c.token, &d.token));
        ck_assert_int_eq(vs_access_token_check(&d.token, "tok", 3), 0);

        /* Without a token the encoding is what it was before tokens existed. */
        struct vs_tenant_config open = c;
        open.token = (struct vs_access_token) {};
        _cleanup_free_ uint8_t *obuf = NULL;
        size_t olen;
        ck_assert_int_eq(vs_tenant_config_encode(&open, &obuf, &olen), 0);
        ck_assert_uint_lt(olen, len);
        ck_assert_int_eq(vs_tenant_config_decode(obuf, olen, &d), 0);
        ck_assert(!d.token.set);

        /* A hash of the wrong size is damage, not "no token". Field 6 (token_hash), 3 bytes. */
        uint8_t bad[256];
        memcpy(bad, obuf, olen);
        memcpy(bad + olen, "\x32\x03xyz", 5);
        ck_assert_int_eq(vs_tenant_config_decode(bad, olen + 5, &d), -EBADMSG);
}
END_TEST

int main(void) {
        Suite *s = suite_create("access-token");
        TCase *tc = tcase_create("access-token");
        tcase_add_test(tc, test_make_and_check);
        tcase_add_test(tc, test_stored_iterations);
        tcase_add_test(tc, test_acceptable);
        tcase_add_test(tc, test_in_tenant_config);
        suite_add_tcase(s, tc);
        return vs_check_run(s);
}
