/* Entry points shared between the x86 kernel files. Each is compiled with its
 * own ISA's flags and is reached only through that ISA's bn_kernels table, so
 * no generic code can run it on a CPU without the instructions. */
#ifndef BN_KERNELS_X86_H
#define BN_KERNELS_X86_H

#include <immintrin.h>

#include "kernels.h"

/* Rows [row0, row0 + 16) that lie in [r0, r1), as a mask of 16 lanes. */
static inline uint16_t bn_rows_kept(int64_t row0, int64_t r0, int64_t r1)
{
    uint32_t m = 0xffff;
    if (row0 < r0)
        m &= 0xffffu << (r0 - row0);
    if (row0 + 16 > r1)
        m &= r1 <= row0 ? 0 : 0xffffu >> (row0 + 16 - r1);
    return (uint16_t)m;
}

/* Prefill reads a group of rows from memory once, then from cache for every
 * token tile: a stream consumed so slowly that the hardware prefetcher does
 * not keep ahead of it, and each group started with cache misses. The
 * kernels prefetch the next group's codes a slice per token tile instead
 * (bn_tgemm_avx512, Zen 4, the 2B-4T matrices in the pool's chunks: 3-5%
 * less time at 64 tokens a pass, 6-8% at 16 and 32). With fewer than four
 * tiles a group the burst cost more than it saved (8% more time at 4
 * tokens), so those calls leave it to the hardware; the threshold was not
 * tuned again for the prefetching build's 8-token tiles, which so prefetch only
 * from 25 tokens. Past the chunk's last group the next rows are usually the
 * thread's next chunk. */
typedef struct bn_prefetch {
    const char *p;
    size_t left, step;
} bn_prefetch;

/* Bytes [off, off + bytes) of the `size` bytes at buf (what of them lies
 * inside), a 64-byte-line-rounded 1/n_steps of them per bn_prefetch_step;
 * nothing when n_steps < 4. */
static inline bn_prefetch bn_prefetch_spread(const void *buf, size_t size, size_t off, size_t bytes, int64_t n_steps)
{
    bn_prefetch pf = { (const char *)buf, 0, 0 };
    if (n_steps >= 4 && off < size) {
        pf.p += off;
        pf.left = size - off < bytes ? size - off : bytes;
        pf.step = (pf.left + 64 * (size_t)n_steps - 1) / (64 * (size_t)n_steps) * 64;
    }
    return pf;
}

static inline void bn_prefetch_step(bn_prefetch *pf)
{
    size_t n = pf->left < pf->step ? pf->left : pf->step;
    for (size_t b = 0; b < n; b += 64)
        _mm_prefetch(pf->p + b, _MM_HINT_T0);
    pf->p += n;
    pf->left -= n;
}

/* Each x86 level comes in two builds, bn_kernels_<level> (tuned on Zen 4)
 * and bn_kernels_<level>_prefetch (tuned on Sapphire Rapids, also the better
 * one on Zen 3), which dispatch picks by bn_cpu_wants_prefetch (cpu.h);
 * results are the same bit for bit.
 *
 * Decode streams every weight once, in order. A Sapphire Rapids core keeps
 * too few of its own misses in flight for that: the AVX-512 decode GEMV read
 * 8.3 GB/s where a plain read loop read 12.2, and with a prefetch into L2
 * 8 KiB ahead of each line it read as fast as the loop (2B-4T decode 6.2 ->
 * 10-11.5 t/s on one thread, 12.4 -> 21 on two). Zen 4's prefetchers keep up
 * alone, and there the same hints cost 0-14%; Zen 3's do not (AVX2 2B-4T
 * decode 67-72% -> 82% of the bandwidth limit on one thread with them). So
 * the decode kernels take `ahead`: 0, or BN_DECODE_AHEAD in the prefetching
 * build. (The prefetching AVX-512
 * build also tiles prefill by one group and eight tokens: tgemm_avx512.c.)
 * A prefetch never faults; one past a matrix's end reads the next tensor's
 * start, or nothing.
 *
 * With the L2 prefetch alone, a loop that computes on what it reads lost
 * bandwidth in proportion to its vector work: a read loop with the decode
 * kernel's 8 vpand + 8 vpdpbusd per 128 bytes read 0.84-0.88 of the same
 * loop without them, with half of them 0.93, and the kernels 0.82-0.87.
 * Each load then waits on L2, and the work behind it cannot start early. A
 * second prefetch, into L1, BN_DECODE_NEAR ahead, takes that wait out of
 * the loop: the same read loop read 0.97-1.01, and in a harness alternating
 * old and new over 2B-4T's matrices both decode kernels (ternary and F16
 * head) ran 1.076x as fast. 1 KiB was slower and 4 KiB no better
 * (tools/readwork.c repeats the read loops). */
#define BN_DECODE_AHEAD 8192
#define BN_DECODE_NEAR 2048

/* Always inlined: as a plain inline function GCC 12 found it free of side
 * effects and deleted the calls before inlining them (no prefetch left). */
static inline __attribute__((always_inline)) void bn_prefetch_ahead(const void *p, size_t ahead)
{
    if (ahead) {
        _mm_prefetch((const char *)p + ahead, _MM_HINT_T2);
        _mm_prefetch((const char *)p + BN_DECODE_NEAR, _MM_HINT_T0);
    }
}

void bn_dequant_row_avx2(uint32_t type, const void *row, float *out, int64_t n);
void bn_quantize_act_avx2(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);
void bn_tgemm_avx2(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx2(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, int64_t n_tok, float *y, int64_t ldy);
void bn_tgemm_avx2_prefetch(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx2_prefetch(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                      const float *x, int64_t n_tok, float *y, int64_t ldy);

void bn_to_f16_avx2(const float *x, uint16_t *out, int64_t n);
void bn_attn_avx2(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                  size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                  float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);
void bn_glu_avx2(int act, float *g, const float *u, int64_t n);
void bn_rmsnorm_avx2(const float *x, const float *w, int64_t n, float eps, float *out);
void bn_rmsnorm_avx512(const float *x, const float *w, int64_t n, float eps, float *out);
void bn_i8gemm_avx2(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                    int64_t n_tok, float *y, int64_t ldy);
void bn_i8gemm_avx2_prefetch(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                       int64_t n_tok, float *y, int64_t ldy);
void bn_i8gemm_avx512(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      int64_t n_tok, float *y, int64_t ldy);
void bn_i8gemm_avx512_prefetch(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                         int64_t n_tok, float *y, int64_t ldy);
void bn_attn_avx512(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                    size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                    float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);
void bn_quantize_act_avx512(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);
void bn_tgemm_avx512(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                     const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx512(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                     const float *x, int64_t n_tok, float *y, int64_t ldy);
void bn_tgemm_avx512_prefetch(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                        const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_tgemm_avxvnni(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_tgemm_amx(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                  const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_tgemm_amx_tiled(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const int8_t *qt,
                        const float *act_scale, const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx512_prefetch(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                        const float *x, int64_t n_tok, float *y, int64_t ldy);

#endif
