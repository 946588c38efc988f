/* Ternary GEMM with the aarch64 dot-product extension: the codes (0, 1, 2)
 * go straight into sdot against the activations, four products per 32-bit
 * lane at a time, and sum(q) comes off at the end (isum = sum(code * q) -
 * sum(q), as on x86), which spares the eight subtractions a block that
 * code - 1 took. The sums wrap exactly as the scalar int32 arithmetic
 * would, so the result is exact for any int8 input. */
#include <arm_neon.h>

#include "arm/kernels_arm.h"
#include "arm/ternary_arm.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* sum(code * q) for one row x T tokens: each block is unpacked once and
 * serves all T tokens; two accumulators a token keep sdot's latency hidden. */
ALWAYS_INLINE void tile(const uint8_t *row, int64_t cols, const int8_t *q, int T, int32_t out[4])
{
    const int64_t nblk = cols / 128;
    int32x4_t acc[4][2];
    for (int j = 0; j < T; j++)
        acc[j][0] = acc[j][1] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nblk; b++) {
        int8x16_t w[8];
        bn_unpack_i2s_neon(row + BN_TBLOCK_STRIDE * b, w);
        for (int j = 0; j < T; j++) {
            const int8_t *qb = q + j * cols + 128 * b;
            for (int i = 0; i < 8; i++)
                acc[j][i & 1] = vdotq_s32(acc[j][i & 1], w[i], bn_q_for_neon(qb, i));
        }
    }
    for (int j = 0; j < T; j++)
        out[j] = vaddvq_s32(vaddq_s32(acc[j][0], acc[j][1]));
}

BN_ARM_TILES(tiles, tile)

void bn_tgemm_dotprod(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    bn_arm_tgemm(tiles, w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy);
}
