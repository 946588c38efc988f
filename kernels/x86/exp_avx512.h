/* bn_exp_canon (scalar/exp_canon.h) on sixteen lanes, operation for
 * operation as bn_exp8_avx2, for the AVX-512 level's softmax. */
#ifndef BN_KERNELS_EXP_AVX512_H
#define BN_KERNELS_EXP_AVX512_H

#include <immintrin.h>

#include "scalar/exp_canon.h"

static inline __attribute__((always_inline)) __m512 bn_exp16_avx512(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(BN_EXP_LO), x);  /* lo > x ? lo : x, NaN kept */
    x = _mm512_min_ps(_mm512_set1_ps(BN_EXP_HI), x);  /* hi < x ? hi : x */
    __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _mm512_set1_ps(BN_EXP_ROUND));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(BN_EXP_ROUND));
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
                             _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 z = _mm512_mul_ps(r, r);
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(1.9875691500e-4f), r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), r), _mm512_set1_ps(1.0f));
    __m512i sb = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32((int)BN_EXP_ROUND_BITS)),
                         _mm512_set1_epi32(127)),
        23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(sb));
}

#endif
