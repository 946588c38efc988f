/* What the AVX2-level ternary kernels (tgemm_avx2.c, tgemm_avxvnni.c) share:
 * the last steps from 32-bit sums to a row's output. Included only by files
 * compiled with AVX2. */
#ifndef BN_TGEMM_AVX2_H
#define BN_TGEMM_AVX2_H

#include <immintrin.h>

/* Wrapping horizontal sum (vector adds, so no signed-overflow UB). */
static inline __attribute__((always_inline)) int32_t bn_hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* A row's output from sum(code * q): the weights are code - 1, so subtract
 * sum(q) (wrapping, as the scalar int32 arithmetic does), then the scalar
 * code's division and product. */
static inline __attribute__((always_inline)) float bn_tgemm_row_value(int32_t isum, int32_t act_sum, float act_scale,
                                                                      float w_scale)
{
    int32_t v = (int32_t)((uint32_t)isum - (uint32_t)act_sum);
    return ((float)v / act_scale) * w_scale;
}

#endif
