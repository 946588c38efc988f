/* The dense GEMM (bn_kernels.fgemm) of element rows (F32, F16, BF16, and on
 * aarch64 F16 in pairs) for every ISA: each SIMD file supplies tiles of one
 * row by one to four tokens, and this walks the rows. */
#ifndef BN_KERNELS_FGEMM_ELEM_H
#define BN_KERNELS_FGEMM_ELEM_H

#include <stdint.h>

#include "kernels.h"

/* out[j] = row . token j of the T at x (rows cols floats apart), the tile
 * for T tokens being fns[T] of a table of five. */
typedef void bn_etile_fn(const uint8_t *row, int64_t cols, const float *x, float out[4]);

/* One row at a time, so that the weights arrive as one sequential stream
 * (Zen 4: twice the bandwidth of four interleaved rows), in blocks of
 * BN_ELEM_ROWS rows with the tokens outside, so that a token tile's
 * activations serve the block's rows from cache where every row read all
 * the tokens' again (harness, 16384 x 2560 F32, F16 and BF16 rows, 64
 * tokens: 1.28-1.32x at AVX-512, 1.29-1.55x at AVX2; not timed on ARM).
 * pairs: rows in pairs (BN_TYPE_F16X2), a row reading half of each line
 * and the next row the other half while the lines are still in cache. */
#define BN_ELEM_ROWS 16

static inline void bn_fgemm_elem(bn_etile_fn *const fns[5], int pairs, const uint8_t *w, size_t row_bytes,
                                 int64_t r0, int64_t r1, int64_t cols, const float *x, int64_t n_tok, float *y,
                                 int64_t ldy)
{
    for (int64_t b0 = r0; b0 < r1; b0 += BN_ELEM_ROWS) {
        int64_t b1 = r1 - b0 < BN_ELEM_ROWS ? r1 : b0 + BN_ELEM_ROWS;
        for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
            int T = n_tok - t0 < 4 ? (int)(n_tok - t0) : 4;
            for (int64_t r = b0; r < b1; r++) {
                float out[4];
                fns[T](pairs ? bn_f16x2_row(w, row_bytes, r) : w + (size_t)r * row_bytes, cols, x + t0 * cols, out);
                for (int j = 0; j < T; j++)
                    y[(t0 + j) * ldy + r] = out[j];
            }
        }
    }
}

#endif
