/* Attention at the AVX2 level. Decode and calls of few query rows take the
 * rows path (attn_rows_tmpl.c), which converts each cached row as it uses
 * it. Prefill calls of many rows (BN_ATTN_ROWS in lib/context.h) take the
 * cached rows in chunks of BN_ATTN_CHUNK positions converted to floats once
 * for all of them, into the kernel's scratch, as attn_avx512.c does with
 * twice the width: the passes then load and multiply-add only. One register
 * holds one position's dot8 lanes (scores) or eight output elements
 * (mixing), in the canonical order of every multiply-add and sum
 * (kernels.h), so both paths agree with the scalar reference bit for bit. */
#include <immintrin.h>

#include "x86/attn_qrows.h"
#include "x86/kernels_x86.h"

void bn_attn_rows_avx2(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                       size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores,
                       size_t sc_stride, float *row, float *out, size_t out_stride, int cold, const void *next,
                       size_t next_bytes);

#define BN_ATTN_FN bn_attn_rows_avx2
#define WIDE 0
#include "attn_rows_tmpl.c"

/* Query rows a call from which prefill (two tokens or more) takes the
 * chunked path (an attention harness over 1024 positions, chunked against
 * the rows path: 0.99x at 12 rows of groups of four, 1.02x at 16, 1.14x at
 * 24; 1.03x, 1.09x, 1.16x for rows of single heads). */
#define MIN_ROWS 16

/* Rows of queries by positions a score pass, rows by 8-float chunks of the
 * output a mixing pass: twelve independent chains in the 16 registers
 * (eight, as the rows path keeps, ran no faster than it). SP must be 4: a
 * fold of eight dot8s takes two rows' four positions. */
#define SR 3
#define SP 4
#define MR 3
#define MC 4

/* The np cached rows from position c0 as floats, d8 apart (d8 = d rounded
 * up to 8, zeros past d). Exact conversions. */
static void convert_rows(const uint16_t *k, size_t kv_stride, int64_t c0, int np, int d, int d8, float *f)
{
    const int full = d & ~7;
    for (int p = 0; p < np; p++) {
        const uint16_t *row = k + (size_t)(c0 + p) * kv_stride;
        float *fp = f + (size_t)p * d8;
        for (int i0 = 0; i0 < full; i0 += 8)
            _mm256_storeu_ps(fp + i0, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + i0))));
        if (full < d)
            _mm256_storeu_ps(fp + full, load_f16_part(row + full, d - full));
    }
}

/* The eight floats of a head's row x from element i0, zeros past d. */
ALWAYS_INLINE __m256 load_head8(const float *x, int i0, int d)
{
    return i0 + 8 <= d ? _mm256_loadu_ps(x + i0) : _mm256_maskload_ps(x + i0, part_mask(d - i0));
}

/* The first n of the four scores in h into dst (all four with a plain
 * store: a masked store took several times as long on Zen 3, and a score
 * pass made three of them; 1.09-1.18x for the whole kernel). */
ALWAYS_INLINE void store_upto4(float *dst, __m128 h, int64_t n)
{
    if (n >= 4)
        _mm_storeu_ps(dst, h);
    else
        _mm_maskstore_ps(dst, _mm256_castsi256_si128(part_mask(n > 0 ? (int)n : 0)), h);
}

/* Scores of rows r0 .. r0 + nr - 1 against the np positions p .. p + np - 1
 * whose floats start at kf: acc[s][m] is dot8 of row s with position p + m
 * (lanes past d add q 0 times K 0, which leaves them as they are), folded
 * as combine8 two rows at a time (scores8, attn_rows_tmpl.c) and stored up
 * to each row's last position. */
ALWAYS_INLINE void score_block(const qrows *a, int r0, int nr, const float *kf, int d8, int np, int64_t p, float scale)
{
    const int d = a->d;
    __m256 acc[SR][SP];
    for (int s = 0; s < nr; s++)
        for (int m = 0; m < np; m++)
            acc[s][m] = _mm256_setzero_ps();
    int i0 = 0;
    for (; i0 + 8 <= d; i0 += 8) {
        __m256 kv[SP];
        for (int m = 0; m < np; m++)
            kv[m] = _mm256_loadu_ps(kf + (size_t)d8 * m + i0);
        for (int s = 0; s < nr; s++) {
            __m256 qv = _mm256_loadu_ps(a->q[r0 + s] + i0);
            for (int m = 0; m < np; m++)
                acc[s][m] = _mm256_fmadd_ps(qv, kv[m], acc[s][m]);
        }
    }
    if (i0 < d)  /* the last d % 8 elements, zeros above */
        for (int s = 0; s < nr; s++) {
            __m256 qv = _mm256_maskload_ps(a->q[r0 + s] + i0, part_mask(d - i0));
            for (int m = 0; m < np; m++)
                acc[s][m] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kf + (size_t)d8 * m + i0), acc[s][m]);
        }
    for (int s0 = 0; s0 < nr; s0 += 2) {
        /* rows s0 and s0 + 1, positions 0 .. SP - 1 (zeros where absent) */
        __m256 x[8];
        for (int j = 0; j < 8; j++) {
            int s = s0 + j / SP, m = j % SP;
            x[j] = s < nr && m < np ? acc[s][m] : _mm256_setzero_ps();
        }
        /* lanes 0 .. SP - 1: row s0's positions from p, the next SP: row s0 + 1's */
        __m256 f = scores8(x, scale);
        for (int s = s0; s < s0 + 2 && s < nr; s++) {
            int64_t left = a->n[r0 + s] - p;
            store_upto4(a->sc[r0 + s] + p, s > s0 ? _mm256_extractf128_ps(f, 1) : _mm256_castps256_ps128(f),
                        left < np ? left : np);
        }
    }
}

/* Output chunks [c, c + nc) (8 floats each) of rows r0 .. r0 + nr - 1 over
 * the positions [c0, c0 + np) that each attends to, from vf: out starts at
 * 0 in the first chunk of positions and takes fmaf(s[p], V_p[i], out) in
 * order of p. */
ALWAYS_INLINE void mix_block(const qrows *a, int r0, int nr, int c, int nc, const float *vf, int d8, int64_t c0,
                             int np)
{
    const int d = a->d;
    __m256 o[MR][MC];
    const float *sc[MR];
    float *out[MR];
    int64_t end[MR];
    for (int s = 0; s < nr; s++) {
        sc[s] = a->sc[r0 + s];
        out[s] = a->out[r0 + s];
        int64_t n = a->n[r0 + s];
        end[s] = n < c0 + np ? n : c0 + np;
        for (int j = 0; j < nc; j++)
            o[s][j] = c0 ? load_head8(out[s], 8 * (c + j), d) : _mm256_setzero_ps();
    }
    /* rows in token order: end[] never decreases */
    for (int64_t p = c0; p < end[0]; p++) {
        const float *vp = vf + (size_t)(p - c0) * d8 + 8 * c;
        __m256 vv[MC];
        for (int j = 0; j < nc; j++)
            vv[j] = _mm256_loadu_ps(vp + 8 * j);
        for (int s = 0; s < nr; s++) {
            __m256 w = _mm256_set1_ps(sc[s][p]);
            for (int j = 0; j < nc; j++)
                o[s][j] = _mm256_fmadd_ps(w, vv[j], o[s][j]);
        }
    }
    for (int64_t p = end[0] > c0 ? end[0] : c0; p < end[nr - 1]; p++) {
        const float *vp = vf + (size_t)(p - c0) * d8 + 8 * c;
        for (int s = 1; s < nr; s++)
            if (p < end[s]) {
                __m256 w = _mm256_set1_ps(sc[s][p]);
                for (int j = 0; j < nc; j++)
                    o[s][j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vp + 8 * j), o[s][j]);
            }
    }
    for (int s = 0; s < nr; s++)
        for (int j = 0; j < nc; j++) {
            int i0 = 8 * (c + j);
            if (i0 + 8 <= d)
                _mm256_storeu_ps(out[s] + i0, o[s][j]);
            else
                _mm256_maskstore_ps(out[s] + i0, part_mask(d - i0), o[s][j]);
        }
}

/* Variants with the pass sizes as constants, so that the accumulators stay
 * in registers. */
#define CSCORE(NR, NP)                                                                                   \
    static void cscore_##NR##_##NP(const qrows *a, int r0, const float *kf, int d8, int64_t p, float scale) \
    {                                                                                                    \
        score_block(a, r0, NR, kf, d8, NP, p, scale);                                                    \
    }
CSCORE(1, 1) CSCORE(1, 2) CSCORE(1, 3) CSCORE(1, 4) CSCORE(2, 1) CSCORE(2, 2) CSCORE(2, 3) CSCORE(2, 4)
CSCORE(3, 1) CSCORE(3, 2) CSCORE(3, 3)

/* The pass nearly every call of a prefill makes (three rows by four
 * positions) written out with its twelve chains as named variables, which
 * keeps them in registers from the loop to the fold (score_block's array
 * went to the stack and back). */
static void cscore_3_4(const qrows *a, int r0, const float *kf, int d8, int64_t p, float scale)
{
    const int d = a->d;
    if (d % 8) {
        score_block(a, r0, 3, kf, d8, 4, p, scale);
        return;
    }
    const float *q0 = a->q[r0], *q1 = a->q[r0 + 1], *q2 = a->q[r0 + 2];
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    for (int i0 = 0; i0 < d; i0 += 8) {
        const float *k = kf + i0;
        __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + d8), k2 = _mm256_loadu_ps(k + 2 * (size_t)d8),
               k3 = _mm256_loadu_ps(k + 3 * (size_t)d8);
        __m256 v = _mm256_loadu_ps(q0 + i0);
        c00 = _mm256_fmadd_ps(v, k0, c00);
        c01 = _mm256_fmadd_ps(v, k1, c01);
        c02 = _mm256_fmadd_ps(v, k2, c02);
        c03 = _mm256_fmadd_ps(v, k3, c03);
        v = _mm256_loadu_ps(q1 + i0);
        c10 = _mm256_fmadd_ps(v, k0, c10);
        c11 = _mm256_fmadd_ps(v, k1, c11);
        c12 = _mm256_fmadd_ps(v, k2, c12);
        c13 = _mm256_fmadd_ps(v, k3, c13);
        v = _mm256_loadu_ps(q2 + i0);
        c20 = _mm256_fmadd_ps(v, k0, c20);
        c21 = _mm256_fmadd_ps(v, k1, c21);
        c22 = _mm256_fmadd_ps(v, k2, c22);
        c23 = _mm256_fmadd_ps(v, k3, c23);
    }
    const __m256 z = _mm256_setzero_ps();
    const __m256 x2[8] = { c20, c21, c22, c23, z, z, z, z };
    store_upto4(a->sc[r0 + 2] + p, _mm256_castps256_ps128(scores8(x2, scale)), a->n[r0 + 2] - p);
    const __m256 x01[8] = { c00, c01, c02, c03, c10, c11, c12, c13 };
    __m256 f = scores8(x01, scale);
    store_upto4(a->sc[r0] + p, _mm256_castps256_ps128(f), a->n[r0] - p);
    store_upto4(a->sc[r0 + 1] + p, _mm256_extractf128_ps(f, 1), a->n[r0 + 1] - p);
}

typedef void cscore_fn(const qrows *a, int r0, const float *kf, int d8, int64_t p, float scale);
static cscore_fn *const cscores[SR + 1][SP + 1] = {
    { NULL },
    { NULL, cscore_1_1, cscore_1_2, cscore_1_3, cscore_1_4 },
    { NULL, cscore_2_1, cscore_2_2, cscore_2_3, cscore_2_4 },
    { NULL, cscore_3_1, cscore_3_2, cscore_3_3, cscore_3_4 },
};

#define CMIX(NR, NC)                                                                                         \
    static void cmix_##NR##_##NC(const qrows *a, int r0, int c, const float *vf, int d8, int64_t c0, int np) \
    {                                                                                                        \
        mix_block(a, r0, NR, c, NC, vf, d8, c0, np);                                                         \
    }
CMIX(1, 1) CMIX(1, 2) CMIX(1, 3) CMIX(1, 4) CMIX(2, 1) CMIX(2, 2) CMIX(2, 3) CMIX(2, 4) CMIX(3, 1) CMIX(3, 2)
CMIX(3, 3) CMIX(3, 4)

typedef void cmix_fn(const qrows *a, int r0, int c, const float *vf, int d8, int64_t c0, int np);
static cmix_fn *const cmixes[MR + 1][MC + 1] = {
    { NULL }, { NULL, cmix_1_1, cmix_1_2, cmix_1_3, cmix_1_4 }, { NULL, cmix_2_1, cmix_2_2, cmix_2_3, cmix_2_4 },
    { NULL, cmix_3_1, cmix_3_2, cmix_3_3, cmix_3_4 },
};

static void attn_chunked(const qrows *a, int rows, const uint16_t *k, const uint16_t *v, size_t kv_stride,
                         float scale, float *buf)
{
    const int d = a->d, d8 = (d + 7) & ~7;
    const int64_t n_max = a->n[rows - 1];
    for (int64_t c0 = 0; c0 < n_max; c0 += BN_ATTN_CHUNK) {
        int np = n_max - c0 < BN_ATTN_CHUNK ? (int)(n_max - c0) : BN_ATTN_CHUNK;
        convert_rows(k, kv_stride, c0, np, d, d8, buf);
        for (int pc = 0; pc < np; pc += SP) {
            int npp = np - pc < SP ? np - pc : SP;
            for (int r0 = 0; r0 < rows; r0 += SR) {
                int nr = rows - r0 < SR ? rows - r0 : SR;
                if (a->n[r0 + nr - 1] <= c0 + pc)
                    continue;  /* none of these rows attends so far */
                cscores[nr][npp](a, r0, buf + (size_t)d8 * pc, d8, c0 + pc, scale);
            }
        }
    }
    for (int r = 0; r < rows; r++)
        softmax(a->sc[r], (uint32_t)a->n[r]);
    for (int64_t c0 = 0; c0 < n_max; c0 += BN_ATTN_CHUNK) {
        int np = n_max - c0 < BN_ATTN_CHUNK ? (int)(n_max - c0) : BN_ATTN_CHUNK;
        convert_rows(v, kv_stride, c0, np, d, d8, buf);
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int nr = rows - r0 < MR ? rows - r0 : MR;
            if (a->n[r0 + nr - 1] <= c0)
                continue;
            for (int c = 0; c < d8 / 8; c += MC) {
                int nc = d8 / 8 - c < MC ? d8 / 8 - c : MC;
                cmixes[nr][nc](a, r0, c, buf, d8, c0, np);
            }
        }
    }
}

void bn_attn_avx2(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                  size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                  float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes)
{
    if (n_tok < 2 || (int64_t)n_tok * group < MIN_ROWS || group > MAX_ROWS) {
        bn_attn_rows_avx2(q, q_stride, n_tok, k, v, kv_stride, n_kv, group, d, scale, scores, sc_stride, row, out,
                          out_stride, cold, next, next_bytes);
        return;
    }
    bn_attn_by_rows(q, q_stride, n_tok, k, v, kv_stride, n_kv, group, d, scale, scores, sc_stride, row, out,
                    out_stride, attn_chunked);
}
