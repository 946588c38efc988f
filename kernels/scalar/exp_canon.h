/* The engine's exponential: the same float operations on every ISA, so that
 * the softmax (and the SiLU of the FFN) give the same bits everywhere
 * (libm's expf differs between C libraries and between its FMA and plain
 * builds). x = n ln2 + r with n = round(x log2 e) by the 1.5 * 2^23
 * rounding trick (no float-to-int conversion), Cody-Waite r, Cephes'
 * polynomial (relative error below 1e-7), then times 2^n built in the
 * exponent bits. x is first clamped to [BN_EXP_LO, BN_EXP_HI]: e^x below
 * about 1e-38 and above 1.6e38 are not needed by either user; NaN stays NaN.
 * SIMD versions compute each lane exactly so (-ffp-contract=off). */
#ifndef BN_KERNELS_EXP_CANON_H
#define BN_KERNELS_EXP_CANON_H

#include <stdint.h>
#include <string.h>

#define BN_EXP_LO (-87.33654f)
#define BN_EXP_HI 88.0f
#define BN_EXP_ROUND 12582912.0f /* 1.5 * 2^23 */
#define BN_EXP_ROUND_BITS 0x4b400000u

static inline float bn_exp_canon(float x)
{
    x = BN_EXP_LO > x ? BN_EXP_LO : x;
    x = BN_EXP_HI < x ? BN_EXP_HI : x;
    float t = x * 1.44269504f + BN_EXP_ROUND; /* round(x log2 e) in the low mantissa bits */
    float n = t - BN_EXP_ROUND;
    float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = (p * z + r) + 1.0f;
    uint32_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb - BN_EXP_ROUND_BITS + 127u) << 23; /* 2^n, n in [-126, 127] */
    float sc;
    memcpy(&sc, &sb, sizeof sc);
    return p * sc;
}

#endif
