/* A context's state as bytes (bn_ctx_state_save / bn_ctx_state_load): its
 * position and the cached K and V rows of every layer and K/V head, so that
 * a prompt evaluated once can be restored into any context of the same model.
 *
 * Layout, in the host's byte order:
 *   0   "BNKV"
 *   4   u32 format version (STATE_VERSION)
 *   8   u32 n_layer, u32 n_head_kv, u32 head_dim, u32 n_past
 *   24  u64 the model's fingerprint (model_fingerprint)
 *   32  u64 zero (reserved)
 *   40  per layer, per K/V head: n_past K rows of head_dim f16, then n_past
 *       V rows
 * The rows are the cache's own (keys rotated for their positions), so they
 * are restored at the same positions and evaluation goes on exactly as in
 * the saved context, bit for bit, on any kernel level and thread count. */
#include <string.h>

#include "context.h"

#define STATE_VERSION 1u
#define HEADER_BYTES 40

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ull;
}

/* What tells models apart cheaply: the architecture, the hyperparameters
 * (one by one: no struct padding), the weight bytes, the first embedding
 * row's values (as floats: the same however the embedding is stored) and
 * the first 4 KiB of the first layer's query matrix in the kernels' layout
 * (the same for I2_S, TQ1_0 and TQ2_0 files of one model, whose states are
 * interchangeable). Two models of one shape whose weights differ only
 * further in are not told apart. row: n_embd floats of scratch. */
static uint64_t model_fingerprint(const bn_model *m, float *row)
{
    const bn_hparams *hp = &m->hp;
    uint64_t h = 0xcbf29ce484222325ull;
    fnv(&h, m->arch_name, strlen(m->arch_name));
    const int32_t ints[] = { hp->n_vocab, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv,
                             hp->head_dim, hp->n_ff, hp->n_rot, hp->rope_neox };
    fnv(&h, ints, sizeof ints);
    fnv(&h, &hp->rope_base, sizeof hp->rope_base);
    fnv(&h, &hp->norm_eps, sizeof hp->norm_eps);
    fnv(&h, &m->weight_bytes, sizeof m->weight_bytes);
    m->kern->dequant_row(m->tok_embd.type, bn_dense_row(&m->tok_embd, 0), row, hp->n_embd);
    fnv(&h, row, (size_t)hp->n_embd * sizeof *row);
    size_t wq = bn_tmat_bytes(m->layers[0].wq.w.rows, m->layers[0].wq.w.cols);
    fnv(&h, m->layers[0].wq.w.codes, wq < 4096 ? wq : 4096);
    return h;
}

/* Bytes of the cached rows of n_past positions. */
static size_t rows_bytes(const bn_hparams *hp, uint32_t n_past)
{
    return 2 * (size_t)hp->n_layer * (size_t)hp->n_head_kv * n_past * (size_t)hp->head_dim * sizeof(uint16_t);
}

BN_API size_t bn_ctx_state_size(const bn_ctx *c)
{
    return c ? HEADER_BYTES + rows_bytes(&c->model->hp, c->n_past) : 0;
}

BN_API bn_status bn_ctx_state_save(const bn_ctx *c, void *buf, size_t cap, size_t *size)
{
    if (!c || !size)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_state_save: %s is NULL", c ? "size" : "ctx");
    *size = bn_ctx_state_size(c);
    if (!buf || cap < *size)
        return bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_ctx_state_save: the state takes %zu bytes, the buffer %zu", *size,
                       buf ? cap : 0);
    const bn_hparams *hp = &c->model->hp;
    uint8_t *p = buf;
    const uint32_t head[5] = { STATE_VERSION, (uint32_t)hp->n_layer, (uint32_t)hp->n_head_kv,
                               (uint32_t)hp->head_dim, c->n_past };
    const uint64_t tail[2] = { model_fingerprint(c->model, c->x), 0 };  /* c->x: scratch between calls */
    memcpy(p, "BNKV", 4);
    memcpy(p + 4, head, sizeof head);
    memcpy(p + 24, tail, sizeof tail);
    p += HEADER_BYTES;
    const size_t run = (size_t)c->n_past * (size_t)hp->head_dim * sizeof(uint16_t);
    for (size_t kvh = 0; kvh < (size_t)hp->n_layer * hp->n_head_kv; kvh++) {
        size_t at = kvh * c->n_ctx * (size_t)hp->head_dim;
        memcpy(p, c->k_cache + at, run);
        memcpy(p + run, c->v_cache + at, run);
        p += 2 * run;
    }
    return BN_OK;
}

BN_API bn_status bn_ctx_state_load(bn_ctx *c, const void *buf, size_t len)
{
    if (!c || !buf)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_state_load: %s is NULL", c ? "buf" : "ctx");
    const uint8_t *p = buf;
    if (len < HEADER_BYTES || memcmp(p, "BNKV", 4) != 0)
        return bn_fail(BN_E_FORMAT, "bn_ctx_state_load: not a saved context state (%zu bytes%s)", len,
                       len < HEADER_BYTES ? ", shorter than the header" : ", no BNKV magic");
    uint32_t head[5];
    uint64_t tail[2];
    memcpy(head, p + 4, sizeof head);
    memcpy(tail, p + 24, sizeof tail);
    if (head[0] != STATE_VERSION || tail[1] != 0)
        return bn_fail(BN_E_FORMAT, "bn_ctx_state_load: state format version %u, this library reads %u", head[0],
                       STATE_VERSION);
    const bn_hparams *hp = &c->model->hp;
    if (head[1] != (uint32_t)hp->n_layer || head[2] != (uint32_t)hp->n_head_kv || head[3] != (uint32_t)hp->head_dim)
        return bn_fail(BN_E_INVALID_ARG,
                       "bn_ctx_state_load: the state is of a model with %u layers x %u K/V heads of %u, this one has "
                       "%d x %d of %d",
                       head[1], head[2], head[3], hp->n_layer, hp->n_head_kv, hp->head_dim);
    if (tail[0] != model_fingerprint(c->model, c->x))
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_state_load: the state was saved from another model of this shape");
    const uint32_t n_past = head[4];
    if (n_past > c->n_ctx)
        return bn_fail(BN_E_CONTEXT_FULL, "bn_ctx_state_load: the state holds %u tokens, the context %u", n_past,
                       c->n_ctx);
    if (len != HEADER_BYTES + rows_bytes(hp, n_past))
        return bn_fail(BN_E_FORMAT, "bn_ctx_state_load: a state of %u tokens takes %zu bytes, not %zu", n_past,
                       HEADER_BYTES + rows_bytes(hp, n_past), len);
    p += HEADER_BYTES;
    const size_t run = (size_t)n_past * (size_t)hp->head_dim * sizeof(uint16_t);
    for (size_t kvh = 0; kvh < (size_t)hp->n_layer * hp->n_head_kv; kvh++) {
        size_t at = kvh * c->n_ctx * (size_t)hp->head_dim;
        memcpy(c->k_cache + at, p, run);
        memcpy(c->v_cache + at, p + run, run);
        p += 2 * run;
    }
    c->n_past = n_past;
    bn_utf8_stream_init(&c->text);  /* pending text belonged to the context's old tokens */
    return BN_OK;
}
