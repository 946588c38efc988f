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
#include <string.h>

#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m512i bcast32(const int8_t *q)
{
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)q));
}

/* Blocks per pass of group_dot: a masked (unshifted) code is at most
 * 2 << 6 = 128, so a lane gains at most 4 * 128 * 128 = 65536 a block; 16384
 * blocks stay below 2^31, and the scaled sums are exact multiples when shifted
 * down. */
#define PASS 16384

/* sum(code * q) of the 4 rows of group g against one token, the decode path,
 * left as 8 partial sums a row: *t01 holds rows 0 and 1 (lanes 0..7, 8..15),
 * *t23 rows 2 and 3. The fields are only masked, never shifted: the
 * accumulator of field f holds its sums times 4^(3 - f), and one arithmetic
 * shift per pass removes the factor exactly. Memory is read in order, 128
 * bytes a step, with prefetches `ahead` bytes further where they pay
 * (BN_DECODE_AHEAD). */
ALWAYS_INLINE void group_dot(const uint8_t *g, const int8_t *q, int64_t nblk, size_t ahead, __m512i *t01, __m512i *t23)
{
    const __m512i m6 = _mm512_set1_epi8((char)0xc0), m4 = _mm512_set1_epi8(0x30);
    const __m512i m2 = _mm512_set1_epi8(0x0c), m0 = _mm512_set1_epi8(0x03);
    __m512i s01 = _mm512_setzero_si512(), s23 = s01;
    for (int64_t p0 = 0; p0 < nblk; p0 += PASS) {
        int64_t p1 = nblk - p0 < PASS ? nblk : p0 + PASS;
        __m512i a6 = _mm512_setzero_si512(), a4 = a6, a2 = a6, a0 = a6, b6 = a6, b4 = a6, b2 = a6, b0 = a6;
        for (int64_t b = p0; b < p1; b++) {
            const uint8_t *p = g + 128 * b;
            const int8_t *qb = q + 128 * b;
            bn_prefetch_ahead(p, ahead);
            bn_prefetch_ahead(p + 64, ahead);
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
        s01 = _mm512_add_epi32(s01, _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(a6, 6), _mm512_srai_epi32(a4, 4)),
                                                     _mm512_add_epi32(_mm512_srai_epi32(a2, 2), a0)));
        s23 = _mm512_add_epi32(s23, _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(b6, 6), _mm512_srai_epi32(b4, 4)),
                                                     _mm512_add_epi32(_mm512_srai_epi32(b2, 2), b0)));
    }
    *t01 = s01;
    *t23 = s23;
}

/* Prefill tile: G groups x T tokens, at most PG x PT. Each block is
 * unpacked once (fields shifted down to codes 0..2, so all four fields of a
 * row pair share one accumulator) and serves every token; a code times |q|
 * summed over a block is at most 4 * 4 * 2 * 128 = 4096 a lane, far from
 * overflow. The shape that runs fastest depends on the core (16 accumulators
 * either way; three groups or twelve tokens spill):
 * - Zen 4: two groups by four tokens, 8% faster than one group by eight
 *   (each broadcast activation then feeds four products instead of two);
 * - Sapphire Rapids: one group by eight, 15-20% faster than two by four
 *   (its shifts share ports 0 and 5 with vpdpbusd, and eight tokens an
 *   unpacked block halve them per product). */
#define PG 2
#define PT 8

/* Sums of lanes i and i + s within blocks of 2s lanes of x and y, packed:
 * the sums from x, then those from y (step s = 4, 2, 1 of the reduction). */
ALWAYS_INLINE __m512i fold(__m512i x, __m512i y, __m512i lo, __m512i hi)
{
    return _mm512_add_epi32(_mm512_permutex2var_epi32(x, lo, y), _mm512_permutex2var_epi32(x, hi, y));
}

/* The 16 row sums of four pairs of accumulators of two rows each, a[j] the
 * pair of token j of a group (prefill) or of group j (decode), lanes 4j ..
 * 4j + 3 of the result its rows 0..3: three folds instead of a horizontal
 * sum per pair. */
ALWAYS_INLINE __m512i reduce4(__m512i (*a)[2])
{
    const __m512i lo4 = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    const __m512i lo2 = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
    const __m512i lo1 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i four = _mm512_set1_epi32(4), two = _mm512_set1_epi32(2), one = _mm512_set1_epi32(1);
    const __m512i hi4 = _mm512_add_epi32(lo4, four), hi2 = _mm512_add_epi32(lo2, two), hi1 = _mm512_add_epi32(lo1, one);
    __m512i z[4];
    for (int j = 0; j < 4; j++)
        z[j] = fold(a[j][0], a[j][1], lo4, hi4);  /* rows 0..3 of token j, 4 partial sums each */
    __m512i w0 = fold(z[0], z[1], lo2, hi2), w1 = fold(z[2], z[3], lo2, hi2);
    return fold(w0, w1, lo1, hi1);
}

/* out[i][c]: the 16 row sums of group i and tokens 4c .. 4c + 3
 * (token-major, reduce4's order). */
ALWAYS_INLINE void tile(const uint8_t *g, int G, int64_t cols, const int8_t *q, int T, __m512i out[PG][PT / 4])
{
    const __m512i m3 = _mm512_set1_epi8(3);
    const int64_t nblk = cols / 128;
    __m512i acc[PG][PT][2];
    for (int i = 0; i < G; i++)
        for (int j = 0; j < (T + 3) / 4 * 4; j++)
            acc[i][j][0] = acc[i][j][1] = _mm512_setzero_si512();
    for (int64_t b = 0; b < nblk; b++) {
        __m512i w[PG][2];
        for (int i = 0; i < G; i++) {
            w[i][0] = _mm512_loadu_si512(g + i * cols + 128 * b);
            w[i][1] = _mm512_loadu_si512(g + i * cols + 128 * b + 64);
        }
        for (int f = 0; f < 4; f++) {
            __m512i c[PG][2];
            for (int i = 0; i < G; i++)
                for (int h = 0; h < 2; h++)
                    c[i][h] = _mm512_and_si512(_mm512_srli_epi16(w[i][h], 6 - 2 * f), m3);
            for (int j = 0; j < T; j++) {
                __m512i x = bcast32(q + j * cols + 128 * b + 32 * f);
                for (int i = 0; i < G; i++)
                    for (int h = 0; h < 2; h++)
                        acc[i][j][h] = _mm512_dpbusd_epi32(acc[i][j][h], c[i][h], x);
            }
        }
    }
    for (int i = 0; i < G; i++)
        for (int c = 0; c < (T + 3) / 4; c++)
            out[i][c] = reduce4(&acc[i][4 * c]);
}

typedef void tile_fn(const uint8_t *g, int64_t cols, const int8_t *q, __m512i out[PG][PT / 4]);

#define TILE(G, T)                                                                                      \
    static void tile_##G##_##T(const uint8_t *g, int64_t cols, const int8_t *q, __m512i out[PG][PT / 4]) \
    {                                                                                                   \
        tile(g, G, cols, q, T, out);                                                                    \
    }
TILE(1, 1) TILE(1, 2) TILE(1, 3) TILE(1, 4) TILE(1, 5) TILE(1, 6) TILE(1, 7) TILE(1, 8)
TILE(2, 1) TILE(2, 2) TILE(2, 3) TILE(2, 4)

/* The shapes the two builds use: up to 2 x 4 and 1 x 8. */
static tile_fn *const tiles[PG + 1][PT + 1] = {
    { NULL },
    { NULL, tile_1_1, tile_1_2, tile_1_3, tile_1_4, tile_1_5, tile_1_6, tile_1_7, tile_1_8 },
    { NULL, tile_2_1, tile_2_2, tile_2_3, tile_2_4 },
};

/* The four rows of the group at row0 that lie in [r0, r1), from v. */
ALWAYS_INLINE void store_rows(const float *v, int64_t row0, int64_t r0, int64_t r1, float *y)
{
    if (row0 >= r0 && row0 + 4 <= r1) {
        memcpy(y + row0, v, 4 * sizeof *v);
        return;
    }
    for (int i = 0; i < 4; i++)
        if (row0 + i >= r0 && row0 + i < r1)
            y[row0 + i] = v[i];
}

/* y for n <= 4 tokens of one group from reduce4's token-major sums, with the
 * scalar code's subtraction, division and product. */
ALWAYS_INLINE void store_group4(__m512i isum, const int32_t *act_sum, const float *act_scale, int n, float w_scale,
                                int64_t row0, int64_t r0, int64_t r1, float *y, int64_t ldy)
{
    const __m512i rep = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __mmask16 m = (__mmask16)((1u << n) - 1);
    __m512i sum = _mm512_permutexvar_epi32(rep, _mm512_castsi128_si512(_mm_maskz_loadu_epi32((__mmask8)m, act_sum)));
    __m512 sc = _mm512_permutexvar_ps(rep, _mm512_castps128_ps512(_mm_maskz_loadu_ps((__mmask8)m, act_scale)));
    __m512 f = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(isum, sum)), sc);
    float v[16];
    _mm512_storeu_ps(v, _mm512_mul_ps(f, _mm512_set1_ps(w_scale)));
    for (int j = 0; j < n; j++)
        store_rows(v + 4 * j, row0, r0, r1, y + j * ldy);
}

/* One token: every group that holds any of the rows [r0, r1), four groups
 * (16 rows) at a time, one after the other; their sums are reduced together
 * and scaled with the scalar code's subtraction, division and product, 16
 * rows an instruction. The padding rows of a group cost a little work but
 * are never stored. */
ALWAYS_INLINE void decode(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, float act_scale,
                          int32_t act_sum, float *y, size_t ahead)
{
    const int64_t cols = w->cols;
    for (int64_t row0 = r0 / 4 * 4; row0 < r1; row0 += 16) {
        int n = (r1 - row0 + 3) / 4 < 4 ? (int)((r1 - row0 + 3) / 4) : 4;
        __m512i t[4][2];
        for (int i = 0; i < 4; i++) {
            if (i < n)
                group_dot(w->codes + bn_tmat_block(cols, row0 + 4 * i, 0), q, cols / 128, ahead, &t[i][0], &t[i][1]);
            else
                t[i][0] = t[i][1] = _mm512_setzero_si512();
        }
        __m512i isum = reduce4(t);  /* rows row0 .. row0 + 15 */
        __m512 f = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(isum, _mm512_set1_epi32(act_sum))),
                                 _mm512_set1_ps(act_scale));
        f = _mm512_mul_ps(f, _mm512_set1_ps(w->scale));
        _mm512_mask_storeu_ps(y + row0, bn_rows_kept(row0, r0, r1), f);
    }
}

/* Several tokens, tiles of up to pg groups x pt tokens. Tokens inner: the
 * groups' blocks stay in cache while every token tile passes over them. */
ALWAYS_INLINE void prefill(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                           const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy, int pg, int pt)
{
    const int64_t cols = w->cols;
    const size_t next = (size_t)pg * (size_t)cols, all = bn_tmat_bytes(w->rows, cols);
    for (int64_t row0 = r0 / 4 * 4; row0 < r1; row0 += 4 * pg) {
        const uint8_t *g = w->codes + bn_tmat_block(cols, row0, 0);
        int G = (r1 - row0 + 3) / 4 < pg ? (int)((r1 - row0 + 3) / 4) : pg;
        bn_prefetch pf = bn_prefetch_spread(w->codes, all, bn_tmat_block(cols, row0, 0) + next, next,
                                            (n_tok + pt - 1) / pt);  /* the next pg groups */
        for (int64_t t0 = 0; t0 < n_tok; t0 += pt) {
            int T = n_tok - t0 < pt ? (int)(n_tok - t0) : pt;
            bn_prefetch_step(&pf);
            __m512i isum[PG][PT / 4];
            tiles[G][T](g, cols, q + t0 * cols, isum);
            for (int i = 0; i < G; i++)
                for (int c = 0; 4 * c < T; c++)
                    store_group4(isum[i][c], act_sum + t0 + 4 * c, act_scale + t0 + 4 * c,
                                 T - 4 * c < 4 ? T - 4 * c : 4, w->scale, row0 + 4 * i, r0, r1,
                                 y + (t0 + 4 * c) * ldy, ldy);
        }
    }
}

void bn_tgemm_avx512(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                     const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1)
        decode(w, r0, r1, q, act_scale[0], act_sum[0], y, 0);
    else
        prefill(w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy, 2, 4);
}

void bn_tgemm_avx512_prefetch(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                        const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1)
        decode(w, r0, r1, q, act_scale[0], act_sum[0], y, BN_DECODE_AHEAD);
    else
        prefill(w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy, 1, 8);
}
