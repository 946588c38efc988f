/* bn_ctx: the KV cache, scratch buffers and worker threads of one sequence. */
#ifndef BN_LIB_CONTEXT_H
#define BN_LIB_CONTEXT_H

#include "model.h"
#include "threadpool.h"
#include "utf8.h"

struct bn_ctx {
    bn_model *model;
    uint32_t n_ctx, n_batch, n_past;
    bn_pool *pool;
    uint16_t *k_cache, *v_cache;  /* f16, [layer][K/V head][position][head_dim]: a head's rows in a row */
    size_t cache_bytes;           /* of each of k_cache and v_cache (mapped) */
    /* scratch for up to n_batch tokens */
    float *x, *h, *q, *k, *v, *att, *g, *u;
    int8_t *qa;
    int8_t *qt;                   /* qa in tiles (bn_tile_act) where the kernels take them, else NULL */
    float *qa_scale;
    int32_t *qa_sum;
    float *rope;                  /* per token of the batch: the cos of each rotated pair, then the sin */
    float *scores;                /* per thread: bn_ctx_scratch_stride floats */
    bn_utf8_stream text;          /* bytes of a character not yet complete (bn_ctx_token_text) */
};

/* Query rows (tokens x the heads of a K/V group) of a batch that go
 * through a K/V head's cached rows together (bn_kernels.attn), so that
 * each row is converted once for all of them. 64 rows: the AVX-512 kernel
 * then converts the rows to floats once for all 64 (its attention over 1024
 * positions took 1.14x less time for 2B-4T's heads, 16 tokens x 4, than at
 * 4 tokens, and 1.21x less for bitnet_b1_58-large's, 64 x 1). */
#define BN_ATTN_ROWS 64

/* Tokens of a batch a unit of attention work takes: BN_ATTN_ROWS rows. */
static inline uint32_t bn_attn_tokens(const bn_hparams *hp)
{
    uint32_t group = (uint32_t)(hp->n_head / hp->n_head_kv);
    return group >= BN_ATTN_ROWS ? 1 : BN_ATTN_ROWS / group;
}

/* Floats of c->scores each thread owns: n_ctx scores for each query row of
 * a unit, then the kernel's scratch. */
static inline size_t bn_ctx_scratch_stride(const bn_ctx *c)
{
    const bn_hparams *hp = &c->model->hp;
    size_t rows = (size_t)bn_attn_tokens(hp) * (size_t)(hp->n_head / hp->n_head_kv);
    size_t d16 = ((size_t)hp->head_dim + 15) & ~(size_t)15;
    return (rows * (size_t)c->n_ctx + BN_ATTN_CHUNK * d16 + 15) & ~(size_t)15;
}

/* Evaluates n <= n_batch tokens at positions n_past.. and advances n_past.
 * logits: NULL, the last token's row (all == 0), or every token's row. */
bn_status bn_forward(bn_ctx *c, const bn_token *tokens, uint32_t n, float *logits, int all);

#endif
