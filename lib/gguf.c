/* The strict GGUF reader: maps or reads a file, validates every byte of the header, indexes keys and tensors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "ggml_types.h"
#include "gguf.h"

#define GGUF_HEADER_BYTES 24u
/* The smallest metadata entry: key length, one key byte, value type, a one-byte value. */
#define KV_MIN_BYTES 14u
/* The smallest tensor entry: name length, one name byte, n_dims, one ne, type, offset. */
#define TENSOR_MIN_BYTES 33u
#define MAX_KEY_BYTES 65535u
#define MAX_TENSOR_NAME_BYTES 256u
#define MAX_ARRAY_DEPTH 8
#define DEFAULT_ALIGNMENT 32u

struct bn_gguf {
    const uint8_t *base;
    uint64_t size;
    void *map;          /* munmap on close when non-NULL */
    void *buf;          /* free on close when non-NULL */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_start;

    bn_gguf_kv *kvs;
    uint64_t **str_index;  /* per kv: element offsets of a string array, from v.arr.data; else NULL */
    int64_t n_kv, cap_kv;

    bn_gguf_tensor *tensors;
    int64_t n_tensors, cap_tensors;

    char *names;        /* every key and tensor name, NUL-terminated */
    size_t *kv_hash, *t_hash;  /* open addressing: index + 1, 0 = empty */
    size_t kv_mask, t_mask;
};

typedef struct reader {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
} reader;

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint64_t left(const reader *r)
{
    return r->size - r->pos;
}

static int rd_u32(reader *r, uint32_t *v)
{
    if (left(r) < 4)
        return 0;
    *v = get_u32(r->base + r->pos);
    r->pos += 4;
    return 1;
}

static int rd_u64(reader *r, uint64_t *v)
{
    if (left(r) < 8)
        return 0;
    *v = get_u64(r->base + r->pos);
    r->pos += 8;
    return 1;
}

static const char *vtype_name(uint32_t t)
{
    static const char *const names[] = { "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                         "bool", "string", "array", "uint64", "int64", "float64" };
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* Bytes one element of a fixed-size type takes; 0 for string and array. */
static uint64_t vtype_size(uint32_t t)
{
    switch (t) {
    case BN_GGUF_UINT8: case BN_GGUF_INT8: case BN_GGUF_BOOL: return 1;
    case BN_GGUF_UINT16: case BN_GGUF_INT16: return 2;
    case BN_GGUF_UINT32: case BN_GGUF_INT32: case BN_GGUF_FLOAT32: return 4;
    case BN_GGUF_UINT64: case BN_GGUF_INT64: case BN_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* "the name of the thing being read", for messages: keys and tensor names may
 * be hostile, so they are cut short and non-printable bytes are replaced. */
void bn_gguf_describe(char *dst, size_t cap, const void *str, uint64_t len)
{
    const uint8_t *s = str;
    size_t n = 0;
    for (uint64_t i = 0; i < len && n + 4 < cap; i++)
        dst[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    if (len > n && n + 4 <= cap) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

/* Reads a length-prefixed string whose bytes lie inside the file. */
static bn_status rd_str(reader *r, bn_gguf_str *s, const char *what)
{
    uint64_t at = r->pos;
    uint64_t len;
    if (!rd_u64(r, &len))
        return bn_fail(BN_E_FORMAT, "%s: string length at offset %llu is cut off by the end of the file (size %llu)",
                       what, (unsigned long long)at, (unsigned long long)r->size);
    if (len > left(r))
        return bn_fail(BN_E_FORMAT, "%s: string length %llu at offset %llu exceeds the %llu bytes left in the file",
                       what, (unsigned long long)len, (unsigned long long)at, (unsigned long long)left(r));
    s->ptr = (const char *)(r->base + r->pos);
    s->len = len;
    r->pos += len;
    return BN_OK;
}

static void *grow(void *p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    int64_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    if ((uint64_t)c > SIZE_MAX / elem)
        return NULL;
    void *q = realloc(p, (size_t)c * elem);
    if (q)
        *cap = c;
    return q;
}

/* Validates an array value's elements (recursively for arrays of arrays);
 * when index is non-NULL (top-level string arrays) it receives every
 * element's offset from the array's first byte. */
static bn_status check_array(reader *r, const char *key, uint32_t etype, uint64_t n, int depth, uint64_t *index)
{
    uint64_t start = r->pos;
    uint64_t esize = vtype_size(etype);
    if (esize) {
        if (n > left(r) / esize)
            return bn_fail(BN_E_FORMAT,
                           "metadata '%s': array of %llu %s elements at offset %llu needs more than the %llu bytes "
                           "left in the file", key, (unsigned long long)n, vtype_name(etype),
                           (unsigned long long)start, (unsigned long long)left(r));
        if (etype == BN_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (r->base[r->pos + i] > 1)
                    return bn_fail(BN_E_FORMAT, "metadata '%s': bool element %llu has value %u (must be 0 or 1)", key,
                                   (unsigned long long)i, r->base[r->pos + i]);
        r->pos += n * esize;
        return BN_OK;
    }
    if (etype == BN_GGUF_STRING) {
        if (n > left(r) / 8)
            return bn_fail(BN_E_FORMAT,
                           "metadata '%s': array of %llu strings at offset %llu needs more than the %llu bytes left "
                           "in the file", key, (unsigned long long)n, (unsigned long long)start,
                           (unsigned long long)left(r));
        for (uint64_t i = 0; i < n; i++) {
            if (index)
                index[i] = r->pos - start;
            uint64_t at = r->pos;
            uint64_t len;
            if (!rd_u64(r, &len))
                return bn_fail(BN_E_FORMAT, "metadata '%s': length of string %llu of the array at offset %llu is cut "
                               "off by the end of the file (size %llu)", key, (unsigned long long)i,
                               (unsigned long long)at, (unsigned long long)r->size);
            if (len > left(r))
                return bn_fail(BN_E_FORMAT,
                               "metadata '%s': string %llu of the array has length %llu at offset %llu, past the end "
                               "of the file (size %llu)", key, (unsigned long long)i, (unsigned long long)len,
                               (unsigned long long)at, (unsigned long long)r->size);
            r->pos += len;
        }
        return BN_OK;
    }
    if (etype == BN_GGUF_ARRAY) {
        if (depth >= MAX_ARRAY_DEPTH)
            return bn_fail(BN_E_FORMAT, "metadata '%s': arrays nested more than %d levels deep", key, MAX_ARRAY_DEPTH);
        if (n > left(r) / 12)
            return bn_fail(BN_E_FORMAT,
                           "metadata '%s': array of %llu arrays at offset %llu needs more than the %llu bytes left in "
                           "the file", key, (unsigned long long)n, (unsigned long long)start,
                           (unsigned long long)left(r));
        for (uint64_t i = 0; i < n; i++) {
            uint32_t sub_type;
            uint64_t sub_n;
            uint64_t at = r->pos;
            if (!rd_u32(r, &sub_type) || !rd_u64(r, &sub_n))
                return bn_fail(BN_E_FORMAT, "metadata '%s': nested array %llu at offset %llu is cut off by the end "
                               "of the file (size %llu)", key, (unsigned long long)i, (unsigned long long)at,
                               (unsigned long long)r->size);
            if (sub_type > BN_GGUF_FLOAT64)
                return bn_fail(BN_E_FORMAT, "metadata '%s': nested array %llu has unknown element type %u", key,
                               (unsigned long long)i, sub_type);
            bn_status st = check_array(r, key, sub_type, sub_n, depth + 1, NULL);
            if (st != BN_OK)
                return st;
        }
        return BN_OK;
    }
    return bn_fail(BN_E_FORMAT, "metadata '%s': array has unknown element type %u", key, etype);
}

/* How a metadata key or a tensor name is checked and named in errors: the
 * formats take (index, count), (index, offset), (shown name, length, max) and
 * (shown name). */
typedef struct name_rules {
    const char *what, *empty, *too_long, *has_nul;
    unsigned max;
} name_rules;

static const name_rules key_rules = {
    "key of metadata entry %lld of %llu", "metadata entry %lld: the key is empty (offset %llu)",
    "metadata key '%s' is %llu bytes long (at most %u)", "metadata key '%s' contains a NUL byte", MAX_KEY_BYTES,
};
static const name_rules tensor_rules = {
    "name of tensor %lld of %llu", "tensor %lld: the name is empty (offset %llu)",
    "tensor '%s': name is %llu bytes long (at most %u)", "tensor '%s': name contains a NUL byte",
    MAX_TENSOR_NAME_BYTES,
};

/* Reads name i of n: not empty, at most nr->max bytes, no NUL; *shown gets
 * it escaped for messages. */
static bn_status read_name(reader *r, const name_rules *nr, int64_t i, uint64_t n, bn_gguf_str *out, char *shown,
                           size_t cap)
{
    char what[96];
    snprintf(what, sizeof what, nr->what, (long long)i, (unsigned long long)n);
    bn_status st = rd_str(r, out, what);
    if (st != BN_OK)
        return st;
    if (out->len == 0)
        return bn_fail(BN_E_FORMAT, nr->empty, (long long)i, (unsigned long long)(r->pos - 8));
    bn_gguf_describe(shown, cap, out->ptr, out->len);
    if (out->len > nr->max)
        return bn_fail(BN_E_FORMAT, nr->too_long, shown, (unsigned long long)out->len, nr->max);
    if (memchr(out->ptr, '\0', (size_t)out->len))
        return bn_fail(BN_E_FORMAT, nr->has_nul, shown);
    return BN_OK;
}

static bn_status read_kv(bn_gguf *g, reader *r, int64_t i, uint64_t n_kv)
{
    char key[96];
    bn_gguf_str k = { NULL, 0 };
    bn_status st = read_name(r, &key_rules, i, n_kv, &k, key, sizeof key);
    if (st != BN_OK)
        return st;

    if (i + 1 > g->cap_kv) {
        int64_t cap = g->cap_kv;
        bn_gguf_kv *kvs = grow(g->kvs, &cap, i + 1, sizeof *kvs);
        if (!kvs)
            return bn_fail(BN_E_NOMEM, "out of memory for %lld metadata entries", (long long)i + 1);
        g->kvs = kvs;
        uint64_t **idx = realloc(g->str_index, (size_t)cap * sizeof *idx);
        if (!idx)
            return bn_fail(BN_E_NOMEM, "out of memory for %lld metadata entries", (long long)i + 1);
        g->str_index = idx;
        g->cap_kv = cap;
    }
    bn_gguf_kv *kv = &g->kvs[i];
    memset(kv, 0, sizeof *kv);
    g->str_index[i] = NULL;
    g->n_kv = i + 1;
    /* Until the names are copied at the end of open, key points into the file. */
    kv->key = k.ptr;

    uint64_t at = r->pos;
    if (!rd_u32(r, &kv->type))
        return bn_fail(BN_E_FORMAT, "metadata '%s': value type at offset %llu is cut off by the end of the file "
                       "(size %llu)", key, (unsigned long long)at, (unsigned long long)r->size);
    at = r->pos;
    const uint8_t *p = r->base + r->pos;
    uint64_t esize = vtype_size(kv->type);
    if (esize) {
        if (left(r) < esize)
            return bn_fail(BN_E_FORMAT, "metadata '%s': %s value at offset %llu is cut off by the end of the file "
                           "(size %llu)", key, vtype_name(kv->type), (unsigned long long)at,
                           (unsigned long long)r->size);
        r->pos += esize;
    }
    switch (kv->type) {
    case BN_GGUF_UINT8: kv->v.u = p[0]; break;
    case BN_GGUF_INT8: kv->v.i = (int8_t)p[0]; break;
    case BN_GGUF_UINT16: kv->v.u = (uint16_t)(p[0] | p[1] << 8); break;
    case BN_GGUF_INT16: kv->v.i = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case BN_GGUF_UINT32: kv->v.u = get_u32(p); break;
    case BN_GGUF_INT32: kv->v.i = (int32_t)get_u32(p); break;
    case BN_GGUF_UINT64: kv->v.u = get_u64(p); break;
    case BN_GGUF_INT64: kv->v.i = (int64_t)get_u64(p); break;
    case BN_GGUF_FLOAT32: {
        uint32_t bits = get_u32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        kv->v.f = f;
        break;
    }
    case BN_GGUF_FLOAT64: {
        uint64_t bits = get_u64(p);
        memcpy(&kv->v.f, &bits, sizeof kv->v.f);
        break;
    }
    case BN_GGUF_BOOL:
        if (p[0] > 1)
            return bn_fail(BN_E_FORMAT, "metadata '%s': bool value %u at offset %llu (must be 0 or 1)", key, p[0],
                           (unsigned long long)at);
        kv->v.u = p[0];
        break;
    case BN_GGUF_STRING: {
        char swhat[160];
        snprintf(swhat, sizeof swhat, "metadata '%s'", key);
        if ((st = rd_str(r, &kv->v.s, swhat)) != BN_OK)
            return st;
        break;
    }
    case BN_GGUF_ARRAY: {
        if (!rd_u32(r, &kv->v.arr.type) || !rd_u64(r, &kv->v.arr.n))
            return bn_fail(BN_E_FORMAT, "metadata '%s': array header at offset %llu is cut off by the end of the "
                           "file (size %llu)", key, (unsigned long long)at, (unsigned long long)r->size);
        if (kv->v.arr.type > BN_GGUF_FLOAT64)
            return bn_fail(BN_E_FORMAT, "metadata '%s': array has unknown element type %u", key, kv->v.arr.type);
        kv->v.arr.data = r->base + r->pos;
        uint64_t *index = NULL;
        /* n <= bytes left / 8 is checked before the index is allocated, so its
         * size is bounded by the file's. */
        if (kv->v.arr.type == BN_GGUF_STRING && kv->v.arr.n > 0 && kv->v.arr.n <= left(r) / 8) {
            if (kv->v.arr.n > SIZE_MAX / sizeof *index ||
                !(index = malloc((size_t)kv->v.arr.n * sizeof *index)))
                return bn_fail(BN_E_NOMEM, "metadata '%s': out of memory indexing %llu strings", key,
                               (unsigned long long)kv->v.arr.n);
            g->str_index[i] = index;
        }
        uint64_t data_at = r->pos;
        if ((st = check_array(r, key, kv->v.arr.type, kv->v.arr.n, 1, index)) != BN_OK)
            return st;
        kv->v.arr.n_bytes = r->pos - data_at;
        break;
    }
    default:
        return bn_fail(BN_E_FORMAT, "metadata '%s': unknown value type %u at offset %llu", key, kv->type,
                       (unsigned long long)(at - 4));
    }
    return BN_OK;
}

static bn_status read_tensor(bn_gguf *g, reader *r, int64_t i, uint64_t n_tensors)
{
    char name[96];
    bn_gguf_str s = { NULL, 0 };
    bn_status st = read_name(r, &tensor_rules, i, n_tensors, &s, name, sizeof name);
    if (st != BN_OK)
        return st;

    bn_gguf_tensor *ts = grow(g->tensors, &g->cap_tensors, i + 1, sizeof *ts);
    if (!ts)
        return bn_fail(BN_E_NOMEM, "out of memory for %lld tensors", (long long)i + 1);
    g->tensors = ts;
    bn_gguf_tensor *t = &g->tensors[i];
    memset(t, 0, sizeof *t);
    g->n_tensors = i + 1;
    t->name = s.ptr;

    uint64_t at = r->pos;
    if (!rd_u32(r, &t->n_dims))
        return bn_fail(BN_E_FORMAT, "tensor '%s': n_dims at offset %llu is cut off by the end of the file (size %llu)",
                       name, (unsigned long long)at, (unsigned long long)r->size);
    if (t->n_dims < 1 || t->n_dims > 4)
        return bn_fail(BN_E_FORMAT, "tensor '%s': n_dims is %u (must be 1 to 4)", name, t->n_dims);
    uint64_t n_elems = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        at = r->pos;
        if (!rd_u64(r, &t->ne[d]))
            return bn_fail(BN_E_FORMAT, "tensor '%s': ne[%u] at offset %llu is cut off by the end of the file "
                           "(size %llu)", name, d, (unsigned long long)at, (unsigned long long)r->size);
        if (t->ne[d] == 0)
            return bn_fail(BN_E_FORMAT, "tensor '%s': ne[%u] is 0", name, d);
        if (t->ne[d] > (uint64_t)INT64_MAX / n_elems)
            return bn_fail(BN_E_FORMAT, "tensor '%s': ne[%u] = %llu makes the element count overflow", name, d,
                           (unsigned long long)t->ne[d]);
        n_elems *= t->ne[d];
    }
    at = r->pos;
    if (!rd_u32(r, &t->type) || !rd_u64(r, &t->offset))
        return bn_fail(BN_E_FORMAT, "tensor '%s': type and offset at offset %llu are cut off by the end of the file "
                       "(size %llu)", name, (unsigned long long)at, (unsigned long long)r->size);
    const bn_type_traits *tt = bn_type_get(t->type);
    if (!tt)
        return bn_fail(BN_E_UNSUPPORTED, "tensor '%s': unknown tensor type %u", name, t->type);
    t->n_bytes = bn_type_nbytes(t->type, t->ne);
    if (t->n_bytes == 0) {
        if (t->ne[0] % tt->block_size)
            return bn_fail(BN_E_FORMAT, "tensor '%s': ne[0] = %llu is not a multiple of the %s block size %u", name,
                           (unsigned long long)t->ne[0], tt->name, tt->block_size);
        return bn_fail(BN_E_FORMAT, "tensor '%s': the byte size of %llu %s elements overflows", name,
                       (unsigned long long)n_elems, tt->name);
    }
    if (t->offset % g->alignment)
        return bn_fail(BN_E_FORMAT, "tensor '%s': data offset %llu is not a multiple of the alignment %llu", name,
                       (unsigned long long)t->offset, (unsigned long long)g->alignment);
    return BN_OK;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* A table of 2^k >= 2n slots; mask receives 2^k - 1. */
static size_t *new_table(int64_t n, size_t *mask)
{
    size_t slots = 16;
    while (slots < (uint64_t)n * 2 && slots <= SIZE_MAX / 4 / sizeof(size_t))
        slots *= 2;
    if (slots < (uint64_t)n * 2)
        return NULL;
    *mask = slots - 1;
    return calloc(slots, sizeof(size_t));
}

/* The slot holding name, or the empty slot where it belongs. */
static size_t *probe(size_t *table, size_t mask, const char *name, const char *(*name_of)(const bn_gguf *, size_t),
                     const bn_gguf *g)
{
    size_t h = (size_t)hash_name(name) & mask;
    while (table[h] && strcmp(name_of(g, table[h] - 1), name) != 0)
        h = (h + 1) & mask;
    return &table[h];
}

static const char *kv_name(const bn_gguf *g, size_t i)
{
    return g->kvs[i].key;
}

static const char *tensor_name(const bn_gguf *g, size_t i)
{
    return g->tensors[i].name;
}

/* Copies every key and name into one block (the file's are not
 * NUL-terminated) and builds both lookup tables, refusing duplicates. */
static bn_status index_names(bn_gguf *g)
{
    uint64_t total = 0;
    /* Every name lies inside the file, so the sum cannot overflow. */
    for (int64_t i = 0; i < g->n_kv; i++)
        total += get_u64((const uint8_t *)g->kvs[i].key - 8) + 1;
    for (int64_t i = 0; i < g->n_tensors; i++)
        total += get_u64((const uint8_t *)g->tensors[i].name - 8) + 1;
    if (total > SIZE_MAX || !(g->names = malloc(total ? (size_t)total : 1)))
        return bn_fail(BN_E_NOMEM, "out of memory for %llu bytes of names", (unsigned long long)total);
    char *p = g->names;
    for (int64_t i = 0; i < g->n_kv; i++) {
        size_t len = (size_t)get_u64((const uint8_t *)g->kvs[i].key - 8);
        memcpy(p, g->kvs[i].key, len);
        p[len] = '\0';
        g->kvs[i].key = p;
        p += len + 1;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        size_t len = (size_t)get_u64((const uint8_t *)g->tensors[i].name - 8);
        memcpy(p, g->tensors[i].name, len);
        p[len] = '\0';
        g->tensors[i].name = p;
        p += len + 1;
    }

    if (!(g->kv_hash = new_table(g->n_kv, &g->kv_mask)) || !(g->t_hash = new_table(g->n_tensors, &g->t_mask)))
        return bn_fail(BN_E_NOMEM, "out of memory for the name tables");
    char shown[96];
    for (int64_t i = 0; i < g->n_kv; i++) {
        size_t *slot = probe(g->kv_hash, g->kv_mask, g->kvs[i].key, kv_name, g);
        if (*slot) {
            bn_gguf_describe(shown, sizeof shown, g->kvs[i].key, strlen(g->kvs[i].key));
            return bn_fail(BN_E_FORMAT, "metadata key '%s' appears twice (entries %zu and %lld)", shown, *slot - 1,
                           (long long)i);
        }
        *slot = (size_t)i + 1;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        size_t *slot = probe(g->t_hash, g->t_mask, g->tensors[i].name, tensor_name, g);
        if (*slot) {
            bn_gguf_describe(shown, sizeof shown, g->tensors[i].name, strlen(g->tensors[i].name));
            return bn_fail(BN_E_FORMAT, "tensor name '%s' appears twice (tensors %zu and %lld)", shown, *slot - 1,
                           (long long)i);
        }
        *slot = (size_t)i + 1;
    }
    return BN_OK;
}

static int by_offset(const void *a, const void *b)
{
    const bn_gguf_tensor *x = *(const bn_gguf_tensor *const *)a, *y = *(const bn_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : (x < y ? -1 : x > y);
}

/* Every tensor's data inside the file, and no two overlapping. */
static bn_status check_data(bn_gguf *g)
{
    char name[96], other[96];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        bn_gguf_tensor *t = &g->tensors[i];
        uint64_t room = g->data_start <= g->size ? g->size - g->data_start : 0;
        if (t->offset > room || t->n_bytes > room - t->offset) {
            bn_gguf_describe(name, sizeof name, t->name, strlen(t->name));
            return bn_fail(BN_E_FORMAT,
                           "tensor '%s': data [offset %llu, %llu bytes] runs past the end of the file (size %llu, "
                           "data section from %llu)", name, (unsigned long long)t->offset,
                           (unsigned long long)t->n_bytes, (unsigned long long)g->size,
                           (unsigned long long)g->data_start);
        }
        t->data = g->base + g->data_start + t->offset;
    }
    if (g->n_tensors < 2)
        return BN_OK;
    const bn_gguf_tensor **order = malloc((size_t)g->n_tensors * sizeof *order);
    if (!order)
        return bn_fail(BN_E_NOMEM, "out of memory sorting %lld tensors", (long long)g->n_tensors);
    for (int64_t i = 0; i < g->n_tensors; i++)
        order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, by_offset);
    bn_status st = BN_OK;
    for (int64_t i = 1; i < g->n_tensors; i++) {
        const bn_gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->offset + a->n_bytes > b->offset) {
            bn_gguf_describe(name, sizeof name, a->name, strlen(a->name));
            bn_gguf_describe(other, sizeof other, b->name, strlen(b->name));
            st = bn_fail(BN_E_FORMAT, "tensor '%s' [offset %llu, %llu bytes] overlaps tensor '%s' [offset %llu]", name,
                         (unsigned long long)a->offset, (unsigned long long)a->n_bytes, other,
                         (unsigned long long)b->offset);
            break;
        }
    }
    free(order);
    return st;
}

static bn_status parse(bn_gguf *g)
{
    reader r = { g->base, g->size, 0 };
    if (g->size < GGUF_HEADER_BYTES)
        return bn_fail(BN_E_FORMAT, "file is %llu bytes, too small for a GGUF header (%u bytes)",
                       (unsigned long long)g->size, GGUF_HEADER_BYTES);
    if (memcmp(g->base, "GGUF", 4) != 0) {
        char shown[16];
        bn_gguf_describe(shown, sizeof shown, g->base, 4);
        return bn_fail(BN_E_FORMAT, "bad magic '%s' (bytes %02x %02x %02x %02x): not a GGUF file", shown, g->base[0],
                       g->base[1], g->base[2], g->base[3]);
    }
    r.pos = 4;
    uint64_t n_tensors, n_kv;
    rd_u32(&r, &g->version);
    rd_u64(&r, &n_tensors);
    rd_u64(&r, &n_kv);
    if (g->version == 1)
        return bn_fail(BN_E_UNSUPPORTED, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (g->version == 0)
        return bn_fail(BN_E_FORMAT, "GGUF version 0 is invalid");
    if (g->version > 3) {
        if ((g->version & 0xffff) == 0)
            return bn_fail(BN_E_UNSUPPORTED, "GGUF version field 0x%08x: big-endian files are not supported",
                           g->version);
        return bn_fail(BN_E_UNSUPPORTED, "GGUF version %u is not supported (only versions 2 and 3)", g->version);
    }
    /* Bounding the counts by the bytes their entries need lets a huge count
     * fail here, before anything is allocated for it. */
    if (n_kv > left(&r) / KV_MIN_BYTES)
        return bn_fail(BN_E_FORMAT, "n_kv is %llu, but %llu bytes after the header fit at most %llu metadata entries",
                       (unsigned long long)n_kv, (unsigned long long)left(&r),
                       (unsigned long long)(left(&r) / KV_MIN_BYTES));
    if (n_tensors > left(&r) / TENSOR_MIN_BYTES ||
        n_kv * KV_MIN_BYTES > left(&r) - n_tensors * TENSOR_MIN_BYTES)
        return bn_fail(BN_E_FORMAT, "n_tensors is %llu, but %llu bytes after the header fit at most %llu tensor "
                       "entries besides %llu metadata entries", (unsigned long long)n_tensors,
                       (unsigned long long)left(&r),
                       (unsigned long long)(left(&r) > n_kv * KV_MIN_BYTES
                                            ? (left(&r) - n_kv * KV_MIN_BYTES) / TENSOR_MIN_BYTES : 0),
                       (unsigned long long)n_kv);

    bn_status st;
    for (uint64_t i = 0; i < n_kv; i++)
        if ((st = read_kv(g, &r, (int64_t)i, n_kv)) != BN_OK)
            return st;
    /* Needed for the tensor offsets before the names are indexed; a second
     * general.alignment is refused there as a duplicate key. */
    g->alignment = DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < g->n_kv; i++) {
        const bn_gguf_kv *kv = &g->kvs[i];
        if (get_u64((const uint8_t *)kv->key - 8) == 17 && memcmp(kv->key, "general.alignment", 17) == 0) {
            if (kv->type != BN_GGUF_UINT32)
                return bn_fail(BN_E_FORMAT, "metadata 'general.alignment' has type %s (must be uint32)",
                               vtype_name(kv->type));
            if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)))
                return bn_fail(BN_E_FORMAT, "metadata 'general.alignment' is %llu (must be a nonzero power of two)",
                               (unsigned long long)kv->v.u);
            g->alignment = kv->v.u;
            break;
        }
    }
    for (uint64_t i = 0; i < n_tensors; i++)
        if ((st = read_tensor(g, &r, (int64_t)i, n_tensors)) != BN_OK)
            return st;
    uint64_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
    g->data_start = r.pos + pad;  /* r.pos <= size < 2^63 and pad < 2^32: no overflow */
    if ((st = index_names(g)) != BN_OK || (st = check_data(g)) != BN_OK)
        return st;
    return BN_OK;
}

static bn_status finish_open(bn_gguf *g, bn_gguf **out)
{
    bn_status st = parse(g);
    if (st != BN_OK) {
        bn_gguf_close(g);
        return st;
    }
    *out = g;
    return BN_OK;
}

bn_status bn_gguf_open_memory(const void *data, size_t size, bn_gguf **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return bn_fail(BN_E_INVALID_ARG, "bn_gguf_open_memory: data is NULL but size is %zu", size);
    static const uint8_t empty[1];
    bn_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return bn_fail(BN_E_NOMEM, "out of memory opening a GGUF image");
    g->base = data ? data : empty;
    g->size = size;
    return finish_open(g, out);
}

static bn_status read_all(int fd, const char *path, uint8_t *buf, uint64_t size)
{
    uint64_t done = 0;
    while (done < size) {
        size_t chunk = size - done > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)(size - done);
        ssize_t n = read(fd, buf + done, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return bn_fail(BN_E_IO, "cannot read '%s': %s", path, strerror(errno));
        if (n == 0)
            return bn_fail(BN_E_IO, "cannot read '%s': the file ended after %llu of %llu bytes", path,
                           (unsigned long long)done, (unsigned long long)size);
        done += (uint64_t)n;
    }
    return BN_OK;
}

bn_status bn_gguf_open(const char *path, int use_mmap, bn_gguf **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_gguf_open: out is NULL");
    *out = NULL;
    if (!path)
        return bn_fail(BN_E_INVALID_ARG, "bn_gguf_open: path is NULL");
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return bn_fail(BN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        bn_status st = bn_fail(BN_E_IO, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return bn_fail(BN_E_IO, "cannot open '%s': %s", path,
                       S_ISDIR(sb.st_mode) ? "it is a directory" : "not a regular file");
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size > SIZE_MAX || size > (uint64_t)INT64_MAX) {
        close(fd);
        return bn_fail(BN_E_IO, "cannot open '%s': %llu bytes do not fit in memory", path, (unsigned long long)size);
    }
    bn_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        close(fd);
        return bn_fail(BN_E_NOMEM, "out of memory opening '%s'", path);
    }
    g->size = size;
    if (use_mmap && size > 0) {
        void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            g->map = p;
            g->base = p;
        }
    }
    if (!g->map) {
        /* Page-aligned like a mapping, so tensor data keeps its alignment. */
        void *buf = NULL;
        if (posix_memalign(&buf, 4096, size ? (size_t)size : 1) != 0) {
            close(fd);
            free(g);
            return bn_fail(BN_E_NOMEM, "out of memory reading '%s' (%llu bytes)", path, (unsigned long long)size);
        }
        g->buf = buf;
        g->base = buf;
        bn_status st = read_all(fd, path, buf, size);
        if (st != BN_OK) {
            close(fd);
            bn_gguf_close(g);
            return st;
        }
    }
    close(fd);
    bn_status st = finish_open(g, out);
    if (st != BN_OK && (st == BN_E_FORMAT || st == BN_E_UNSUPPORTED)) {
        /* Name the file: the reader's messages only name fields. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", bn_last_error());
        bn_fail(st, "%s: %s", path, msg);
    }
    return st;
}

void bn_gguf_close(bn_gguf *g)
{
    if (!g)
        return;
    if (g->map)
        munmap(g->map, (size_t)g->size);
    free(g->buf);
    for (int64_t i = 0; i < g->n_kv; i++)
        free(g->str_index[i]);
    free(g->str_index);
    free(g->kvs);
    free(g->tensors);
    free(g->names);
    free(g->kv_hash);
    free(g->t_hash);
    free(g);
}

uint32_t bn_gguf_version(const bn_gguf *g) { return g ? g->version : 0; }
uint64_t bn_gguf_alignment(const bn_gguf *g) { return g ? g->alignment : 0; }
const uint8_t *bn_gguf_base(const bn_gguf *g) { return g ? g->base : NULL; }
uint64_t bn_gguf_size(const bn_gguf *g) { return g ? g->size : 0; }
int bn_gguf_is_mapped(const bn_gguf *g) { return g && g->map != NULL; }
int64_t bn_gguf_n_kv(const bn_gguf *g) { return g ? g->n_kv : 0; }
int64_t bn_gguf_n_tensors(const bn_gguf *g) { return g ? g->n_tensors : 0; }

const bn_gguf_kv *bn_gguf_kv_at(const bn_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? &g->kvs[i] : NULL;
}

const bn_gguf_tensor *bn_gguf_tensor_at(const bn_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const bn_gguf_kv *bn_gguf_find(const bn_gguf *g, const char *key)
{
    if (!g || !key || !g->kv_hash)
        return NULL;
    size_t slot = *probe(g->kv_hash, g->kv_mask, key, kv_name, g);
    return slot ? &g->kvs[slot - 1] : NULL;
}

const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name)
{
    if (!g || !name || !g->t_hash)
        return NULL;
    size_t slot = *probe(g->t_hash, g->t_mask, name, tensor_name, g);
    return slot ? &g->tensors[slot - 1] : NULL;
}

static bn_status lookup(const bn_gguf *g, const char *key, const bn_gguf_kv **kv)
{
    if (!g || !key)
        return bn_fail(BN_E_INVALID_ARG, "bn_gguf_get_*: %s is NULL", !g ? "file" : "key");
    if (!(*kv = bn_gguf_find(g, key)))
        return bn_fail(BN_E_NOT_FOUND, "metadata key '%s' not found", key);
    return BN_OK;
}

bn_status bn_gguf_get_int(const bn_gguf *g, const char *key, int64_t *out)
{
    const bn_gguf_kv *kv;
    bn_status st = lookup(g, key, &kv);
    if (st != BN_OK)
        return st;
    switch (kv->type) {
    case BN_GGUF_INT8: case BN_GGUF_INT16: case BN_GGUF_INT32: case BN_GGUF_INT64:
        *out = kv->v.i;
        return BN_OK;
    case BN_GGUF_UINT8: case BN_GGUF_UINT16: case BN_GGUF_UINT32: case BN_GGUF_UINT64: case BN_GGUF_BOOL:
        if (kv->v.u > (uint64_t)INT64_MAX)
            return bn_fail(BN_E_TYPE, "metadata '%s' = %llu does not fit in an int64", key,
                           (unsigned long long)kv->v.u);
        *out = (int64_t)kv->v.u;
        return BN_OK;
    default:
        return bn_fail(BN_E_TYPE, "metadata '%s' has type %s, expected an integer", key, vtype_name(kv->type));
    }
}

bn_status bn_gguf_get_float(const bn_gguf *g, const char *key, double *out)
{
    const bn_gguf_kv *kv;
    bn_status st = lookup(g, key, &kv);
    if (st != BN_OK)
        return st;
    switch (kv->type) {
    case BN_GGUF_FLOAT32: case BN_GGUF_FLOAT64:
        *out = kv->v.f;
        return BN_OK;
    case BN_GGUF_INT8: case BN_GGUF_INT16: case BN_GGUF_INT32: case BN_GGUF_INT64:
        *out = (double)kv->v.i;
        return BN_OK;
    case BN_GGUF_UINT8: case BN_GGUF_UINT16: case BN_GGUF_UINT32: case BN_GGUF_UINT64:
        *out = (double)kv->v.u;
        return BN_OK;
    default:
        return bn_fail(BN_E_TYPE, "metadata '%s' has type %s, expected a number", key, vtype_name(kv->type));
    }
}

bn_status bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out)
{
    const bn_gguf_kv *kv;
    bn_status st = lookup(g, key, &kv);
    if (st != BN_OK)
        return st;
    if (kv->type != BN_GGUF_STRING)
        return bn_fail(BN_E_TYPE, "metadata '%s' has type %s, expected a string", key, vtype_name(kv->type));
    *out = kv->v.s;
    return BN_OK;
}

bn_status bn_gguf_get_arr(const bn_gguf *g, const char *key, uint32_t elem_type, const uint8_t **data, uint64_t *n)
{
    const bn_gguf_kv *kv;
    bn_status st = lookup(g, key, &kv);
    if (st != BN_OK)
        return st;
    if (kv->type != BN_GGUF_ARRAY)
        return bn_fail(BN_E_TYPE, "metadata '%s' has type %s, expected an array of %s", key, vtype_name(kv->type),
                       vtype_name(elem_type));
    if (kv->v.arr.type != elem_type)
        return bn_fail(BN_E_TYPE, "metadata '%s' is an array of %s, expected an array of %s", key,
                       vtype_name(kv->v.arr.type), vtype_name(elem_type));
    *data = kv->v.arr.data;
    *n = kv->v.arr.n;
    return BN_OK;
}

bn_gguf_str bn_gguf_arr_str(const bn_gguf *g, const bn_gguf_kv *kv, uint64_t i)
{
    bn_gguf_str s = { NULL, 0 };
    if (!g || !kv || kv->type != BN_GGUF_ARRAY || kv->v.arr.type != BN_GGUF_STRING || i >= kv->v.arr.n)
        return s;
    uintptr_t first = (uintptr_t)g->kvs, at = (uintptr_t)kv;
    if (at < first || at >= first + (uintptr_t)g->n_kv * sizeof *kv || (at - first) % sizeof *kv)
        return s;  /* not one of this file's entries: its data cannot be trusted */
    const uint64_t *index = g->str_index[(at - first) / sizeof *kv];
    const uint8_t *p = kv->v.arr.data + index[i];
    s.len = get_u64(p);
    s.ptr = (const char *)p + 8;
    return s;
}
