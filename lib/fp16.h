/* IEEE half <-> single conversion, exact and identical on every CPU. */
#ifndef BN_LIB_FP16_H
#define BN_LIB_FP16_H

#include <stdint.h>
#include <string.h>

/* Exact for every input, branch-free so loops over rows vectorize: normal
 * numbers and inf/nan by rebiasing the exponent, subnormals as m * 2^-24 (a
 * multiply with a normal result, so FTZ/DAZ modes a host may set do not
 * matter). */
static inline float bn_f16_to_f32(uint16_t h)
{
    uint32_t em = h & 0x7fffu;
    uint32_t bits = (em << 13) + (em >= 0x7c00u ? 0x70000000u : 0x38000000u);
    bits |= em > 0x7c00u ? 0x00400000u : 0u;  /* NaNs come out quiet, as F16C and Arm's FCVT give them */
    float f;
    memcpy(&f, &bits, sizeof f);
    f = em < 0x400u ? (float)em * 0x1p-24f : f;
    memcpy(&bits, &f, sizeof bits);
    bits |= (uint32_t)(h & 0x8000u) << 16;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Round to nearest even, as hardware conversion does. */
static inline uint16_t bn_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u)  /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 | ((absx >> 13) & 0x3ff) : 0));
    if (absx >= 0x477ff000u)  /* rounds to >= 65520: overflow */
        return (uint16_t)(sign | 0x7c00);
    if (absx < 0x38800000u) {  /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u)
            return (uint16_t)sign;
        uint32_t e = absx >> 23, man = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  /* 14..24 */
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = absx - 0x38000000u;  /* rebias exponent */
    uint32_t half = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++;
    return (uint16_t)(sign | half);
}

static inline float bn_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif
