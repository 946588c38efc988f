/* Dequantization of the dense (non-ternary) tensor types and the canonical
 * 16-lane float sum, shared by every ISA's kernels so that they agree bit for
 * bit with the scalar reference. */
#ifndef BN_KERNELS_DENSE_SCALAR_H
#define BN_KERNELS_DENSE_SCALAR_H

#include <stdint.h>

/* n elements of a row (n a multiple of the type's block size, except for the
 * element types F32, F16, BF16) to float32, with ggml's formulas evaluated in
 * float32 without fused multiply-add. */
void bn_dequant_row_scalar(uint32_t type, const void *row, float *out, int64_t n);

/* The canonical reduction of 16 lanes: l[i] += l[i+8], l[i] += l[i+4],
 * l[i] += l[i+2], then l[0] + l[1]. Modifies lane. */
static inline float bn_lane_sum16(float *lane)
{
    for (int i = 0; i < 8; i++)
        lane[i] = lane[i] + lane[i + 8];
    for (int i = 0; i < 4; i++)
        lane[i] = lane[i] + lane[i + 4];
    for (int i = 0; i < 2; i++)
        lane[i] = lane[i] + lane[i + 2];
    return lane[0] + lane[1];
}

#endif
