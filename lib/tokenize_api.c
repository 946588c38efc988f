/* The public tokenizer API: argument and UTF-8 checks around
 * bn_vocab_tokenize (vocab_tokenize.c), and detokenizing. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "utf8.h"
#include "vocab.h"

/* ------------------------------------------------------------- public API */

static const bn_vocab *vocab_of(const bn_model *model)
{
    return model ? bn_model_vocab(model) : NULL;
}

BN_API bn_status bn_tokenize(const bn_model *model, const char *text, size_t text_len, uint32_t flags,
                             bn_token *tokens, size_t capacity, size_t *n_tokens)
{
    if (n_tokens)
        *n_tokens = 0;
    if (!model || !text || !n_tokens || (!tokens && capacity))
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: %s is NULL",
                       !model ? "model" : !text ? "text" : !n_tokens ? "n_tokens" : "tokens");
    bn_tokvec out = { 0 };
    bn_status st = bn_tokenize_vec(model, text, text_len, flags, &out);
    if (st == BN_OK) {
        *n_tokens = out.n;
        if (out.n > capacity)
            st = bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_tokenize: %zu tokens do not fit in a capacity of %zu", out.n,
                         capacity);
        else if (out.n)
            memcpy(tokens, out.p, out.n * sizeof *tokens);
    }
    free(out.p);
    return st;
}

bn_status bn_tokenize_vec(const bn_model *model, const char *text, size_t text_len, uint32_t flags, bn_tokvec *out)
{
    if (flags & ~(BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL))
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: unknown flags 0x%x", (unsigned)flags);
    const bn_vocab *v = vocab_of(model);
    if (!v)
        return bn_fail(BN_E_UNSUPPORTED, "bn_tokenize: the model has no vocabulary");
    size_t bad = bn_utf8_invalid_at(text, text_len);
    if (bad < text_len)
        return bn_fail(BN_E_INVALID_UTF8, "bn_tokenize: invalid UTF-8 at byte offset %zu (byte 0x%02x)", bad,
                       (unsigned char)text[bad]);
    return bn_vocab_tokenize(v, text, text_len, (flags & BN_TOKENIZE_ADD_SPECIAL) != 0,
                             (flags & BN_TOKENIZE_PARSE_SPECIAL) != 0, out);
}

/* Ids the model can produce past the tokenizer's own range (padded
 * embeddings) render as nothing. */
bn_status bn_token_piece(const bn_model *model, bn_token token, int special, const char **p, size_t *len)
{
    const bn_vocab *v = vocab_of(model);
    if (token >= 0 && token < bn_vocab_n(v)) {
        *p = bn_vocab_piece(v, token, special, len);
        return BN_OK;
    }
    if (token >= 0 && token < bn_model_n_vocab(model)) {
        *p = "";
        *len = 0;
        return BN_OK;
    }
    return bn_fail(BN_E_INVALID_TOKEN, "token %d is outside the vocabulary (0..%d)", (int)token,
                   (int)bn_model_n_vocab(model) - 1);
}

BN_API bn_status bn_token_to_piece(const bn_model *model, bn_token token, uint32_t flags, char *buf, size_t cap,
                                   size_t *len)
{
    if (!model || !len || (!buf && cap))
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: %s is NULL", !model ? "model" : !len ? "len" : "buf");
    if (flags & ~BN_DETOKENIZE_SPECIAL)
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: unknown flags 0x%x", (unsigned)flags);
    const char *p = "";
    size_t n = 0;
    bn_status st = bn_token_piece(model, token, (flags & BN_DETOKENIZE_SPECIAL) != 0, &p, &n);
    if (st != BN_OK)
        return st;
    *len = n;
    if (n > cap)
        return bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_token_to_piece: token %d needs %zu bytes", (int)token, n);
    if (n)
        memcpy(buf, p, n);
    return BN_OK;
}

typedef struct sink {
    char *buf;
    size_t cap, len;
} sink;

static void sink_put(sink *s, const char *p, size_t n)
{
    if (s->len < s->cap) {
        size_t k = s->cap - s->len < n ? s->cap - s->len : n;
        memcpy(s->buf + s->len, p, k);
    }
    s->len += n;
}

BN_API bn_status bn_detokenize(const bn_model *model, const bn_token *tokens, size_t n_tokens, uint32_t flags,
                               char *buf, size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    if (!model || !len || (!tokens && n_tokens) || (!buf && cap))
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: %s is NULL",
                       !model ? "model" : !len ? "len" : !buf && cap ? "buf" : "tokens");
    if (flags & ~BN_DETOKENIZE_SPECIAL)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: unknown flags 0x%x", (unsigned)flags);
    const bn_vocab *v = vocab_of(model);
    /* SentencePiece: drop the space the tokenizer put before the first word,
     * so text -> tokens -> text is the identity. */
    int strip = v && v->type == BN_VOCAB_SPM && v->add_space_prefix;
    bn_utf8_stream us;
    bn_utf8_stream_init(&us);
    sink out = { buf, cap, 0 };
    char tmp[3 * 256 + 3];
    for (size_t i = 0; i < n_tokens; i++) {
        const char *p = "";
        size_t n = 0;
        bn_status st = bn_token_piece(model, tokens[i], (flags & BN_DETOKENIZE_SPECIAL) != 0, &p, &n);
        if (st != BN_OK)
            return bn_fail(st, "bn_detokenize: token %d at index %zu is outside the vocabulary", (int)tokens[i], i);
        if (strip && n) {
            if (p[0] == ' ') {
                p++;
                n--;
            }
            strip = 0;
        }
        for (size_t k = 0; k < n; k += 256) {
            size_t m = n - k < 256 ? n - k : 256;
            sink_put(&out, tmp, bn_utf8_stream_feed(&us, p + k, m, tmp));
        }
    }
    sink_put(&out, tmp, bn_utf8_stream_flush(&us, tmp));
    *len = out.len;
    if (out.len >= cap)
        return bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_detokenize: the text needs %zu bytes plus a NUL", out.len);
    buf[out.len] = '\0';
    return BN_OK;
}

BN_API bn_token bn_token_bos(const bn_model *model)
{
    const bn_vocab *v = vocab_of(model);
    return v ? v->bos : -1;
}

BN_API bn_token bn_token_eos(const bn_model *model)
{
    const bn_vocab *v = vocab_of(model);
    return v ? v->eos : -1;
}

BN_API bn_token bn_token_eot(const bn_model *model)
{
    const bn_vocab *v = vocab_of(model);
    return v ? v->eot : -1;
}

BN_API int bn_token_is_eog(const bn_model *model, bn_token token)
{
    const bn_vocab *v = vocab_of(model);
    return v && token >= 0 && bn_vocab_is_eog(v, token);
}

BN_API const char *bn_token_text(const bn_model *model, bn_token token)
{
    const bn_vocab *v = vocab_of(model);
    if (!v || token < 0 || token >= v->n_tokens)
        return NULL;
    return bn_vocab_text(v, token);
}
