/* Pre-tokenizers: llama.cpp's splitting regexes written out by hand over
 * Unicode categories, so the library needs no regex engine. Each splitter
 * works inside one segment [s, e) of code points, as llama.cpp applies a
 * regex to each piece the previous one produced; a look-ahead never sees
 * past the segment. */
#include <stdlib.h>

#include "grow.h"
#include "unicode.h"
#include "vocab.h"

typedef struct lens {
    size_t *p, n, cap;
    bn_status st;
} lens;

static void add(lens *o, size_t len)
{
    if (len == 0 || o->st != BN_OK)
        return;
    size_t *p = bn_grow(o->p, o->n, &o->cap, sizeof *p, 64);
    if (!p) {
        o->st = bn_fail(BN_E_NOMEM, "out of memory while pre-tokenizing");
        return;
    }
    o->p = p;
    o->p[o->n++] = len;
}

typedef struct seg {
    const uint32_t *cp;
    size_t s, e;
} seg;

/* Flags of position i, 0 outside the segment (so no class matches there). */
static unsigned fl(const seg *g, size_t i)
{
    return i >= g->s && i < g->e ? bn_uc_flags(g->cp[i]) : 0;
}

static uint32_t cp_at(const seg *g, size_t i)
{
    return i < g->e ? g->cp[i] : 0xFFFFFFFFu;
}

/* Only ASCII letters lower-case to s, t, m, d, r, e, v or l, so an ASCII
 * fold is the exact (?i:) of these contractions. */
static uint32_t fold(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d (folded for llama3): the contraction's length or 0. */
static size_t contraction(const seg *g, size_t pos, int fold_case)
{
    if (g->cp[pos] != '\'' || pos + 1 >= g->e)
        return 0;
    uint32_t c1 = g->cp[pos + 1];
    if (fold_case)
        c1 = fold(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
        return 2;
    if (pos + 2 >= g->e)
        return 0;
    uint32_t c2 = g->cp[pos + 2];
    if (fold_case)
        c2 = fold(c2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return 3;
    return 0;
}

enum { LNS = BN_UC_LETTER | BN_UC_NUMBER | BN_UC_SPACE };

/* Trailing whitespace: \s+(?!\S) leaves the last blank for the next word when
 * something follows, else \s+ takes it all. Returns the new position, or pos
 * if there is no whitespace. */
static size_t spaces(const seg *g, size_t pos)
{
    size_t n = 0;
    while (fl(g, pos + n) & BN_UC_SPACE)
        n++;
    if (n > 1 && pos + n < g->e)
        return pos + n - 1;
    return pos + n;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(const seg *g, lens *o)
{
    size_t pos = g->s, prev = g->s;
    while (pos < g->e) {
        uint32_t c = g->cp[pos];
        size_t k = contraction(g, pos, 0);
        if (k) {
            pos += k;
        } else {
            size_t p1 = pos + (c == ' ');
            unsigned f2 = fl(g, p1);
            if (f2 & BN_UC_LETTER) {
                for (pos = p1; fl(g, pos) & BN_UC_LETTER; pos++) {}
            } else if (f2 & BN_UC_NUMBER) {
                for (pos = p1; fl(g, pos) & BN_UC_NUMBER; pos++) {}
            } else if (!(f2 & LNS) && p1 < g->e) {
                for (pos = p1; pos < g->e && !(fl(g, pos) & LNS); pos++) {}
            } else {
                size_t q = spaces(g, pos);
                pos = q > pos ? q : pos + 1;
            }
        }
        add(o, pos - prev);
        prev = pos;
    }
}

static int is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }

/* Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static void split_llama3(const seg *g, lens *o)
{
    size_t pos = g->s, prev = g->s;
    while (pos < g->e) {
        uint32_t c = g->cp[pos];
        unsigned f = fl(g, pos);
        size_t k = contraction(g, pos, 1);
        if (k) {
            pos += k;
        } else if (!is_crlf(c) && !(f & BN_UC_NUMBER) && ((f & BN_UC_LETTER) || (fl(g, pos + 1) & BN_UC_LETTER))) {
            for (pos++; fl(g, pos) & BN_UC_LETTER; pos++) {}
        } else if (f & BN_UC_NUMBER) {
            /* digits in groups of three from the left */
            size_t start = pos;
            while ((fl(g, pos) & BN_UC_NUMBER) && pos - start < 3)
                pos++;
        } else if (!((c == ' ' ? fl(g, pos + 1) : f) & LNS)) {
            /* A lone trailing space also lands here and is taken alone, as \s+ would. */
            for (pos += c == ' '; pos < g->e && !(fl(g, pos) & LNS); pos++) {}
            while (is_crlf(cp_at(g, pos)))
                pos++;
        } else {
            size_t n = 0, last_crlf = 0;
            for (; fl(g, pos + n) & BN_UC_SPACE; n++)
                if (is_crlf(g->cp[pos + n]))
                    last_crlf = pos + n + 1;
            if (last_crlf)
                pos = last_crlf;  /* \s*[\r\n]+ */
            else {
                size_t q = spaces(g, pos);
                pos = q > pos ? q : pos + 1;
            }
        }
        add(o, pos - prev);
        prev = pos;
    }
}

/* A regex of one character class and '+' (or a fixed count), applied as
 * llama.cpp applies std::regex: matches and the text between them both
 * become pieces. */
typedef int (*cls_fn)(uint32_t cp);

static int cls_punct(uint32_t c)
{
    /* [\p{P}\$\+<=>\^~\|] */
    return (bn_uc_flags(c) & BN_UC_PUNCT) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
           c == '~' || c == '|';
}

static int cls_number(uint32_t c) { return (bn_uc_flags(c) & BN_UC_NUMBER) != 0; }
static int cls_digit(uint32_t c) { return c >= '0' && c <= '9'; }

/* exact > 0: runs of exactly that many (leftmost, non-overlapping); 0: maximal runs. */
static void split_class(const seg *g, lens *o, cls_fn cls, size_t exact)
{
    size_t pos = g->s, prev = g->s;
    while (pos < g->e) {
        if (!cls(g->cp[pos])) {
            pos++;
            continue;
        }
        size_t end = pos;
        while (end < g->e && cls(g->cp[end]) && (!exact || end - pos < exact))
            end++;
        if (exact && end - pos < exact) {
            pos++;
            continue;
        }
        add(o, pos - prev);
        add(o, end - pos);
        prev = pos = end;
    }
    add(o, g->e - prev);
}

enum { SPLIT_GPT2, SPLIT_LLAMA3, SPLIT_PUNCT, SPLIT_NUMBER, SPLIT_DIGIT3 };

/* Runs one splitter over every segment in *cur, replacing it. */
static bn_status pass(const uint32_t *cps, lens *cur, int kind)
{
    lens next = { 0 };
    size_t at = 0;
    for (size_t i = 0; i < cur->n && next.st == BN_OK; i++) {
        seg g = { cps, at, at + cur->p[i] };
        switch (kind) {
        case SPLIT_GPT2: split_gpt2(&g, &next); break;
        case SPLIT_LLAMA3: split_llama3(&g, &next); break;
        case SPLIT_PUNCT: split_class(&g, &next, cls_punct, 0); break;
        case SPLIT_NUMBER: split_class(&g, &next, cls_number, 0); break;
        default: split_class(&g, &next, cls_digit, 3); break;
        }
        at = g.e;
    }
    free(cur->p);
    *cur = next;
    return next.st;
}

bn_status bn_pretokenize(bn_pre_type pre, const uint32_t *cps, size_t n, size_t **out, size_t *n_out)
{
    lens cur = { 0 };
    *out = NULL;
    *n_out = 0;
    add(&cur, n);
    if (cur.st != BN_OK || n == 0) {
        free(cur.p);
        return cur.st;
    }
    bn_status st;
    switch (pre) {
    case BN_PRE_LLAMA3:
        st = pass(cps, &cur, SPLIT_LLAMA3);
        break;
    case BN_PRE_GPT2:
        st = pass(cps, &cur, SPLIT_GPT2);
        break;
    default:
        /* llama.cpp's "default" BPE pre-tokenizer is four regexes in a row. */
        if ((st = pass(cps, &cur, SPLIT_PUNCT)) == BN_OK && (st = pass(cps, &cur, SPLIT_GPT2)) == BN_OK &&
            (st = pass(cps, &cur, SPLIT_NUMBER)) == BN_OK)
            st = pass(cps, &cur, SPLIT_DIGIT3);
        break;
    }
    if (st != BN_OK) {
        free(cur.p);
        return st;
    }
    *out = cur.p;
    *n_out = cur.n;
    return BN_OK;
}
