/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libviewstamp: the client library of viewstamp, a replicated ZooKeeper-like tree.
 *
 * A vs_client talks to one tenant (an independent replica group) through any of the node client
 * addresses it is given. It finds the tenant's primary by following redirects, keeps one TCP
 * connection to it, pipelines any number of requests on it, and retries them across timeouts,
 * disconnects, view changes and node failures without ever executing a request twice.
 *
 * Threads: a vs_client and everything obtained from it belong to one thread at a time; distinct
 * clients are independent. Nothing here blocks except vs_client_wait() and the synchronous calls.
 *
 * Driving the asynchronous API: the library never spawns threads or installs signal handlers. It
 * owns one file descriptor (vs_client_get_fd(): stable for the client's lifetime, it becomes
 * readable whenever the client has work: socket I/O or an expired timer). Either
 *   - poll it (POLLIN) in your own loop and call vs_client_process() when it is readable, or
 *   - call vs_client_wait() to block until something happened and process it, or
 *   - vs_client_attach_event() to an sd-event loop, which then does both for you.
 * Completion callbacks run only inside vs_client_process()/vs_client_wait() (or the sd-event
 * dispatch), never from inside a submit call; a callback may submit new requests (they leave
 * together once the callbacks of that round ran) and may call vs_call(), but must not free the
 * client.
 *
 * Sessions and at-most-once: the server remembers, per session (a random 64-bit client id
 * registered through the replicated log), the latest request number and its reply. The library
 * therefore gives every outstanding request a session of its own: up to max_sessions sessions
 * (default 64, vs_client_set_max_sessions()) are registered on demand and reused, and requests
 * beyond that wait in submission order. A request is retried only with the number it was first
 * sent with, so it runs at most once however often it is resent. If the server evicted the
 * session (SESSION_EXPIRED), the request did not run: it fails with -ESTALE and the library
 * registers a fresh session (new client id) for the requests that follow.
 *
 * Results: every request completes exactly once, with a vs_result whose error is
 *   0                      success;
 *   > 0 (enum vs_error)    the data model refused the request and changed nothing;
 *   < 0 (negative errno)   the library or the transport gave up:
 *     -ETIMEDOUT      the request's deadline passed; it may or may not have run
 *     -ECONNREFUSED, -EHOSTUNREACH, ... (any connect error)
 *                     no node could be reached by the deadline (or within the connect rounds,
 *                     vs_client_set_connect_rounds()); the request was never delivered, so it
 *                     did not run; with TLS (vs_client_set_tls()) a node whose certificate does not
 *                     verify counts as unreachable and ends as -EKEYREJECTED
 *     -ESTALE         session expired; the request did not run
 *     -ELOOP          more redirects than max_redirects for this request (after the first,
 *                     each is followed only after a growing wait, 20 ms to 1 s, so that a view
 *                     change can finish: 8 span at least a second); it may have run only if an
 *                     earlier send of it reached a primary (treat as unknown)
 *     -ENXIO          every node answered that it hosts no replica of the tenant
 *     -EPROTO         the server refused the request as malformed; it did not run
 *     -EACCES         the tenant requires an access token and the one set with
 *                     vs_client_set_token() is missing or wrong; the request did not run
 *     -EUSERS         the request is over one of the server's limits (too many requests
 *                     outstanding on one connection, ...; vs_result_message() names it); it
 *                     did not run
 *     -EBADMSG        the server's reply did not decode; it may or may not have run
 *     -EMSGSIZE       the request is larger than a frame may be; it was not sent
 *     -ECANCELED      the client was freed while the request was outstanding (callback still runs)
 *     -ENOMEM, -EINVAL
 * vs_strerror() turns any of these into a message.
 *
 * Addresses are numeric "IPV4:PORT" or "[IPV6]:PORT" (no name resolution, so nothing blocks).
 * Paths are absolute ("/a/b"), as the server's data model defines them.
 *
 * Symbols are versioned (LIBVIEWSTAMP_0); structs documented here are part of the ABI.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The data model's refusals; the numbers are stable (the wire carries them). */
enum vs_error {
        VS_OK = 0,
        VS_ERR_NO_NODE = 1,         /* the node addressed does not exist */
        VS_ERR_NODE_EXISTS = 2,     /* create of a path that is taken */
        VS_ERR_BAD_VERSION = 3,     /* expected version differs from the node's */
        VS_ERR_NOT_EMPTY = 4,       /* non-recursive delete of a node with children */
        VS_ERR_BAD_PATH = 5,        /* not absolute, empty component, ".", "..", trailing '/', NUL, too long */
        VS_ERR_VALUE_TOO_LARGE = 6, /* value over the server's limit */
        VS_ERR_TOO_MANY_OPS = 7,    /* multi with more ops than the server's limit */
        VS_ERR_PARENT_MISSING = 8,  /* create under a parent that does not exist */
        VS_ERR_BAD_REQUEST = 9,     /* the server could not decode the request */
        VS_ERR_ROOT = 10,           /* the operation is not permitted on the root node */
};

/* Message for 0, an enum vs_error, or a negative errno (library-specific wording where the errno
 * has a meaning of its own above). Never NULL; the string is static. */
const char *vs_strerror(int error);
/* Stable CamelCase name of an enum vs_error ("NoNode"); NULL for 0, negatives and unknown codes. */
const char *vs_error_name(int error);

/* Versions: "any version" where a version is expected. */
#define VS_VERSION_ANY UINT64_MAX

/* A node's metadata. */
struct vs_stat {
        uint64_t version;      /* changes of the value (0 after create) */
        uint64_t cversion;     /* creates and deletes of children */
        uint64_t created_op;   /* log position of the create */
        uint64_t modified_op;  /* log position of the last create or set */
        uint32_t num_children;
        uint32_t value_len;
};

/* --- Clients --- */

typedef struct vs_client vs_client;

/* A client for tenant, with defaults: no node yet, timeout 10 s, max_redirects 8, max_sessions 64. */
int vs_client_new(vs_client **ret, const char *tenant);
/* Fails every outstanding request with -ECANCELED (running their callbacks) and frees. NULL ok. */
void vs_client_free(vs_client *c);

/* Adds a node's client address to try (in order added). -EINVAL for a malformed address. */
int vs_client_add_node(vs_client *c, const char *address);
/* Deadline of each request submitted from now on, from submission to completion. 0: -EINVAL. */
int vs_client_set_timeout(vs_client *c, uint64_t usec);
/* Redirects one request may follow before it fails with -ELOOP. */
int vs_client_set_max_redirects(vs_client *c, unsigned n);
/* Fail fast: after this many rounds in which no node accepted a connection, requests that never
 * reached a node fail with the last connect error (e.g. -ECONNREFUSED) instead of waiting for
 * their deadline. 0 (the default): keep trying until the deadline, as through a cluster restart. */
int vs_client_set_connect_rounds(vs_client *c, unsigned rounds);
/* The tenant's access token (1..VS_TOKEN_MAX bytes; len 0 forgets it), presented once on every
 * connection before any request, also at once on the current one (after a rotation). A tenant
 * that requires a token refuses requests without the right one with -EACCES. The library keeps
 * a copy, wiped when replaced or freed. */
#define VS_TOKEN_MAX 1024
int vs_client_set_token(vs_client *c, const void *token, size_t len);
/* Sessions, hence requests in flight at once; 1..65536. Lowering it retires idle sessions. */
int vs_client_set_max_sessions(vs_client *c, unsigned n);

/* Connect over TLS (1.2 or 1.3) from now on, trusting the CA certificates in ca_file (PEM); each
 * node's certificate must name server_name, or when NULL the IP address connected to. Call before
 * submitting. -EINVAL (also for an unreadable or empty CA file: nothing changes), -ENOMEM. */
int vs_client_set_tls(vs_client *c, const char *ca_file, const char *server_name);

/* Address of the node currently connected ("" when none); valid until the next library call. */
const char *vs_client_current_node(vs_client *c);
/* Requests submitted and not yet completed. */
size_t vs_client_outstanding(const vs_client *c);

/* --- Driving --- */

/* Pollable descriptor (POLLIN), stable for the client's lifetime; do not read or close it. */
int vs_client_get_fd(const vs_client *c);
/* Does whatever I/O and timer work is due, running completion callbacks; never blocks.
 * Returns 0 or a negative errno on a failure of the client itself (-ENOMEM). */
int vs_client_process(vs_client *c);
/* Blocks up to usec (UINT64_MAX: no limit) until there is work, then processes it. Returns 0 or
 * a negative errno (-EINTR passes through). */
int vs_client_wait(vs_client *c, uint64_t usec);

typedef struct sd_event sd_event;
/* Lets an sd-event loop drive the client (an I/O source on vs_client_get_fd() at priority).
 * NULL event: the thread's default loop. Detached by vs_client_detach_event() or free. */
int vs_client_attach_event(vs_client *c, sd_event *event, int64_t priority);
void vs_client_detach_event(vs_client *c);

/* --- Requests --- */

/* A request, built by one of the constructors and consumed by vs_submit() or vs_call(). */
typedef struct vs_op vs_op;

enum {
        VS_CREATE_SEQUENTIAL = 1u << 0, /* append the parent's cversion, 10 digits, to the name */
};
enum {
        VS_DELETE_RECURSIVE = 1u << 0,  /* delete the node's descendants too */
};
enum {
        VS_LIST_STAT = 1u << 0,         /* return each child's vs_stat */
};

/* All return 0, -EINVAL (NULL path, unknown flags) or -ENOMEM; value may be NULL when len is 0. */
int vs_op_create(vs_op **ret, const char *path, const void *value, size_t len, unsigned flags);
int vs_op_get(vs_op **ret, const char *path);
int vs_op_exists(vs_op **ret, const char *path);
/* expected_version VS_VERSION_ANY: plain set; any other value: compare-and-set. */
int vs_op_set(vs_op **ret, const char *path, const void *value, size_t len, uint64_t expected_version);
int vs_op_delete(vs_op **ret, const char *path, uint64_t expected_version, unsigned flags);
int vs_op_list(vs_op **ret, const char *path, unsigned flags);

/* A multi applies its ops all or nothing, in order. Start with vs_op_multi() and add ops; each
 * add returns -EINVAL when op is not a multi. check: the node exists (and has expected_version
 * unless VS_VERSION_ANY). */
int vs_op_multi(vs_op **ret);
int vs_op_multi_create(vs_op *multi, const char *path, const void *value, size_t len, unsigned flags);
int vs_op_multi_set(vs_op *multi, const char *path, const void *value, size_t len, uint64_t expected_version);
int vs_op_multi_delete(vs_op *multi, const char *path, uint64_t expected_version, unsigned flags);
int vs_op_multi_check(vs_op *multi, const char *path, uint64_t expected_version);
size_t vs_op_multi_count(const vs_op *multi);

/* This request's deadline, from submission to completion, instead of the client's. 0: -EINVAL. */
int vs_op_set_timeout(vs_op *op, uint64_t usec);

/* Frees an op that was never submitted. NULL ok. */
void vs_op_free(vs_op *op);

/* --- Results --- */

typedef struct vs_result vs_result;

void vs_result_free(vs_result *r);

/* 0, > 0 (enum vs_error) or < 0 (negative errno), as described at the top. */
int vs_result_error(const vs_result *r);
/* The server's or library's explanation of a failure, or NULL. */
const char *vs_result_message(const vs_result *r);
/* create/get/exists/set: the node's stat. -ENODATA when the result holds none. */
int vs_result_stat(const vs_result *r, struct vs_stat *ret);
/* get: the value (len 0 for an empty value; never NULL on success, NUL-terminated for
 * convenience beyond len). */
const void *vs_result_value(const vs_result *r, size_t *len);
/* create: the path actually created (differs from the request with VS_CREATE_SEQUENTIAL). */
const char *vs_result_path(const vs_result *r);
/* list: children in name order; names are NUL-terminated (a name holding a NUL byte is cut). */
size_t vs_result_children(const vs_result *r);
const char *vs_result_child_name(const vs_result *r, size_t i);
/* -ENODATA when the list was made without VS_LIST_STAT; -ERANGE for i out of range. */
int vs_result_child_stat(const vs_result *r, size_t i, struct vs_stat *ret);
/* multi refused (error > 0): index of the op that failed. */
size_t vs_result_failed_op(const vs_result *r);
/* multi applied: one result per op, with the created path (create) and stat (create, set). */
size_t vs_result_op_results(const vs_result *r);
const char *vs_result_op_path(const vs_result *r, size_t i);
int vs_result_op_stat(const vs_result *r, size_t i, struct vs_stat *ret);

/* --- Asynchronous and synchronous calls --- */

/* Runs once per submitted request. The callback owns result and frees it with vs_result_free(). */
typedef void (*vs_callback)(vs_client *c, vs_result *result, void *userdata);

/* Takes ownership of op (also on failure). Returns 0 (callback will run) or -EINVAL, -ENOMEM,
 * -EDESTADDRREQ when no node was added (callback will not run). */
int vs_submit(vs_client *c, vs_op *op, vs_callback callback, void *userdata);

/* Submits op (taking ownership) and drives the client until it completes. Returns the result's
 * error; *ret (if ret is not NULL) receives the result whenever the request was submitted, and
 * is left alone when submitting failed (-EINVAL, -ENOMEM, -EDESTADDRREQ: no node added). Other
 * outstanding requests keep progressing meanwhile and their callbacks may run. */
int vs_call(vs_client *c, vs_op *op, vs_result **ret);

/* Conveniences over vs_call() for the common single operations. */
int vs_get(vs_client *c, const char *path, vs_result **ret);
int vs_set(vs_client *c, const char *path, const void *value, size_t len, uint64_t expected_version,
           vs_result **ret);
int vs_create(vs_client *c, const char *path, const void *value, size_t len, unsigned flags, vs_result **ret);
int vs_delete(vs_client *c, const char *path, uint64_t expected_version, unsigned flags, vs_result **ret);

#ifdef __cplusplus
}
#endif
