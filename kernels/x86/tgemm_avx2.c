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

/* Prefill of a few tokens: the tiles unpack each block in registers, for
 * every PT tokens. */
static void prefill_tiles(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                          const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy)
{
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

/* Prefill of more tokens, over codes unpacked once (Zen 3: 2B-4T's
 * matrices 1.10-1.15x at 64 and 128 tokens a call). The call's rows are
 * unpacked a batch of groups and a segment of columns at a time into bytes
 * on the stack (one code a byte, each row's columns in order), which every
 * token tile then reads with plain loads: the registers' unpack above
 * (seven operations a row and block, again for every four tokens) took the
 * vector pipes from the products, and its 16 accumulators spilled. Here a
 * product is its vpmaddubsw and the vpaddw into a 16-bit accumulator. A
 * token tile's activations stay in L1 while every row pair of the batch
 * passes over them.
 *
 * A segment holds at most SEG_MAX columns, 64 fields of 32: a vpmaddubsw
 * pair sum is within [-512, 508], so 64 of them stay within 16 bits
 * (-32768 exactly for codes 2 against all -128), and each segment's 16-bit
 * sums are widened once. */
#define SEG_MAX 2048
/* Tokens a call from which the codes are unpacked once: with fewer the
 * registers' unpack was faster (unpacked once: 0.70x at 4 tokens, 0.93x at
 * 16, 1.05x at 32). */
#define UNPACKED_MIN 24
/* Bytes of unpacked codes on the stack: half of L1, next to a tile's
 * activations. */
#define U_BYTES 16384
/* Rows a batch at most (U_BYTES / 1024, for segments of 1024 or more). */
#define BATCH 16
/* Tokens a tile: two rows x 6 tokens keep 12 accumulators, the two rows'
 * codes and two products in the 16 registers. */
#define TT 6
/* Tokens whose 32-bit sums wait on the stack while the segments pass (the
 * library's default batch). */
#define TCH 64

/* Codes of rows [row0, row0 + nr) (whole groups), columns [c0, c0 + n), as
 * bytes: row i at u + i * ldu. Meanwhile the codes the next unpack reads,
 * at next (the same shape: the next segment, or the next batch's first),
 * go to L2, so that this one's loads did not wait on memory. */
static void unpack_segment(const bn_tmat *w, int64_t row0, int64_t nr, int64_t c0, int64_t n, uint8_t *u,
                           int64_t ldu, size_t next)
{
    const size_t all = bn_tmat_bytes(w->rows, w->cols);
    for (int64_t i = 0; i < nr; i++) {
        const size_t off = bn_tmat_block(w->cols, row0 + i, c0 / 128);
        const size_t pf = next + (off - bn_tmat_block(w->cols, row0, c0 / 128));
        for (int64_t c = 0; c < n; c += 128) {
            if (pf + (size_t)c / 128 * BN_TBLOCK_STRIDE < all)
                _mm_prefetch((const char *)w->codes + pf + c / 128 * BN_TBLOCK_STRIDE, _MM_HINT_T1);
            __m256i f[4];
            unpack(w->codes + off + c / 128 * BN_TBLOCK_STRIDE, f);
            for (int k = 0; k < 4; k++)
                _mm256_store_si256((__m256i *)(void *)(u + i * ldu + c + 32 * k), f[k]);
        }
    }
}

/* The 32-bit sums of R x T 16-bit accumulators (acc[i * TT + t]: row i,
 * token t), added to sum[t * BATCH + i]. */
ALWAYS_INLINE void seg_sums(const __m256i *acc, int R, int T, int32_t *sum)
{
    const __m256i ones = _mm256_set1_epi16(1);
    for (int k0 = 0; k0 < R * T; k0 += 8) {
        __m256i v[8];
        for (int k = 0; k < 8; k++)
            v[k] = k0 + k < R * T ? _mm256_madd_epi16(acc[(k0 + k) / T * TT + (k0 + k) % T], ones)
                                  : _mm256_setzero_si256();
        int32_t s[8];
        _mm256_storeu_si256((__m256i *)(void *)s, bn_hsum8_epi32(v));
        for (int k = 0; k < 8 && k0 + k < R * T; k++) {
            int32_t *d = sum + (k0 + k) % T * BATCH + (k0 + k) / T;
            *d = (int32_t)((uint32_t)*d + (uint32_t)s[k]);  /* wrapping, as the scalar int32 sums */
        }
    }
}

/* sum(code * q) of R rows (1 or 2, at u and u + ldu) x T tokens (1 to TT)
 * over nf fields of a segment, added to sum[t * BATCH + i]; prefetches
 * nf * 32 bytes at pf (some of the next tile's activations). In assembly,
 * the shape's instructions picked by the assembler (.if on R and T, as
 * text: an "i" operand needs the optimizer): GCC kept the accumulators in
 * memory or copied them every step (0.6x). Each field: the rows' codes into
 * ymm12-13, then for every token t a product per row (the activations as
 * the memory operand) and its add into ymm(t) and ymm(6 + t). */
#define BN_P(R, T, t, t2, A)                                                                   \
    ".if " #t " < " #T "\n\t"                                                                  \
    "vpmaddubsw " A ", %%ymm12, %%ymm14\n\tvpaddw %%ymm14, %%ymm" #t ", %%ymm" #t "\n\t"       \
    ".if " #R " > 1\n\t"                                                                       \
    "vpmaddubsw " A ", %%ymm13, %%ymm15\n\tvpaddw %%ymm15, %%ymm" #t2 ", %%ymm" #t2 "\n\t"     \
    ".endif\n\t"                                                                               \
    ".endif\n\t"
#define BN_Z(t) "vpxor %%xmm" #t ", %%xmm" #t ", %%xmm" #t "\n\t"
#define BN_S(t) "vmovdqu %%ymm" #t ", 32 * " #t "(%[acc])\n\t"
#define SEG_TILE(R, T)                                                                                        \
    static void seg_tile_##R##x##T(const uint8_t *u, int64_t ldu, const int8_t *q, int64_t cols, int64_t nf,  \
                                   int32_t *sum, const int8_t *pf)                                            \
    {                                                                                                         \
        __m256i acc[2 * TT];                                                                                  \
        const int8_t *q3 = T > 3 ? q + 3 * cols : q; /* token 3's row, where the tile has one */              \
        __asm__ volatile(                                                                                     \
            BN_Z(0) BN_Z(1) BN_Z(2) BN_Z(3) BN_Z(4) BN_Z(5) BN_Z(6) BN_Z(7) BN_Z(8) BN_Z(9) BN_Z(10) BN_Z(11) \
            "test %[n], %[n]\n\tjz 2f\n\t"                                                                    \
            "1:\n\t"                                                                                          \
            "vmovdqa (%[u]), %%ymm12\n\t"                                                                     \
            ".if " #R " > 1\n\t"                                                                              \
            "vmovdqa (%[u],%[ldu],1), %%ymm13\n\t"                                                            \
            ".endif\n\t"                                                                                      \
            BN_P(R, T, 0, 6, "(%[q])") BN_P(R, T, 1, 7, "(%[q],%[c],1)") BN_P(R, T, 2, 8, "(%[q],%[c],2)")    \
            BN_P(R, T, 3, 9, "(%[q3])") BN_P(R, T, 4, 10, "(%[q],%[c],4)") BN_P(R, T, 5, 11, "(%[q3],%[c],2)") \
            "prefetcht0 (%[pf])\n\t"                                                                          \
            "add $32, %[u]\n\tadd $32, %[q]\n\tadd $32, %[q3]\n\tadd $32, %[pf]\n\t"                          \
            "dec %[n]\n\tjnz 1b\n\t"                                                                          \
            "2:\n\t"                                                                                          \
            BN_S(0) BN_S(1) BN_S(2) BN_S(3) BN_S(4) BN_S(5) BN_S(6) BN_S(7) BN_S(8) BN_S(9) BN_S(10) BN_S(11) \
            : [u] "+r"(u), [q] "+r"(q), [q3] "+r"(q3), [n] "+r"(nf), [pf] "+r"(pf)                            \
            : [c] "r"(cols), [ldu] "r"(ldu), [acc] "r"(acc)                                                   \
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",        \
              "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");                                   \
        seg_sums(acc, R, T, sum);                                                                             \
    }
SEG_TILE(1, 1) SEG_TILE(1, 2) SEG_TILE(1, 3) SEG_TILE(1, 4) SEG_TILE(1, 5) SEG_TILE(1, 6)
SEG_TILE(2, 1) SEG_TILE(2, 2) SEG_TILE(2, 3) SEG_TILE(2, 4) SEG_TILE(2, 5) SEG_TILE(2, 6)
#undef BN_P
#undef BN_Z
#undef BN_S

typedef void seg_tile_fn(const uint8_t *u, int64_t ldu, const int8_t *q, int64_t cols, int64_t nf, int32_t *sum,
                         const int8_t *pf);

static seg_tile_fn *const seg_tiles[2][TT + 1] = {
    {NULL, seg_tile_1x1, seg_tile_1x2, seg_tile_1x3, seg_tile_1x4, seg_tile_1x5, seg_tile_1x6},
    {NULL, seg_tile_2x1, seg_tile_2x2, seg_tile_2x3, seg_tile_2x4, seg_tile_2x5, seg_tile_2x6},
};

/* Rows [a, b) among the whole groups [row0, row0 + nr), for every token. */
static void prefill_batch(const bn_tmat *w, int64_t row0, int64_t nr, int64_t a, int64_t b, int64_t seg,
                          const int8_t *q, const float *act_scale, const int32_t *act_sum, int64_t n_tok, float *y,
                          int64_t ldy)
{
    const int64_t cols = w->cols;
    _Alignas(32) uint8_t u[U_BYTES];
    _Alignas(32) int32_t sum[TCH * BATCH + 8];  /* + 8: the last token's last eight rows load whole */
    for (int64_t t0 = 0; t0 < n_tok; t0 += TCH) {
        const int64_t nt = n_tok - t0 < TCH ? n_tok - t0 : TCH;
        memset(sum, 0, sizeof sum);
        for (int64_t c0 = 0; c0 < cols; c0 += seg) {
            const int64_t n = cols - c0 < seg ? cols - c0 : seg;
            const size_t next = c0 + seg < cols ? bn_tmat_block(cols, row0, (c0 + seg) / 128)
                                : t0 + TCH < n_tok ? bn_tmat_block(cols, row0, 0)
                                                   : bn_tmat_block(cols, row0 + nr, 0);
            unpack_segment(w, row0, nr, c0, n, u, seg, next);
            /* tiles as even as they go: 8 tokens as 4 + 4, not 6 + 2 */
            const int64_t n_tiles = (nt + TT - 1) / TT;
            for (int64_t j = 0, t = 0; j < n_tiles; j++) {
                const int T = (int)((j + 1) * nt / n_tiles - j * nt / n_tiles);
                /* the next tile's activations into L1, a token's row each
                 * row pair */
                for (int64_t i = a - row0, k = 0; i < b - row0; i += 2, k++) {
                    const int R = b - row0 - i >= 2 ? 2 : 1;
                    const int64_t pf = t0 + t + T + k % TT < n_tok ? t0 + t + T + k % TT : n_tok - 1;
                    seg_tiles[R - 1][T](u + i * seg, seg, q + (t0 + t) * cols + c0, cols, n / 32,
                                        sum + t * BATCH + i, q + pf * cols + c0);
                }
                t += T;
            }
        }
        /* each token's rows, eight at a time */
        for (int64_t t = 0; t < nt; t++) {
            const __m256i as = _mm256_set1_epi32(act_sum[t0 + t]);
            const __m256 sc = _mm256_set1_ps(act_scale[t0 + t]);
            float *yt = y + (t0 + t) * ldy + row0;
            for (int64_t i = a - row0; i < b - row0; i += 8) {
                __m256 v = bn_tgemm_row_values8(
                    _mm256_loadu_si256((const __m256i *)(const void *)(sum + t * BATCH + i)), as, sc, w->scale);
                if (i + 8 <= b - row0) {
                    _mm256_storeu_ps(yt + i, v);
                    continue;
                }
                float f[8];
                _mm256_storeu_ps(f, v);
                for (int64_t k = 0; k < b - row0 - i; k++)
                    yt[i + k] = f[k];
            }
        }
    }
}

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
    if (n_tok < UNPACKED_MIN) {
        prefill_tiles(w, r0, r1, q, act_scale, act_sum, n_tok, y, ldy);
        return;
    }
    /* even segments of at most SEG_MAX columns; as many whole groups a
     * batch as their codes fit in U_BYTES */
    const int64_t cols = w->cols, nseg = (cols + SEG_MAX - 1) / SEG_MAX;
    const int64_t seg = (cols / 128 + nseg - 1) / nseg * 128;
    int64_t batch = U_BYTES / seg / BN_TGROUP * BN_TGROUP;
    batch = batch < BN_TGROUP ? BN_TGROUP : batch > BATCH ? BATCH : batch;
    for (int64_t row0 = r0 / BN_TGROUP * BN_TGROUP; row0 < r1; row0 += batch) {
        const int64_t nr = (r1 - row0 + BN_TGROUP - 1) / BN_TGROUP * BN_TGROUP;
        prefill_batch(w, row0, nr < batch ? nr : batch, row0 > r0 ? row0 : r0,
                      row0 + batch < r1 ? row0 + batch : r1, seg, q, act_scale, act_sum, n_tok, y, ldy);
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
