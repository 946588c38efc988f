/* Attention over the f16 KV cache (kernels.h: bn_kernels.attn), one block
 * of query heads at a time, for decode and calls of few query rows: a
 * template that attn_avx2.c and attn_avx512.c include with the entry's name
 * (BN_ATTN_FN) and the width (WIDE). In the canonical order: dot8's eight
 * lanes are one __m256, each product and its sum one fused multiply-add (as
 * the reference's fmaf), the softmax is the scalar code's operations eight
 * lanes at a time, and each output element sums its positions in order. Up
 * to four query heads of a group go through each K or V row together, as
 * independent chains, converting the f16 values as they are used (exact
 * conversions). */
#include <immintrin.h>
#include <string.h>

#include "ggml_types.h"
#include "scalar/dense_scalar.h"
#include "x86/exp_avx2.h"
#include "x86/kernels_x86.h"

#define HB 4  /* heads per pass */

/* The AVX-512 level includes this file with WIDE set: with its 32 vector
 * registers two to four
 * heads take four positions (scores) or four chunks (mixing) a pass, up to
 * 16 chains. Over 1056 positions (Zen 4, a kernel harness, d = 128) that took
 * 11% less time for groups of four heads, 17% for three, 12% for two; one
 * head a K/V head gained nothing from longer passes. Its 512-bit registers
 * then hold two positions' dot8 lanes (score_heads16) or sixteen output
 * elements (mix_heads16), the same chains in half the instructions: 1.7-2.0x
 * faster over 2B-4T's heads at 64-128 tokens and 0-448 positions (Sapphire
 * Rapids, a kernel harness); eight positions a pass were 30% slower. */
#if !defined(BN_ATTN_FN) || !defined(WIDE)
#error "define BN_ATTN_FN and WIDE before including attn_rows_tmpl.c"
#endif
#if WIDE
#include "x86/exp_avx512.h"
#endif

/* ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), the scalar dot8's end. */
static inline float combine8(__m256 a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 t = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehl_ps(t, t)));
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The last n < 8 elements of a head (d % 8 of them) as lanes 0 .. n - 1,
 * zeros above, reading nothing past them (a row can end the cache). Lane i
 * of the tail is lane i of the canonical order (d - n is a multiple of 8),
 * and a zero product added to a lane leaves it unchanged (a lane is never
 * -0), so the tail goes through the same vector code as the rest. */
ALWAYS_INLINE __m256i part_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

ALWAYS_INLINE __m256 load_f16_part(const uint16_t *p, int n)
{
    __m128i pairs = _mm_maskload_epi32((const int *)(const void *)p,
                                       _mm_cmpgt_epi32(_mm_set1_epi32(n / 2), _mm_setr_epi32(0, 1, 2, 3)));
    if (n & 1) {
        __m128i last = _mm_cmpeq_epi16(_mm_set1_epi16((short)(n - 1)), _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7));
        pairs = _mm_blendv_epi8(pairs, _mm_set1_epi16((short)p[n - 1]), last);
    }
    return _mm256_cvtph_ps(pairs);
}

/* bn_attn_softmax of one head's n scores with eight positions an
 * instruction (sixteen in the AVX-512 build, whose exponentials are the
 * same lane operations and whose two halves join the canonical lanes p % 8
 * in order of p), so only the tail is scalar. The maximum is exact in any
 * order: it differs only in the sign of a zero maximum, which changes no
 * sc[p] - mx that the exponential can tell apart. */
static void softmax(float *sc, uint32_t n)
{
    const uint32_t n8 = n & ~7u;
    float mx = -INFINITY;
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (uint32_t p = 0; p < n8; p += 8)
        m = _mm256_max_ps(_mm256_loadu_ps(sc + p), m);  /* x > m ? x : m: NaN never wins */
    float lm[8];
    _mm256_storeu_ps(lm, m);
    for (int i = 0; i < 8; i++)
        if (lm[i] > mx)
            mx = lm[i];
    for (uint32_t p = n8; p < n; p++)
        if (sc[p] > mx)
            mx = sc[p];
    __m256 vmx = _mm256_set1_ps(mx), sum = _mm256_setzero_ps();
    uint32_t p = 0;
#if WIDE
    const __m512 wmx = _mm512_set1_ps(mx);
    for (; p + 16 <= n8; p += 16) {
        __m512 e = bn_exp16_avx512(_mm512_sub_ps(_mm512_loadu_ps(sc + p), wmx));
        _mm512_storeu_ps(sc + p, e);
        sum = _mm256_add_ps(sum, _mm512_castps512_ps256(e));
        sum = _mm256_add_ps(sum, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
#endif
    for (; p < n8; p += 8) {
        __m256 e = bn_exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(sc + p), vmx));
        _mm256_storeu_ps(sc + p, e);
        sum = _mm256_add_ps(sum, e);
    }
    float l[8];
    _mm256_storeu_ps(l, sum);
    for (p = n8; p < n; p++) {
        sc[p] = bn_exp_canon(sc[p] - mx);
        l[p % 8] += sc[p];
    }
    float inv = 1.0f / bn_lane_sum8(l);
    __m256 vinv = _mm256_set1_ps(inv);
    for (p = 0; p < n8; p += 8)
        _mm256_storeu_ps(sc + p, _mm256_mul_ps(_mm256_loadu_ps(sc + p), vinv));
    for (p = n8; p < n; p++)
        sc[p] *= inv;
}

/* combine8 of the eight dot8s in a[0..7], times scale: lane m of the result
 * is a[m]'s. The halves, then neighbours twice (vhaddps), for all of them at
 * once, each add of the same two values as combine8's. */
ALWAYS_INLINE __m256 scores8(const __m256 a[8], float scale)
{
    __m256 x[4];
    for (int k = 0; k < 4; k++)  /* s_i = l_i + l_(i+4) of a[2k], then a[2k + 1] */
        x[k] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * k], a[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(a[2 * k], a[2 * k + 1], 0x31));
    /* a[0], a[2], a[4], a[6], then the odd ones; put back in order */
    __m256 f = _mm256_hadd_ps(_mm256_hadd_ps(x[0], x[1]), _mm256_hadd_ps(x[2], x[3]));
    f = _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    return _mm256_mul_ps(f, _mm256_set1_ps(scale));
}

/* scores8 of the nh NP dot8s of nh heads by NP positions (4 <= nh NP <=
 * 16; acc[j][r]: head j, position p + r), eight at a time, into
 * sc[j][p .. p + NP - 1] (absent registers are zeros, whose lanes are
 * dropped). */
ALWAYS_INLINE void store_scores8(__m256 (*acc)[8], int nh, int NP, float scale, float *const *sc, uint32_t p)
{
    __m256 a[16];
    for (int m = 0; m < 16; m++)
        a[m] = m < nh * NP ? acc[m / NP][m % NP] : _mm256_setzero_ps();
    float z[16];
    _mm256_storeu_ps(z, scores8(a, scale));
    if (nh * NP > 8)
        _mm256_storeu_ps(z + 8, scores8(a + 8, scale));
    for (int j = 0; j < nh; j++)
        memcpy(sc[j] + p, z + NP * j, (size_t)NP * sizeof *z);
}

/* Scores of the nh heads whose q rows are qh[0 .. nh - 1] against the NP K
 * rows at positions p .. p + NP - 1, into sc[j][p ..], converted 8 values
 * at a time as they are used: nh x NP independent chains. */
ALWAYS_INLINE void score_heads(const float *const *qh, const uint16_t *k, size_t kv_stride, int NP, int d, int nh,
                               float scale, float *const *sc, uint32_t p)
{
    const int d8 = d & ~7;
    __m256 acc[HB][8];
    for (int j = 0; j < nh; j++)
        for (int r = 0; r < NP; r++)
            acc[j][r] = _mm256_setzero_ps();
    for (int i = 0; i < d8; i += 8) {
        __m256 kv[8];
        for (int r = 0; r < NP; r++)
            kv[r] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(k + (p + r) * kv_stride + i)));
        for (int j = 0; j < nh; j++) {
            __m256 qv = _mm256_loadu_ps(qh[j] + i);
            for (int r = 0; r < NP; r++)
                acc[j][r] = _mm256_fmadd_ps(qv, kv[r], acc[j][r]);
        }
    }
    if (d8 < d) {
        __m256 kv[8];
        for (int r = 0; r < NP; r++)
            kv[r] = load_f16_part(k + (p + r) * kv_stride + d8, d - d8);
        for (int j = 0; j < nh; j++) {
            __m256 qv = _mm256_maskload_ps(qh[j] + d8, part_mask(d - d8));
            for (int r = 0; r < NP; r++)
                acc[j][r] = _mm256_fmadd_ps(qv, kv[r], acc[j][r]);
        }
    }
    if (nh * NP >= 4) {  /* with fewer, most of the eight would be zeros */
        store_scores8(acc, nh, NP, scale, sc, p);
        return;
    }
    for (int j = 0; j < nh; j++)
        for (int r = 0; r < NP; r++)
            sc[j][p + r] = combine8(acc[j][r]) * scale;
}

/* out[j][i0 .. i0 + 8 NC - 1] for the nh heads of a block: the weighted V
 * rows summed in order of position, kept in registers (nh x NC chains).
 * Head j attends to n[j] positions, n[0] <= n[1] <= ...: all heads take the
 * first n[0] together, then each goes on alone to its own end. */
ALWAYS_INLINE void mix_heads(const uint16_t *v, size_t kv_stride, const uint32_t *n, int nh, int i0, int NC,
                             float *const *sc, float *const *out, const char *pf, uint32_t pf_lines)
{
    __m256 o[HB][6];
    for (int j = 0; j < nh; j++)
        for (int c = 0; c < NC; c++)
            o[j][c] = _mm256_setzero_ps();
    for (uint32_t p = 0; p < n[0]; p++) {
        if (p < pf_lines)  /* a line of what the next call reads (see BN_ATTN_FN) */
            _mm_prefetch(pf + 64 * (size_t)p, _MM_HINT_T1);
        __m256 vv[6];
        for (int c = 0; c < NC; c++)
            vv[c] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(v + p * kv_stride + i0 + 8 * c)));
        for (int j = 0; j < nh; j++) {
            __m256 w = _mm256_set1_ps(sc[j][p]);
            for (int c = 0; c < NC; c++)
                o[j][c] = _mm256_fmadd_ps(w, vv[c], o[j][c]);
        }
    }
    for (uint32_t p = n[0]; p < n[nh - 1]; p++) {
        __m256 vv[6];
        for (int c = 0; c < NC; c++)
            vv[c] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(v + p * kv_stride + i0 + 8 * c)));
        for (int j = 0; j < nh; j++)
            if (p < n[j]) {
                __m256 w = _mm256_set1_ps(sc[j][p]);
                for (int c = 0; c < NC; c++)
                    o[j][c] = _mm256_fmadd_ps(w, vv[c], o[j][c]);
            }
    }
    for (int j = 0; j < nh; j++)
        for (int c = 0; c < NC; c++)
            _mm256_storeu_ps(out[j] + i0 + 8 * c, o[j][c]);
}

#if WIDE
/* Eight floats in both halves of a register (AVX-512F has no float form). */
ALWAYS_INLINE __m512 bcast8(const float *p)
{
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_loadu_pd((const double *)(const void *)p)));
}

/* The lanes of x and y that lo picks, plus those that hi picks: with the
 * index pairs (i, i + 4) of each eight, then neighbours twice, combine8's
 * three steps for every dot8 in x and y at once. */
ALWAYS_INLINE __m512 fold(__m512 x, __m512 y, __m512i lo, __m512i hi)
{
    return _mm512_add_ps(_mm512_permutex2var_ps(x, lo, y), _mm512_permutex2var_ps(x, hi, y));
}

/* combine8 of the 16 dot8s in a[0..7] (two positions each, lanes 0-7 and
 * 8-15), times scale: lane 2m + i of the result is a[m]'s position i. Three
 * folds instead of a horizontal sum each, every one adding the same two
 * values as combine8. */
ALWAYS_INLINE __m512 scores16(const __m512 a[8], float scale)
{
    const __m512i lo4 = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i hi4 = _mm512_add_epi32(lo4, _mm512_set1_epi32(4)), odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 x[4], y[2];
    /* s_i = l_i + l_(i+4): four lanes a dot8, a[2k] then a[2k + 1] */
    for (int k = 0; k < 4; k++)
        x[k] = fold(a[2 * k], a[2 * k + 1], lo4, hi4);
    /* s0 + s1 and s2 + s3, then their sum (neighbours both times) */
    for (int k = 0; k < 2; k++)
        y[k] = fold(x[2 * k], x[2 * k + 1], even, odd);
    return _mm512_mul_ps(fold(y[0], y[1], even, odd), _mm512_set1_ps(scale));
}

/* scores16 of nh heads by NP2 pairs of positions (nh NP2 <= 8; acc[j][r]:
 * head j, positions p + 2r and p + 2r + 1) into sc[j][p .. p + 2 NP2 - 1]
 * (absent registers are zeros, whose lanes are dropped), so head j's
 * scores come out in order. */
ALWAYS_INLINE void store_scores16(__m512 (*acc)[4], int nh, int NP2, float scale, float *const *sc, uint32_t p)
{
    __m512 a[8];
    for (int m = 0; m < 8; m++)
        a[m] = m < nh * NP2 ? acc[m / NP2][m % NP2] : _mm512_setzero_ps();
    float z[16];
    _mm512_storeu_ps(z, scores16(a, scale));
    for (int j = 0; j < nh; j++)
        memcpy(sc[j] + p, z + 2 * NP2 * j, 2 * (size_t)NP2 * sizeof *z);
}

/* score_heads two positions a register: lanes 0-7 are one position's dot8
 * lanes, 8-15 the next one's, so each lane's chain is the canonical one
 * (half the multiply-adds and conversions of eight-wide registers). NP2
 * pairs of positions from p. */
ALWAYS_INLINE void score_heads16(const float *const *qh, const uint16_t *k, size_t kv_stride, int NP2, int d, int nh,
                                 float scale, float *const *sc, uint32_t p)
{
    const int d8 = d & ~7;
    __m512 acc[HB][4];
    for (int j = 0; j < nh; j++)
        for (int r = 0; r < NP2; r++)
            acc[j][r] = _mm512_setzero_ps();
    for (int i = 0; i < d8; i += 8) {
        __m512 kv[4];
        for (int r = 0; r < NP2; r++) {
            const uint16_t *row = k + (p + 2 * r) * kv_stride + i;
            __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)row);
            __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(row + kv_stride));
            kv[r] = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
        }
        for (int j = 0; j < nh; j++) {
            __m512 qv = bcast8(qh[j] + i);
            for (int r = 0; r < NP2; r++)
                acc[j][r] = _mm512_fmadd_ps(qv, kv[r], acc[j][r]);
        }
    }
    if (d8 == d && nh * NP2 <= 8) {
        store_scores16(acc, nh, NP2, scale, sc, p);
        return;
    }
    for (int r = 0; r < NP2; r++) {
        const uint16_t *row = k + (p + 2 * r) * kv_stride + d8;
        __m256 k0 = d8 < d ? load_f16_part(row, d - d8) : _mm256_setzero_ps();
        __m256 k1 = d8 < d ? load_f16_part(row + kv_stride, d - d8) : _mm256_setzero_ps();
        for (int j = 0; j < nh; j++) {
            __m256 a0 = _mm512_castps512_ps256(acc[j][r]);
            __m256 a1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j][r]), 1));
            if (d8 < d) {  /* the last d % 8 elements, as score_heads takes them */
                __m256 qv = _mm256_maskload_ps(qh[j] + d8, part_mask(d - d8));
                a0 = _mm256_fmadd_ps(qv, k0, a0);
                a1 = _mm256_fmadd_ps(qv, k1, a1);
            }
            sc[j][p + 2 * r] = combine8(a0) * scale;
            sc[j][p + 2 * r + 1] = combine8(a1) * scale;
        }
    }
}

/* mix_heads sixteen elements a register: each lane is still one output
 * element's chain over the positions in order, so only the width changes
 * (half the conversions and multiply-adds of eight-wide chunks). */
ALWAYS_INLINE __m512 load16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

ALWAYS_INLINE void mix_heads16(const uint16_t *v, size_t kv_stride, const uint32_t *n, int nh, int i0, int NC,
                               float *const *sc, float *const *out, const char *pf, uint32_t pf_lines)
{
    __m512 o[HB][6];
    for (int j = 0; j < nh; j++)
        for (int c = 0; c < NC; c++)
            o[j][c] = _mm512_setzero_ps();
    for (uint32_t p = 0; p < n[0]; p++) {
        if (p < pf_lines)  /* a line of what the next call reads (see BN_ATTN_FN) */
            _mm_prefetch(pf + 64 * (size_t)p, _MM_HINT_T1);
        __m512 vv[6];
        for (int c = 0; c < NC; c++)
            vv[c] = load16(v + p * kv_stride + i0 + 16 * c);
        for (int j = 0; j < nh; j++) {
            __m512 w = _mm512_set1_ps(sc[j][p]);
            for (int c = 0; c < NC; c++)
                o[j][c] = _mm512_fmadd_ps(w, vv[c], o[j][c]);
        }
    }
    for (uint32_t p = n[0]; p < n[nh - 1]; p++) {
        __m512 vv[6];
        for (int c = 0; c < NC; c++)
            vv[c] = load16(v + p * kv_stride + i0 + 16 * c);
        for (int j = 0; j < nh; j++)
            if (p < n[j]) {
                __m512 w = _mm512_set1_ps(sc[j][p]);
                for (int c = 0; c < NC; c++)
                    o[j][c] = _mm512_fmadd_ps(w, vv[c], o[j][c]);
            }
    }
    for (int j = 0; j < nh; j++)
        for (int c = 0; c < NC; c++)
            _mm512_storeu_ps(out[j] + i0 + 16 * c, o[j][c]);
}
#endif

/* The helpers for each head count NH with NP positions (scores) or NC
 * chunks (mixing) as constants, so that their accumulators stay in
 * registers: eight to twelve chains a pass, fewer heads taking more
 * positions or chunks (a model without grouped K/V has one head per K/V
 * head: eight positions and six chunks measured best for it, 14% faster
 * than four). */
typedef void score_fn(const float *const *qh, const uint16_t *k, size_t kv_stride, int d, float scale,
                      float *const *sc, uint32_t p);
typedef void mix_fn(const uint16_t *v, size_t kv_stride, const uint32_t *n, int i0, float *const *sc,
                    float *const *out, const char *pf, uint32_t pf_lines);

#define SCORE(NH, N)                                                                                    \
    static void score_##NH##_##N(const float *const *qh, const uint16_t *k, size_t kv_stride, int d,    \
                                 float scale, float *const *sc, uint32_t p)                             \
    {                                                                                                   \
        score_heads(qh, k, kv_stride, N, d, NH, scale, sc, p);                                          \
    }
#define MIX(NH, N)                                                                                      \
    static void mix_##NH##_##N(const uint16_t *v, size_t kv_stride, const uint32_t *n, int i0,          \
                               float *const *sc, float *const *out, const char *pf, uint32_t pf_lines)  \
    {                                                                                                   \
        mix_heads(v, kv_stride, n, NH, i0, N, sc, out, pf, pf_lines);                                   \
    }
#if WIDE
#define SCORE16(NH, N)                                                                                  \
    static void score16_##NH##_##N(const float *const *qh, const uint16_t *k, size_t kv_stride, int d,  \
                                   float scale, float *const *sc, uint32_t p)                           \
    {                                                                                                   \
        score_heads16(qh, k, kv_stride, N, d, NH, scale, sc, p);                                        \
    }
SCORE16(1, 1) SCORE16(1, 2) SCORE16(1, 3) SCORE16(1, 4) SCORE16(2, 1) SCORE16(2, 2) SCORE16(3, 1) SCORE16(3, 2)
SCORE16(4, 1) SCORE16(4, 2)
#define MIX16(NH, N)                                                                                    \
    static void mix16_##NH##_##N(const uint16_t *v, size_t kv_stride, const uint32_t *n, int i0,        \
                                 float *const *sc, float *const *out, const char *pf, uint32_t pf_lines) \
    {                                                                                                   \
        mix_heads16(v, kv_stride, n, NH, i0, N, sc, out, pf, pf_lines);                                 \
    }
MIX16(1, 1) MIX16(1, 2) MIX16(1, 3) MIX16(1, 4) MIX16(1, 5) MIX16(1, 6) MIX16(2, 1) MIX16(2, 2) MIX16(2, 3)
MIX16(2, 4) MIX16(3, 1) MIX16(3, 2) MIX16(3, 3) MIX16(3, 4) MIX16(4, 1) MIX16(4, 2) MIX16(4, 3) MIX16(4, 4)
#endif
SCORE(1, 1) SCORE(1, 2) SCORE(1, 3) SCORE(1, 4) SCORE(1, 5) SCORE(1, 6) SCORE(1, 7) SCORE(1, 8) SCORE(2, 1) SCORE(2, 2)
SCORE(2, 3) SCORE(2, 4) SCORE(2, 5) SCORE(2, 6) SCORE(3, 1) SCORE(3, 2) SCORE(3, 3) SCORE(3, 4) SCORE(4, 1) SCORE(4, 2)
SCORE(4, 3) SCORE(4, 4)
MIX(1, 1) MIX(1, 2) MIX(1, 3) MIX(1, 4) MIX(1, 5) MIX(1, 6) MIX(2, 1) MIX(2, 2) MIX(2, 3) MIX(2, 4) MIX(2, 5) MIX(2, 6)
MIX(3, 1) MIX(3, 2) MIX(3, 3) MIX(3, 4) MIX(4, 1) MIX(4, 2) MIX(4, 3) MIX(4, 4)

/* In decode the cache rows come from memory: the weights streamed since the
 * last token have pushed them out, and a head's rows are too short a stream
 * for the hardware prefetcher to ramp up. So the scores prefetch each K row
 * some positions ahead and each V row as its score is computed, ready for
 * the mixing (2B-4T decode: attention 1.12 -> 0.69 ms a token). Cold rows
 * (decode) go to L2: a prefetch into L1 holds one of the core's few L1 miss
 * buffers until its line arrives, and bitnet_b1_58-large's attention (one
 * head a K/V head, so little work a row) stalled on them at about 12 GB/s;
 * to L2 it takes 0.7-0.8 instead of 1.2-1.4 ms a token at 64-128 positions.
 * Prefill's rows are still in L2 from the previous token, and prefetching
 * them into L1 made pp512 2% faster than into L2. The distance: 8 positions
 * for groups of four heads or more (16 and 32 were no better), 32 / group for
 * smaller groups, which spend less time on a row.
 *
 * A decode call also prefetches the first bytes the thread's next call will
 * read (`next`: that K/V head's K rows), eight lines after each score pass
 * and one a position of each mixing pass, so that they arrive spread over
 * the call: prefetches issued back to back are mostly dropped (the core has
 * few miss buffers), and a head's short streams are otherwise read at the
 * hardware prefetcher's slow start. bitnet_b1_58-large (one query head a
 * K/V head, d = 96), decode after 1024 tokens: attention 11.0-11.5 ->
 * 8.6-9.1 ms a token; 2B-4T 8.0 -> 7.7-7.9 (four lines a score pass were 7%
 * slower on the first, sixteen 10%). */
static inline uint32_t pf_ahead(int group)
{
    return group >= 4 ? 8 : 32u / (uint32_t)group;
}

/* Lines of `next` (next_bytes long) still to prefetch after `done` bytes, at most `want`. */
static inline uint32_t next_lines(const void *next, size_t next_bytes, size_t done, uint32_t want)
{
    size_t left = next && done < next_bytes ? (next_bytes - done + 63) / 64 : 0;
    return left < want ? (uint32_t)left : want;
}

static inline void prefetch_row(const uint16_t *row, int d, int cold)
{
    for (int b = 0; b < 2 * d; b += 64) {
        if (cold)
            _mm_prefetch((const char *)row + b, _MM_HINT_T1);
        else
            _mm_prefetch((const char *)row + b, _MM_HINT_T0);
    }
}

/* [heads][positions or chunks]: each pass takes the entry of its size, at
 * most the pass size below (the wider entries serve WIDE only). */
static score_fn *const scores_for[HB + 1][9] = {
    {NULL}, {NULL, score_1_1, score_1_2, score_1_3, score_1_4, score_1_5, score_1_6, score_1_7, score_1_8},
    {NULL, score_2_1, score_2_2, score_2_3, score_2_4, score_2_5, score_2_6}, {NULL, score_3_1, score_3_2, score_3_3, score_3_4},
    {NULL, score_4_1, score_4_2, score_4_3, score_4_4}};
static mix_fn *const mixes_for[HB + 1][9] = {
    {NULL}, {NULL, mix_1_1, mix_1_2, mix_1_3, mix_1_4, mix_1_5, mix_1_6}, {NULL, mix_2_1, mix_2_2, mix_2_3, mix_2_4, mix_2_5, mix_2_6},
    {NULL, mix_3_1, mix_3_2, mix_3_3, mix_3_4}, {NULL, mix_4_1, mix_4_2, mix_4_3, mix_4_4}};
#if WIDE
static const int score_pass[HB + 1] = {0, 8, 4, 4, 4}, mix_pass[HB + 1] = {0, 6, 4, 4, 4};
/* pairs of positions, and sixteen-element chunks, as many a pass as
 * positions and eight-element chunks */
static score_fn *const scores16_for[HB + 1][5] = {
    {NULL}, {NULL, score16_1_1, score16_1_2, score16_1_3, score16_1_4}, {NULL, score16_2_1, score16_2_2},
    {NULL, score16_3_1, score16_3_2}, {NULL, score16_4_1, score16_4_2}};
static mix_fn *const mixes16_for[HB + 1][7] = {
    {NULL}, {NULL, mix16_1_1, mix16_1_2, mix16_1_3, mix16_1_4, mix16_1_5, mix16_1_6},
    {NULL, mix16_2_1, mix16_2_2, mix16_2_3, mix16_2_4}, {NULL, mix16_3_1, mix16_3_2, mix16_3_3, mix16_3_4},
    {NULL, mix16_4_1, mix16_4_2, mix16_4_3, mix16_4_4}};
#else
/* Twelve score chains for groups of two to four heads, where eight (two
 * positions a pass) left the multiply-adds waiting on each other: a decode
 * step over 1024 positions from cache 1.05-1.06x for groups of four (d =
 * 128), 1.2x for two and 1.45-1.5x for three (d = 64 and 256; three heads
 * used to mix one chunk a pass). */
static const int score_pass[HB + 1] = {0, 8, 6, 4, 3}, mix_pass[HB + 1] = {0, 6, 6, 4, 2};
#endif

/* A block of up to HB consecutive heads of the batch (head h is head
 * h % group of token h / group): where each one's q, scores and output are,
 * and how many positions it attends to. */
struct block {
    const float *q[HB];
    float *sc[HB], *out[HB];
    uint32_t n[HB];
    int nh;
};

static void block_at(struct block *b, int h0, int heads, const float *q, size_t q_stride, float *out,
                     size_t out_stride, float *scores, size_t sc_stride, uint32_t n_kv, int group, int d)
{
    b->nh = heads - h0 < HB ? heads - h0 : HB;
    for (int j = 0; j < b->nh; j++) {
        int t = (h0 + j) / group, g = (h0 + j) % group;
        b->q[j] = q + (size_t)t * q_stride + (size_t)g * d;
        b->out[j] = out + (size_t)t * out_stride + (size_t)g * d;
        b->sc[j] = scores + (size_t)(h0 + j) * sc_stride;
        b->n[j] = n_kv + (uint32_t)t;
    }
}

void BN_ATTN_FN(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes)
{
    (void)row;  /* the tail is vector code too */
    const int heads = (int)n_tok * group;
    if (heads <= 0)
        return;
    const uint32_t ahead = pf_ahead(heads < HB ? heads : HB);
    size_t pf_done = 0;  /* bytes of `next` prefetched so far */
    struct block b;
    for (uint32_t p = 0; p < ahead && p < n_kv; p++)
        prefetch_row(k + p * kv_stride, d, cold);
    for (int h0 = 0; h0 < heads; h0 += HB) {
        block_at(&b, h0, heads, q, q_stride, out, out_stride, scores, sc_stride, n_kv, group, d);
        /* Positions [n[j - 1], n[j]) are those of heads j .. nh - 1 only. */
        for (int j = 0; j < b.nh; j++) {
            int nh = b.nh - j, np = score_pass[nh];
            uint32_t end = b.n[j];
            for (uint32_t p = j ? b.n[j - 1] : 0; p < end; p += (uint32_t)np) {
                int n = end - p < (uint32_t)np ? (int)(end - p) : np;
                for (int r = 0; r < n && h0 == 0 && j == 0; r++) {  /* once, in the first pass over the rows */
                    prefetch_row(v + (p + r) * kv_stride, d, cold);
                    if (p + r + ahead < end)
                        prefetch_row(k + (p + r + ahead) * kv_stride, d, cold);
                }
#if WIDE
                if (n >= 2) {
                    scores16_for[nh][n / 2](b.q + j, k, kv_stride, d, scale, b.sc + j, p);
                    if (n & 1)
                        scores_for[nh][1](b.q + j, k, kv_stride, d, scale, b.sc + j, p + (uint32_t)n - 1);
                } else
#endif
                    scores_for[nh][n](b.q + j, k, kv_stride, d, scale, b.sc + j, p);
                for (uint32_t i = 0, l = next_lines(next, next_bytes, pf_done, 8); i < l; i++, pf_done += 64)
                    _mm_prefetch((const char *)next + pf_done, _MM_HINT_T1);
            }
        }
    }
    for (int h = 0; h < heads; h++)
        softmax(scores + (size_t)h * sc_stride, n_kv + (uint32_t)(h / group));
    const int d8 = d & ~7;
    for (int h0 = 0; h0 < heads; h0 += HB) {
        block_at(&b, h0, heads, q, q_stride, out, out_stride, scores, sc_stride, n_kv, group, d);
        int nc = mix_pass[b.nh], i0 = 0;
#if WIDE
        for (const int d16 = d & ~15; i0 < d16;) {
            int n = (d16 - i0) / 16 < nc ? (d16 - i0) / 16 : nc;
            uint32_t lines = next_lines(next, next_bytes, pf_done, n_kv);
            mixes16_for[b.nh][n](v, kv_stride, b.n, i0, b.sc, b.out, lines ? (const char *)next + pf_done : NULL,
                                 lines);
            pf_done += 64 * (size_t)lines;
            i0 += 16 * n;
        }
#endif
        while (i0 < d8) {
            int n = (d8 - i0) / 8 < nc ? (d8 - i0) / 8 : nc;
            uint32_t lines = next_lines(next, next_bytes, pf_done, n_kv);
            mixes_for[b.nh][n](v, kv_stride, b.n, i0, b.sc, b.out, lines ? (const char *)next + pf_done : NULL, lines);
            pf_done += 64 * (size_t)lines;
            i0 += 8 * n;
        }
        if (d8 < d) {  /* the last d % 8 elements of each head */
            const int n = d - d8;
            for (int j = 0; j < b.nh; j++) {
                __m256 o = _mm256_setzero_ps();
                for (uint32_t p = 0; p < b.n[j]; p++)
                    o = _mm256_fmadd_ps(_mm256_set1_ps(b.sc[j][p]), load_f16_part(v + p * kv_stride + d8, n), o);
                _mm256_maskstore_ps(b.out[j] + d8, part_mask(n), o);
            }
        }
    }
}
