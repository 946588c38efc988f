/* AMX-INT8 ternary GEMM for prefill (bn_tmat in kernels.h), in the prefetching
 * AVX-512 build where the CPU has AMX (bn_cpu_has_amx, cpu.h).
 *
 * One TDPBSUD multiplies a tile of 16 tokens x 64 signed activations by a
 * tile of 64 unsigned codes x 16 weight rows into 16 x 16 int32 sums, 16384
 * products where vpdpbusd makes 64. The activations go in as they lie in q
 * (16 rows of 64 bytes, stride cols) or, faster, from the copy in tiles
 * that the model makes as it quantizes them (bn_tile_act, one contiguous
 * KiB a tile: bn_tgemm_amx_tiled); the codes must be in the B tile's
 * layout, row kk holding for each weight row the four codes of k = 4kk ..
 * 4kk + 3. In the kernels' layout dword m of a row's 32-byte block holds,
 * in field f (shift 6 - 2f), the codes of k = 32f + 4m .. 32f + 4m + 3:
 * so transposing 16 rows x 8 dwords of packed codes gives, per dword m, a
 * register whose four fields are B rows m and 8 + m of the block's first
 * 64 codes (fields 0, 1) and of its last 64 (fields 2, 3). The transpose
 * leaves the weight rows in an order of its own (ROW_OF), which the
 * epilogue undoes.
 *
 * As in vpdpbusd, isum = sum(code * q) - sum(q), and the int32 sums wrap as
 * the scalar int32 arithmetic does, so the result is exact for any input. */
#include <immintrin.h>
#include <string.h>

#include "x86/kernels_x86.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* GCC 12's tile intrinsics hand the compiler only the address:
 * it is not told that _tile_loadd reads the memory there, nor that
 * _tile_loadconfig reads all 64 bytes, so it may keep the stores that fill
 * them in registers, move them past the load, or drop them. This orders
 * every store before the next tile instruction. */
#define STORES_DONE() __asm__ volatile("" ::: "memory")

/* One token goes to the AVX-512 decode kernel. Even two tokens ran faster
 * here than in the VNNI tiles (a harness over 2B-4T's matrices from memory:
 * 1.3x at 2 tokens, 1.4x at 4 and 8, 1.7x at 12). */
#define MIN_TOKENS 2

/* The tiles: C[i][j] = A[i] x B[j], tokens 16i .., rows 16j .. of a
 * 32 x 32 block. Macros, not an enum: the intrinsics paste the numbers into
 * register names. */
#define C00 0
#define C01 1
#define C10 2
#define C11 3
#define A0 4
#define A1 5
#define B0 6
#define B1 7

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Every tile has 64-byte rows; A and C tiles have as many rows as tokens
 * (n0 for A0, C00, C01; n1 for A1, C10, C11: 0 when unused), B tiles 16. */
static void configure(tile_config *tc, int n0, int n1)
{
    memset(tc, 0, sizeof *tc);
    tc->palette = 1;
    for (int t = C00; t <= B1; t++)
        tc->colsb[t] = 64;
    tc->rows[A0] = tc->rows[C00] = tc->rows[C01] = (uint8_t)n0;
    tc->rows[A1] = tc->rows[C10] = tc->rows[C11] = (uint8_t)(n1 > 0 ? n1 : 1);
    tc->rows[B0] = tc->rows[B1] = 16;
    STORES_DONE();
    _tile_loadconfig(tc);
}

/* Block b of the 16 rows of four groups (ng of them present, the rest zero)
 * as two B tiles: out[0] its first 64 codes, out[1] its last 64, 1 KiB each. */
ALWAYS_INLINE void pack_b(const uint8_t *g, int64_t cols, int64_t b, int ng, uint8_t *out)
{
    __m512i x[8];
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = g + i * cols + 128 * b;
        x[2 * i] = i < ng ? _mm512_loadu_si512(p) : _mm512_setzero_si512();
        x[2 * i + 1] = i < ng ? _mm512_loadu_si512(p + 64) : _mm512_setzero_si512();
    }
    /* x[p]: rows 2p and 2p + 1, eight dwords each. Within 128-bit lanes, a
     * 4 x 4 transpose of x[0..3] and of x[4..7]; u[e] lane L then holds dword
     * e (L even) or 4 + e (L odd) of rows 0, 2, 4, 6 (L < 2) or 1, 3, 5, 7. */
    __m512i u[2][4];
    for (int h = 0; h < 2; h++) {
        __m512i *y = x + 4 * h;
        __m512i t0 = _mm512_unpacklo_epi32(y[0], y[1]), t1 = _mm512_unpackhi_epi32(y[0], y[1]);
        __m512i t2 = _mm512_unpacklo_epi32(y[2], y[3]), t3 = _mm512_unpackhi_epi32(y[2], y[3]);
        u[h][0] = _mm512_unpacklo_epi64(t0, t2);
        u[h][1] = _mm512_unpackhi_epi64(t0, t2);
        u[h][2] = _mm512_unpacklo_epi64(t1, t3);
        u[h][3] = _mm512_unpackhi_epi64(t1, t3);
    }
    const __m512i m3 = _mm512_set1_epi8(3);
    for (int e = 0; e < 4; e++) {
        /* dword e and 4 + e of all 16 rows, in ROW_OF order */
        __m512i d[2] = { _mm512_shuffle_i32x4(u[0][e], u[1][e], 0x88), _mm512_shuffle_i32x4(u[0][e], u[1][e], 0xdd) };
        for (int s = 0; s < 2; s++) {
            int m = e + 4 * s;
            __m512i v = d[s];
            _mm512_storeu_si512(out + 64 * m, _mm512_and_si512(_mm512_srli_epi16(v, 6), m3));
            _mm512_storeu_si512(out + 64 * (8 + m), _mm512_and_si512(_mm512_srli_epi16(v, 4), m3));
            _mm512_storeu_si512(out + 1024 + 64 * m, _mm512_and_si512(_mm512_srli_epi16(v, 2), m3));
            _mm512_storeu_si512(out + 1024 + 64 * (8 + m), _mm512_and_si512(v, m3));
        }
    }
}

/* y for n tokens of 16 rows from their sums (C tile rows, ROW_OF order):
 * the scalar code's subtraction, division and product, rows [lo, hi) of
 * the 16 stored. */
ALWAYS_INLINE void store_rows16(const int32_t *c, int n, const int32_t *act_sum, const float *act_scale,
                                float w_scale, float *y, int64_t ldy, __mmask16 keep)
{
    /* B column n holds row 8 (n & 8) / 8 + (n & 4) / 4 + 2 (n & 3); lane r
     * of the result takes column 8 (r / 8) + 4 (r & 1) + (r & 7) / 2. */
    const __m512i back = _mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
    const __m512 ws = _mm512_set1_ps(w_scale);
    for (int t = 0; t < n; t++) {
        __m512i s = _mm512_permutexvar_epi32(back, _mm512_loadu_si512(c + 16 * t));
        __m512 f = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s, _mm512_set1_epi32(act_sum[t]))),
                                 _mm512_set1_ps(act_scale[t]));
        _mm512_mask_storeu_ps(y + t * ldy, keep, _mm512_mul_ps(f, ws));
    }
}

/* Where the A tiles of a 32-token tile lie: A0 of block b, half h at
 * first + b * step_b + h * step_h, rows `stride` apart, A1 `a1` further. */
typedef struct act_tiles {
    const int8_t *first;
    int64_t step_b, step_h, a1, stride;
} act_tiles;

/* Tokens t0 .. of q as rows (cols bytes apart) or as bn_tile_act tiles. */
static act_tiles act_at(const int8_t *q, const int8_t *qt, int64_t cols, int64_t t0)
{
    if (qt)
        return (act_tiles){ qt + t0 / 16 * (cols / 64) * 1024, 2048, 1024, cols / 64 * 1024, 64 };
    return (act_tiles){ q + t0 * cols, 128, 64, 16 * cols, cols };
}

/* Tokens [t0, t0 + nt) (nt <= 32) by the ng groups (ng <= 8) at g, while
 * the codes of the n_next groups at next are prefetched a block a step. */
ALWAYS_INLINE void block(const bn_tmat *w, const uint8_t *g, int ng, act_tiles a, int nt, uint8_t (*bt)[2048],
                         const uint8_t *next, int n_next)
{
    const int64_t cols = w->cols, nblk = cols / 128;
    _tile_zero(C00);
    _tile_zero(C01);
    _tile_zero(C10);
    _tile_zero(C11);
    for (int64_t b = 0; b < nblk; b++) {
        for (int i = 0; i < n_next; i++) {
            _mm_prefetch((const char *)next + i * cols + 128 * b, _MM_HINT_T0);
            _mm_prefetch((const char *)next + i * cols + 128 * b + 64, _MM_HINT_T0);
        }
        pack_b(g, cols, b, ng, bt[0]);
        if (ng > 4)
            pack_b(g + 4 * cols, cols, b, ng - 4, bt[1]);
        STORES_DONE();
        for (int h = 0; h < 2; h++) {
            const int8_t *qk = a.first + a.step_b * b + a.step_h * h;
            _tile_loadd(A0, qk, a.stride);
            _tile_loadd(B0, bt[0] + 1024 * h, 64);
            _tile_dpbsud(C00, A0, B0);
            if (nt > 16) {
                _tile_loadd(A1, qk + a.a1, a.stride);
                _tile_dpbsud(C10, A1, B0);
            }
            if (ng > 4) {
                _tile_loadd(B1, bt[1] + 1024 * h, 64);
                _tile_dpbsud(C01, A0, B1);
                if (nt > 16)
                    _tile_dpbsud(C11, A1, B1);
            }
        }
    }
}

static void tgemm(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const int8_t *qt, const float *act_scale,
                  const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    if (n_tok < MIN_TOKENS) {
        bn_tgemm_avx512_prefetch(w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy);
        return;
    }
    const int64_t cols = w->cols;
    tile_config tc;
    int cfg0 = -1, cfg1 = -1;
    _Alignas(64) uint8_t bt[2][2048];
    _Alignas(64) int32_t c[4][16 * 16];
    for (int64_t row0 = r0 / 4 * 4; row0 < r1; row0 += 32) {
        const uint8_t *g = w->codes + bn_tmat_block(cols, row0, 0);
        int ng = (r1 - row0 + 3) / 4 < 8 ? (int)((r1 - row0 + 3) / 4) : 8;
        /* Codes come from memory at a rate the hardware prefetchers do not
         * meet (the eight groups are eight streams, each read a block per
         * eight tile products): the first token tile of these rows fetches
         * the next 32 rows, which past r1 are usually the thread's next
         * chunk (3-8% in a harness over 2B-4T's matrices). */
        int64_t left = (w->rows + 3) / 4 - (row0 + 32) / 4;
        int n_next = left < 0 ? 0 : left < 8 ? (int)left : 8;
        for (int64_t t0 = 0; t0 < n_tok; t0 += 32) {
            int nt = n_tok - t0 < 32 ? (int)(n_tok - t0) : 32;
            int n0 = nt < 16 ? nt : 16, n1 = nt - n0;
            if (n0 != cfg0 || n1 != cfg1) {
                configure(&tc, n0, n1);
                cfg0 = n0;
                cfg1 = n1;
            }
            int fetch = t0 == 0 ? n_next : 0;
            block(w, g, ng, act_at(q, qt, cols, t0), nt, bt, fetch ? g + 8 * cols : NULL, fetch);
            _tile_stored(C00, c[0], 64);
            if (n1 > 0)
                _tile_stored(C10, c[2], 64);
            if (ng > 4) {
                _tile_stored(C01, c[1], 64);
                if (n1 > 0)
                    _tile_stored(C11, c[3], 64);
            }
            for (int j = 0; j < 2 && 4 * j < ng; j++) {
                int64_t rb = row0 + 16 * j;
                __mmask16 keep = bn_rows_kept(rb, r0, r1);
                store_rows16(c[j], n0, act_sum + t0, act_scale + t0, w->scale, y + t0 * ldy + rb, ldy, keep);
                if (n1 > 0)
                    store_rows16(c[2 + j], n1, act_sum + t0 + 16, act_scale + t0 + 16, w->scale,
                                 y + (t0 + 16) * ldy + rb, ldy, keep);
            }
        }
    }
    _tile_release();
}

void bn_tgemm_amx(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                  const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    tgemm(w, r0, r1, q, NULL, act_scale, act_sum, n_tok, y, ldy);
}

void bn_tgemm_amx_tiled(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const int8_t *qt,
                        const float *act_scale, const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
    tgemm(w, r0, r1, q, qt, act_scale, act_sum, n_tok, y, ldy);
}
