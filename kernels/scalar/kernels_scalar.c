/* The scalar kernels: plain C, written to be read. They are the specification
 * every SIMD variant is checked against (tests/checkkernels.c). */
#include <math.h>
#include <string.h>

#include "fp16.h"
#include "ggml_types.h"
#include "kernels.h"
#include "scalar/dense_scalar.h"

static void quantize_act(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum)
{
    float amax = bn_absmax(x, n);
    float s = 127.0f / fmaxf(amax, 1e-5f);
    int32_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = rintf(x[i] * s);  /* round half to even (default rounding mode) */
        v = fminf(fmaxf(v, -127.0f), 127.0f);
        q[i] = (int8_t)v;
        total += q[i];
    }
    *scale = s;
    *sum = total;
}

/* Code (0, 1, 2) of weight (r, k) of a ternary matrix (layout: bn_tmat). */
static inline int code_at(const bn_tmat *w, int64_t r, int64_t k)
{
    const uint8_t *blk = w->codes + bn_tmat_block(w->cols, r, k / 128);
    int j = (int)(k % 128);
    return (blk[j % 32] >> (6 - 2 * (j / 32))) & 3;
}

static void tgemm(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                  const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t t = 0; t < n_tok; t++) {
            const int8_t *qt = q + t * cols;
            int32_t isum = 0;
            for (int64_t k = 0; k < cols; k++)
                isum += (code_at(w, r, k) - 1) * qt[k];
            y[t * ldy + r] = ((float)isum / act_scale[t]) * w->scale;
        }
    }
    (void)act_sum;
}

static void i8gemm(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   int64_t n_tok, float *y, int64_t ldy)
{
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *row = w->q + r * cols;
        for (int64_t t = 0; t < n_tok; t++) {
            const int8_t *qt = q + t * cols;
            int32_t isum = 0;
            for (int64_t k = 0; k < cols; k++)
                isum += row[k] * qt[k];
            y[t * ldy + r] = ((float)isum / act_scale[t]) * w->scale[r];
        }
    }
}

static void dequant_row(uint32_t type, const void *row, float *out, int64_t n)
{
    bn_dequant_row_scalar(type, row, out, n);
}

/* Elements dequantized at a time: a multiple of every dense block size. */
#define CHUNK 256

static void fgemm(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                  const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    int pairs = type == BN_TYPE_F16X2;
    const bn_type_traits *tt = bn_type_get(pairs ? BN_TYPE_F16 : type);
    float buf[CHUNK];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = pairs ? bn_f16x2_row(w, row_bytes, r) : (const uint8_t *)w + (size_t)r * row_bytes;
        for (int64_t t = 0; t < n_tok; t++) {
            const float *xt = x + t * cols;
            float lane[16] = {0};
            for (int64_t k0 = 0; k0 < cols; k0 += CHUNK) {
                int64_t len = cols - k0 < CHUNK ? cols - k0 : CHUNK;
                /* Dequantizing per token keeps this simple; speed is the SIMD kernels' job. */
                size_t at = pairs ? (size_t)(4 * k0) : (size_t)(k0 / tt->block_size) * tt->block_bytes;
                bn_dequant_row_scalar(type, row + at, buf, len);
                for (int64_t k = 0; k < len; k++)
                    lane[(k0 + k) % 16] = fmaf(buf[k], xt[k0 + k], lane[(k0 + k) % 16]);
            }
            /* the zeros up to a multiple of 16: they turn a lane's -0 (a
             * product that underflowed) into +0, as SIMD tails do */
            for (int64_t k = cols; k % 16; k++)
                lane[k % 16] = fmaf(0.0f, 0.0f, lane[k % 16]);
            y[t * ldy + r] = bn_lane_sum16(lane);
        }
    }
}

const bn_kernels bn_kernels_scalar = {
    .level = BN_CPU_SCALAR,
    .quantize_act = quantize_act,
    .tgemm = tgemm,
    .fgemm = fgemm,
    .dequant_row = dequant_row,
    .i8gemm = i8gemm,
    .to_f16 = bn_to_f16_scalar,
    .attn = bn_attn_scalar,
    .glu = bn_glu_scalar,
    .rmsnorm = bn_rmsnorm_scalar,
};
