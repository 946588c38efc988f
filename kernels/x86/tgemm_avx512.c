/* AVX-512 VNNI ternary GEMM over the kernels' layout (bn_tmat in kernels.h):
 * one group of 4 rows at a time, whose 4 x 32-byte blocks of a column range
 * are 128 consecutive bytes, loaded as two zmm of two rows each.
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes and adds groups of four
 * into int32 lanes, so the codes (0, 1, 2) go in as the unsigned operand and
 * isum = sum(code * q) - sum(q). Byte i of a block holds weights i, 32 + i,
 * 64 + i and 96 + i (fields at shifts 6, 4, 2, 0), so field f of a zmm of two
 * rows meets activations q[32f .. 32f + 31] broadcast to both halves; lanes
 * 0..7 of an accumulator belong to the first row, 8..15 to the second. The
 * int32 lanes wrap exactly as the scalar int32 arithmetic would, so the
 * result is exact for any int8 input. */
#include <immintrin.h>

#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m512i bcast32(const int8_t *q)
{
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)q));
}

/* The four row sums of a group from two accumulators of two rows each. */
ALWAYS_INLINE __m128i group_sums(__m512i r01, __m512i r23)
{
    __m256i h01 = _mm256_hadd_epi32(_mm512_castsi512_si256(r01), _mm512_extracti64x4_epi64(r01, 1));
    __m256i h23 = _mm256_hadd_epi32(_mm512_castsi512_si256(r23), _mm512_extracti64x4_epi64(r23, 1));
    __m256i h = _mm256_hadd_epi32(h01, h23);
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* Blocks per pass of group_dot: a masked (unshifted) code is at most
 * 2 << 6 = 128, so a lane gains at most 4 * 128 * 128 = 65536 a block; 16384
 * blocks stay below 2^31, and the scaled sums are exact multiples when shifted
 * down. */
#define PASS 16384

/* sum(code * q) of the 4 rows of group g against one token, the decode path.
 * The fields are only masked, never shifted: the accumulator of field f holds
 * its sums times 4^(3 - f), and one arithmetic shift per pass removes the
 * factor exactly. Memory is read in order, 128 bytes a step: the hardware
 * prefetchers keep up without help. */
ALWAYS_INLINE __m128i group_dot(const uint8_t *g, const int8_t *q, int64_t nblk)
{
    const __m512i m6 = _mm512_set1_epi8((char)0xc0), m4 = _mm512_set1_epi8(0x30);
    const __m512i m2 = _mm512_set1_epi8(0x0c), m0 = _mm512_set1_epi8(0x03);
    __m512i t01 = _mm512_setzero_si512(), t23 = t01;
    for (int64_t p0 = 0; p0 < nblk; p0 += PASS) {
        int64_t p1 = nblk - p0 < PASS ? nblk : p0 + PASS;
        __m512i a6 = _mm512_setzero_si512(), a4 = a6, a2 = a6, a0 = a6, b6 = a6, b4 = a6, b2 = a6, b0 = a6;
        for (int64_t b = p0; b < p1; b++) {
            const uint8_t *p = g + 128 * b;
            const int8_t *qb = q + 128 * b;
            __m512i w01 = _mm512_loadu_si512(p), w23 = _mm512_loadu_si512(p + 64);
            __m512i x = bcast32(qb);
            a6 = _mm512_dpbusd_epi32(a6, _mm512_and_si512(w01, m6), x);
            b6 = _mm512_dpbusd_epi32(b6, _mm512_and_si512(w23, m6), x);
            x = bcast32(qb + 32);
            a4 = _mm512_dpbusd_epi32(a4, _mm512_and_si512(w01, m4), x);
            b4 = _mm512_dpbusd_epi32(b4, _mm512_and_si512(w23, m4), x);
            x = bcast32(qb + 64);
            a2 = _mm512_dpbusd_epi32(a2, _mm512_and_si512(w01, m2), x);
            b2 = _mm512_dpbusd_epi32(b2, _mm512_and_si512(w23, m2), x);
            x = bcast32(qb + 96);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(w01, m0), x);
            b0 = _mm512_dpbusd_epi32(b0, _mm512_and_si512(w23, m0), x);
        }
        t01 = _mm512_add_epi32(t01, _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(a6, 6), _mm512_srai_epi32(a4, 4)),
                                                     _mm512_add_epi32(_mm512_srai_epi32(a2, 2), a0)));
        t23 = _mm512_add_epi32(t23, _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(b6, 6), _mm512_srai_epi32(b4, 4)),
                                                     _mm512_add_epi32(_mm512_srai_epi32(b2, 2), b0)));
    }
    return group_sums(t01, t23);
}

/* Prefill tile: one group x up to PT tokens. Each block is unpacked once
 * (fields shifted down to codes 0..2, so all four fields of a row pair share
 * one accumulator) and serves every token; a code times |q| summed over a
 * block is at most 4 * 4 * 2 * 128 = 4096 a lane, far from overflow. Six
 * tokens measured fastest on Zen 4 (2 to 8 tried; the old layout's 4 rows x 3
 * tokens was 3% slower). */
#define PT 6

ALWAYS_INLINE void tile(const uint8_t *g, int64_t cols, const int8_t *q, int T, __m128i out[PT])
{
    const __m512i m3 = _mm512_set1_epi8(3);
    const int64_t nblk = cols / 128;
    __m512i acc[PT][2];
    for (int j = 0; j < T; j++)
        acc[j][0] = acc[j][1] = _mm512_setzero_si512();
    for (int64_t b = 0; b < nblk; b++) {
        __m512i w01 = _mm512_loadu_si512(g + 128 * b), w23 = _mm512_loadu_si512(g + 128 * b + 64);
        __m512i c[4][2];
        for (int f = 0; f < 4; f++) {
            c[f][0] = _mm512_and_si512(_mm512_srli_epi16(w01, 6 - 2 * f), m3);
            c[f][1] = _mm512_and_si512(_mm512_srli_epi16(w23, 6 - 2 * f), m3);
        }
        for (int j = 0; j < T; j++)
            for (int f = 0; f < 4; f++) {
                __m512i x = bcast32(q + j * cols + 128 * b + 32 * f);
                acc[j][0] = _mm512_dpbusd_epi32(acc[j][0], c[f][0], x);
                acc[j][1] = _mm512_dpbusd_epi32(acc[j][1], c[f][1], x);
            }
    }
    for (int j = 0; j < T; j++)
        out[j] = group_sums(acc[j][0], acc[j][1]);
}

typedef void tile_fn(const uint8_t *g, int64_t cols, const int8_t *q, __m128i out[PT]);

#define TILE(T)                                                                                         \
    static void tile_##T(const uint8_t *g, int64_t cols, const int8_t *q, __m128i out[PT])              \
    {                                                                                                   \
        tile(g, cols, q, T, out);                                                                       \
    }
TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)

static tile_fn *const tiles[PT + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};

/* y for rows [g0 * 4, g0 * 4 + 4) ∩ [r0, r1) of token t from their four isums,
 * with the scalar code's division and product, four rows an instruction. */
ALWAYS_INLINE void store_group(__m128i isum, int32_t act_sum, float act_scale, float w_scale, int64_t row0,
                               int64_t r0, int64_t r1, float *y)
{
    __m128 f = _mm_div_ps(_mm_cvtepi32_ps(_mm_sub_epi32(isum, _mm_set1_epi32(act_sum))), _mm_set1_ps(act_scale));
    f = _mm_mul_ps(f, _mm_set1_ps(w_scale));
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

void bn_tgemm_avx512(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                     const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    const int64_t cols = w->cols;
    /* Groups that hold any of the rows: the padding rows of a group cost a
     * little work but are never stored. */
    for (int64_t row0 = r0 / 4 * 4; row0 < r1; row0 += 4) {
        const uint8_t *g = w->codes + bn_tmat_block(cols, row0, 0);
        if (n_tok == 1) {
            store_group(group_dot(g, q, cols / 128), act_sum[0], act_scale[0], w->scale, row0, r0, r1, y);
            continue;
        }
        /* Tokens inner: the group's blocks stay in cache while every token
         * tile passes over them. */
        for (int64_t t0 = 0; t0 < n_tok; t0 += PT) {
            int T = n_tok - t0 < PT ? (int)(n_tok - t0) : PT;
            __m128i isum[PT];
            tiles[T](g, cols, q + t0 * cols, isum);
            for (int j = 0; j < T; j++)
                store_group(isum[j], act_sum[t0 + j], act_scale[t0 + j], w->scale, row0, r0, r1,
                            y + (t0 + j) * ldy);
        }
    }
}
