/* RMSNorm in plain C: the specification of bn_kernels.rmsnorm. */
#include "scalar/dense_scalar.h"

void bn_rmsnorm_scalar(const float *x, const float *w, int64_t n, float eps, float *out)
{
    double l[16] = { 0 };
    for (int64_t i = 0; i < n; i++)
        l[i % 16] += (double)x[i] * x[i];  /* exact product: a fused multiply-add rounds the same */
    float r = bn_rms_scale(l, n, eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = x[i] * r * w[i];
}
