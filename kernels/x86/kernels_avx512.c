/* The AVX-512 (F, BW, VL, VNNI) table and its activation quantizer. */
#include <immintrin.h>
#include <math.h>

#include "scalar/dense_scalar.h"
#include "x86/kernels_x86.h"

/* Operand order matters for NaN: vmaxps returns its second operand when
 * either is NaN, which is what fmaxf(acc, NaN) = acc and
 * fmaxf(NaN, -127) = -127 in the scalar code give. */
void bn_quantize_act_avx512(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum)
{
    const __m512i absmask = _mm512_set1_epi32(0x7fffffff);
    /* four maxima side by side (n % 128 == 0), so that the maximum is not
     * one chain of dependent instructions: the same result in any order */
    __m512 mx[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (int64_t i = 0; i < n; i += 64)
        for (int j = 0; j < 4; j++)
            mx[j] = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + i + 16 * j), absmask)),
                                  mx[j]);
    __m512 m = _mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3]));
    __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(m), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m), 1)));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ps(h, _mm_shuffle_ps(h, h, 1));
    float amax = _mm_cvtss_f32(h);
    float s = 127.0f / fmaxf(amax, 1e-5f);

    const __m512 vs = _mm512_set1_ps(s), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    __m512i total = _mm512_setzero_si512();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 f = _mm512_mul_ps(_mm512_loadu_ps(x + i), vs);
        f = _mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        __m512i v = _mm512_cvttps_epi32(f);
        total = _mm512_add_epi32(total, v);
        _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtepi32_epi8(v));
    }
    __m256i t8 = _mm256_add_epi32(_mm512_castsi512_si256(total), _mm512_extracti64x4_epi64(total, 1));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(t8), _mm256_extracti128_si256(t8, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    *scale = s;
    *sum = _mm_cvtsi128_si32(t);
}

/* The table, its prefetching build (decode's software prefetch, prefill tiles of
 * one group by eight tokens) and that build with AMX-INT8 prefill
 * (kernels_x86.h). */
#define TABLE(BUILD, TGEMM, TILED, SUFFIX)                                           \
{                                                                                    \
    .level = BN_CPU_AVX512,                                                          \
    .build = BUILD,                                                                  \
    .quantize_act = bn_quantize_act_avx512,                                          \
    .tgemm = TGEMM,                                                                  \
    .tgemm_tiled = TILED,                                                            \
    .fgemm = bn_fgemm_avx512##SUFFIX,                                                \
    .dequant_row = bn_dequant_row_avx2,  /* AVX-512 implies AVX2 and F16C */         \
    .i8gemm = bn_i8gemm_avx512##SUFFIX,                                              \
    .to_f16 = bn_to_f16_avx2,                                                        \
    .attn = bn_attn_avx512,  /* rows path or chunked (attn_avx512.c) */             \
    .glu = bn_glu_avx2,                                                              \
    .rmsnorm = bn_rmsnorm_avx512,                                                    \
}

const bn_kernels bn_kernels_avx512 = TABLE(BN_BUILD_BASE, bn_tgemm_avx512, NULL, );
const bn_kernels bn_kernels_avx512_prefetch = TABLE(BN_BUILD_PREFETCH, bn_tgemm_avx512_prefetch, NULL, _prefetch);
#ifdef BN_HAVE_KERNELS_AMX
const bn_kernels bn_kernels_avx512_amx = TABLE(BN_BUILD_AMX, bn_tgemm_amx, bn_tgemm_amx_tiled, _prefetch);
#endif
