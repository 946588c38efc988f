/* aarch64 attention over the f16 KV cache (kernels.h: bn_kernels.attn): the
 * scalar reference's loops (attn_scalar.c) with each cached row converted by
 * `fcvtl` (exact) and the dot products and weighted sums four lanes an
 * instruction. dot8's lanes 0-3 and 4-7 are two vectors; each product and
 * its sum is one `fmla` (fused, as the reference's fmaf), so the result is
 * the scalar code's, bit for bit. A call's tokens share each converted row. */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "arm/kernels_arm.h"
#include "ggml_types.h"
#include "scalar/dense_scalar.h"

static float dot8(const float *q, const float *k, int d)
{
    float32x4_t a = vdupq_n_f32(0.0f), b = a;
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        a = vfmaq_f32(a, vld1q_f32(q + i), vld1q_f32(k + i));
        b = vfmaq_f32(b, vld1q_f32(q + i + 4), vld1q_f32(k + i + 4));
    }
    float l[8];
    vst1q_f32(l, a);
    vst1q_f32(l + 4, b);
    for (; i < d; i++)
        l[i % 8] = fmaf(q[i], k[i], l[i % 8]);
    return bn_lane_sum8(l);
}

/* Each cached row is converted once for all the tokens of the call: token t
 * takes positions below n_kv + t, so a row at p serves tokens from
 * p - n_kv + 1 on (each head's operations and their order are those of one
 * token alone). */
static uint32_t first_token(uint32_t p, uint32_t n_kv)
{
    return p < n_kv ? 0 : p - n_kv + 1;
}

void bn_attn_neon(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                  size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                  float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes)
{
    (void)cold, (void)next, (void)next_bytes;  /* no prefetching here */
    const uint32_t n_pos = n_kv + n_tok - 1;
    for (uint32_t p = 0; p < n_pos; p++) {
        bn_dequant_row_neon(BN_TYPE_F16, k + p * kv_stride, row, d);
        for (uint32_t t = first_token(p, n_kv); t < n_tok; t++)
            for (int g = 0; g < group; g++)
                scores[((size_t)t * group + g) * sc_stride + p] = dot8(q + t * q_stride + (size_t)g * d, row, d) * scale;
    }
    for (uint32_t t = 0; t < n_tok; t++) {
        bn_attn_softmax(scores + (size_t)t * group * sc_stride, sc_stride, group, n_kv + t);
        memset(out + t * out_stride, 0, (size_t)group * (size_t)d * sizeof *out);
    }
    for (uint32_t p = 0; p < n_pos; p++) {
        bn_dequant_row_neon(BN_TYPE_F16, v + p * kv_stride, row, d);
        for (uint32_t t = first_token(p, n_kv); t < n_tok; t++)
            for (int g = 0; g < group; g++) {
                float w = scores[((size_t)t * group + g) * sc_stride + p], *o = out + t * out_stride + (size_t)g * d;
                float32x4_t vw = vdupq_n_f32(w);
                int i = 0;
                for (; i + 4 <= d; i += 4)
                    vst1q_f32(o + i, vfmaq_f32(vld1q_f32(o + i), vw, vld1q_f32(row + i)));
                for (; i < d; i++)
                    o[i] = fmaf(w, row[i], o[i]);
            }
    }
}
