/* bn_ctx lifecycle and evaluation: the KV cache, batching, context limits. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "huge_map.h"
#include "params.h"

/* A K or V cache on huge pages (huge_map.h): decode reads every head's rows
 * from memory each token. Its pages become resident as tokens are written,
 * 2 MiB at a time on huge pages. */
static uint16_t *alloc_cache(size_t bytes, bn_status *st)
{
    if (*st != BN_OK)
        return NULL;
    uint16_t *p = bn_huge_map(bytes);
    if (!p)
        *st = bn_fail(BN_E_NOMEM, "out of memory for a KV cache of %zu bytes", bytes);
    return p;
}

BN_API void bn_ctx_params_init_sized(bn_ctx_params *p, size_t size)
{
    bn_ctx_params def = { .size = sizeof def };
    bn_params_init(p, size, &def, sizeof def);
}

BN_API void(bn_ctx_params_init)(bn_ctx_params *p)
{
    bn_ctx_params_init_sized(p, BN_PARAMS_SIZE_0(bn_ctx_params, n_batch));
}

/* Zeroed and 64-byte aligned, so the kernels' vector loads of activation
 * rows never straddle cache lines (measured: 8-20% of AVX-512 time with
 * calloc's 16-byte alignment). */
static void *alloc_array(size_t n, size_t size, bn_status *st)
{
    if (*st != BN_OK)
        return NULL;
    if (n && size > (SIZE_MAX - 63) / n) {
        *st = bn_fail(BN_E_NOMEM, "context buffer of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    size_t bytes = ((n ? n * size : 1) + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (!p)
        *st = bn_fail(BN_E_NOMEM, "out of memory for a context buffer of %zu bytes", bytes);
    else
        memset(p, 0, bytes);
    return p;
}

BN_API bn_status bn_ctx_new(bn_model *model, const bn_ctx_params *params, bn_ctx **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_new: out is NULL");
    *out = NULL;
    if (!model)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_new: model is NULL");
    bn_ctx_params p;
    bn_ctx_params_init(&p);
    bn_status st;
    if (params && (st = bn_params_copy(&p, sizeof p, params, "bn_ctx_params")) != BN_OK)
        return st;
    const bn_hparams *hp = &model->hp;
    uint32_t n_ctx = p.n_ctx;
    if (n_ctx == 0)
        n_ctx = (uint32_t)(hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    if (n_ctx > (1u << 24))
        return bn_fail(BN_E_INVALID_ARG, "n_ctx %u is larger than 16M tokens", n_ctx);
    /* Allowed (the host may know the model copes), but said once, as llama.cpp does. */
    if (n_ctx > (uint32_t)hp->n_ctx_train)
        bn_log(&model->log, BN_LOG_WARN, "n_ctx %u is longer than the model's training context (%d tokens): "
               "text past it may degrade", n_ctx, hp->n_ctx_train);
    if (p.n_threads < 0 || p.n_threads > 1024)
        return bn_fail(BN_E_INVALID_ARG, "n_threads %d is outside 0..1024", p.n_threads);
    uint32_t n_batch = p.n_batch ? p.n_batch : 64;
    if (n_batch > BN_MAX_BATCH)
        return bn_fail(BN_E_INVALID_ARG, "n_batch %u is larger than %d", n_batch, BN_MAX_BATCH);
    if (n_batch > n_ctx)
        n_batch = n_ctx;

    bn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return bn_fail(BN_E_NOMEM, "out of memory for the context");
    c->model = model;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    st = bn_pool_new(p.n_threads ? p.n_threads : 1, &c->pool);
    size_t E = (size_t)hp->n_embd, F = (size_t)hp->n_ff, KV = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t widest = E > F ? E : F;
    size_t cache = (size_t)hp->n_layer * n_ctx;
    if (cache && KV > SIZE_MAX / sizeof(uint16_t) / cache)
        st = bn_fail(BN_E_NOMEM, "a KV cache of %zu x %zu elements overflows", cache, KV);
    c->cache_bytes = cache * KV * sizeof(uint16_t);
    c->k_cache = alloc_cache(c->cache_bytes, &st);
    c->v_cache = alloc_cache(c->cache_bytes, &st);
    c->x = alloc_array(n_batch, E * sizeof(float), &st);
    c->h = alloc_array(n_batch, E * sizeof(float), &st);
    c->q = alloc_array(n_batch, E * sizeof(float), &st);
    c->att = alloc_array(n_batch, E * sizeof(float), &st);
    c->k = alloc_array(n_batch, KV * sizeof(float), &st);
    c->v = alloc_array(n_batch, KV * sizeof(float), &st);
    c->g = alloc_array(n_batch, F * sizeof(float), &st);
    c->u = alloc_array(n_batch, F * sizeof(float), &st);
    c->qa = alloc_array(n_batch, widest, &st);
    if (model->kern->tgemm_tiled)
        c->qt = alloc_array(1, bn_tile_act_bytes(n_batch, (int64_t)widest), &st);
    c->qa_scale = alloc_array(n_batch, sizeof(float), &st);
    c->qa_sum = alloc_array(n_batch, sizeof(int32_t), &st);
    c->rope = alloc_array(n_batch, (size_t)hp->head_dim * sizeof(float), &st);
    c->scores = alloc_array((size_t)bn_pool_size(c->pool), bn_ctx_scratch_stride(c) * sizeof(float), &st);
    if (st != BN_OK) {
        bn_ctx_free(c);
        return st;
    }
    *out = c;
    return BN_OK;
}

BN_API void bn_ctx_free(bn_ctx *c)
{
    if (!c)
        return;
    bn_pool_free(c->pool);
    bn_huge_unmap(c->k_cache, c->cache_bytes);
    bn_huge_unmap(c->v_cache, c->cache_bytes);
    free(c->x);
    free(c->h);
    free(c->q);
    free(c->att);
    free(c->k);
    free(c->v);
    free(c->g);
    free(c->u);
    free(c->qa);
    free(c->qt);
    free(c->qa_scale);
    free(c->qa_sum);
    free(c->rope);
    free(c->scores);
    free(c);
}

BN_API void bn_ctx_reset(bn_ctx *c)
{
    if (c) {
        c->n_past = 0;
        bn_utf8_stream_init(&c->text);  /* the pending bytes of a character belong to the old sequence */
    }
}

BN_API uint32_t bn_ctx_n_ctx(const bn_ctx *c) { return c ? c->n_ctx : 0; }
BN_API uint32_t bn_ctx_n_past(const bn_ctx *c) { return c ? c->n_past : 0; }
BN_API const bn_model *bn_ctx_model(const bn_ctx *c) { return c ? c->model : NULL; }

static bn_status eval(bn_ctx *c, const bn_token *tokens, size_t n, float *logits, int all)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_eval: ctx is NULL");
    if (n == 0 && logits && !all)  /* no last token: nothing could be written */
        return bn_fail(BN_E_INVALID_ARG, "bn_eval: no tokens, so there are no logits to write");
    if (all && !logits)
        return bn_fail(BN_E_INVALID_ARG, "bn_eval_all: logits is NULL");
    if (n == 0)
        return BN_OK;
    if (!tokens)
        return bn_fail(BN_E_INVALID_ARG, "bn_eval: tokens is NULL");
    if (n > c->n_ctx - c->n_past)
        return bn_fail(BN_E_CONTEXT_FULL, "%zu tokens do not fit: the context holds %u of %u", n, c->n_past, c->n_ctx);
    int32_t n_vocab = c->model->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return bn_fail(BN_E_INVALID_TOKEN, "token %d at index %zu is outside the vocabulary (0..%d)", tokens[i], i,
                           n_vocab - 1);
    for (size_t done = 0; done < n;) {
        uint32_t chunk = (uint32_t)(n - done < c->n_batch ? n - done : c->n_batch);
        int last = done + chunk == n;
        float *out = NULL;
        if (logits && all)
            out = logits + done * (size_t)n_vocab;
        else if (logits && last)
            out = logits;
        bn_status st = bn_forward(c, tokens + done, chunk, out, all);
        if (st != BN_OK)
            return st;
        done += chunk;
    }
    return BN_OK;
}

BN_API bn_status bn_eval(bn_ctx *c, const bn_token *tokens, size_t n, float *logits)
{
    return eval(c, tokens, n, logits, 0);
}

BN_API bn_status bn_eval_all(bn_ctx *c, const bn_token *tokens, size_t n, float *logits)
{
    return eval(c, tokens, n, logits, 1);
}
