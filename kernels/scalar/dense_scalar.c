/* ggml's dense block formats, dequantized in float32 (see dense_scalar.h). */
#include <string.h>

#include "fp16.h"
#include "ggml_types.h"
#include "kernels.h"
#include "scalar/dense_scalar.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void q8_0(const uint8_t *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i += 32, b += 34) {
        float d = bn_f16_to_f32(rd16(b));
        for (int j = 0; j < 32; j++)
            y[i + j] = (float)(int8_t)b[2 + j] * d;
    }
}

/* The 6-bit scale and min of sub-block j of a Q4_K block. */
static void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K: 256 values in 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit
 * scales/mins, 128 bytes of 4-bit values; y = d*sc*q - dmin*m. */
static void q4_k(const uint8_t *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i += 256, b += 144) {
        float d = bn_f16_to_f32(rd16(b)), dmin = bn_f16_to_f32(rd16(b + 2));
        const uint8_t *scales = b + 4, *qs = b + 16;
        for (int s = 0; s < 4; s++) {  /* 64 values: low nibbles, then high nibbles */
            uint8_t sc, mn;
            scale_min_k4(2 * s, scales, &sc, &mn);
            float d1 = d * (float)sc, m1 = dmin * (float)mn;
            scale_min_k4(2 * s + 1, scales, &sc, &mn);
            float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++)
                y[i + 64 * s + l] = d1 * (float)(qs[32 * s + l] & 0xF) - m1;
            for (int l = 0; l < 32; l++)
                y[i + 64 * s + 32 + l] = d2 * (float)(qs[32 * s + l] >> 4) - m2;
        }
    }
}

/* Q6_K: 256 values in 210 bytes: ql[128] (low 4 bits), qh[64] (high 2 bits),
 * int8 scales[16] (one per 16 values), fp16 d; y = (d*scale) * (q - 32). */
static void q6_k(const uint8_t *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i += 256, b += 210) {
        float d = bn_f16_to_f32(rd16(b + 208));
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int h = 0; h < 2; h++) {  /* halves of 128 values */
            const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
            float *yh = y + i + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                int is = 8 * h + l / 16;
                yh[l] = (d * (float)sc[is + 0]) * (float)q1;
                yh[l + 32] = (d * (float)sc[is + 2]) * (float)q2;
                yh[l + 64] = (d * (float)sc[is + 4]) * (float)q3;
                yh[l + 96] = (d * (float)sc[is + 6]) * (float)q4;
            }
        }
    }
}

void bn_dequant_row_scalar(uint32_t type, const void *row, float *y, int64_t n)
{
    const uint8_t *b = row;
    switch (type) {
    case BN_TYPE_F32:
        memcpy(y, b, (size_t)n * sizeof *y);
        break;
    case BN_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            y[i] = bn_f16_to_f32(rd16(b + 2 * i));
        break;
    case BN_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            y[i] = bn_bf16_to_f32(rd16(b + 2 * i));
        break;
    case BN_TYPE_F16X2:  /* a row of pairs: chunks of 16 elements, 64 bytes apart */
        for (int64_t i = 0; i < n; i++)
            y[i] = bn_f16_to_f32(rd16(b + 64 * (i / 16) + 2 * (i % 16)));
        break;
    case BN_TYPE_Q8_0: q8_0(b, y, n); break;
    case BN_TYPE_Q4_K: q4_k(b, y, n); break;
    case BN_TYPE_Q6_K: q6_k(b, y, n); break;
    default:
        /* The loader admits only the types above for dense tensors. */
        memset(y, 0, (size_t)n * sizeof *y);
        break;
    }
}

void bn_to_f16_scalar(const float *x, uint16_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = bn_f32_to_f16(x[i]);
}
