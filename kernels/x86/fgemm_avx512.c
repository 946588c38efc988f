/* AVX-512 dense GEMM in the canonical float order of kernels.h: the 16 lanes
 * are one __m512 (lane = k % 16), each product and its sum one vfmadd
 * (fmaf's single rounding). Ragged tails use masked loads that read zeros:
 * the padding of the canonical order. */
#include <immintrin.h>
#include <string.h>

#include "fgemm_elem.h"
#include "ggml_types.h"
#include "scalar/dense_scalar.h"
#include "x86/dequant_avx2.h"
#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Elements of block-quantized rows dequantized at a time (a multiple of every
 * block size). */
#define CHUNK 256

/* The canonical reduction: l[i] += l[i+8], l[i] += l[i+4], l[i] += l[i+2], l[0] + l[1]. */
ALWAYS_INLINE float lane_sum(__m512 v)
{
    __m256 hi8 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), hi8);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* Weights k .. k+15 of an element-type row as floats (exact conversions). */
ALWAYS_INLINE __m512 load16(uint32_t type, const uint8_t *row, int64_t k)
{
    if (type == BN_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(row + 2 * k)));
    if (type == BN_TYPE_BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(row + 2 * k))), 16));
    return _mm512_loadu_ps((const float *)(const void *)row + k);
}

/* The same for a ragged tail: lanes outside mask read as +0. Only there: the
 * masked loads made the F16 head stream at 19 GB/s instead of 30 (Zen 4). */
ALWAYS_INLINE __m512 load16_masked(uint32_t type, const uint8_t *row, int64_t k, __mmask16 m)
{
    if (type == BN_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    if (type == BN_TYPE_BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * k)), 16));
    return _mm512_maskz_loadu_ps(m, (const float *)row + k);
}

/* Bytes of 16 weights of an element type. */
ALWAYS_INLINE int64_t bytes16(uint32_t type)
{
    return type == BN_TYPE_F32 ? 64 : 32;
}

/* One row x T tokens of an element type (F32, F16, BF16): each group of 16
 * weights is converted once and serves all T tokens; decode prefetches
 * `ahead` bytes further (kernels_x86.h). */
ALWAYS_INLINE void etile(uint32_t type, const uint8_t *row, int64_t cols, const float *x, int T, float out[4],
                         size_t ahead)
{
    __m512 acc[4];
    for (int j = 0; j < T; j++)
        acc[j] = _mm512_setzero_ps();
    const int64_t kn = cols & ~(int64_t)15;
    for (int64_t k = 0; k < kn; k += 16) {
        if (bytes16(type) == 64 || (k & 16) == 0)  /* once a 64-byte line */
            bn_prefetch_ahead(row + k / 16 * bytes16(type), ahead);
        __m512 wv = load16(type, row, k);
        for (int j = 0; j < T; j++)
            acc[j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + j * cols + k), acc[j]);
    }
    if (kn < cols) {
        __mmask16 m = (__mmask16)((1u << (cols - kn)) - 1);
        __m512 wv = load16_masked(type, row, kn, m);
        for (int j = 0; j < T; j++)
            acc[j] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + j * cols + kn), acc[j]);
    }
    for (int j = 0; j < T; j++)
        out[j] = lane_sum(acc[j]);
}

#define ETILE(NAME, TYPE, T)                                                                            \
    static void etile_##NAME##_##T(const uint8_t *row, int64_t cols, const float *x, float out[4])     \
    {                                                                                                   \
        etile(TYPE, row, cols, x, T, out, 0);                                                           \
    }
#define ETILES(NAME, TYPE)                                                                              \
    ETILE(NAME, TYPE, 1) ETILE(NAME, TYPE, 2) ETILE(NAME, TYPE, 3) ETILE(NAME, TYPE, 4)                \
    static bn_etile_fn *const etiles_##NAME[5] = {NULL, etile_##NAME##_1, etile_##NAME##_2,             \
                                                  etile_##NAME##_3, etile_##NAME##_4};
ETILES(f32, BN_TYPE_F32)
ETILES(f16, BN_TYPE_F16)
ETILES(bf16, BN_TYPE_BF16)

/* Decode: every row against one token, the row loop around the inlined tile
 * (a call per row of the 128256-row head of 2B-4T cost 2% of decode). */
ALWAYS_INLINE void erows(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                         const float *x, float *y, size_t ahead)
{
    for (int64_t r = r0; r < r1; r++) {
        float out[4];
        etile(type, w + (size_t)r * row_bytes, cols, x, 1, out, ahead);
        y[r] = out[0];
    }
}

/* Decode over F16 rows in pairs: both rows of a pair at once, each in its own
 * chain (the order of etile for each), reading the pair's single stream. A
 * range that starts or ends inside a pair computes the whole pair (its lines
 * hold both rows; the layout pads an odd count) and keeps its rows. */
ALWAYS_INLINE void erows_f16x2(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                                const float *x, float *y, size_t ahead)
{
    for (int64_t r = r0 & ~(int64_t)1; r < r1; r += 2) {
        const uint8_t *pair = bn_f16x2_row(w, row_bytes, r);
        __m512 a = _mm512_setzero_ps(), b = a;
        for (int64_t k = 0; k < cols; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            bn_prefetch_ahead(pair + 4 * k, ahead);
            a = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(pair + 4 * k))), xv, a);
            b = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(pair + 4 * k + 32))), xv, b);
        }
        if (r >= r0)
            y[r] = lane_sum(a);
        if (r + 1 < r1)
            y[r + 1] = lane_sum(b);
    }
}

/* Prefill over F16 rows in pairs (the output head when every token's
 * logits are wanted, as in bitnet-perplexity): two pairs (four rows) by up
 * to QUAD_TOKS tokens, each (row, token) in its own chain in etile's
 * order, so that a token's activations, loaded once, serve four rows and
 * the rows' conversions all the tokens. Twenty-four chains: a harness over
 * all of 2B-4T's 131072 x 2560 head in one call (one thread), 64 tokens,
 * against one row by four tokens with the rows outside: 1.78-2.04x; one
 * pair by eight tokens 1.39-1.40x (at 512 tokens of 4096 rows 2.85x). */
#define QUAD_TOKS 6

/* The chains a[i][j] of four rows by T tokens over columns [0, n) (n a
 * multiple of 16): row i's values for k .. k + 15 lie at w[i] + 4k, as F16
 * in a pair's chunk (f16) or as floats. */
ALWAYS_INLINE void rows4_steps(const uint8_t *const w[4], int f16, int64_t n, const float *x, int64_t cols, int T,
                               __m512 a[4][QUAD_TOKS])
{
    for (int64_t k = 0; k < n; k += 16) {
        __m512 wv[4];
        for (int i = 0; i < 4; i++)
            wv[i] = f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(w[i] + 4 * k)))
                        : _mm512_loadu_ps((const float *)(const void *)(w[i] + 4 * k));
        for (int j = 0; j < T; j++) {
            __m512 xv = _mm512_loadu_ps(x + j * cols + k);
            for (int i = 0; i < 4; i++)
                a[i][j] = _mm512_fmadd_ps(wv[i], xv, a[i][j]);
        }
    }
}

ALWAYS_INLINE void qtile_f16x2(const uint8_t *p0, const uint8_t *p1, int64_t cols, const float *x, int T,
                               float out[4][QUAD_TOKS])
{
    const uint8_t *const w[4] = { p0, p0 + 32, p1, p1 + 32 };
    __m512 a[4][QUAD_TOKS];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < T; j++)
            a[i][j] = _mm512_setzero_ps();
    rows4_steps(w, 1, cols, x, cols, T, a);  /* cols % 16 == 0 (kernels.h) */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = lane_sum(a[i][j]);
}

typedef void qtile_fn(const uint8_t *p0, const uint8_t *p1, int64_t cols, const float *x, float out[4][QUAD_TOKS]);

#define QTILE(T)                                                                                              \
    static void qtile_f16x2_##T(const uint8_t *p0, const uint8_t *p1, int64_t cols, const float *x,          \
                                float out[4][QUAD_TOKS])                                                      \
    {                                                                                                         \
        qtile_f16x2(p0, p1, cols, x, T, out);                                                                 \
    }
QTILE(1) QTILE(2) QTILE(3) QTILE(4) QTILE(5) QTILE(6)
static qtile_fn *const qtiles[QUAD_TOKS + 1] = { NULL,          qtile_f16x2_1, qtile_f16x2_2, qtile_f16x2_3,
                                                 qtile_f16x2_4, qtile_f16x2_5, qtile_f16x2_6 };

/* Blocks of QUAD_ROWS rows, and within a block the tokens outside, so that
 * a tile's activations serve all the block's rows (80 KiB of 2B-4T's head,
 * which stay in L2 for the next tile) rather than every row reading all
 * the tokens again. Whole pairs; a range that starts or ends inside one
 * computes the pair and keeps its rows (as erows_f16x2), and a last pair
 * without a second one goes through the tile twice. */
#define QUAD_ROWS 16

static void fgemm_pairs(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols, const float *x,
                        int64_t n_tok, float *y, int64_t ldy)
{
    for (int64_t b0 = r0 & ~(int64_t)1; b0 < r1; b0 += QUAD_ROWS) {
        int64_t b1 = r1 - b0 < QUAD_ROWS ? r1 : b0 + QUAD_ROWS;
        for (int64_t t0 = 0; t0 < n_tok; t0 += QUAD_TOKS) {
            int T = n_tok - t0 < QUAD_TOKS ? (int)(n_tok - t0) : QUAD_TOKS;
            for (int64_t r = b0; r < b1; r += 4) {
                const uint8_t *p0 = bn_f16x2_row(w, row_bytes, r);
                float out[4][QUAD_TOKS];
                qtiles[T](p0, r + 2 < b1 ? bn_f16x2_row(w, row_bytes, r + 2) : p0, cols, x + t0 * cols, out);
                for (int i = 0; i < 4 && r + i < b1; i++)
                    if (r + i >= r0)
                        for (int j = 0; j < T; j++)
                            y[(t0 + j) * ldy + r + i] = out[i][j];
            }
        }
    }
}

/* A chunk of a block-quantized row to floats, bit-identical to the scalar
 * dequantization (other types: the scalar code itself). */
static void dequant_chunk(uint32_t type, const uint8_t *src, float *buf, int64_t len)
{
    switch (type) {
    case BN_TYPE_Q8_0: bn_dequant_q8_0_avx2(src, buf, len); break;
    case BN_TYPE_Q4_K: bn_dequant_q4_k_avx2(src, buf, len); break;
    case BN_TYPE_Q6_K: bn_dequant_q6_k_avx2(src, buf, len); break;
    default: bn_dequant_row_scalar(type, src, buf, len); break;
    }
}

/* 16 floats that dequant_chunk has just stored 8 at a time, loaded as the
 * two halves it stored: a 64-byte load over two 32-byte stores still in
 * the store buffer cannot take their data and waits for them to reach the
 * cache. */
ALWAYS_INLINE __m512 load_stored16(const float *p)
{
    __m512d lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(p)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_loadu_ps(p + 8)), 1));
}

/* Block-quantized rows against one token (Q4_K; Q8_0 and Q6_K take
 * decode_blocks, several tokens the tiles below): one row at a time, a
 * chunk dequantized, then its products, the lanes carried from chunk to
 * chunk. */
ALWAYS_INLINE void fgemm_blocks(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1,
                                int64_t cols, const float *x, float *y, size_t ahead)
{
    const bn_type_traits *tt = bn_type_get(type);
    float buf[CHUNK];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        __m512 a = _mm512_setzero_ps();
        for (int64_t k0 = 0; k0 < cols; k0 += CHUNK) {
            int64_t len = cols - k0 < CHUNK ? cols - k0 : CHUNK;
            const uint8_t *src = row + (size_t)(k0 / tt->block_size) * tt->block_bytes;
            for (int64_t o = 0; o < len / tt->block_size * (int64_t)tt->block_bytes; o += 64)
                bn_prefetch_ahead(src + o, ahead);
            dequant_chunk(type, src, buf, len);
            for (int64_t k = 0; k < len; k += 16)
                a = _mm512_fmadd_ps(load_stored16(buf + k), _mm512_loadu_ps(x + k0 + k), a);
        }
        y[r] = lane_sum(a);
    }
}

/* Sixteen int8 values as floats times the block's factor f: the scalar
 * formula's floats ((float)q * f, one rounding). */
ALWAYS_INLINE __m512 q16(__m128i v, __m512 f)
{
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)), f);
}

/* Q8_0 and Q6_K rows against one token with each 16 values made in a
 * register and multiplied in at once, in the order of the buffer path (a
 * row's values in order, lane k % 16): dequantizing through a buffer and
 * reading it back held decode to about 2 GB/s. Each lane is one chain of
 * multiply-adds, so two rows go side by side. These add one block (32 or
 * 256 values at b) against x to the lanes a. */
ALWAYS_INLINE __m512 q8_0_block(const uint8_t *b, const float *x, __m512 a)
{
    __m512 d = _mm512_set1_ps(bn_f16_x86(b));
    a = _mm512_fmadd_ps(q16(_mm_loadu_si128((const __m128i *)(const void *)(b + 2)), d), _mm512_loadu_ps(x), a);
    return _mm512_fmadd_ps(q16(_mm_loadu_si128((const __m128i *)(const void *)(b + 18)), d), _mm512_loadu_ps(x + 16), a);
}

ALWAYS_INLINE __m512 q6_k_block(const uint8_t *b, const float *x, __m512 a)
{
    float d = bn_f16_x86(b + 208);
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int h = 0; h < 2; h++) {
        __m256i g[4];
        bn_q6_k_half_avx2(b, h, g);
        for (int gi = 0; gi < 4; gi++) {
            __m256i v = g[gi];
            const float *xv = x + 128 * h + 32 * gi;
            a = _mm512_fmadd_ps(q16(_mm256_castsi256_si128(v), _mm512_set1_ps(d * (float)sc[8 * h + 2 * gi])),
                                _mm512_loadu_ps(xv), a);
            a = _mm512_fmadd_ps(q16(_mm256_extracti128_si256(v, 1), _mm512_set1_ps(d * (float)sc[8 * h + 2 * gi + 1])),
                                _mm512_loadu_ps(xv + 16), a);
        }
    }
    return a;
}

/* Rows [r0, r1) of Q8_0 or Q6_K two at a time (a last one alone), its
 * blocks of `per` values and `bytes` bytes prefetched `ahead` further. */
ALWAYS_INLINE void decode_blocks(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 int64_t cols, const float *x, float *y, size_t ahead)
{
    const int per = type == BN_TYPE_Q8_0 ? 32 : 256, bytes = type == BN_TYPE_Q8_0 ? 34 : 210;
    for (int64_t r = r0; r < r1; r += 2) {
        const uint8_t *b0 = w + (size_t)r * row_bytes, *b1 = r + 1 < r1 ? b0 + row_bytes : b0;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (int64_t i = 0; i < cols; i += per, b0 += bytes, b1 += bytes) {
            for (int o = 0; o < bytes; o += 64) {
                bn_prefetch_ahead(b0 + o, ahead);
                bn_prefetch_ahead(b1 + o, ahead);
            }
            a0 = type == BN_TYPE_Q8_0 ? q8_0_block(b0, x + i, a0) : q6_k_block(b0, x + i, a0);
            a1 = type == BN_TYPE_Q8_0 ? q8_0_block(b1, x + i, a1) : q6_k_block(b1, x + i, a1);
        }
        y[r] = lane_sum(a0);
        if (r + 1 < r1)
            y[r + 1] = lane_sum(a1);
    }
}

/* Block-quantized rows for several tokens (every token's logits, as
 * bitnet-perplexity asks of a Q6_K or Q8_0 head): four rows' chunks
 * dequantized side by side, then tiles of the four rows by up to
 * BLOCK_TOKS tokens (24 chains) over them, so that a token's activations,
 * loaded once, serve four rows. The chains go from chunk to chunk through
 * acc (a float stored and reloaded is the same float), for BLOCK_GROUP
 * tokens a dequantization pass. A last group of fewer than four rows runs
 * on zeros for the missing ones and keeps only its own. */
#define BLOCK_TOKS QUAD_TOKS
#define BLOCK_GROUP 48

ALWAYS_INLINE void btile(float (*buf)[CHUNK], int64_t len, const float *x, int64_t cols, int T,
                         __m512 acc[4][BLOCK_TOKS])
{
    const uint8_t *const w[4] = { (const uint8_t *)buf[0], (const uint8_t *)buf[1], (const uint8_t *)buf[2],
                                  (const uint8_t *)buf[3] };
    __m512 a[4][BLOCK_TOKS];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < T; j++)
            a[i][j] = acc[i][j];
    rows4_steps(w, 0, len, x, cols, T, a);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < T; j++)
            acc[i][j] = a[i][j];
}

typedef void btile_fn(float (*buf)[CHUNK], int64_t len, const float *x, int64_t cols, __m512 acc[4][BLOCK_TOKS]);

#define BTILE(T)                                                                                              \
    static void btile_##T(float (*buf)[CHUNK], int64_t len, const float *x, int64_t cols,               \
                          __m512 acc[4][BLOCK_TOKS])                                                          \
    {                                                                                                         \
        btile(buf, len, x, cols, T, acc);                                                                     \
    }
BTILE(1) BTILE(2) BTILE(3) BTILE(4) BTILE(5) BTILE(6)
static btile_fn *const btiles[BLOCK_TOKS + 1] = { NULL, btile_1, btile_2, btile_3, btile_4, btile_5, btile_6 };

static void fgemm_blocks_tiled(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1,
                               int64_t cols, const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    const bn_type_traits *tt = bn_type_get(type);
    _Alignas(64) float buf[4][CHUNK];
    __m512 acc[BLOCK_GROUP / BLOCK_TOKS][4][BLOCK_TOKS];
    for (int64_t r = r0; r < r1; r += 4) {
        int R = r1 - r < 4 ? (int)(r1 - r) : 4;
        if (R < 4)
            memset(buf[R], 0, (size_t)(4 - R) * sizeof buf[0]);
        for (int64_t g0 = 0; g0 < n_tok; g0 += BLOCK_GROUP) {
            int64_t G = n_tok - g0 < BLOCK_GROUP ? n_tok - g0 : BLOCK_GROUP;
            for (int64_t t = 0; t < G; t += BLOCK_TOKS)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < BLOCK_TOKS; j++)
                        acc[t / BLOCK_TOKS][i][j] = _mm512_setzero_ps();
            for (int64_t k0 = 0; k0 < cols; k0 += CHUNK) {
                int64_t len = cols - k0 < CHUNK ? cols - k0 : CHUNK;
                for (int i = 0; i < R; i++)
                    dequant_chunk(type, w + (size_t)(r + i) * row_bytes + (size_t)(k0 / tt->block_size) * tt->block_bytes,
                                  buf[i], len);
                for (int64_t t = 0; t < G; t += BLOCK_TOKS) {
                    int T = G - t < BLOCK_TOKS ? (int)(G - t) : BLOCK_TOKS;
                    btiles[T](buf, len, x + (g0 + t) * cols + k0, cols, acc[t / BLOCK_TOKS]);
                }
            }
            for (int64_t t = 0; t < G; t++)
                for (int i = 0; i < R; i++)
                    y[(g0 + t) * ldy + r + i] = lane_sum(acc[t / BLOCK_TOKS][i][t % BLOCK_TOKS]);
        }
    }
}

/* Decode: every row against one token. */
ALWAYS_INLINE void decode(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                          const float *x, float *y, size_t ahead)
{
    switch (type) {
    case BN_TYPE_F32: erows(BN_TYPE_F32, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    case BN_TYPE_F16: erows(BN_TYPE_F16, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    case BN_TYPE_BF16: erows(BN_TYPE_BF16, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    case BN_TYPE_F16X2: erows_f16x2(w, row_bytes, r0, r1, cols, x, y, ahead); break;
    case BN_TYPE_Q8_0: decode_blocks(BN_TYPE_Q8_0, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    case BN_TYPE_Q6_K: decode_blocks(BN_TYPE_Q6_K, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    default: fgemm_blocks(type, w, row_bytes, r0, r1, cols, x, y, ahead); break;
    }
}

void bn_fgemm_avx512(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                     const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1) {
        decode(type, w, row_bytes, r0, r1, cols, x, y, 0);
        return;
    }
    switch (type) {
    case BN_TYPE_F32: bn_fgemm_elem(etiles_f32, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16: bn_fgemm_elem(etiles_f16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16X2: fgemm_pairs(w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_BF16: bn_fgemm_elem(etiles_bf16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    default: fgemm_blocks_tiled(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    }
}

void bn_fgemm_avx512_prefetch(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                        const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok == 1)
        decode(type, w, row_bytes, r0, r1, cols, x, y, BN_DECODE_AHEAD);
    else
        bn_fgemm_avx512(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy);
}
