/* AVX2 int8 GEMM for the quantized output head (bn_i8mat). vpmaddubsw needs
 * an unsigned operand: |q| goes in unsigned and w takes q's sign (vpsignb), so
 * the products are w * q; a pair sum is at most 2 * 127 * 127 = 32258 and
 * never saturates (weights and activations are within +-127). */
#include <immintrin.h>

#include "i8gemm_tiles.h"
#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i dot32(__m256i acc, const int8_t *w, const int8_t *q)
{
    __m256i qv = _mm256_loadu_si256((const __m256i *)q), wv = _mm256_loadu_si256((const __m256i *)w);
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(wv, qv));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* Wrapping horizontal sum of eight int32 lanes (vector adds: no UB). */
ALWAYS_INLINE int32_t hsum(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
}

ALWAYS_INLINE int32_t row_dot(const int8_t *w, const int8_t *q, int64_t cols, size_t ahead)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < cols; k += 128) {  /* cols % 128 == 0 */
        bn_prefetch_ahead(w + k, ahead);
        bn_prefetch_ahead(w + k + 64, ahead);
        a0 = dot32(a0, w + k, q + k);
        a1 = dot32(a1, w + k + 32, q + k + 32);
        a2 = dot32(a2, w + k + 64, q + k + 64);
        a3 = dot32(a3, w + k + 96, q + k + 96);
    }
    return hsum(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)));
}

/* Several tokens: two rows by T (i8gemm_tiles.h), each activation's load
 * and |q| serving both rows. cols % 128 == 0 (kernels.h). */
ALWAYS_INLINE __m256i dot32_abs(__m256i acc, __m256i w, __m256i q, __m256i qabs)
{
    __m256i p = _mm256_maddubs_epi16(qabs, _mm256_sign_epi8(w, q));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

ALWAYS_INLINE void tile(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols, int T,
                        int32_t out[2][BN_I8_TILE_TOKS])
{
    __m256i acc[2][BN_I8_TILE_TOKS];
    for (int j = 0; j < T; j++)
        acc[0][j] = acc[1][j] = _mm256_setzero_si256();
    for (int64_t k = 0; k < cols; k += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(w0 + k)), b = _mm256_loadu_si256((const __m256i *)(w1 + k));
        for (int j = 0; j < T; j++) {
            __m256i qv = _mm256_loadu_si256((const __m256i *)(q + j * cols + k)), qa = _mm256_sign_epi8(qv, qv);
            acc[0][j] = dot32_abs(acc[0][j], a, qv, qa);
            acc[1][j] = dot32_abs(acc[1][j], b, qv, qa);
        }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = hsum(acc[i][j]);
}

BN_I8_TILES(tile)

ALWAYS_INLINE void i8gemm(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                          int64_t n_tok, float *y, int64_t ldy, size_t ahead)
{
    if (n_tok > 1) {
        bn_i8gemm_tiles(tiles, 0, w, r0, r1, q, act_scale, n_tok, y, ldy);
        return;
    }
    const int8_t *wq = w->q;  /* in locals, as in bn_i8gemm_avx512 */
    const float *wscale = w->scale;
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *row = wq + r * cols;
        float sr = wscale[r];
        for (int64_t t = 0; t < n_tok; t++) {
            int32_t isum = row_dot(row, q + t * cols, cols, ahead);
            y[t * ldy + r] = ((float)isum / act_scale[t]) * sr;
        }
    }
}

void bn_i8gemm_avx2(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                    int64_t n_tok, float *y, int64_t ldy)
{
    i8gemm(w, r0, r1, q, act_scale, n_tok, y, ldy, 0);
}

/* Decode prefetches (kernels_x86.h); several tokens read each row from cache. */
void bn_i8gemm_avx2_prefetch(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                       int64_t n_tok, float *y, int64_t ldy)
{
    i8gemm(w, r0, r1, q, act_scale, n_tok, y, ldy, n_tok == 1 ? BN_DECODE_AHEAD : 0);
}
