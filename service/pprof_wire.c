/* pprof_wire: the protobuf wire format a profile.proto is written in: varints,
 * length-delimited fields, packed repeated fields, and nested messages written body
 * first with the tag and length inserted in front afterwards (as Go's runtime/pprof
 * does). Kept apart because it knows nothing of profiles, only of protobuf; the
 * buffer stops growing at PPROF_MAX_ENCODED and then ignores every append. */
#include "pprof_internal.h"

#include <string.h>

#define PPROF_MAX_ENCODED ((size_t)256 << 20)

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

static int pbuf_reserve(struct pbuf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more > PPROF_MAX_ENCODED - b->len ||
        pprof_grow((void **)&b->data, &b->cap, b->len + more, 1) < 0) {
        b->failed = 1;
        return -1;
    }
    return 0;
}

static size_t varint_put(unsigned char *out, uint64_t x)
{
    size_t n = 0;

    while (x >= 0x80) {
        out[n++] = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    out[n++] = (unsigned char)x;
    return n;
}

void pprof_pb_varint(struct pbuf *b, uint64_t x)
{
    if (pbuf_reserve(b, 10) == 0)
        b->len += varint_put(b->data + b->len, x);
}

void pprof_pb_uint64(struct pbuf *b, int field, uint64_t x)
{
    pprof_pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
    pprof_pb_varint(b, x);
}

void pprof_pb_uint64_opt(struct pbuf *b, int field, uint64_t x)
{
    if (x != 0)
        pprof_pb_uint64(b, field, x);
}

void pprof_pb_int64_opt(struct pbuf *b, int field, int64_t x)
{
    pprof_pb_uint64_opt(b, field, (uint64_t)x);
}

void pprof_pb_bytes(struct pbuf *b, int field, const void *data, size_t len)
{
    pprof_pb_varint(b, (uint64_t)field << 3 | WIRE_BYTES);
    pprof_pb_varint(b, len);
    if (len > 0 && pbuf_reserve(b, len) == 0) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
}

size_t pprof_pb_start(const struct pbuf *b)
{
    return b->len;
}

void pprof_pb_end(struct pbuf *b, int field, size_t start)
{
    unsigned char header[20];
    size_t body = b->len - start;
    size_t n;

    if (b->failed)
        return;
    n = varint_put(header, (uint64_t)field << 3 | WIRE_BYTES);
    n += varint_put(header + n, body);
    if (pbuf_reserve(b, n) < 0)
        return;
    memmove(b->data + start + n, b->data + start, body);
    memcpy(b->data + start, header, n);
    b->len += n;
}

void pprof_pb_packed(struct pbuf *b, int field, const uint64_t *x, size_t n)
{
    size_t start;

    if (n == 0)
        return;
    start = pprof_pb_start(b);
    for (size_t i = 0; i < n; i++)
        pprof_pb_varint(b, x[i]);
    pprof_pb_end(b, field, start);
}
