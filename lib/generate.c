/* bn_generate: prompt in, streamed text out, with stop strings that never leak. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "params.h"

typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static bn_status tb_reserve(textbuf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return BN_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return bn_fail(BN_E_NOMEM, "out of memory for generated text");
    b->p = p;
    b->cap = cap;
    return BN_OK;
}

/* Length of the longest suffix of text that is a proper prefix of a stop string:
 * that much must be held back until the next piece decides. */
static size_t stop_holdback(const char *text, size_t len, const bn_gen_params *gp)
{
    size_t hold = 0;
    for (size_t s = 0; s < gp->n_stop; s++) {
        size_t sl = strlen(gp->stop[s]);
        for (size_t k = sl - 1 < len ? sl - 1 : len; k > hold; k--)
            if (!memcmp(text + len - k, gp->stop[s], k)) {
                hold = k;
                break;
            }
    }
    return hold;
}

/* Position of the first stop string in text, or len if none. */
static size_t find_stop(const char *text, size_t len, const bn_gen_params *gp)
{
    size_t first = len;
    for (size_t s = 0; s < gp->n_stop; s++) {
        size_t sl = strlen(gp->stop[s]);
        for (size_t i = 0; i + sl <= len && i < first; i++)
            if (!memcmp(text + i, gp->stop[s], sl)) {
                first = i;
                break;
            }
    }
    return first;
}

typedef struct gen_state {
    bn_ctx *c;
    const bn_gen_params *gp;
    bn_token_fn cb;
    void *user;
    textbuf pending;   /* complete UTF-8 not yet handed to the callback */
    int stopped;       /* a stop string or the callback ended generation */
} gen_state;

/* Hands the callback what can be released of the pending text. */
static void emit(gen_state *g, bn_token tok, int final)
{
    size_t stop = find_stop(g->pending.p, g->pending.len, g->gp);
    size_t n = stop;
    if (stop == g->pending.len && !final)
        n -= stop_holdback(g->pending.p, g->pending.len, g->gp);
    if (stop < g->pending.len)
        g->stopped = 1;
    if (g->cb && (n > 0 || !final) && g->cb(g->user, tok, g->pending.p, n))
        g->stopped = 1;
    memmove(g->pending.p, g->pending.p + n, g->pending.len - n);
    g->pending.len -= n;
}

/* Appends a token's text to the pending buffer through the context's UTF-8 stream. */
static bn_status add_piece(gen_state *g, bn_token tok)
{
    const char *piece;
    size_t len;
    bn_status st = bn_token_piece(g->c->model, tok, 0, &piece, &len);
    if (st == BN_OK && (st = tb_reserve(&g->pending, bn_utf8_stream_max_out(len))) == BN_OK)
        g->pending.len += bn_utf8_stream_feed(&g->c->text, piece, len, g->pending.p + g->pending.len);
    return st;
}

/* gp.context_shift in a full context: forgets the older half of what
 * follows the first keep tokens (bn_ctx_discard keeps the pending text,
 * which is the latest tokens'). Whether there is room now. */
static int shift(bn_ctx *c, uint32_t keep)
{
    uint32_t n = keep < c->n_past ? (c->n_past - keep) / 2 : 0;
    return n > 0 && bn_ctx_discard(c, keep, n) == BN_OK;
}

BN_API bn_status bn_generate(bn_ctx *c, const char *prompt, const bn_gen_params *params, bn_token_fn on_token,
                             void *user)
{
    if (!c || !prompt)
        return bn_fail(BN_E_INVALID_ARG, "bn_generate: %s is NULL", !c ? "ctx" : "prompt");
    bn_gen_params gp;
    bn_gen_params_init(&gp);
    bn_status st;
    if (params && (st = bn_params_copy(&gp, sizeof gp, params, "bn_gen_params")) != BN_OK)
        return st;
    if ((st = bn_gen_params_check(&gp)) != BN_OK)
        return st;
    const bn_model *m = c->model;
    uint32_t flags = gp.tokenize_flags;
    if (c->n_past > 0)
        flags &= ~BN_TOKENIZE_ADD_SPECIAL;  /* BOS only starts a sequence */
    bn_tokvec toks = { 0 };
    float *logits = NULL;
    bn_sampler *smp = NULL;
    gen_state g = { c, &gp, on_token, user, { 0 }, 0 };
    if ((st = bn_tokenize_vec(m, prompt, strlen(prompt), flags, &toks)) != BN_OK)
        goto done;
    if (toks.n == 0) {
        st = bn_fail(BN_E_INVALID_ARG, "bn_generate: the prompt gives no tokens");
        goto done;
    }
    if (toks.n > c->n_ctx - c->n_past) {
        st = bn_fail(BN_E_CONTEXT_FULL, "the prompt's %zu tokens do not fit: the context holds %u of %u", toks.n,
                     c->n_past, c->n_ctx);
        goto done;
    }
    if (!(logits = malloc((size_t)m->hp.n_vocab * sizeof *logits))) {
        st = bn_fail(BN_E_NOMEM, "out of memory for generation");
        goto done;
    }
    if ((st = bn_sampler_new(&gp, &smp)) != BN_OK || (st = bn_eval(c, toks.p, toks.n, logits)) != BN_OK)
        goto done;
    for (size_t i = 0; i < toks.n; i++)
        bn_sampler_accept(smp, toks.p[i]);
    bn_utf8_stream_init(&c->text);
    const uint32_t keep = gp.n_keep < 0 ? c->n_past : gp.n_keep > 0 ? (uint32_t)gp.n_keep : bn_token_bos(m) >= 0;
    for (int32_t i = 0; gp.n_predict < 0 || i < gp.n_predict; i++) {
        bn_token tok;
        if ((st = bn_sampler_sample(smp, logits, m->hp.n_vocab, &tok)) != BN_OK)
            goto done;
        if (bn_token_is_eog(m, tok))
            break;
        bn_sampler_accept(smp, tok);
        if ((st = add_piece(&g, tok)) != BN_OK)
            goto done;
        emit(&g, tok, 0);
        if (c->n_past >= c->n_ctx && !(gp.context_shift && shift(c, keep)))
            break;
        /* The context keeps every token the callback saw, so that a following
         * call continues the text shown; the last needs no logits (no head). */
        int last = g.stopped || (gp.n_predict >= 0 && i + 1 >= gp.n_predict);
        if ((st = bn_eval(c, &tok, 1, last ? NULL : logits)) != BN_OK)
            goto done;
        if (last)
            break;
    }
    if (!g.stopped) {
        if ((st = tb_reserve(&g.pending, bn_utf8_stream_max_out(0))) != BN_OK)
            goto done;
        g.pending.len += bn_utf8_stream_flush(&c->text, g.pending.p + g.pending.len);
        if (g.pending.len)
            emit(&g, -1, 1);
    }
    st = BN_OK;
done:
    free(g.pending.p);
    bn_sampler_free(smp);
    free(logits);
    free(toks.p);
    return st;
}

BN_API bn_status bn_ctx_token_text(bn_ctx *c, bn_token token, char *buf, size_t cap, size_t *len)
{
    if (!c || !len || (!buf && cap))
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_token_text: %s is NULL", !c ? "ctx" : !len ? "len" : "buf");
    const char *piece = "";
    size_t plen = 0;
    if (token >= 0) {
        bn_status st = bn_token_piece(c->model, token, 0, &piece, &plen);
        if (st != BN_OK)
            return st;
    }
    /* The output must fit before the stream state changes, so a retry with a
     * larger buffer sees the same pending bytes. */
    size_t need = bn_utf8_stream_max_out(plen);
    if (cap < need) {
        *len = need;
        return bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_ctx_token_text needs a buffer of %zu bytes", need);
    }
    *len = token >= 0 ? bn_utf8_stream_feed(&c->text, piece, plen, buf) : bn_utf8_stream_flush(&c->text, buf);
    return BN_OK;
}
