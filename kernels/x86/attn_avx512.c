/* Attention at the AVX-512 level. Decode and calls of few query rows take
 * the rows path (attn_rows_tmpl.c) compiled with AVX-512VL's 32 vector
 * registers, so that groups of two to four heads take four positions or
 * chunks a pass. Prefill calls of many rows (BN_ATTN_ROWS in lib/context.h)
 * take the cached rows in chunks of BN_ATTN_CHUNK positions converted to
 * floats once for all of them, into the kernel's scratch: the K rows in
 * pairs, so that one register holds two positions' dot8 lanes (as
 * score_heads16 builds them), the V rows as they are. The passes then load
 * and multiply-add only: six rows by four pairs of positions (scores),
 * four rows by all of a head's 16-float chunks of the output up to six, else
 * four at a time (mixing); the sums go back to memory between chunks of
 * positions, which changes no result. The order of every
 * multiply-add and sum is the canonical one (kernels.h), so both paths
 * agree with the scalar reference bit for bit. */
#include <immintrin.h>

#include "x86/attn_qrows.h"
#include "x86/kernels_x86.h"

void bn_attn_rows_avx512(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                         size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores,
                         size_t sc_stride, float *row, float *out, size_t out_stride, int cold, const void *next,
                         size_t next_bytes);

#define BN_ATTN_FN bn_attn_rows_avx512
#define WIDE 1
#include "attn_rows_tmpl.c"

/* Query rows a call from which prefill (two tokens or more) takes the
 * chunked path: below, converting the chunks costs more than it saves (an
 * attention harness over 1024 positions, chunked against the passes: 0.96x
 * at 16 rows of groups of four, 1.01x at 24, 1.06x at 32; 1.03x, 1.11x,
 * 1.12x for rows of single heads). */
#define MIN_ROWS 24

/* Rows of queries by pairs of positions a score pass, rows by 16-float
 * chunks of the output a mixing pass. */
#define SR 6
#define SP 4
#define MR 4
#define MC 6

/* Lanes [0, n) of a 16-lane mask, n clamped to [0, 16]. */
ALWAYS_INLINE __mmask16 first_lanes(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
}

/* The np K rows from position c0 as floats in pairs: pair m holds, for
 * each block of 8 elements i0 .. i0 + 7, those of position c0 + 2m and then
 * those of c0 + 2m + 1 (16 floats, at kp + 2 d8 m + 2 i0): one register
 * holds two positions' dot8 lanes. Elements past d and the second row of a
 * last pair past np are zeros. Exact conversions. */
static void convert_k(const uint16_t *k, size_t kv_stride, int64_t c0, int np, int d, int d8, float *kp)
{
    for (int p = 0; p < np; p += 2)
        for (int i0 = 0; i0 < d8; i0 += 8) {
            __mmask8 m = (__mmask8)first_lanes(d - i0);
            const uint16_t *row = k + (size_t)(c0 + p) * kv_stride + i0;
            __m128i lo = _mm_maskz_loadu_epi16(m, row);
            __m128i hi = p + 1 < np ? _mm_maskz_loadu_epi16(m, row + kv_stride) : _mm_setzero_si128();
            _mm512_storeu_ps(kp + (size_t)d8 * p + 2 * i0,
                             _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1)));
        }
}

/* The np V rows from position c0 as floats, d16 apart (d16 = d rounded up
 * to 16, zeros past d). */
static void convert_v(const uint16_t *v, size_t kv_stride, int64_t c0, int np, int d, int d16, float *vf)
{
    for (int p = 0; p < np; p++)
        for (int i0 = 0; i0 < d16; i0 += 16)
            _mm512_storeu_ps(vf + (size_t)p * d16 + i0,
                             _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(d - i0), v + (size_t)(c0 + p) * kv_stride + i0)));
}

/* Scores of rows r0 .. r0 + nr - 1 against the npr pairs of positions from
 * pair m0 of kp (position p): acc[s][m] is dot8 of row s with both
 * positions of pair m, lane for lane (a lane past d adds q 0 = 0, which
 * leaves it as it is), folded as combine8 two rows at a time (scores16,
 * attn_rows_tmpl.c) and stored up to each row's last position. */
ALWAYS_INLINE void score_block(const qrows *a, int r0, int nr, const float *kp, int d8, int m0, int npr, int64_t p,
                               float scale)
{
    const int d = a->d;
    __m512 acc[SR][SP];
    for (int s = 0; s < nr; s++)
        for (int m = 0; m < npr; m++)
            acc[s][m] = _mm512_setzero_ps();
    const float *kb = kp + (size_t)2 * d8 * m0;
    int i0 = 0;
    for (; i0 + 8 <= d; i0 += 8) {
        __m512 kv[SP];
        for (int m = 0; m < npr; m++)
            kv[m] = _mm512_loadu_ps(kb + (size_t)2 * d8 * m + 2 * i0);
        for (int s = 0; s < nr; s++) {
            __m512 qv = bcast8(a->q[r0 + s] + i0);
            for (int m = 0; m < npr; m++)
                acc[s][m] = _mm512_fmadd_ps(qv, kv[m], acc[s][m]);
        }
    }
    if (i0 < d) {  /* the last d % 8 elements, zeros above */
        for (int s = 0; s < nr; s++) {
            __m256 q8 = _mm256_maskz_loadu_ps((__mmask8)first_lanes(d - i0), a->q[r0 + s] + i0);
            __m512 qv = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(q8)));
            for (int m = 0; m < npr; m++)
                acc[s][m] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kb + (size_t)2 * d8 * m + 2 * i0), acc[s][m]);
        }
    }
    for (int s0 = 0; s0 < nr; s0 += 2) {
        /* rows s0 and s0 + 1, pairs 0 .. SP - 1 (zeros where absent) */
        __m512 x[8];
        for (int j = 0; j < 8; j++) {
            int s = s0 + j / SP, m = j % SP;
            x[j] = s < nr && m < npr ? acc[s][m] : _mm512_setzero_ps();
        }
        __m512 f = scores16(x, scale);
        /* lanes 0..7: row s0's positions p .. p + 7, 8..15: row s0 + 1's */
        _mm512_mask_storeu_ps(a->sc[r0 + s0] + p, first_lanes(a->n[r0 + s0] - p) & first_lanes(2 * npr), f);
        if (s0 + 1 < nr)
            _mm512_mask_storeu_ps(a->sc[r0 + s0 + 1] + p, first_lanes(a->n[r0 + s0 + 1] - p) & first_lanes(2 * npr),
                                  _mm512_shuffle_f32x4(f, f, 0x4e));
    }
}

/* Output chunks [c, c + nc) (16 floats each) of rows r0 .. r0 + nr - 1 over
 * the positions [c0, c0 + np) that each attends to, from vf: out starts at
 * 0 in the first chunk of positions and takes fmaf(s[p], V_p[i], out) in
 * order of p. */
ALWAYS_INLINE void mix_block(const qrows *a, int r0, int nr, int c, int nc, const float *vf, int d16, int64_t c0,
                             int np)
{
    const int d = a->d;
    __m512 o[MR][MC];
    const float *sc[MR];
    float *out[MR];
    int64_t end[MR];
    for (int s = 0; s < nr; s++) {
        sc[s] = a->sc[r0 + s];
        out[s] = a->out[r0 + s];
        int64_t n = a->n[r0 + s];
        end[s] = n < c0 + np ? n : c0 + np;
        for (int j = 0; j < nc; j++)
            o[s][j] = c0 ? _mm512_maskz_loadu_ps(first_lanes(d - 16 * (c + j)), out[s] + 16 * (c + j))
                         : _mm512_setzero_ps();
    }
    /* rows in token order: end[] never decreases */
    for (int64_t p = c0; p < end[0]; p++) {
        const float *vp = vf + (size_t)(p - c0) * d16 + 16 * c;
        __m512 vv[MC];
        for (int j = 0; j < nc; j++)
            vv[j] = _mm512_loadu_ps(vp + 16 * j);
        for (int s = 0; s < nr; s++) {
            __m512 w = _mm512_set1_ps(sc[s][p]);
            for (int j = 0; j < nc; j++)
                o[s][j] = _mm512_fmadd_ps(w, vv[j], o[s][j]);
        }
    }
    for (int64_t p = end[0] > c0 ? end[0] : c0; p < end[nr - 1]; p++) {
        const float *vp = vf + (size_t)(p - c0) * d16 + 16 * c;
        for (int s = 1; s < nr; s++)
            if (p < end[s]) {
                __m512 w = _mm512_set1_ps(sc[s][p]);
                for (int j = 0; j < nc; j++)
                    o[s][j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(vp + 16 * j), o[s][j]);
            }
    }
    for (int s = 0; s < nr; s++)
        for (int j = 0; j < nc; j++)
            _mm512_mask_storeu_ps(out[s] + 16 * (c + j), first_lanes(d - 16 * (c + j)), o[s][j]);
}

/* Variants with the pass sizes as constants, so that the accumulators stay
 * in registers. */
#define CSCORE(NR, NP)                                                                                   \
    static void cscore_##NR##_##NP(const qrows *a, int r0, const float *kp, int d8, int m0, int64_t p,   \
                                   float scale)                                                          \
    {                                                                                                    \
        score_block(a, r0, NR, kp, d8, m0, NP, p, scale);                                                \
    }
CSCORE(1, 1) CSCORE(1, 2) CSCORE(1, 3) CSCORE(1, 4) CSCORE(2, 1) CSCORE(2, 2) CSCORE(2, 3) CSCORE(2, 4)
CSCORE(3, 1) CSCORE(3, 2) CSCORE(3, 3) CSCORE(3, 4) CSCORE(4, 1) CSCORE(4, 2) CSCORE(4, 3) CSCORE(4, 4)
CSCORE(5, 1) CSCORE(5, 2) CSCORE(5, 3) CSCORE(5, 4) CSCORE(6, 1) CSCORE(6, 2) CSCORE(6, 3) CSCORE(6, 4)

typedef void score_fn16(const qrows *a, int r0, const float *kp, int d8, int m0, int64_t p, float scale);
static score_fn16 *const cscores[SR + 1][SP + 1] = {
    { NULL },
    { NULL, cscore_1_1, cscore_1_2, cscore_1_3, cscore_1_4 },
    { NULL, cscore_2_1, cscore_2_2, cscore_2_3, cscore_2_4 },
    { NULL, cscore_3_1, cscore_3_2, cscore_3_3, cscore_3_4 },
    { NULL, cscore_4_1, cscore_4_2, cscore_4_3, cscore_4_4 },
    { NULL, cscore_5_1, cscore_5_2, cscore_5_3, cscore_5_4 },
    { NULL, cscore_6_1, cscore_6_2, cscore_6_3, cscore_6_4 },
};

#define CMIX(NR, NC)                                                                                          \
    static void cmix_##NR##_##NC(const qrows *a, int r0, int c, const float *vf, int d16, int64_t c0, int np) \
    {                                                                                                        \
        mix_block(a, r0, NR, c, NC, vf, d16, c0, np);                                                        \
    }
CMIX(1, 1) CMIX(1, 2) CMIX(1, 3) CMIX(1, 4) CMIX(1, 5) CMIX(1, 6) CMIX(2, 1) CMIX(2, 2) CMIX(2, 3) CMIX(2, 4)
CMIX(2, 5) CMIX(2, 6) CMIX(3, 1) CMIX(3, 2) CMIX(3, 3) CMIX(3, 4) CMIX(3, 5) CMIX(3, 6) CMIX(4, 1) CMIX(4, 2)
CMIX(4, 3) CMIX(4, 4) CMIX(4, 5) CMIX(4, 6)

typedef void mix_fn16(const qrows *a, int r0, int c, const float *vf, int d16, int64_t c0, int np);
static mix_fn16 *const mixes[MR + 1][MC + 1] = {
    { NULL },
    { NULL, cmix_1_1, cmix_1_2, cmix_1_3, cmix_1_4, cmix_1_5, cmix_1_6 },
    { NULL, cmix_2_1, cmix_2_2, cmix_2_3, cmix_2_4, cmix_2_5, cmix_2_6 },
    { NULL, cmix_3_1, cmix_3_2, cmix_3_3, cmix_3_4, cmix_3_5, cmix_3_6 },
    { NULL, cmix_4_1, cmix_4_2, cmix_4_3, cmix_4_4, cmix_4_5, cmix_4_6 },
};

static void attn_chunked(const qrows *a, int rows, const uint16_t *k, const uint16_t *v, size_t kv_stride,
                         float scale, float *buf)
{
    const int d = a->d, d8 = (d + 7) & ~7, d16 = (d + 15) & ~15;
    const int64_t n_max = a->n[rows - 1];
    for (int64_t c0 = 0; c0 < n_max; c0 += BN_ATTN_CHUNK) {
        int np = n_max - c0 < BN_ATTN_CHUNK ? (int)(n_max - c0) : BN_ATTN_CHUNK;
        convert_k(k, kv_stride, c0, np, d, d8, buf);
        for (int pc = 0; pc < np; pc += 2 * SP) {
            int npr = (np - pc + 1) / 2 < SP ? (np - pc + 1) / 2 : SP;
            for (int r0 = 0; r0 < rows; r0 += SR) {
                int nr = rows - r0 < SR ? rows - r0 : SR;
                if (a->n[r0 + nr - 1] <= c0 + pc)
                    continue;  /* none of these rows attends so far */
                cscores[nr][npr](a, r0, buf, d8, pc / 2, c0 + pc, scale);
            }
        }
    }
    for (int r = 0; r < rows; r++)
        softmax(a->sc[r], (uint32_t)a->n[r]);
    for (int64_t c0 = 0; c0 < n_max; c0 += BN_ATTN_CHUNK) {
        int np = n_max - c0 < BN_ATTN_CHUNK ? (int)(n_max - c0) : BN_ATTN_CHUNK;
        convert_v(v, kv_stride, c0, np, d, d16, buf);
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int nr = rows - r0 < MR ? rows - r0 : MR;
            if (a->n[r0 + nr - 1] <= c0)
                continue;
            const int chunks = d16 / 16, pass = chunks <= MC ? chunks : 4;  /* 96 = 6 x 16, 128 = 2 x 4 x 16 */
            for (int c = 0; c < chunks; c += pass) {
                int nc = chunks - c < pass ? chunks - c : pass;
                mixes[nr][nc](a, r0, c, buf, d16, c0, np);
            }
        }
    }
}

void bn_attn_avx512(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                    size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                    float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes)
{
    if (n_tok < 2 || (int64_t)n_tok * group < MIN_ROWS || group > MAX_ROWS) {
        bn_attn_rows_avx512(q, q_stride, n_tok, k, v, kv_stride, n_kv, group, d, scale, scores, sc_stride, row, out,
                            out_stride, cold, next, next_bytes);
        return;
    }
    bn_attn_by_rows(q, q_stride, n_tok, k, v, kv_stride, n_kv, group, d, scale, scores, sc_stride, row, out,
                    out_stride, attn_chunked);
}
