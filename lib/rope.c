/* Rotary position embedding (rope.h). */
#include "rope.h"

#include <math.h>
#include <stddef.h>

/* Angles in double, so the engine agrees with any careful reference to
 * float rounding. The forward pass makes one table a token: every layer and
 * head uses the same. */
void bn_rope_table(float *cs, int d, int64_t pos, float base)
{
    for (int i = 0; i < d / 2; i++) {
        double theta = (double)pos * pow((double)base, -2.0 * i / d);
        cs[i] = (float)cos(theta);
        cs[d / 2 + i] = (float)sin(theta);
    }
}

/* Head by head, so that the compiler vectorizes the pairs (the rotation was
 * 2% of prefill one pair at a time). */
void bn_rope(float *v, int n_heads, int d, const float *tab, int neox)
{
    const int half = d / 2;
    const float *cs = tab, *sn = tab + half;
    for (int h = 0; h < n_heads; h++) {
        float *p = v + (size_t)h * d;
        if (neox) {
            float *restrict a = p, *restrict b = p + half;
            for (int i = 0; i < half; i++) {
                float x0 = a[i], x1 = b[i];
                a[i] = x0 * cs[i] - x1 * sn[i];
                b[i] = x0 * sn[i] + x1 * cs[i];
            }
        } else {
            for (int i = 0; i < half; i++) {
                float x0 = p[2 * i], x1 = p[2 * i + 1];
                p[2 * i] = x0 * cs[i] - x1 * sn[i];
                p[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}
