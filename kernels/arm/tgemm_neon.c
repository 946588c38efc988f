/* Advanced SIMD ternary GEMM over the kernels' layout (bn_tmat in kernels.h).
 * The codes (0, 1, 2) are multiplied by the activations with vmlal_s8 into
 * 16-bit lanes and the tokens' sum(q) comes off at the end (isum =
 * sum(code * q) - sum(q), bn_arm_tgemm). A product lies in -256 .. 254 and a
 * lane gains 8 of them a block, so 16 blocks stay within -32768 .. 32512
 * before vpadalq widens them to 32 bits. The 32-bit sums wrap exactly as
 * the scalar int32 arithmetic would. */
#include <arm_neon.h>

#include "arm/kernels_arm.h"
#include "arm/ternary_arm.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define FLUSH 16

/* sum(code * q) for one row x T tokens: each block is unpacked once and
 * serves all T tokens. T is a constant once inlined. */
ALWAYS_INLINE void tile(const uint8_t *row, int64_t cols, const int8_t *q, int T, int32_t out[4])
{
    const int64_t nblk = cols / 128;
    int32x4_t acc[4][2];
    for (int j = 0; j < T; j++)
        acc[j][0] = acc[j][1] = vdupq_n_s32(0);
    for (int64_t b0 = 0; b0 < nblk; b0 += FLUSH) {
        int64_t b1 = nblk - b0 < FLUSH ? nblk : b0 + FLUSH;
        int16x8_t a16[4][2];
        for (int j = 0; j < T; j++)
            a16[j][0] = a16[j][1] = vdupq_n_s16(0);
        for (int64_t b = b0; b < b1; b++) {
            int8x16_t w[8];
            bn_unpack_i2s_neon(row + BN_TBLOCK_STRIDE * b, w);
            for (int j = 0; j < T; j++) {
                const int8_t *qb = q + j * cols + 128 * b;
                for (int i = 0; i < 8; i++) {
                    int8x16_t qv = bn_q_for_neon(qb, i);
                    a16[j][0] = vmlal_s8(a16[j][0], vget_low_s8(w[i]), vget_low_s8(qv));
                    a16[j][1] = vmlal_high_s8(a16[j][1], w[i], qv);
                }
            }
        }
        for (int j = 0; j < T; j++) {
            acc[j][0] = vpadalq_s16(acc[j][0], a16[j][0]);
            acc[j][1] = vpadalq_s16(acc[j][1], a16[j][1]);
        }
    }
    for (int j = 0; j < T; j++)
        out[j] = vaddvq_s32(vaddq_s32(acc[j][0], acc[j][1]));
}

BN_ARM_TILES(tiles, tile)

void bn_tgemm_neon(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    bn_arm_tgemm(tiles, w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy);
}
