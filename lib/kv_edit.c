/* Editing what a context holds: dropping its last tokens (bn_ctx_truncate)
 * or a run of tokens from the middle (bn_ctx_discard). */
#include <string.h>

#include "context.h"
#include "ggml_types.h"
#include "rope.h"

BN_API bn_status bn_ctx_truncate(bn_ctx *c, uint32_t n_keep)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_truncate: ctx is NULL");
    if (n_keep > c->n_past)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_truncate: cannot keep %u tokens, the context holds %u", n_keep,
                       c->n_past);
    /* The cache rows of positions n_keep.. are simply overwritten by the next
     * tokens: each row is written before any query reads it, and rotations
     * are applied as rows are written, so the kept rows need nothing. */
    if (n_keep < c->n_past)
        bn_utf8_stream_init(&c->text);  /* pending bytes may be of a token now dropped */
    c->n_past = n_keep;
    return BN_OK;
}

/* Moves n_rows cached rows of one K/V head from position src down to dst:
 * V as it is, K rotated by the table (back by src - dst positions) and
 * rounded to f16 again, converted by the kernels (exact both ways, as
 * bn_f16_to_f32 and bn_f32_to_f16; moving 1023 rows of the demo model's
 * 4 layers x 2 heads took 0.3-0.4 ms so, 3.6-7.8 ms a value at a time).
 * dst < src, so rows are moved in order. */
static void move_rows(const bn_kernels *k, uint16_t *kc, uint16_t *vc, uint32_t dst, uint32_t src,
                      uint32_t n_rows, int d, const float *back, int neox, float *row)
{
    memmove(vc + (size_t)dst * d, vc + (size_t)src * d, (size_t)n_rows * d * sizeof *vc);
    for (uint32_t r = 0; r < n_rows; r++) {
        k->dequant_row(BN_TYPE_F16, kc + (size_t)(src + r) * d, row, d);
        bn_rope(row, 1, d, back, neox);
        k->to_f16(row, kc + (size_t)(dst + r) * d, d);
    }
}

BN_API bn_status bn_ctx_discard(bn_ctx *c, uint32_t first, uint32_t n)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_discard: ctx is NULL");
    if (first > c->n_past || n > c->n_past - first)
        return bn_fail(BN_E_INVALID_ARG,
                       "bn_ctx_discard: cannot discard %u tokens from position %u, the context holds %u", n, first,
                       c->n_past);
    if (n == 0)
        return BN_OK;
    const bn_hparams *hp = &c->model->hp;
    const int d = hp->head_dim;
    /* the table and a row in the first thread's attention scratch, which
     * holds BN_ATTN_CHUNK rows of head_dim and more */
    float *back = c->scores, *row = c->scores + d;
    bn_rope_table(back, d, -(int64_t)n, hp->rope_base);
    const uint32_t src = first + n, n_rows = c->n_past - src;
    for (size_t kvh = 0; kvh < (size_t)hp->n_layer * hp->n_head_kv; kvh++) {
        size_t at = kvh * c->n_ctx * (size_t)d;
        move_rows(c->model->kern, c->k_cache + at, c->v_cache + at, first, src, n_rows, d, back, hp->rope_neox, row);
    }
    if (first + n == c->n_past)
        bn_utf8_stream_init(&c->text);  /* pending bytes were the last token's, now dropped */
    c->n_past -= n;
    return BN_OK;
}
