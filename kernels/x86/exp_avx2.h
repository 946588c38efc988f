/* bn_exp_canon (scalar/exp_canon.h) on eight lanes, operation for
 * operation, for the AVX2 files that need it (softmax, SiLU). */
#ifndef BN_KERNELS_EXP_AVX2_H
#define BN_KERNELS_EXP_AVX2_H

#include <immintrin.h>

#include "scalar/exp_canon.h"

static inline __attribute__((always_inline)) __m256 bn_exp8_avx2(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(BN_EXP_LO), x);  /* lo > x ? lo : x, NaN kept */
    x = _mm256_min_ps(_mm256_set1_ps(BN_EXP_HI), x);  /* hi < x ? hi : x */
    __m256 t = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _mm256_set1_ps(BN_EXP_ROUND));
    __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(BN_EXP_ROUND));
    __m256 r = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
                             _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
    __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(1.9875691500e-4f), r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, z), r), _mm256_set1_ps(1.0f));
    __m256i sb = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32((int)BN_EXP_ROUND_BITS)),
                         _mm256_set1_epi32(127)),
        23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(sb));
}

#endif
