/* Unpacking of I2_S blocks for the aarch64 ternary kernels (NEON and
 * dotprod); static inline, so each includer compiles it with its own flags. */
#ifndef BN_KERNELS_TERNARY_ARM_H
#define BN_KERNELS_TERNARY_ARM_H

#include <arm_neon.h>
#include <stdint.h>

#include "kernels.h"

/* The codes (0, 1, 2) of a 32-byte block: w[2g + h] holds those of weights
 * 32g + 16h .. 32g + 16h + 15, i.e. bytes 16h .. 16h + 15 at shift 6 - 2g,
 * matching activations q[32g + 16h ..]. */
static inline __attribute__((always_inline)) void bn_unpack_i2s_neon(const uint8_t *blk, int8x16_t w[8])
{
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int h = 0; h < 2; h++) {
        uint8x16_t b = vld1q_u8(blk + 16 * h);
        w[0 + h] = vreinterpretq_s8_u8(vshrq_n_u8(b, 6));
        w[2 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3));
        w[4 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3));
        w[6 + h] = vreinterpretq_s8_u8(vandq_u8(b, m3));
    }
}


/* The activation vector that w[i] of bn_unpack_i2s_neon multiplies. */
static inline __attribute__((always_inline)) int8x16_t bn_q_for_neon(const int8_t *q, int i)
{
    return vld1q_s8(q + 32 * (i / 2) + 16 * (i % 2));
}

/* sum(code * q) of one row against up to 4 tokens (a kernel's tile); block
 * b of the row is at row + b * BN_TBLOCK_STRIDE (layout: bn_tmat). */
typedef void bn_arm_tile_fn(const uint8_t *row, int64_t cols, const int8_t *q, int32_t out[4]);

/* Defines NAME[5], the tiles for 1..4 tokens made from an always-inline
 * FN(row, cols, q, T, out), whose T becomes a constant in each. */
#define BN_ARM_TILES(NAME, FN)                                                                          \
    static void NAME##_1(const uint8_t *row, int64_t cols, const int8_t *q, int32_t out[4])            \
    {                                                                                                   \
        FN(row, cols, q, 1, out);                                                                       \
    }                                                                                                   \
    static void NAME##_2(const uint8_t *row, int64_t cols, const int8_t *q, int32_t out[4])            \
    {                                                                                                   \
        FN(row, cols, q, 2, out);                                                                       \
    }                                                                                                   \
    static void NAME##_3(const uint8_t *row, int64_t cols, const int8_t *q, int32_t out[4])            \
    {                                                                                                   \
        FN(row, cols, q, 3, out);                                                                       \
    }                                                                                                   \
    static void NAME##_4(const uint8_t *row, int64_t cols, const int8_t *q, int32_t out[4])            \
    {                                                                                                   \
        FN(row, cols, q, 4, out);                                                                       \
    }                                                                                                   \
    static bn_arm_tile_fn *const NAME[5] = {NULL, NAME##_1, NAME##_2, NAME##_3, NAME##_4};

/* The tgemm both aarch64 levels share around their tiles (tiles[T] serves T
 * tokens): one row at a time, four tokens per pass over the row. A tile's
 * sums exceed sum((code - 1) * q) by the token's sum(q), act_sum, taken off
 * in unsigned arithmetic (int32's wrap without UB). */
static inline void bn_arm_tgemm(bn_arm_tile_fn *const tiles[5], const bn_tmat *w, int64_t r0, int64_t r1,
                                const int8_t *q, const float *act_scale, const int32_t *act_sum, int64_t n_tok,
                                float *y, int64_t ldy)
{
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
            int T = n_tok - t0 < 4 ? (int)(n_tok - t0) : 4;
            int32_t isum[4];
            tiles[T](w->codes + bn_tmat_block(cols, r, 0), cols, q + t0 * cols, isum);
            for (int j = 0; j < T; j++) {
                int32_t v = (int32_t)((uint32_t)isum[j] - (uint32_t)act_sum[t0 + j]);
                y[(t0 + j) * ldy + r] = ((float)v / act_scale[t0 + j]) * w->scale;
            }
        }
}

#endif
