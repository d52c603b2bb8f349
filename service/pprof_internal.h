/* pprof_internal: what the files of the pprof module share. pprof.c builds profiles
 * and encodes them (string table, locations, functions, the Profile message);
 * pprof_wire.c is the protobuf wire format it writes with; pprof_mappings.c finds the
 * loaded objects a profile's addresses belong to and writes their Mapping messages;
 * pprof_text.c is the legacy text layout. Only service/pprof*.c include this. */
#ifndef ORDERD_PPROF_INTERNAL_H
#define ORDERD_PPROF_INTERNAL_H

#include "pprof.h"

#include <stddef.h>
#include <stdint.h>

enum {
    PPROF_MAX_TYPES = 8,
    PPROF_MAX_DEPTH = 256,
    PPROF_MAX_SAMPLES = 1 << 20,
    PPROF_MAX_PCS = 1 << 22,        /* over all samples */
    PPROF_NAME_MAX = 256,
    PPROF_FILE_MAX = 512,
};

/* Field numbers of github.com/google/pprof/proto/profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILE_OFFSET = 4,
    MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* Grows *array (of elem-sized items, capacity *cap) to hold at least need items.
 * Returns 0, or -1 out of memory with *array unchanged. */
int pprof_grow(void **array, size_t *cap, size_t need, size_t elem);

/* ---- the output buffer: appends are no-ops once one has failed ---- */

struct pbuf {
    unsigned char *data;
    size_t len, cap;
    int failed;
};

/* The wire format (pprof_wire.c). Each appends to b; _opt leaves a zero value out,
 * as proto3 and Go's encoder do. */
void pprof_pb_varint(struct pbuf *b, uint64_t x);
void pprof_pb_uint64(struct pbuf *b, int field, uint64_t x);
void pprof_pb_uint64_opt(struct pbuf *b, int field, uint64_t x);
void pprof_pb_int64_opt(struct pbuf *b, int field, int64_t x);
void pprof_pb_bytes(struct pbuf *b, int field, const void *data, size_t len);
void pprof_pb_packed(struct pbuf *b, int field, const uint64_t *x, size_t n);
/* Begins a nested message (or packed field): returns where its body starts. */
size_t pprof_pb_start(const struct pbuf *b);
/* Closes the message (or packed field) begun at start: moves its body up and puts
 * the tag and length in front, so no size is computed twice. */
void pprof_pb_end(struct pbuf *b, int field, size_t start);

#define PPROF_MAX_MAPPINGS 256
#define BUILD_ID_MAX 64    /* bytes; GNU build IDs are 20 */

struct mapping {
    uintptr_t start, limit, file_offset;
    char file[PPROF_FILE_MAX];
    char build_id[2 * BUILD_ID_MAX + 1];   /* hex, "" when none */
    int64_t file_index, build_id_index;
    int locations, named, with_files, with_lines;
};


/* The executable segments of every loaded object, the program first, into a calloc'd
 * array of *n (at most PPROF_MAX_MAPPINGS) the caller frees; the string indices and
 * counts are left zero. Returns 0, or -1 out of memory. */
int pprof_mappings_collect(struct mapping **mappings, size_t *n);
/* The id (index + 1) of the mapping holding addr, or 0. */
uint64_t pprof_mapping_for(const struct mapping *mappings, size_t n, uintptr_t addr);
/* Writes m as Profile.mapping with the given id. */
void pprof_mapping_write(struct pbuf *b, const struct mapping *m, uint64_t id);

#endif
