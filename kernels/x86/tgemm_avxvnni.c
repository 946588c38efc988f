/* AVX-VNNI ternary GEMM over the kernels' layout (bn_tmat in kernels.h), for
 * the prefetching AVX2 build on cores that have the VEX form of vpdpbusd but not
 * AVX-512 (Alder Lake and later client cores; bn_cpu_has_avxvnni).
 *
 * As in the AVX-512 kernel, the codes (0, 1, 2) are vpdpbusd's unsigned
 * operand and isum = sum(code * q) - sum(q); products go straight into
 * 32-bit lanes, so nothing is widened or flushed as vpmaddubsw's 16-bit
 * sums must be, and the lanes wrap exactly as the scalar int32 arithmetic
 * does. */
#include <immintrin.h>

#include "x86/kernels_x86.h"
#include "x86/tgemm_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i load(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Decode: sum(code * q) of the four rows of the group at g against one
 * token. One shift a block brings the fields at shifts 6 and 4 down to 2 and
 * 0; masks with 0x0c and 0x03 leave codes times 4 and codes, summed into
 * two accumulators a row (a times-4 lane gains at most 2 * 4 * 8 * 128 =
 * 8192 a block, so up to 2^24 columns it stays below 2^30 and the factor
 * comes out exactly by an arithmetic shift). */
ALWAYS_INLINE __m128i group_dot(const uint8_t *g, const int8_t *q, int64_t nblk, size_t ahead)
{
    const __m256i m0c = _mm256_set1_epi8(0x0c), m03 = _mm256_set1_epi8(0x03);
    __m256i x4[BN_TGROUP], x1[BN_TGROUP];
    for (int i = 0; i < BN_TGROUP; i++)
        x4[i] = x1[i] = _mm256_setzero_si256();
    for (int64_t b = 0; b < nblk; b++) {
        const uint8_t *p = g + b * BN_TBLOCK_STRIDE;
        const int8_t *qb = q + 128 * b;
        bn_prefetch_ahead(p, ahead);
        bn_prefetch_ahead(p + 64, ahead);
        __m256i q0 = load(qb), q1 = load(qb + 32), q2 = load(qb + 64), q3 = load(qb + 96);
        for (int i = 0; i < BN_TGROUP; i++) {
            __m256i lo = load(p + 32 * i), hi = _mm256_srli_epi16(lo, 4);
            x4[i] = _mm256_dpbusd_avx_epi32(x4[i], _mm256_and_si256(hi, m0c), q0);
            x4[i] = _mm256_dpbusd_avx_epi32(x4[i], _mm256_and_si256(lo, m0c), q2);
            x1[i] = _mm256_dpbusd_avx_epi32(x1[i], _mm256_and_si256(hi, m03), q1);
            x1[i] = _mm256_dpbusd_avx_epi32(x1[i], _mm256_and_si256(lo, m03), q3);
        }
    }
    __m256i v[BN_TGROUP];
    for (int i = 0; i < BN_TGROUP; i++)
        v[i] = _mm256_add_epi32(_mm256_srai_epi32(x4[i], 2), x1[i]);
    return bn_hsum4_epi32(v);
}

/* Prefill tile: two rows of a group (rows 2h, 2h + 1) by up to PT tokens.
 * Field by field, each activation load serves both rows: 2 weight
 * registers, 2 codes, 8 accumulators and an activation fit the 16. Its
 * eight sums leave folded into one register and become outputs together
 * (1.03-1.10x over 2B-4T's 2560-column matrices in a kernel harness, where
 * eight horizontal sums and eight scalar divisions a tile cost about as
 * much as a tenth of its multiply-adds; 6912 columns unchanged). Two rows
 * by six tokens were no faster (0.93-1.08x). */
#define PT 4

ALWAYS_INLINE __m256i tile(const uint8_t *rows, int64_t cols, const int8_t *q, int T)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i acc[2][PT];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm256_setzero_si256();
    for (int64_t b = 0; b < cols / 128; b++) {
        __m256i w0 = load(rows + b * BN_TBLOCK_STRIDE), w1 = load(rows + b * BN_TBLOCK_STRIDE + 32);
        for (int f = 0; f < 4; f++) {
            __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(w0, 6 - 2 * f), m3);
            __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(w1, 6 - 2 * f), m3);
            for (int j = 0; j < T; j++) {
                __m256i x = load(q + j * cols + 128 * b + 32 * f);
                acc[0][j] = _mm256_dpbusd_avx_epi32(acc[0][j], c0, x);
                acc[1][j] = _mm256_dpbusd_avx_epi32(acc[1][j], c1, x);
            }
        }
    }
    /* lane PT i + j: row i, token j (zeros past T) */
    __m256i v[2 * PT];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < PT; j++)
            v[PT * i + j] = j < T ? acc[i][j] : _mm256_setzero_si256();
    return bn_hsum8_epi32(v);
}

typedef __m256i tile_fn(const uint8_t *rows, int64_t cols, const int8_t *q);

#define TILE(T)                                                                \
    static __m256i tile_##T(const uint8_t *rows, int64_t cols, const int8_t *q) \
    {                                                                          \
        return tile(rows, cols, q, T);                                         \
    }
TILE(1) TILE(2) TILE(3) TILE(4)

static tile_fn *const tiles[PT + 1] = { NULL, tile_1, tile_2, tile_3, tile_4 };

void bn_tgemm_avxvnni(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    const int64_t cols = w->cols;
    if (n_tok == 1) {
        for (int64_t row0 = r0 / BN_TGROUP * BN_TGROUP; row0 < r1; row0 += BN_TGROUP)
            bn_tgemm_store_group(group_dot(w->codes + bn_tmat_block(cols, row0, 0), q, cols / 128, BN_DECODE_AHEAD),
                                 act_sum[0], act_scale[0], w->scale, y, row0, r0, r1);
        return;
    }
    /* Tokens outer, rows inner: the tile's activations (4 x cols bytes)
     * stay in L1 while the call's rows pass, whose codes (the pool's chunks
     * hold about 16 KiB) stay in L2 for the next token tile. Whole pairs of
     * rows; one outside [r0, r1) is computed, not stored. */
    for (int64_t t0 = 0; t0 < n_tok; t0 += PT) {
        int T = n_tok - t0 < PT ? (int)(n_tok - t0) : PT;
        __m256i as;
        __m256 sc;
        bn_tgemm_tokens4(act_sum + t0, act_scale + t0, T, &as, &sc);
        for (int64_t r = r0 & ~(int64_t)1; r < r1; r += 2) {
            float v[2 * PT];
            _mm256_storeu_ps(v, bn_tgemm_row_values8(tiles[T](w->codes + bn_tmat_block(cols, r, 0), cols,
                                                              q + t0 * cols), as, sc, w->scale));
            for (int i = 0; i < 2; i++)
                if (r + i >= r0 && r + i < r1)
                    for (int j = 0; j < T; j++)
                        y[(t0 + j) * ldy + r + i] = v[PT * i + j];
        }
    }
}
