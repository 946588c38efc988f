/* Byte-level BPE (tokenizer.ggml.model "gpt2"): pre-tokenize, map each byte to
 * GPT-2's printable symbol, then apply merges lowest rank first, as llama.cpp. */
#include <stdlib.h>
#include <string.h>

#include "merge_heap.h"
#include "utf8.h"
#include "vocab.h"

/* GPT-2's reversible byte -> code point map: printable Latin-1 bytes stand for
 * themselves, the other 68 bytes take U+0100.. in byte order. */
const uint16_t bn_bpe_byte_cp[256] = {
    0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10a, 0x10b,
    0x10c, 0x10d, 0x10e, 0x10f, 0x110, 0x111, 0x112, 0x113, 0x114, 0x115, 0x116, 0x117,
    0x118, 0x119, 0x11a, 0x11b, 0x11c, 0x11d, 0x11e, 0x11f, 0x120, 0x021, 0x022, 0x023,
    0x024, 0x025, 0x026, 0x027, 0x028, 0x029, 0x02a, 0x02b, 0x02c, 0x02d, 0x02e, 0x02f,
    0x030, 0x031, 0x032, 0x033, 0x034, 0x035, 0x036, 0x037, 0x038, 0x039, 0x03a, 0x03b,
    0x03c, 0x03d, 0x03e, 0x03f, 0x040, 0x041, 0x042, 0x043, 0x044, 0x045, 0x046, 0x047,
    0x048, 0x049, 0x04a, 0x04b, 0x04c, 0x04d, 0x04e, 0x04f, 0x050, 0x051, 0x052, 0x053,
    0x054, 0x055, 0x056, 0x057, 0x058, 0x059, 0x05a, 0x05b, 0x05c, 0x05d, 0x05e, 0x05f,
    0x060, 0x061, 0x062, 0x063, 0x064, 0x065, 0x066, 0x067, 0x068, 0x069, 0x06a, 0x06b,
    0x06c, 0x06d, 0x06e, 0x06f, 0x070, 0x071, 0x072, 0x073, 0x074, 0x075, 0x076, 0x077,
    0x078, 0x079, 0x07a, 0x07b, 0x07c, 0x07d, 0x07e, 0x121, 0x122, 0x123, 0x124, 0x125,
    0x126, 0x127, 0x128, 0x129, 0x12a, 0x12b, 0x12c, 0x12d, 0x12e, 0x12f, 0x130, 0x131,
    0x132, 0x133, 0x134, 0x135, 0x136, 0x137, 0x138, 0x139, 0x13a, 0x13b, 0x13c, 0x13d,
    0x13e, 0x13f, 0x140, 0x141, 0x142, 0x0a1, 0x0a2, 0x0a3, 0x0a4, 0x0a5, 0x0a6, 0x0a7,
    0x0a8, 0x0a9, 0x0aa, 0x0ab, 0x0ac, 0x143, 0x0ae, 0x0af, 0x0b0, 0x0b1, 0x0b2, 0x0b3,
    0x0b4, 0x0b5, 0x0b6, 0x0b7, 0x0b8, 0x0b9, 0x0ba, 0x0bb, 0x0bc, 0x0bd, 0x0be, 0x0bf,
    0x0c0, 0x0c1, 0x0c2, 0x0c3, 0x0c4, 0x0c5, 0x0c6, 0x0c7, 0x0c8, 0x0c9, 0x0ca, 0x0cb,
    0x0cc, 0x0cd, 0x0ce, 0x0cf, 0x0d0, 0x0d1, 0x0d2, 0x0d3, 0x0d4, 0x0d5, 0x0d6, 0x0d7,
    0x0d8, 0x0d9, 0x0da, 0x0db, 0x0dc, 0x0dd, 0x0de, 0x0df, 0x0e0, 0x0e1, 0x0e2, 0x0e3,
    0x0e4, 0x0e5, 0x0e6, 0x0e7, 0x0e8, 0x0e9, 0x0ea, 0x0eb, 0x0ec, 0x0ed, 0x0ee, 0x0ef,
    0x0f0, 0x0f1, 0x0f2, 0x0f3, 0x0f4, 0x0f5, 0x0f6, 0x0f7, 0x0f8, 0x0f9, 0x0fa, 0x0fb,
    0x0fc, 0x0fd, 0x0fe, 0x0ff,
};

int bn_bpe_cp_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp > 0x143)
        return -1;
    uint32_t n = cp - 0x100;  /* the n-th byte without a printable self */
    return n < 33 ? (int)n : n < 67 ? (int)(0x7F + n - 33) : 0xAD;
}

/* A run of the word's bytes that merges have joined; id is its string id. */
typedef struct sym {
    int32_t id, prev, next;
    uint32_t start, n;
} sym;

typedef struct work {
    sym *syms;
    size_t cap_syms;
    bn_merge_heap heap;
    char *enc;       /* the word in GPT-2 symbols */
    size_t cap_enc;
} work;

static bn_status try_bigram(const bn_vocab *v, work *w, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return BN_OK;
    int32_t result, rank = bn_vocab_merge(v, w->syms[l].id, w->syms[r].id, &result);
    if (rank < 0)
        return BN_OK;
    /* lowest rank first, then leftmost */
    bn_merge b = { ((uint64_t)(uint32_t)rank << 32) | (uint32_t)l, l, r, { w->syms[l].id, w->syms[r].id } };
    return bn_merge_heap_push(&w->heap, b);
}

static bn_status reserve(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return BN_OK;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return bn_fail(BN_E_NOMEM, "out of memory while tokenizing");
    *p = q;
    *cap = c;
    return BN_OK;
}

/* Writes the GPT-2 symbols of n bytes to w->enc; returns the length. */
static bn_status encode_bytes(work *w, const unsigned char *b, size_t n, size_t *len)
{
    bn_status st = reserve((void **)&w->enc, &w->cap_enc, 2 * n + 1, 1);
    if (st != BN_OK)
        return st;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += bn_utf8_encode(bn_bpe_byte_cp[b[i]], w->enc + k);
    *len = k;
    return BN_OK;
}

/* A final symbol that is no token: each byte of its GPT-2 text as a one-byte
 * token where one exists (llama.cpp's fallback; usually nothing is found). */
static bn_status emit_fallback(const bn_vocab *v, work *w, const unsigned char *b, size_t n, bn_tokvec *out)
{
    size_t len;
    bn_status st = encode_bytes(w, b, n, &len);
    for (size_t i = 0; st == BN_OK && i < len; i++) {
        int32_t t = bn_vocab_token(v, w->enc + i, 1);
        if (t >= 0)
            st = bn_tokvec_push(out, t);
    }
    return st;
}

static bn_status bpe_word(const bn_vocab *v, work *w, const unsigned char *b, size_t n, bn_tokvec *out)
{
    bn_status st;
    if (v->ignore_merges) {
        size_t len;
        if ((st = encode_bytes(w, b, n, &len)) != BN_OK)
            return st;
        int32_t t = bn_vocab_token(v, w->enc, len);
        if (t >= 0)
            return bn_tokvec_push(out, t);
    }
    if ((st = reserve((void **)&w->syms, &w->cap_syms, n, sizeof *w->syms)) != BN_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        sym s = { v->byte_sym[b[i]], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, (uint32_t)i, 1 };
        w->syms[i] = s;
    }
    w->heap.n = 0;
    for (size_t i = 1; i < n; i++)
        if ((st = try_bigram(v, w, (int32_t)i - 1, (int32_t)i)) != BN_OK)
            return st;
    while (w->heap.n) {
        bn_merge g = bn_merge_heap_pop(&w->heap);
        sym *l = &w->syms[g.left], *r = &w->syms[g.right];
        /* Stale entries: either side has changed since it was queued. */
        if (l->n == 0 || r->n == 0 || l->next != g.right || l->id != g.check[0] || r->id != g.check[1])
            continue;
        int32_t result;
        bn_vocab_merge(v, l->id, r->id, &result);
        l->id = result;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->syms[r->next].prev = g.left;
        if ((st = try_bigram(v, w, l->prev, g.left)) != BN_OK || (st = try_bigram(v, w, g.left, l->next)) != BN_OK)
            return st;
    }
    for (int32_t i = 0; i >= 0; i = w->syms[i].next) {
        const sym *s = &w->syms[i];
        if (s->id >= 0 && s->id < v->n_tokens)
            st = bn_tokvec_push(out, s->id);
        else
            st = emit_fallback(v, w, b + s->start, s->n, out);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}

bn_status bn_bpe_tokenize(const bn_vocab *v, const char *text, size_t len, bn_tokvec *out)
{
    if (len == 0)
        return BN_OK;
    uint32_t *cps = malloc(len * sizeof *cps);
    size_t *off = malloc((len + 1) * sizeof *off);
    size_t *lens = NULL, n_lens = 0, n = 0;
    work w = { 0 };
    bn_status st = BN_OK;
    if (!cps || !off) {
        st = bn_fail(BN_E_NOMEM, "out of memory while tokenizing %zu bytes", len);
        goto done;
    }
    for (size_t i = 0; i < len; n++) {
        size_t k = bn_utf8_decode(text + i, len - i, &cps[n]);
        if (k == 0) {  /* callers validate; a stray byte stays one symbol */
            cps[n] = 0xFFFD;
            k = 1;
        }
        off[n] = i;
        i += k;
    }
    off[n] = len;
    if ((st = bn_pretokenize(v->pre, cps, n, &lens, &n_lens)) != BN_OK)
        goto done;
    size_t at = 0;
    for (size_t i = 0; i < n_lens && st == BN_OK; i++) {
        const unsigned char *b = (const unsigned char *)text + off[at];
        st = bpe_word(v, &w, b, off[at + lens[i]] - off[at], out);
        at += lens[i];
    }
done:
    free(cps);
    free(off);
    free(lens);
    free(w.syms);
    free(w.heap.a);
    free(w.enc);
    return st;
}
