/* A strict GGUF (v2, v3) reader: everything is validated before it is trusted. */
#ifndef BN_LIB_GGUF_H
#define BN_LIB_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

enum bn_gguf_vtype {
    BN_GGUF_UINT8 = 0, BN_GGUF_INT8 = 1, BN_GGUF_UINT16 = 2, BN_GGUF_INT16 = 3,
    BN_GGUF_UINT32 = 4, BN_GGUF_INT32 = 5, BN_GGUF_FLOAT32 = 6, BN_GGUF_BOOL = 7,
    BN_GGUF_STRING = 8, BN_GGUF_ARRAY = 9, BN_GGUF_UINT64 = 10, BN_GGUF_INT64 = 11,
    BN_GGUF_FLOAT64 = 12,
};

/* A string inside the file: not NUL-terminated. */
typedef struct bn_gguf_str {
    const char *ptr;
    uint64_t len;
} bn_gguf_str;

typedef struct bn_gguf_kv {
    const char *key;      /* NUL-terminated copy */
    uint32_t type;        /* enum bn_gguf_vtype */
    union {
        uint64_t u;       /* unsigned integers and bool */
        int64_t i;        /* signed integers */
        double f;         /* floats */
        bn_gguf_str s;    /* strings */
        struct {
            uint32_t type;       /* element type (may itself be ARRAY) */
            uint64_t n;          /* element count */
            const uint8_t *data; /* first element in the file */
            uint64_t n_bytes;    /* bytes the elements occupy */
        } arr;
    } v;
} bn_gguf_kv;

typedef struct bn_gguf_tensor {
    const char *name;     /* NUL-terminated copy */
    uint32_t type;        /* ggml type number (lib/ggml_types.h) */
    uint32_t n_dims;
    uint64_t ne[4];       /* unused dims are 1 */
    uint64_t offset;      /* from the start of the data section */
    uint64_t n_bytes;
    const uint8_t *data;  /* inside the mapped/read file */
} bn_gguf_tensor;

typedef struct bn_gguf bn_gguf;

/* Opens and validates a file (mmap, or read() when use_mmap is 0 or mapping fails). */
bn_status bn_gguf_open(const char *path, int use_mmap, bn_gguf **out);
/* Validates a buffer in memory (not copied: it must outlive the handle). */
bn_status bn_gguf_open_memory(const void *data, size_t size, bn_gguf **out);
void bn_gguf_close(bn_gguf *g);

uint32_t bn_gguf_version(const bn_gguf *g);
uint64_t bn_gguf_alignment(const bn_gguf *g);
const uint8_t *bn_gguf_base(const bn_gguf *g);  /* start of the file image */
uint64_t bn_gguf_size(const bn_gguf *g);
int bn_gguf_is_mapped(const bn_gguf *g);

int64_t bn_gguf_n_kv(const bn_gguf *g);
const bn_gguf_kv *bn_gguf_kv_at(const bn_gguf *g, int64_t i);
const bn_gguf_kv *bn_gguf_find(const bn_gguf *g, const char *key);  /* NULL if absent */

int64_t bn_gguf_n_tensors(const bn_gguf *g);
const bn_gguf_tensor *bn_gguf_tensor_at(const bn_gguf *g, int64_t i);
const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name);  /* NULL if absent */
/* A name or string from a file, for a message: cut to cap - 1 bytes with
 * "..." and non-printable bytes as '?', since the file may be hostile. */
void bn_gguf_describe(char *dst, size_t cap, const void *str, uint64_t len);

/* Typed getters; each fails with bn_fail() naming the key: BN_E_NOT_FOUND or BN_E_TYPE. */
bn_status bn_gguf_get_int(const bn_gguf *g, const char *key, int64_t *out);   /* any integer or bool */
bn_status bn_gguf_get_float(const bn_gguf *g, const char *key, double *out);  /* float32/64 or integer */
bn_status bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out);
/* An array of the given element type; *data points at the first element. */
bn_status bn_gguf_get_arr(const bn_gguf *g, const char *key, uint32_t elem_type, const uint8_t **data, uint64_t *n);

/* Walks a string array: element i's string, given the array's data. The array
 * was validated at open, so this cannot run past the file; O(1) after the first
 * call because the reader indexes string arrays at open. */
bn_gguf_str bn_gguf_arr_str(const bn_gguf *g, const bn_gguf_kv *kv, uint64_t i);

#endif
