/* The FFN's gated activation (bn_kernels.glu) eight elements an
 * instruction, each lane the scalar code's operations. */
#include <immintrin.h>

#include "scalar/dense_scalar.h"
#include "x86/exp_avx2.h"
#include "x86/kernels_x86.h"

void bn_glu_avx2(int act, float *g, const float *u, int64_t n)
{
    int64_t i = 0;
    if (act == BN_GLU_RELU2)
        for (; i + 8 <= n; i += 8) {
            __m256i bits = _mm256_castps_si256(_mm256_loadu_ps(g + i));
            __m256 r = _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_srai_epi32(bits, 31), bits));
            _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + i)));
        }
    else
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_loadu_ps(g + i);
            __m256 e = bn_exp8_avx2(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)));  /* -x, as the C negation */
            __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
            _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
        }
    if (i < n)
        bn_glu_scalar(act, g + i, u + i, n - i);
}
