/* What the chunked prefill paths of attn_avx2.c and attn_avx512.c share:
 * a call's query rows, handed to the path MAX_ROWS at a time. */
#ifndef BN_ATTN_QROWS_H
#define BN_ATTN_QROWS_H

#include <stddef.h>
#include <stdint.h>

/* Up to MAX_ROWS query rows of a call (token r / group, head r % group):
 * where each one's q, scores and output are, and how many positions it
 * attends to (never fewer than the row before). */
#define MAX_ROWS 64

typedef struct qrows {
    const float *q[MAX_ROWS];
    float *sc[MAX_ROWS], *out[MAX_ROWS];
    int64_t n[MAX_ROWS];
    int d;
} qrows;

/* A chunked path over the `rows` rows of a, with BN_ATTN_CHUNK x d16
 * floats of scratch in buf. */
typedef void bn_attn_chunked_fn(const qrows *a, int rows, const uint16_t *k, const uint16_t *v, size_t kv_stride,
                                float scale, float *buf);

/* bn_kernels.attn's arguments as rows, as many tokens at a time as
 * MAX_ROWS rows hold (group <= MAX_ROWS). */
static inline void bn_attn_by_rows(const float *q, size_t q_stride, uint32_t n_tok, const uint16_t *k,
                                   const uint16_t *v, size_t kv_stride, uint32_t n_kv, int group, int d, float scale,
                                   float *scores, size_t sc_stride, float *row, float *out, size_t out_stride,
                                   bn_attn_chunked_fn *chunked)
{
    const uint32_t per = (uint32_t)(MAX_ROWS / group);
    qrows a;
    a.d = d;
    for (uint32_t t0 = 0; t0 < n_tok; t0 += per) {
        uint32_t nt = n_tok - t0 < per ? n_tok - t0 : per;
        int rows = 0;
        for (uint32_t t = t0; t < t0 + nt; t++)
            for (int g = 0; g < group; g++, rows++) {
                a.q[rows] = q + (size_t)t * q_stride + (size_t)g * d;
                a.sc[rows] = scores + ((size_t)t * group + g) * sc_stride;
                a.out[rows] = out + (size_t)t * out_stride + (size_t)g * d;
                a.n[rows] = (int64_t)n_kv + t;
            }
        chunked(&a, rows, k, v, kv_stride, scale, row);
    }
}

#endif
