/* AVX-512 VNNI int8 GEMM for the quantized output head (bn_i8mat).
 * vpdpbusd takes one unsigned operand: the activations go in as q + 128
 * (q ^ 0x80), so isum = sum(w * (q + 128)) - 128 * sum(w), with sum(w) kept
 * per row at load. A lane gains at most 4 * 255 * 127 per instruction, so
 * rows up to 2^16 weights cannot overflow. */
#include <immintrin.h>

#include "i8gemm_tiles.h"
#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i ld(const int8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* Wrapping horizontal sum of eight int32 lanes (vector adds: no UB). */
ALWAYS_INLINE int32_t hsum(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
}

/* sum(w * (q + 128)) of one row, four accumulators to cover vpdpbusd latency.
 * 256-bit vectors (AVX-512VL): every 64-byte line of the row is then read by
 * two loads, and this stream ran at 0.96 of a plain read loop on Zen 4
 * against 0.88-0.93 with one 512-bit load a line (alternating in one
 * process, 40 rounds; the 512-bit read loop itself reaches only 0.94).
 * Software prefetch made decode 14% slower on Zen 4 (the hardware
 * prefetchers follow the single stream): only the prefetching build has it. */
ALWAYS_INLINE int32_t row_dot(const int8_t *w, const int8_t *q, int64_t cols, size_t ahead)
{
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 128 <= cols; k += 128) {
        bn_prefetch_ahead(w + k, ahead);
        bn_prefetch_ahead(w + k + 64, ahead);
        a0 = _mm256_dpbusd_epi32(a0, _mm256_xor_si256(ld(q + k), flip), ld(w + k));
        a1 = _mm256_dpbusd_epi32(a1, _mm256_xor_si256(ld(q + k + 32), flip), ld(w + k + 32));
        a2 = _mm256_dpbusd_epi32(a2, _mm256_xor_si256(ld(q + k + 64), flip), ld(w + k + 64));
        a3 = _mm256_dpbusd_epi32(a3, _mm256_xor_si256(ld(q + k + 96), flip), ld(w + k + 96));
    }
    for (; k < cols; k += 32)
        a0 = _mm256_dpbusd_epi32(a0, _mm256_xor_si256(ld(q + k), flip), ld(w + k));
    return hsum(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)));
}

/* Several tokens: two rows by T (i8gemm_tiles.h), each activation's load
 * and flip serving both rows; the sums come back 128 * sum(w) too large.
 * 512-bit vectors here, where the rows come from cache after the first
 * token tile: 1.46-1.51x over 256-bit ones at 8 and 64 tokens, 1.09x at 3
 * (harness, 4096 x 2560 rows). cols % 128 == 0 (kernels.h). */
ALWAYS_INLINE void tile(const int8_t *w0, const int8_t *w1, const int8_t *q, int64_t cols, int T,
                        int32_t out[2][BN_I8_TILE_TOKS])
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i acc[2][BN_I8_TILE_TOKS];
    for (int j = 0; j < T; j++)
        acc[0][j] = acc[1][j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < cols; k += 64) {
        __m512i a = _mm512_loadu_si512(w0 + k), b = _mm512_loadu_si512(w1 + k);
        for (int j = 0; j < T; j++) {
            __m512i qv = _mm512_xor_si512(_mm512_loadu_si512(q + j * cols + k), flip);
            acc[0][j] = _mm512_dpbusd_epi32(acc[0][j], qv, a);
            acc[1][j] = _mm512_dpbusd_epi32(acc[1][j], qv, b);
        }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = hsum(_mm256_add_epi32(_mm512_castsi512_si256(acc[i][j]), _mm512_extracti64x4_epi64(acc[i][j], 1)));
}

BN_I8_TILES(tile)

ALWAYS_INLINE void i8gemm(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                          int64_t n_tok, float *y, int64_t ldy, size_t ahead)
{
    if (n_tok > 1) {
        bn_i8gemm_tiles(tiles, 128, w, r0, r1, q, act_scale, n_tok, y, ldy);
        return;
    }
    /* The matrix's fields in locals: the stores to y could alias them for
     * all the compiler knows (-fno-strict-aliasing), and reloading them
     * every row made the int8 head stream 3-4% slower (Zen 4, alone and in
     * the model). */
    const int8_t *wq = w->q;
    const float *wscale = w->scale;
    const int32_t *wsum = w->sum;
    const int64_t cols = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *row = wq + r * cols;
        /* Unsigned arithmetic: the wrap is what int32 would give, without UB. */
        uint32_t bias = (uint32_t)wsum[r] * 128u;
        float sr = wscale[r];
        for (int64_t t = 0; t < n_tok; t++) {
            int32_t isum = (int32_t)((uint32_t)row_dot(row, q + t * cols, cols, ahead) - bias);
            y[t * ldy + r] = ((float)isum / act_scale[t]) * sr;
        }
    }
}

void bn_i8gemm_avx512(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      int64_t n_tok, float *y, int64_t ldy)
{
    i8gemm(w, r0, r1, q, act_scale, n_tok, y, ldy, 0);
}

/* Decode prefetches (kernels_x86.h); several tokens read each row from cache. */
void bn_i8gemm_avx512_prefetch(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                         int64_t n_tok, float *y, int64_t ldy)
{
    i8gemm(w, r0, r1, q, act_scale, n_tok, y, ldy, n_tok == 1 ? BN_DECODE_AHEAD : 0);
}
