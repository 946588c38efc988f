/* The kernel dispatch table. kernels/ sees arrays and shapes only: no models,
 * files or tokens. The scalar implementation is the specification; every other
 * ISA must give bit-identical results (tests/checkkernels.c proves it). */
#ifndef BN_KERNELS_H
#define BN_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bitnet/bitnet.h"

/* A ternary weight matrix in the kernels' layout, which every ternary type is
 * repacked into at load. Each row is cut into blocks of 128 weights stored in
 * 32 bytes: weight j of a block sits in byte j % 32 at bit shift
 * 6 - 2*(j/32) (bitnet.cpp's I2_S x86 block); code c means weight c - 1
 * (codes are 0, 1, 2 only: the loader rewrites code 3 to 1). Rows go in groups
 * of BN_TGROUP: the group's blocks of one column range follow each other
 * (block b of row r at bn_tmat_block), so that a kernel reading a group of
 * rows together streams memory in order and loads each activation once for
 * all of them. The last group is padded to BN_TGROUP rows of code 1 (weight 0). */
#define BN_TGROUP 4

typedef struct bn_tmat {
    const uint8_t *codes;  /* bn_tmat_bytes(rows, cols) bytes */
    int64_t rows, cols;    /* cols % 128 == 0 */
    float scale;           /* one weight scale for the whole tensor */
} bn_tmat;

/* Bytes of codes for a rows x cols matrix (padding included). */
static inline size_t bn_tmat_bytes(int64_t rows, int64_t cols)
{
    return (size_t)((rows + BN_TGROUP - 1) / BN_TGROUP) * (size_t)cols * (BN_TGROUP / 4);
}

/* Bytes from block b of a row to block b + 1. */
#define BN_TBLOCK_STRIDE (32 * BN_TGROUP)

/* Offset of the 32 bytes of block b (weights 128b .. 128b + 127) of row r. */
static inline size_t bn_tmat_block(int64_t cols, int64_t r, int64_t b)
{
    return (size_t)(r / BN_TGROUP) * (size_t)cols * (BN_TGROUP / 4) + (size_t)(b * BN_TBLOCK_STRIDE) +
           (size_t)(r % BN_TGROUP) * 32;
}

/* A matrix of int8 rows with one float scale per row (row r is
 * scale[r] * q[r*cols ..]); sum[r] is the sum of row r's weights, which SIMD
 * kernels that need an unsigned operand use. cols % 128 == 0. */
typedef struct bn_i8mat {
    const int8_t *q;
    const float *scale;
    const int32_t *sum;
    int64_t rows, cols;
} bn_i8mat;

/* A kernel-side dense type (fgemm, dequant_row): F16 rows stored in pairs.
 * Rows 2i and 2i + 1 alternate in 32-byte chunks of 16 elements, so a
 * decode kernel reads one stream while it keeps two independent sums (one
 * row a chain of dependent adds could not keep up with memory); each row's
 * own order of operations, and so every result, is that of F16. row_bytes is
 * one row's, cols * 2, with cols % 16 == 0; a pair takes 2 * row_bytes, and
 * an odd row count is padded with a row of zeros (kernels may read a whole
 * pair for one of its rows). The loader stores an F16 output head so. */
#define BN_TYPE_F16X2 0x10001u

/* Row r's first chunk; its chunk j is 64 * j bytes further. */
static inline const uint8_t *bn_f16x2_row(const void *w, size_t row_bytes, int64_t r)
{
    return (const uint8_t *)w + (size_t)(r & ~(int64_t)1) * row_bytes + (size_t)(r & 1) * 32;
}

/* Token t's row of cols quantized activations (cols % 64 == 0) into
 * bn_kernels.tgemm_tiled's tiles: the 64 bytes of k = 64j .. 64j + 63 of
 * tokens 16i .. 16i + 15 are 1 KiB at qt + (i * cols / 64 + j) * 1024, token
 * t's at row t % 16, so that a tile of 16 tokens by 64 activations is one
 * contiguous KiB. */
static inline void bn_tile_act(const int8_t *row, int64_t cols, int64_t t, int8_t *qt)
{
    int8_t *dst = qt + (t / 16) * (cols / 64) * 1024 + (t % 16) * 64;
    for (int64_t j = 0; j < cols / 64; j++)
        memcpy(dst + 1024 * j, row + 64 * j, 64);
}

/* Bytes of bn_tile_act's tiles for n_tok tokens of cols activations. */
static inline size_t bn_tile_act_bytes(int64_t n_tok, int64_t cols)
{
    return (size_t)((n_tok + 15) / 16 * 16) * (size_t)cols;
}

/* max |x[i]| over n floats (0 for none); any NaN, a signalling one too,
 * leaves the maximum alone, as the x86 max instructions do (fmaxf would pass
 * a signalling NaN on). Non-negative floats order as their bit patterns do,
 * so this is an integer maximum over the patterns with the sign cleared,
 * NaNs taken as 0: integer work the compiler vectorizes at any level, where
 * a float maximum it must keep in order. The scalar quantize_act and the
 * int8 head's rows use it. */
static inline float bn_absmax(const float *x, int64_t n)
{
    int32_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t u;
        memcpy(&u, &x[i], sizeof u);
        u &= 0x7fffffff;
        u = u <= 0x7f800000 ? u : 0;
        m = u > m ? u : m;
    }
    float f;
    memcpy(&f, &m, sizeof f);
    return f;
}

/* The FFN activations of bn_kernels.glu. */
enum { BN_GLU_RELU2, BN_GLU_SILU };

/* The builds of an x86 level (kernels_x86.h): the base one (Zen 4 and
 * later), the one whose decode prefetches in software (every other x86 CPU,
 * bn_cpu_wants_prefetch), and the latter with AMX-INT8 prefill (AVX-512 only,
 * bn_cpu_has_amx) or with AVX-VNNI ternary products (AVX2 only,
 * bn_cpu_has_avxvnni). Other levels have the first only. */
enum { BN_BUILD_BASE, BN_BUILD_PREFETCH, BN_BUILD_AMX, BN_BUILD_AVXVNNI, BN_BUILD_COUNT };

/* Cached positions that bn_kernels.attn may convert to f32 at once (its
 * `row` scratch holds them). */
#define BN_ATTN_CHUNK 64

typedef struct bn_kernels {
    bn_cpu_level level;
    int build;  /* BN_BUILD_* */

    /* Per-token int8 activation quantization (BitNet b1.58):
     * s = 127 / max(max|x|, 1e-5); q[i] = round-half-even(x[i] * s) clamped to
     * [-127, 127]; *scale = s; *sum = sum of q. n % 128 == 0. */
    void (*quantize_act)(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);

    /* Ternary matrix times n_tok quantized activation rows, output rows [r0, r1):
     * y[t*ldy + r] = ((float)isum / act_scale[t]) * w->scale, where
     * isum = sum_k (code(r,k) - 1) * q[t*w->cols + k], computed exactly in int32
     * (q in -127..127, as quantize_act makes it; cols up to 2^24).
     * act_sum[t] = sum of q for token t. */
    void (*tgemm)(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                  const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);

    /* tgemm, for n_tok >= 2, also given the activations in tiles (qt, as
     * bn_tile_act lays them out), where a kernel loads them faster so; NULL
     * where rows serve as well. Same results as tgemm. */
    void (*tgemm_tiled)(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const int8_t *qt,
                        const float *act_scale, const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);

    /* Dense matrix (F32, F16, BF16, Q8_0, Q4_K, Q6_K rows of row_bytes each;
     * BN_TYPE_F16X2: F16 rows in pairs)
     * times n_tok float rows of length cols, output rows [r0, r1):
     * y[t*ldy + r] = dot(row r, x + t*cols). Canonical float order, so every
     * ISA agrees bit for bit: each weight is dequantized exactly as
     * dequant_row does; the row and x are taken as padded with zeros to a
     * multiple of 16, and each product goes into lane k % 16 with one fused
     * multiply-add (fmaf: rounded once); lanes are then summed as
     * l[i] += l[i+8], l[i] += l[i+4], l[i] += l[i+2], l[0] + l[1]. */
    void (*fgemm)(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                  const float *x, int64_t n_tok, float *y, int64_t ldy);

    /* One row of a dense type (as above, plus TQ1_0/TQ2_0/I2_S codes are not
     * rows: not here) to float32; for BN_TYPE_F16X2, row is bn_f16x2_row's. */
    void (*dequant_row)(uint32_t type, const void *row, float *out, int64_t n);

    /* Int8 rows (the output head quantized at load, bn_i8mat) times n_tok
     * quantized activation rows, output rows [r0, r1):
     * y[t*ldy + r] = ((float)isum / act_scale[t]) * w->scale[r], where
     * isum = sum_k w->q[r*cols + k] * q[t*cols + k] exactly in int32
     * (|weights| <= 127, cols <= 2^16). */
    void (*i8gemm)(const struct bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   int64_t n_tok, float *y, int64_t ldy);

    /* n floats to f16, rounded to nearest even (overflow to infinity, NaN to
     * a quiet NaN keeping the top payload bits): bn_f32_to_f16 of each. */
    void (*to_f16)(const float *x, uint16_t *out, int64_t n);

    /* Attention of n_tok consecutive tokens' `group` query heads that share
     * one K/V head. Token t's heads are at q + t * q_stride, d floats each,
     * one after the other; it attends to positions 0 .. n_kv + t - 1 and
     * writes out + t * out_stride (group x d floats). k, v: that K/V head's
     * f16 row at position 0, a position being kv_stride elements further.
     * scores: n_tok x group rows (token-major) of sc_stride >= n_kv + n_tok - 1
     * floats of scratch (left holding the weights); row: BN_ATTN_CHUNK x d16
     * floats of scratch (d16: d rounded up to a multiple of 16).
     * Each head in canonical order, so every ISA agrees bit for bit and a
     * token's result does not depend on n_tok:
     * s[g][p] = dot8(q_g, K_p) * scale, where dot8 accumulates the products
     * into 8 lanes (lane = i % 8) in order of i, each product and its sum one
     * fused multiply-add (l = fmaf(q_i, K_p[i], l)), and returns
     * ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7));
     * then bn_attn_softmax (dense_scalar.h); then out_g[i] starts at 0 and
     * takes o = fmaf(s[g][p], V_p[i], o) in order of p.
     * cold: nonzero when the cached rows are likely not in any cache (decode,
     * after a token's weights have streamed through); next, next_bytes: what
     * the thread's next call will read first (NULL, 0 for nothing). Both only
     * tell SIMD versions how to prefetch and never change a result. */
    void (*attn)(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                 size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                 float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);

    /* The FFN's gated activation, in place: g[i] = act(g[i]) * u[i], with
     * BN_GLU_RELU2: r * r with r = g[i], or +0 when g[i]'s sign bit is set
     * (relu on the bits: -0 and a NaN with its sign bit set give 0, another
     * NaN stays NaN), then times u[i];
     * BN_GLU_SILU: (g[i] / (1 + bn_exp_canon(-g[i]))) * u[i].
     * Element by element, the same operations on every ISA. */
    void (*glu)(int act, float *g, const float *u, int64_t n);

    /* RMSNorm: out[i] = (x[i] * r) * w[i] in float (out may be x), where
     * r = (float)(1 / sqrt(ss / n + eps)) in double and ss sums (double)x[i]^2
     * into 16 lanes (lane = i % 16) in order of i, folded as l[j] += l[j + 8]
     * and then ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)). The
     * products are exact in double, so every ISA agrees bit for bit. */
    void (*rmsnorm)(const float *x, const float *w, int64_t n, float eps, float *out);
} bn_kernels;

/* The table for a level, or NULL when this build or CPU lacks it; where
 * the CPU wants software prefetch in decode, the level's prefetching build
 * where it has one, with AMX or AVX-VNNI where the CPU has it. */
const bn_kernels *bn_kernels_for(bn_cpu_level level);

/* A build (BN_BUILD_*) of a level, or NULL when this libbitnet, the level
 * or the CPU lacks it. checkkernels tests every table the CPU can run. */
const bn_kernels *bn_kernels_variant(bn_cpu_level level, int build);

/* The level to use for a request (BN_CPU_AUTO: the environment variable
 * BN_CPU, else the best level). BN_E_UNSUPPORTED when this build or CPU lacks
 * it, BN_E_INVALID_ARG for a bad value; the message names the level. */
bn_status bn_cpu_choose(bn_cpu_level requested, bn_cpu_level *out);

/* Per-ISA tables (defined only where built). */
extern const bn_kernels bn_kernels_scalar;
extern const bn_kernels bn_kernels_avx2;
extern const bn_kernels bn_kernels_avx512;
extern const bn_kernels bn_kernels_avx2_prefetch;
extern const bn_kernels bn_kernels_avx2_vnni;
extern const bn_kernels bn_kernels_avx512_prefetch;
extern const bn_kernels bn_kernels_avx512_amx;
extern const bn_kernels bn_kernels_neon;
extern const bn_kernels bn_kernels_dotprod;

#endif
