/* Tokenizer: pre-tokenizer splits, llama.cpp conformance (gpt-2, llama-bpe,
 * llama-spm vectors from ../shared/tokenizer), special tokens, round trips
 * over random UTF-8, pieces, detokenizing, and the API's error paths.
 * Vocabularies come from tools/make_vocab.py (BN_TOK_VOCABS); the shared
 * data (BN_SHARED_DIR) is optional and its tests skip without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tok_util.h"
#include "unicode.h"
#include "utf8.h"
#include "vocab.h"

/* ------------------------------------------------------------ helpers */

static bn_model *open_generated(const char *name)
{
    char *p = tok_path("BN_TOK_VOCABS", name);
    bn_model *m = tok_exists(p) ? tok_open(p) : NULL;
    free(p);
    return m;
}

static bn_model *open_shared(const char *name)
{
    char *p = tok_path("BN_SHARED_DIR", name);
    bn_model *m = tok_exists(p) ? tok_open(p) : NULL;
    free(p);
    return m;
}

/* Tokenizes s (NUL-terminated) into a malloc'd array. */
static bn_token *tokenize(const bn_model *m, const char *s, uint32_t flags, size_t *n)
{
    size_t need = 0;
    bn_status st = bn_tokenize(m, s, strlen(s), flags, NULL, 0, &need);
    assert_true(st == BN_OK || st == BN_E_BUFFER_TOO_SMALL);
    bn_token *t = malloc((need ? need : 1) * sizeof *t);
    assert_non_null(t);
    assert_int_equal(bn_tokenize(m, s, strlen(s), flags, t, need, n), BN_OK);
    assert_int_equal(*n, need);
    return t;
}

static char *detokenize(const bn_model *m, const bn_token *t, size_t n, uint32_t flags)
{
    size_t len = 0;
    bn_status st = bn_detokenize(m, t, n, flags, NULL, 0, &len);
    assert_int_equal(st, BN_E_BUFFER_TOO_SMALL);
    char *s = malloc(len + 1);
    assert_non_null(s);
    size_t len2 = 0;
    assert_int_equal(bn_detokenize(m, t, n, flags, s, len + 1, &len2), BN_OK);
    assert_int_equal(len2, len);
    return s;
}

/* The words bn_pretokenize makes of s, joined by '|'. */
static char *split(bn_pre_type pre, const char *s)
{
    size_t n = strlen(s), n_cp = 0;
    uint32_t *cps = malloc((n + 1) * sizeof *cps);
    for (size_t i = 0; i < n;) {
        size_t k = bn_utf8_decode(s + i, n - i, &cps[n_cp++]);
        assert_true(k > 0);
        i += k;
    }
    size_t *lens = NULL, n_lens = 0;
    assert_int_equal(bn_pretokenize(pre, cps, n_cp, &lens, &n_lens), BN_OK);
    char *out = malloc(2 * n + 2), *w = out;
    size_t at = 0, byte = 0;
    for (size_t i = 0; i < n_lens; i++) {
        if (i)
            *w++ = '|';
        for (size_t k = 0; k < lens[i]; k++, at++) {
            char u[4];
            size_t l = bn_utf8_encode(cps[at], u);
            memcpy(w, u, l);
            w += l;
            byte += l;
        }
    }
    *w = '\0';
    assert_int_equal(at, n_cp);
    assert_int_equal(byte, n);
    free(cps);
    free(lens);
    return out;
}

#define ASSERT_SPLIT(pre, in, want)              \
    do {                                         \
        char *got_ = split(pre, in);             \
        assert_string_equal(got_, want);         \
        free(got_);                              \
    } while (0)

/* ------------------------------------------------------ pre-tokenizers */

static void test_unicode_flags(void **state)
{
    (void)state;
    assert_true(bn_uc_flags('a') & BN_UC_LETTER);
    assert_true(bn_uc_flags('7') & BN_UC_NUMBER);
    assert_true(bn_uc_flags(' ') & BN_UC_SPACE);
    assert_true(bn_uc_flags('\n') & BN_UC_SPACE);
    assert_true(bn_uc_flags(0x3000) & BN_UC_SPACE);       /* ideographic space */
    assert_true(bn_uc_flags(0x00A0) & BN_UC_SPACE);
    assert_false(bn_uc_flags(0x200B) & BN_UC_SPACE);      /* zero width space is Cf */
    assert_true(bn_uc_flags(0x6211) & BN_UC_LETTER);      /* 我 */
    assert_true(bn_uc_flags(0x0661) & BN_UC_NUMBER);      /* Arabic-Indic one */
    assert_true(bn_uc_flags(0x2163) & BN_UC_NUMBER);      /* Roman numeral four, Nl */
    assert_true(bn_uc_flags(0x1F999) & BN_UC_SYMBOL);     /* llama emoji */
    assert_true(bn_uc_flags(0x0301) & BN_UC_MARK);
    assert_true(bn_uc_flags(0x00BF) & BN_UC_PUNCT);       /* ¿ */
    assert_true(bn_uc_flags(0xE000) & BN_UC_CONTROL);     /* private use */
    assert_int_equal(bn_uc_flags(0x0378), 0);             /* unassigned */
    assert_int_equal(bn_uc_flags(0x110000), 0);
    assert_string_equal(bn_unicode_version, "15.0.0");
}

static void test_split_llama3(void **state)
{
    (void)state;
    ASSERT_SPLIT(BN_PRE_LLAMA3, "don't", "don|'t");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "I'M here", "I|'M| here");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "we'Ve a'lL", "we|'Ve| a|'lL");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "'RE", "'RE");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "1234567", "123|456|7");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "x 33 3333", "x| |33| |333|3");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "  \n\n  x", "  \n\n| | x");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "   Hello", "  | Hello");
    ASSERT_SPLIT(BN_PRE_LLAMA3, " this is \xF0\x9F\xA6\x99.cpp", " this| is| \xF0\x9F\xA6\x99.|cpp");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C" "1314151",
                 "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C|131|415|1");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "Hello, world!\n", "Hello|,| world|!\n");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "a\r\n\r\nb", "a|\r\n\r\n|b");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "x  ", "x|  ");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "x ", "x| ");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "(hello", "(hello");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "\t\tfoo", "\t|\tfoo");
    ASSERT_SPLIT(BN_PRE_LLAMA3, "", "");
}

static void test_split_gpt2(void **state)
{
    (void)state;
    ASSERT_SPLIT(BN_PRE_GPT2, "don't", "don|'t");
    ASSERT_SPLIT(BN_PRE_GPT2, "I'M here", "I|'|M| here");  /* case-sensitive contractions */
    ASSERT_SPLIT(BN_PRE_GPT2, "1234567 89", "1234567| 89");
    ASSERT_SPLIT(BN_PRE_GPT2, "  \n\n  x", "  \n\n | x");
    ASSERT_SPLIT(BN_PRE_GPT2, "   Hello", "  | Hello");
    ASSERT_SPLIT(BN_PRE_GPT2, "Hello, world!!", "Hello|,| world|!!");
    ASSERT_SPLIT(BN_PRE_GPT2, " \xF0\x9F\xA6\x99.cpp", " \xF0\x9F\xA6\x99.|cpp");
    ASSERT_SPLIT(BN_PRE_GPT2, "x ", "x| ");
}

static void test_split_default(void **state)
{
    (void)state;
    /* punctuation runs first, then GPT-2, then numbers, then ASCII digit triples */
    ASSERT_SPLIT(BN_PRE_DEFAULT, "1234567", "123|456|7");
    ASSERT_SPLIT(BN_PRE_DEFAULT, "a+b=c", "a|+|b|=|c");
    ASSERT_SPLIT(BN_PRE_DEFAULT, "don't", "don|'|t");  /* the apostrophe is split off first */
    ASSERT_SPLIT(BN_PRE_DEFAULT, "Hello world", "Hello| world");
    ASSERT_SPLIT(BN_PRE_DEFAULT, "x12y", "x|12|y");
}

/* ----------------------------------------------------------- conformance */

/* Runs llama.cpp's test vectors: .inp holds tests separated by a
 * __ggml_vocab_test__ line, .out one line of ids per test. */
static void conformance(const char *vocab_gguf, int generated, const char *vectors)
{
    bn_model *m = generated ? open_generated(vocab_gguf) : open_shared(vocab_gguf);
    if (!m) {
        print_message("# no %s: skipped\n", vocab_gguf);
        skip();
    }
    char name[256];
    snprintf(name, sizeof name, "%s.inp", vectors);
    char *pi = tok_path("BN_SHARED_DIR", name);
    snprintf(name, sizeof name, "%s.out", vectors);
    char *po = tok_path("BN_SHARED_DIR", name);
    size_t li = 0, lo = 0;
    char *inp = tok_read_file(pi, &li), *outp = tok_read_file(po, &lo);
    free(pi);
    free(po);
    if (!inp || !outp) {
        free(inp);
        free(outp);
        tok_close(m);
        skip();
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *in = inp, *out = outp;
    int n_cases = 0, n_fail = 0;
    for (;;) {
        char *end = strstr(in, sep);
        if (!end)
            break;
        *end = '\0';
        char *eol = strchr(out, '\n');
        assert_non_null(eol);
        *eol = '\0';
        bn_token want[4096];
        size_t n_want = 0;
        for (char *p = out; *p;) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p)
                break;
            want[n_want++] = (bn_token)v;
            p = q;
        }
        size_t n = 0;
        bn_token *got = tokenize(m, in, 0, &n);
        int ok = n == n_want && (n == 0 || !memcmp(got, want, n * sizeof *got));
        if (!ok) {
            n_fail++;
            print_message("# case %d: got", n_cases);
            for (size_t k = 0; k < n; k++)
                print_message(" %d", got[k]);
            print_message("\n#   expected%s\n", out);
        }
        free(got);
        n_cases++;
        in = end + sizeof sep - 1;
        out = eol + 1;
    }
    free(inp);
    free(outp);
    tok_close(m);
    print_message("# %s: %d cases, %d failed\n", vectors, n_cases, n_fail);
    assert_int_equal(n_cases, 46);
    assert_int_equal(n_fail, 0);
}

static void test_conformance_llama_bpe(void **state)
{
    (void)state;
    conformance("llama3.gguf", 1, "ggml-vocab-llama-bpe.gguf");
}

static void test_conformance_gpt2(void **state)
{
    (void)state;
    conformance("ggml-vocab-gpt-2.gguf", 0, "ggml-vocab-gpt-2.gguf");
}

static void test_conformance_spm(void **state)
{
    (void)state;
    conformance("ggml-vocab-llama-spm.gguf", 0, "ggml-vocab-llama-spm.gguf");
}

/* ------------------------------------------------------------ round trips */

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;  /* splitmix64 */
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Random valid UTF-8 mixing ASCII words and spaces, newlines, Latin, Cyrillic,
 * CJK, emoji, combining marks, odd whitespace, controls and unassigned points. */
static size_t random_text(uint64_t *s, char *out, size_t max_chars, int no_2581)
{
    static const uint32_t lo[] = { 0x20, 0x61, 0x30, 0x09, 0xA0, 0x400, 0x4E00, 0x1F300, 0x300, 0x2000, 0x0E00,
                                   0x378, 0x10000, 0xE000, 0x0, 0x2580 };
    static const uint32_t hi[] = { 0x7E, 0x7A, 0x39, 0x0D, 0x17F, 0x4FF, 0x9FFF, 0x1FAFF, 0x36F, 0x206F, 0x0E7F,
                                   0x37F, 0x10FFFF, 0xF8FF, 0x1F, 0x2582 };
    size_t n_chars = rng_next(s) % (max_chars + 1), w = 0;
    for (size_t i = 0; i < n_chars; i++) {
        int r = (int)(rng_next(s) % 100);
        int k = r < 35 ? 1 : r < 50 ? 0 : r < 55 ? 2 : r < 60 ? 3 : 4 + (int)(rng_next(s) % 12);
        uint32_t cp = lo[k] + (uint32_t)(rng_next(s) % (hi[k] - lo[k] + 1));
        if ((cp >= 0xD800 && cp <= 0xDFFF) || (no_2581 && cp == 0x2581))
            cp = 'z';
        w += bn_utf8_encode(cp, out + w);
    }
    out[w] = '\0';
    return w;
}

static void roundtrip(bn_model *m, int n_iter, uint64_t seed, int spm)
{
    char text[1024];
    uint64_t s = seed;
    for (int it = 0; it < n_iter; it++) {
        random_text(&s, text, 60, spm);
        size_t n;
        bn_token *t = tokenize(m, text, 0, &n);
        char *back = detokenize(m, t, n, 0);
        if (strcmp(back, text)) {
            print_message("# round trip %d differs (%zu -> %zu bytes)\n", it, strlen(text), strlen(back));
            fail();
        }
        free(back);
        free(t);
    }
}

static void test_roundtrip_bpe(void **state)
{
    (void)state;
    bn_model *m = open_generated("bpe-small.gguf");
    assert_non_null(m);
    roundtrip(m, 3000, 1, 0);
    tok_close(m);
}

static void test_roundtrip_spm(void **state)
{
    (void)state;
    bn_model *m = open_generated("spm-small.gguf");
    assert_non_null(m);
    roundtrip(m, 3000, 2, 1);
    tok_close(m);
}

static void test_roundtrip_shared(void **state)
{
    (void)state;
    bn_model *m = open_generated("llama3.gguf");
    if (!m)
        skip();
    roundtrip(m, 2000, 3, 0);
    tok_close(m);
    if ((m = open_shared("ggml-vocab-gpt-2.gguf"))) {
        roundtrip(m, 1000, 4, 0);
        tok_close(m);
    }
    if ((m = open_shared("ggml-vocab-llama-spm.gguf"))) {
        roundtrip(m, 1000, 5, 1);
        tok_close(m);
    }
}

/* ------------------------------------------------------- special tokens */

static int contains(const bn_token *t, size_t n, bn_token x)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] == x)
            return 1;
    return 0;
}

static void test_special_parsing(void **state)
{
    (void)state;
    bn_model *m = open_generated("bpe-small.gguf");
    assert_non_null(m);
    bn_token eot = bn_token_eot(m), bos = bn_token_bos(m);
    assert_int_equal(eot, 1023);
    assert_int_equal(bos, 1021);
    assert_string_equal(bn_token_text(m, eot), "<|eot_id|>");

    size_t n;
    bn_token *t = tokenize(m, "hi<|eot_id|>there", BN_TOKENIZE_PARSE_SPECIAL, &n);
    assert_true(contains(t, n, eot));
    char *s = detokenize(m, t, n, BN_DETOKENIZE_SPECIAL);
    assert_string_equal(s, "hi<|eot_id|>there");
    free(s);
    s = detokenize(m, t, n, 0);
    assert_string_equal(s, "hithere");  /* control tokens render as nothing by default */
    free(s);
    free(t);

    /* without parsing, the text is ordinary text */
    t = tokenize(m, "hi<|eot_id|>there", 0, &n);
    assert_false(contains(t, n, eot));
    assert_true(n > 3);
    s = detokenize(m, t, n, 0);
    assert_string_equal(s, "hi<|eot_id|>there");
    free(s);
    free(t);

    /* the longer of two overlapping candidates wins; adjacent specials */
    t = tokenize(m, "<|begin_of_text|><|eot_id|><|eot_id|>", BN_TOKENIZE_PARSE_SPECIAL, &n);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], bos);
    assert_int_equal(t[1], eot);
    assert_int_equal(t[2], eot);
    free(t);

    /* user-defined tokens are split out even without special parsing (llama.cpp) */
    bn_token tool = 1024;
    assert_string_equal(bn_token_text(m, tool), "<tool>");
    t = tokenize(m, "a<tool>b", 0, &n);
    assert_true(contains(t, n, tool));
    s = detokenize(m, t, n, 0);
    assert_string_equal(s, "a<tool>b");  /* and they always render */
    free(s);
    free(t);

    /* ADD_SPECIAL: this vocabulary asks for BOS, not EOS */
    t = tokenize(m, "hello", BN_TOKENIZE_ADD_SPECIAL, &n);
    assert_true(n >= 2);
    assert_int_equal(t[0], bos);
    assert_int_not_equal(t[n - 1], bn_token_eos(m));
    free(t);
    t = tokenize(m, "", BN_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], bos);
    free(t);
    t = tokenize(m, "", 0, &n);
    assert_int_equal(n, 0);
    free(t);
    tok_close(m);
}

static void test_special_llama3(void **state)
{
    (void)state;
    bn_model *m = open_generated("llama3.gguf");
    if (!m)
        skip();
    size_t n;
    bn_token *t = tokenize(m, "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                           BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL, &n);
    const bn_token want[] = { 128000, 128006, 882, 128007, 271, 13347, 128009 };
    assert_int_equal(n, sizeof want / sizeof *want);
    assert_memory_equal(t, want, sizeof want);
    free(t);
    assert_int_equal(bn_token_bos(m), 128000);
    assert_int_equal(bn_token_eos(m), 128001);
    assert_int_equal(bn_token_eot(m), 128009);
    assert_true(bn_token_is_eog(m, 128001));
    assert_true(bn_token_is_eog(m, 128009));
    assert_true(bn_token_is_eog(m, 128008));  /* <|eom_id|> */
    assert_false(bn_token_is_eog(m, 128000));
    assert_false(bn_token_is_eog(m, 13347));
    assert_false(bn_token_is_eog(m, -1));
    tok_close(m);
}

static void test_spm_specifics(void **state)
{
    (void)state;
    bn_model *m = open_generated("spm-small.gguf");
    assert_non_null(m);
    assert_int_equal(bn_token_bos(m), 1);
    assert_int_equal(bn_token_eos(m), 2);
    assert_true(bn_token_is_eog(m, 2));
    size_t n;
    bn_token *t = tokenize(m, "The keeper", BN_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(t[0], 1);
    char *s = detokenize(m, t, n, 0);
    assert_string_equal(s, "The keeper");  /* the prefix space does not come back */
    free(s);
    s = detokenize(m, t, n, BN_DETOKENIZE_SPECIAL);
    assert_string_equal(s, "<s> The keeper");
    free(s);
    free(t);

    /* byte fallback: a character outside the pieces becomes <0xNN> tokens */
    t = tokenize(m, "\xE2\x82\xAC", 0, &n);  /* € */
    assert_true(n >= 3);
    assert_int_equal(t[n - 3], 3 + 0xE2);
    assert_int_equal(t[n - 2], 3 + 0x82);
    assert_int_equal(t[n - 1], 3 + 0xAC);
    free(t);
    /* without those byte tokens the character is one unknown token, not one a byte */
    bn_model *nb = open_generated("spm-nobyte.gguf");
    size_t n1;
    bn_token *t1 = tokenize(nb, "\xE2\x82\xAC", 0, &n1);
    assert_int_equal(n1, n - 2);
    assert_int_equal(t1[n1 - 1], 0);
    free(t1);
    t1 = tokenize(nb, "a\xE2\x82\xAC\xE2\x82\xAC", 0, &n1);
    size_t unk = 0;
    for (size_t i = 0; i < n1; i++)
        unk += t1[i] == 0;
    assert_int_equal(unk, 2);
    assert_int_equal(t1[n1 - 1], 0);
    free(t1);
    bn_model_free(nb);

    /* pieces: ▁ is a space, <0xNN> is the byte, control tokens are empty */
    char buf[16];
    size_t len;
    assert_int_equal(bn_token_to_piece(m, 3 + 'A', 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 1);
    assert_int_equal(buf[0], 'A');
    assert_int_equal(bn_token_to_piece(m, 1, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 0);
    assert_int_equal(bn_token_to_piece(m, 1, BN_DETOKENIZE_SPECIAL, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "<s>", 3);
    bn_token the = bn_vocab_token(m->vocab, "\xE2\x96\x81" "the", 6);
    assert_true(the >= 0);
    assert_int_equal(bn_token_to_piece(m, the, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, " the", 4);

    /* a lone continuation byte token decodes to U+FFFD */
    bn_token bad[2] = { 3 + 0xE2, 3 + 'a' };
    s = detokenize(m, bad, 2, 0);
    assert_string_equal(s, "\xEF\xBF\xBD" "a");
    free(s);
    tok_close(m);
}

static void test_bpe_pieces(void **state)
{
    (void)state;
    bn_model *m = open_shared("ggml-vocab-gpt-2.gguf");
    if (!m)
        skip();
    char buf[64];
    size_t len;
    /* token 262 is "Ġthe" */
    assert_string_equal(bn_token_text(m, 262), "\xC4\xA0the");
    assert_int_equal(bn_token_to_piece(m, 262, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, " the", 4);
    /* byte tokens: 'Ċ' (id 198) is "\n" */
    assert_int_equal(bn_token_to_piece(m, 198, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 1);
    assert_int_equal(buf[0], '\n');
    assert_int_equal(bn_token_eos(m), 50256);
    assert_true(bn_token_is_eog(m, 50256));
    /* <|endoftext|> is control: empty unless asked */
    assert_int_equal(bn_token_to_piece(m, 50256, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 0);
    assert_int_equal(bn_token_to_piece(m, 50256, BN_DETOKENIZE_SPECIAL, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 13);
    tok_close(m);
}

/* A character split over two tokens comes out whole through the stream decoder. */
static void test_stream_across_tokens(void **state)
{
    (void)state;
    bn_model *m = open_generated("bpe-small.gguf");
    assert_non_null(m);
    size_t n;
    /* a CJK character and an emoji: no merges cover them, so one token per byte */
    bn_token *t = tokenize(m, "\xE6\x88\x91\xF0\x9F\xA6\x99!", 0, &n);
    assert_int_equal(n, 8);
    bn_utf8_stream us;
    bn_utf8_stream_init(&us);
    char out[64], all[64];
    size_t total = 0, writes[8];
    for (size_t i = 0; i < n; i++) {
        char piece[16];
        size_t len;
        assert_int_equal(bn_token_to_piece(m, t[i], 0, piece, sizeof piece, &len), BN_OK);
        assert_int_equal(len, 1);
        writes[i] = bn_utf8_stream_feed(&us, piece, len, out);
        memcpy(all + total, out, writes[i]);
        total += writes[i];
    }
    total += bn_utf8_stream_flush(&us, all + total);
    const size_t want[8] = { 0, 0, 3, 0, 0, 0, 4, 1 };
    assert_memory_equal(writes, want, sizeof want);
    assert_int_equal(total, 8);
    assert_memory_equal(all, "\xE6\x88\x91\xF0\x9F\xA6\x99!", 8);

    /* the tail of an unfinished character is flushed as U+FFFD */
    bn_utf8_stream_init(&us);
    char p0[4];
    size_t l0;
    assert_int_equal(bn_token_to_piece(m, t[3], 0, p0, sizeof p0, &l0), BN_OK);
    assert_int_equal(bn_utf8_stream_feed(&us, p0, l0, out), 0);
    assert_int_equal(bn_utf8_stream_flush(&us, out), 3);
    assert_memory_equal(out, "\xEF\xBF\xBD", 3);
    free(t);
    tok_close(m);
}

/* ----------------------------------------------------------- loading */

static void test_pre_fallbacks(void **state)
{
    (void)state;
    bn_model *m = open_generated("bpe-small.gguf");
    assert_non_null(m);
    assert_int_equal(m->vocab->pre, BN_PRE_LLAMA3);
    assert_true(m->vocab->ignore_merges);
    tok_close(m);
    m = open_generated("bpe-nopre.gguf");
    assert_non_null(m);
    assert_int_equal(m->vocab->pre, BN_PRE_DEFAULT);
    tok_close(m);
    m = open_generated("bpe-128256-nopre.gguf");
    assert_non_null(m);
    assert_int_equal(m->vocab->n_tokens, 128256);
    assert_int_equal(m->vocab->pre, BN_PRE_LLAMA3);  /* the Llama 3 size implies llama-bpe */
    assert_true(m->vocab->add_bos);
    tok_close(m);
}

/* ------------------------------------------------------------ API errors */

static void test_api_errors(void **state)
{
    (void)state;
    bn_model *m = open_generated("bpe-small.gguf");
    assert_non_null(m);
    size_t n = 99;
    bn_token t[4];
    assert_int_equal(bn_tokenize(NULL, "a", 1, 0, t, 4, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, NULL, 0, 0, t, 4, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, "a", 1, 0, t, 4, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, "a", 1, 0, NULL, 4, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, "a", 1, 0x80, t, 4, &n), BN_E_INVALID_ARG);

    /* invalid UTF-8: the message names the offset */
    assert_int_equal(bn_tokenize(m, "ab\xC3(", 4, 0, t, 4, &n), BN_E_INVALID_UTF8);
    assert_non_null(strstr(bn_last_error(), "offset 2"));
    assert_int_equal(bn_tokenize(m, "\xED\xA0\x80", 3, 0, t, 4, &n), BN_E_INVALID_UTF8);  /* surrogate */
    assert_int_equal(bn_tokenize(m, "\xC0\xAF", 2, 0, t, 4, &n), BN_E_INVALID_UTF8);      /* overlong */
    assert_int_equal(bn_tokenize(m, "abc\xF0\x9F", 5, 0, t, 4, &n), BN_E_INVALID_UTF8);   /* truncated */
    assert_non_null(strstr(bn_last_error(), "offset 3"));

    /* capacity: the needed count is reported, also with tokens NULL */
    const char *txt = "The old lighthouse keeper climbed the stairs";
    assert_int_equal(bn_tokenize(m, txt, strlen(txt), 0, NULL, 0, &n), BN_E_BUFFER_TOO_SMALL);
    size_t need = n;
    assert_true(need > 4);
    assert_int_equal(bn_tokenize(m, txt, strlen(txt), 0, t, 4, &n), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, need);

    /* text need not be NUL-terminated; embedded NULs are text */
    assert_int_equal(bn_tokenize(m, "a\0b", 3, 0, t, 4, &n), BN_OK);
    assert_int_equal(n, 3);

    char buf[8];
    size_t len;
    assert_int_equal(bn_token_to_piece(m, -1, 0, buf, sizeof buf, &len), BN_E_INVALID_TOKEN);
    assert_int_equal(bn_token_to_piece(m, bn_model_n_vocab(m), 0, buf, sizeof buf, &len), BN_E_INVALID_TOKEN);
    assert_int_equal(bn_token_to_piece(NULL, 0, 0, buf, sizeof buf, &len), BN_E_INVALID_ARG);
    bn_token bos = bn_token_bos(m);
    assert_int_equal(bn_token_to_piece(m, bos, BN_DETOKENIZE_SPECIAL, buf, 4, &len), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, strlen("<|begin_of_text|>"));
    bn_token bad = 5000;
    assert_int_equal(bn_detokenize(m, &bad, 1, 0, buf, sizeof buf, &len), BN_E_INVALID_TOKEN);
    assert_int_equal(bn_detokenize(m, NULL, 0, 0, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    /* detokenize needs room for the NUL */
    bn_token ab[2] = { 'a', 'b' };  /* this vocabulary's byte tokens come first, in byte order */
    assert_int_equal(bn_detokenize(m, ab, 2, 0, buf, 2, &len), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, 2);
    assert_int_equal(bn_detokenize(m, ab, 2, 0, buf, 3, &len), BN_OK);
    assert_string_equal(buf, "ab");
    assert_null(bn_token_text(m, -1));
    assert_null(bn_token_text(m, 100000));
    assert_null(bn_token_text(NULL, 0));
    assert_int_equal(bn_token_bos(NULL), -1);
    assert_int_equal(bn_token_is_eog(NULL, 0), 0);
    tok_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unicode_flags),
        cmocka_unit_test(test_split_llama3),
        cmocka_unit_test(test_split_gpt2),
        cmocka_unit_test(test_split_default),
        cmocka_unit_test(test_conformance_llama_bpe),
        cmocka_unit_test(test_conformance_gpt2),
        cmocka_unit_test(test_conformance_spm),
        cmocka_unit_test(test_roundtrip_bpe),
        cmocka_unit_test(test_roundtrip_spm),
        cmocka_unit_test(test_roundtrip_shared),
        cmocka_unit_test(test_special_parsing),
        cmocka_unit_test(test_special_llama3),
        cmocka_unit_test(test_spm_specifics),
        cmocka_unit_test(test_bpe_pieces),
        cmocka_unit_test(test_stream_across_tokens),
        cmocka_unit_test(test_pre_fallbacks),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
