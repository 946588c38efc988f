/* bn_exp_canon (scalar/exp_canon.h) on sixteen lanes, the body of
 * bn_exp8_avx2 on zmm, for the AVX-512 level's softmax. */
#ifndef BN_KERNELS_EXP_AVX512_H
#define BN_KERNELS_EXP_AVX512_H

#include "x86/exp_avx2.h"

BN_EXP_VEC(bn_exp16_avx512, __m512, _mm512, si512)

#endif
