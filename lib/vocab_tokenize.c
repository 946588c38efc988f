/* Text to tokens for one vocabulary: the special-token partition (as
 * llama.cpp's tokenizer_st_partition), then BPE or SentencePiece on the text
 * between special tokens. The public API (tokenize_api.c) validates the
 * input first. */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
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
    frag *p = bn_grow(f->p, f->n, &f->cap, sizeof *p, 16);
    if (!p)
        return bn_fail(BN_E_NOMEM, "out of memory while tokenizing");
    f->p = p;
    f->p[f->n++] = (frag){ token, off, len };
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
