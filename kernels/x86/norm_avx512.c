/* RMSNorm (bn_kernels.rmsnorm) in two registers of eight doubles, and
 * sixteen floats an instruction for the scaling; the scalar code's sums in
 * the same order (see norm_avx2.c). */
#include <immintrin.h>

#include "scalar/dense_scalar.h"
#include "x86/kernels_x86.h"

void bn_rmsnorm_avx512(const float *x, const float *w, int64_t n, float eps, float *out)
{
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), b = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8));
        lo = _mm512_add_pd(lo, _mm512_mul_pd(a, a));
        hi = _mm512_add_pd(hi, _mm512_mul_pd(b, b));
    }
    double l[16];
    _mm512_storeu_pd(l, lo);
    _mm512_storeu_pd(l + 8, hi);
    float r = bn_rms_scale(l, x, i, n, eps);
    __m512 vr = _mm512_set1_ps(r);
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vr), _mm512_loadu_ps(w + i)));
    bn_rms_apply(x, w, r, i, n, out);
}
