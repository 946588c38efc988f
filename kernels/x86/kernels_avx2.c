/* The AVX2 (+FMA +F16C) table and its activation quantizer. */
#include <immintrin.h>
#include <math.h>

#include "ggml_types.h"
#include "scalar/dense_scalar.h"
#include "x86/kernels_x86.h"

/* Operand order matters for NaN: vmaxps returns its second operand when
 * either is NaN, which is what fmaxf(acc, NaN) = acc and
 * fmaxf(NaN, -127) = -127 in the scalar code give. */
void bn_quantize_act_avx2(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    /* four maxima side by side (n % 128 == 0), so that the maximum is not
     * one chain of dependent instructions: the same result in any order */
    __m256 mx[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t i = 0; i < n; i += 32)
        for (int j = 0; j < 4; j++)
            mx[j] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 8 * j), absmask), mx[j]);
    __m256 m = _mm256_max_ps(_mm256_max_ps(mx[0], mx[1]), _mm256_max_ps(mx[2], mx[3]));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ps(h, _mm_shuffle_ps(h, h, 1));
    float amax = _mm_cvtss_f32(h);
    float s = 127.0f / fmaxf(amax, 1e-5f);

    const __m256 vs = _mm256_set1_ps(s), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i total = _mm256_setzero_si256();
    for (int64_t i = 0; i < n; i += 32) {
        __m256i v[4];
        for (int j = 0; j < 4; j++) {
            __m256 f = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vs);
            f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
            v[j] = _mm256_cvttps_epi32(f);
            total = _mm256_add_epi32(total, v[j]);
        }
        /* The packs work within 128-bit lanes; the permute restores order. */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(p, order));
    }
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    *scale = s;
    *sum = _mm_cvtsi128_si32(t);
}

/* F16 rows (embeddings, and the KV cache in attention) with the F16C
 * conversion, which is exact like the scalar one; other types as in scalar. */
void bn_dequant_row_avx2(uint32_t type, const void *row, float *out, int64_t n)
{
    if (type != BN_TYPE_F16) {
        bn_dequant_row_scalar(type, row, out, n);
        return;
    }
    const uint16_t *h = row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    if (i < n)
        bn_dequant_row_scalar(type, h + i, out + i, n - i);
}

/* F16C's conversion rounds to nearest even, overflows to infinity and keeps
 * a NaN's top payload bits, quieted: what bn_f32_to_f16 does (checkkernels
 * compares them over every exponent, subnormals, infinities and NaNs). */
void bn_to_f16_avx2(const float *x, uint16_t *out, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < n)
        bn_to_f16_scalar(x + i, out + i, n - i);
}

/* The table, its prefetching build (decode's software prefetch, kernels_x86.h)
 * and that build with AVX-VNNI ternary products. */
#define TABLE(BUILD, TGEMM, SUFFIX)            \
{                                          \
    .level = BN_CPU_AVX2,                  \
    .build = BUILD,                        \
    .quantize_act = bn_quantize_act_avx2,  \
    .tgemm = TGEMM,                        \
    .fgemm = bn_fgemm_avx2##SUFFIX,        \
    .dequant_row = bn_dequant_row_avx2,    \
    .i8gemm = bn_i8gemm_avx2##SUFFIX,      \
    .to_f16 = bn_to_f16_avx2,              \
    .attn = bn_attn_avx2,                  \
    .glu = bn_glu_avx2,                    \
    .rmsnorm = bn_rmsnorm_avx2,            \
}

const bn_kernels bn_kernels_avx2 = TABLE(BN_BUILD_BASE, bn_tgemm_avx2, );
const bn_kernels bn_kernels_avx2_prefetch = TABLE(BN_BUILD_PREFETCH, bn_tgemm_avx2_prefetch, _prefetch);
#ifdef BN_HAVE_KERNELS_AVXVNNI
const bn_kernels bn_kernels_avx2_vnni = TABLE(BN_BUILD_AVXVNNI, bn_tgemm_avxvnni, _prefetch);
#endif
