/* The GGUF reader: every value of a generated file read back, and a corpus of broken files refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ggml_types.h"
#include "gguf.h"
#include "gguf_builder.h"

/* The tensors of the reference file: several types, 1 to 4 dimensions. */
static const struct {
    const char *name;
    uint32_t type, n_dims;
    uint64_t ne[4];
    uint64_t n_bytes;  /* worked out by hand, not by bn_type_nbytes */
} ref_tensors[] = {
    { "token_embd.weight", BN_TYPE_F16, 3, { 3, 5, 7, 1 }, 3 * 5 * 7 * 2 },
    { "blk.0.attn_q.weight", BN_TYPE_I2_S, 2, { 256, 4, 1, 1 }, 256 * 4 / 4 + 32 },
    { "blk.0.ffn_up.weight", BN_TYPE_TQ2_0, 2, { 256, 2, 1, 1 }, 2 * 66 },
    { "blk.0.ffn_down.weight", BN_TYPE_TQ1_0, 1, { 256, 1, 1, 1 }, 54 },
    { "output.weight", BN_TYPE_Q8_0, 2, { 64, 2, 1, 1 }, 4 * 34 },
    { "four.d", BN_TYPE_F32, 4, { 2, 3, 4, 5 }, 2 * 3 * 4 * 5 * 4 },
    { "bf16.bias", BN_TYPE_BF16, 1, { 5, 1, 1, 1 }, 10 },
};
#define N_REF_TENSORS ((int)(sizeof ref_tensors / sizeof ref_tensors[0]))

static const char *const ref_strs[] = { "a", "", "ccc", "h\xc3\xa9llo" };

/* Nested arrays: [[1, 2], [3]] of uint16 and [["x", "yy"], []] of strings. */
static void nested_values(gb_buf *u16s, gb_buf *strs)
{
    gbuf_u32(u16s, BN_GGUF_ARRAY);
    gbuf_u64(u16s, 2);
    gbuf_u32(u16s, BN_GGUF_UINT16);
    gbuf_u64(u16s, 2);
    gbuf_u16(u16s, 1);
    gbuf_u16(u16s, 2);
    gbuf_u32(u16s, BN_GGUF_UINT16);
    gbuf_u64(u16s, 1);
    gbuf_u16(u16s, 3);

    gbuf_u32(strs, BN_GGUF_ARRAY);
    gbuf_u64(strs, 2);
    gbuf_u32(strs, BN_GGUF_STRING);
    gbuf_u64(strs, 2);
    gbuf_str(strs, "x");
    gbuf_str(strs, "yy");
    gbuf_u32(strs, BN_GGUF_STRING);
    gbuf_u64(strs, 0);
}

/* Keys in this order; the positive test checks each by index too. */
static void ref_builder(gguf_builder *b, uint32_t alignment)
{
    gb_init(b);
    gb_str(b, "general.architecture", "test-arch");
    if (alignment)
        gb_u32(b, "general.alignment", alignment);
    b->alignment = alignment ? alignment : 32;
    gb_u8(b, "t.u8", 200);
    gb_i8(b, "t.i8", -100);
    gb_u16(b, "t.u16", 60000);
    gb_i16(b, "t.i16", -30000);
    gb_u32(b, "t.u32", 4000000000u);
    gb_i32(b, "t.i32", -2000000000);
    gb_f32(b, "t.f32", 1.5f);
    gb_bool(b, "t.bool", 1);
    gb_str(b, "t.str", "h\xc3\xa9llo");
    gb_u64(b, "t.u64", UINT64_MAX);
    gb_i64(b, "t.i64", INT64_MIN);
    gb_f64(b, "t.f64", 0.1);
    gb_str(b, "t.empty_str", "");
    static const uint8_t u8s[] = { 1, 2, 255 };
    gb_arr(b, "t.arr_u8", BN_GGUF_UINT8, u8s, 1, 3);
    static const int32_t i32s[] = { -1, 0, 7 };
    gb_arr(b, "t.arr_i32", BN_GGUF_INT32, i32s, 4, 3);
    static const float f32s[] = { 0.5f, -2.0f };
    gb_arr(b, "t.arr_f32", BN_GGUF_FLOAT32, f32s, 4, 2);
    static const uint8_t bools[] = { 0, 1, 1 };
    gb_arr(b, "t.arr_bool", BN_GGUF_BOOL, bools, 1, 3);
    static const int64_t i64s[] = { INT64_MIN, 5 };
    gb_arr(b, "t.arr_i64", BN_GGUF_INT64, i64s, 8, 2);
    static const double f64s[] = { 1e300 };
    gb_arr(b, "t.arr_f64", BN_GGUF_FLOAT64, f64s, 8, 1);
    gb_arr_str(b, "t.arr_str", ref_strs, 4);
    gb_arr(b, "t.arr_empty", BN_GGUF_UINT32, NULL, 4, 0);
    gb_buf u16s = { 0 }, strs = { 0 };
    nested_values(&u16s, &strs);
    gb_kv_raw(b, "t.nested_u16", strlen("t.nested_u16"), BN_GGUF_ARRAY, u16s.p, u16s.n);
    gb_kv_raw(b, "t.nested_str", strlen("t.nested_str"), BN_GGUF_ARRAY, strs.p, strs.n);
    gbuf_free(&u16s);
    gbuf_free(&strs);
    for (int i = 0; i < N_REF_TENSORS; i++)
        gb_tensor_add(b, ref_tensors[i].name, ref_tensors[i].type, ref_tensors[i].n_dims, ref_tensors[i].ne,
                      ref_tensors[i].n_bytes, NULL);
}

static uint8_t *ref_file(size_t *size, gb_layout *lo)
{
    gguf_builder b;
    ref_builder(&b, 64);
    uint8_t *f = gb_build(&b, size, lo);
    gb_free(&b);
    return f;
}

static void expect_int(const bn_gguf *g, const char *key, int64_t want)
{
    int64_t v = 0;
    assert_int_equal(bn_gguf_get_int(g, key, &v), BN_OK);
    assert_true(v == want);
}

static void check_ref(const bn_gguf *g, const gb_layout *lo)
{
    assert_int_equal(bn_gguf_version(g), 3);
    assert_int_equal(bn_gguf_alignment(g), 64);
    assert_int_equal(bn_gguf_n_kv(g), 25);
    assert_int_equal(bn_gguf_n_tensors(g), N_REF_TENSORS);

    bn_gguf_str s;
    assert_int_equal(bn_gguf_get_str(g, "general.architecture", &s), BN_OK);
    assert_int_equal(s.len, 9);
    assert_memory_equal(s.ptr, "test-arch", 9);
    assert_string_equal(bn_gguf_kv_at(g, 0)->key, "general.architecture");
    assert_string_equal(bn_gguf_kv_at(g, 24)->key, "t.nested_str");
    assert_null(bn_gguf_kv_at(g, 25));
    assert_null(bn_gguf_kv_at(g, -1));

    expect_int(g, "general.alignment", 64);
    expect_int(g, "t.u8", 200);
    expect_int(g, "t.i8", -100);
    expect_int(g, "t.u16", 60000);
    expect_int(g, "t.i16", -30000);
    expect_int(g, "t.u32", 4000000000);
    expect_int(g, "t.i32", -2000000000);
    expect_int(g, "t.bool", 1);
    expect_int(g, "t.i64", INT64_MIN);
    assert_int_equal(bn_gguf_find(g, "t.u64")->type, BN_GGUF_UINT64);
    assert_true(bn_gguf_find(g, "t.u64")->v.u == UINT64_MAX);
    assert_int_equal(bn_gguf_find(g, "t.i8")->type, BN_GGUF_INT8);
    assert_int_equal(bn_gguf_find(g, "t.bool")->type, BN_GGUF_BOOL);

    double d = 0;
    assert_int_equal(bn_gguf_get_float(g, "t.f32", &d), BN_OK);
    assert_true(d == 1.5);
    assert_int_equal(bn_gguf_get_float(g, "t.f64", &d), BN_OK);
    assert_true(d == 0.1);
    assert_int_equal(bn_gguf_get_float(g, "t.i16", &d), BN_OK);
    assert_true(d == -30000.0);
    assert_int_equal(bn_gguf_get_float(g, "t.u32", &d), BN_OK);
    assert_true(d == 4000000000.0);

    assert_int_equal(bn_gguf_get_str(g, "t.str", &s), BN_OK);
    assert_int_equal(s.len, 6);
    assert_memory_equal(s.ptr, "h\xc3\xa9llo", 6);
    assert_int_equal(bn_gguf_get_str(g, "t.empty_str", &s), BN_OK);
    assert_int_equal(s.len, 0);

    const uint8_t *data;
    uint64_t n;
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_u8", BN_GGUF_UINT8, &data, &n), BN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(data[0], 1);
    assert_int_equal(data[2], 255);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_i32", BN_GGUF_INT32, &data, &n), BN_OK);
    assert_int_equal(n, 3);
    int32_t i32s[3];
    memcpy(i32s, data, sizeof i32s);
    assert_int_equal(i32s[0], -1);
    assert_int_equal(i32s[1], 0);
    assert_int_equal(i32s[2], 7);
    assert_int_equal(bn_gguf_find(g, "t.arr_i32")->v.arr.n_bytes, 12);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_f32", BN_GGUF_FLOAT32, &data, &n), BN_OK);
    float f32s[2];
    memcpy(f32s, data, sizeof f32s);
    assert_true(n == 2 && f32s[0] == 0.5f && f32s[1] == -2.0f);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_bool", BN_GGUF_BOOL, &data, &n), BN_OK);
    assert_true(n == 3 && data[0] == 0 && data[1] == 1 && data[2] == 1);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_i64", BN_GGUF_INT64, &data, &n), BN_OK);
    int64_t i64s[2];
    memcpy(i64s, data, sizeof i64s);
    assert_true(n == 2 && i64s[0] == INT64_MIN && i64s[1] == 5);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_f64", BN_GGUF_FLOAT64, &data, &n), BN_OK);
    double f64;
    memcpy(&f64, data, sizeof f64);
    assert_true(n == 1 && f64 == 1e300);
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_empty", BN_GGUF_UINT32, &data, &n), BN_OK);
    assert_int_equal(n, 0);

    const bn_gguf_kv *kv = bn_gguf_find(g, "t.arr_str");
    assert_non_null(kv);
    assert_int_equal(kv->v.arr.type, BN_GGUF_STRING);
    assert_int_equal(kv->v.arr.n, 4);
    assert_int_equal(kv->v.arr.n_bytes, 4 * 8 + 1 + 0 + 3 + 6);
    for (uint64_t i = 0; i < 4; i++) {
        s = bn_gguf_arr_str(g, kv, i);
        assert_int_equal(s.len, strlen(ref_strs[i]));
        assert_memory_equal(s.ptr, ref_strs[i], s.len);
    }
    s = bn_gguf_arr_str(g, kv, 4);
    assert_null(s.ptr);
    bn_gguf_kv copy = *kv;  /* not one of the file's entries */
    assert_null(bn_gguf_arr_str(g, &copy, 0).ptr);
    assert_null(bn_gguf_arr_str(g, bn_gguf_find(g, "t.arr_u8"), 0).ptr);

    kv = bn_gguf_find(g, "t.nested_u16");
    assert_int_equal(kv->type, BN_GGUF_ARRAY);
    assert_int_equal(kv->v.arr.type, BN_GGUF_ARRAY);
    assert_int_equal(kv->v.arr.n, 2);
    assert_int_equal(kv->v.arr.n_bytes, 12 + 4 + 12 + 2);
    assert_int_equal(kv->v.arr.data[0], BN_GGUF_UINT16);
    kv = bn_gguf_find(g, "t.nested_str");
    assert_int_equal(kv->v.arr.n, 2);
    assert_int_equal(kv->v.arr.n_bytes, 12 + 9 + 10 + 12);

    /* Typed getters refuse other types and name the key. */
    int64_t iv;
    assert_int_equal(bn_gguf_get_int(g, "t.u64", &iv), BN_E_TYPE);
    assert_non_null(strstr(bn_last_error(), "t.u64"));
    assert_int_equal(bn_gguf_get_int(g, "t.str", &iv), BN_E_TYPE);
    assert_int_equal(bn_gguf_get_float(g, "t.arr_u8", &d), BN_E_TYPE);
    assert_int_equal(bn_gguf_get_str(g, "t.u8", &s), BN_E_TYPE);
    assert_non_null(strstr(bn_last_error(), "t.u8"));
    assert_int_equal(bn_gguf_get_arr(g, "t.arr_u8", BN_GGUF_INT8, &data, &n), BN_E_TYPE);
    assert_int_equal(bn_gguf_get_arr(g, "t.u8", BN_GGUF_UINT8, &data, &n), BN_E_TYPE);
    assert_int_equal(bn_gguf_get_int(g, "no.such.key", &iv), BN_E_NOT_FOUND);
    assert_non_null(strstr(bn_last_error(), "no.such.key"));
    assert_null(bn_gguf_find(g, "t"));
    assert_null(bn_gguf_find(g, ""));

    const uint8_t *base = bn_gguf_base(g);
    for (int i = 0; i < N_REF_TENSORS; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        assert_ptr_equal(bn_gguf_find_tensor(g, ref_tensors[i].name), t);
        assert_string_equal(t->name, ref_tensors[i].name);
        assert_int_equal(t->type, ref_tensors[i].type);
        assert_int_equal(t->n_dims, ref_tensors[i].n_dims);
        for (int k = 0; k < 4; k++)
            assert_int_equal(t->ne[k], ref_tensors[i].ne[k]);
        assert_int_equal(t->n_bytes, ref_tensors[i].n_bytes);
        assert_int_equal(t->offset, lo->t_off[i]);
        assert_int_equal(t->offset % 64, 0);
        assert_ptr_equal(t->data, base + lo->data_at + lo->t_off[i]);
        for (uint64_t k = 0; k < t->n_bytes; k++)
            if (t->data[k] != gb_pattern(i, k))
                fail_msg("tensor %d byte %llu", i, (unsigned long long)k);
    }
    assert_null(bn_gguf_tensor_at(g, N_REF_TENSORS));
    assert_null(bn_gguf_find_tensor(g, "output"));
    assert_null(bn_gguf_find_tensor(g, "missing.weight"));
}

static void test_reads_back_every_value(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    uint8_t *f = ref_file(&size, &lo);
    bn_gguf *g = NULL;
    assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
    assert_int_equal(bn_gguf_size(g), size);
    assert_ptr_equal(bn_gguf_base(g), f);
    assert_int_equal(bn_gguf_is_mapped(g), 0);
    check_ref(g, &lo);
    bn_gguf_close(g);
    free(f);
}

static void test_version2_and_default_alignment(void **state)
{
    (void)state;
    gguf_builder b;
    ref_builder(&b, 0);
    b.version = 2;
    size_t size;
    gb_layout lo;
    uint8_t *f = gb_build(&b, &size, &lo);
    gb_free(&b);
    bn_gguf *g = NULL;
    assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
    assert_int_equal(bn_gguf_version(g), 2);
    assert_int_equal(bn_gguf_alignment(g), 32);
    assert_null(bn_gguf_find(g, "general.alignment"));
    for (int i = 0; i < N_REF_TENSORS; i++)
        assert_int_equal(bn_gguf_tensor_at(g, i)->offset, lo.t_off[i]);
    assert_int_equal(lo.t_off[1] % 32, 0);
    assert_int_not_equal(lo.t_off[1] % 64, 0);  /* 210 bytes of F16 round up to 224 */
    bn_gguf_close(g);
    free(f);
}

static void test_empty_file_and_header_only(void **state)
{
    (void)state;
    bn_gguf *g = (bn_gguf *)1;
    assert_int_equal(bn_gguf_open_memory(NULL, 0, &g), BN_E_FORMAT);
    assert_null(g);
    gguf_builder b;
    gb_init(&b);
    size_t size;
    uint8_t *f = gb_build(&b, &size, NULL);
    gb_free(&b);
    assert_int_equal(size, 24);
    assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
    assert_int_equal(bn_gguf_n_kv(g), 0);
    assert_int_equal(bn_gguf_n_tensors(g), 0);
    assert_null(bn_gguf_find(g, "general.architecture"));
    assert_null(bn_gguf_find_tensor(g, "x"));
    bn_gguf_close(g);
    bn_gguf_close(NULL);
    assert_int_equal(bn_gguf_open_memory(f, 1, NULL), BN_E_INVALID_ARG);
    free(f);
}

static char *write_temp(const uint8_t *data, size_t size)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/bn_test_gguf_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    close(fd);
    return path;
}

static void test_open_file_mmap_and_read(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    uint8_t *f = ref_file(&size, &lo);
    char *path = write_temp(f, size);
    for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
        bn_gguf *g = NULL;
        assert_int_equal(bn_gguf_open(path, use_mmap, &g), BN_OK);
        assert_int_equal(bn_gguf_is_mapped(g), use_mmap);
        assert_int_equal(bn_gguf_size(g), size);
        assert_memory_equal(bn_gguf_base(g), f, size);
        check_ref(g, &lo);
        bn_gguf_close(g);
    }
    /* Broken on disk: the message names the file as well as the field. */
    f[0] = 'X';
    unlink(path);
    free(path);
    path = write_temp(f, size);
    bn_gguf *g = (bn_gguf *)1;
    assert_int_equal(bn_gguf_open(path, 1, &g), BN_E_FORMAT);
    assert_null(g);
    assert_non_null(strstr(bn_last_error(), path));
    assert_non_null(strstr(bn_last_error(), "magic"));
    unlink(path);
    free(path);
    free(f);
}

static void test_open_missing_and_directory(void **state)
{
    (void)state;
    bn_gguf *g = (bn_gguf *)1;
    const char *missing = "/nonexistent-dir/bn-test/model.gguf";
    assert_int_equal(bn_gguf_open(missing, 1, &g), BN_E_IO);
    assert_null(g);
    assert_non_null(strstr(bn_last_error(), missing));
    g = (bn_gguf *)1;
    assert_int_equal(bn_gguf_open(".", 1, &g), BN_E_IO);
    assert_null(g);
    assert_non_null(strstr(bn_last_error(), "'.'"));
    assert_non_null(strstr(bn_last_error(), "directory"));
    assert_int_equal(bn_gguf_open(".", 0, &g), BN_E_IO);
    assert_int_equal(bn_gguf_open(NULL, 1, &g), BN_E_INVALID_ARG);
    /* An empty file: too small for a header. */
    char *path = write_temp((const uint8_t *)"", 0);
    for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
        assert_int_equal(bn_gguf_open(path, use_mmap, &g), BN_E_FORMAT);
        assert_non_null(strstr(bn_last_error(), "too small"));
    }
    unlink(path);
    free(path);
}

/* Opens a broken image: the status must match, the message must say something,
 * and the handle must stay NULL. Returns the message for further checks. */
static const char *expect_refused(const uint8_t *f, size_t size, bn_status want, const char *what)
{
    bn_gguf *g = (bn_gguf *)1;
    bn_status st = bn_gguf_open_memory(f, size, &g);
    if (st != want)
        fail_msg("%s: status %d, expected %d (%s)", what, st, want, bn_last_error());
    if (g != NULL)
        fail_msg("%s: handle not NULL on failure", what);
    if (bn_last_error()[0] == '\0')
        fail_msg("%s: empty message", what);
    return bn_last_error();
}

/* Copies the reference file, applies one change, expects a refusal. */
static const char *expect_patched64(size_t at, uint64_t v, bn_status want, const char *what)
{
    size_t size;
    uint8_t *f = ref_file(&size, NULL);
    gb_put_u64(f, at, v);
    static char msg[512];
    snprintf(msg, sizeof msg, "%s", expect_refused(f, size, want, what));
    free(f);
    return msg;
}

static const char *expect_patched32(size_t at, uint32_t v, bn_status want, const char *what)
{
    size_t size;
    uint8_t *f = ref_file(&size, NULL);
    gb_put_u32(f, at, v);
    static char msg[512];
    snprintf(msg, sizeof msg, "%s", expect_refused(f, size, want, what));
    free(f);
    return msg;
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = ref_file(&size, NULL);
    for (size_t cut = 0; cut < size; cut++) {
        /* A fresh allocation of exactly cut bytes, so ASan sees any overread. */
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, f, cut);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cut, size);
        expect_refused(part, cut, BN_E_FORMAT, what);
        free(part);
    }
    free(f);
}

static void test_cut_off_last_tensor(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = ref_file(&size, NULL);
    const char *msg = expect_refused(f, size - 1, BN_E_FORMAT, "last tensor one byte short");
    assert_non_null(strstr(msg, "'bf16.bias'"));
    assert_non_null(strstr(msg, "past the end"));
    free(f);
}

static void test_huge_counts_and_lengths(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    uint8_t *f = ref_file(&size, &lo);
    free(f);
    const uint64_t huge[] = { UINT64_MAX, (uint64_t)1 << 63, (uint64_t)size + 1, (uint64_t)size - 8 };
    char what[96];
    for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
        snprintf(what, sizeof what, "n_kv = %llu", (unsigned long long)huge[h]);
        expect_patched64(lo.n_kv_at, huge[h], BN_E_FORMAT, what);
        snprintf(what, sizeof what, "n_tensors = %llu", (unsigned long long)huge[h]);
        expect_patched64(lo.n_tensors_at, huge[h], BN_E_FORMAT, what);
        for (int i = 0; i < 25; i++) {
            snprintf(what, sizeof what, "kv %d key length = %llu", i, (unsigned long long)huge[h]);
            expect_patched64(lo.kv_at[i], huge[h], BN_E_FORMAT, what);
        }
        for (int i = 0; i < N_REF_TENSORS; i++) {
            snprintf(what, sizeof what, "tensor %d name length = %llu", i, (unsigned long long)huge[h]);
            expect_patched64(lo.t_at[i], huge[h], BN_E_FORMAT, what);
            for (uint32_t d = 0; d < ref_tensors[i].n_dims; d++) {
                snprintf(what, sizeof what, "tensor %d ne[%u] = %llu", i, d, (unsigned long long)huge[h]);
                expect_patched64(lo.t_ne_at[i] + 8 * d, huge[h], BN_E_FORMAT, what);
            }
            snprintf(what, sizeof what, "tensor %d offset = %llu", i, (unsigned long long)huge[h]);
            expect_patched64(lo.t_offset_at[i], huge[h], BN_E_FORMAT, what);
        }
    }
    /* String lengths and array counts inside values. */
    static const int str_kvs[] = { 0, 10, 14 };         /* architecture, t.str, t.empty_str */
    static const int arr_kvs[] = { 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 };
    for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
        for (size_t k = 0; k < sizeof str_kvs / sizeof str_kvs[0]; k++) {
            snprintf(what, sizeof what, "kv %d string length = %llu", str_kvs[k], (unsigned long long)huge[h]);
            expect_patched64(lo.kv_value_at[str_kvs[k]], huge[h], BN_E_FORMAT, what);
        }
        for (size_t k = 0; k < sizeof arr_kvs / sizeof arr_kvs[0]; k++) {
            snprintf(what, sizeof what, "kv %d array count = %llu", arr_kvs[k], (unsigned long long)huge[h]);
            expect_patched64(lo.kv_value_at[arr_kvs[k]] + 4, huge[h], BN_E_FORMAT, what);
        }
    }
    /* The string lengths inside t.arr_str and the nested arrays' counts. */
    size_t s0 = lo.kv_value_at[21] + 12;
    expect_patched64(s0, UINT64_MAX, BN_E_FORMAT, "first string of t.arr_str huge");
    expect_patched64(s0 + 9, (uint64_t)size, BN_E_FORMAT, "second string of t.arr_str huge");
    size_t inner = lo.kv_value_at[23] + 12;
    expect_patched64(inner + 4, UINT64_MAX, BN_E_FORMAT, "inner array count huge");
    expect_patched64(inner + 4, (uint64_t)1 << 62, BN_E_FORMAT, "inner array count 2^62");
    const char *msg = expect_patched64(lo.kv_value_at[21] + 4, UINT64_MAX, BN_E_FORMAT, "t.arr_str count");
    assert_non_null(strstr(msg, "t.arr_str"));
    msg = expect_patched64(lo.n_kv_at, UINT64_MAX, BN_E_FORMAT, "n_kv");
    assert_non_null(strstr(msg, "n_kv"));
    assert_non_null(strstr(msg, "18446744073709551615"));
}

static void test_bad_types(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    free(ref_file(&size, &lo));
    const char *msg = expect_patched32(lo.kv_type_at[2], 13, BN_E_FORMAT, "value type 13");
    assert_non_null(strstr(msg, "t.u8"));
    assert_non_null(strstr(msg, "13"));
    expect_patched32(lo.kv_type_at[2], UINT32_MAX, BN_E_FORMAT, "value type 0xffffffff");
    msg = expect_patched32(lo.kv_value_at[15], 13, BN_E_FORMAT, "array element type 13");
    assert_non_null(strstr(msg, "t.arr_u8"));
    expect_patched32(lo.kv_value_at[23] + 12, 99, BN_E_FORMAT, "nested element type 99");

    static const uint32_t bad_tensor_types[] = { 4, 5, 16, 31, 33, 37, 1000, UINT32_MAX };
    for (size_t k = 0; k < sizeof bad_tensor_types / sizeof bad_tensor_types[0]; k++) {
        char what[64], num[16];
        snprintf(what, sizeof what, "tensor type %u", bad_tensor_types[k]);
        msg = expect_patched32(lo.t_type_at[1], bad_tensor_types[k], BN_E_UNSUPPORTED, what);
        snprintf(num, sizeof num, "%u", bad_tensor_types[k]);
        assert_non_null(strstr(msg, "'blk.0.attn_q.weight'"));
        assert_non_null(strstr(msg, num));
    }
    /* A known type whose block does not divide ne0: I2_S needs multiples of 128. */
    msg = expect_patched64(lo.t_ne_at[1], 100, BN_E_FORMAT, "I2_S ne0 = 100");
    assert_non_null(strstr(msg, "block size"));
    expect_patched64(lo.t_ne_at[3], 255, BN_E_FORMAT, "TQ1_0 ne0 = 255");
    /* The bool value and a bool array element. */
    msg = expect_patched32(lo.kv_value_at[9], 2, BN_E_FORMAT, "bool 2");
    assert_non_null(strstr(msg, "t.bool"));
    size_t at = lo.kv_value_at[18] + 12 + 1;
    size_t size2;
    uint8_t *f = ref_file(&size2, NULL);
    f[at] = 7;
    msg = expect_refused(f, size2, BN_E_FORMAT, "bool element 7");
    assert_non_null(strstr(msg, "t.arr_bool"));
    free(f);
}

static void test_bad_tensor_shapes(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    free(ref_file(&size, &lo));
    const char *msg = expect_patched32(lo.t_ndims_at[0], 0, BN_E_FORMAT, "n_dims 0");
    assert_non_null(strstr(msg, "n_dims"));
    assert_non_null(strstr(msg, "token_embd.weight"));
    expect_patched32(lo.t_ndims_at[0], 5, BN_E_FORMAT, "n_dims 5");
    expect_patched32(lo.t_ndims_at[5], UINT32_MAX, BN_E_FORMAT, "n_dims huge");
    for (int i = 0; i < N_REF_TENSORS; i++)
        for (uint32_t d = 0; d < ref_tensors[i].n_dims; d++) {
            char what[64];
            snprintf(what, sizeof what, "tensor %d ne[%u] = 0", i, d);
            msg = expect_patched64(lo.t_ne_at[i] + 8 * d, 0, BN_E_FORMAT, what);
            assert_non_null(strstr(msg, ref_tensors[i].name));
        }
    /* Each dimension fine, the product overflowing. */
    size_t size2;
    uint8_t *f = ref_file(&size2, NULL);
    for (int d = 0; d < 4; d++)
        gb_put_u64(f, lo.t_ne_at[5] + 8 * (size_t)d, (uint64_t)1 << 20);
    msg = expect_refused(f, size2, BN_E_FORMAT, "4-D product 2^80");
    assert_non_null(strstr(msg, "overflow"));
    free(f);
    f = ref_file(&size2, NULL);
    gb_put_u64(f, lo.t_ne_at[1], (uint64_t)1 << 62);
    gb_put_u64(f, lo.t_ne_at[1] + 8, 3);
    expect_refused(f, size2, BN_E_FORMAT, "I2_S 2^62 x 3");
    free(f);
    /* One dimension whose row bytes wrap (F32: 2^62 x 4 B = 2^64, read as 0). */
    f = ref_file(&size2, NULL);
    gb_put_u64(f, lo.t_ne_at[5], (uint64_t)1 << 62);
    for (int d = 1; d < 4; d++)
        gb_put_u64(f, lo.t_ne_at[5] + 8 * (size_t)d, 1);
    msg = expect_refused(f, size2, BN_E_FORMAT, "F32 row of 2^62");
    assert_non_null(strstr(msg, "four.d"));
    free(f);
    /* Fits int64 elements, but not in the file. */
    f = ref_file(&size2, NULL);
    gb_put_u64(f, lo.t_ne_at[0] + 16, (uint64_t)1 << 40);
    msg = expect_refused(f, size2, BN_E_FORMAT, "F16 with 2^40 planes");
    assert_non_null(strstr(msg, "past the end"));
    free(f);
}

static void test_bad_offsets(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    free(ref_file(&size, &lo));
    int last = N_REF_TENSORS - 1;
    const char *msg = expect_patched64(lo.t_offset_at[last], lo.t_off[last] + 64, BN_E_FORMAT, "last tensor moved");
    assert_non_null(strstr(msg, "bf16.bias"));
    assert_non_null(strstr(msg, "past the end"));
    expect_patched64(lo.t_offset_at[0], (uint64_t)size / 64 * 64, BN_E_FORMAT, "first tensor past the end");
    expect_patched64(lo.t_offset_at[2], UINT64_MAX - 63, BN_E_FORMAT, "offset near 2^64");
    msg = expect_patched64(lo.t_offset_at[2], lo.t_off[2] + 1, BN_E_FORMAT, "misaligned by 1");
    assert_non_null(strstr(msg, "alignment"));
    expect_patched64(lo.t_offset_at[2], lo.t_off[2] + 32, BN_E_FORMAT, "misaligned by 32 (alignment 64)");
    msg = expect_patched64(lo.t_offset_at[3], lo.t_off[2], BN_E_FORMAT, "two tensors at one offset");
    assert_non_null(strstr(msg, "overlaps"));
    msg = expect_patched64(lo.t_offset_at[0], lo.t_off[1] + 64, BN_E_FORMAT, "inside another tensor");
    assert_non_null(strstr(msg, "overlaps"));
    /* Slots with alignment 64: F16 210 bytes at 0, I2_S 288 at 256, TQ2_0 at 576,
     * TQ1_0 at 768, Q8_0 136 at 832, F32 480 at 1024, BF16 at 1536. */
    assert_int_equal(lo.t_off[4], 832);
    assert_int_equal(lo.t_off[5], 1024);
    size_t size2;
    uint8_t *f = ref_file(&size2, NULL);
    gb_put_u64(f, lo.t_offset_at[0], 832);  /* 832 + 210 runs into the F32 at 1024 */
    gb_put_u64(f, lo.t_offset_at[4], 0);
    msg = expect_refused(f, size2, BN_E_FORMAT, "F16 swapped with the shorter Q8_0");
    assert_non_null(strstr(msg, "'token_embd.weight'"));
    assert_non_null(strstr(msg, "'four.d'"));
    free(f);
}

static void test_swapped_offsets_accepted(void **state)
{
    (void)state;
    /* Two equal-size tensors in swapped places: out of order but disjoint. */
    gguf_builder b;
    gb_init(&b);
    const uint64_t ne[1] = { 8 };
    gb_tensor_add(&b, "a", BN_TYPE_F32, 1, ne, 32, NULL);
    gb_tensor_add(&b, "b", BN_TYPE_F32, 1, ne, 32, NULL);
    size_t size;
    gb_layout lo;
    uint8_t *f = gb_build(&b, &size, &lo);
    gb_free(&b);
    gb_put_u64(f, lo.t_offset_at[0], 32);
    gb_put_u64(f, lo.t_offset_at[1], 0);
    bn_gguf *g = NULL;
    assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
    assert_int_equal(bn_gguf_find_tensor(g, "a")->offset, 32);
    assert_ptr_equal(bn_gguf_find_tensor(g, "b")->data, f + lo.data_at);
    bn_gguf_close(g);
    free(f);
}

static void test_bad_header(void **state)
{
    (void)state;
    size_t size;
    gb_layout lo;
    free(ref_file(&size, &lo));
    const char *msg = expect_patched32(lo.version_at, 1, BN_E_UNSUPPORTED, "version 1");
    assert_non_null(strstr(msg, "version 1"));
    msg = expect_patched32(lo.version_at, 4, BN_E_UNSUPPORTED, "version 4");
    assert_non_null(strstr(msg, "version 4"));
    expect_patched32(lo.version_at, 0, BN_E_FORMAT, "version 0");
    msg = expect_patched32(lo.version_at, 0x03000000, BN_E_UNSUPPORTED, "big-endian v3");
    assert_non_null(strstr(msg, "big-endian"));
    msg = expect_patched32(0, 0x47475546, BN_E_FORMAT, "magic FUGG");
    assert_non_null(strstr(msg, "magic"));
    expect_patched32(0, 0, BN_E_FORMAT, "magic zero");
}

/* A file built from the reference with one kv added or changed. */
typedef void (*mutate_fn)(gguf_builder *b);

static const char *expect_built(mutate_fn fn, bn_status want, const char *what)
{
    gguf_builder b;
    ref_builder(&b, 64);
    fn(&b);
    size_t size;
    uint8_t *f = gb_build(&b, &size, NULL);
    gb_free(&b);
    static char msg[512];
    snprintf(msg, sizeof msg, "%s", expect_refused(f, size, want, what));
    free(f);
    return msg;
}

static void dup_key(gguf_builder *b) { gb_u8(b, "t.u16", 1); }
static void dup_alignment(gguf_builder *b) { gb_u32(b, "general.alignment", 64); }
static void empty_key(gguf_builder *b) { gb_u8(b, "", 1); }
static void nul_in_key(gguf_builder *b) { gb_kv_raw(b, "a\0b", 3, BN_GGUF_UINT8, "\1", 1); }
static void long_key(gguf_builder *b)
{
    char *key = malloc(70000);
    memset(key, 'k', 69999);
    key[69999] = '\0';
    gb_u8(b, key, 1);
    free(key);
}
static void dup_tensor(gguf_builder *b)
{
    const uint64_t ne[1] = { 4 };
    gb_tensor_add(b, "output.weight", BN_TYPE_F32, 1, ne, 16, NULL);
}
static void long_tensor_name(gguf_builder *b)
{
    char name[300];
    memset(name, 'n', 299);
    name[299] = '\0';
    const uint64_t ne[1] = { 4 };
    gb_tensor_add(b, name, BN_TYPE_F32, 1, ne, 16, NULL);
}
static void empty_tensor_name(gguf_builder *b)
{
    const uint64_t ne[1] = { 4 };
    gb_tensor_add(b, "", BN_TYPE_F32, 1, ne, 16, NULL);
}
static void deep_nesting(gguf_builder *b)
{
    gb_buf v = { 0 };
    for (int i = 0; i < 9; i++) {
        gbuf_u32(&v, BN_GGUF_ARRAY);
        gbuf_u64(&v, 1);
    }
    gbuf_u32(&v, BN_GGUF_UINT8);
    gbuf_u64(&v, 0);
    gb_kv_raw(b, "t.deep", 6, BN_GGUF_ARRAY, v.p, v.n);
    gbuf_free(&v);
}

static void test_duplicates_and_names(void **state)
{
    (void)state;
    const char *msg = expect_built(dup_key, BN_E_FORMAT, "duplicate key");
    assert_non_null(strstr(msg, "'t.u16'"));
    assert_non_null(strstr(msg, "twice"));
    expect_built(dup_alignment, BN_E_FORMAT, "duplicate general.alignment");
    msg = expect_built(empty_key, BN_E_FORMAT, "empty key");
    assert_non_null(strstr(msg, "empty"));
    expect_built(nul_in_key, BN_E_FORMAT, "NUL in key");
    expect_built(long_key, BN_E_FORMAT, "69999-byte key");
    msg = expect_built(dup_tensor, BN_E_FORMAT, "duplicate tensor");
    assert_non_null(strstr(msg, "'output.weight'"));
    expect_built(long_tensor_name, BN_E_FORMAT, "299-byte tensor name");
    expect_built(empty_tensor_name, BN_E_FORMAT, "empty tensor name");
    msg = expect_built(deep_nesting, BN_E_FORMAT, "arrays nested 10 deep");
    assert_non_null(strstr(msg, "nested"));
}

static void test_bad_alignment(void **state)
{
    (void)state;
    static const uint32_t bad[] = { 0, 3, 48, 0x80000001u };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        gguf_builder b;
        gb_init(&b);
        gb_u32(&b, "general.alignment", bad[k]);
        size_t size;
        uint8_t *f = gb_build(&b, &size, NULL);
        gb_free(&b);
        const char *msg = expect_refused(f, size, BN_E_FORMAT, "bad alignment");
        assert_non_null(strstr(msg, "general.alignment"));
        free(f);
    }
    gguf_builder b;
    gb_init(&b);
    gb_u64(&b, "general.alignment", 32);
    size_t size;
    uint8_t *f = gb_build(&b, &size, NULL);
    gb_free(&b);
    const char *msg = expect_refused(f, size, BN_E_FORMAT, "alignment as uint64");
    assert_non_null(strstr(msg, "uint32"));
    free(f);
    /* Alignment 1 and a large power of two are legal. */
    static const uint32_t good[] = { 1, 4096 };
    for (size_t k = 0; k < 2; k++) {
        gb_init(&b);
        gb_u32(&b, "general.alignment", good[k]);
        b.alignment = good[k];
        const uint64_t ne[1] = { 3 };
        gb_tensor_add(&b, "x", BN_TYPE_I8, 1, ne, 3, NULL);
        gb_tensor_add(&b, "y", BN_TYPE_I8, 1, ne, 3, NULL);
        gb_layout lo;
        f = gb_build(&b, &size, &lo);
        gb_free(&b);
        bn_gguf *g = NULL;
        assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
        assert_int_equal(bn_gguf_alignment(g), good[k]);
        assert_int_equal(bn_gguf_find_tensor(g, "y")->offset, good[k] == 1 ? 3 : 4096);
        assert_int_equal(lo.data_at % good[k], 0);
        bn_gguf_close(g);
        free(f);
    }
}

/* A vocabulary the size of Llama 3's: opening indexes it, lookups are direct. */
static void test_big_vocabulary(void **state)
{
    (void)state;
    enum { N_TOK = 128256, N_MERGES = 280147 };
    gb_buf v = { 0 };
    gbuf_u32(&v, BN_GGUF_STRING);
    gbuf_u64(&v, N_TOK);
    char s[32];
    for (int i = 0; i < N_TOK; i++) {
        snprintf(s, sizeof s, "tok%d", i);
        gbuf_str(&v, s);
    }
    gb_buf m = { 0 };
    gbuf_u32(&m, BN_GGUF_STRING);
    gbuf_u64(&m, N_MERGES);
    for (int i = 0; i < N_MERGES; i++) {
        snprintf(s, sizeof s, "m%d %d", i % 1000, i);
        gbuf_str(&m, s);
    }
    gguf_builder b;
    gb_init(&b);
    gb_kv_raw(&b, "tokenizer.ggml.tokens", 21, BN_GGUF_ARRAY, v.p, v.n);
    gb_kv_raw(&b, "tokenizer.ggml.merges", 21, BN_GGUF_ARRAY, m.p, m.n);
    gbuf_free(&v);
    gbuf_free(&m);
    size_t size;
    uint8_t *f = gb_build(&b, &size, NULL);
    gb_free(&b);
    bn_gguf *g = NULL;
    assert_int_equal(bn_gguf_open_memory(f, size, &g), BN_OK);
    const bn_gguf_kv *tok = bn_gguf_find(g, "tokenizer.ggml.tokens");
    const bn_gguf_kv *mer = bn_gguf_find(g, "tokenizer.ggml.merges");
    assert_int_equal(tok->v.arr.n, N_TOK);
    assert_int_equal(mer->v.arr.n, N_MERGES);
    for (int i = N_TOK - 1; i >= 0; i -= 997) {
        snprintf(s, sizeof s, "tok%d", i);
        bn_gguf_str t = bn_gguf_arr_str(g, tok, (uint64_t)i);
        assert_int_equal(t.len, strlen(s));
        assert_memory_equal(t.ptr, s, t.len);
    }
    for (int i = 0; i < N_MERGES; i += 1009) {
        snprintf(s, sizeof s, "m%d %d", i % 1000, i);
        bn_gguf_str t = bn_gguf_arr_str(g, mer, (uint64_t)i);
        assert_int_equal(t.len, strlen(s));
        assert_memory_equal(t.ptr, s, t.len);
    }
    bn_gguf_str last = bn_gguf_arr_str(g, mer, N_MERGES - 1);
    assert_memory_equal(last.ptr, "m146 280146", 11);
    bn_gguf_close(g);
    free(f);
}

/* The oracle model shipped beside the repository, when it is there. */
static void test_oracle_file(void **state)
{
    (void)state;
    const char *dir = getenv("BN_SHARED_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/oracle/A.gguf", dir ? dir : "../shared");
    if (access(path, R_OK) != 0) {
        skip();
        return;
    }
    bn_gguf *g = NULL;
    assert_int_equal(bn_gguf_open(path, 1, &g), BN_OK);
    assert_int_equal(bn_gguf_version(g), 3);
    assert_int_equal(bn_gguf_alignment(g), 32);
    assert_int_equal(bn_gguf_size(g), 682176);
    assert_int_equal(bn_gguf_n_kv(g), 22);
    assert_int_equal(bn_gguf_n_tensors(g), 24);
    bn_gguf_str s;
    assert_int_equal(bn_gguf_get_str(g, "general.architecture", &s), BN_OK);
    assert_int_equal(s.len, 12);
    assert_memory_equal(s.ptr, "bitnet-b1.58", 12);
    int64_t v;
    assert_int_equal(bn_gguf_get_int(g, "bitnet-b1.58.embedding_length", &v), BN_OK);
    assert_int_equal(v, 256);
    assert_int_equal(bn_gguf_get_int(g, "tokenizer.ggml.add_bos_token", &v), BN_OK);
    assert_int_equal(v, 1);
    double d;
    assert_int_equal(bn_gguf_get_float(g, "bitnet-b1.58.rope.freq_base", &d), BN_OK);
    assert_true(d == 500000.0);
    const bn_gguf_kv *tok = bn_gguf_find(g, "tokenizer.ggml.tokens");
    const bn_gguf_kv *mer = bn_gguf_find(g, "tokenizer.ggml.merges");
    assert_int_equal(tok->v.arr.n, 512);
    assert_int_equal(mer->v.arr.n, 253);
    s = bn_gguf_arr_str(g, mer, 0);
    assert_int_equal(s.len, 4);
    assert_memory_equal(s.ptr, "\xc4\xa0 t", 4);
    s = bn_gguf_arr_str(g, tok, 0);
    assert_memory_equal(s.ptr, "\xc4\x80", 2);

    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "token_embd.weight");
    assert_int_equal(t->type, BN_TYPE_F16);
    assert_int_equal(t->ne[0], 256);
    assert_int_equal(t->ne[1], 512);
    assert_int_equal(t->n_bytes, 262144);
    assert_int_equal(t->offset, 0);
    assert_ptr_equal(t->data, bn_gguf_base(g) + 13056);  /* header of 13027 bytes, padded to 32 */
    t = bn_gguf_find_tensor(g, "blk.0.attn_q.weight");
    assert_int_equal(t->type, BN_TYPE_I2_S);
    assert_int_equal(t->n_bytes, 256 * 256 / 4 + 32);
    assert_int_equal(t->offset, 264192);
    t = bn_gguf_find_tensor(g, "blk.1.ffn_down.weight");
    assert_int_equal(t->ne[0], 768);
    assert_int_equal(t->ne[1], 256);
    assert_int_equal(t->n_bytes, 768 * 256 / 4 + 32);
    int n_i2s = 0;
    uint64_t end = 0;
    for (int64_t i = 0; i < bn_gguf_n_tensors(g); i++) {
        t = bn_gguf_tensor_at(g, i);
        if (t->type == BN_TYPE_I2_S) {
            n_i2s++;
            assert_int_equal(t->n_dims, 2);
            assert_int_equal(t->n_bytes, t->ne[0] * t->ne[1] / 4 + 32);
        } else {
            assert_true(t->type == BN_TYPE_F32 || t->type == BN_TYPE_F16);
        }
        if (t->offset + t->n_bytes > end)
            end = t->offset + t->n_bytes;
    }
    assert_int_equal(n_i2s, 14);
    assert_int_equal(13056 + end, 682176);
    bn_gguf_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_back_every_value),
        cmocka_unit_test(test_version2_and_default_alignment),
        cmocka_unit_test(test_empty_file_and_header_only),
        cmocka_unit_test(test_open_file_mmap_and_read),
        cmocka_unit_test(test_open_missing_and_directory),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_cut_off_last_tensor),
        cmocka_unit_test(test_huge_counts_and_lengths),
        cmocka_unit_test(test_bad_types),
        cmocka_unit_test(test_bad_tensor_shapes),
        cmocka_unit_test(test_bad_offsets),
        cmocka_unit_test(test_swapped_offsets_accepted),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_duplicates_and_names),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_big_vocabulary),
        cmocka_unit_test(test_oracle_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
