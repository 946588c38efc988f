/* AVX2 dense GEMM in the canonical float order of kernels.h: the 16 lanes
 * are two __m256 (lanes 0-7 and 8-15), each product and its sum one
 * vfmadd (fmaf's single rounding). */
#include <immintrin.h>
#include <string.h>

#include "fgemm_elem.h"
#include "ggml_types.h"
#include "scalar/dense_scalar.h"
#include "x86/dequant_avx2.h"
#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Pseudo-type: a float buffer already dequantized by dequant_chunk. */
#define BUF_F32 0xffffffffu

/* Elements of block-quantized rows dequantized at a time (a multiple of every
 * block size), and tokens served per dequantized chunk. */
#define CHUNK 256
#define TOKS 16

/* The canonical reduction: l[i] += l[i+8], l[i] += l[i+4], l[i] += l[i+2], l[0] + l[1]. */
ALWAYS_INLINE float lane_sum(__m256 lo, __m256 hi)
{
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* Weights k .. k+15 of an element-type row as floats (exact conversions). */
ALWAYS_INLINE void load16(uint32_t type, const uint8_t *row, int64_t k, __m256 *lo, __m256 *hi)
{
    if (type == BN_TYPE_F16 || type == BN_TYPE_F16X2) {  /* F16X2: k % 16 == 0, chunks 64 bytes apart */
        /* one 32-byte load and its halves converted from the register: on
         * Zen 3 the F16 head's decode read 1.10-1.13x the bytes a second of
         * two 16-byte loads into vcvtph2ps (fewer load operations a line) */
        __m256i h = _mm256_loadu_si256((const __m256i *)(row + (type == BN_TYPE_F16 ? 2 : 4) * k));
        *lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
        *hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
    } else if (type == BN_TYPE_BF16) {
        const __m128i *p = (const __m128i *)(row + 2 * k);
        *lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(p)), 16));
        *hi = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(p + 1)), 16));
    } else {  /* F32 or BUF_F32 */
        const float *p = (const float *)row + k;
        *lo = _mm256_loadu_ps(p);
        *hi = _mm256_loadu_ps(p + 8);
    }
}

ALWAYS_INLINE void mac(__m256 acc[2], __m256 wlo, __m256 whi, const float *x)
{
    acc[0] = _mm256_fmadd_ps(wlo, _mm256_loadu_ps(x), acc[0]);
    acc[1] = _mm256_fmadd_ps(whi, _mm256_loadu_ps(x + 8), acc[1]);
}

/* One row x T tokens of an element type (F32, F16, BF16): each group of 16
 * weights is converted once and serves all T tokens. A ragged tail goes
 * through zero-padded copies, the padding of the canonical order. */
ALWAYS_INLINE void etile(uint32_t type, const uint8_t *row, int64_t cols, const float *x, int T, float out[4])
{
    __m256 acc[4][2];
    for (int j = 0; j < T; j++)
        acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    const int64_t kn = cols & ~(int64_t)15;
    for (int64_t k = 0; k < kn; k += 16) {
        __m256 lo, hi;
        load16(type, row, k, &lo, &hi);
        for (int j = 0; j < T; j++)
            mac(acc[j], lo, hi, x + j * cols + k);
    }
    if (kn < cols) {
        int rem = (int)(cols - kn);
        float wt[16] = {0};
        bn_dequant_row_scalar(type, row + (size_t)kn * (type == BN_TYPE_F16 || type == BN_TYPE_BF16 ? 2 : 4), wt, rem);
        for (int j = 0; j < T; j++) {
            float xt[16] = {0};
            memcpy(xt, x + j * cols + kn, (size_t)rem * sizeof *xt);
            mac(acc[j], _mm256_loadu_ps(wt), _mm256_loadu_ps(wt + 8), xt);
        }
    }
    for (int j = 0; j < T; j++)
        out[j] = lane_sum(acc[j][0], acc[j][1]);
}

#define ETILE(NAME, TYPE, T)                                                                            \
    static void etile_##NAME##_##T(const uint8_t *row, int64_t cols, const float *x, float out[4])     \
    {                                                                                                   \
        etile(TYPE, row, cols, x, T, out);                                                              \
    }
#define ETILES(NAME, TYPE)                                                                              \
    ETILE(NAME, TYPE, 1) ETILE(NAME, TYPE, 2) ETILE(NAME, TYPE, 3) ETILE(NAME, TYPE, 4)                \
    static bn_etile_fn *const etiles_##NAME[5] = {NULL, etile_##NAME##_1, etile_##NAME##_2,             \
                                                  etile_##NAME##_3, etile_##NAME##_4};
ETILES(f32, BN_TYPE_F32)
ETILES(f16, BN_TYPE_F16)
ETILES(bf16, BN_TYPE_BF16)

/* Prefill over F16 rows in pairs for a few tokens (fewer than fgemm_many
 * takes, below): both rows of a pair by up to PAIR_TOKS tokens, each (row,
 * token) in its own chains in etile's order, so that a token's activations,
 * loaded once, serve both rows. A harness over all of 2B-4T's 131072 x 2560
 * head in one call, 64 tokens, against one row by four tokens with the rows
 * outside: 1.25-1.40x (4096 rows by 512 tokens 3.27x); three tokens spill
 * the 16 registers. */
#define PAIR_TOKS 2

ALWAYS_INLINE void ptile_f16x2(const uint8_t *pair, int64_t cols, const float *x, int T, float out[2][PAIR_TOKS])
{
    __m256 acc[2][PAIR_TOKS][2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            acc[i][j][0] = acc[i][j][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < cols; k += 16) {  /* cols % 16 == 0 (kernels.h) */
        __m256 lo[2], hi[2];
        for (int i = 0; i < 2; i++)
            load16(BN_TYPE_F16X2, pair + 32 * i, k, &lo[i], &hi[i]);
        for (int j = 0; j < T; j++)
            for (int i = 0; i < 2; i++)
                mac(acc[i][j], lo[i], hi[i], x + j * cols + k);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < T; j++)
            out[i][j] = lane_sum(acc[i][j][0], acc[i][j][1]);
}

typedef void ptile_fn(const uint8_t *pair, int64_t cols, const float *x, float out[2][PAIR_TOKS]);

#define PTILE(T)                                                                                               \
    static void ptile_f16x2_##T(const uint8_t *pair, int64_t cols, const float *x, float out[2][PAIR_TOKS])   \
    {                                                                                                          \
        ptile_f16x2(pair, cols, x, T, out);                                                                    \
    }
PTILE(1) PTILE(2)
static ptile_fn *const ptiles[PAIR_TOKS + 1] = { NULL, ptile_f16x2_1, ptile_f16x2_2 };

/* Blocks of PAIR_ROWS rows, and within a block the tokens outside, so that
 * a tile's activations serve all the block's rows rather than every row
 * reading all the tokens again. Whole pairs; a range that starts or ends
 * inside one computes the pair and keeps its rows (as erows_f16x2). */
#define PAIR_ROWS 16

static void fgemm_pairs(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols, const float *x,
                        int64_t n_tok, float *y, int64_t ldy)
{
    for (int64_t b0 = r0 & ~(int64_t)1; b0 < r1; b0 += PAIR_ROWS) {
        int64_t b1 = r1 - b0 < PAIR_ROWS ? r1 : b0 + PAIR_ROWS;
        for (int64_t t0 = 0; t0 < n_tok; t0 += PAIR_TOKS) {
            int T = n_tok - t0 < PAIR_TOKS ? (int)(n_tok - t0) : PAIR_TOKS;
            for (int64_t r = b0; r < b1; r += 2) {
                float out[2][PAIR_TOKS];
                ptiles[T](bn_f16x2_row(w, row_bytes, r), cols, x + t0 * cols, out);
                for (int i = 0; i < 2 && r + i < b1; i++)
                    if (r + i >= r0)
                        for (int j = 0; j < T; j++)
                            y[(t0 + j) * ldy + r + i] = out[i][j];
            }
        }
    }
}

/* A chunk of a row to floats (len a multiple of 16 for the element types),
 * bit-identical to the scalar dequantization (types without SIMD code
 * here: the scalar code itself). */
/* The types load16 reads (one value an element; the others come in blocks). */
ALWAYS_INLINE int elem_type(uint32_t type)
{
    return type == BN_TYPE_F16X2 || type == BN_TYPE_F16 || type == BN_TYPE_BF16 || type == BN_TYPE_F32;
}

static void dequant_chunk(uint32_t type, const uint8_t *src, float *buf, int64_t len)
{
    if (elem_type(type)) {
        for (int64_t k = 0; k < len; k += 16) {
            __m256 lo, hi;
            load16(type, src, k, &lo, &hi);
            _mm256_storeu_ps(buf + k, lo);
            _mm256_storeu_ps(buf + k + 8, hi);
        }
        return;
    }
    switch (type) {
    case BN_TYPE_Q8_0: bn_dequant_q8_0_avx2(src, buf, len); break;
    case BN_TYPE_Q4_K: bn_dequant_q4_k_avx2(src, buf, len); break;
    case BN_TYPE_Q6_K: bn_dequant_q6_k_avx2(src, buf, len); break;
    default: bn_dequant_row_scalar(type, src, buf, len); break;
    }
}

/* Many tokens (every token's logits, as bitnet-perplexity and bn_eval_all
 * ask) over any dense rows whose columns are a multiple of 16, in etile's
 * order. Each (row, token) has two chains, lanes 0-7 and 8-15 of every 16
 * columns; they are independent, so each goes in a pass of its own, and a
 * tile of HR rows by HT tokens keeps its 12 chains, the rows' 8 weights and
 * one token's 8 activations in the 16 registers: 7 loads for 12
 * multiply-adds. A block of HRB rows is made floats HKC columns at a time
 * (as dequant_row makes them), once for all the tokens; the chains wait in
 * memory between segments (the same operations in the same order: every
 * result is etile's). Harness on Zen 3, 16384 x 2560 rows, against the
 * paths below: 64 tokens F16 pairs 1.46x, BF16 1.35x, Q8_0 2.11x, Q4_K
 * 2.01x, Q6_K 2.33x; 8 tokens 1.01-1.38x; the conversion pays from 4 tokens
 * for quantized rows (1.09-1.28x; 2 tokens 0.93-1.10x) and from 8 for the
 * others (4 tokens 0.75-0.86x). */
#define HR 3      /* rows a tile */
#define HT 4      /* tokens a tile */
#define HRB 12    /* rows a block, whole tiles */
#define HKC 256   /* columns a segment: the block's floats (12 KiB) and a tile's activations (4 KiB) in L1 */
#define HTCH 32   /* tokens whose chains wait in memory (24 KiB): a block's floats serve them all */

/* Chains acc[2 * (i * HT + j) + h] of rows i < R (floats at wf + i * HKC)
 * by tokens j < T (activations at x + j * cols), half h, over len columns. */
ALWAYS_INLINE void htile(const float *wf, int64_t len, const float *x, int64_t cols, int R, int T, int h, __m256 *acc)
{
    __m256 a[HR][HT];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            a[i][j] = acc[2 * (i * HT + j) + h];
    for (int64_t k = 8 * h; k < len; k += 16) {  /* len % 16 == 0 (cols % 16 == 0, kernels.h) */
        __m256 wv[HR];
        for (int i = 0; i < R; i++)
            wv[i] = _mm256_loadu_ps(wf + i * HKC + k);
        for (int j = 0; j < T; j++) {
            __m256 xv = _mm256_loadu_ps(x + j * cols + k);
            for (int i = 0; i < R; i++)
                a[i][j] = _mm256_fmadd_ps(wv[i], xv, a[i][j]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            acc[2 * (i * HT + j) + h] = a[i][j];
}

typedef void htile_fn(const float *wf, int64_t len, const float *x, int64_t cols, __m256 *acc);

#define HTILE(R, T)                                                                                        \
    static void htile_##R##x##T(const float *wf, int64_t len, const float *x, int64_t cols, __m256 *acc)   \
    {                                                                                                      \
        htile(wf, len, x, cols, R, T, 0, acc);                                                             \
        htile(wf, len, x, cols, R, T, 1, acc);                                                             \
    }
HTILE(1, 1) HTILE(1, 2) HTILE(1, 3) HTILE(1, 4)
HTILE(2, 1) HTILE(2, 2) HTILE(2, 3) HTILE(2, 4)
HTILE(3, 1) HTILE(3, 2) HTILE(3, 3) HTILE(3, 4)
static htile_fn *const htiles[HR][HT] = {
    {htile_1x1, htile_1x2, htile_1x3, htile_1x4},
    {htile_2x1, htile_2x2, htile_2x3, htile_2x4},
    {htile_3x1, htile_3x2, htile_3x3, htile_3x4},
};

/* Row r from column k0 on (k0 a multiple of HKC), and the bytes of a
 * segment of HKC columns there (for pairs, of both rows). */
static const uint8_t *seg_at(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r, int64_t k0, size_t *bytes)
{
    if (type == BN_TYPE_F16X2) {
        *bytes = 4 * HKC;
        return bn_f16x2_row(w, row_bytes, r) + 4 * k0;
    }
    const bn_type_traits *tt = bn_type_get(type);
    *bytes = (size_t)(HKC / tt->block_size) * tt->block_bytes;
    return w + (size_t)r * row_bytes + (size_t)(k0 / tt->block_size) * tt->block_bytes;
}

static void fgemm_many(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                       const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    _Alignas(32) float wf[HRB * HKC];
    __m256 acc[HRB / HR][HTCH / HT][2 * HR * HT];  /* a tile's chains, as htile reads them */
    for (int64_t b0 = r0; b0 < r1; b0 += HRB) {
        const int64_t nr = r1 - b0 < HRB ? r1 - b0 : HRB;
        for (int64_t t0 = 0; t0 < n_tok; t0 += HTCH) {
            const int64_t nt = n_tok - t0 < HTCH ? n_tok - t0 : HTCH;
            memset(acc, 0, sizeof acc);
            for (int64_t k0 = 0; k0 < cols; k0 += HKC) {
                const int64_t len = cols - k0 < HKC ? cols - k0 : HKC;
                for (int64_t i = 0; i < nr; i++) {
                    size_t bytes;
                    const uint8_t *src = seg_at(type, w, row_bytes, b0 + i, k0, &bytes);
                    /* the row's next segment, or the next block's first, to
                     * L2 while this one's tiles run */
                    const uint8_t *next = k0 + HKC < cols ? src + bytes
                                          : b0 + HRB + i < r1 ? seg_at(type, w, row_bytes, b0 + HRB + i, 0, &bytes)
                                                              : NULL;
                    for (size_t o = 0; next && o < bytes; o += 64)
                        _mm_prefetch((const char *)next + o, _MM_HINT_T1);
                    dequant_chunk(type, src, wf + i * HKC, len);
                }
                for (int64_t j0 = 0; j0 < nt; j0 += HT) {
                    const int T = nt - j0 < HT ? (int)(nt - j0) : HT;
                    for (int64_t i0 = 0; i0 < nr; i0 += HR) {
                        const int R = nr - i0 < HR ? (int)(nr - i0) : HR;
                        htiles[R - 1][T - 1](wf + i0 * HKC, len, x + (t0 + j0) * cols + k0, cols,
                                             acc[i0 / HR][j0 / HT]);
                    }
                }
            }
            for (int64_t i = 0; i < nr; i++)
                for (int64_t j = 0; j < nt; j++) {
                    const __m256 *a = acc[i / HR][j / HT] + 2 * (i % HR * HT + j % HT);
                    y[(t0 + j) * ldy + b0 + i] = lane_sum(a[0], a[1]);
                }
        }
    }
}

/* Eight int8 values at p times f (bn_i8x8_times_x86), the sign-extending
 * load reading them from memory: no shuffle brings the upper eight of a
 * register down, and the vector pipes keep to the arithmetic. */
ALWAYS_INLINE __m256 i8x8_at_times(const int8_t *p, __m256 f)
{
    return bn_i8x8_times_x86(_mm_loadl_epi64((const __m128i *)(const void *)p), f);
}

/* Sixteen int8 values at p times the block's factor f, multiplied into the
 * lanes a against x: values 0-7 into lanes 0-7, 8-15 into 8-15. */
ALWAYS_INLINE void q16_mac(__m256 a[2], const int8_t *p, __m256 f, const float *x)
{
    mac(a, i8x8_at_times(p, f), i8x8_at_times(p + 8, f), x);
}

/* Q8_0, Q6_K and Q4_K rows against one token with each 16 values made in
 * registers and multiplied in at once, in the order of the buffer path
 * (Zen 3, 65536 x 2560 rows: Q6_K 1.35-1.44x, Q8_0 1.31-1.32x, Q4_K
 * 1.31x; all are still bound by their arithmetic, 6 to 10 G values a
 * second). These add one block (32 or 256 values at b) against x to the
 * lanes a. */
ALWAYS_INLINE void q8_0_block(const uint8_t *b, const float *x, __m256 a[2])
{
    __m256 d = _mm256_set1_ps(bn_f16_x86(b));
    q16_mac(a, (const int8_t *)(b + 2), d, x);
    q16_mac(a, (const int8_t *)(b + 18), d, x + 16);
}

/* Q6_K: both rows' blocks staged (bn_q6_k_stage_avx2) before either is
 * read back, the two rows' products interleaved so that their four chains
 * overlap (one row's 16 steps a block waited on its two chains' latency). */
ALWAYS_INLINE void q6_k_blocks2(const uint8_t *b0, const uint8_t *b1, const float *x, __m256 a0[2], __m256 a1[2])
{
    _Alignas(32) int8_t q[2][256];
    _Alignas(32) float f[2][16];
    bn_q6_k_stage_avx2(b0, q[0], f[0]);
    bn_q6_k_stage_avx2(b1, q[1], f[1]);
    __asm__ volatile("" : : "r"(q), "r"(f) : "memory");  /* read them back from memory */
    for (int j = 0; j < 16; j++) {
        q16_mac(a0, q[0] + 16 * j, _mm256_broadcast_ss(f[0] + j), x + 16 * j);
        q16_mac(a1, q[1] + 16 * j, _mm256_broadcast_ss(f[1] + j), x + 16 * j);
    }
}

/* Q4_K's 256 nibbles through the stack, a row at a time (both rows' and
 * their products interleaved, as Q6_K: 0.92x); the factors stay scalar
 * work (through the stack as well: 0.82x). */
ALWAYS_INLINE void q4_k_block(const uint8_t *b, const float *x, __m256 a[2])
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const float d = bn_f16_x86(b), dmin = bn_f16_x86(b + 2);
    _Alignas(32) uint8_t q[256];
    for (int s = 0; s < 4; s++) {  /* sub-block 2s: the low nibbles of 32 bytes, 2s + 1: the high */
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b + 16 + 32 * s));
        _mm256_store_si256((__m256i *)(void *)(q + 64 * s), _mm256_and_si256(v, m4));
        _mm256_store_si256((__m256i *)(void *)(q + 64 * s + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
    __asm__ volatile("" : : "r"(q) : "memory");  /* read them back from memory */
    for (int j = 0; j < 8; j++) {
        float fd, fm;
        bn_q4_k_factors_x86(b + 4, j, d, dmin, &fd, &fm);
        const __m256 d1 = _mm256_set1_ps(fd), m1 = _mm256_set1_ps(fm);
        for (int k = 0; k < 32; k += 16) {
            const uint8_t *p = q + 32 * j + k;
            __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
            __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p + 8))));
            mac(a, _mm256_sub_ps(_mm256_mul_ps(d1, lo), m1), _mm256_sub_ps(_mm256_mul_ps(d1, hi), m1), x + 32 * j + k);
        }
    }
}

/* Rows [r0, r1) of Q8_0, Q6_K or Q4_K two at a time (a last one alone),
 * each in its own two chains, its blocks prefetched `ahead` further. */
ALWAYS_INLINE void decode_blocks(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 int64_t cols, const float *x, float *y, size_t ahead)
{
    /* the blocks' shapes as constants rather than from bn_type_get: the
     * compiler then makes one loop a type (Q4_K 2% faster) */
    const int64_t per = type == BN_TYPE_Q8_0 ? 32 : 256, bytes = type == BN_TYPE_Q8_0 ? 34 : type == BN_TYPE_Q6_K ? 210 : 144;
    for (int64_t r = r0; r < r1; r += 2) {
        const uint8_t *b0 = w + (size_t)r * row_bytes, *b1 = r + 1 < r1 ? b0 + row_bytes : b0;
        __m256 a0[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() }, a1[2] = { a0[0], a0[1] };
        for (int64_t i = 0; i < cols; i += per, b0 += bytes, b1 += bytes) {
            for (int64_t o = 0; o < bytes; o += 64) {
                bn_prefetch_ahead(b0 + o, ahead);
                bn_prefetch_ahead(b1 + o, ahead);
            }
            if (type == BN_TYPE_Q8_0) {
                q8_0_block(b0, x + i, a0);
                q8_0_block(b1, x + i, a1);
            } else if (type == BN_TYPE_Q6_K) {
                q6_k_blocks2(b0, b1, x + i, a0, a1);
            } else {
                q4_k_block(b0, x + i, a0);
                q4_k_block(b1, x + i, a1);
            }
        }
        y[r] = lane_sum(a0[0], a0[1]);
        if (r + 1 < r1)
            y[r + 1] = lane_sum(a1[0], a1[1]);
    }
}

/* Block-quantized rows: dequantize a chunk once, then run every token of the
 * group over it, carrying each token's lanes from chunk to chunk. */
static void fgemm_blocks(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                         const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    const bn_type_traits *tt = bn_type_get(type);
    float buf[CHUNK];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t t0 = 0; t0 < n_tok; t0 += TOKS) {
            int T = n_tok - t0 < TOKS ? (int)(n_tok - t0) : TOKS;
            __m256 acc[TOKS][2];
            for (int j = 0; j < T; j++)
                acc[j][0] = acc[j][1] = _mm256_setzero_ps();
            for (int64_t k0 = 0; k0 < cols; k0 += CHUNK) {
                int64_t len = cols - k0 < CHUNK ? cols - k0 : CHUNK;
                const uint8_t *src = row + (size_t)(k0 / tt->block_size) * tt->block_bytes;
                dequant_chunk(type, src, buf, len);
                for (int j = 0; j < T; j++) {
                    const float *xt = x + (t0 + j) * cols + k0;
                    __m256 a[2] = {acc[j][0], acc[j][1]};
                    for (int64_t k = 0; k < len; k += 16) {
                        __m256 lo, hi;
                        load16(BUF_F32, (const uint8_t *)buf, k, &lo, &hi);
                        mac(a, lo, hi, xt + k);
                    }
                    acc[j][0] = a[0];
                    acc[j][1] = a[1];
                }
            }
            for (int j = 0; j < T; j++)
                y[(t0 + j) * ldy + r] = lane_sum(acc[j][0], acc[j][1]);
        }
    }
}

/* Decode over F16 rows in pairs: both rows of a pair at once, each in its own
 * chains (the order of etile for each), reading the pair's single stream. A
 * range that starts or ends inside a pair computes the whole pair (its lines
 * hold both rows; the layout pads an odd count) and keeps its rows.
 * Prefetches `ahead` bytes further where they pay (BN_DECODE_AHEAD). */
ALWAYS_INLINE void erows_f16x2(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                               const float *x, float *y, size_t ahead)
{
    for (int64_t r = r0 & ~(int64_t)1; r < r1; r += 2) {
        const uint8_t *pair = bn_f16x2_row(w, row_bytes, r);
        __m256 a[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() }, b[2] = { a[0], a[1] };
        for (int64_t k = 0; k < cols; k += 16) {
            __m256 lo, hi;
            bn_prefetch_ahead(pair + 4 * k, ahead);
            load16(BN_TYPE_F16, pair + 4 * k, 0, &lo, &hi);
            mac(a, lo, hi, x + k);
            load16(BN_TYPE_F16, pair + 4 * k + 32, 0, &lo, &hi);
            mac(b, lo, hi, x + k);
        }
        if (r >= r0)
            y[r] = lane_sum(a[0], a[1]);
        if (r + 1 < r1)
            y[r + 1] = lane_sum(b[0], b[1]);
    }
}

/* Both builds: decode prefetches `ahead` bytes further where it streams the
 * head (the F16 pairs the loader stores, Q8_0, Q6_K, Q4_K); several tokens
 * read each row from cache. */
ALWAYS_INLINE void fgemm(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                         const float *x, int64_t n_tok, float *y, int64_t ldy, size_t ahead)
{
    if (n_tok == 1 && type == BN_TYPE_F16X2) {
        erows_f16x2(w, row_bytes, r0, r1, cols, x, y, ahead);
        return;
    }
    if (n_tok == 1 && (type == BN_TYPE_Q8_0 || type == BN_TYPE_Q6_K || type == BN_TYPE_Q4_K)) {
        decode_blocks(type, w, row_bytes, r0, r1, cols, x, y, ahead);
        return;
    }
    if (n_tok >= (elem_type(type) ? 8 : 4) && cols % 16 == 0) {  /* every block size divides HKC */
        fgemm_many(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy);
        return;
    }
    switch (type) {
    case BN_TYPE_F32: bn_fgemm_elem(etiles_f32, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16: bn_fgemm_elem(etiles_f16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_F16X2: fgemm_pairs(w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    case BN_TYPE_BF16: bn_fgemm_elem(etiles_bf16, 0, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    default: fgemm_blocks(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy); break;
    }
}

void bn_fgemm_avx2(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    fgemm(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy, 0);
}

/* The prefetching build (kernels_x86.h). */
void bn_fgemm_avx2_prefetch(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                            const float *x, int64_t n_tok, float *y, int64_t ldy)
{
    fgemm(type, w, row_bytes, r0, r1, cols, x, n_tok, y, ldy, BN_DECODE_AHEAD);
}
