/*  tests/unit/test_proto.c - proto/ (msg.c, wire.c, snap.c) from bytes.
 *
 *  Round trips of every control message and of stats snapshots, hand-made
 *  bad messages (built with msgpack-c directly, so they are exactly the
 *  bytes a broken or hostile peer could send), every truncation, and a
 *  deterministic mutation fuzz loop. Every decode reads from a heap copy of
 *  exactly the message's length, so ASan sees any read past the end.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "hist.h"
#include "msg.h"
#include "snap.h"
#include "stats.h"
#include "util.h"

#define BUF_LIMIT ((size_t)64 << 20)

/*  ---- helpers ----------------------------------------------------------- */

/*  A heap copy of exactly len bytes (ASan then sees any read past it). */
static uint8_t *dup_exact(const void *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len)
        memcpy(d, p, len);
    return d;
}

/*  Decodes a control message that must be valid from an exact copy; the
 *  copy is returned (welcome borrows from it), the caller frees it. */
static uint8_t *decode_ok(const buf_t *b, int want_type, proto_msg_t *m)
{
    char err[HN_ERRLEN] = "";
    uint8_t *copy = dup_exact(buf_str(b), buf_len(b));
    int t = proto_peek_type(copy, buf_len(b), err);
    if (t != want_type)
        fail_msg("peek %s: got %d (%s)", proto_type_name(want_type), t, err);
    hn_err_t rc = proto_decode(copy, buf_len(b), m, err);
    if (rc != HN_OK)
        fail_msg("decode %s: rc %d: %s", proto_type_name(want_type), rc, err);
    assert_int_equal(m->type, want_type);
    return copy;
}

/*  The message must be refused by proto_decode and proto_decode_stats,
 *  with an error message (containing `want` when not NULL). */
static void expect_bad(const void *data, size_t len, const char *want,
                       const char *what)
{
    uint8_t *copy = dup_exact(data, len);
    char err[HN_ERRLEN];
    proto_msg_t m;
    err[0] = '\0';
    hn_err_t rc = proto_decode(copy, len, &m, err);
    if (rc != HN_ERR_CORRUPT)
        fail_msg("%s: proto_decode returned %d, want HN_ERR_CORRUPT", what, rc);
    if (!err[0])
        fail_msg("%s: proto_decode left err empty", what);
    if (want && !strstr(err, want))
        fail_msg("%s: err \"%s\" does not mention \"%s\"", what, err, want);
    int dummy;
    stats_t *st = (stats_t *)&dummy;
    proto_snap_head_t h;
    err[0] = '\0';
    rc = proto_decode_stats(copy, len, 2, 2, true, &h, &st, err);
    if (rc != HN_ERR_CORRUPT)
        fail_msg("%s: proto_decode_stats returned %d", what, rc);
    assert_null(st);
    assert_true(err[0] != '\0');
    free(copy);
}

/*  The message must be refused by proto_decode_stats (n_endpoints,
 *  n_counters, keep_raw as given) with an error containing `want`. */
static void expect_bad_stats(const void *data, size_t len, size_t ne, size_t nc,
                             bool keep_raw, const char *want, const char *what)
{
    uint8_t *copy = dup_exact(data, len);
    char err[HN_ERRLEN];
    int dummy;
    stats_t *st = (stats_t *)&dummy;
    proto_snap_head_t h;
    err[0] = '\0';
    hn_err_t rc = proto_decode_stats(copy, len, ne, nc, keep_raw, &h, &st, err);
    if (rc == HN_OK)
        stats_destroy(&st); /* so a failure here leaks nothing */
    if (rc != HN_ERR_CORRUPT)
        fail_msg("%s: proto_decode_stats returned %d, want HN_ERR_CORRUPT",
                 what, rc);
    if (st != NULL)
        fail_msg("%s: *st_p not NULL after an error", what);
    if (!err[0])
        fail_msg("%s: err left empty", what);
    if (want && !strstr(err, want))
        fail_msg("%s: err \"%s\" does not mention \"%s\"", what, err, want);
    free(copy);
}

/*  ---- hand-made messages: a flat list of msgpack values ---------------- */

typedef enum {
    F_UINT,
    F_INT,
    F_DBL,
    F_FLT,
    F_STR,
    F_BIN,
    F_BOOL,
    F_NIL,
    F_ARR,
    F_MAP
} fkind_t;

typedef struct {
    fkind_t k;
    uint64_t u;    /* F_UINT, F_BOOL */
    int64_t i;     /* F_INT */
    double d;      /* F_DBL, F_FLT */
    const char *s; /* F_STR, F_BIN */
    size_t n;      /* F_STR/F_BIN length (F_STR: 0 = strlen); F_ARR items */
} field_t;

/* clang-format off */
#define FU(v)     { .k = F_UINT, .u = (v) }
#define FI(v)     { .k = F_INT, .i = (v) }
#define FD(v)     { .k = F_DBL, .d = (v) }
#define FF(v)     { .k = F_FLT, .d = (v) }
#define FS(v)     { .k = F_STR, .s = (v) }
#define FSN(v, l) { .k = F_STR, .s = (v), .n = (l) }
#define FB(v, l)  { .k = F_BIN, .s = (v), .n = (l) }
#define FT(v)     { .k = F_BOOL, .u = (v) }
#define FNIL      { .k = F_NIL }
#define FA(items) { .k = F_ARR, .n = (items) }   /* the next `items` values */
#define FMAP      { .k = F_MAP }                 /* {1: 1} */
#define NF(a)     (sizeof(a) / sizeof((a)[0]))
/* clang-format on */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mp_t;

static void mp_init(mp_t *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_free(mp_t *m)
{
    msgpack_sbuffer_destroy(&m->sb);
}

static void mp_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void mp_bin(msgpack_packer *pk, const void *d, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, d, n);
}

static void pack_field(msgpack_packer *pk, const field_t *f)
{
    switch (f->k) {
    case F_UINT: msgpack_pack_uint64(pk, f->u); break;
    case F_INT: msgpack_pack_int64(pk, f->i); break;
    case F_DBL: msgpack_pack_double(pk, f->d); break;
    case F_FLT: msgpack_pack_float(pk, (float)f->d); break;
    case F_STR: mp_str(pk, f->s, f->n ? f->n : strlen(f->s)); break;
    case F_BIN: mp_bin(pk, f->s, f->n); break;
    case F_BOOL:
        if (f->u)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case F_NIL: msgpack_pack_nil(pk); break;
    case F_ARR: msgpack_pack_array(pk, f->n); break;
    case F_MAP:
        msgpack_pack_map(pk, 1);
        msgpack_pack_uint64(pk, 1);
        msgpack_pack_uint64(pk, 1);
        break;
    }
}

/*  Index after the value starting at f[i] (an F_ARR takes its items). */
static size_t value_end(const field_t *f, size_t n, size_t i)
{
    size_t items = f[i].k == F_ARR ? f[i].n : 0;
    i++;
    for (size_t k = 0; k < items && i < n; k++)
        i = value_end(f, n, i);
    return i;
}

/*  Packs [f...] as one top-level array (f holds version and type too). */
static void pack_msg(mp_t *m, const field_t *f, size_t n)
{
    uint32_t top = 0;
    for (size_t i = 0; i < n; i = value_end(f, n, i))
        top++;
    msgpack_pack_array(&m->pk, top);
    for (size_t i = 0; i < n; i++)
        pack_field(&m->pk, &f[i]);
}

static void fields_ok(const field_t *f, size_t n, int type)
{
    mp_t m;
    mp_init(&m);
    pack_msg(&m, f, n);
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(buf_append(&b, m.sb.data, m.sb.size), HN_OK);
    proto_msg_t msg;
    free(decode_ok(&b, type, &msg));
    buf_free(&b);
    mp_free(&m);
}

static void fields_bad(const field_t *f, size_t n, const char *want,
                       const char *what)
{
    mp_t m;
    mp_init(&m);
    pack_msg(&m, f, n);
    expect_bad(m.sb.data, m.sb.size, want, what);
    mp_free(&m);
}

/*  base with f[idx] replaced by repl must be refused. */
static void variant_bad(const field_t *base, size_t n, size_t idx, field_t repl,
                        const char *want, const char *what)
{
    field_t f[80];
    assert_true(n <= NF(f) && idx < n);
    memcpy(f, base, n * sizeof *f);
    f[idx] = repl;
    fields_bad(f, n, want, what);
}

/*  Valid hand-made control messages (version and type first). */
static const char s_bundle5[5] = {'a', '\0', 'b', '\0', '\xff'};

static const field_t s_hello[] = {FU(PROTO_VERSION),
                                  FU(PROTO_HELLO),
                                  FS("worker-1"),
                                  FS("host-a"),
                                  FU(4242),
                                  FU(8),
                                  FS("0.1.0"),
                                  FU(77),
                                  FU(5),
                                  FI(-9),
                                  FB("", 0)};
static const field_t s_welcome[] = {FU(PROTO_VERSION),
                                    FU(PROTO_WELCOME),
                                    FU(99),
                                    FB(s_bundle5, 5),
                                    FS(""),
                                    FU(1000),
                                    FT(0)};
static const field_t s_load[] = {FU(PROTO_VERSION),
                                 FU(PROTO_LOAD),
                                 FU(1),
                                 FI(-5),
                                 FU(10),
                                 FD(2.5),
                                 FD(0),
                                 FU(100),
                                 FA(2),
                                 FU(4),
                                 FU(6),
                                 FU(0),
                                 FB("", 0),
                                 FU(7),
                                 FA(0)};
/*  ... with rows: feed 0, rows 2 to 6 */
static const field_t s_load_rows[] = {FU(PROTO_VERSION),
                                      FU(PROTO_LOAD),
                                      FU(1),
                                      FI(-5),
                                      FU(10),
                                      FD(2.5),
                                      FD(0),
                                      FU(100),
                                      FA(2),
                                      FU(4),
                                      FU(6),
                                      FU(0),
                                      FB("", 0),
                                      FU(7),
                                      FA(3),
                                      FU(0),
                                      FU(2),
                                      FU(5)};
static const field_t s_stop[] = {FU(PROTO_VERSION), FU(PROTO_STOP), FU(1),
                                 FD(30)};
static const field_t s_quit[] = {FU(PROTO_VERSION), FU(PROTO_QUIT)};
static const field_t s_ack[] = {FU(PROTO_VERSION), FU(PROTO_ACK), FU(1), FU(2)};
static const field_t s_heartbeat[] = {FU(PROTO_VERSION),
                                      FU(PROTO_HEARTBEAT),
                                      FU(1),
                                      FU(1),
                                      FU(5),
                                      FD(12.5),
                                      FU(3),
                                      FI(-7),
                                      FU(4),
                                      FU(20000000)};

/*  ---- 1. control round trips ------------------------------------------- */

static void fill(char *dst, size_t n, char c)
{
    memset(dst, c, n);
    dst[n] = '\0';
}

static void round_trip_hello(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_hello_t in;
    memset(&in, 0, sizeof in);
    fill(in.id, sizeof in.id - 1, 'i'); /* longest allowed */
    fill(in.hostname, sizeof in.hostname - 1, 'h');
    fill(in.version, sizeof in.version - 1, 'v');
    in.pid = UINT32_MAX;
    in.threads = 4096;
    assert_int_equal(proto_encode_hello(&in, &b), HN_OK);
    proto_msg_t m;
    uint8_t *copy = decode_ok(&b, PROTO_HELLO, &m);
    assert_string_equal(m.u.hello.id, in.id);
    assert_string_equal(m.u.hello.hostname, in.hostname);
    assert_string_equal(m.u.hello.version, in.version);
    assert_int_equal(m.u.hello.pid, UINT32_MAX);
    assert_int_equal(m.u.hello.threads, 4096);
    free(copy);

    memset(&in, 0, sizeof in);
    snprintf(in.id, sizeof in.id, "w-%d", 7);
    snprintf(in.hostname, sizeof in.hostname, "node7.example");
    snprintf(in.version, sizeof in.version, "%s", HN_VERSION);
    in.pid = 1;
    in.threads = 1;
    buf_reset(&b);
    assert_int_equal(proto_encode_hello(&in, &b), HN_OK);
    copy = decode_ok(&b, PROTO_HELLO, &m);
    assert_string_equal(m.u.hello.id, "w-7");
    assert_string_equal(m.u.hello.hostname, "node7.example");
    assert_string_equal(m.u.hello.version, HN_VERSION);
    assert_int_equal(m.u.hello.pid, 1);
    assert_int_equal(m.u.hello.threads, 1);
    assert_true(m.u.hello.session == 0 && m.u.hello.run == 0);
    assert_int_equal(m.u.hello.profile_len, 0);
    free(copy);

    /*  the process's session, and the run it is in with its profile */
    in.session = UINT64_MAX;
    in.run = (UINT64_C(1) << 52) - 1;
    in.start_unix_ns = -3;
    in.profile = "\x01\x00p";
    in.profile_len = 3;
    buf_reset(&b);
    assert_int_equal(proto_encode_hello(&in, &b), HN_OK);
    copy = decode_ok(&b, PROTO_HELLO, &m);
    assert_true(m.u.hello.session == UINT64_MAX);
    assert_true(m.u.hello.run == in.run);
    assert_true(m.u.hello.start_unix_ns == -3);
    assert_int_equal(m.u.hello.profile_len, 3);
    assert_memory_equal(m.u.hello.profile, in.profile, 3);
    free(copy);
    buf_free(&b);
}

/*  The fleet's load profile a LOAD carries and a hello gives back: every
 *  field and every stage survives, and bad bytes are refused by name. */
static void round_trip_profile(void **state)
{
    (void)state;
    sched_t *sc = sched_new();
    assert_non_null(sc);
    assert_int_equal(sched_add(sc, 10, 50, SCHED_LINEAR), HN_OK);
    assert_int_equal(sched_add(sc, 2.5, 100, SCHED_STEP), HN_OK);
    proto_profile_t in = {.open = true,
                          .base = 12.5,
                          .spawn = 3,
                          .max_inflight = 777,
                          .duration_s = 60,
                          .stop_timeout_s = 4,
                          .sched_t0 = 7.25,
                          .sched = sc,
                          .n_feeds = 2,
                          .rows_used = {10, UINT32_MAX},
                          .counter_blocks = 3};
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_profile(&in, &b), HN_OK);
    proto_profile_t out;
    sched_t *got = NULL;
    char err[HN_ERRLEN];
    assert_int_equal(
        proto_decode_profile(buf_str(&b), buf_len(&b), &out, &got, err), HN_OK);
    assert_true(out.open && out.base == 12.5 && out.spawn == 3);
    assert_int_equal(out.max_inflight, 777);
    assert_true(out.duration_s == 60 && out.stop_timeout_s == 4);
    assert_true(out.sched_t0 == 7.25);
    assert_int_equal(out.n_feeds, 2);
    assert_true(out.rows_used[0] == 10 && out.rows_used[1] == UINT32_MAX);
    assert_true(out.counter_blocks == 3);
    assert_non_null(got);
    assert_ptr_equal(out.sched, got);
    assert_int_equal(sched_len(got), 2);
    assert_true(sched_stage(got, 1)->ramp == SCHED_STEP);
    assert_true(sched_stage(got, 1)->duration_s == 2.5);
    assert_true(sched_stage(got, 0)->target == 50);
    sched_destroy(&got);
    /*  not a profile: a control message, a truncated one */
    proto_msg_t m;
    assert_int_equal(proto_decode(buf_str(&b), buf_len(&b), &m, err),
                     HN_ERR_CORRUPT);
    for (size_t cut = 0; cut < buf_len(&b); cut++) {
        assert_int_not_equal(
            proto_decode_profile(buf_str(&b), cut, &out, &got, err), HN_OK);
        assert_null(got);
    }
    buf_t q;
    buf_init(&q, 64);
    assert_int_equal(proto_encode_quit(&q), HN_OK);
    assert_int_equal(
        proto_decode_profile(buf_str(&q), buf_len(&q), &out, &got, err),
        HN_ERR_CORRUPT);
    assert_non_null(strstr(err, "profile"));
    buf_free(&q);
    /*  constant load, no schedule */
    in.sched = NULL;
    in.open = false;
    buf_reset(&b);
    assert_int_equal(proto_encode_profile(&in, &b), HN_OK);
    assert_int_equal(
        proto_decode_profile(buf_str(&b), buf_len(&b), &out, &got, err), HN_OK);
    assert_null(got);
    assert_false(out.open);
    buf_free(&b);
    sched_destroy(&sc);
}

static void round_trip_refuse(void **state)
{
    (void)state;
    proto_refuse_t in;
    snprintf(in.reason, sizeof in.reason, "worker id 'w1' refused: in use");
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_refuse(&in, &b), HN_OK);
    proto_msg_t m;
    uint8_t *copy = decode_ok(&b, PROTO_REFUSE, &m);
    assert_string_equal(m.u.refuse.reason, in.reason);
    free(copy);
    buf_free(&b);
}

/*  Version 6: a signalled worker's goodbye. */
static void round_trip_goodbye(void **state)
{
    (void)state;
    static const proto_goodbye_t cases[] = {
        {0, 0}, {1, 0}, {UINT64_MAX, UINT32_MAX}, {(uint64_t)1 << 52, 3}};
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&b);
        assert_int_equal(proto_encode_goodbye(&cases[i], &b), HN_OK);
        proto_msg_t m;
        uint8_t *copy = decode_ok(&b, PROTO_GOODBYE, &m);
        assert_true(m.u.goodbye.run == cases[i].run);
        assert_int_equal(m.u.goodbye.unacked, cases[i].unacked);
        free(copy);
    }
    assert_string_equal(proto_type_name(PROTO_GOODBYE), "goodbye");
    buf_free(&b);
}

/*  Version 6: goodbye's fields, and the heartbeat's in-flight count and
 *  memory, are checked like every other field. */
static void bad_goodbye_and_heartbeat_v6(void **state)
{
    (void)state;
    const size_t H = 2;
    static const field_t bye[] = {FU(PROTO_VERSION), FU(PROTO_GOODBYE), FU(9),
                                  FU(0)};
    fields_ok(bye, NF(bye), PROTO_GOODBYE);
    fields_bad(bye, NF(bye) - 1, "fields", "goodbye with a field less");
    field_t more[NF(bye) + 1];
    memcpy(more, bye, sizeof bye);
    more[NF(bye)] = (field_t)FU(0);
    fields_bad(more, NF(more), "fields", "goodbye with a field more");
    variant_bad(bye, NF(bye), H + 0, (field_t)FS("9"), "run",
                "goodbye run str");
    variant_bad(bye, NF(bye), H + 0, (field_t)FI(-1), "run", "goodbye run -1");
    variant_bad(bye, NF(bye), H + 1, (field_t)FU((uint64_t)UINT32_MAX + 1),
                "unacked", "goodbye unacked 2^32");
    variant_bad(bye, NF(bye), H + 1, (field_t)FD(1.0), "unacked",
                "goodbye unacked float");
    /*  a version 5 heartbeat (6 fields) is not read as one of version 6 */
    fields_bad(s_heartbeat, NF(s_heartbeat) - 2, "fields",
               "heartbeat without in_flight and rss_bytes");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 6,
                (field_t)FU((uint64_t)UINT32_MAX + 1), "in_flight",
                "heartbeat in_flight 2^32");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 6, (field_t)FI(-1),
                "in_flight", "heartbeat in_flight -1");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 7,
                (field_t)FU(((uint64_t)1 << 48) + 1), "rss_bytes",
                "heartbeat rss_bytes past 2^48");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 7, (field_t)FS("1"),
                "rss_bytes", "heartbeat rss_bytes str");
}

static void welcome_case(const char *bundle, size_t n, const char *host,
                         uint32_t interval_ms, bool insecure, uint64_t session)
{
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_welcome_t in;
    memset(&in, 0, sizeof in);
    in.session = session;
    in.bundle = bundle;
    in.bundle_len = n;
    snprintf(in.host, sizeof in.host, "%s", host);
    in.interval_ms = interval_ms;
    in.insecure = insecure;
    assert_int_equal(proto_encode_welcome(&in, &b), HN_OK);
    proto_msg_t m;
    uint8_t *copy = decode_ok(&b, PROTO_WELCOME, &m);
    const proto_welcome_t *w = &m.u.welcome;
    assert_int_equal(w->session, session);
    assert_int_equal(w->bundle_len, n);
    if (n) {
        assert_memory_equal(w->bundle, bundle, n);
        /*  borrowed from the frame, not copied */
        assert_true((const uint8_t *)w->bundle >= copy &&
                    (const uint8_t *)w->bundle + n <= copy + buf_len(&b));
    }
    assert_string_equal(w->host, host);
    assert_int_equal(w->interval_ms, interval_ms);
    assert_true(w->insecure == insecure);
    free(copy);
    buf_free(&b);
}

static void round_trip_welcome(void **state)
{
    (void)state;
    /*  a bundle with NUL bytes, every byte value, bin8/bin16/bin32 sizes */
    size_t big = 70000;
    char *bundle = malloc(big);
    assert_non_null(bundle);
    for (size_t i = 0; i < big; i++)
        bundle[i] = (char)(i % 7 == 0 ? 0 : (int)(i * 31 % 256));
    welcome_case(bundle, 300, "https://example.com:8443", 1000, true, 1);
    welcome_case(bundle, big, "", 10, false, UINT64_MAX);
    welcome_case(bundle, 1, "h", 60000, false, 0);
    welcome_case("", 0, "", 1000, true, 42); /* empty bundle */
    char host[512];
    fill(host, sizeof host - 1, 'x');
    welcome_case(s_bundle5, sizeof s_bundle5, host, 250, false, 7);
    free(bundle);
}

static void load_case(const proto_load_t *in)
{
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_load(in, &b), HN_OK);
    proto_msg_t m;
    uint8_t *copy = decode_ok(&b, PROTO_LOAD, &m);
    const proto_load_t *l = &m.u.load;
    assert_int_equal(l->run, in->run);
    assert_true(l->start_unix_ns == in->start_unix_ns);
    assert_int_equal(l->users, in->users);
    assert_true(l->spawn_rate == in->spawn_rate);
    assert_true(l->rate == in->rate);
    assert_int_equal(l->max_inflight, in->max_inflight);
    assert_int_equal(l->n_classes, in->n_classes);
    assert_int_equal(l->profile_len, in->profile_len);
    if (in->profile_len)
        assert_memory_equal(l->profile, in->profile, in->profile_len);
    for (uint32_t i = 0; i < 64; i++)
        assert_int_equal(l->class_users[i],
                         i < in->n_classes ? in->class_users[i] : 0);
    assert_true(l->counter_base == in->counter_base);
    /*  feeds after the last one with ranges are not sent */
    uint32_t nf = in->n_feeds;
    while (nf && in->rows[nf - 1].n == 0)
        nf--;
    assert_int_equal(l->n_feeds, nf);
    for (uint32_t f = 0; f < nf; f++) {
        assert_int_equal(l->rows[f].n, in->rows[f].n);
        for (uint32_t i = 0; i < in->rows[f].n; i++) {
            assert_true(l->rows[f].first[i] == in->rows[f].first[i]);
            assert_true(l->rows[f].count[i] == in->rows[f].count[i]);
        }
    }
    free(copy);
    buf_free(&b);
}

static void round_trip_load(void **state)
{
    (void)state;
    proto_load_t in;
    memset(&in, 0, sizeof in);
    in.run = UINT64_MAX;
    in.start_unix_ns = 1717000000123456789LL;
    in.users = 10000000;
    in.spawn_rate = 12.5;
    in.rate = 1e9;
    in.max_inflight = 0;
    in.n_classes = 3;
    in.class_users[0] = 5;
    in.class_users[1] = 0;
    in.class_users[2] = 10000000;
    load_case(&in);

    memset(&in, 0, sizeof in); /* zeros, no classes */
    in.start_unix_ns = INT64_MIN;
    load_case(&in);

    in.start_unix_ns = -1;
    in.run = 3;
    in.users = 640;
    in.spawn_rate = 1e8;
    in.rate = 0.25;
    in.max_inflight = 10000000;
    in.n_classes = 64; /* the most */
    for (uint32_t i = 0; i < 64; i++)
        in.class_users[i] = i * 10;
    in.profile = "prof";
    in.profile_len = 4;
    load_case(&in);

    /*  rows of unique feeds and the counter block */
    in.counter_base = UINT64_MAX;
    in.n_feeds = 3;
    in.rows[0].n = 1;
    in.rows[0].first[0] = 0;
    in.rows[0].count[0] = 5;
    in.rows[2].n = PROTO_MAX_RANGES; /* the most */
    for (uint32_t i = 0; i < PROTO_MAX_RANGES; i++) {
        in.rows[2].first[i] = UINT32_MAX - 2 * i;
        in.rows[2].count[i] = i;
    }
    load_case(&in);
    in.n_feeds = PROTO_MAX_FEEDS; /* trailing feeds without ranges */
    load_case(&in);
    in.rows[2].n = PROTO_MAX_RANGES + 1;
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_load(&in, &b), HN_ERR_INVALID);
    in.rows[2].n = 1;
    in.n_feeds = PROTO_MAX_FEEDS + 1;
    assert_int_equal(proto_encode_load(&in, &b), HN_ERR_INVALID);
    buf_free(&b);
}

static void round_trip_stop_quit_ack(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_msg_t m;
    uint8_t *copy;
    static const double timeouts[] = {0, 30.5, 86400};
    for (size_t i = 0; i < NF(timeouts); i++) {
        proto_stop_t s = {.run = 7 + i, .stop_timeout_s = timeouts[i]};
        buf_reset(&b);
        assert_int_equal(proto_encode_stop(&s, &b), HN_OK);
        copy = decode_ok(&b, PROTO_STOP, &m);
        assert_int_equal(m.u.stop.run, 7 + i);
        assert_true(m.u.stop.stop_timeout_s == timeouts[i]);
        free(copy);
    }
    buf_reset(&b);
    assert_int_equal(proto_encode_quit(&b), HN_OK);
    copy = decode_ok(&b, PROTO_QUIT, &m);
    free(copy);
    static const proto_ack_t acks[] = {{.run = 0, .seq = 0},
                                       {.run = 5, .seq = 12345},
                                       {.run = UINT64_MAX, .seq = UINT64_MAX}};
    for (size_t i = 0; i < NF(acks); i++) {
        buf_reset(&b);
        assert_int_equal(proto_encode_ack(&acks[i], &b), HN_OK);
        copy = decode_ok(&b, PROTO_ACK, &m);
        assert_int_equal(m.u.ack.run, acks[i].run);
        assert_int_equal(m.u.ack.seq, acks[i].seq);
        free(copy);
    }
    buf_free(&b);
}

static void round_trip_heartbeat(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    for (uint32_t s = PROTO_W_READY; s <= PROTO_W_LEAVING; s++) {
        proto_heartbeat_t in = {
            .session = s == 0 ? 0 : UINT64_MAX - s,
            .state = s,
            .users = s == 4 ? UINT32_MAX : s * 100,
            .cpu = s == 3 ? 1e6 : 123.25 * s,
            .run = s * 7,
            .start_unix_ns = s == 2 ? INT64_MIN : (int64_t)s * 1000000007,
            .in_flight = s == 1 ? UINT32_MAX : s * 3,
            .rss_bytes = s == 5 ? (uint64_t)1 << 48 : (uint64_t)s << 20};
        buf_reset(&b);
        assert_int_equal(proto_encode_heartbeat(&in, &b), HN_OK);
        proto_msg_t m;
        uint8_t *copy = decode_ok(&b, PROTO_HEARTBEAT, &m);
        assert_int_equal(m.u.heartbeat.session, in.session);
        assert_int_equal(m.u.heartbeat.state, in.state);
        assert_int_equal(m.u.heartbeat.users, in.users);
        assert_true(m.u.heartbeat.cpu == in.cpu);
        assert_int_equal(m.u.heartbeat.run, in.run);
        assert_true(m.u.heartbeat.start_unix_ns == in.start_unix_ns);
        assert_int_equal(m.u.heartbeat.in_flight, in.in_flight);
        assert_true(m.u.heartbeat.rss_bytes == in.rss_bytes);
        free(copy);
    }
    buf_free(&b);
}

/*  ---- 2. stats round trips ---------------------------------------------- */

/*  Three endpoints (the last one idle), two named counters. */
static stats_t *make_stats(bool keep_raw)
{
    stats_t *st = stats_new(3, 2, keep_raw);
    assert_non_null(st);
    static const int statuses[] = {200, 201, 204, 301, 404, 500, 503, 0, 599};
    util_rng_t r;
    util_rng_seed(&r, 11);
    for (int i = 0; i < 5000; i++) {
        int status = statuses[util_rng_next(&r) % NF(statuses)];
        uint64_t lat = util_rng_next(&r) % 3000000;
        bool failed = status == 0 || status >= 400;
        stats_record(st, 0, status, lat + 100, lat, 1000 + (uint64_t)i, 200,
                     failed);
    }
    stats_record(st, 0, 200, 0, 0, 0, 0, false);               /* 0 us */
    stats_record(st, 0, 200, HIST_MAX_US * 2, HIST_MAX_US + 5, /* clamped */
                 (uint64_t)1 << 40, 1, false);
    for (int i = 0; i < 17; i++)
        stats_record(st, 1, i % 2 ? 200 : 0, 50000 + (uint64_t)i, 40000, 10, 20,
                     i % 2 == 0);
    /*  the timing breakdown (wire 6): every phase on endpoint 0, no DNS
     *  on endpoint 1, body bytes on both */
    for (int i = 0; i < 300; i++) {
        stats_xfer_t x = {.body_bytes = 700 + (uint64_t)i,
                          .phases = i % 3 ? 0x18u : 0x1fu};
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            x.phase_us[p] = (uint64_t)(i * (p + 1) * 37 % 90000);
        stats_record_xfer(st, 0, &x);
        if (i < 17) {
            x.phases = 0x1eu;
            x.body_bytes = 3;
            stats_record_xfer(st, 1, &x);
        }
    }
    char longmsg[300];
    fill(longmsg, sizeof longmsg - 1, 'm'); /* kept as 199 bytes */
    stats_record_error(st, 0, STATS_FAIL_HTTP, "HTTP 500", 3);
    stats_record_error(st, 0, STATS_FAIL_TIMEOUT, "timed out after 5 s", 2);
    stats_record_error(st, 1, STATS_FAIL_REFUSED, "connection refused", 9);
    stats_record_error(st, 1, STATS_FAIL_CAPTURE, longmsg, 1);
    stats_record_error(st, 2, STATS_FAIL_OTHER, "", 1);
    stats_record_error(st, 0, STATS_FAIL_TIMEOUT, "timed out after 5 s", 4);
    stats_count(st, STATS_CTR_ITERATIONS, 4000);
    stats_count(st, STATS_CTR_DROPPED, 3);
    stats_count(st, STATS_CTR_SCHEDULED, UINT64_MAX);
    stats_count(st, STATS_CTR_NO_DATA, 0);
    /*  generator health (wire 4): sums, maxima and a lag bucket */
    stats_count(st, STATS_CTR_CPU_NS, 987654321);
    stats_count(st, STATS_CTR_WALL_NS, 1000000000);
    stats_count(st, STATS_CTR_LAG_MAX_US, 23456);
    stats_count(st, STATS_CTR_FD_LIMIT, 1048576);
    stats_count(st, (stats_ctr_t)(STATS_CTR_LAST - 1), 2);
    stats_bump(st, 0, 7);
    stats_bump(st, 1, UINT64_MAX - 1);
    return st;
}

static void assert_stats_equal(const stats_t *a, const stats_t *b)
{
    assert_int_equal(stats_n_endpoints(a), stats_n_endpoints(b));
    assert_true(stats_keeps_raw(a) == stats_keeps_raw(b));
    for (size_t i = 0; i < stats_n_endpoints(a); i++) {
        const stats_endpoint_t *x = stats_endpoint(a, i),
                               *y = stats_endpoint(b, i);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->failures, y->failures);
        assert_int_equal(x->bytes_in, y->bytes_in);
        assert_int_equal(x->bytes_out, y->bytes_out);
        assert_int_equal(x->body_in, y->body_in);
        assert_memory_equal(x->status, y->status, sizeof x->status);
        assert_true(hist_equal(x->latency, y->latency));
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            assert_true(hist_equal(x->phase[p], y->phase[p]));
        if (x->latency_raw) {
            assert_non_null(y->latency_raw);
            assert_true(hist_equal(x->latency_raw, y->latency_raw));
        } else {
            assert_null(y->latency_raw);
        }
    }
    assert_int_equal(stats_n_errors(a), stats_n_errors(b));
    for (size_t i = 0; i < stats_n_errors(a); i++) {
        const stats_error_t *x = stats_error(a, i), *y = stats_error(b, i);
        assert_int_equal(x->endpoint, y->endpoint);
        assert_int_equal(x->kind, y->kind);
        assert_string_equal(x->message, y->message);
        assert_int_equal(x->count, y->count);
    }
    for (int c = 0; c < STATS_CTR_LAST; c++)
        assert_int_equal(stats_counter(a, (stats_ctr_t)c),
                         stats_counter(b, (stats_ctr_t)c));
    assert_int_equal(stats_n_named(a), stats_n_named(b));
    for (size_t i = 0; i < stats_n_named(a); i++)
        assert_int_equal(stats_named(a, i), stats_named(b, i));
}

/*  Encodes st, decodes it (from an exact copy) and compares. */
static void stats_round_trip(const stats_t *st, const proto_snap_head_t *h)
{
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_stats(h, st, &b), HN_OK);
    uint8_t *copy = dup_exact(buf_str(&b), buf_len(&b));
    char err[HN_ERRLEN] = "";
    assert_int_equal(proto_peek_type(copy, buf_len(&b), err), PROTO_STATS);
    proto_snap_head_t h2;
    memset(&h2, 0xa5, sizeof h2);
    stats_t *back = NULL;
    hn_err_t rc = proto_decode_stats(copy, buf_len(&b), stats_n_endpoints(st),
                                     stats_n_named(st), stats_keeps_raw(st),
                                     &h2, &back, err);
    if (rc != HN_OK)
        fail_msg("decode_stats: rc %d: %s", rc, err);
    assert_non_null(back);
    assert_int_equal(h2.run, h->run);
    assert_int_equal(h2.seq, h->seq);
    assert_true(h2.final == h->final);
    assert_int_equal(h2.users, h->users);
    assert_stats_equal(st, back);
    stats_destroy(&back);
    free(copy);
    buf_free(&b);
}

static void stats_round_trip_raw(void **state)
{
    (void)state;
    stats_t *st = make_stats(true);
    /*  sanity: the fixture holds what the test claims to cover */
    const stats_endpoint_t *e0 = stats_endpoint(st, 0);
    assert_true(e0->status[0] > 0 && e0->status[599] > 0 && e0->failures > 0);
    assert_int_equal(stats_endpoint(st, 2)->requests, 0);
    assert_int_equal(stats_n_errors(st), 5);
    assert_int_equal(strlen(stats_error(st, 3)->message), STATS_ERRMSG_MAX - 1);
    proto_snap_head_t h = {
        .run = 9, .seq = 123456, .final = true, .users = UINT32_MAX};
    stats_round_trip(st, &h);
    h = (proto_snap_head_t){
        .run = UINT64_MAX, .seq = 0, .final = false, .users = 0};
    stats_round_trip(st, &h);
    stats_destroy(&st);
    /*  empty stats */
    st = stats_new(3, 2, true);
    stats_round_trip(st, &h);
    stats_destroy(&st);
}

static void stats_round_trip_no_raw(void **state)
{
    (void)state;
    stats_t *st = make_stats(false);
    assert_null(stats_endpoint(st, 0)->latency_raw);
    proto_snap_head_t h = {.run = 2, .seq = 3, .final = false, .users = 40};
    stats_round_trip(st, &h);
    stats_destroy(&st);
}

static void stats_round_trip_edge_shapes(void **state)
{
    (void)state;
    proto_snap_head_t h = {.run = 1, .seq = 1, .final = true, .users = 1};
    /*  no endpoints, no named counters */
    stats_t *st = stats_new(0, 0, false);
    stats_count(st, STATS_CTR_ITERATIONS, 5);
    stats_round_trip(st, &h);
    stats_destroy(&st);
    /*  a full error table: 1024 distinct entries, then "(other messages)"
     *  entries per kind in the spare slots */
    st = stats_new(2, 1, true);
    char msg[64];
    for (int i = 0; i < STATS_ERRORS_MAX + 40; i++) {
        snprintf(msg, sizeof msg, "error number %d", i);
        stats_record_error(st, (size_t)(i % 2),
                           i < STATS_ERRORS_MAX
                               ? STATS_FAIL_HTTP
                               : (stats_fail_t)(i % STATS_FAIL_LAST),
                           msg, (uint64_t)i + 1);
    }
    assert_true(stats_n_errors(st) > STATS_ERRORS_MAX);
    stats_round_trip(st, &h);
    stats_destroy(&st);
}

/*  ---- 3. bad messages --------------------------------------------------- */

static void bad_framing(void **state)
{
    (void)state;
    static const uint8_t one = 0x01;
    expect_bad(NULL, 0, NULL, "NULL, 0");
    expect_bad(&one, 0, NULL, "empty buffer");
    char err[HN_ERRLEN] = "";
    assert_int_equal(proto_peek_type(&one, 0, err), -1);
    assert_true(err[0] != '\0');
    static const uint8_t c1[] = {0xc1};
    expect_bad(c1, sizeof c1, NULL, "0xc1");
    static const uint8_t c1b[] = {0x93, 0x01, 0x05, 0xc1};
    expect_bad(c1b, sizeof c1b, NULL, "0xc1 inside the array");
    expect_bad(&one, 1, NULL, "a bare integer");
    static const uint8_t arr0[] = {0x90}, arr1[] = {0x91, 0x01};
    expect_bad(arr0, sizeof arr0, NULL, "empty array");
    expect_bad(arr1, sizeof arr1, NULL, "array of one");
    err[0] = '\0';
    assert_int_equal(proto_peek_type(c1, sizeof c1, err), -1);
    assert_true(err[0] != '\0');

    mp_t m;
    mp_init(&m); /* {1: 1, 2: 5} */
    msgpack_pack_map(&m.pk, 2);
    msgpack_pack_uint64(&m.pk, 1);
    msgpack_pack_uint64(&m.pk, 1);
    msgpack_pack_uint64(&m.pk, 2);
    msgpack_pack_uint64(&m.pk, PROTO_QUIT);
    expect_bad(m.sb.data, m.sb.size, NULL, "a map instead of an array");
    mp_free(&m);
    mp_init(&m);
    mp_str(&m.pk, "hello", 5);
    expect_bad(m.sb.data, m.sb.size, NULL, "a string");
    mp_free(&m);

    /*  trailing garbage: one byte, and a second whole message */
    mp_init(&m);
    pack_msg(&m, s_quit, NF(s_quit));
    pack_msg(&m, s_quit, NF(s_quit));
    expect_bad(m.sb.data, m.sb.size, "trailing", "two messages in one frame");
    msgpack_sbuffer_clear(&m.sb);
    pack_msg(&m, s_hello, NF(s_hello));
    msgpack_pack_nil(&m.pk);
    expect_bad(m.sb.data, m.sb.size, "trailing", "trailing nil");
    mp_free(&m);

    /*  version */
    field_t f[NF(s_hello)];
    memcpy(f, s_hello, sizeof f);
    static const field_t versions[] = {FU(PROTO_VERSION + 1),
                                       FU(PROTO_VERSION - 1),
                                       FU(0),
                                       FU(UINT64_MAX),
                                       FI(-1),
                                       FS("2"),
                                       FD(2.0),
                                       FNIL,
                                       FT(1)};
    for (size_t i = 0; i < NF(versions); i++) {
        f[0] = versions[i];
        fields_bad(f, NF(f), "version", "bad version");
        mp_init(&m);
        pack_msg(&m, f, NF(f));
        err[0] = '\0';
        assert_int_equal(proto_peek_type(m.sb.data, m.sb.size, err), -1);
        assert_true(err[0] != '\0');
        mp_free(&m);
    }
    /*  type */
    memcpy(f, s_hello, sizeof f);
    static const field_t types[] = {FU(0),          FU(99), FU(PROTO_TYPE_LAST),
                                    FU(UINT64_MAX), FI(-1), FS("hello"),
                                    FD(1.0),        FNIL};
    for (size_t i = 0; i < NF(types); i++) {
        f[1] = types[i];
        fields_bad(f, NF(f), "type", "bad type");
    }
}

static void bad_field_counts(void **state)
{
    (void)state;
    /*  sanity: the hand-made bases are valid */
    fields_ok(s_hello, NF(s_hello), PROTO_HELLO);
    fields_ok(s_welcome, NF(s_welcome), PROTO_WELCOME);
    fields_ok(s_load, NF(s_load), PROTO_LOAD);
    fields_ok(s_stop, NF(s_stop), PROTO_STOP);
    fields_ok(s_quit, NF(s_quit), PROTO_QUIT);
    fields_ok(s_ack, NF(s_ack), PROTO_ACK);
    fields_ok(s_heartbeat, NF(s_heartbeat), PROTO_HEARTBEAT);

    static const struct {
        const field_t *f;
        size_t n;
        const char *name;
    } all[] = {
        {s_hello, NF(s_hello), "hello"},
        {s_welcome, NF(s_welcome), "welcome"},
        {s_load, NF(s_load), "load"},
        {s_stop, NF(s_stop), "stop"},
        {s_quit, NF(s_quit), "quit"},
        {s_ack, NF(s_ack), "ack"},
        {s_heartbeat, NF(s_heartbeat), "heartbeat"},
    };
    for (size_t i = 0; i < NF(all); i++) {
        field_t f[20];
        char what[64];
        memcpy(f, all[i].f, all[i].n * sizeof *f);
        /*  one field more */
        f[all[i].n] = (field_t)FU(0);
        snprintf(what, sizeof what, "%s with a field more", all[i].name);
        fields_bad(f, all[i].n + 1, "fields", what);
        /*  one field less (quit has none to drop) */
        if (all[i].n > 2) {
            snprintf(what, sizeof what, "%s with a field less", all[i].name);
            fields_bad(f, all[i].n - 1, "fields", what);
        }
        /*  no fields at all */
        snprintf(what, sizeof what, "%s with no fields", all[i].name);
        if (all[i].n > 2)
            fields_bad(f, 2, "fields", what);
    }
    /*  load whose class array is not followed by flags: 7 top fields */
    static const field_t load7[] = {FU(PROTO_VERSION),
                                    FU(PROTO_LOAD),
                                    FU(1),
                                    FI(-5),
                                    FU(10),
                                    FD(2.5),
                                    FD(0),
                                    FU(100),
                                    FA(2),
                                    FU(4),
                                    FU(6)};
    fields_bad(load7, NF(load7), "fields", "load without flags");
}

static void bad_field_types(void **state)
{
    (void)state;
    const size_t H = 2; /* index of the first field after version, type */
    /*  hello */
    variant_bad(s_hello, NF(s_hello), H + 0, (field_t)FU(5), "id",
                "hello id uint");
    variant_bad(s_hello, NF(s_hello), H + 0, (field_t)FB("w", 1), "id",
                "hello id bin");
    variant_bad(s_hello, NF(s_hello), H + 0, (field_t)FNIL, "id",
                "hello id nil");
    variant_bad(s_hello, NF(s_hello), H + 1, (field_t)FT(1), "hostname",
                "hello hostname bool");
    variant_bad(s_hello, NF(s_hello), H + 2, (field_t)FS("1"), "pid",
                "hello pid str");
    variant_bad(s_hello, NF(s_hello), H + 2, (field_t)FI(-1), "pid",
                "hello pid -1");
    variant_bad(s_hello, NF(s_hello), H + 2, (field_t)FD(1.0), "pid",
                "hello pid float");
    variant_bad(s_hello, NF(s_hello), H + 3, (field_t)FI(-8), "threads",
                "hello threads negative");
    variant_bad(s_hello, NF(s_hello), H + 4, (field_t)FA(0), "version",
                "hello version array");
    /*  welcome */
    variant_bad(s_welcome, NF(s_welcome), H + 0, (field_t)FI(-1), "session",
                "welcome session -1");
    variant_bad(s_welcome, NF(s_welcome), H + 1, (field_t)FS("bundle"),
                "bundle", "welcome bundle str");
    variant_bad(s_welcome, NF(s_welcome), H + 1, (field_t)FNIL, "bundle",
                "welcome bundle nil");
    variant_bad(s_welcome, NF(s_welcome), H + 2, (field_t)FB("h", 1), "host",
                "welcome host bin");
    variant_bad(s_welcome, NF(s_welcome), H + 3, (field_t)FS("1000"),
                "interval_ms", "welcome interval str");
    variant_bad(s_welcome, NF(s_welcome), H + 4, (field_t)FU(1), "insecure",
                "welcome insecure uint");
    variant_bad(s_welcome, NF(s_welcome), H + 4, (field_t)FNIL, "insecure",
                "welcome insecure nil");
    /*  load */
    variant_bad(s_load, NF(s_load), H + 0, (field_t)FS("1"), "run",
                "load run str");
    variant_bad(s_load, NF(s_load), H + 1, (field_t)FS("0"), "start",
                "load start str");
    variant_bad(s_load, NF(s_load), H + 1, (field_t)FD(1.0), "start",
                "load start float");
    variant_bad(s_load, NF(s_load), H + 1, (field_t)FU((uint64_t)INT64_MAX + 1),
                "start", "load start above INT64_MAX");
    variant_bad(s_load, NF(s_load), H + 2, (field_t)FI(-1), "users",
                "load users -1");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FD(NAN), "spawn_rate",
                "spawn_rate NaN");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FD(INFINITY), "spawn_rate",
                "spawn_rate inf");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FD(-INFINITY), "spawn_rate",
                "spawn_rate -inf");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FF(NAN), "spawn_rate",
                "spawn_rate float32 NaN");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FF(INFINITY), "spawn_rate",
                "spawn_rate float32 inf");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FD(-1.0), "spawn_rate",
                "spawn_rate -1.0");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FI(-1), "spawn_rate",
                "spawn_rate -1 int");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FS("2.5"), "spawn_rate",
                "spawn_rate str");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FNIL, "spawn_rate",
                "spawn_rate nil");
    variant_bad(s_load, NF(s_load), H + 4, (field_t)FD(NAN), "rate",
                "rate NaN");
    variant_bad(s_load, NF(s_load), H + 5, (field_t)FT(0), "max_inflight",
                "max_inflight bool");
    variant_bad(s_load, NF(s_load), H + 7, (field_t)FS("4"), "class_users",
                "class_users item str");
    variant_bad(s_load, NF(s_load), H + 8, (field_t)FI(-6), "class_users",
                "class_users item -6");
    variant_bad(s_load, NF(s_load), H + 9, (field_t)FI(-1), "flags",
                "flags -1");
    variant_bad(s_load, NF(s_load), H + 11, (field_t)FI(-1), "counter_base",
                "counter_base -1");
    variant_bad(s_load, NF(s_load), H + 12, (field_t)FU(3), "rows",
                "rows not an array");
    fields_ok(s_load_rows, NF(s_load_rows), PROTO_LOAD);
    variant_bad(s_load_rows, NF(s_load_rows), H + 13,
                (field_t)FU(PROTO_MAX_FEEDS), "rows[].feed",
                "rows feed out of range");
    variant_bad(s_load_rows, NF(s_load_rows), H + 14,
                (field_t)FU((uint64_t)1 << 32), "rows[].first",
                "rows first above 2^32-1");
    variant_bad(s_load_rows, NF(s_load_rows), H + 15, (field_t)FS("5"),
                "rows[].count", "rows count str");
    {
        /*  not triples; then feeds out of order */
        static const field_t pairs[] = {
            FU(PROTO_VERSION), FU(PROTO_LOAD), FU(1),   FI(-5), FU(10),
            FD(2.5),           FD(0),          FU(100), FA(0),  FU(0),
            FB("", 0),         FU(7),          FA(2),   FU(0),  FU(2)};
        fields_bad(pairs, NF(pairs), "rows", "rows of pairs");
        static const field_t order[] = {FU(PROTO_VERSION),
                                        FU(PROTO_LOAD),
                                        FU(1),
                                        FI(-5),
                                        FU(10),
                                        FD(2.5),
                                        FD(0),
                                        FU(100),
                                        FA(0),
                                        FU(0),
                                        FB("", 0),
                                        FU(7),
                                        FA(6),
                                        FU(1),
                                        FU(2),
                                        FU(5),
                                        FU(0),
                                        FU(0),
                                        FU(1)};
        fields_bad(order, NF(order), "rows", "rows feeds out of order");
    }
    {
        /*  class_users as a map: replace FA(2), FU(4), FU(6) by {1: 1} */
        static const field_t f[] = {
            FU(PROTO_VERSION), FU(PROTO_LOAD), FU(1),   FI(-5), FU(10),
            FD(2.5),           FD(0),          FU(100), FMAP,   FU(0),
            FB("", 0),         FU(0),          FA(0)};
        fields_bad(f, NF(f), "class_users", "class_users map");
        static const field_t g[] = {
            FU(PROTO_VERSION), FU(PROTO_LOAD), FU(1),   FI(-5), FU(10),
            FD(2.5),           FD(0),          FU(100), FU(2),  FU(0),
            FB("", 0),         FU(0),          FA(0)};
        fields_bad(g, NF(g), "class_users", "class_users uint");
        static const field_t h[] = {
            FU(PROTO_VERSION), FU(PROTO_LOAD), FU(1),   FI(-5), FU(10),
            FD(2.5),           FD(0),          FU(100), FNIL,   FU(0),
            FB("", 0),         FU(0),          FA(0)};
        fields_bad(h, NF(h), "class_users", "class_users nil");
    }
    /*  a float32 that is in range is a number like any other */
    {
        field_t f[NF(s_load)];
        memcpy(f, s_load, sizeof f);
        f[H + 3] = (field_t)FF(2.5);
        f[H + 4] = (field_t)FU(7); /* an integer rate */
        mp_t m;
        mp_init(&m);
        pack_msg(&m, f, NF(f));
        buf_t b;
        buf_init(&b, BUF_LIMIT);
        assert_int_equal(buf_append(&b, m.sb.data, m.sb.size), HN_OK);
        proto_msg_t msg;
        free(decode_ok(&b, PROTO_LOAD, &msg));
        assert_true(msg.u.load.spawn_rate == 2.5);
        assert_true(msg.u.load.rate == 7.0);
        assert_int_equal(msg.u.load.n_classes, 2);
        assert_int_equal(msg.u.load.class_users[1], 6);
        buf_free(&b);
        mp_free(&m);
    }
    /*  stop, ack, heartbeat */
    variant_bad(s_stop, NF(s_stop), H + 0, (field_t)FT(1), "run",
                "stop run bool");
    variant_bad(s_stop, NF(s_stop), H + 1, (field_t)FS("30"), "stop_timeout",
                "stop timeout str");
    variant_bad(s_stop, NF(s_stop), H + 1, (field_t)FD(NAN), "stop_timeout",
                "stop timeout NaN");
    variant_bad(s_ack, NF(s_ack), H + 0, (field_t)FI(-3), "run", "ack run -3");
    variant_bad(s_ack, NF(s_ack), H + 1, (field_t)FD(2.0), "seq",
                "ack seq float");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 0, (field_t)FS("s"),
                "session", "heartbeat session str");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 1, (field_t)FI(-1), "state",
                "heartbeat state -1");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 3, (field_t)FD(NAN), "cpu",
                "heartbeat cpu NaN");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 3, (field_t)FD(INFINITY),
                "cpu", "heartbeat cpu inf");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 3, (field_t)FNIL, "cpu",
                "heartbeat cpu nil");
}

static void bad_field_ranges(void **state)
{
    (void)state;
    const size_t H = 2;
    char s64[65], s128[129], s32[33], s512[513];
    fill(s64, 64, 'i');
    fill(s128, 128, 'h');
    fill(s32, 32, 'v');
    fill(s512, 512, 'x');
    /*  hello */
    variant_bad(s_hello, NF(s_hello), H + 0, (field_t)FS(s64), "id",
                "hello id of 64 chars");
    variant_bad(s_hello, NF(s_hello), H + 0, (field_t)FSN("w\0x", 3), "id",
                "hello id with a NUL");
    variant_bad(s_hello, NF(s_hello), H + 1, (field_t)FS(s128), "hostname",
                "hello hostname of 128 chars");
    variant_bad(s_hello, NF(s_hello), H + 4, (field_t)FS(s32), "version",
                "hello version of 32 chars");
    variant_bad(s_hello, NF(s_hello), H + 2,
                (field_t)FU((uint64_t)UINT32_MAX + 1), "pid", "hello pid 2^32");
    variant_bad(s_hello, NF(s_hello), H + 3, (field_t)FU(0), "threads",
                "hello threads 0");
    variant_bad(s_hello, NF(s_hello), H + 3, (field_t)FU(4097), "threads",
                "hello threads 4097");
    variant_bad(s_hello, NF(s_hello), H + 3, (field_t)FU(5000), "threads",
                "hello threads 5000");
    /*  welcome */
    variant_bad(s_welcome, NF(s_welcome), H + 2, (field_t)FS(s512), "host",
                "welcome host of 512 chars");
    variant_bad(s_welcome, NF(s_welcome), H + 3, (field_t)FU(5), "interval_ms",
                "welcome interval_ms 5");
    variant_bad(s_welcome, NF(s_welcome), H + 3, (field_t)FU(9), "interval_ms",
                "welcome interval_ms 9");
    variant_bad(s_welcome, NF(s_welcome), H + 3, (field_t)FU(0), "interval_ms",
                "welcome interval_ms 0");
    variant_bad(s_welcome, NF(s_welcome), H + 3, (field_t)FU(60001),
                "interval_ms", "welcome interval_ms 60001");
    /*  load */
    variant_bad(s_load, NF(s_load), H + 2, (field_t)FU(10000001), "users",
                "load users 10000001");
    variant_bad(s_load, NF(s_load), H + 3, (field_t)FD(1.5e8), "spawn_rate",
                "spawn_rate 1.5e8");
    variant_bad(s_load, NF(s_load), H + 4, (field_t)FD(2e9), "rate",
                "rate 2e9");
    variant_bad(s_load, NF(s_load), H + 4, (field_t)FD(-0.5), "rate",
                "rate -0.5");
    variant_bad(s_load, NF(s_load), H + 5, (field_t)FU(10000001),
                "max_inflight", "max_inflight 10000001");
    variant_bad(s_load, NF(s_load), H + 7, (field_t)FU(10000001), "class_users",
                "class_users item 10000001");
    variant_bad(s_load, NF(s_load), H + 9,
                (field_t)FU((uint64_t)UINT32_MAX + 1), "flags", "flags 2^32");
    {
        /*  65 classes */
        field_t f[80];
        size_t n = 0;
        memcpy(f, s_load, (H + 6) * sizeof *f);
        n = H + 6;
        f[n++] = (field_t)FA(65);
        for (int i = 0; i < 65; i++)
            f[n++] = (field_t)FU(1);
        f[n++] = (field_t)FU(0);
        f[n++] = (field_t)FB("", 0);
        f[n++] = (field_t)FU(0);
        f[n++] = (field_t)FA(0);
        fields_bad(f, n, "class_users", "65 classes");
    }
    /*  stop, heartbeat */
    variant_bad(s_stop, NF(s_stop), H + 1, (field_t)FD(-1.0), "stop_timeout",
                "stop timeout -1");
    variant_bad(s_stop, NF(s_stop), H + 1, (field_t)FD(86400.5), "stop_timeout",
                "stop timeout 86400.5");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 1, (field_t)FU(6), "state",
                "heartbeat state 6");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 2,
                (field_t)FU((uint64_t)UINT32_MAX + 1), "users",
                "heartbeat users 2^32");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 3, (field_t)FD(-0.5), "cpu",
                "heartbeat cpu -0.5");
    variant_bad(s_heartbeat, NF(s_heartbeat), H + 3, (field_t)FD(1e6 + 1),
                "cpu", "heartbeat cpu 1e6+1");
}

/*  Fixed (was a bug): an empty msgpack string can come out of msgpack_unpack_next with
 *  via.str.ptr == NULL (the fixstr 0xa0 path passes the unpacker's stale
 *  trail pointer, NULL when no multi-byte value came before it), and
 *  wire_get_str (proto/wire.c) then calls memchr(NULL, '\0', 0) (and would
 *  call memcpy(dst, NULL, 0)): undefined behaviour, the pointers are
 *  declared nonnull. Input: the hello [1, 1, "", "host-a", 4242, 8,
 *  "0.1.0"], i.e. 97 01 01 a0 a6 'host-a' cd 10 92 08 a5 '0.1.0'.
 *  Expected: HN_ERR_CORRUPT ("hello: empty id or zero threads"). Actual:
 *  HN_ERR_CORRUPT in a normal build, but the UBSan build stops with
 *  "wire.c:247: runtime error: null pointer passed as argument 1, which is
 *  declared to never be null". snap.c's error message check
 *  (memchr(msg, '\0', ml), memcpy(mbuf, msg, ml)) has the same pattern. */
static void hello_empty_id(void **state)
{
    (void)state;
    variant_bad(s_hello, NF(s_hello), 2, (field_t)FSN("", 0), "id",
                "hello empty id");
}

/*  ---- hand-made stats messages ------------------------------------------ */

/*  Decoded as 2 endpoints, 2 named counters, keep_raw. Endpoint 0 has 3
 *  requests (one failed), endpoint 1 none. */
#define SB_NE 2
#define SB_NC 2

typedef enum {
    SD_NONE,
    SD_FIELDS_7,
    SD_USERS_BIG,
    SD_FINAL_UINT,
    SD_TYPE_HELLO,
    SD_EP_FEWER,
    SD_EP_MORE,
    SD_EP_NOT_ARRAY,
    SD_EPS_NOT_ARRAY,
    SD_EP_SIX,
    SD_REQ_STR,
    SD_FAIL_GT_REQ,
    SD_BYTES_NEG,
    SD_STATUS_SUM_LOW,
    SD_STATUS_SUM_HIGH,
    SD_STATUS_600,
    SD_STATUS_NEG,
    SD_STATUS_OVERFLOW,
    SD_STATUS_DUP_OVERFLOW,
    SD_STATUS_PAIR3,
    SD_STATUS_NOT_ARRAY,
    SD_HIST_COUNT,
    SD_HIST_CORRUPT,
    SD_HIST_TRUNC,
    SD_HIST_NOT_BIN,
    SD_IDLE_HIST_COUNT,
    SD_RAW_MISSING,
    SD_RAW_COUNT,
    SD_RAW_CORRUPT,
    SD_RAW_STR,
    SD_EP_SEVEN,
    SD_BODY_GT_BYTES,
    SD_BODY_STR,
    SD_PHASES_FOUR,
    SD_PHASES_NIL,
    SD_PHASE_COUNT,
    SD_PHASE_CORRUPT,
    SD_PHASE_STR,
    SD_ERR_EP_RANGE,
    SD_ERR_EP_NEG,
    SD_ERR_KIND_RANGE,
    SD_ERR_MSG_LONG,
    SD_ERR_MSG_NUL,
    SD_ERR_MSG_BIN,
    SD_ERR_THREE,
    SD_ERR_COUNT_NEG,
    SD_ERRS_NOT_ARRAY,
    SD_ERRS_TOO_MANY,
    SD_CTR_FEWER,
    SD_CTR_MORE,
    SD_CTR_NEG,
    SD_CTR_NOT_ARRAY,
    SD_NAMED_FEWER,
    SD_NAMED_MORE,
    SD_NAMED_STR,
    SD_LAST
} sdef_t;

static const struct {
    sdef_t d;
    const char *want; /* in the error message */
    const char *what;
} s_defects[] = {
    {SD_FIELDS_7, "fields", "stats with 7 fields"},
    {SD_USERS_BIG, "users", "users 2^32"},
    {SD_FINAL_UINT, "final", "final as uint"},
    {SD_TYPE_HELLO, "stats", "a hello type with stats fields"},
    {SD_EP_FEWER, "endpoint count", "one endpoint less than expected"},
    {SD_EP_MORE, "endpoint count", "one endpoint more than expected"},
    {SD_EP_NOT_ARRAY, "endpoint", "an endpoint that is a uint"},
    {SD_EPS_NOT_ARRAY, "endpoint count", "endpoints as nil"},
    {SD_EP_SIX, "endpoint", "an endpoint of 6 items"},
    {SD_REQ_STR, "endpoint", "requests as a string"},
    {SD_FAIL_GT_REQ, "endpoint", "failures > requests"},
    {SD_BYTES_NEG, "endpoint", "bytes_in -1"},
    {SD_STATUS_SUM_LOW, "add up", "status counts below requests"},
    {SD_STATUS_SUM_HIGH, "add up", "status counts above requests"},
    {SD_STATUS_600, "status", "status code 600"},
    {SD_STATUS_NEG, "status", "status code -1"},
    {SD_STATUS_OVERFLOW, "status", "status counts wrapping to requests"},
    {SD_STATUS_DUP_OVERFLOW, "status", "one status twice, overflowing"},
    {SD_STATUS_PAIR3, "status", "a status entry of 3 items"},
    {SD_STATUS_NOT_ARRAY, "endpoint", "status list as a map"},
    {SD_HIST_COUNT, "latency histogram", "histogram count != requests"},
    {SD_HIST_CORRUPT, "latency histogram", "histogram with a bad magic"},
    {SD_HIST_TRUNC, "latency histogram", "truncated histogram bytes"},
    {SD_HIST_NOT_BIN, "latency histogram", "histogram as a string"},
    {SD_IDLE_HIST_COUNT, "latency histogram", "idle endpoint with samples"},
    {SD_RAW_MISSING, "uncorrected", "raw histogram missing"},
    {SD_RAW_COUNT, "uncorrected", "raw histogram count != requests"},
    {SD_RAW_CORRUPT, "uncorrected", "raw histogram corrupt"},
    {SD_RAW_STR, "uncorrected", "raw histogram as a string"},
    {SD_EP_SEVEN, "endpoint", "an endpoint of 7 items (wire 5)"},
    {SD_BODY_GT_BYTES, "body bytes", "body bytes above bytes_in"},
    {SD_BODY_STR, "body bytes", "body bytes as a string"},
    {SD_PHASES_FOUR, "timing histograms", "4 timing histograms"},
    {SD_PHASES_NIL, "timing histograms", "timing histograms as nil"},
    {SD_PHASE_COUNT, "waiting histogram", "waiting samples > requests"},
    {SD_PHASE_CORRUPT, "tls histogram", "tls histogram with a bad magic"},
    {SD_PHASE_STR, "dns histogram", "dns histogram as a string"},
    {SD_ERR_EP_RANGE, "error entry", "error endpoint == n_endpoints"},
    {SD_ERR_EP_NEG, "error entry", "error endpoint -1"},
    {SD_ERR_KIND_RANGE, "error entry", "error kind STATS_FAIL_LAST"},
    {SD_ERR_MSG_LONG, "error entry", "error message of 200 bytes"},
    {SD_ERR_MSG_NUL, "error entry", "error message with a NUL"},
    {SD_ERR_MSG_BIN, "error entry", "error message as bin"},
    {SD_ERR_THREE, "error entry", "error entry of 3 items"},
    {SD_ERR_COUNT_NEG, "error entry", "error count -1"},
    {SD_ERRS_NOT_ARRAY, "error set", "errors as nil"},
    {SD_ERRS_TOO_MANY, "error set", "1039 error entries"},
    {SD_CTR_FEWER, "counter count", "3 run counters"},
    {SD_CTR_MORE, "counter count", "5 run counters"},
    {SD_CTR_NEG, "counter", "a run counter of -1"},
    {SD_CTR_NOT_ARRAY, "counter count", "run counters as a uint"},
    {SD_NAMED_FEWER, "counter count", "1 named counter for 2"},
    {SD_NAMED_MORE, "counter count", "3 named counters for 2"},
    {SD_NAMED_STR, "named counter", "a named counter as a string"},
};

static void pk_hist(msgpack_packer *pk, int n_samples, int damage)
{
    hist_t *h = hist_new();
    assert_non_null(h);
    static const uint64_t vals[] = {100, 2000, 30000, 444444};
    for (int i = 0; i < n_samples; i++)
        hist_record(h, vals[i % 4]);
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    size_t n = buf_len(&b);
    uint8_t *d = dup_exact(buf_str(&b), n);
    if (damage == 1)
        d[0] ^= 0xff; /* magic */
    else if (damage == 2)
        n--; /* last byte cut */
    mp_bin(pk, d, n);
    free(d);
    buf_free(&b);
    hist_destroy(&h);
}

static void pk_u(msgpack_packer *pk, uint64_t v)
{
    msgpack_pack_uint64(pk, v);
}

/*  One [code, count] entry of an endpoint's status list. */
static void pk_status(msgpack_packer *pk, uint64_t code, uint64_t count)
{
    msgpack_pack_array(pk, 2);
    pk_u(pk, code);
    pk_u(pk, count);
}

static void pk_endpoint0(msgpack_packer *pk, sdef_t d)
{
    msgpack_pack_array(pk, d == SD_EP_SIX ? 6 : d == SD_EP_SEVEN ? 7 : 9);
    if (d == SD_REQ_STR)
        mp_str(pk, "3", 1);
    else
        pk_u(pk, 3);                       /* requests */
    pk_u(pk, d == SD_FAIL_GT_REQ ? 4 : 1); /* failures */
    if (d == SD_BYTES_NEG)
        msgpack_pack_int64(pk, -1);
    else
        pk_u(pk, 1500); /* bytes_in */
    pk_u(pk, 300);      /* bytes_out */
    switch (d) {        /* status */
    case SD_STATUS_SUM_LOW:
        msgpack_pack_array(pk, 1);
        pk_status(pk, 200, 2);
        break;
    case SD_STATUS_SUM_HIGH:
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, 2);
        pk_status(pk, 500, 2);
        break;
    case SD_STATUS_600:
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, 2);
        pk_status(pk, 600, 1);
        break;
    case SD_STATUS_NEG:
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, 2);
        msgpack_pack_array(pk, 2);
        msgpack_pack_int64(pk, -1);
        pk_u(pk, 1);
        break;
    case SD_STATUS_OVERFLOW: /* UINT64_MAX + 4 wraps to 3 == requests */
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, UINT64_MAX);
        pk_status(pk, 500, 4);
        break;
    case SD_STATUS_DUP_OVERFLOW:
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, UINT64_MAX);
        pk_status(pk, 200, 4);
        break;
    case SD_STATUS_PAIR3:
        msgpack_pack_array(pk, 2);
        msgpack_pack_array(pk, 3);
        pk_u(pk, 200);
        pk_u(pk, 2);
        pk_u(pk, 0);
        pk_status(pk, 500, 1);
        break;
    case SD_STATUS_NOT_ARRAY:
        msgpack_pack_map(pk, 2);
        pk_u(pk, 200);
        pk_u(pk, 2);
        pk_u(pk, 500);
        pk_u(pk, 1);
        break;
    default:
        msgpack_pack_array(pk, 2);
        pk_status(pk, 200, 2);
        pk_status(pk, 500, 1);
        break;
    }
    if (d == SD_HIST_NOT_BIN) /* latency */
        mp_str(pk, "H", 1);
    else
        pk_hist(pk, d == SD_HIST_COUNT ? 4 : 3,
                d == SD_HIST_CORRUPT ? 1
                : d == SD_HIST_TRUNC ? 2
                                     : 0);
    if (d == SD_EP_SIX)
        return;              /* no latency_raw */
    if (d == SD_RAW_MISSING) /* latency_raw */
        msgpack_pack_nil(pk);
    else if (d == SD_RAW_STR)
        mp_str(pk, "H", 1);
    else
        pk_hist(pk, d == SD_RAW_COUNT ? 2 : 3, d == SD_RAW_CORRUPT ? 1 : 0);
    if (d == SD_EP_SEVEN)
        return; /* no body bytes, no timing */
    if (d == SD_BODY_STR)
        mp_str(pk, "1200", 4);
    else
        pk_u(pk, d == SD_BODY_GT_BYTES ? 1501 : 1200); /* body bytes */
    /*  timing: no DNS (nil), one new connection over TLS, 3 answers */
    if (d == SD_PHASES_NIL) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, d == SD_PHASES_FOUR ? 4 : STATS_PHASE_LAST);
    if (d == SD_PHASE_STR)
        mp_str(pk, "H", 1);
    else
        msgpack_pack_nil(pk);                      /* dns */
    pk_hist(pk, 1, 0);                             /* connect */
    pk_hist(pk, 1, d == SD_PHASE_CORRUPT ? 1 : 0); /* tls */
    pk_hist(pk, d == SD_PHASE_COUNT ? 4 : 3, 0);   /* waiting */
    if (d != SD_PHASES_FOUR)
        pk_hist(pk, 3, 0); /* receiving */
}

static void pk_idle_endpoint(msgpack_packer *pk, sdef_t d)
{
    msgpack_pack_array(pk, 9);
    pk_u(pk, 0);
    pk_u(pk, 0);
    pk_u(pk, 0);
    pk_u(pk, 0);
    msgpack_pack_array(pk, 0);
    pk_hist(pk, d == SD_IDLE_HIST_COUNT ? 1 : 0, 0);
    msgpack_pack_nil(pk); /* allowed with keep_raw: no requests */
    pk_u(pk, 0);          /* body bytes */
    msgpack_pack_array(pk, STATS_PHASE_LAST);
    for (int p = 0; p < STATS_PHASE_LAST; p++)
        msgpack_pack_nil(pk);
}

static void pk_error(msgpack_packer *pk, uint64_t ep, uint64_t kind,
                     const char *msg, size_t ml, uint64_t count)
{
    msgpack_pack_array(pk, 4);
    pk_u(pk, ep);
    pk_u(pk, kind);
    mp_str(pk, msg, ml);
    pk_u(pk, count);
}

static void build_stats(mp_t *m, sdef_t d)
{
    msgpack_packer *pk = &m->pk;
    msgpack_pack_array(pk, d == SD_FIELDS_7 ? 9 : 10);
    pk_u(pk, PROTO_VERSION);
    pk_u(pk, d == SD_TYPE_HELLO ? PROTO_HELLO : PROTO_STATS);
    pk_u(pk, 3);  /* run */
    pk_u(pk, 17); /* seq */
    if (d == SD_FINAL_UINT)
        pk_u(pk, 1);
    else
        msgpack_pack_true(pk);                                   /* final */
    pk_u(pk, d == SD_USERS_BIG ? (uint64_t)UINT32_MAX + 1 : 50); /* users */
    /*  endpoints */
    if (d == SD_EPS_NOT_ARRAY) {
        msgpack_pack_nil(pk);
    } else {
        int ne = SB_NE + (d == SD_EP_MORE) - (d == SD_EP_FEWER);
        msgpack_pack_array(pk, (size_t)ne);
        pk_endpoint0(pk, d);
        if (ne > 1) {
            if (d == SD_EP_NOT_ARRAY)
                pk_u(pk, 0);
            else
                pk_idle_endpoint(pk, d);
        }
        if (ne > 2)
            pk_idle_endpoint(pk, d);
    }
    /*  errors */
    char longmsg[STATS_ERRMSG_MAX + 1];
    fill(longmsg, STATS_ERRMSG_MAX, 'e');
    switch (d) {
    case SD_ERRS_NOT_ARRAY: msgpack_pack_nil(pk); break;
    case SD_ERRS_TOO_MANY: {
        size_t n = STATS_ERRORS_MAX + STATS_FAIL_LAST + 1;
        char msg[32];
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) {
            int ml = snprintf(msg, sizeof msg, "e%zu", i);
            pk_error(pk, 0, STATS_FAIL_HTTP, msg, (size_t)ml, 1);
        }
        break;
    }
    case SD_ERR_THREE:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        pk_u(pk, 0);
        pk_u(pk, 1);
        mp_str(pk, "x", 1);
        break;
    case SD_ERR_EP_NEG:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 4);
        msgpack_pack_int64(pk, -1);
        pk_u(pk, 1);
        mp_str(pk, "x", 1);
        pk_u(pk, 1);
        break;
    case SD_ERR_COUNT_NEG:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 4);
        pk_u(pk, 0);
        pk_u(pk, 1);
        mp_str(pk, "x", 1);
        msgpack_pack_int64(pk, -1);
        break;
    case SD_ERR_MSG_BIN:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 4);
        pk_u(pk, 0);
        pk_u(pk, 1);
        mp_bin(pk, "x", 1);
        pk_u(pk, 1);
        break;
    default:
        msgpack_pack_array(pk, 1);
        if (d == SD_ERR_EP_RANGE)
            pk_error(pk, SB_NE, STATS_FAIL_TIMEOUT, "x", 1, 1);
        else if (d == SD_ERR_KIND_RANGE)
            pk_error(pk, 0, STATS_FAIL_LAST, "x", 1, 1);
        else if (d == SD_ERR_MSG_LONG)
            pk_error(pk, 0, STATS_FAIL_TIMEOUT, longmsg, STATS_ERRMSG_MAX, 1);
        else if (d == SD_ERR_MSG_NUL)
            pk_error(pk, 0, STATS_FAIL_TIMEOUT, "time\0out", 8, 1);
        else
            pk_error(pk, 0, STATS_FAIL_TIMEOUT, "timed out", 9, 1);
        break;
    }
    /*  run counters */
    if (d == SD_CTR_NOT_ARRAY) {
        pk_u(pk, 4);
    } else {
        int nc = STATS_CTR_LAST + (d == SD_CTR_MORE) - (d == SD_CTR_FEWER);
        msgpack_pack_array(pk, (size_t)nc);
        for (int c = 0; c < nc; c++) {
            if (d == SD_CTR_NEG && c == 1)
                msgpack_pack_int64(pk, -1);
            else
                pk_u(pk, 10 + (uint64_t)c);
        }
    }
    if (d == SD_FIELDS_7)
        return; /* no named counters */
    /*  named counters */
    int nn = SB_NC + (d == SD_NAMED_MORE) - (d == SD_NAMED_FEWER);
    msgpack_pack_array(pk, (size_t)nn);
    for (int c = 0; c < nn; c++) {
        if (d == SD_NAMED_STR && c == 1)
            mp_str(pk, "1", 1);
        else
            pk_u(pk, 100 + (uint64_t)c);
    }
}

static void bad_stats(void **state)
{
    (void)state;
    /*  sanity: the builder's valid message decodes to what it says */
    mp_t m;
    mp_init(&m);
    build_stats(&m, SD_NONE);
    char err[HN_ERRLEN] = "";
    proto_snap_head_t h;
    stats_t *st = NULL;
    hn_err_t rc = proto_decode_stats(m.sb.data, m.sb.size, SB_NE, SB_NC, true,
                                     &h, &st, err);
    if (rc != HN_OK)
        fail_msg("hand-made stats: %s", err);
    assert_int_equal(h.run, 3);
    assert_int_equal(h.seq, 17);
    assert_true(h.final);
    assert_int_equal(h.users, 50);
    const stats_endpoint_t *e = stats_endpoint(st, 0);
    assert_int_equal(e->requests, 3);
    assert_int_equal(e->failures, 1);
    assert_int_equal(e->bytes_in, 1500);
    assert_int_equal(e->bytes_out, 300);
    assert_int_equal(e->status[200], 2);
    assert_int_equal(e->status[500], 1);
    assert_int_equal(hist_count(e->latency), 3);
    assert_int_equal(hist_count(e->latency_raw), 3);
    assert_int_equal(e->body_in, 1200);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_DNS]), 0);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_CONNECT]), 1);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_TLS]), 1);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_WAITING]), 3);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_RECEIVING]), 3);
    assert_int_equal(stats_endpoint(st, 1)->requests, 0);
    assert_int_equal(stats_n_errors(st), 1);
    assert_string_equal(stats_error(st, 0)->message, "timed out");
    assert_int_equal(stats_error(st, 0)->kind, STATS_FAIL_TIMEOUT);
    assert_int_equal(stats_counter(st, STATS_CTR_SCHEDULED), 12);
    assert_int_equal(stats_named(st, 1), 101);
    stats_destroy(&st);

    /*  every defect: exactly one thing wrong */
    assert_int_equal(NF(s_defects), SD_LAST - 1);
    for (size_t i = 0; i < NF(s_defects); i++) {
        msgpack_sbuffer_clear(&m.sb);
        build_stats(&m, s_defects[i].d);
        expect_bad_stats(m.sb.data, m.sb.size, SB_NE, SB_NC, true,
                         s_defects[i].want, s_defects[i].what);
        /*  and never a control message */
        expect_bad(m.sb.data, m.sb.size, NULL, s_defects[i].what);
    }

    /*  the valid message against a decoder expecting another shape */
    msgpack_sbuffer_clear(&m.sb);
    build_stats(&m, SD_NONE);
    expect_bad_stats(m.sb.data, m.sb.size, 3, SB_NC, true, "endpoint count",
                     "decoder expects 3 endpoints");
    expect_bad_stats(m.sb.data, m.sb.size, 1, SB_NC, true, "endpoint count",
                     "decoder expects 1 endpoint");
    expect_bad_stats(m.sb.data, m.sb.size, 0, SB_NC, true, "endpoint count",
                     "decoder expects no endpoints");
    expect_bad_stats(m.sb.data, m.sb.size, SB_NE, 1, true, "counter count",
                     "decoder expects 1 named counter");
    expect_bad_stats(m.sb.data, m.sb.size, SB_NE, 3, true, "counter count",
                     "decoder expects 3 named counters");
    expect_bad_stats(m.sb.data, m.sb.size, SB_NE, SB_NC, false, "uncorrected",
                     "raw histogram sent to a decoder without raw");
    mp_free(&m);

    /*  an error entry when there are no endpoints at all */
    stats_t *empty = stats_new(0, 0, false);
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_snap_head_t h0 = {.run = 1};
    assert_int_equal(proto_encode_stats(&h0, empty, &b), HN_OK);
    stats_destroy(&empty);
    /*  [1, 6, run, seq, final, users, [], [], [4 counters], []]: replace the
     *  empty error array (the second 0x90) by one entry for endpoint 0 */
    const uint8_t *p = (const uint8_t *)buf_str(&b);
    size_t n = buf_len(&b), at = 0, seen = 0;
    for (size_t i = 0; i < n && !at; i++)
        if (p[i] == 0x90 && ++seen == 2)
            at = i;
    assert_true(at > 0);
    mp_init(&m);
    msgpack_sbuffer_write(&m.sb, (const char *)p, at);
    msgpack_pack_array(&m.pk, 1);
    pk_error(&m.pk, 0, STATS_FAIL_HTTP, "x", 1, 1);
    msgpack_sbuffer_write(&m.sb, (const char *)p + at + 1, n - at - 1);
    expect_bad_stats(m.sb.data, m.sb.size, 0, 0, false, "error entry",
                     "an error entry with no endpoints");
    mp_free(&m);
    buf_free(&b);
}

/*  Fixed (was a bug): proto_decode_stats adds error entries with stats_record_error,
 *  which does e->count += count without an overflow check, so two entries
 *  for the same (endpoint, kind, message) with counts UINT64_MAX and 2
 *  decode as HN_OK with a count of 1; snap.h says any overflow is
 *  HN_ERR_CORRUPT (status counts are checked with s_add, error counts are
 *  not). Expected HN_ERR_CORRUPT; actual HN_OK, count 1. */
static void stats_error_count_overflow(void **state)
{
    (void)state;
    /*  SD_NONE's message with two error entries instead of one */
    mp_t m;
    mp_init(&m);
    msgpack_packer *pk = &m.pk;
    msgpack_pack_array(pk, 10);
    pk_u(pk, PROTO_VERSION);
    pk_u(pk, PROTO_STATS);
    pk_u(pk, 3);
    pk_u(pk, 17);
    msgpack_pack_true(pk);
    pk_u(pk, 50);
    msgpack_pack_array(pk, SB_NE);
    pk_endpoint0(pk, SD_NONE);
    pk_idle_endpoint(pk, SD_NONE);
    msgpack_pack_array(pk, 2);
    pk_error(pk, 0, STATS_FAIL_TIMEOUT, "timed out", 9, UINT64_MAX);
    pk_error(pk, 0, STATS_FAIL_TIMEOUT, "timed out", 9, 2);
    msgpack_pack_array(pk, STATS_CTR_LAST);
    for (int c = 0; c < STATS_CTR_LAST; c++)
        pk_u(pk, 0);
    msgpack_pack_array(pk, SB_NC);
    pk_u(pk, 0);
    pk_u(pk, 0);
    expect_bad_stats(m.sb.data, m.sb.size, SB_NE, SB_NC, true, NULL,
                     "error counts overflowing when merged");
    mp_free(&m);
}

/*  The timing breakdown and body bytes (wire 6): two workers' snapshots
 *  decoded into one set add up as stats_merge adds them, and a phase
 *  sample without a request (no request can have made it) is refused. */
static void stats_timing_merge_on_decode(void **state)
{
    (void)state;
    stats_t *a = make_stats(false), *b = make_stats(false);
    stats_xfer_t x = {.body_bytes = 5, .phases = 0x1f};
    for (int p = 0; p < STATS_PHASE_LAST; p++)
        x.phase_us[p] = 1000000 + (uint64_t)p;
    stats_record(b, 1, 200, 10, 10, 100, 10, false);
    stats_record_xfer(b, 1, &x);
    buf_t ea, eb;
    buf_init(&ea, BUF_LIMIT);
    buf_init(&eb, BUF_LIMIT);
    proto_snap_head_t h = {.run = 1, .seq = 1};
    assert_int_equal(proto_encode_stats(&h, a, &ea), HN_OK);
    assert_int_equal(proto_encode_stats(&h, b, &eb), HN_OK);
    stats_t *into = stats_new(3, 2, false);
    char err[HN_ERRLEN] = "";
    assert_int_equal(
        proto_check_stats(buf_str(&ea), buf_len(&ea), 3, 2, false, &h, err),
        HN_OK);
    proto_apply_stats(buf_str(&ea), buf_len(&ea), into);
    proto_apply_stats(buf_str(&eb), buf_len(&eb), into);
    stats_merge(a, b);
    const stats_endpoint_t *m1 = stats_endpoint(into, 1);
    assert_int_equal(m1->body_in, stats_endpoint(a, 1)->body_in);
    assert_int_equal(hist_count(m1->phase[STATS_PHASE_DNS]), 1);
    assert_int_equal(hist_count(m1->phase[STATS_PHASE_WAITING]), 35);
    assert_int_equal(hist_max(m1->phase[STATS_PHASE_RECEIVING]), 1000004);
    for (size_t i = 0; i < 3; i++)
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            assert_true(hist_equal(stats_endpoint(into, i)->phase[p],
                                   stats_endpoint(a, i)->phase[p]));
    /*  a sample on the idle endpoint 2, which has no request (nor bytes:
     *  body bytes above bytes_in are refused before) */
    x.body_bytes = 0;
    stats_record_xfer(b, 2, &x);
    buf_reset(&eb);
    assert_int_equal(proto_encode_stats(&h, b, &eb), HN_OK);
    expect_bad_stats(buf_str(&eb), buf_len(&eb), 3, 2, false, "dns histogram",
                     "a phase sample without a request");
    stats_destroy(&into);
    stats_destroy(&a);
    stats_destroy(&b);
    buf_free(&ea);
    buf_free(&eb);
}

static void stats_and_control_kept_apart(void **state)
{
    (void)state;
    stats_t *st = make_stats(true);
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_snap_head_t h = {.run = 1, .seq = 2};
    assert_int_equal(proto_encode_stats(&h, st, &b), HN_OK);
    stats_destroy(&st);
    /*  a real stats message given to proto_decode */
    char err[HN_ERRLEN] = "";
    uint8_t *copy = dup_exact(buf_str(&b), buf_len(&b));
    proto_msg_t m;
    assert_int_equal(proto_decode(copy, buf_len(&b), &m, err), HN_ERR_CORRUPT);
    assert_non_null(strstr(err, "proto_decode_stats"));
    free(copy);
    /*  every control message given to proto_decode_stats */
    buf_reset(&b);
    proto_hello_t hello = {.id = "w", .threads = 1};
    assert_int_equal(proto_encode_hello(&hello, &b), HN_OK);
    expect_bad_stats(buf_str(&b), buf_len(&b), 3, 2, true, "stats", "hello");
    buf_reset(&b);
    assert_int_equal(proto_encode_quit(&b), HN_OK);
    expect_bad_stats(buf_str(&b), buf_len(&b), 3, 2, true, "stats", "quit");
    buf_reset(&b);
    proto_ack_t ack = {.run = 1, .seq = 1};
    assert_int_equal(proto_encode_ack(&ack, &b), HN_OK);
    expect_bad_stats(buf_str(&b), buf_len(&b), 3, 2, true, "stats", "ack");
    /*  a control-shaped message typed PROTO_STATS */
    static const field_t f[] = {FU(PROTO_VERSION), FU(PROTO_STATS), FU(1),
                                FU(2)};
    fields_bad(f, NF(f), "proto_decode_stats", "ack fields typed stats");
    buf_free(&b);
}

/*  ---- seeds: valid encoded messages for truncation and fuzzing ---------- */

typedef struct {
    uint8_t *data;
    size_t len;
    bool stats;
    bool keep_raw;
} seed_t;

#define N_SEEDS 10

static void add_seed(seed_t *s, size_t *n, buf_t *b, bool stats, bool keep_raw)
{
    assert_true(*n < N_SEEDS);
    s[*n].data = dup_exact(buf_str(b), buf_len(b));
    s[*n].len = buf_len(b);
    s[*n].stats = stats;
    s[*n].keep_raw = keep_raw;
    (*n)++;
    buf_reset(b);
}

static size_t make_seeds(seed_t *s)
{
    size_t n = 0;
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    proto_hello_t hello = {.id = "worker-1",
                           .hostname = "h",
                           .pid = 99,
                           .threads = 4,
                           .version = "0.1.0"};
    assert_int_equal(proto_encode_hello(&hello, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    static const char bundle[] = "scenario\0data\0\x01\x02\xff bundle bytes";
    proto_welcome_t w = {.session = 77,
                         .bundle = bundle,
                         .bundle_len = sizeof bundle,
                         .host = "http://x",
                         .interval_ms = 1000,
                         .insecure = true};
    assert_int_equal(proto_encode_welcome(&w, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    proto_load_t l = {.run = 2,
                      .start_unix_ns = -12345,
                      .users = 30,
                      .spawn_rate = 2.5,
                      .rate = 100,
                      .max_inflight = 50,
                      .n_classes = 3,
                      .class_users = {10, 0, 20}};
    assert_int_equal(proto_encode_load(&l, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    proto_stop_t stop = {.run = 2, .stop_timeout_s = 5};
    assert_int_equal(proto_encode_stop(&stop, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    assert_int_equal(proto_encode_quit(&b), HN_OK);
    add_seed(s, &n, &b, false, false);
    proto_ack_t ack = {.run = 2, .seq = 9};
    assert_int_equal(proto_encode_ack(&ack, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    proto_heartbeat_t hb = {.session = 77, .state = 1, .users = 30, .cpu = 50};
    assert_int_equal(proto_encode_heartbeat(&hb, &b), HN_OK);
    add_seed(s, &n, &b, false, false);
    /*  small stats (the fuzz loop's staple) and the full fixture */
    proto_snap_head_t h = {.run = 2, .seq = 4, .final = false, .users = 30};
    for (int raw = 0; raw < 2; raw++) {
        stats_t *st = stats_new(3, 2, raw);
        stats_record(st, 0, 200, 1500, 1400, 100, 50, false);
        stats_record(st, 0, 0, 900000, 800000, 0, 50, true);
        stats_record(st, 2, 404, 20, 20, 10, 5, true);
        stats_record_error(st, 0, STATS_FAIL_TIMEOUT, "timed out", 1);
        stats_record_error(st, 2, STATS_FAIL_HTTP, "HTTP 404", 1);
        stats_count(st, STATS_CTR_ITERATIONS, 3);
        stats_bump(st, 1, 2);
        assert_int_equal(proto_encode_stats(&h, st, &b), HN_OK);
        add_seed(s, &n, &b, true, raw);
        stats_destroy(&st);
    }
    stats_t *st = make_stats(true);
    assert_int_equal(proto_encode_stats(&h, st, &b), HN_OK);
    add_seed(s, &n, &b, true, true);
    stats_destroy(&st);
    buf_free(&b);
    return n;
}

static void free_seeds(seed_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].data);
}

static void truncated_every_offset(void **state)
{
    (void)state;
    seed_t s[N_SEEDS];
    size_t n = make_seeds(s);
    for (size_t k = 0; k < n; k++) {
        char what[96];
        for (size_t cut = 0; cut < s[k].len; cut++) {
            snprintf(what, sizeof what, "seed %zu cut at %zu of %zu", k, cut,
                     s[k].len);
            if (s[k].stats)
                expect_bad_stats(s[k].data, cut, 3, 2, s[k].keep_raw, NULL,
                                 what);
            else
                expect_bad(s[k].data, cut, NULL, what);
            char err[HN_ERRLEN] = "";
            uint8_t *copy = dup_exact(s[k].data, cut);
            assert_int_equal(proto_peek_type(copy, cut, err), -1);
            assert_true(err[0] != '\0');
            free(copy);
        }
        /*  and the whole seed is valid */
        char err[HN_ERRLEN] = "";
        if (s[k].stats) {
            stats_t *st = NULL;
            proto_snap_head_t h;
            assert_int_equal(proto_decode_stats(s[k].data, s[k].len, 3, 2,
                                                s[k].keep_raw, &h, &st, err),
                             HN_OK);
            stats_destroy(&st);
        } else {
            proto_msg_t m;
            assert_int_equal(proto_decode(s[k].data, s[k].len, &m, err), HN_OK);
        }
    }
    free_seeds(s, n);
}

/*  ---- 4. fuzz ----------------------------------------------------------- */

/*  Walks the msgpack values in the order msgpack_unpack_next does and says
 *  false when an array or map header claims both more items than there are
 *  bytes left (each item takes at least one byte) and more than CLAIM_BIG.
 *  msgpack-c allocates the item array when it reads the header, before the
 *  items, so such an input makes it allocate count x sizeof(msgpack_object)
 *  for nothing: see huge_container_claim. A plain truncation (a header of
 *  a few items whose items are cut off) is harmless and still "fits". */
#define CLAIM_BIG ((uint64_t)1 << 17) /* 3 MB of msgpack_object */

static bool claims_fit(const uint8_t *p, size_t len)
{
    size_t pos = 0;
    uint64_t pending = 1;
    while (pending > 0 && pos < len) {
        uint8_t c = p[pos++];
        uint64_t items = 0, skip_n = 0;
        size_t lenbytes = 0;
        bool container = false, map = false;
        pending--;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /*  the whole value is the byte */
        } else if ((c & 0xf0) == 0x80) {
            container = map = true;
            items = c & 0x0f;
        } else if ((c & 0xf0) == 0x90) {
            container = true;
            items = c & 0x0f;
        } else if ((c & 0xe0) == 0xa0) {
            skip_n = c & 0x1f;
        } else {
            /* clang-format off */
            switch (c) {
            case 0xc1: return true;                       /* parse error */
            case 0xc4: case 0xd9: lenbytes = 1; break;    /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; skip_n = 1; break;   /* ext: + type */
            case 0xc8: lenbytes = 2; skip_n = 1; break;
            case 0xc9: lenbytes = 4; skip_n = 1; break;
            case 0xca: skip_n = 4; break;
            case 0xcb: skip_n = 8; break;
            case 0xcc: case 0xd0: skip_n = 1; break;
            case 0xcd: case 0xd1: skip_n = 2; break;
            case 0xce: case 0xd2: skip_n = 4; break;
            case 0xcf: case 0xd3: skip_n = 8; break;
            case 0xd4: skip_n = 2; break;                 /* fixext */
            case 0xd5: skip_n = 3; break;
            case 0xd6: skip_n = 5; break;
            case 0xd7: skip_n = 9; break;
            case 0xd8: skip_n = 17; break;
            case 0xdc: container = true; lenbytes = 2; break;
            case 0xdd: container = true; lenbytes = 4; break;
            case 0xde: container = map = true; lenbytes = 2; break;
            case 0xdf: container = map = true; lenbytes = 4; break;
            default: return true;
            }
            /* clang-format on */
        }
        if (lenbytes) {
            if (len - pos < lenbytes)
                return true; /* truncated */
            uint64_t v = 0;
            for (size_t k = 0; k < lenbytes; k++)
                v = v << 8 | p[pos++];
            if (container)
                items = v;
            else
                skip_n += v;
        }
        if (container) {
            uint64_t need = map ? 2 * items : items;
            if (need > len - pos && need > CLAIM_BIG)
                return false;
            pending += need;
        } else {
            if (skip_n > len - pos)
                return true; /* truncated */
            pos += skip_n;
        }
    }
    return true;
}

static void fuzz_check_control(const uint8_t *d, size_t n)
{
    char err[HN_ERRLEN];
    err[0] = '\0';
    int t = proto_peek_type(d, n, err);
    if (t == -1)
        assert_true(err[0] != '\0');
    else
        assert_true(t >= PROTO_HELLO && t < PROTO_TYPE_LAST);
    proto_msg_t m;
    err[0] = '\0';
    hn_err_t rc = proto_decode(d, n, &m, err);
    if (rc != HN_OK) {
        assert_int_equal(rc, HN_ERR_CORRUPT);
        assert_true(err[0] != '\0');
        return;
    }
    assert_int_equal(m.type, t);
    assert_true(m.type != PROTO_STATS);
    switch (m.type) {
    case PROTO_HELLO:
        assert_true(m.u.hello.id[0] &&
                    strlen(m.u.hello.id) < sizeof m.u.hello.id);
        assert_true(m.u.hello.threads >= 1 && m.u.hello.threads <= 4096);
        break;
    case PROTO_WELCOME:
        if (m.u.welcome.bundle_len) {
            const uint8_t *bundle = (const uint8_t *)m.u.welcome.bundle;
            assert_true(bundle >= d &&
                        bundle + m.u.welcome.bundle_len <= d + n);
        }
        assert_true(m.u.welcome.interval_ms >= 10 &&
                    m.u.welcome.interval_ms <= 60000);
        break;
    case PROTO_LOAD:
        assert_true(m.u.load.n_classes <= 64);
        assert_true(isfinite(m.u.load.spawn_rate) && isfinite(m.u.load.rate));
        break;
    case PROTO_HEARTBEAT:
        assert_true(m.u.heartbeat.state <= PROTO_W_LEAVING);
        assert_true(m.u.heartbeat.rss_bytes <= (uint64_t)1 << 48);
        break;
    default: break;
    }
}

static void fuzz_check_stats(const uint8_t *d, size_t n, bool keep_raw,
                             size_t *n_ok)
{
    char err[HN_ERRLEN];
    int dummy;
    stats_t *st = (stats_t *)&dummy;
    proto_snap_head_t h;
    err[0] = '\0';
    hn_err_t rc = proto_decode_stats(d, n, 3, 2, keep_raw, &h, &st, err);
    if (rc != HN_OK) {
        assert_int_equal(rc, HN_ERR_CORRUPT);
        assert_null(st);
        assert_true(err[0] != '\0');
        return;
    }
    assert_non_null(st);
    (*n_ok)++;
    assert_int_equal(stats_n_endpoints(st), 3);
    assert_int_equal(stats_n_named(st), 2);
    for (size_t i = 0; i < 3; i++) {
        const stats_endpoint_t *e = stats_endpoint(st, i);
        assert_true(e->failures <= e->requests);
        assert_int_equal(hist_count(e->latency), e->requests);
        if (keep_raw && e->requests)
            assert_int_equal(hist_count(e->latency_raw), e->requests);
    }
    for (size_t i = 0; i < stats_n_errors(st); i++) {
        const stats_error_t *e = stats_error(st, i);
        assert_true(e->endpoint < 3 && e->kind < STATS_FAIL_LAST);
        assert_true(strlen(e->message) < STATS_ERRMSG_MAX);
    }
    stats_destroy(&st);
    assert_null(st);
}

#define FUZZ_N 20000

static void fuzz_mutations(void **state)
{
    (void)state;
    seed_t s[N_SEEDS];
    size_t ns = make_seeds(s);
    size_t maxlen = 0;
    for (size_t k = 0; k < ns; k++)
        if (s[k].len > maxlen)
            maxlen = s[k].len;
    size_t cap = maxlen + 64;
    uint8_t *work = malloc(cap);
    assert_non_null(work);
    static const uint8_t special[] = {
        0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
        0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xca, 0xcb, 0xcc, 0xcd, 0xce,
        0xcf, 0xd0, 0xd3, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    util_rng_t r;
    util_rng_seed(&r, 0x70726f746fULL);
    size_t fed = 0, skipped = 0, ok_stats = 0;
    for (uint64_t iter = 0; fed < FUZZ_N; iter++) {
        /*  the small stats seeds are fed most, the big fixture rarely */
        size_t k = iter % 16;
        k = k < 7 ? k : k < 15 ? 7 + k % 2 : 9;
        size_t n = s[k].len;
        memcpy(work, s[k].data, n);
        int muts = 1 + (int)(util_rng_next(&r) % 4);
        for (int j = 0; j < muts; j++) {
            size_t pos;
            switch (util_rng_next(&r) % 6) {
            case 0:
            case 1: /* flip bits */
                if (n)
                    work[util_rng_next(&r) % n] ^=
                        (uint8_t)(1 + util_rng_next(&r) % 255);
                break;
            case 2: /* a msgpack tag */
                if (n)
                    work[util_rng_next(&r) % n] =
                        special[util_rng_next(&r) % NF(special)];
                break;
            case 3: /* insert a byte */
                if (n < cap) {
                    pos = util_rng_next(&r) % (n + 1);
                    memmove(work + pos + 1, work + pos, n - pos);
                    work[pos] = (uint8_t)util_rng_next(&r);
                    n++;
                }
                break;
            case 4: /* delete a byte */
                if (n) {
                    pos = util_rng_next(&r) % n;
                    memmove(work + pos, work + pos + 1, n - pos - 1);
                    n--;
                }
                break;
            default: /* truncate */
                if (n)
                    n = util_rng_next(&r) % n;
                break;
            }
        }
        if (!claims_fit(work, n))
            skipped++; /* counted: these exercise the decoder's pre-scan */
        fed++;
        uint8_t *exact = dup_exact(work, n);
        fuzz_check_control(exact, n);
        fuzz_check_stats(exact, n, true, &ok_stats);
        fuzz_check_stats(exact, n, false, &ok_stats);
        free(exact);
    }
    print_message("fuzz: %d inputs fed, %zu skipped (huge container claims), "
                  "%zu stats decodes succeeded\n",
                  FUZZ_N, skipped, ok_stats);
    free(work);
    free_seeds(s, ns);
}

/*  Fixed (was a bug): wire_open hands the frame to msgpack_unpack_next, which allocates
 *  count x sizeof(msgpack_object) (24 bytes, rounded up to a power of two
 *  by the zone) as soon as it reads an array or map header, before
 *  checking that the items are there. So the 8-byte frame
 *  93 01 01 dd 05 00 00 00 ([1, 1, <array32 of 83,886,080 items>]) makes
 *  proto_decode (and proto_peek_type, proto_decode_stats) allocate 2 GB
 *  before failing with "truncated msgpack"; with a count of 0xffffffff
 *  (dd ff ff ff ff) it asks for ~128 GB: a normal build gets NULL and
 *  returns HN_ERR_CORRUPT, the ASan build aborts ("allocator is out of
 *  memory"). Expected: HN_ERR_CORRUPT without allocating more than the
 *  frame justifies (each item takes at least one byte, so a container may
 *  claim at most len - offset items); actual: a 2 GB allocation (VmPeak
 *  grows by 2 GB), and an abort under ASan for bigger claims. The fuzz
 *  loop steers around such inputs (claims_fit). */
static size_t vm_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmPeak:", 7) == 0)
            kb = strtoull(line + 7, NULL, 10);
    fclose(f);
    return kb;
}

static void huge_container_claim(void **state)
{
    (void)state;
    static const uint8_t msg[] = {0x93, 0x01, 0x01, 0xdd,
                                  0x05, 0x00, 0x00, 0x00};
    assert_false(claims_fit(msg, sizeof msg));
    size_t before = vm_peak_kb();
    if (!before)
        skip();
    uint8_t *copy = dup_exact(msg, sizeof msg);
    proto_msg_t m;
    char err[HN_ERRLEN] = "";
    assert_int_equal(proto_decode(copy, sizeof msg, &m, err), HN_ERR_CORRUPT);
    assert_true(err[0] != '\0');
    size_t grew_kb = vm_peak_kb() - before;
    free(copy);
    if (grew_kb > 64 * 1024)
        fail_msg("an 8-byte frame raised VmPeak by %zu MB", grew_kb / 1024);
}

/*  ---- 5. size limit ----------------------------------------------------- */

static void size_limit(void **state)
{
    (void)state;
    /*  PROTO_MAX_MSG + 1 zero bytes from calloc: fresh mmap'ed pages, not
     *  touched unless the decoder reads them. A valid quit at the start,
     *  so the only thing wrong with the whole buffer is its size (plus
     *  trailing zero bytes, which is what len == PROTO_MAX_MSG shows). */
    uint8_t *big = calloc(1, PROTO_MAX_MSG + 1);
    if (!big)
        skip();
    buf_t b;
    buf_init(&b, BUF_LIMIT);
    assert_int_equal(proto_encode_quit(&b), HN_OK);
    memcpy(big, buf_str(&b), buf_len(&b));
    proto_msg_t m;
    char err[HN_ERRLEN] = "";
    assert_int_equal(proto_decode(big, PROTO_MAX_MSG + 1, &m, err),
                     HN_ERR_CORRUPT);
    if (!strstr(err, "limit"))
        fail_msg("over the limit: err \"%s\"", err);
    err[0] = '\0';
    assert_int_equal(proto_peek_type(big, PROTO_MAX_MSG + 1, err), -1);
    assert_non_null(strstr(err, "limit"));
    int dummy;
    stats_t *st = (stats_t *)&dummy;
    proto_snap_head_t h;
    err[0] = '\0';
    assert_int_equal(
        proto_decode_stats(big, PROTO_MAX_MSG + 1, 3, 2, true, &h, &st, err),
        HN_ERR_CORRUPT);
    assert_null(st);
    assert_non_null(strstr(err, "limit"));
    /*  exactly at the limit: not refused for its size (only for the
     *  trailing zeros), and the decoder stops after the message */
    err[0] = '\0';
    assert_int_equal(proto_decode(big, PROTO_MAX_MSG, &m, err), HN_ERR_CORRUPT);
    if (strstr(err, "limit"))
        fail_msg("at the limit: err \"%s\"", err);
    assert_true(err[0] != '\0');
    /*  and the quit alone is fine */
    assert_int_equal(proto_decode(big, buf_len(&b), &m, err), HN_OK);
    assert_int_equal(m.type, PROTO_QUIT);
    buf_free(&b);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_hello),
        cmocka_unit_test(round_trip_profile),
        cmocka_unit_test(round_trip_refuse),
        cmocka_unit_test(round_trip_welcome),
        cmocka_unit_test(round_trip_load),
        cmocka_unit_test(round_trip_stop_quit_ack),
        cmocka_unit_test(round_trip_heartbeat),
        cmocka_unit_test(round_trip_goodbye),
        cmocka_unit_test(bad_goodbye_and_heartbeat_v6),
        cmocka_unit_test(stats_round_trip_raw),
        cmocka_unit_test(stats_round_trip_no_raw),
        cmocka_unit_test(stats_round_trip_edge_shapes),
        cmocka_unit_test(bad_framing),
        cmocka_unit_test(bad_field_counts),
        cmocka_unit_test(bad_field_types),
        cmocka_unit_test(bad_field_ranges),
        cmocka_unit_test(hello_empty_id),
        cmocka_unit_test(bad_stats),
        cmocka_unit_test(stats_error_count_overflow),
        cmocka_unit_test(stats_timing_merge_on_decode),
        cmocka_unit_test(stats_and_control_kept_apart),
        cmocka_unit_test(truncated_every_offset),
        cmocka_unit_test(fuzz_mutations),
        cmocka_unit_test(huge_container_claim),
        cmocka_unit_test(size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
