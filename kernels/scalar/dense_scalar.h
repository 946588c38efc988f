/* Dequantization of the dense (non-ternary) tensor types and the canonical
 * 16-lane float sum, shared by every ISA's kernels so that they agree bit for
 * bit with the scalar reference. */
#ifndef BN_KERNELS_DENSE_SCALAR_H
#define BN_KERNELS_DENSE_SCALAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scalar/exp_canon.h"

/* n elements of a row (n a multiple of the type's block size, except for the
 * element types F32, F16, BF16) to float32, with ggml's formulas evaluated in
 * float32 without fused multiply-add. */
void bn_dequant_row_scalar(uint32_t type, const void *row, float *out, int64_t n);

/* The canonical reduction of 16 lanes: l[i] += l[i+8], l[i] += l[i+4],
 * l[i] += l[i+2], then l[0] + l[1]. Modifies lane. */
static inline float bn_lane_sum16(float *lane)
{
    for (int i = 0; i < 8; i++)
        lane[i] = lane[i] + lane[i + 8];
    for (int i = 0; i < 4; i++)
        lane[i] = lane[i] + lane[i + 4];
    for (int i = 0; i < 2; i++)
        lane[i] = lane[i] + lane[i + 2];
    return lane[0] + lane[1];
}

/* The canonical end of an 8-lane float sum (attention's dot8 and softmax):
 * ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)). */
static inline float bn_lane_sum8(const float *l)
{
    return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}

/* Each of the group's score rows (n scores, rows sc_stride apart) becomes its
 * softmax: the maximum (NaN never wins; any order gives the same value),
 * e = bn_exp_canon(s - max) summed in 8 lanes (lane p % 8, in order of p;
 * then ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), dot8's end), each
 * e then multiplied by 1 / sum. */
static inline void bn_attn_softmax(float *scores, size_t sc_stride, int group, uint32_t n)
{
    for (int g = 0; g < group; g++) {
        float *sc = scores + (size_t)g * sc_stride, mx = -INFINITY, l[8] = { 0 };
        for (uint32_t p = 0; p < n; p++)
            if (sc[p] > mx)
                mx = sc[p];
        for (uint32_t p = 0; p < n; p++) {
            sc[p] = bn_exp_canon(sc[p] - mx);
            l[p % 8] += sc[p];
        }
        float inv = 1.0f / bn_lane_sum8(l);
        for (uint32_t p = 0; p < n; p++)
            sc[p] *= inv;
    }
}

/* RMSNorm's scale (bn_kernels.rmsnorm): elements [i, n) join the sixteen
 * partial sums of squares (a float squared is exact in double), then
 * l[j] += l[j + 8], the fixed tree and 1 / sqrt(mean + eps) in double. */
static inline float bn_rms_scale(double l[16], const float *x, int64_t i, int64_t n, float eps)
{
    for (; i < n; i++)
        l[i % 16] += (double)x[i] * x[i];
    for (int j = 0; j < 8; j++)
        l[j] += l[j + 8];
    double ss = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    return (float)(1.0 / sqrt(ss / (double)n + eps));
}

/* out[i] = (x[i] * r) * w[i] for elements [i, n). */
static inline void bn_rms_apply(const float *x, const float *w, float r, int64_t i, int64_t n, float *out)
{
    for (; i < n; i++)
        out[i] = x[i] * r * w[i];
}

/* bn_kernels.rmsnorm in plain C, the specification (aarch64 uses it too:
 * the compiler keeps the sixteen sums in vector registers). */
void bn_rmsnorm_scalar(const float *x, const float *w, int64_t n, float eps, float *out);

/* bn_kernels.glu in plain C (aarch64 uses it too: the compiler vectorizes
 * it with the same operations). */
void bn_glu_scalar(int act, float *g, const float *u, int64_t n);

/* bn_kernels.to_f16 in plain C. */
void bn_to_f16_scalar(const float *x, uint16_t *out, int64_t n);

/* The scalar attention (bn_kernels.attn), the specification. */
void bn_attn_scalar(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                    size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                    float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);

#endif
