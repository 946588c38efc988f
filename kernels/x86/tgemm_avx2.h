/* What the AVX2-level ternary kernels (tgemm_avx2.c, tgemm_avxvnni.c) share:
 * the last steps from 32-bit sums to a row's output. Included only by files
 * compiled with AVX2. */
#ifndef BN_TGEMM_AVX2_H
#define BN_TGEMM_AVX2_H

#include <immintrin.h>
#include <string.h>

/* Wrapping horizontal sum (vector adds, so no signed-overflow UB). */
static inline __attribute__((always_inline)) int32_t bn_hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* The wrapping horizontal sums of v[0..7] as the eight lanes of one
 * register (lane m: v[m]), for a tile's sums at once: pairs of neighbours
 * twice within each half, then the halves. Integer adds, so any order
 * gives what bn_hsum_epi32 gives. */
static inline __attribute__((always_inline)) __m256i bn_hsum8_epi32(const __m256i v[8])
{
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* A row's output from sum(code * q): the weights are code - 1, so subtract
 * sum(q) (wrapping, as the scalar int32 arithmetic does), then the scalar
 * code's division and product. */
static inline __attribute__((always_inline)) float bn_tgemm_row_value(int32_t isum, int32_t act_sum, float act_scale,
                                                                      float w_scale)
{
    int32_t v = (int32_t)((uint32_t)isum - (uint32_t)act_sum);
    return ((float)v / act_scale) * w_scale;
}

/* bn_tgemm_row_value of eight sums at once, each against its own
 * token's activation sum and scale: the same operations lane by lane. */
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

#endif
