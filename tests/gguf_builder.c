/* The test GGUF writer: kvs and tensors serialised exactly as the format lays them out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_builder.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "gguf_builder: out of memory\n");
        abort();
    }
    return q;
}

void gbuf_bytes(gb_buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

void gbuf_u8(gb_buf *b, uint8_t v) { gbuf_bytes(b, &v, 1); }

void gbuf_u16(gb_buf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    gbuf_bytes(b, x, 2);
}

void gbuf_u32(gb_buf *b, uint32_t v)
{
    gbuf_u16(b, (uint16_t)v);
    gbuf_u16(b, (uint16_t)(v >> 16));
}

void gbuf_u64(gb_buf *b, uint64_t v)
{
    gbuf_u32(b, (uint32_t)v);
    gbuf_u32(b, (uint32_t)(v >> 32));
}

void gbuf_strn(gb_buf *b, const char *s, size_t len)
{
    gbuf_u64(b, len);
    gbuf_bytes(b, s, len);
}

void gbuf_str(gb_buf *b, const char *s) { gbuf_strn(b, s, strlen(s)); }

void gbuf_free(gb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void gb_init(gguf_builder *b)
{
    memset(b, 0, sizeof *b);
    b->version = 3;
    b->alignment = 32;
}

void gb_free(gguf_builder *b)
{
    for (int i = 0; i < b->n_kv; i++) {
        free(b->kv[i].key);
        gbuf_free(&b->kv[i].val);
    }
    for (int i = 0; i < b->n_tensors; i++) {
        free(b->t[i].name);
        free(b->t[i].data);
    }
    memset(b, 0, sizeof *b);
}

void gb_kv_raw(gguf_builder *b, const char *key, size_t key_len, uint32_t type, const void *val, size_t n)
{
    if (b->n_kv == GB_MAX)
        abort();
    gb_kv *kv = &b->kv[b->n_kv++];
    memset(kv, 0, sizeof *kv);
    kv->key = xrealloc(NULL, key_len);
    memcpy(kv->key, key, key_len);
    kv->key_len = key_len;
    kv->type = type;
    gbuf_bytes(&kv->val, val, n);
}

static void scalar(gguf_builder *b, const char *key, uint32_t type, uint64_t bits, size_t n)
{
    gb_buf v = { 0 };
    for (size_t i = 0; i < n; i++)
        gbuf_u8(&v, (uint8_t)(bits >> (8 * i)));
    gb_kv_raw(b, key, strlen(key), type, v.p, v.n);
    gbuf_free(&v);
}

void gb_u8(gguf_builder *b, const char *key, uint8_t v) { scalar(b, key, 0, v, 1); }
void gb_i8(gguf_builder *b, const char *key, int8_t v) { scalar(b, key, 1, (uint8_t)v, 1); }
void gb_u16(gguf_builder *b, const char *key, uint16_t v) { scalar(b, key, 2, v, 2); }
void gb_i16(gguf_builder *b, const char *key, int16_t v) { scalar(b, key, 3, (uint16_t)v, 2); }
void gb_u32(gguf_builder *b, const char *key, uint32_t v) { scalar(b, key, 4, v, 4); }
void gb_i32(gguf_builder *b, const char *key, int32_t v) { scalar(b, key, 5, (uint32_t)v, 4); }
void gb_bool(gguf_builder *b, const char *key, uint8_t v) { scalar(b, key, 7, v, 1); }
void gb_u64(gguf_builder *b, const char *key, uint64_t v) { scalar(b, key, 10, v, 8); }
void gb_i64(gguf_builder *b, const char *key, int64_t v) { scalar(b, key, 11, (uint64_t)v, 8); }

void gb_f32(gguf_builder *b, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    scalar(b, key, 6, bits, 4);
}

void gb_f64(gguf_builder *b, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    scalar(b, key, 12, bits, 8);
}

void gb_str(gguf_builder *b, const char *key, const char *s)
{
    gb_buf v = { 0 };
    gbuf_str(&v, s);
    gb_kv_raw(b, key, strlen(key), 8, v.p, v.n);
    gbuf_free(&v);
}

void gb_arr(gguf_builder *b, const char *key, uint32_t elem_type, const void *elems, size_t elem_size, uint64_t n)
{
    gb_buf v = { 0 };
    gbuf_u32(&v, elem_type);
    gbuf_u64(&v, n);
    gbuf_bytes(&v, elems, (size_t)n * elem_size);
    gb_kv_raw(b, key, strlen(key), 9, v.p, v.n);
    gbuf_free(&v);
}

void gb_arr_str(gguf_builder *b, const char *key, const char *const *strs, uint64_t n)
{
    gb_buf v = { 0 };
    gbuf_u32(&v, 8);
    gbuf_u64(&v, n);
    for (uint64_t i = 0; i < n; i++)
        gbuf_str(&v, strs[i]);
    gb_kv_raw(b, key, strlen(key), 9, v.p, v.n);
    gbuf_free(&v);
}

uint8_t gb_pattern(int tensor, uint64_t byte)
{
    return (uint8_t)(tensor * 31 + byte * 7 + 1);
}

void gb_tensor_add(gguf_builder *b, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne,
                   uint64_t n_bytes, const void *data)
{
    if (b->n_tensors == GB_MAX || n_dims > 4)
        abort();
    int i = b->n_tensors++;
    gb_tensor *t = &b->t[i];
    memset(t, 0, sizeof *t);
    size_t len = strlen(name);
    t->name = xrealloc(NULL, len + 1);
    memcpy(t->name, name, len + 1);
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < n_dims; d++)
        t->ne[d] = ne[d];
    t->n_bytes = n_bytes;
    t->data = xrealloc(NULL, (size_t)n_bytes);
    for (uint64_t k = 0; k < n_bytes; k++)
        t->data[k] = data ? ((const uint8_t *)data)[k] : gb_pattern(i, k);
}

static size_t pad_to(size_t n, uint64_t a)
{
    return (size_t)((a - n % a) % a);
}

uint8_t *gb_build(const gguf_builder *b, size_t *size, gb_layout *layout)
{
    gb_layout lo_local;
    gb_layout *lo = layout ? layout : &lo_local;
    memset(lo, 0, sizeof *lo);
    gb_buf f = { 0 };
    gbuf_bytes(&f, "GGUF", 4);
    lo->version_at = f.n;
    gbuf_u32(&f, b->version);
    lo->n_tensors_at = f.n;
    gbuf_u64(&f, (uint64_t)b->n_tensors);
    lo->n_kv_at = f.n;
    gbuf_u64(&f, (uint64_t)b->n_kv);
    for (int i = 0; i < b->n_kv; i++) {
        lo->kv_at[i] = f.n;
        gbuf_strn(&f, b->kv[i].key, b->kv[i].key_len);
        lo->kv_type_at[i] = f.n;
        gbuf_u32(&f, b->kv[i].type);
        lo->kv_value_at[i] = f.n;
        gbuf_bytes(&f, b->kv[i].val.p, b->kv[i].val.n);
    }
    uint64_t off = 0;
    for (int i = 0; i < b->n_tensors; i++) {
        const gb_tensor *t = &b->t[i];
        lo->t_at[i] = f.n;
        gbuf_str(&f, t->name);
        lo->t_ndims_at[i] = f.n;
        gbuf_u32(&f, t->n_dims);
        lo->t_ne_at[i] = f.n;
        for (uint32_t d = 0; d < t->n_dims; d++)
            gbuf_u64(&f, t->ne[d]);
        lo->t_type_at[i] = f.n;
        gbuf_u32(&f, t->type);
        lo->t_offset_at[i] = f.n;
        gbuf_u64(&f, off);
        lo->t_off[i] = off;
        off += t->n_bytes;
        off += pad_to((size_t)off, b->alignment);
    }
    lo->header_end = f.n;
    static const uint8_t zeros[4096];
    if (b->n_tensors) {
        gbuf_bytes(&f, zeros, pad_to(f.n, b->alignment));
        lo->data_at = f.n;
        /* No padding after the last tensor: the file ends where its data does. */
        for (int i = 0; i < b->n_tensors; i++) {
            gbuf_bytes(&f, b->t[i].data, (size_t)b->t[i].n_bytes);
            if (i + 1 < b->n_tensors)
                gbuf_bytes(&f, zeros, pad_to((size_t)b->t[i].n_bytes, b->alignment));
        }
    } else {
        lo->data_at = f.n;
    }
    *size = f.n;
    return f.p;
}

void gb_put_u32(uint8_t *file, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        file[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void gb_put_u64(uint8_t *file, size_t at, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        file[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}
