/*  tests/unit/test_h1_tls.c - worker/h1.c's TLS (h1_tls_*, h1_conn_* on an
 *  https origin): a handshake, request and response against an OpenSSL
 *  server in the same thread on a loopback port (both sides non-blocking,
 *  stepped in turn, so every want-read/want-write path is taken), the
 *  origin's session resumed on the next connection, verification off, on
 *  with the scenario's CA, failing for an untrusted certificate and for
 *  another name with curl's messages, set-up errors, and the kinds. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "h1.h"
#include "scen.h"

/*  ---- a server in this thread ----------------------------------------- */

typedef struct {
    SSL_CTX *ctx;
    EVP_PKEY *key;
    X509 *cert;
    int lfd;
    uint16_t port;
    char dir[64]; /* the scenario's directory (ca.pem) */
} srv_t;

/*  A self-signed EC certificate for san ("IP:127.0.0.1"). */
static void make_cert(srv_t *sv, const char *san)
{
    sv->key = EVP_EC_gen("P-256");
    assert_non_null(sv->key);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, sv->key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"hornet unit", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              san);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, sv->key, EVP_sha256()) > 0);
    sv->cert = x;
}

static void srv_start(srv_t *sv, const char *san)
{
    memset(sv, 0, sizeof *sv);
    make_cert(sv, san);
    sv->ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(sv->ctx, sv->cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sv->ctx, sv->key), 1);
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv->lfd, 8), 0);
    socklen_t al = sizeof a;
    getsockname(sv->lfd, (struct sockaddr *)&a, &al);
    sv->port = ntohs(a.sin_port);
    snprintf(sv->dir, sizeof sv->dir, "/tmp/hn-h1tls-XXXXXX");
    assert_non_null(mkdtemp(sv->dir));
    char p[128];
    snprintf(p, sizeof p, "%s/ca.pem", sv->dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    PEM_write_X509(f, sv->cert);
    fclose(f);
    snprintf(p, sizeof p, "%s/junk.pem", sv->dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
}

static void srv_stop(srv_t *sv)
{
    char p[128];
    snprintf(p, sizeof p, "%s/ca.pem", sv->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/junk.pem", sv->dir);
    unlink(p);
    rmdir(sv->dir);
    close(sv->lfd);
    SSL_CTX_free(sv->ctx);
    X509_free(sv->cert);
    EVP_PKEY_free(sv->key);
}

static scen_t *scen_in(const srv_t *sv, const char *tls)
{
    char yaml[512], err[HN_ERRLEN];
    snprintf(yaml, sizeof yaml,
             "host: https://127.0.0.1:%u\n%s\ntasks: [{path: /}]\n", sv->port,
             tls);
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", sv->dir, NULL,
                                 err);
    if (!s)
        fail_msg("scenario did not load: %s", err);
    return s;
}

static void origin_of(const srv_t *sv, h1_origin_t *o)
{
    char url[64], why[256];
    size_t off, len;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/", sv->port);
    assert_true(h1_origin_parse(url, strlen(url), o, &off, &len, why, 256));
    assert_true(h1_origin_resolve(o, why, sizeof why));
    assert_true(o->tls);
}

/*  Steps the client's connect and the server's accept in turn until the
 *  client is through (H1_OK) or failed (H1_ERROR). *ss is the server's
 *  side, or NULL when it failed too. */
static h1_io_t handshake(srv_t *sv, h1_conn_t *c, h1_origin_t *o, h1_tls_t *t,
                         SSL **ss)
{
    h1_io_t rc = h1_conn_open(c, o, t);
    int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(fd >= 0);
    *ss = SSL_new(sv->ctx);
    SSL_set_fd(*ss, fd);
    SSL_set_accept_state(*ss);
    bool server_done = false;
    for (int i = 0; i < 1000 && rc == H1_AGAIN; i++) {
        if (!server_done) {
            int a = SSL_accept(*ss);
            if (a == 1 || SSL_get_error(*ss, a) != SSL_ERROR_WANT_READ)
                server_done = true; /* through, or it refused */
        }
        rc = h1_conn_connected(c);
        if (rc == H1_AGAIN)
            usleep(1000);
    }
    ERR_clear_error();
    return rc;
}

/*  One GET on a connected client; the server answers from its side. */
static void exchange(h1_conn_t *c, SSL *ss)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    h1_conn_start(c, req, sizeof req - 1, NULL, 0, false, NULL, false, NULL);
    assert_int_equal(h1_conn_send(c), H1_OK);
    char buf[256];
    int n = -1;
    for (int i = 0; i < 1000 && n <= 0; i++) {
        n = SSL_read(ss, buf, sizeof buf); /* ends the server's handshake
                                            * (tickets out) first */
        if (n <= 0) {
            assert_int_equal(SSL_get_error(ss, n), SSL_ERROR_WANT_READ);
            usleep(1000);
        }
    }
    assert_int_equal(n, (int)sizeof req - 1);
    assert_memory_equal(buf, req, sizeof req - 1);
    assert_int_equal(SSL_write(ss, resp, (int)sizeof resp - 1),
                     (int)sizeof resp - 1);
    h1_io_t rc = H1_AGAIN;
    for (int i = 0; i < 1000 && rc == H1_AGAIN; i++) {
        rc = h1_conn_recv(c);
        if (rc == H1_AGAIN)
            usleep(1000);
    }
    assert_int_equal(rc, H1_OK);
    assert_int_equal(h1_conn_resp(c)->status, 200);
    assert_int_equal(h1_conn_resp(c)->body_bytes, 5);
    assert_true(h1_conn_reusable(c));
}

static void srv_close(SSL **ss)
{
    if (!*ss)
        return;
    int fd = SSL_get_fd(*ss);
    SSL_free(*ss);
    close(fd);
    *ss = NULL;
}

/*  ---- tests ------------------------------------------------------------ */

static void handshake_request_and_resumption(void **state)
{
    (void)state;
    srv_t sv;
    srv_start(&sv, "IP:127.0.0.1");
    scen_t *s = scen_in(&sv, "tls: {ca_file: ca.pem}");
    h1_tls_t *t = h1_tls_new(s, false);
    assert_non_null(t);
    assert_null(h1_tls_error(t));
    h1_origin_t o;
    origin_of(&sv, &o);
    h1_conn_t *c = h1_conn_new();
    SSL *ss;
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_OK);
    exchange(c, ss);
    h1_times_t tm;
    h1_conn_times(c, &tm);
    assert_true(tm.connect_ns > 0 && tm.tls_ns >= tm.connect_ns);
    assert_true(tm.first_byte_ns >= tm.tls_ns);
    assert_false(tm.resumed);
    assert_non_null(o.tls_session); /* the ticket, read with the answer */
    /*  the same connection again: a second request, no handshake */
    exchange(c, ss);
    h1_conn_times(c, &tm);
    assert_true(tm.reused);
    srv_close(&ss);
    /*  a new connection offers the origin's session and resumes it */
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_OK);
    h1_conn_times(c, &tm);
    assert_true(tm.resumed);
    exchange(c, ss);
    assert_int_equal(h1_tls_handshakes(t), 2);
    assert_int_equal(h1_tls_resumed(t), 1);
    srv_close(&ss);
    h1_conn_destroy(&c);
    h1_origin_clear(&o);
    h1_tls_destroy(&t);
    scen_destroy(&s);
    srv_stop(&sv);
}

static void verification_off_on_and_failing(void **state)
{
    (void)state;
    srv_t sv;
    srv_start(&sv, "IP:127.0.0.2");
    h1_origin_t o;
    origin_of(&sv, &o);
    h1_conn_t *c = h1_conn_new();
    SSL *ss;
    stats_fail_t k;
    char m[300];
    /*  verify: false takes the certificate, whatever it is */
    scen_t *s = scen_in(&sv, "tls: {verify: false}");
    h1_tls_t *t = h1_tls_new(s, false);
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_OK);
    exchange(c, ss);
    srv_close(&ss);
    h1_tls_destroy(&t);
    h1_origin_clear(&o);
    /*  untrusted (the system's CAs): curl's message, kind tls */
    t = h1_tls_new(s, true); /* -k also turns it off */
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_OK);
    srv_close(&ss);
    h1_tls_destroy(&t);
    scen_destroy(&s);
    h1_origin_clear(&o);
    s = scen_in(&sv, "");
    t = h1_tls_new(s, false);
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_ERROR);
    assert_int_equal(h1_conn_fail(c), H1_FAIL_TLS);
    h1_classify(h1_conn_fail(c), h1_conn_errno(c), h1_conn_error(c), &k, m,
                sizeof m);
    assert_int_equal(k, STATS_FAIL_TLS);
    assert_string_equal(m, "SSL certificate problem: self-signed certificate");
    srv_close(&ss);
    h1_tls_destroy(&t);
    scen_destroy(&s);
    /*  trusted, but for 127.0.0.2 */
    s = scen_in(&sv, "tls: {ca_file: ca.pem}");
    t = h1_tls_new(s, false);
    assert_int_equal(handshake(&sv, c, &o, t, &ss), H1_ERROR);
    assert_string_equal(h1_conn_error(c),
                        "SSL: no alternative certificate subject name "
                        "matches target host name '127.0.0.1'");
    srv_close(&ss);
    h1_tls_destroy(&t);
    scen_destroy(&s);
    h1_conn_destroy(&c);
    h1_origin_clear(&o);
    srv_stop(&sv);
}

static void setup_errors_fail_every_connection(void **state)
{
    (void)state;
    srv_t sv;
    srv_start(&sv, "IP:127.0.0.1");
    scen_t *s = scen_in(&sv, "tls: {ca_file: junk.pem}");
    h1_tls_t *t = h1_tls_new(s, false);
    assert_non_null(strstr(h1_tls_error(t), "CA certificate"));
    h1_origin_t o;
    origin_of(&sv, &o);
    h1_conn_t *c = h1_conn_new();
    assert_int_equal(h1_conn_open(c, &o, t), H1_ERROR);
    assert_int_equal(h1_conn_fail(c), H1_FAIL_TLS);
    assert_int_equal(h1_conn_fd(c), -1);
    h1_tls_destroy(&t);
    scen_destroy(&s);
    s = scen_in(&sv, "tls: {cert_file: junk.pem, key_file: junk.pem}");
    t = h1_tls_new(s, false);
    assert_non_null(
        strstr(h1_tls_error(t), "could not load PEM client certificate"));
    h1_tls_destroy(&t);
    scen_destroy(&s);
    /*  a certificate that loads, a key that does not */
    s = scen_in(&sv, "tls: {cert_file: ca.pem, key_file: junk.pem}");
    t = h1_tls_new(s, false);
    assert_non_null(strstr(h1_tls_error(t), "unable to set private key"));
    h1_tls_destroy(&t);
    scen_destroy(&s);
    h1_conn_destroy(&c);
    srv_stop(&sv);
}

static void tls_failures_map_to_kinds(void **state)
{
    (void)state;
    stats_fail_t k;
    char m[200];
    h1_classify(H1_FAIL_TLS, 0, "SSL certificate problem: x", &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_TLS);
    assert_string_equal(m, "SSL certificate problem: x");
    h1_classify(H1_FAIL_TLS_IO, ECONNRESET, "OpenSSL SSL_read: x", &k, m,
                sizeof m);
    assert_int_equal(k, STATS_FAIL_RESET);
    assert_string_equal(m, "connection reset by peer");
    h1_classify(H1_FAIL_TLS_IO, 0, "OpenSSL SSL_read: y, errno 0", &k, m,
                sizeof m);
    assert_int_equal(k, STATS_FAIL_PROTOCOL); /* CURLE_RECV_ERROR's kind */
    assert_string_equal(m, "OpenSSL SSL_read: y, errno 0");
}

static void https_runs_native(void **state)
{
    (void)state;
    char err[HN_ERRLEN], why[256];
    const char *y = "host: https://127.0.0.1:1\ntasks: [{path: /}]\n";
    scen_t *s = scen_load_buffer(y, strlen(y), "t.yaml", ".", NULL, err);
    assert_non_null(s);
    assert_int_equal(h1_choose(s, NULL, why, sizeof why), SCEN_ENGINE_NATIVE);
    scen_destroy(&s);
    y = "host: https://127.0.0.1:1\nhttp: {version: \"2\"}\n"
        "tasks: [{path: /}]\n";
    s = scen_load_buffer(y, strlen(y), "t.yaml", ".", NULL, err);
    assert_non_null(s);
    assert_int_equal(h1_choose(s, NULL, why, sizeof why), SCEN_ENGINE_CURL);
    assert_string_equal(why, "HTTP/2");
    scen_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_request_and_resumption),
        cmocka_unit_test(verification_off_on_and_failing),
        cmocka_unit_test(setup_errors_fail_every_connection),
        cmocka_unit_test(tls_failures_map_to_kinds),
        cmocka_unit_test(https_runs_native),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
