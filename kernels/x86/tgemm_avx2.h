/* What the AVX2-level ternary kernels (tgemm_avx2.c, tgemm_avxvnni.c) share:
 * the last steps from 32-bit sums to rows' outputs, several at a time. Included only by files
 * compiled with AVX2. */
#ifndef BN_TGEMM_AVX2_H
#define BN_TGEMM_AVX2_H

#include <immintrin.h>
#include <string.h>

/* The horizontal sums of v[0..7] as the eight lanes of one register (lane
 * m: v[m]), for a tile's sums at once: pairs of neighbours twice within
 * each half, then the halves. Vector adds wrap as the scalar int32
 * arithmetic does (and have no signed-overflow UB), so any order gives the
 * same sums. */
static inline __attribute__((always_inline)) __m256i bn_hsum8_epi32(const __m256i v[8])
{
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* The wrapping horizontal sums of v[0..3] as the four lanes of one
 * register: a group's four rows at once in decode. */
static inline __attribute__((always_inline)) __m128i bn_hsum4_epi32(const __m256i v[4])
{
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    return _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
}

/* Rows' outputs from sum(code * q), eight at a time, each against its own
 * token's activation sum and scale: the weights are code - 1, so subtract
 * sum(q) (wrapping), then the scalar code's division and product, lane by
 * lane. */
static inline __attribute__((always_inline)) __m256 bn_tgemm_row_values8(__m256i isum, __m256i act_sum,
                                                                         __m256 act_scale, float w_scale)
{
    __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(isum, act_sum));
    return _mm256_mul_ps(_mm256_div_ps(f, act_scale), _mm256_set1_ps(w_scale));
}

/* The activation sums and scales of up to four tokens (T of them) in both
 * halves of a register, for bn_tgemm_row_values8 over two rows of a
 * tile's four tokens; past T a scale of 1, so that no lane divides by 0. */
static inline __attribute__((always_inline)) void bn_tgemm_tokens4(const int32_t *act_sum, const float *act_scale,
                                                                   int T, __m256i *sums, __m256 *scales)
{
    int32_t s[4] = { 0 };
    float f[4] = { 1.0f, 1.0f, 1.0f, 1.0f };
    memcpy(s, act_sum, (size_t)T * sizeof *s);
    memcpy(f, act_scale, (size_t)T * sizeof *f);
    *sums = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)s));
    *scales = _mm256_castpd_ps(_mm256_broadcast_pd((const __m128d *)(const void *)f));
}

/* A decode group's four outputs from its four sums (as
 * bn_tgemm_row_values8 makes them, against one token), stored for the rows
 * of [r0, r1) among row0 .. row0 + 3. */
static inline __attribute__((always_inline)) void bn_tgemm_store_group(__m128i isum, int32_t act_sum, float act_scale,
                                                                       float w_scale, float *y, int64_t row0,
                                                                       int64_t r0, int64_t r1)
{
    __m128 f = _mm_cvtepi32_ps(_mm_sub_epi32(isum, _mm_set1_epi32(act_sum)));
    f = _mm_mul_ps(_mm_div_ps(f, _mm_set1_ps(act_scale)), _mm_set1_ps(w_scale));
    if (row0 >= r0 && row0 + 4 <= r1) {
        _mm_storeu_ps(y + row0, f);
        return;
    }
    float v[4];
    _mm_storeu_ps(v, f);
    for (int i = 0; i < 4; i++)
        if (row0 + i >= r0 && row0 + i < r1)
            y[row0 + i] = v[i];
}

#endif
