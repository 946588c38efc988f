/* Entry points shared between the x86 kernel files. Each is compiled with its
 * own ISA's flags and is reached only through that ISA's bn_kernels table, so
 * no generic code can run it on a CPU without the instructions. */
#ifndef BN_KERNELS_X86_H
#define BN_KERNELS_X86_H

#include "kernels.h"

void bn_dequant_row_avx2(uint32_t type, const void *row, float *out, int64_t n);
void bn_quantize_act_avx2(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);
void bn_tgemm_avx2(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                   const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx2(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, int64_t n_tok, float *y, int64_t ldy);

void bn_to_f16_avx2(const float *x, uint16_t *out, int64_t n);
void bn_attn_avx2(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                  size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                  float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);
void bn_glu_avx2(int act, float *g, const float *u, int64_t n);
void bn_i8gemm_avx2(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                    int64_t n_tok, float *y, int64_t ldy);
void bn_i8gemm_avx512(const bn_i8mat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                      int64_t n_tok, float *y, int64_t ldy);
void bn_attn_avx512(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k, const uint16_t *v,
                    size_t kv_stride, uint32_t n_kv, int group, int d, float scale, float *scores, size_t sc_stride,
                    float *row, float *out, size_t out_stride, int cold, const void *next, size_t next_bytes);
void bn_quantize_act_avx512(const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);
void bn_tgemm_avx512(const bn_tmat *w, int64_t r0, int64_t r1, const int8_t *q, const float *act_scale,
                     const int32_t *act_sum, int64_t n_tok, float *y, int64_t ldy);
void bn_fgemm_avx512(uint32_t type, const void *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                     const float *x, int64_t n_tok, float *y, int64_t ldy);

#endif
