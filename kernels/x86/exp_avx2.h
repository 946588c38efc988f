/* bn_exp_canon (scalar/exp_canon.h) on vector lanes, operation for
 * operation: bn_exp8_avx2 for the AVX2 files that need it (softmax, SiLU),
 * and through BN_EXP_VEC the same body at other widths (exp_avx512.h). */
#ifndef BN_KERNELS_EXP_AVX2_H
#define BN_KERNELS_EXP_AVX2_H

#include <immintrin.h>

#include "scalar/exp_canon.h"

/* NAME(x) over VF vectors of floats, W the intrinsics' prefix (_mm256,
 * _mm512) and SI their integer vector suffix (si256, si512). */
#define BN_EXP_VEC(NAME, VF, W, SI)                                                                        \
    static inline __attribute__((always_inline)) VF NAME(VF x)                                             \
    {                                                                                                      \
        x = W##_max_ps(W##_set1_ps(BN_EXP_LO), x); /* lo > x ? lo : x, NaN kept */                        \
        x = W##_min_ps(W##_set1_ps(BN_EXP_HI), x); /* hi < x ? hi : x */                                  \
        VF t = W##_add_ps(W##_mul_ps(x, W##_set1_ps(1.44269504f)), W##_set1_ps(BN_EXP_ROUND));           \
        VF n = W##_sub_ps(t, W##_set1_ps(BN_EXP_ROUND));                                                   \
        VF r = W##_sub_ps(W##_sub_ps(x, W##_mul_ps(n, W##_set1_ps(0.693359375f))),                         \
                          W##_mul_ps(n, W##_set1_ps(-2.12194440e-4f)));                                    \
        VF z = W##_mul_ps(r, r);                                                                           \
        VF p = W##_add_ps(W##_mul_ps(W##_set1_ps(1.9875691500e-4f), r), W##_set1_ps(1.3981999507e-3f));  \
        p = W##_add_ps(W##_mul_ps(p, r), W##_set1_ps(8.3334519073e-3f));                                   \
        p = W##_add_ps(W##_mul_ps(p, r), W##_set1_ps(4.1665795894e-2f));                                   \
        p = W##_add_ps(W##_mul_ps(p, r), W##_set1_ps(1.6666665459e-1f));                                   \
        p = W##_add_ps(W##_mul_ps(p, r), W##_set1_ps(5.0000001201e-1f));                                   \
        p = W##_add_ps(W##_add_ps(W##_mul_ps(p, z), r), W##_set1_ps(1.0f));                                \
        return W##_mul_ps(p, W##_cast##SI##_ps(W##_slli_epi32(                                             \
                                 W##_add_epi32(W##_sub_epi32(W##_castps_##SI(t),                           \
                                                             W##_set1_epi32((int)BN_EXP_ROUND_BITS)),      \
                                               W##_set1_epi32(127)),                                       \
                                 23)));                                                                    \
    }

BN_EXP_VEC(bn_exp8_avx2, __m256, _mm256, si256)

#endif
