/* The forward pass of the supported architectures, written directly (no graph):
 * embeddings, then per layer attention and FFN with ternary projections, then
 * the output head. Work is split across threads by output rows (or heads), never
 * by a float reduction, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "context.h"
#include "ggml_types.h"
#include "rope.h"

/* Quantizes n rows of `cols` activations for the ternary kernels. */
static void quantize_rows(bn_ctx *c, const float *x, uint32_t n, int64_t cols)
{
    const bn_kernels *k = c->model->kern;
    for (uint32_t t = 0; t < n; t++)
        k->quantize_act(x + t * cols, cols, c->qa + t * cols, &c->qa_scale[t], &c->qa_sum[t]);
}

/* Elementwise loops over local restrict pointers, so the compiler vectorizes
 * them (through the context's members it must assume aliasing); each element
 * is computed exactly as written, so results do not change. */
static void add_into(float *restrict x, const float *restrict h, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += h[i];
}

/* Up to three projections of the same quantized input (Q, K, V; gate, up)
 * in one round through the pool, cut in chunks of rows that the threads
 * share out (bn_pool_run_chunks), so that a thread on a slower core takes
 * fewer. Decode makes hundreds of rounds a token. */
struct matmul_job {
    bn_ctx *c;
    uint32_t n;
    int count;
    const bn_linear *lin[3];
    float *y[3];
    int64_t chunk_rows;
    int64_t first[4];  /* chunk index where matrix i starts; first[count]: total */
    int glu;           /* y[0] = act(y[0]) * y[1]: gate and up, one chunk of rows of both at a time */
};

/* Rows a chunk: a multiple of 16 (the kernels' row groups) near 16 KiB of
 * ternary codes, small enough that the last chunks even the threads out,
 * large enough that taking one costs nothing. */
static int64_t chunk_rows(int64_t cols)
{
    int64_t rows = ((int64_t)16384 / (cols / 4) + 15) / 16 * 16;
    return rows < 16 ? 16 : rows;
}

/* Whether a batch of n tokens has its activations in tiles too (c->qt,
 * filled by the steps that quantize them) for bn_kernels.tgemm_tiled. */
static int tiled(const bn_ctx *c, uint32_t n)
{
    return c->qt && n >= 2;
}

/* Quantizes token t's row of `cols` activations of a batch of n, into
 * tiles too where the batch uses them. */
static void quantize_token(bn_ctx *c, const float *x, int64_t cols, uint32_t t, uint32_t n)
{
    int8_t *q = c->qa + t * cols;
    c->model->kern->quantize_act(x, cols, q, &c->qa_scale[t], &c->qa_sum[t]);
    if (tiled(c, n))
        bn_tile_act(q, cols, t, c->qt);
}

static void project(struct matmul_job *j, int i, int64_t r0, int64_t r1)
{
    const bn_tmat *w = &j->lin[i]->w;
    const bn_ctx *c = j->c;
    const bn_kernels *k = c->model->kern;
    float *y = j->y[i];
    if (tiled(c, j->n))
        k->tgemm_tiled(w, r0, r1, c->qa, c->qt, c->qa_scale, c->qa_sum, j->n, y, w->rows);
    else
        k->tgemm(w, r0, r1, c->qa, c->qa_scale, c->qa_sum, j->n, y, w->rows);
    if (j->lin[i]->out_scale != 1.0f)
        for (uint32_t t = 0; t < j->n; t++)
            for (int64_t r = r0; r < r1; r++)
                y[t * w->rows + r] *= j->lin[i]->out_scale;
}

/* Rows [r0, r1) of the chunk range [c0, c1) that fall in the span
 * [first, first + n) of a matrix's chunks, rows long; 0 if none. */
static int chunk_span(int64_t c0, int64_t c1, int64_t first, int64_t n, int64_t per, int64_t rows, int64_t *r0,
                      int64_t *r1)
{
    int64_t a = c0 > first ? c0 : first, b = c1 < first + n ? c1 : first + n;
    if (a >= b)
        return 0;
    *r0 = (a - first) * per;
    *r1 = (b - first) * per < rows ? (b - first) * per : rows;
    return 1;
}

static void matmul_chunks(void *arg, int64_t c0, int64_t c1, int ith)
{
    struct matmul_job *j = arg;
    (void)ith;
    int64_t r0 = 0, r1 = 0;
    if (!j->glu) {
        for (int i = 0; i < j->count; i++)
            if (chunk_span(c0, c1, j->first[i], j->first[i + 1] - j->first[i], j->chunk_rows, j->lin[i]->w.rows, &r0,
                           &r1))
                project(j, i, r0, r1);
        return;
    }
    /* The FFN activation on rows of gate and up just computed by this thread. */
    int64_t rows = j->lin[0]->w.rows;
    chunk_span(c0, c1, 0, j->first[1], j->chunk_rows, rows, &r0, &r1);
    project(j, 0, r0, r1);
    project(j, 1, r0, r1);
    /* BitNet b1.58 2B-4T squares the relu; the others use SiLU. */
    int act = j->c->model->arch == BN_ARCH_BITNET_B158 ? BN_GLU_RELU2 : BN_GLU_SILU;
    for (uint32_t t = 0; t < j->n; t++)
        j->c->model->kern->glu(act, j->y[0] + t * rows + r0, j->y[1] + t * rows + r0, r1 - r0);
}

static void matmul_run(struct matmul_job *j)
{
    j->chunk_rows = chunk_rows(j->lin[0]->w.cols);
    int matrices = j->glu ? 1 : j->count;  /* glu: a chunk is rows of both */
    j->first[0] = 0;
    for (int i = 0; i < matrices; i++)
        j->first[i + 1] = j->first[i] + (j->lin[i]->w.rows + j->chunk_rows - 1) / j->chunk_rows;
    bn_pool_run_chunks(j->c->pool, j->first[matrices], matmul_chunks, j);
}

/* y[n][rows] = lin(quantized activations already in c->qa), for each of
 * the `count` pairs. */
static void matmul(bn_ctx *c, uint32_t n, int count, const bn_linear *l0, float *y0, const bn_linear *l1, float *y1,
                   const bn_linear *l2, float *y2)
{
    struct matmul_job j = { c, n, count, { l0, l1, l2 }, { y0, y1, y2 }, 0, { 0 }, 0 };
    matmul_run(&j);
}

/* g = act(gate(input)) * up(input), in one round. */
static void matmul_glu(bn_ctx *c, uint32_t n, const bn_layer *L)
{
    struct matmul_job j = { c, n, 2, { &L->wgate, &L->wup, NULL }, { c->g, c->u, NULL }, 0, { 0 }, 1 };
    matmul_run(&j);
}

struct attn_job {
    bn_ctx *c;
    int layer;
    uint32_t n, pos0;
};

/* The unit a thread takes in round r of dealing units out: in turn, the
 * order reversed every other round, so that with units of many tokens a
 * batch's later (longer) ones do not all go to the same threads (64
 * tokens in four units on two threads: 0 and 3 to one, 1 and 2 to the
 * other). */
static int64_t dealt(int64_t r, int ith, int nth)
{
    return r * nth + (r % 2 ? nth - 1 - ith : ith);
}

/* One (tokens, K/V head) pair at a time: all the query heads that share the
 * K/V head, of up to bn_attn_tokens consecutive tokens of a batch, together
 * (the kernel converts each cached row once for all of them). */
static void attn_task(void *arg, int ith, int nth)
{
    struct attn_job *j = arg;
    bn_ctx *c = j->c;
    const bn_hparams *hp = &c->model->hp;
    int d = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const uint32_t unit = bn_attn_tokens(hp);                             /* tokens a unit */
    float *scores = c->scores + (size_t)ith * bn_ctx_scratch_stride(c);  /* group rows of n_ctx per token */
    float *row = scores + (size_t)unit * group * c->n_ctx;               /* the kernel's scratch */
    float scale = 1.0f / sqrtf((float)d);
    /* Decode has few units (5 K/V heads for 2B-4T). Only when there are
     * fewer than threads are the groups cut in parts (each part reads and
     * converts the whole K/V head again): on two threads, K/V heads dealt out
     * whole made 2B-4T's decode attention 0.65-0.8 -> 0.4 ms a token at
     * 64-128 positions when the two threads had separate cores' bandwidth
     * (~63 GB/s together), and no slower when they shared ~36 GB/s. Each
     * head is computed the same way whatever group it is in. */
    int parts = 1;
    if (j->n == 1 && hp->n_head_kv < nth) {
        parts = (nth + hp->n_head_kv - 1) / hp->n_head_kv;
        parts = parts < group ? parts : group;
    }
    int per = (group + parts - 1) / parts;
    int64_t blocks = (j->n + unit - 1) / unit;
    int64_t per_head = blocks * parts, units = per_head * hp->n_head_kv;
    size_t layer0 = (size_t)j->layer * hp->n_head_kv * c->n_ctx * d;  /* the layer's K/V head 0, position 0 */
    /* Units in K/V head order, so that a thread's next unit mostly reads the
     * rows its last one brought into cache (prefill: each token of the batch
     * attends to the same K/V head), dealt out in turn: later tokens attend
     * to more positions, so contiguous shares would give the last thread
     * most of the work. */
    for (int64_t r = 0; r * nth < units; r++) {
        int64_t u = dealt(r, ith, nth);
        if (u >= units)
            continue;
        uint32_t t = (uint32_t)(u % per_head / parts) * unit;
        uint32_t nt = j->n - t < unit ? j->n - t : unit;
        int kvh = (int)(u / per_head), g0 = (int)(u % parts) * per;
        int ng = group - g0 < per ? group - g0 : per;
        if (ng <= 0)
            continue;
        size_t head0 = (size_t)t * hp->n_embd + ((size_t)kvh * group + g0) * d;
        size_t rows0 = layer0 + (size_t)kvh * c->n_ctx * d;
        /* Decode: the K rows this thread's next unit reads first, for the
         * kernel to prefetch along the way (prefill's rows are in cache). */
        const uint16_t *next = NULL;
        uint32_t n_kv = j->pos0 + t + 1;
        int64_t u_next = dealt(r + 1, ith, nth);
        if (j->n == 1 && u_next < units)
            next = c->k_cache + layer0 + (size_t)(u_next / per_head) * c->n_ctx * d;
        c->model->kern->attn(c->q + head0, (size_t)hp->n_embd, nt, c->k_cache + rows0, c->v_cache + rows0, (size_t)d,
                             n_kv, ng, d, scale, scores, c->n_ctx, row, c->att + head0, (size_t)hp->n_embd, j->n == 1,
                             next, next ? (size_t)n_kv * d * sizeof *next : 0);
    }
}

struct head_job {
    bn_ctx *c;
    const float *x;   /* normalised rows */
    uint32_t n;
    float *logits;
};

/* Rows of the output head a chunk (see matmul_job): 16 rows of 2B-4T's F16
 * head are 80 KiB. */
#define HEAD_CHUNK 16

static void head_chunks(void *arg, int64_t c0, int64_t c1, int ith)
{
    struct head_job *j = arg;
    (void)ith;
    const bn_model *m = j->c->model;
    const bn_dense *o = &m->output;
    int64_t r0 = c0 * HEAD_CHUNK, r1 = c1 * HEAD_CHUNK < o->rows ? c1 * HEAD_CHUNK : o->rows;
    if (m->head_i8.q)  /* rows already quantized into c->qa by bn_forward */
        m->kern->i8gemm(&m->head_i8, r0, r1, j->c->qa, j->c->qa_scale, j->n, j->logits, o->rows);
    else
        m->kern->fgemm(o->type, o->data, o->row_bytes, r0, r1, o->cols, j->x, j->n, j->logits, o->rows);
}

/* The per-token steps between the matrix products. Each token's step is
 * independent of the others, so a batch splits them over the threads (which
 * would otherwise wait, or park, while one thread did them). */
enum stage { ATTN_IN, ATTN_ROPE, ATTN_OUT, FFN_IN, FFN_OUT };

struct stage_job {
    bn_ctx *c;
    int il;
    enum stage s;
    uint32_t n;
};

static void stage_token(bn_ctx *c, int il, enum stage s, uint32_t t, uint32_t n)
{
    const bn_model *m = c->model;
    const bn_hparams *hp = &m->hp;
    const bn_layer *L = &m->layers[il];
    const bn_kernels *k = m->kern;
    int64_t E = hp->n_embd, F = hp->n_ff, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    float *x = c->x + t * E, *h = c->h + t * E;
    switch (s) {
    case ATTN_IN:  /* the previous layer's FFN output joins the residual */
        if (il > 0)
            add_into(x, h, E);
        k->rmsnorm(x, L->attn_norm, E, hp->norm_eps, h);
        quantize_token(c, h, E, t, n);
        break;
    case ATTN_ROPE: {
        const float *tab = c->rope + (size_t)t * hp->head_dim;
        bn_rope(c->q + t * E, hp->n_head, hp->head_dim, tab, hp->rope_neox);
        bn_rope(c->k + t * kv_dim, hp->n_head_kv, hp->head_dim, tab, hp->rope_neox);
        for (int kvh = 0; kvh < hp->n_head_kv; kvh++) {
            size_t at = (((size_t)il * hp->n_head_kv + kvh) * c->n_ctx + c->n_past + t) * hp->head_dim;
            k->to_f16(c->k + t * kv_dim + kvh * hp->head_dim, c->k_cache + at, hp->head_dim);
            k->to_f16(c->v + t * kv_dim + kvh * hp->head_dim, c->v_cache + at, hp->head_dim);
        }
        break;
    }
    case ATTN_OUT: {
        float *a = c->att + t * E;
        if (L->attn_sub_norm)
            k->rmsnorm(a, L->attn_sub_norm, E, hp->norm_eps, a);
        quantize_token(c, a, E, t, n);
        break;
    }
    case FFN_IN:
        add_into(x, h, E);
        k->rmsnorm(x, L->ffn_norm, E, hp->norm_eps, h);
        quantize_token(c, h, E, t, n);
        break;
    case FFN_OUT: {  /* the activation was applied with the products (matmul_glu) */
        float *g = c->g + t * F;
        if (L->ffn_sub_norm)
            k->rmsnorm(g, L->ffn_sub_norm, F, hp->norm_eps, g);
        quantize_token(c, g, F, t, n);
        break;
    }
    }
}

static void stage_task(void *arg, int ith, int nth)
{
    struct stage_job *j = arg;
    int64_t lo, hi;
    bn_split(j->n, 1, ith, nth, &lo, &hi);
    for (int64_t t = lo; t < hi; t++)
        stage_token(j->c, j->il, j->s, (uint32_t)t, j->n);
}

static void run_stage(bn_ctx *c, int il, enum stage s, uint32_t n)
{
    struct stage_job j = { c, il, s, n };
    if (n == 1)  /* decode: not worth a round trip through the pool */
        stage_task(&j, 0, 1);
    else
        bn_pool_run(c->pool, stage_task, &j);
}

static void layer(bn_ctx *c, int il, uint32_t n)
{
    const bn_layer *L = &c->model->layers[il];
    run_stage(c, il, ATTN_IN, n);
    matmul(c, n, 3, &L->wq, c->q, &L->wk, c->k, &L->wv, c->v);
    run_stage(c, il, ATTN_ROPE, n);
    struct attn_job aj = { c, il, n, c->n_past };
    bn_pool_run(c->pool, attn_task, &aj);
    run_stage(c, il, ATTN_OUT, n);
    matmul(c, n, 1, &L->wo, c->h, NULL, NULL, NULL, NULL);
    run_stage(c, il, FFN_IN, n);
    matmul_glu(c, n, L);
    run_stage(c, il, FFN_OUT, n);
    matmul(c, n, 1, &L->wdown, c->h, NULL, NULL, NULL, NULL);  /* joins the residual in the next ATTN_IN */
}

bn_status bn_forward(bn_ctx *c, const bn_token *tokens, uint32_t n, float *logits, int all)
{
    const bn_model *m = c->model;
    const bn_hparams *hp = &m->hp;
    int64_t E = hp->n_embd;
    for (uint32_t t = 0; t < n; t++) {
        const bn_dense *e = &m->tok_embd;
        m->kern->dequant_row(e->type, bn_dense_row(e, tokens[t]), c->x + t * E, E);
    }
    for (uint32_t t = 0; t < n; t++)
        bn_rope_table(c->rope + (size_t)t * hp->head_dim, hp->head_dim, c->n_past + t, hp->rope_base);
    for (int il = 0; il < hp->n_layer; il++)
        layer(c, il, n);
    if (hp->n_layer > 0)
        add_into(c->x, c->h, (int64_t)n * E);
    c->n_past += n;
    if (!logits)
        return BN_OK;
    uint32_t first = all ? 0 : n - 1, rows = all ? n : 1;
    for (uint32_t t = first; t < n; t++)
        m->kern->rmsnorm(c->x + t * E, m->output_norm, E, hp->norm_eps, c->h + (t - first) * E);
    if (m->head_i8.q)
        quantize_rows(c, c->h, rows, E);
    struct head_job hj = { c, c->h, rows, logits };
    bn_pool_run_chunks(c->pool, (m->output.rows + HEAD_CHUNK - 1) / HEAD_CHUNK, head_chunks, &hj);
    return BN_OK;
}
