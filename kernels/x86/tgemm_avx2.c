/* AVX2 ternary GEMM over the kernels' layout (bn_tmat in kernels.h).
 * Codes stay unsigned (0, 1, 2) so that vpmaddubsw can take them as its
 * unsigned operand against the signed activations; the weight is code - 1, so
 * isum = sum(code * q) - sum(q). A vpmaddubsw pair sum is at most
 * 2 * 2 * 128 = 512 in magnitude, so it never saturates, and the 32-bit sums
 * wrap exactly as the scalar int32 arithmetic would. */
#include <immintrin.h>

#include "x86/kernels_x86.h"
#include "x86/tgemm_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Blocks of 128 weights summed in 16-bit lanes before widening: a prefill
 * block adds at most 4 * 512 = 2048 to a lane, so 8 blocks stay within 16384;
 * decode's times-4 lanes take at most 4096 a block, so 8 stay within
 * -32768 .. 32512 (group_dot). */
#define FLUSH 8

/* The four 32-weight groups of a block: group g is the 2-bit field at shift
 * 6 - 2g of every byte, matching activations q[32g .. 32g + 31]. */
ALWAYS_INLINE void unpack(const uint8_t *blk, __m256i c[4])
{
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i b = _mm256_loadu_si256((const __m256i *)blk);
    c[0] = _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
    c[1] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
    c[2] = _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
    c[3] = _mm256_and_si256(b, m3);
}

/* sum(code * q) over one block, as 16 lanes of 16-bit partial sums. */
ALWAYS_INLINE __m256i block_dot(const __m256i c[4], const int8_t *q)
{
    __m256i p0 = _mm256_maddubs_epi16(c[0], _mm256_loadu_si256((const __m256i *)q));
    __m256i p1 = _mm256_maddubs_epi16(c[1], _mm256_loadu_si256((const __m256i *)(q + 32)));
    __m256i p2 = _mm256_maddubs_epi16(c[2], _mm256_loadu_si256((const __m256i *)(q + 64)));
    __m256i p3 = _mm256_maddubs_epi16(c[3], _mm256_loadu_si256((const __m256i *)(q + 96)));
    return _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
}

/* Decode: sum(code * q) of the four rows of the group at g against one
 * token, with one shift a block instead of three. Shifting a block right by
 * 4 brings the fields at shifts 6 and 4 down to 2 and 0, where the fields at
 * shifts 2 and 0 already are; masking with 0x0c and 0x03 then leaves codes
 * times 4 (fields 0 and 2 of the block) and codes (fields 1 and 3), summed in
 * two 16-bit accumulators a row; the first's widened pair sums are exact
 * multiples of 4, and an arithmetic shift takes the factor out.
 * A field adds at most 2 * 8 * 128 = 2048 to a times-4 lane, two a block,
 * so FLUSH = 8 blocks stay within 16 bits (-32768 exactly for all -128).
 * Prefetches `ahead` bytes further where they pay (BN_DECODE_AHEAD). */
ALWAYS_INLINE __m128i group_dot(const uint8_t *g, const int8_t *q, int64_t nblk, size_t ahead)
{
    const __m256i m0c = _mm256_set1_epi8(0x0c), m03 = _mm256_set1_epi8(0x03);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[BN_TGROUP];
    for (int i = 0; i < BN_TGROUP; i++)
        acc[i] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblk; b0 += FLUSH) {
        int64_t b1 = nblk - b0 < FLUSH ? nblk : b0 + FLUSH;
        __m256i x4[BN_TGROUP], x1[BN_TGROUP];
        for (int i = 0; i < BN_TGROUP; i++)
            x4[i] = x1[i] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const int8_t *qb = q + 128 * b;
            bn_prefetch_ahead(g + b * BN_TBLOCK_STRIDE, ahead);
            bn_prefetch_ahead(g + b * BN_TBLOCK_STRIDE + 64, ahead);
            __m256i q0 = _mm256_loadu_si256((const __m256i *)qb), q1 = _mm256_loadu_si256((const __m256i *)(qb + 32));
            __m256i q2 = _mm256_loadu_si256((const __m256i *)(qb + 64)), q3 = _mm256_loadu_si256((const __m256i *)(qb + 96));
            for (int i = 0; i < BN_TGROUP; i++) {
                __m256i lo = _mm256_loadu_si256((const __m256i *)(g + b * BN_TBLOCK_STRIDE + 32 * i));
                __m256i hi = _mm256_srli_epi16(lo, 4);
                x4[i] = _mm256_add_epi16(x4[i], _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(hi, m0c), q0),
                                                                 _mm256_maddubs_epi16(_mm256_and_si256(lo, m0c), q2)));
                x1[i] = _mm256_add_epi16(x1[i], _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(hi, m03), q1),
                                                                 _mm256_maddubs_epi16(_mm256_and_si256(lo, m03), q3)));
            }
        }
        for (int i = 0; i < BN_TGROUP; i++)
            acc[i] = _mm256_add_epi32(acc[i], _mm256_add_epi32(_mm256_srai_epi32(_mm256_madd_epi16(x4[i], ones), 2),
                                                               _mm256_madd_epi16(x1[i], ones)));
    }
    return bn_hsum4_epi32(acc);
}

/* Prefill tile: PR rows x up to PT tokens, the fastest of the tiles tried on
 * Zen 4 (1 to 4 rows x 2 to 4 tokens). */
#define PR 4
#define PT 4

/* sum(code * q) for R rows x T tokens: each block is unpacked once per row and
 * serves all T tokens. R and T are constants once inlined. The sums leave
 * folded two rows a register (bn_hsum8_epi32), so that the outputs are
 * made eight at a time (bn_tgemm_row_values8; with PT = 4, as
 * bn_tgemm_tokens4 lays the tokens out). */
ALWAYS_INLINE void tile(const uint8_t *w, int64_t cols, const int8_t *q, int R, int T, __m256i out[PR / 2])
{
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nblk = cols / 128;
    __m256i acc[PR][PT];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblk; b0 += FLUSH) {
        int64_t b1 = nblk - b0 < FLUSH ? nblk : b0 + FLUSH;
        __m256i a16[PR][PT];
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++)
                a16[i][j] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            for (int i = 0; i < R; i++) {
                __m256i c[4];
                unpack(w + i * 32 + b * BN_TBLOCK_STRIDE, c);
                for (int j = 0; j < T; j++)
                    a16[i][j] = _mm256_add_epi16(a16[i][j], block_dot(c, q + j * cols + b * 128));
            }
        }
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++)
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(a16[i][j], ones));
    }
    /* lane PT (i % 2) + j of out[i / 2]: row i, token j (zeros past R and T) */
    for (int h = 0; h < (R + 1) / 2; h++) {
        __m256i v[2 * PT];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < PT; j++)
                v[PT * i + j] = 2 * h + i < R && j < T ? acc[2 * h + i][j] : _mm256_setzero_si256();
        out[h] = bn_hsum8_epi32(v);
    }
}

typedef void tile_fn(const uint8_t *w, int64_t cols, const int8_t *q, __m256i out[PR / 2]);

/* R == 0 stands for PR rows. */
#define TILE(R, T)                                                                                      \
    static void tile_##R##x##T(const uint8_t *w, int64_t cols, const int8_t *q, __m256i out[PR / 2])     \
    {                                                                                                   \
        tile(w, cols, q, R == 0 ? PR : R, T, out);                                                      \
    }
TILE(1, 1) TILE(1, 2) TILE(1, 3) TILE(1, 4)
TILE(0, 1) TILE(0, 2) TILE(0, 3) TILE(0, 4)

static tile_fn *const tiles[2][PT + 1] = {
    {NULL, tile_1x1, tile_1x2, tile_1x3, tile_1x4},
    {NULL, tile_0x1, tile_0x2, tile_0x3, tile_0x4},
};

/* One token, whole groups; rows outside [r0, r1) are computed, not stored. */
ALWAYS_INLINE void decode(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, float act_scale,
                          int32_t act_sum, float *y, size_t ahead)
{
    const int64_t cols = w->cols;
    for (int64_t row0 = r0 / BN_TGROUP * BN_TGROUP; row0 < r1; row0 += BN_TGROUP)
        bn_tgemm_store_group(group_dot(w->codes + bn_tmat_block(cols, row0, 0), q, cols / 128, ahead), act_sum,
                             act_scale, w->scale, y, row0, r0, r1);
}

void bn_tgemm_avx2(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1) {
        decode(w, r0, r1, q, act_scale[0], act_sum[0], y, 0);
        return;
    }
    const int64_t cols = w->cols;
    const size_t all = bn_tmat_bytes(w->rows, cols);
    int64_t r = r0;
    while (r < r1) {
        /* A whole group of rows at a time where the range holds one: its
         * blocks are consecutive in memory and share each activation load.
         * Rows outer, tokens inner: the group stays in cache while every
         * token tile passes over it. */
        int R = r % BN_TGROUP == 0 && r + PR <= r1 ? PR : 1;
        const uint8_t *base = w->codes + bn_tmat_block(cols, r, 0);
        bn_prefetch pf = bn_prefetch_spread(w->codes, R == PR ? all : 0, bn_tmat_block(cols, r, 0) + (size_t)cols,
                                            (size_t)cols, (n_tok + PT - 1) / PT);  /* the next group */
        for (int64_t t0 = 0; t0 < n_tok; t0 += PT) {
            int T = n_tok - t0 < PT ? (int)(n_tok - t0) : PT;
            bn_prefetch_step(&pf);
            __m256i isum[PR / 2];
            tiles[R == PR][T](base, cols, q + t0 * cols, isum);
            __m256i as;
            __m256 sc;
            bn_tgemm_tokens4(act_sum + t0, act_scale + t0, T, &as, &sc);
            for (int h = 0; h < (R + 1) / 2; h++) {
                float v[2 * PT];
                _mm256_storeu_ps(v, bn_tgemm_row_values8(isum[h], as, sc, w->scale));
                for (int i = 2 * h; i < R && i < 2 * h + 2; i++)
                    for (int j = 0; j < T; j++)
                        y[(t0 + j) * ldy + r + i] = v[PT * (i - 2 * h) + j];
            }
        }
        r += R;
    }
}

void bn_tgemm_avx2_prefetch(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1)
        decode(w, r0, r1, q, act_scale[0], act_sum[0], y, BN_DECODE_AHEAD);
    else
        bn_tgemm_avx2(w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy);
}
