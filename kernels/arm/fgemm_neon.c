/* Advanced SIMD dense GEMM in the canonical float order of kernels.h: the 16
 * lanes are four float32x4_t (lanes 0-3, 4-7, 8-11, 12-15), each product and
 * its sum one fmla (fmaf's single rounding). */
#include <arm_neon.h>
#include <string.h>

#include "arm/kernels_arm.h"
#include "fp16.h"
#include "fgemm_elem.h"
#include "ggml_types.h"
#include "scalar/dense_scalar.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Pseudo-type: a float buffer already dequantized. */
#define BUF_F32 0xffffffffu

/* Elements of block-quantized rows dequantized at a time (a multiple of every
 * block size), and tokens served per dequantized chunk. */
#define CHUNK 256
#define TOKS 16

typedef struct {
    float32x4_t v[4];
} lanes16;

/* The canonical reduction: l[i] += l[i+8], l[i] += l[i+4], l[i] += l[i+2], l[0] + l[1]. */
ALWAYS_INLINE float lane_sum(lanes16 a)
{
    float32x4_t s4 = vaddq_f32(vaddq_f32(a.v[0], a.v[2]), vaddq_f32(a.v[1], a.v[3]));
    float32x2_t s2 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));
    return vget_lane_f32(s2, 0) + vget_lane_f32(s2, 1);
}

ALWAYS_INLINE lanes16 zero16(void)
{
    lanes16 a;
    for (int i = 0; i < 4; i++)
        a.v[i] = vdupq_n_f32(0.0f);
    return a;
}

/* Weights k .. k+15 of a row as floats (exact conversions). */
ALWAYS_INLINE lanes16 load16(uint32_t type, const uint8_t *row, int64_t k)
{
    lanes16 w;
    if (type == BN_TYPE_F16 || type == BN_TYPE_F16X2) {  /* F16X2: k % 16 == 0, chunks 64 bytes apart */
        for (int i = 0; i < 2; i++) {
            float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(row + (type == BN_TYPE_F16 ? 2 : 4) * k + 16 * i));
            w.v[2 * i] = vcvt_f32_f16(vget_low_f16(h));
            w.v[2 * i + 1] = vcvt_high_f32_f16(h);
        }
    } else if (type == BN_TYPE_BF16) {
        for (int i = 0; i < 2; i++) {
            uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(row + 2 * k + 16 * i));
            w.v[2 * i] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
            w.v[2 * i + 1] = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
        }
    } else {  /* F32 or BUF_F32 */
        for (int i = 0; i < 4; i++)
            w.v[i] = vreinterpretq_f32_u8(vld1q_u8(row + 4 * k + 16 * i));
    }
    return w;
}

ALWAYS_INLINE void mac(lanes16 *acc, lanes16 w, const float *x)
{
    for (int i = 0; i < 4; i++)
        acc->v[i] = vfmaq_f32(acc->v[i], w.v[i], vld1q_f32(x + 4 * i));
}

/* One row x T tokens of an element type (F32, F16, BF16): each group of 16
 * weights is converted once and serves all T tokens. A ragged tail goes
 * through zero-padded copies, the padding of the canonical order. */
ALWAYS_INLINE void etile(uint32_t type, const uint8_t *row, int64_t cols, const float *x, int T, float out[4])
{
    lanes16 acc[4];
    for (int j = 0; j < T; j++)
        acc[j] = zero16();
    const int64_t kn = cols & ~(int64_t)15;
    for (int64_t k = 0; k < kn; k += 16) {
        lanes16 w = load16(type, row, k);
        for (int j = 0; j < T; j++)
            mac(&acc[j], w, x + j * cols + k);
    }
    if (kn < cols) {
        int rem = (int)(cols - kn);
        float wt[16] = {0};
        bn_dequant_row_scalar(type, row + (size_t)kn * (type == BN_TYPE_F16 || type == BN_TYPE_BF16 ? 2 : 4), wt, rem);
        lanes16 w = load16(BUF_F32, (const uint8_t *)wt, 0);
        for (int j = 0; j < T; j++) {
            float xt[16] = {0};
            memcpy(xt, x + j * cols + kn, (size_t)rem * sizeof *xt);
            mac(&acc[j], w, xt);
        }
    }
    for (int j = 0; j < T; j++)
        out[j] = lane_sum(acc[j]);
}

#define ETILE(NAME, TYPE, T)                                                                            \
    static void etile_##NAME##_##T(const uint8_t *row, int64_t cols, const float *x, float out[4])     \
    {                                                                                                   \
        etile(TYPE, row, cols, x, T, out);                                                              \
    }
#define ETILES(NAME, TYPE)                                                                              \
    ETILE(NAME, TYPE, 1) ETILE(NAME, TYPE, 2) ETILE(NAME, TYPE, 3) ETILE(NAME, TYPE, 4)                \
    static bn_etile_fn *const etiles_##NAME[5] = {NULL, etile_##NAME##_1, etile_##NAME##_2,             \
                                                  etile_##NAME##_3, etile_##NAME##_4};
ETILES(f32, BN_TYPE_F32)
ETILES(f16, BN_TYPE_F16)
ETILES(f16x2, BN_TYPE_F16X2)
ETILES(bf16, BN_TYPE_BF16)

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* 16 integers (as four int32x4) to floats, stored. */
ALWAYS_INLINE void store16_s32(float *out, int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d, float32x4_t f)
{
    vst1q_f32(out, vmulq_f32(vcvtq_f32_s32(a), f));
    vst1q_f32(out + 4, vmulq_f32(vcvtq_f32_s32(b), f));
    vst1q_f32(out + 8, vmulq_f32(vcvtq_f32_s32(c), f));
    vst1q_f32(out + 12, vmulq_f32(vcvtq_f32_s32(d), f));
}

/* 16 signed bytes to floats times f: (float)q * f lane by lane. */
ALWAYS_INLINE void store16_s8(float *out, int8x16_t v, float32x4_t f)
{
    int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
    store16_s32(out, vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo), vmovl_s16(vget_low_s16(hi)),
                vmovl_high_s16(hi), f);
}

/* The dequantizers below compute every value with the scalar code's formula
 * and operation order (kernels/scalar/dense_scalar.c): per-block factors from
 * the same scalar expressions, exact integer conversions, and each multiply
 * and subtract its own instruction, so the floats are bit-identical. */

/* Q8_0: y = (float)q * d. */
static void dequant_q8_0(const uint8_t *b, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 32, b += 34) {
        float32x4_t d = vdupq_n_f32(bn_f16_to_f32(rd16(b)));
        store16_s8(out + i, vld1q_s8((const int8_t *)(b + 2)), d);
        store16_s8(out + i + 16, vld1q_s8((const int8_t *)(b + 18)), d);
    }
}

/* Q4_K: y = (d * sc) * q - dmin * m per 32-value sub-block. */
static void dequant_q4_k(const uint8_t *b, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 256, b += 144) {
        float d = bn_f16_to_f32(rd16(b)), dmin = bn_f16_to_f32(rd16(b + 2));
        const uint8_t *sc = b + 4, *qs = b + 16;
        for (int j = 0; j < 8; j++) {  /* sub-block j: low nibbles (even j) or high nibbles (odd j) */
            int sv = j < 4 ? sc[j] & 63 : (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
            int mv = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
            float32x4_t d1 = vdupq_n_f32(d * (float)sv), m1 = vdupq_n_f32(dmin * (float)mv);
            for (int h = 0; h < 2; h++) {
                uint8x16_t v = vld1q_u8(qs + 32 * (j / 2) + 16 * h);
                v = j % 2 ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0x0f));
                uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_high_u8(v);
                float32x4_t f[4] = {vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))), vcvtq_f32_u32(vmovl_high_u16(lo)),
                                    vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))), vcvtq_f32_u32(vmovl_high_u16(hi))};
                float *o = out + i + 32 * j + 16 * h;
                for (int k = 0; k < 4; k++)
                    vst1q_f32(o + 4 * k, vsubq_f32(vmulq_f32(d1, f[k]), m1));
            }
        }
    }
}

/* Q6_K: y = (d * scale) * (q - 32), one int8 scale per 16 values. */
static void dequant_q6_k(const uint8_t *b, float *out, int64_t n)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(3);
    const int8x16_t k32 = vdupq_n_s8(32);
    for (int64_t i = 0; i < n; i += 256, b += 210) {
        float d = bn_f16_to_f32(rd16(b + 208));
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {  /* values 16*half .. 16*half + 15 of each group */
                const uint8_t *ql = b + 64 * h + 16 * half, *qh = b + 128 + 32 * h + 16 * half;
                uint8x16_t la = vld1q_u8(ql), lb = vld1q_u8(ql + 32), hv = vld1q_u8(qh);
                uint8x16_t g[4];
                g[0] = vorrq_u8(vandq_u8(la, m4), vshlq_n_u8(vandq_u8(hv, m3), 4));
                g[1] = vorrq_u8(vandq_u8(lb, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hv, 2), m3), 4));
                g[2] = vorrq_u8(vshrq_n_u8(la, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hv, 4), m3), 4));
                g[3] = vorrq_u8(vshrq_n_u8(lb, 4), vshlq_n_u8(vshrq_n_u8(hv, 6), 4));
                for (int gi = 0; gi < 4; gi++) {
                    float32x4_t f = vdupq_n_f32(d * (float)sc[8 * h + half + 2 * gi]);
                    store16_s8(out + i + 128 * h + 32 * gi + 16 * half, vsubq_s8(vreinterpretq_s8_u8(g[gi]), k32), f);
                }
            }
    }
}

/* A chunk of a block-quantized row to floats (other types: the scalar code). */
static void dequant_chunk(uint32_t type, const uint8_t *src, float *buf, int64_t len)
{
    switch (type) {
    case BN_TYPE_Q8_0: dequant_q8_0(src, buf, len); break;
    case BN_TYPE_Q4_K: dequant_q4_k(src, buf, len); break;
    case BN_TYPE_Q6_K: dequant_q6_k(src, buf, len); break;
    default: bn_dequant_row_scalar(type, src, buf, len); break;
    }
}

/* Block-quantized rows: dequantize a chunk once, then run every token of the
 * group over it, carrying each token's lanes from chunk to chunk. */
static void fgemm_blocks(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                         const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    const bn_type_traits *tt = bn_type_get(type);
    float buf[CHUNK];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t t0 = 0; t0 < n_tok; t0 += TOKS) {
            int T = n_tok - t0 < TOKS ? (int)(n_tok - t0) : TOKS;
            lanes16 acc[TOKS];
            for (int j = 0; j < T; j++)
                acc[j] = zero16();
            for (int64_t k0 = 0; k0 < cols; k0 += CHUNK) {
                int64_t len = cols - k0 < CHUNK ? cols - k0 : CHUNK;
                const uint8_t *src = row + (size_t)(k0 / tt->block_size) * tt->block_bytes;
                dequant_chunk(type, src, buf, len);
                for (int j = 0; j < T; j++) {
                    const float *xt = x + (t0 + j) * cols + k0;
                    lanes16 a = acc[j];
                    for (int64_t k = 0; k < len; k += 16)
                        mac(&a, load16(BUF_F32, (const uint8_t *)buf, k), xt + k);
                    acc[j] = a;
                }
            }
            for (int j = 0; j < T; j++)
                y[(t0 + j) * ldy + r] = lane_sum(acc[j]);
        }
    }
}

/* Decode over F16 rows in pairs: both rows of a pair at once, each in its own
 * lanes (the order of etile for each), reading the pair's single stream. A
 * range that starts or ends inside a pair computes the whole pair (its lines
 * hold both rows; the layout pads an odd count) and keeps its rows. */
static void erows_f16x2(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols, const float *x,
                        float *y)
{
    for (int64_t r = r0 & ~(int64_t)1; r < r1; r += 2) {
        const uint8_t *pair = bn_f16x2_row(w, row_bytes, r);
        lanes16 a = zero16(), b = zero16();
        for (int64_t k = 0; k < cols; k += 16) {
            mac(&a, load16(BN_TYPE_F16, pair + 4 * k, 0), x + k);
            mac(&b, load16(BN_TYPE_F16, pair + 4 * k + 32, 0), x + k);
        }
        if (r >= r0)
            y[r] = lane_sum(a);
        if (r + 1 < r1)
            y[r + 1] = lane_sum(b);
    }
}

void bn_fgemm_neon(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    if (type == BN_TYPE_F16X2 && n_tok == 1) {
        erows_f16x2(w, row_bytes, r0, r1, cols, x, y);
        return;
    }
    switch (type) {
    case BN_TYPE_F32: bn_fgemm_elem(etiles_f32, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16: bn_fgemm_elem(etiles_f16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16X2: bn_fgemm_elem(etiles_f16x2, 1, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_BF16: bn_fgemm_elem(etiles_bf16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    default: fgemm_blocks(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    }
}
