/* gzip: whole-buffer gzip compression and bounded decompression over zlib.
 *
 * Three places needed it (orderd's profile.proto answers, loadlab's stored evidence,
 * the tests' profile decoder); one module so the bound on what a decompression may
 * grow to, and the check for a truncated stream, are written once. */
#ifndef LOADLAB_GZIP_H
#define LOADLAB_GZIP_H

#include <stddef.h>

/* Compression levels worth choosing between: Go serves profiles at the fastest level;
 * evidence kept in a database is written once and read rarely, so it takes the best. */
#define GZIP_FASTEST 1
#define GZIP_SMALLEST 9

/* Compresses in[0..len) into a gzip stream (not zlib's wrapper) at level 1..9.
 * On success *out is a malloc'd buffer the caller frees and *out_len its length;
 * returns 0. Returns -1 with err filled (when non-NULL) and *out NULL on failure. */
int gzip_compress(const void *in, size_t len, int level, unsigned char **out, size_t *out_len,
                  char *err, size_t errlen);

/* Decompresses one gzip stream of len bytes that must come to at most max bytes.
 * On success *out is a malloc'd buffer with a NUL after its *out_len bytes (so text
 * can be read as a string), owned by the caller; returns 0. Returns -1 with err filled
 * ("larger than N bytes once decompressed", "corrupt gzip data: ...", "truncated") and
 * *out NULL on failure. */
int gzip_decompress(const void *in, size_t len, size_t max, unsigned char **out, size_t *out_len,
                    char *err, size_t errlen);

#endif
