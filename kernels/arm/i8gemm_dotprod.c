/* aarch64 int8 GEMM for the quantized output head (bn_i8mat) with the
 * dot-product extension: sdot adds four int8 products into each int32 lane. */
#include <arm_neon.h>

#include "arm/kernels_arm.h"
#include "i8gemm_tiles.h"

static int32_t row_dot(const int8_t *w, const int8_t *q, int64_t cols)
{
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
    for (int64_t k = 0; k < cols; k += 32) {  /* cols % 128 == 0 */
        a0 = vdotq_s32(a0, vld1q_s8(w + k), vld1q_s8(q + k));
        a1 = vdotq_s32(a1, vld1q_s8(w + k + 16), vld1q_s8(q + k + 16));
    }
    return vaddvq_s32(vaddq_s32(a0, a1));
}

/* Several tokens: two rows by T (i8gemm_tiles.h), each activation load
 * serving both rows. */
static inline __attribute__((always_inline)) void tile(const int8_t *w0, const int8_t *w1, const int8_t *q,
                                                       int64_t cols, int T, int32_t out[2][BN_I8_TILE_TOKS])
{
    int32x4_t acc[2][BN_I8_TILE_TOKS];
    for (int j = 0; j < T; j++)
        acc[0][j] = acc[1][j] = vdupq_n_s32(0);
    for (int64_t k = 0; k < cols; k += 16) {
        int8x16_t a = vld1q_s8(w0 + k), b = vld1q_s8(w1 + k);
        for (int j = 0; j < T; j++) {
            int8x16_t qv = vld1q_s8(q + j * cols + k);
            acc[0][j] = vdotq_s32(acc[0][j], a, qv);
            acc[1][j] = vdotq_s32(acc[1][j], b, qv);
        }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = vaddvq_s32(acc[i][j]);
}

BN_I8_TILES(tile)

void bn_i8gemm_dotprod(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                       int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok > 1) {
        bn_i8gemm_tiles(tiles, 0, w, r0, r1, q, act_scale, n_tok, y, ldy);
        return;
    }
    const int8_t *wq = w->q;  /* in locals, as in bn_i8gemm_avx512 */
    const float *wscale = w->scale;
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t = 0; t < n_tok; t++) {
            int32_t isum = row_dot(wq + r * cols, q + t * cols, cols);
            y[t * ldy + r] = ((float)isum / act_scale[t]) * wscale[r];
        }
}
