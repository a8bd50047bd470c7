/*  tests/fuzz/h1_response.c - libFuzzer target: the native path's
 *  response parser (worker/h1.c h1_resp_*), bytes in -> outcome. The
 *  first byte picks the request shape (HEAD or not, which headers and
 *  body are kept, with small limits so truncation is reached) and the
 *  size of the pieces the rest is fed in, as reads of any size deliver
 *  it; the input is then fed again in one piece. Never a crash, and the
 *  same outcome (state, status, sizes, bytes used) however it is split.
 *  Built by `make fuzz-bins` as build/fuzz/fuzz_h1_response, corpus in
 *  tests/fuzz/corpus/h1_response/. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

typedef struct {
    h1_resp_state_t st;
    int status;
    uint64_t header_size, body_bytes, fed;
    bool keep_alive, truncated;
    size_t used;              /* bytes that belonged to the response */
    size_t hdr_len, body_len; /* what was kept */
} outcome_t;

static void run(const char *p, size_t len, size_t piece, uint8_t flags,
                outcome_t *o)
{
    buf_t hb, bb;
    buf_init(&hb, 512);
    buf_init(&bb, 256);
    h1_resp_t r;
    h1_resp_begin(&r, flags & 1, (flags & 4) ? &hb : NULL, (flags & 2) != 0,
                  (flags & 8) ? &bb : NULL);
    memset(o, 0, sizeof *o);
    o->st = H1_RESP_MORE;
    size_t off = 0;
    while (off < len && o->st == H1_RESP_MORE) {
        size_t n = piece && len - off > piece ? piece : len - off;
        size_t used = 0;
        o->st = h1_resp_feed(&r, p + off, n, &used);
        if (used > n)
            __builtin_trap(); /* more used than given */
        off += used;
        o->used = off;
        if (o->st == H1_RESP_MORE && used != n)
            __builtin_trap(); /* a piece left half-read without a verdict */
    }
    if (o->st == H1_RESP_MORE)
        o->st = h1_resp_eof(&r);
    if (o->st == H1_RESP_BAD && !h1_resp_error(&r))
        __builtin_trap();
    o->status = r.status;
    o->header_size = r.header_size;
    o->body_bytes = r.body_bytes;
    o->fed = r.fed;
    o->keep_alive = o->st == H1_RESP_DONE && r.keep_alive;
    o->truncated = r.body_truncated;
    o->hdr_len = buf_len(&hb);
    o->body_len = buf_len(&bb);
    if (o->body_len > 256 || o->hdr_len > 512)
        __builtin_trap(); /* past the limits */
    buf_free(&hb);
    buf_free(&bb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1)
        return 0;
    uint8_t flags = data[0];
    const char *p = (const char *)data + 1;
    len--;
    outcome_t split, whole;
    run(p, len, (size_t)(flags >> 4), flags, &split);
    run(p, len, 0, flags, &whole);
    if (split.st != whole.st || split.status != whole.status ||
        split.used != whole.used || split.body_bytes != whole.body_bytes ||
        split.keep_alive != whole.keep_alive ||
        (split.st == H1_RESP_DONE &&
         (split.header_size != whole.header_size ||
          split.hdr_len != whole.hdr_len || split.body_len != whole.body_len)))
        __builtin_trap(); /* the outcome depends on how reads split it */
    return 0;
}
