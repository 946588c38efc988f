/* Dequantization of Q8_0, Q4_K and Q6_K blocks with AVX2, for the x86 dense
 * GEMMs. Each value is computed with the scalar code's formula and operation
 * order (kernels/scalar/dense_scalar.c): the per-block float factors come from
 * the same scalar expressions, the integers convert exactly, and each multiply
 * and subtract is its own instruction, so the floats are bit-identical.
 * static inline: each including file compiles it with its own flags. */
#ifndef BN_KERNELS_DEQUANT_AVX2_H
#define BN_KERNELS_DEQUANT_AVX2_H

#include <immintrin.h>
#include <stdint.h>

static inline uint16_t bn_rd16_x86(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* A block's fp16 factor. vcvtph2ps is exact like bn_f16_to_f32; they differ
 * only in quieting a signalling NaN, and the factor is only ever multiplied,
 * which quiets it anyway, so the dequantized values are the same bits. */
static inline float bn_f16_x86(const uint8_t *p)
{
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bn_rd16_x86(p))));
}

/* The low 8 signed bytes of v8 as floats times f: the scalar formula's
 * (float)q * f, one rounding. The buffer dequantizers store it; the decode
 * of block-quantized rows (fgemm_avx2.c) multiplies it in at once. */
static inline __attribute__((always_inline)) __m256 bn_i8x8_times_x86(__m128i v8, __m256 f)
{
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v8)), f);
}

/* Q8_0: y = (float)q * d. */
static inline void bn_dequant_q8_0_avx2(const uint8_t *b, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 32, b += 34) {
        __m256 d = _mm256_set1_ps(bn_f16_x86(b));
        for (int j = 0; j < 32; j += 8)
            _mm256_storeu_ps(out + i + j, bn_i8x8_times_x86(_mm_loadl_epi64((const __m128i *)(b + 2 + j)), d));
    }
}

/* Sub-block j of a Q4_K block (scales at sc): its factors d * scale and
 * dmin * min, the 6-bit scale and min read as the scalar scale_min_k4
 * reads them. */
static inline __attribute__((always_inline)) void bn_q4_k_factors_x86(const uint8_t *sc, int j, float d, float dmin,
                                                                      float *d1, float *m1)
{
    int sv = j < 4 ? sc[j] & 63 : (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
    int mv = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
    *d1 = d * (float)sv;
    *m1 = dmin * (float)mv;
}

/* Q4_K: y = (d * sc) * q - dmin * m per 32-value sub-block. */
static inline void bn_dequant_q4_k_avx2(const uint8_t *b, float *out, int64_t n)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int64_t i = 0; i < n; i += 256, b += 144) {
        float d = bn_f16_x86(b), dmin = bn_f16_x86(b + 2);
        const uint8_t *sc = b + 4, *qs = b + 16;
        for (int s = 0; s < 4; s++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * s));
            __m256i nib[2] = {_mm256_and_si256(v, m4), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)};
            for (int h = 0; h < 2; h++) {
                float fd, fm;
                bn_q4_k_factors_x86(sc, 2 * s + h, d, dmin, &fd, &fm);
                const __m256 d1 = _mm256_set1_ps(fd), m1 = _mm256_set1_ps(fm);
                float *o = out + i + 64 * s + 32 * h;
                for (int k = 0; k < 32; k += 8) {
                    __m128i x8 = k < 16 ? _mm256_castsi256_si128(nib[h]) : _mm256_extracti128_si256(nib[h], 1);
                    if (k % 16)
                        x8 = _mm_srli_si128(x8, 8);
                    __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(x8));
                    _mm256_storeu_ps(o + k, _mm256_sub_ps(_mm256_mul_ps(d1, f), m1));
                }
            }
        }
    }
}

/* Half h of a Q6_K block b: its four groups of 32 values (values 128h + 32gi
 * ..), q - 32 as signed bytes, the high bits shifted into place. */
static inline __attribute__((always_inline)) void bn_q6_k_half_avx2(const uint8_t *b, int h, __m256i v[4])
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), k32 = _mm256_set1_epi8(32);
    const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
    __m256i la = _mm256_loadu_si256((const __m256i *)(const void *)ql);
    __m256i lb = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));
    __m256i hv = _mm256_loadu_si256((const __m256i *)(const void *)qh);
    v[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(hv, m3), 4));
    v[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hv, 2), m3), 4));
    v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hv, 4), m3), 4));
    v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hv, 6), m3), 4));
    for (int gi = 0; gi < 4; gi++)
        v[gi] = _mm256_sub_epi8(v[gi], k32);
}

/* A Q6_K block's 256 values (q - 32) and 16 factors (d * scale) stored at
 * q and f, to be read back by extending loads and as broadcasts. Read
 * straight from registers instead, each 8 values took an extract or a byte
 * shift, and GCC turned the factors' store and broadcast reloads into two
 * shuffles each: callers put a compiler barrier between the stores and the
 * loads. */
static inline __attribute__((always_inline)) void bn_q6_k_stage_avx2(const uint8_t *b, int8_t q[256], float f[16])
{
    const __m256 d = _mm256_set1_ps(bn_f16_x86(b + 208));
    for (int h = 0; h < 2; h++) {
        __m256i g[4];
        bn_q6_k_half_avx2(b, h, g);
        for (int i = 0; i < 4; i++)
            _mm256_store_si256((__m256i *)(void *)(q + 128 * h + 32 * i), g[i]);
        __m128i sc = _mm_loadl_epi64((const __m128i *)(const void *)(b + 192 + 8 * h));
        _mm256_store_ps(f + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))));
    }
}

/* Q6_K: y = (d * scale) * (q - 32), one int8 scale per 16 values. */
static inline void bn_dequant_q6_k_avx2(const uint8_t *b, float *out, int64_t n)
{
    _Alignas(32) int8_t q[256];
    _Alignas(32) float f[16];
    for (int64_t i = 0; i < n; i += 256, b += 210) {
        bn_q6_k_stage_avx2(b, q, f);
        __asm__ volatile("" : : "r"(q), "r"(f) : "memory");  /* read them back from memory */
        for (int j = 0; j < 16; j++) {
            const __m256 fj = _mm256_broadcast_ss(f + j);
            for (int k = 0; k < 16; k += 8)
                _mm256_storeu_ps(out + i + 16 * j + k,
                                 bn_i8x8_times_x86(_mm_loadl_epi64((const __m128i *)(const void *)(q + 16 * j + k)), fj));
        }
    }
}

#endif
