/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/peer_key.h"
#include "conf/conf.h"
#include "net/tls.h"
#include "util/cleanup.h"

/* TLS 1.3 with ECDHE-PSK and nothing else: no certificates, no plain-PSK key exchange. PERFORMANCE
 * differs from NORMAL here only in the order of the same ciphers: AES-128-GCM first where the CPU
 * accelerates AES, ChaCha20-Poly1305 first where it does not (gnutls decides), whereas NORMAL made
 * gnutls 3.7 settle on ChaCha20-Poly1305 even with AES-NI, which peer links then paid for with
 * about a tenth of the primary's CPU (nine times slower than AES-128-GCM on such a CPU). */
#define PEER_PRIORITIES "PERFORMANCE:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK"

/* Client connections: what current clients speak, and nothing older than TLS 1.2. */
#define CLIENT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Handshake steps that return a non-fatal error (a warning alert) before giving up for now. */
#define NONFATAL_RETRIES 8

struct vs_tls {
        gnutls_session_t session;
        gnutls_psk_client_credentials_t psk_client;
        gnutls_psk_server_credentials_t psk_server;
        vs_tls_psk_lookup_fn lookup;
        void *lookup_userdata;
        bool server;
        bool refused;                    /* the lookup refused the identity: reason says why */
        char identity[VS_CONF_NAME_MAX + 1];
        uint8_t ip[16];                  /* the address a server's certificate must name */
        gnutls_typed_vdata_st expect;
        char reason[VS_TLS_REASON_MAX];
};

struct vs_tls *vs_tls_free(struct vs_tls *t) {
        if (!t)
                return NULL;
        if (t->session)
                gnutls_deinit(t->session);
        if (t->psk_client)
                gnutls_psk_free_client_credentials(t->psk_client);
        if (t->psk_server)
                gnutls_psk_free_server_credentials(t->psk_server);
        free(t);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vs_tls *, vs_tls_free)

struct vs_tls_creds {
        gnutls_certificate_credentials_t cert;
};

struct vs_tls_creds *vs_tls_creds_free(struct vs_tls_creds *c) {
        if (!c)
                return NULL;
        if (c->cert)
                gnutls_certificate_free_credentials(c->cert);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vs_tls_creds *, vs_tls_creds_free)

static int creds_new(struct vs_tls_creds **ret) {
        struct vs_tls_creds *c = calloc(1, sizeof *c);
        if (!c || gnutls_certificate_allocate_credentials(&c->cert) < 0) {
                vs_tls_creds_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int vs_tls_creds_load_server(const char *cert_file, const char *key_file, struct vs_tls_creds **ret, char *err,
                             size_t errlen) {
        _cleanup_(vs_tls_creds_freep) struct vs_tls_creds *c = NULL;
        int r = creds_new(&c);
        if (r < 0)
                return r;
        r = gnutls_certificate_set_x509_key_file(c->cert, cert_file, key_file, GNUTLS_X509_FMT_PEM);
        if (r < 0) {
                snprintf(err, errlen, "%s, %s: %s", cert_file, key_file, gnutls_strerror(r));
                return -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int vs_tls_creds_load_ca(const char *ca_file, struct vs_tls_creds **ret, char *err, size_t errlen) {
        _cleanup_(vs_tls_creds_freep) struct vs_tls_creds *c = NULL;
        int r = creds_new(&c);
        if (r < 0)
                return r;
        r = gnutls_certificate_set_x509_trust_file(c->cert, ca_file, GNUTLS_X509_FMT_PEM);
        if (r <= 0) {
                snprintf(err, errlen, "%s: %s", ca_file, r == 0 ? "no certificate in the file" : gnutls_strerror(r));
                return -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* A session for one side (GNUTLS_CLIENT or GNUTLS_SERVER) with the given priorities, no
 * credentials yet. */
static int tls_new(unsigned side, const char *priorities, struct vs_tls **ret) {
        _cleanup_(vs_tls_freep) struct vs_tls *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->server = side == GNUTLS_SERVER;
        /* NO_SIGNAL: a peer that vanished must not kill the daemon with SIGPIPE. */
        int r = gnutls_init(&t->session, side | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS);
        if (r < 0)
                return r == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
        gnutls_session_set_ptr(t->session, t);
        if (gnutls_priority_set_direct(t->session, priorities, NULL) < 0)
                return -EIO;
        *ret = TAKE_PTR(t);
        return 0;
}

int vs_tls_new_psk_client(const char *identity, const uint8_t key[VS_TLS_PSK_SIZE], struct vs_tls **ret) {
        _cleanup_(vs_tls_freep) struct vs_tls *t = NULL;
        int r = tls_new(GNUTLS_CLIENT, PEER_PRIORITIES, &t);
        if (r < 0)
                return r;
        gnutls_datum_t k = { (unsigned char *) key, VS_TLS_PSK_SIZE };
        if (gnutls_psk_allocate_client_credentials(&t->psk_client) < 0 ||
            gnutls_psk_set_client_credentials(t->psk_client, identity, &k, GNUTLS_PSK_KEY_RAW) < 0 ||
            gnutls_credentials_set(t->session, GNUTLS_CRD_PSK, t->psk_client) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

static int psk_lookup(gnutls_session_t session, const gnutls_datum_t *username, gnutls_datum_t *key) {
        struct vs_tls *t = gnutls_session_get_ptr(session);
        /* Identities from the wire reach names and logs only once known to be plain. */
        if (username->size == 0 || username->size > VS_CONF_NAME_MAX ||
            memchr(username->data, 0, username->size)) {
                t->refused = true;
                snprintf(t->reason, sizeof t->reason, "PSK identity is not a node name (%u bytes)", username->size);
                return -1;
        }
        char name[VS_CONF_NAME_MAX + 1];
        memcpy(name, username->data, username->size);
        name[username->size] = 0;
        if (!vs_conf_name_valid(name) && strcmp(name, VS_PEER_JOIN_IDENTITY) != 0) {
                t->refused = true;
                snprintf(t->reason, sizeof t->reason, "PSK identity is not a valid node name");
                return -1;
        }

        key->data = gnutls_malloc(VS_TLS_PSK_SIZE);
        if (!key->data)
                return -1;
        key->size = VS_TLS_PSK_SIZE;
        if (t->lookup(name, key->data, t->reason, t->lookup_userdata) < 0) {
                t->refused = true;
                gnutls_free(key->data);
                key->data = NULL;
                return -1;
        }
        memcpy(t->identity, name, username->size + 1);
        return 0;
}

int vs_tls_new_psk_server(vs_tls_psk_lookup_fn lookup, void *userdata, struct vs_tls **ret) {
        _cleanup_(vs_tls_freep) struct vs_tls *t = NULL;
        int r = tls_new(GNUTLS_SERVER, PEER_PRIORITIES, &t);
        if (r < 0)
                return r;
        t->lookup = lookup;
        t->lookup_userdata = userdata;
        if (gnutls_psk_allocate_server_credentials(&t->psk_server) < 0)
                return -ENOMEM;
        gnutls_psk_set_server_credentials_function2(t->psk_server, psk_lookup);
        if (gnutls_credentials_set(t->session, GNUTLS_CRD_PSK, t->psk_server) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

int vs_tls_new_cert_server(struct vs_tls_creds *creds, struct vs_tls **ret) {
        _cleanup_(vs_tls_freep) struct vs_tls *t = NULL;
        int r = tls_new(GNUTLS_SERVER, CLIENT_PRIORITIES, &t);
        if (r < 0)
                return r;
        if (gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, creds->cert) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

int vs_tls_new_cert_client(struct vs_tls_creds *creds, const char *server_name, struct vs_tls **ret) {
        _cleanup_(vs_tls_freep) struct vs_tls *t = NULL;
        int r = tls_new(GNUTLS_CLIENT, CLIENT_PRIORITIES, &t);
        if (r < 0)
                return r;
        if (gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, creds->cert) < 0)
                return -ENOMEM;
        /* An IP address is matched against the certificate's IP addresses (and sent in no SNI). */
        unsigned ip_len = inet_pton(AF_INET, server_name, t->ip) == 1 ? 4 : inet_pton(AF_INET6, server_name, t->ip) == 1 ? 16 : 0;
        if (ip_len > 0) {
                t->expect = (gnutls_typed_vdata_st) { .type = GNUTLS_DT_IP_ADDRESS, .data = t->ip, .size = ip_len };
                gnutls_session_set_verify_cert2(t->session, &t->expect, 1, 0);
        } else {
                if (gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, server_name, strlen(server_name)) < 0)
                        return -EINVAL;
                gnutls_session_set_verify_cert(t->session, server_name, 0);
        }
        *ret = TAKE_PTR(t);
        return 0;
}

void vs_tls_set_fd(struct vs_tls *t, int fd) {
        gnutls_transport_set_int(t->session, fd);
}

/* Records why a call failed and returns the errno for it. */
static int failure(struct vs_tls *t, int err, int saved_errno) {
        bool gone = saved_errno == ECONNRESET || saved_errno == EPIPE;
        if ((err == GNUTLS_E_PUSH_ERROR || err == GNUTLS_E_PULL_ERROR) && !gone) {
                int e = saved_errno ? saved_errno : EIO;
                snprintf(t->reason, sizeof t->reason, "%s", strerror(e));
                return -e;
        }
        if (err == GNUTLS_E_PREMATURE_TERMINATION || err == GNUTLS_E_PUSH_ERROR || err == GNUTLS_E_PULL_ERROR) {
                snprintf(t->reason, sizeof t->reason, "the peer closed the connection in the TLS handshake");
                return -ECONNRESET;
        }
        if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
                gnutls_alert_description_t a = gnutls_alert_get(t->session);
                bool auth = a == GNUTLS_A_DECRYPT_ERROR || a == GNUTLS_A_BAD_RECORD_MAC ||
                            a == GNUTLS_A_UNKNOWN_PSK_IDENTITY || a == GNUTLS_A_ILLEGAL_PARAMETER ||
                            a == GNUTLS_A_INSUFFICIENT_SECURITY || a == GNUTLS_A_HANDSHAKE_FAILURE;
                snprintf(t->reason, sizeof t->reason, "the peer refused the TLS handshake (%s)%s",
                         gnutls_alert_get_name(a), auth ? ": wrong cluster secret, or not a member?" : "");
                return auth ? -EKEYREJECTED : -EPROTO;
        }
        if (err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
                gnutls_datum_t out = {};
                unsigned status = gnutls_session_get_verify_cert_status(t->session);
                if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) >= 0) {
                        snprintf(t->reason, sizeof t->reason, "server certificate refused: %s", out.data);
                        gnutls_free(out.data);
                } else
                        snprintf(t->reason, sizeof t->reason, "server certificate refused");
                return -EKEYREJECTED;
        }
        if (err == GNUTLS_E_DECRYPTION_FAILED || err == GNUTLS_E_INSUFFICIENT_CREDENTIALS ||
            err == GNUTLS_E_KEY_USAGE_VIOLATION || err == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER) {
                if (t->server && strcmp(t->identity, VS_PEER_JOIN_IDENTITY) == 0) {
                        snprintf(t->reason, sizeof t->reason, "a join with a wrong join token (%s)", gnutls_strerror(err));
                        return -EKEYREJECTED;
                }
                snprintf(t->reason, sizeof t->reason, "TLS authentication failed (%s): wrong cluster secret, or a replayed handshake?",
                         gnutls_strerror(err));
                return -EKEYREJECTED;
        }
        if (err == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || err == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
            err == GNUTLS_E_UNEXPECTED_PACKET) {
                snprintf(t->reason, sizeof t->reason, "not a TLS 1.3 handshake (%s): a peer without TLS?",
                         gnutls_strerror(err));
                return -EPROTO;
        }
        snprintf(t->reason, sizeof t->reason, "TLS: %s", gnutls_strerror(err));
        return -EPROTO;
}

int vs_tls_handshake(struct vs_tls *t) {
        for (unsigned i = 0;; i++) {
                errno = 0;
                int r = gnutls_handshake(t->session);
                int saved = errno;
                if (r == 0)
                        return 0;
                if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                        return -EAGAIN;
                if (!gnutls_error_is_fatal(r) && i < NONFATAL_RETRIES)
                        continue;
                /* Tell the other side why (best effort: the socket may be full or gone). */
                if (t->server)
                        (void) gnutls_alert_send_appropriate(t->session, r);
                if (t->refused)
                        return -EKEYREJECTED;
                return failure(t, r, saved);
        }
}

bool vs_tls_wants_write(const struct vs_tls *t) {
        return gnutls_record_get_direction(t->session) == 1;
}

ssize_t vs_tls_recv(struct vs_tls *t, void *buf, size_t len) {
        for (unsigned i = 0;; i++) {
                errno = 0;
                ssize_t k = gnutls_record_recv(t->session, buf, len);
                int saved = errno;
                if (k >= 0)
                        return k;
                if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
                        return -EAGAIN;
                /* Frames delimit themselves: an EOF without close_notify is judged by the frame
                 * reader (a cut frame is an error, a cut between frames is not). */
                if (k == GNUTLS_E_PREMATURE_TERMINATION)
                        return 0;
                if (!gnutls_error_is_fatal((int) k) && i < NONFATAL_RETRIES)
                        continue;
                if (k == GNUTLS_E_DECRYPTION_FAILED) {
                        snprintf(t->reason, sizeof t->reason, "a TLS record failed authentication (tampered or corrupted)");
                        return -EBADMSG;
                }
                return failure(t, (int) k, saved);
        }
}

ssize_t vs_tls_send(struct vs_tls *t, const void *buf, size_t len) {
        errno = 0;
        ssize_t k = gnutls_record_send(t->session, buf, len);
        int saved = errno;
        if (k >= 0)
                return k;
        if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
                return -EAGAIN;
        return failure(t, (int) k, saved);
}

size_t vs_tls_record_max(const struct vs_tls *t) {
        return gnutls_record_get_max_size(t->session);
}

const char *vs_tls_identity(const struct vs_tls *t) {
        return t->server && t->identity[0] ? t->identity : NULL;
}

const char *vs_tls_error(const struct vs_tls *t) {
        return t->reason[0] ? t->reason : "TLS failure";
}
