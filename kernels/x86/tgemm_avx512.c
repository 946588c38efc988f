/* AVX-512 VNNI ternary GEMM over the I2_S layout (see bn_tmat in kernels.h).
 * vpdpbusd multiplies unsigned bytes by signed bytes and adds groups of four
 * into int32 lanes, so the codes (0, 1, 2) go in as the unsigned operand and
 * isum = sum(code * q) - sum(q). The 32-bit lanes wrap exactly as the scalar
 * int32 arithmetic would, so the result is exact for any int8 input.
 * A 32-byte block is broadcast to both halves of a zmm: fields (6, 4) then
 * (2, 0) of it are weights 0..63 and 64..127 in order, against plain 64-byte
 * loads of the activations. */
#include <immintrin.h>

#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

typedef struct {
    __m512i sh01, sh23, m3;
} consts;

ALWAYS_INLINE consts make_consts(void)
{
    consts c;
    c.sh01 = _mm512_inserti64x4(_mm512_set1_epi16(6), _mm256_set1_epi16(4), 1);
    c.sh23 = _mm512_inserti64x4(_mm512_set1_epi16(2), _mm256_set1_epi16(0), 1);
    c.m3 = _mm512_set1_epi8(3);
    return c;
}

/* Codes of weights 0..63 and 64..127 of a block, as bytes 0..2. */
ALWAYS_INLINE void unpack(const consts *k, const uint8_t *blk, __m512i *c01, __m512i *c23)
{
    __m512i z = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)blk));
    *c01 = _mm512_and_si512(_mm512_srlv_epi16(z, k->sh01), k->m3);
    *c23 = _mm512_and_si512(_mm512_srlv_epi16(z, k->sh23), k->m3);
}

/* Wrapping horizontal sum with vector adds (no signed-overflow UB). */
ALWAYS_INLINE int32_t hsum(__m512i v)
{
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

ALWAYS_INLINE __m512i ld(const int8_t *q)
{
    return _mm512_loadu_si512((const void *)q);
}

/* Blocks per pass of row_dot: a masked (unshifted) code is at most 192, so a
 * lane gains at most 4 * 192 * 128 = 98304 a block; 16384 blocks stay below
 * 2^31 and the scaled sums are still exact multiples when shifted down. */
#define PASS 16384

/* Software prefetch distance of the decode stream: 4 KiB measured best on
 * Zen 4 (+10% tokens/s on one thread; 1, 2, 8 and 16 KiB were slower). */
#define PF_DIST 4096

/* One block of row_dot into accumulators A (weights 0..63) and B (64..127). */
#define ROW_STEP(A, B, blk)                                                                             \
    do {                                                                                                \
        __m512i z_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(row + 32 * (blk))));   \
        A = _mm512_dpbusd_epi32(A, _mm512_and_si512(z_, m01), ld(q + 128 * (blk)));                     \
        B = _mm512_dpbusd_epi32(B, _mm512_and_si512(z_, m23), ld(q + 128 * (blk) + 64));                \
    } while (0)

/* sum(code * q) of one row against one token, the decode path. Shifts are
 * skipped: the fields are only masked, so a lane holds its group's sum times
 * 64, 16, 4 or 1 (which half of which vector says which), and one arithmetic
 * shift per pass removes the factor exactly. Four blocks a step into their own
 * accumulators keep vpdpbusd latency from serialising the stream. */
ALWAYS_INLINE int32_t row_dot(const uint8_t *row, const int8_t *q, int64_t nblk)
{
    const __m512i m01 = _mm512_inserti64x4(_mm512_set1_epi8((char)0xc0), _mm256_set1_epi8(0x30), 1);
    const __m512i m23 = _mm512_inserti64x4(_mm512_set1_epi8(0x0c), _mm256_set1_epi8(0x03), 1);
    const __m512i s01 = _mm512_inserti64x4(_mm512_set1_epi32(6), _mm256_set1_epi32(4), 1);
    const __m512i s23 = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(0), 1);
    __m512i total = _mm512_setzero_si512();
    for (int64_t p0 = 0; p0 < nblk; p0 += PASS) {
        int64_t p1 = nblk - p0 < PASS ? nblk : p0 + PASS;
        __m512i a0 = _mm512_setzero_si512(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int64_t b = p0;
        for (; b + 4 <= p1; b += 4) {
            /* The rows follow each other in memory: fetching PF_DIST bytes
             * ahead keeps the stream going across rows and 4 KiB pages,
             * where the hardware prefetchers stop. */
            _mm_prefetch((const char *)row + 32 * b + PF_DIST, _MM_HINT_T0);
            _mm_prefetch((const char *)row + 32 * b + PF_DIST + 64, _MM_HINT_T0);
            ROW_STEP(a0, b0, b);
            ROW_STEP(a1, b1, b + 1);
            ROW_STEP(a2, b2, b + 2);
            ROW_STEP(a3, b3, b + 3);
        }
        if (b < p1)
            ROW_STEP(a0, b0, b);
        if (b + 1 < p1)
            ROW_STEP(a1, b1, b + 1);
        if (b + 2 < p1)
            ROW_STEP(a2, b2, b + 2);
        /* The a's together (and the b's) cover one pass, which the bound
         * above already counts: their sum cannot overflow. */
        a0 = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
        b0 = _mm512_add_epi32(_mm512_add_epi32(b0, b1), _mm512_add_epi32(b2, b3));
        total = _mm512_add_epi32(total, _mm512_srav_epi32(a0, s01));
        total = _mm512_add_epi32(total, _mm512_srav_epi32(b0, s23));
    }
    return hsum(total);
}

/* Prefill tile: PR rows x up to PT tokens, the fastest of the tiles tried on
 * Zen 4 (2 to 8 rows x 2 to 8 tokens; bigger ones spill accumulators). */
#define PR 4  /* the epilogue below stores PR = 4 rows as one __m128 */
#define PT 3

/* sum(code * q) for R rows x T tokens: each block is unpacked once per row and
 * serves all T tokens. R and T are constants once inlined. */
ALWAYS_INLINE void tile(const uint8_t *w, int64_t row_bytes, int64_t cols, const int8_t *q, int R, int T,
                        int32_t out[PR][PT])
{
    const consts k = make_consts();
    const int64_t nblk = cols / 128;
    __m512i acc[PR][PT];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm512_setzero_si512();
    for (int64_t b = 0; b < nblk; b++) {
        __m512i c01[PR], c23[PR];
        for (int i = 0; i < R; i++)
            unpack(&k, w + i * row_bytes + 32 * b, &c01[i], &c23[i]);
        for (int j = 0; j < T; j++) {
            __m512i q01 = ld(q + j * cols + 128 * b), q23 = ld(q + j * cols + 128 * b + 64);
            for (int i = 0; i < R; i++)
                acc[i][j] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[i][j], c01[i], q01), c23[i], q23);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = hsum(acc[i][j]);
}

typedef void tile_fn(const uint8_t *w, int64_t row_bytes, int64_t cols, const int8_t *q, int32_t out[PR][PT]);

#define TILE(R, T)                                                                                      \
    static void tile_##R##x##T(const uint8_t *w, int64_t row_bytes, int64_t cols, const int8_t *q,     \
                               int32_t out[PR][PT])                                                     \
    {                                                                                                   \
        tile(w, row_bytes, cols, q, R == 0 ? PR : R, T, out);                                           \
    }
/* R == 0 stands for PR rows. */
TILE(1, 1) TILE(1, 2) TILE(1, 3)
TILE(0, 1) TILE(0, 2) TILE(0, 3)

static tile_fn *const tiles[2][PT + 1] = {
    {NULL, tile_1x1, tile_1x2, tile_1x3},
    {NULL, tile_0x1, tile_0x2, tile_0x3},
};

void bn_tgemm_avx512(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                     const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    const int64_t cols = w->cols, row_bytes = cols / 4;
    if (n_tok == 1) {
        /* Decode reads one row at a time: a single sequential stream ran at
         * twice the bandwidth of interleaved row streams from memory (Zen 4,
         * measured). */
        for (int64_t r = r0; r < r1; r++) {
            int32_t v = (int32_t)((uint32_t)row_dot(w->codes + r * row_bytes, q, cols / 128) - (uint32_t)act_sum[0]);
            y[r] = ((float)v / act_scale[0]) * w->scale;
        }
        return;
    }
    int64_t r = r0;
    while (r < r1) {
        /* PR rows share each activation load; rows outer, tokens inner, so
         * that the tile's rows stay in cache while every token group passes. */
        int R = r + PR <= r1 ? PR : 1;
        for (int64_t t0 = 0; t0 < n_tok; t0 += PT) {
            int T = n_tok - t0 < PT ? (int)(n_tok - t0) : PT;
            int32_t isum[PR][PT];
            tiles[R == PR][T](w->codes + r * row_bytes, row_bytes, cols, q + t0 * cols, isum);
            if (R == PR) {
                /* The same division and product as the scalar code, four rows
                 * per instruction: the divides were 5% of prefill. */
                for (int j = 0; j < T; j++) {
                    __m128i v = _mm_sub_epi32(_mm_setr_epi32(isum[0][j], isum[1][j], isum[2][j], isum[3][j]),
                                              _mm_set1_epi32(act_sum[t0 + j]));
                    __m128 f = _mm_div_ps(_mm_cvtepi32_ps(v), _mm_set1_ps(act_scale[t0 + j]));
                    _mm_storeu_ps(y + (t0 + j) * ldy + r, _mm_mul_ps(f, _mm_set1_ps(w->scale)));
                }
            } else {
                for (int j = 0; j < T; j++) {
                    int32_t v = (int32_t)((uint32_t)isum[0][j] - (uint32_t)act_sum[t0 + j]);
                    y[(t0 + j) * ldy + r] = ((float)v / act_scale[t0 + j]) * w->scale;
                }
            }
        }
        r += R;
    }
}
