/* AVX2 int8 GEMM for the quantized output head (bn_i8mat). vpmaddubsw needs
 * an unsigned operand: |q| goes in unsigned and w takes q's sign (vpsignb), so
 * the products are w * q; a pair sum is at most 2 * 127 * 127 = 32258 and
 * never saturates (weights and activations are within +-127). */
#include <immintrin.h>

#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i dot32(__m256i acc, const int8_t *w, const int8_t *q)
{
    __m256i qv = _mm256_loadu_si256((const __m256i *)q), wv = _mm256_loadu_si256((const __m256i *)w);
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(wv, qv));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
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
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
}

ALWAYS_INLINE void i8gemm(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                          int64_t n_tok, float *y, int64_t ldy, size_t ahead)
{
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
void bn_i8gemm_avx2_intel(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                       int64_t n_tok, float *y, int64_t ldy)
{
    i8gemm(w, r0, r1, q, act_scale, n_tok, y, ldy, n_tok == 1 ? BN_DECODE_AHEAD : 0);
}
