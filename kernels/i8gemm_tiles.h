/* The int8 head (bn_kernels.i8gemm, bn_i8mat) for several tokens, as every
 * token's logits are wanted (bitnet-perplexity): each SIMD file supplies a
 * tile of two rows by up to BN_I8_TILE_TOKS tokens, so that an activation
 * load serves both rows and a weight load all the tokens, and this walks
 * blocks of BN_I8_TILE_ROWS rows with the tokens outside, so that a tile's
 * activations serve the block's rows from L1. Integer sums are exact in any
 * order: every ISA gives the scalar code's values. */
#ifndef BN_KERNELS_I8GEMM_TILES_H
#define BN_KERNELS_I8GEMM_TILES_H

#include <stdint.h>

#include "kernels.h"

#define BN_I8_TILE_TOKS 4
#define BN_I8_TILE_ROWS 16

/* out[i][j] = the int32 dot product of row i (w0 or w1) and token j of the
 * T at q (rows cols bytes apart), less whatever bias the tile adds (see
 * bn_i8gemm_tiles). */
typedef void bn_i8tile_fn(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols,
                          int32_t out[2][BN_I8_TILE_TOKS]);

/* The functions for 1 .. BN_I8_TILE_TOKS tokens from an always-inlined
 * FN(w0, w1, q, cols, T, out), in a table `tiles` indexed by T. */
#define BN_I8_TILES(FN)                                                                                    \
    static void FN##_1(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols,                  \
                       int32_t out[2][BN_I8_TILE_TOKS])                                                    \
    {                                                                                                      \
        FN(w0, w1, q, cols, 1, out);                                                                       \
    }                                                                                                      \
    static void FN##_2(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols,                  \
                       int32_t out[2][BN_I8_TILE_TOKS])                                                    \
    {                                                                                                      \
        FN(w0, w1, q, cols, 2, out);                                                                       \
    }                                                                                                      \
    static void FN##_3(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols,                  \
                       int32_t out[2][BN_I8_TILE_TOKS])                                                    \
    {                                                                                                      \
        FN(w0, w1, q, cols, 3, out);                                                                       \
    }                                                                                                      \
    static void FN##_4(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols,                  \
                       int32_t out[2][BN_I8_TILE_TOKS])                                                    \
    {                                                                                                      \
        FN(w0, w1, q, cols, 4, out);                                                                       \
    }                                                                                                      \
    static bn_i8tile_fn *const tiles[BN_I8_TILE_TOKS + 1] = { NULL, FN##_1, FN##_2, FN##_3, FN##_4 };

/* Rows [r0, r1) for n_tok tokens through `tiles`; a last row without a pair
 * goes through a tile twice. A tile's sums of row r come back too large by
 * sum_bias * w->sum[r] (vpdpbusd's unsigned operand: 128, else 0), taken
 * off in unsigned arithmetic: the wrap int32 would give, without UB. */
static inline void bn_i8gemm_tiles(bn_i8tile_fn *const tiles[], uint32_t sum_bias, const bn_i8mat *w, int64_t r0,
                                   int64_t r1, const int8_t *q, const float *act_scale, int64_t n_tok, float *y,
                                   int64_t ldy)
{
    const int64_t cols = w->cols;
    for (int64_t b0 = r0; b0 < r1; b0 += BN_I8_TILE_ROWS) {
        int64_t b1 = r1 - b0 < BN_I8_TILE_ROWS ? r1 : b0 + BN_I8_TILE_ROWS;
        for (int64_t t0 = 0; t0 < n_tok; t0 += BN_I8_TILE_TOKS) {
            int T = n_tok - t0 < BN_I8_TILE_TOKS ? (int)(n_tok - t0) : BN_I8_TILE_TOKS;
            for (int64_t r = b0; r < b1; r += 2) {
                const int8_t *row = w->q + r * cols;
                int32_t isum[2][BN_I8_TILE_TOKS];
                tiles[T](row, r + 1 < b1 ? row + cols : row, q + t0 * cols, cols, isum);
                for (int i = 0; i < 2 && r + i < b1; i++) {
                    uint32_t bias = (uint32_t)w->sum[r + i] * sum_bias;
                    for (int j = 0; j < T; j++) {
                        int32_t v = (int32_t)((uint32_t)isum[i][j] - bias);
                        y[(t0 + j) * ldy + r + i] = ((float)v / act_scale[t0 + j]) * w->scale[r + i];
                    }
                }
            }
        }
    }
}

#endif
