/* The FFN's gated activation in plain C: the specification of
 * bn_kernels.glu (kernels.h). */
#include <string.h>

#include "kernels.h"
#include "scalar/dense_scalar.h"

/* One loop an activation, so that compilers vectorize each. */
void bn_glu_scalar(int act, float *g, const float *u, int64_t n)
{
    if (act == BN_GLU_RELU2) {
        for (int64_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &g[i], sizeof bits);
            bits &= ~(uint32_t)((int32_t)bits >> 31);  /* relu: clear a set sign bit */
            float r;
            memcpy(&r, &bits, sizeof r);
            g[i] = r * r * u[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            g[i] = g[i] / (1.0f + bn_exp_canon(-g[i])) * u[i];
    }
}
