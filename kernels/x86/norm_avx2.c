/* RMSNorm (bn_kernels.rmsnorm): the sixteen partial sums in four registers
 * of four doubles, so that four adds are in flight where the scalar code's
 * one chain waits on each; the same sums in the same order. */
#include <immintrin.h>

#include "scalar/dense_scalar.h"
#include "x86/kernels_x86.h"

void bn_rmsnorm_avx2(const float *x, const float *w, int64_t n, float eps, float *out)
{
    __m256d acc[4] = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd() };
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 4; j++) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j));
            acc[j] = _mm256_add_pd(acc[j], _mm256_mul_pd(v, v));
        }
    double l[16];
    for (int j = 0; j < 4; j++)
        _mm256_storeu_pd(l + 4 * j, acc[j]);
    float r = bn_rms_scale(l, x, i, n, eps);
    __m256 vr = _mm256_set1_ps(r);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr), _mm256_loadu_ps(w + i)));
    bn_rms_apply(x, w, r, i, n, out);
}
