/* A GGUF writer for tests: builds files in memory and records where every field landed. */
#ifndef BN_TESTS_GGUF_BUILDER_H
#define BN_TESTS_GGUF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; values are written little-endian. */
typedef struct gb_buf {
    uint8_t *p;
    size_t n, cap;
} gb_buf;

void gbuf_bytes(gb_buf *b, const void *p, size_t n);
void gbuf_u8(gb_buf *b, uint8_t v);
void gbuf_u16(gb_buf *b, uint16_t v);
void gbuf_u32(gb_buf *b, uint32_t v);
void gbuf_u64(gb_buf *b, uint64_t v);
void gbuf_str(gb_buf *b, const char *s);               /* u64 length + bytes */
void gbuf_strn(gb_buf *b, const char *s, size_t len);  /* may hold NULs */
void gbuf_free(gb_buf *b);

#define GB_MAX 512

typedef struct gb_kv {
    char *key;
    size_t key_len;
    uint32_t type;
    gb_buf val;    /* the value's bytes exactly as in the file */
} gb_kv;

typedef struct gb_tensor {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[4];
    uint8_t *data;
    uint64_t n_bytes;
} gb_tensor;

typedef struct gguf_builder {
    uint32_t version;     /* 3 */
    uint64_t alignment;   /* layout alignment, 32; general.alignment is an ordinary kv */
    int n_kv, n_tensors;
    gb_kv kv[GB_MAX];
    gb_tensor t[GB_MAX];
} gguf_builder;

/* File offsets of every field of a built file. */
typedef struct gb_layout {
    size_t version_at, n_tensors_at, n_kv_at;
    size_t kv_at[GB_MAX];        /* the key's length field */
    size_t kv_type_at[GB_MAX];
    size_t kv_value_at[GB_MAX];  /* string: its length; array: element type, then count at +4 */
    size_t t_at[GB_MAX];         /* the name's length field */
    size_t t_ndims_at[GB_MAX], t_ne_at[GB_MAX], t_type_at[GB_MAX], t_offset_at[GB_MAX];
    size_t header_end, data_at;
    uint64_t t_off[GB_MAX];      /* from data_at */
} gb_layout;

void gb_init(gguf_builder *b);
void gb_free(gguf_builder *b);

/* A value given as its raw file bytes (for nested arrays and broken values). */
void gb_kv_raw(gguf_builder *b, const char *key, size_t key_len, uint32_t type, const void *val, size_t n);
void gb_u8(gguf_builder *b, const char *key, uint8_t v);
void gb_i8(gguf_builder *b, const char *key, int8_t v);
void gb_u16(gguf_builder *b, const char *key, uint16_t v);
void gb_i16(gguf_builder *b, const char *key, int16_t v);
void gb_u32(gguf_builder *b, const char *key, uint32_t v);
void gb_i32(gguf_builder *b, const char *key, int32_t v);
void gb_f32(gguf_builder *b, const char *key, float v);
void gb_bool(gguf_builder *b, const char *key, uint8_t v);
void gb_u64(gguf_builder *b, const char *key, uint64_t v);
void gb_i64(gguf_builder *b, const char *key, int64_t v);
void gb_f64(gguf_builder *b, const char *key, double v);
void gb_str(gguf_builder *b, const char *key, const char *s);
/* An array of fixed-size elements: elem_size bytes each, host order (little-endian). */
void gb_arr(gguf_builder *b, const char *key, uint32_t elem_type, const void *elems, size_t elem_size, uint64_t n);
void gb_arr_str(gguf_builder *b, const char *key, const char *const *strs, uint64_t n);

/* data NULL: filled with gb_pattern(tensor index, byte). */
void gb_tensor_add(gguf_builder *b, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne,
                   uint64_t n_bytes, const void *data);
uint8_t gb_pattern(int tensor, uint64_t byte);

/* The file; malloc'd, the caller frees it. layout may be NULL. */
uint8_t *gb_build(const gguf_builder *b, size_t *size, gb_layout *layout);

/* Little-endian patching of a built file. */
void gb_put_u32(uint8_t *file, size_t at, uint32_t v);
void gb_put_u64(uint8_t *file, size_t at, uint64_t v);

#endif
