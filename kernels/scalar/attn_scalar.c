/* The scalar reference of attention over the f16 KV cache (kernels.h:
 * bn_kernels.attn), written in the canonical order the SIMD versions keep:
 * each product and its sum one fused multiply-add (fmaf, rounded once). */
#include <math.h>
#include <string.h>

#include "ggml_types.h"
#include "scalar/dense_scalar.h"

static float dot8(const float *q, const float *k, int d)
{
    float acc[8] = { 0 };
    int i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] = fmaf(q[i + j], k[i + j], acc[j]);
    for (; i < d; i++)
        acc[i % 8] = fmaf(q[i], k[i], acc[i % 8]);
    return bn_lane_sum8(acc);
}

/* One token's heads. */
static void attn_token(const float *q, const uint16_t *k, const uint16_t *v, size_t kv_stride, uint32_t n_kv,
                       int group, int d, float scale, float *scores, size_t sc_stride, float *row, float *out)
{
    for (uint32_t p = 0; p < n_kv; p++) {
        bn_dequant_row_scalar(BN_TYPE_F16, k + p * kv_stride, row, d);
        for (int g = 0; g < group; g++)
            scores[(size_t)g * sc_stride + p] = dot8(q + g * d, row, d) * scale;
    }
    bn_attn_softmax(scores, sc_stride, group, n_kv);
    memset(out, 0, (size_t)group * (size_t)d * sizeof *out);
    for (uint32_t p = 0; p < n_kv; p++) {
        bn_dequant_row_scalar(BN_TYPE_F16, v + p * kv_stride, row, d);
        for (int g = 0; g < group; g++) {
            float w = scores[(size_t)g * sc_stride + p], *o = out + g * d;
            for (int i = 0; i < d; i++)
                o[i] = fmaf(w, row[i], o[i]);
        }
    }
}

void bn_attn_scalar(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                    size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                    float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes)
{
    (void)cold, (void)next, (void)next_bytes;  /* no prefetching here */
    for (uint32_t t = 0; t < n_tok; t++)
        attn_token(q + t * q_stride, k, v, kv_stride, n_kv + t, group, d, scale,
                   scores + (size_t)t * group * sc_stride, sc_stride, row, out + t * out_stride);
}
