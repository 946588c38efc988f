/* SentencePiece BPE (tokenizer.ggml.model "llama"), as llama.cpp runs it:
 * spaces become U+2581, characters merge pairwise by the score of the token
 * they form (highest first), and what forms no token falls back to <0xNN>. */
#include <stdlib.h>
#include <string.h>

#include "merge_heap.h"
#include "utf8.h"
#include "vocab.h"

typedef struct sym {
    int32_t prev, next;
    uint32_t start, n;  /* bytes of the escaped text */
} sym;

typedef struct work {
    const char *text;
    sym *syms;
    bn_merge_heap heap;
} work;

/* Higher score first; on a tie the leftmost pair. Folded into one integer
 * key: the float's bits made order-preserving, inverted so that a higher
 * score sorts first, above the left index. */
static uint64_t order_key(float score, int32_t left)
{
    uint32_t b;
    if (score == 0)
        score = 0;  /* -0 ties with +0, as a float comparison says */
    memcpy(&b, &score, sizeof b);
    b = b >> 31 ? ~b : b | 0x80000000u;
    return (uint64_t)~b << 32 | (uint32_t)left;
}

static bn_status try_bigram(const bn_vocab *v, work *w, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return BN_OK;
    uint32_t size = w->syms[l].n + w->syms[r].n;
    int32_t t = bn_vocab_token(v, w->text + w->syms[l].start, size);
    if (t < 0)
        return BN_OK;
    bn_merge b = { order_key(v->scores[t], l), l, r, { (int32_t)size, 0 } };  /* key: score, then left */
    return bn_merge_heap_push(&w->heap, b);
}

/* A final symbol: its token, or its bytes as byte tokens; one unknown token
 * for the symbol when a byte has none (as SentencePiece gives one a piece). */
static bn_status emit(const bn_vocab *v, const char *s, size_t n, bn_tokvec *out)
{
    int32_t t = bn_vocab_token(v, s, n);
    if (t >= 0)
        return bn_tokvec_push(out, t);
    for (size_t i = 0; i < n; i++)
        if (v->byte_sym[(unsigned char)s[i]] < 0)
            return v->unk >= 0 ? bn_tokvec_push(out, v->unk) : BN_OK;
    bn_status st = BN_OK;
    for (size_t i = 0; i < n && st == BN_OK; i++)
        st = bn_tokvec_push(out, v->byte_sym[(unsigned char)s[i]]);
    return st;
}

bn_status bn_spm_tokenize(const bn_vocab *v, const char *text, size_t len, int prefix_space, bn_tokvec *out)
{
    static const char sp[3] = { (char)0xE2, (char)0x96, (char)0x81 };  /* U+2581 */
    size_t n_space = 0;
    for (size_t i = 0; i < len; i++)
        n_space += text[i] == ' ';
    size_t n_esc = len + 2 * n_space + (prefix_space ? 3 : 0);
    if (n_esc == 0)
        return BN_OK;
    if (n_esc > UINT32_MAX)
        return bn_fail(BN_E_INVALID_ARG, "text of %zu bytes is too long to tokenize at once", len);
    char *esc = malloc(n_esc);
    sym *syms = malloc(n_esc * sizeof *syms);
    work w = { esc, syms, { NULL, 0, 0 } };
    bn_status st = BN_OK;
    if (!esc || !syms) {
        st = bn_fail(BN_E_NOMEM, "out of memory while tokenizing %zu bytes", len);
        goto done;
    }
    size_t k = 0;
    if (prefix_space) {
        memcpy(esc, sp, 3);
        k = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + k, sp, 3);
            k += 3;
        } else {
            esc[k++] = text[i];
        }
    }
    /* One symbol per character. */
    int32_t n_sym = 0;
    for (size_t i = 0; i < n_esc; n_sym++) {
        size_t cl = bn_utf8_lead_len((unsigned char)esc[i]);
        if (cl > n_esc - i)
            cl = n_esc - i;
        sym s = { n_sym - 1, i + cl < n_esc ? n_sym + 1 : -1, (uint32_t)i, (uint32_t)cl };
        syms[n_sym] = s;
        i += cl;
    }
    for (int32_t i = 1; i < n_sym && st == BN_OK; i++)
        st = try_bigram(v, &w, i - 1, i);
    while (st == BN_OK && w.heap.n) {
        bn_merge g = bn_merge_heap_pop(&w.heap);
        sym *l = &syms[g.left], *r = &syms[g.right];
        /* Stale: a side was merged away or has grown since it was queued. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != (uint32_t)g.check[0])
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            syms[r->next].prev = g.left;
        if ((st = try_bigram(v, &w, l->prev, g.left)) == BN_OK)
            st = try_bigram(v, &w, g.left, l->next);
    }
    for (int32_t i = 0; st == BN_OK && i >= 0; i = syms[i].next)
        st = emit(v, esc + syms[i].start, syms[i].n, out);
done:
    free(esc);
    free(syms);
    free(w.heap.a);
    return st;
}
