/* gzip: see gzip.h. */
#include "gzip.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

/* Window bits: 15 (the largest window) plus 16 for the gzip wrapper. */
#define GZIP_WINDOW (15 + 16)

static int fail(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
    return -1;
}

int gzip_compress(const void *in, size_t len, int level, unsigned char **out, size_t *out_len,
                  char *err, size_t errlen)
{
    z_stream z = {0};
    unsigned char *buf = NULL;
    uLong cap;
    int rc = -1;

    *out = NULL;
    if ((uLong)len != len || (uInt)len != len)
        return fail(err, errlen, "gzip: input too large");
    if (deflateInit2(&z, level, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fail(err, errlen, "gzip: cannot start compressing");
    cap = deflateBound(&z, (uLong)len);
    if (!(buf = malloc(cap))) {
        fail(err, errlen, "out of memory");
        goto done;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        fail(err, errlen, "gzip: compression failed");
        goto done;
    }
    *out = buf;
    *out_len = z.total_out;
    buf = NULL;
    rc = 0;
done:
    deflateEnd(&z);
    free(buf);
    return rc;
}

int gzip_decompress(const void *in, size_t len, size_t max, unsigned char **out, size_t *out_len,
                    char *err, size_t errlen)
{
    z_stream z = {0};
    unsigned char *buf = NULL;
    size_t cap = len * 4 + 1024, used = 0;
    int zrc = Z_OK, rc = -1;

    *out = NULL;
    if ((uInt)len != len)
        return fail(err, errlen, "gzip: input too large");
    if (cap > max + 1)
        cap = max + 1;
    if (inflateInit2(&z, GZIP_WINDOW) != Z_OK)
        return fail(err, errlen, "gzip: cannot start decompressing");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (zrc != Z_STREAM_END) {
        if (!buf) {
            if (!(buf = malloc(cap))) {
                fail(err, errlen, "out of memory");
                goto done;
            }
        } else if (used + 1 >= cap) {
            unsigned char *bigger;
            if (cap >= max + 1) {
                if (err && errlen)
                    snprintf(err, errlen, "larger than %zu bytes once decompressed", max);
                goto done;
            }
            cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            if (!(bigger = realloc(buf, cap))) {
                fail(err, errlen, "out of memory");
                goto done;
            }
            buf = bigger;
        }
        z.next_out = buf + used;
        z.avail_out = (uInt)(cap - 1 - used);
        zrc = inflate(&z, Z_NO_FLUSH);
        used = z.total_out;
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            if (err && errlen)
                snprintf(err, errlen, "corrupt gzip data: %s", z.msg ? z.msg : "bad stream");
            goto done;
        }
        if (zrc != Z_STREAM_END && z.avail_in == 0 && z.avail_out > 0) {
            fail(err, errlen, "corrupt gzip data: truncated");
            goto done;
        }
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    buf = NULL;
    rc = 0;
done:
    inflateEnd(&z);
    free(buf);
    return rc;
}
