/* The public tokenizer API, and the special-token partition that runs before
 * the BPE / SentencePiece tokenizers. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "utf8.h"
#include "vocab.h"

/* A piece of the input: raw text to tokenize, or an already-known token. */
typedef struct frag {
    int32_t token;  /* -1: raw text */
    size_t off, len;
} frag;

typedef struct frags {
    frag *p;
    size_t n, cap;
} frags;

static bn_status frag_add(frags *f, int32_t token, size_t off, size_t len)
{
    if (token < 0 && len == 0)
        return BN_OK;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        frag *p = realloc(f->p, cap * sizeof *p);
        if (!p)
            return bn_fail(BN_E_NOMEM, "out of memory while tokenizing");
        f->p = p;
        f->cap = cap;
    }
    frag x = { token, off, len };
    f->p[f->n++] = x;
    return BN_OK;
}

static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || m > n)
        return NULL;
    const char *end = hay + n - m + 1;
    for (const char *p = hay; p < end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p)
            return NULL;
        if (!memcmp(p, needle, m))
            return p;
    }
    return NULL;
}

/* Splits raw fragments at every occurrence of each special token's text,
 * longest tokens first, as llama.cpp's tokenizer_st_partition: user-defined
 * tokens always, control and unknown ones only when parsing special text. */
static bn_status partition(const bn_vocab *v, const char *text, size_t len, int parse_special, frags *cur)
{
    frags next = { 0 };
    bn_status st = frag_add(cur, -1, 0, len);
    for (size_t k = 0; k < v->n_special && st == BN_OK; k++) {
        int32_t id = v->special[k];
        if (!parse_special && v->ttype[id] != BN_TOKTYPE_USER_DEFINED)
            continue;
        const char *s = bn_vocab_text(v, id);
        size_t n = bn_vocab_text_len(v, id);
        int found = 0;
        for (size_t i = 0; i < cur->n && !found; i++)
            found = cur->p[i].token < 0 && find(text + cur->p[i].off, cur->p[i].len, s, n);
        if (!found)
            continue;
        next.n = 0;
        for (size_t i = 0; i < cur->n && st == BN_OK; i++) {
            frag f = cur->p[i];
            if (f.token >= 0) {
                st = frag_add(&next, f.token, 0, 0);
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            const char *m;
            while (st == BN_OK && (m = find(text + pos, end - pos, s, n)) != NULL) {
                size_t at = (size_t)(m - text);
                if ((st = frag_add(&next, -1, pos, at - pos)) == BN_OK)
                    st = frag_add(&next, id, 0, 0);
                pos = at + n;
            }
            if (st == BN_OK)
                st = frag_add(&next, -1, pos, end - pos);
        }
        frags t = *cur;
        *cur = next;
        next = t;
    }
    free(next.p);
    return st;
}

bn_status bn_vocab_tokenize(const bn_vocab *v, const char *text, size_t len, int add_special, int parse_special,
                            bn_tokvec *out)
{
    frags f = { 0 };
    bn_status st = partition(v, text, len, parse_special, &f);
    if (st == BN_OK && add_special && v->add_bos)
        st = bn_tokvec_push(out, v->bos);
    /* SentencePiece adds its prefix space to text at the start and after a special token. */
    int after_special = 1;
    for (size_t i = 0; i < f.n && st == BN_OK; i++) {
        if (f.p[i].token >= 0) {
            st = bn_tokvec_push(out, f.p[i].token);
            after_special = 1;
        } else if (v->type == BN_VOCAB_BPE) {
            st = bn_bpe_tokenize(v, text + f.p[i].off, f.p[i].len, out);
        } else {
            st = bn_spm_tokenize(v, text + f.p[i].off, f.p[i].len, v->add_space_prefix && after_special, out);
            after_special = 0;
        }
    }
    if (st == BN_OK && add_special && v->add_eos)
        st = bn_tokvec_push(out, v->eos);
    free(f.p);
    return st;
}

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
    if (flags & ~(BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL))
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: unknown flags 0x%x", (unsigned)flags);
    const bn_vocab *v = vocab_of(model);
    if (!v)
        return bn_fail(BN_E_UNSUPPORTED, "bn_tokenize: the model has no vocabulary");
    size_t bad = bn_utf8_invalid_at(text, text_len);
    if (bad < text_len)
        return bn_fail(BN_E_INVALID_UTF8, "bn_tokenize: invalid UTF-8 at byte offset %zu (byte 0x%02x)", bad,
                       (unsigned char)text[bad]);
    bn_tokvec out = { 0 };
    bn_status st = bn_vocab_tokenize(v, text, text_len, (flags & BN_TOKENIZE_ADD_SPECIAL) != 0,
                                     (flags & BN_TOKENIZE_PARSE_SPECIAL) != 0, &out);
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

/* The piece of a token; ids the model can produce past the tokenizer's own
 * range (padded embeddings) render as nothing. */
static bn_status piece_of(const bn_model *model, bn_token token, int special, const char **p, size_t *len)
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
    bn_status st = piece_of(model, token, (flags & BN_DETOKENIZE_SPECIAL) != 0, &p, &n);
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
        bn_status st = piece_of(model, tokens[i], (flags & BN_DETOKENIZE_SPECIAL) != 0, &p, &n);
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
