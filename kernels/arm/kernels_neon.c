/* The aarch64 Advanced SIMD table and its activation quantizer. */
#include <arm_neon.h>
#include <math.h>

#include "arm/kernels_arm.h"
#include "ggml_types.h"
#include "scalar/dense_scalar.h"

/* amax by comparison and select, as the scalar code: a NaN input, quiet or
 * signalling, leaves it alone (fmaxnm would pass a signalling NaN on); the
 * NaN then quantizes to -127 (fmaxnm/fminnm return the number against a
 * quiet NaN, as fmaxf/fminf do). */
void bn_quantize_act_neon(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum)
{
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n; i += 4) {
        float32x4_t a = vabsq_f32(vld1q_f32(x + i));
        m = vbslq_f32(vcgtq_f32(a, m), a, m);
    }
    float amax = vmaxnmvq_f32(m);  /* m holds no NaN */
    float s = 127.0f / fmaxf(amax, 1e-5f);

    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    int32x4_t total = vdupq_n_s32(0);
    for (int64_t i = 0; i < n; i += 16) {
        int32x4_t v[4];
        for (int j = 0; j < 4; j++) {
            float32x4_t f = vrndnq_f32(vmulq_n_f32(vld1q_f32(x + i + 4 * j), s));
            f = vminnmq_f32(vmaxnmq_f32(f, lo), hi);
            v[j] = vcvtq_s32_f32(f);
            total = vaddq_s32(total, v[j]);
        }
        int16x8_t h0 = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
        int16x8_t h1 = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
        vst1q_s8(q + i, vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)));
    }
    *scale = s;
    *sum = vaddvq_s32(total);
}

/* F16 rows with the hardware conversion (exact, like the scalar one);
 * other types as in scalar. */
void bn_dequant_row_neon(uint32_t type, const void *row, float *out, int64_t n)
{
    if (type != BN_TYPE_F16) {
        bn_dequant_row_scalar(type, row, out, n);
        return;
    }
    const uint16_t *h = row;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + i))));
    if (i < n)
        bn_dequant_row_scalar(type, h + i, out + i, n - i);
}

/* FCVTN rounds to nearest even (the FPCR default), overflows to infinity
 * and keeps a NaN's top payload bits, quieted: what bn_f32_to_f16 does
 * (checkkernels compares them over every exponent, subnormals, infinities
 * and NaNs). */
void bn_to_f16_neon(const float *x, uint16_t *out, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(out + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    if (i < n)
        bn_to_f16_scalar(x + i, out + i, n - i);
}

const bn_kernels bn_kernels_neon = {
    .level = BN_CPU_NEON,
    .quantize_act = bn_quantize_act_neon,
    .tgemm = bn_tgemm_neon,
    .fgemm = bn_fgemm_neon,
    .dequant_row = bn_dequant_row_neon,
    .i8gemm = bn_i8gemm_neon,
    .to_f16 = bn_to_f16_neon,
    .attn = bn_attn_neon,
    .glu = bn_glu_scalar,
    .rmsnorm = bn_rmsnorm_scalar,
};
