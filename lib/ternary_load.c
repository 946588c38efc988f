/* Ternary weights of every file type (I2_S, TQ2_0, TQ1_0) into the kernels'
 * layout (kernels/kernels.h: I2_S x86 blocks in groups of rows, codes 0/1/2,
 * one scale), in the model's ternary region. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp16.h"
#include "ggml_types.h"
#include "model.h"

/* Room for a matrix in the kernels' layout, the padding rows of its last
 * group already code 1 (weight 0); the rest is overwritten. */
static bn_status new_codes(bn_model *m, const bn_gguf_tensor *t, int64_t rows, int64_t cols, uint8_t **out)
{
    size_t n = bn_tmat_bytes(rows, cols);
    uint8_t *codes = bn_model_tarena_take(m, n);
    if (!codes)
        return bn_fail(BN_E_NOMEM, "tensor '%s': no room for %zu bytes of repacked weights", t->name, n);
    int64_t full = rows / BN_TGROUP * BN_TGROUP;
    if (full < rows)
        memset(codes + bn_tmat_block(cols, full, 0), 0x55, (size_t)cols);
    *out = codes;
    return BN_OK;
}

/* I2_S rows are blocks of the kernels' layout already: they move to their
 * group. bitnet.cpp writes code 3 nowhere but reads it as 0; it becomes 1
 * here, so the kernels may assume codes 0..2. */
static bn_status load_i2s(bn_model *m, const bn_gguf_tensor *t, bn_tmat *out)
{
    const int64_t rows = out->rows, cols = out->cols, nblk = cols / 128;
    const uint8_t *src = t->data;
    float scale;
    memcpy(&scale, src + rows * cols / 4, sizeof scale);
    if (!isfinite(scale))
        return bn_fail(BN_E_FORMAT, "tensor '%s': I2_S scale is not finite", t->name);
    out->scale = scale;
    uint8_t *codes = NULL;
    bn_status st = new_codes(m, t, rows, cols, &codes);
    if (st != BN_OK)
        return st;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < nblk; b++) {
            const uint8_t *s = src + r * (cols / 4) + 32 * b;
            uint8_t *d = codes + bn_tmat_block(cols, r, b);
            for (int i = 0; i < 32; i++)
                d[i] = (uint8_t)(s[i] ^ ((s[i] & (s[i] >> 1) & 0x55) << 1));  /* 11 -> 01 */
        }
    out->codes = codes;
    bn_model_discard(m, t->data, t->n_bytes);
    return BN_OK;
}

/* The TQ types carry one fp16 scale per 256 weights; BitNet weights share one
 * scale per tensor, which is what the kernels take. A block of zeros may say
 * d = 0 (llama.cpp's quantizer does), so only nonzero scales must agree. */
static bn_status common_scale(const bn_gguf_tensor *t, uint64_t n_blocks, size_t block_bytes, size_t d_off,
                              float *scale)
{
    uint16_t d0 = 0;
    for (uint64_t b = 0; b < n_blocks; b++) {
        uint16_t d;
        memcpy(&d, t->data + b * block_bytes + d_off, 2);
        if ((d & 0x7fff) == 0)
            continue;
        if ((d & 0x7c00) == 0x7c00)
            return bn_fail(BN_E_FORMAT, "tensor '%s': block %llu has a non-finite scale", t->name,
                           (unsigned long long)b);
        if (d0 == 0)
            d0 = d;
        else if (d != d0)
            return bn_fail(BN_E_UNSUPPORTED,
                           "tensor '%s': block %llu has scale %g but block 0.. have %g; libbitnet needs one "
                           "scale per ternary tensor, as BitNet models have", t->name, (unsigned long long)b,
                           (double)bn_f16_to_f32(d), (double)bn_f16_to_f32(d0));
    }
    *scale = bn_f16_to_f32(d0);
    return BN_OK;
}

/* TQ2_0 bytes hold four weights at shifts 0, 2, 4, 6 (weights i, 32 + i,
 * 64 + i, 96 + i of a 128-weight half); the kernels' bytes hold the same four
 * at shifts 6, 4, 2, 0. Eight bytes at a time: swap the nibbles, then the
 * fields within each nibble. */
static uint64_t tq2_fields_reversed(uint64_t x)
{
    const uint64_t n4 = 0x0f0f0f0f0f0f0f0fu, n2 = 0x3333333333333333u;
    x = (x >> 4 & n4) | (x & n4) << 4;
    return (x >> 2 & n2) | (x & n2) << 2;
}

/* The 256 weights of a TQ1_0 block as codes 0..2 in the order of a TQ2_0
 * block's: five (qs[0..31]), five (qs[32..47]) and four (qh) base-3 digits
 * a byte, each digit the top of (byte * 3^n mod 256) * 3. */
static void tq1_codes(const uint8_t *blk, uint8_t trit[256])
{
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    for (int n = 0; n < 5; n++)
        for (int i = 0; i < 32; i++)
            trit[n * 32 + i] = (uint8_t)(((unsigned)(uint8_t)(blk[i] * pow3[n]) * 3) >> 8);
    for (int n = 0; n < 5; n++)
        for (int i = 0; i < 16; i++)
            trit[160 + n * 16 + i] = (uint8_t)(((unsigned)(uint8_t)(blk[32 + i] * pow3[n]) * 3) >> 8);
    for (int n = 0; n < 4; n++)
        for (int i = 0; i < 4; i++)
            trit[240 + n * 4 + i] = (uint8_t)(((unsigned)(uint8_t)(blk[48 + i] * pow3[n]) * 3) >> 8);
}

static bn_status load_tq(bn_model *m, const bn_gguf_tensor *t, bn_tmat *out)
{
    int64_t rows = (int64_t)t->ne[1], cols = (int64_t)t->ne[0];
    int tq1 = t->type == BN_TYPE_TQ1_0;
    size_t block_bytes = tq1 ? 54 : 66, d_off = tq1 ? 52 : 64;
    uint64_t n_blocks = (uint64_t)rows * (uint64_t)cols / 256;
    bn_status st = common_scale(t, n_blocks, block_bytes, d_off, &out->scale);
    if (st != BN_OK)
        return st;
    uint8_t *codes = NULL;
    if ((st = new_codes(m, t, rows, cols, &codes)) != BN_OK)
        return st;
    for (uint64_t b = 0; b < n_blocks; b++) {
        const uint8_t *blk = t->data + b * block_bytes;
        uint16_t d;
        memcpy(&d, blk + d_off, 2);
        int64_t k0 = (int64_t)(b * 256 % (uint64_t)cols), r = (int64_t)(b * 256 / (uint64_t)cols);
        /* 256 weights are two blocks of the kernels' layout: weight j of a
         * block goes to byte j % 32 at shift 6 - 2 * (j / 32). */
        uint8_t *dst[2] = { codes + bn_tmat_block(cols, r, k0 / 128), codes + bn_tmat_block(cols, r, k0 / 128 + 1) };
        if (tq1) {  /* base-3 digits are 0..2 by construction */
            uint8_t trit[256];
            tq1_codes(blk, trit);
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 32; i++) {
                    const uint8_t *tr = trit + 128 * h + i;
                    dst[h][i] = (uint8_t)(tr[0] << 6 | tr[32] << 4 | tr[64] << 2 | tr[96]);
                }
        } else {
            uint64_t three = 0;
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 32; i += 8) {
                    uint64_t x;
                    memcpy(&x, blk + 32 * h + i, 8);
                    three |= x & x >> 1 & 0x5555555555555555u;
                    x = tq2_fields_reversed(x);
                    memcpy(dst[h] + i, &x, 8);
                }
            if (three)
                return bn_fail(BN_E_FORMAT, "tensor '%s': block %llu holds code 3 (weight +2), which is not ternary",
                               t->name, (unsigned long long)b);
        }
        if ((d & 0x7fff) == 0) {  /* a block of zeros, whatever its codes say */
            memset(dst[0], 0x55, 32);
            memset(dst[1], 0x55, 32);
        }
    }
    out->codes = codes;
    bn_model_discard(m, t->data, t->n_bytes);
    return BN_OK;
}

bn_status bn_load_ternary(bn_model *m, const bn_gguf_tensor *t, bn_tmat *out)
{
    if (t->ne[2] != 1 || t->ne[3] != 1)
        return bn_fail(BN_E_FORMAT, "tensor '%s': a ternary matrix must be 2-D", t->name);
    out->rows = (int64_t)t->ne[1];
    out->cols = (int64_t)t->ne[0];
    if (out->cols % 128)
        return bn_fail(BN_E_FORMAT, "tensor '%s': row length %lld is not a multiple of 128", t->name,
                       (long long)out->cols);
    switch (t->type) {
    case BN_TYPE_I2_S: return load_i2s(m, t, out);
    case BN_TYPE_TQ1_0:
    case BN_TYPE_TQ2_0: return load_tq(m, t, out);
    }
    const bn_type_traits *tr = bn_type_get(t->type);
    return bn_fail(BN_E_UNSUPPORTED, "tensor '%s': type %s is not a ternary type (I2_S, TQ1_0, TQ2_0)", t->name,
                   tr ? tr->name : "?");
}
