/* Loading the tokenizer.* metadata into lookup tables: string -> id, merge
 * pair -> rank, per-token pieces, special and end-of-generation tokens. */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "utf8.h"
#include "vocab.h"

#define MAX_TOKENS (1 << 28)

/* ------------------------------------------------------------ string table */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;  /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t c = 16;
    while (c < n && c < (1u << 31))
        c <<= 1;
    return c;
}

int32_t bn_vocab_find(const bn_vocab *v, const char *s, size_t n)
{
    for (uint32_t i = hash_bytes(s, n) & v->str_hash_mask;; i = (i + 1) & v->str_hash_mask) {
        int32_t id = v->str_hash[i];
        if (id < 0)
            return -1;
        if (v->str_len[id] == n && !memcmp(v->text + v->str_off[id], s, n))
            return id;
    }
}

static void hash_insert(bn_vocab *v, int32_t id)
{
    uint32_t i = hash_bytes(v->text + v->str_off[id], v->str_len[id]) & v->str_hash_mask;
    while (v->str_hash[i] >= 0)
        i = (i + 1) & v->str_hash_mask;
    v->str_hash[i] = id;
}

/* Keeps the table at most half full; rebuilt from the ids already inserted. */
static bn_status hash_reserve(bn_vocab *v, int32_t n_ids)
{
    uint32_t cap = pow2_at_least(2 * (uint64_t)n_ids + 1);
    if (v->str_hash && cap <= v->str_hash_mask + 1)
        return BN_OK;
    int32_t *old = v->str_hash;
    uint32_t old_cap = old ? v->str_hash_mask + 1 : 0;
    if (!(v->str_hash = malloc((size_t)cap * sizeof *v->str_hash))) {
        v->str_hash = old;
        return bn_fail(BN_E_NOMEM, "out of memory for the vocabulary hash");
    }
    memset(v->str_hash, 0xff, (size_t)cap * sizeof *v->str_hash);
    v->str_hash_mask = cap - 1;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i] >= 0)
            hash_insert(v, old[i]);
    free(old);
    return BN_OK;
}

typedef struct strbuf {
    size_t len, cap;
    int32_t n_ids, cap_ids;
} strbuf;

/* Appends a string (and its NUL) to the table as id *id. */
static bn_status add_string(bn_vocab *v, strbuf *sb, const char *s, size_t n, int32_t *id)
{
    if (n > UINT32_MAX - 1 || sb->len + n + 1 > UINT32_MAX)
        return bn_fail(BN_E_FORMAT, "tokenizer strings exceed 4 GiB");
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 4096;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *t = realloc(v->text, cap);
        if (!t)
            return bn_fail(BN_E_NOMEM, "out of memory for tokenizer strings");
        v->text = t;
        sb->cap = cap;
    }
    if (sb->n_ids == sb->cap_ids) {
        int32_t cap = sb->cap_ids ? sb->cap_ids * 2 : 1024;
        uint32_t *o = realloc(v->str_off, (size_t)cap * sizeof *o);
        if (o)
            v->str_off = o;
        uint32_t *l = o ? realloc(v->str_len, (size_t)cap * sizeof *l) : NULL;
        if (!l)
            return bn_fail(BN_E_NOMEM, "out of memory for tokenizer strings");
        v->str_len = l;
        sb->cap_ids = cap;
    }
    if (n)
        memcpy(v->text + sb->len, s, n);
    v->text[sb->len + n] = '\0';
    v->str_off[sb->n_ids] = (uint32_t)sb->len;
    v->str_len[sb->n_ids] = (uint32_t)n;
    sb->len += n + 1;
    *id = sb->n_ids++;
    return BN_OK;
}

/* ------------------------------------------------------------ merge table */

static uint32_t hash_u64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

int32_t bn_vocab_merge(const bn_vocab *v, int32_t l, int32_t r, int32_t *result)
{
    if (!v->n_merges || l < 0 || r < 0)
        return -1;
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    for (uint32_t i = hash_u64(key) & v->merge_mask;; i = (i + 1) & v->merge_mask) {
        if (v->merge_rank[i] < 0)
            return -1;
        if (v->merge_key[i] == key) {
            *result = v->merge_result[v->merge_rank[i]];
            return v->merge_rank[i];
        }
    }
}

/* Split of a merge entry "left right": at the first space after the first
 * byte, as llama.cpp does (a left half may itself be a space). */
static int split_merge(bn_gguf_str m, size_t *at)
{
    for (size_t i = 1; i < m.len; i++)
        if (m.ptr[i] == ' ') {
            *at = i;
            return 1;
        }
    return 0;
}

static bn_status load_merges(bn_vocab *v, strbuf *sb, const bn_gguf *g, const bn_logger *lg)
{
    const bn_gguf_kv *kv = bn_gguf_find(g, "tokenizer.ggml.merges");
    const uint8_t *data;
    uint64_t n;
    if (!kv)
        return bn_fail(BN_E_NOT_FOUND, "metadata 'tokenizer.ggml.merges' is missing (required by a gpt2 tokenizer)");
    bn_status st = bn_gguf_get_arr(g, "tokenizer.ggml.merges", BN_GGUF_STRING, &data, &n);
    if (st != BN_OK)
        return st;
    if (n > MAX_TOKENS)
        return bn_fail(BN_E_FORMAT, "tokenizer.ggml.merges has %llu entries", (unsigned long long)n);
    uint32_t cap = pow2_at_least(n + n / 2 + 1);
    v->merge_key = malloc((size_t)cap * sizeof *v->merge_key);
    v->merge_rank = malloc((size_t)cap * sizeof *v->merge_rank);
    v->merge_result = malloc((n ? n : 1) * sizeof *v->merge_result);
    if (!v->merge_key || !v->merge_rank || !v->merge_result)
        return bn_fail(BN_E_NOMEM, "out of memory for %llu merges", (unsigned long long)n);
    memset(v->merge_rank, 0xff, (size_t)cap * sizeof *v->merge_rank);
    v->merge_mask = cap - 1;
    v->n_merges = (int32_t)n;

    /* Pass 1: intern both halves (ids for halves that are no token), record ranks. */
    int32_t *halves = malloc(2 * (n ? n : 1) * sizeof *halves);
    if (!halves)
        return bn_fail(BN_E_NOMEM, "out of memory for %llu merges", (unsigned long long)n);
    uint64_t n_bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        bn_gguf_str m = bn_gguf_arr_str(g, kv, i);
        size_t at;
        halves[2 * i] = halves[2 * i + 1] = -1;
        v->merge_result[i] = -1;
        if (!split_merge(m, &at)) {
            n_bad++;
            continue;
        }
        for (int h = 0; h < 2; h++) {
            const char *s = h ? m.ptr + at + 1 : m.ptr;
            size_t len = h ? m.len - at - 1 : at;
            int32_t id = bn_vocab_find(v, s, len);
            if (id < 0) {
                if ((st = hash_reserve(v, sb->n_ids + 1)) != BN_OK || (st = add_string(v, sb, s, len, &id)) != BN_OK) {
                    free(halves);
                    return st;
                }
                hash_insert(v, id);
            }
            halves[2 * i + h] = id;
        }
        uint64_t key = (uint64_t)(uint32_t)halves[2 * i] << 32 | (uint32_t)halves[2 * i + 1];
        uint32_t j = hash_u64(key) & v->merge_mask;
        while (v->merge_rank[j] >= 0 && v->merge_key[j] != key)
            j = (j + 1) & v->merge_mask;
        if (v->merge_rank[j] < 0) {  /* the first rank of a repeated pair wins */
            v->merge_key[j] = key;
            v->merge_rank[j] = (int32_t)i;
        }
    }
    /* Pass 2: what each merge produces, now that every half has an id. */
    char small[256];
    for (uint64_t i = 0; i < n; i++) {
        if (halves[2 * i] < 0)
            continue;
        size_t l1 = v->str_len[halves[2 * i]], l2 = v->str_len[halves[2 * i + 1]];
        char *buf = l1 + l2 <= sizeof small ? small : malloc(l1 + l2);
        if (!buf) {
            free(halves);
            return bn_fail(BN_E_NOMEM, "out of memory for merges");
        }
        memcpy(buf, bn_vocab_text(v, halves[2 * i]), l1);
        memcpy(buf + l1, bn_vocab_text(v, halves[2 * i + 1]), l2);
        v->merge_result[i] = bn_vocab_find(v, buf, l1 + l2);
        if (buf != small)
            free(buf);
    }
    free(halves);
    if (n_bad)
        bn_log(lg, BN_LOG_WARN, "tokenizer: %llu merges without a space separator ignored", (unsigned long long)n_bad);
    return BN_OK;
}

/* ------------------------------------------------------------- loading */

static int has_key(const bn_gguf *g, const char *key) { return bn_gguf_find(g, key) != NULL; }

static bn_status get_bool(const bn_gguf *g, const char *key, int *out)
{
    int64_t x;
    if (!has_key(g, key))
        return BN_OK;
    bn_status st = bn_gguf_get_int(g, key, &x);
    if (st == BN_OK)
        *out = x != 0;
    return st;
}

static bn_status get_id(const bn_vocab *v, const bn_gguf *g, const bn_logger *lg, const char *key, int32_t *out)
{
    int64_t x;
    if (!has_key(g, key))
        return BN_OK;
    bn_status st = bn_gguf_get_int(g, key, &x);
    if (st != BN_OK)
        return st;
    if (x < 0 || x >= v->n_tokens) {
        bn_log(lg, BN_LOG_WARN, "tokenizer: %s = %lld is outside the vocabulary; ignored", key, (long long)x);
        return BN_OK;
    }
    *out = (int32_t)x;
    return BN_OK;
}

static int32_t find_token_str(const bn_vocab *v, const char *s)
{
    return bn_vocab_token(v, s, strlen(s));
}

static bn_status read_pre(bn_vocab *v, const bn_gguf *g, const bn_logger *lg)
{
    bn_gguf_str s = { NULL, 0 };
    if (has_key(g, "tokenizer.ggml.pre")) {
        bn_status st = bn_gguf_get_str(g, "tokenizer.ggml.pre", &s);
        if (st != BN_OK)
            return st;
    }
#define IS(name) (s.len == sizeof name - 1 && !memcmp(s.ptr, name, s.len))
    if (!s.ptr) {
        /* Llama-3 conversions (BitNet 2B-4T among them) predate the key. */
        if (v->n_tokens == 128256) {
            v->pre = BN_PRE_LLAMA3;
            bn_log(lg, BN_LOG_WARN, "tokenizer: tokenizer.ggml.pre is missing; 128256 tokens, assuming 'llama-bpe'");
        } else {
            v->pre = BN_PRE_DEFAULT;
            bn_log(lg, BN_LOG_WARN, "tokenizer: tokenizer.ggml.pre is missing; using 'default'");
        }
    } else if (IS("llama-bpe") || IS("llama3") || IS("llama-v3") || IS("falcon3") || IS("falcon-h1") ||
               IS("pixtral") || IS("dbrx") || IS("smaug-bpe")) {
        /* dbrx and smaug-bpe use Llama 3's tiktoken rules, whole-word
         * tokens first included: their own tokenizers do, while llama.cpp
         * does not take whole words first for these two names */
        v->pre = BN_PRE_LLAMA3;
    } else if (IS("gpt-2") || IS("phi-2") || IS("mpt") || IS("olmo") || IS("jais")) {
        v->pre = BN_PRE_GPT2;
    } else if (IS("default")) {
        v->pre = BN_PRE_DEFAULT;
    } else {
        v->pre = BN_PRE_DEFAULT;
        char shown[72];
        bn_gguf_describe(shown, sizeof shown, s.ptr, s.len);
        bn_log(lg, BN_LOG_WARN, "tokenizer: unknown pre-tokenizer '%s'; using 'default' (tokens may differ)", shown);
    }
#undef IS
    /* llama.cpp: these pre-tokenizers take a whole word that is a token as is,
     * and their models want a BOS. */
    v->ignore_merges = v->add_bos = v->pre == BN_PRE_LLAMA3;
    return BN_OK;
}

/* Reads a float or int32 score array, and the token types. */
static bn_status read_scores_types(bn_vocab *v, const bn_gguf *g)
{
    const bn_gguf_kv *kv = bn_gguf_find(g, "tokenizer.ggml.scores");
    v->scores = calloc((size_t)v->n_tokens, sizeof *v->scores);
    v->ttype = malloc((size_t)v->n_tokens);
    if (!v->scores || !v->ttype)
        return bn_fail(BN_E_NOMEM, "out of memory for %d tokens", v->n_tokens);
    memset(v->ttype, BN_TOKTYPE_NORMAL, (size_t)v->n_tokens);
    if (kv) {
        if (kv->type != BN_GGUF_ARRAY || (kv->v.arr.type != BN_GGUF_FLOAT32 && kv->v.arr.type != BN_GGUF_INT32))
            return bn_fail(BN_E_TYPE, "metadata 'tokenizer.ggml.scores' must be an array of float32 or int32");
        if (kv->v.arr.n < (uint64_t)v->n_tokens)
            return bn_fail(BN_E_FORMAT, "tokenizer.ggml.scores has %llu entries for %d tokens",
                           (unsigned long long)kv->v.arr.n, v->n_tokens);
        for (int32_t i = 0; i < v->n_tokens; i++) {
            if (kv->v.arr.type == BN_GGUF_FLOAT32) {
                memcpy(&v->scores[i], kv->v.arr.data + 4 * (size_t)i, 4);
            } else {
                int32_t x;
                memcpy(&x, kv->v.arr.data + 4 * (size_t)i, 4);
                v->scores[i] = (float)x;
            }
        }
    }
    if (has_key(g, "tokenizer.ggml.token_type")) {
        const uint8_t *data;
        uint64_t n;
        bn_status st = bn_gguf_get_arr(g, "tokenizer.ggml.token_type", BN_GGUF_INT32, &data, &n);
        if (st != BN_OK)
            return st;
        if (n < (uint64_t)v->n_tokens)
            return bn_fail(BN_E_FORMAT, "tokenizer.ggml.token_type has %llu entries for %d tokens",
                           (unsigned long long)n, v->n_tokens);
        for (int32_t i = 0; i < v->n_tokens; i++) {
            int32_t t;
            memcpy(&t, data + 4 * (size_t)i, 4);
            v->ttype[i] = (uint8_t)(t >= BN_TOKTYPE_NORMAL && t <= BN_TOKTYPE_BYTE ? t : BN_TOKTYPE_UNDEFINED);
        }
    }
    return BN_OK;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "<0xNN>" -> NN, else -1. */
static int byte_token_value(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>' || hex_digit(s[3]) < 0 || hex_digit(s[4]) < 0)
        return -1;
    return hex_digit(s[3]) * 16 + hex_digit(s[4]);
}

/* Writes token i's piece to out (never longer than its text); returns its length. */
static size_t make_piece(const bn_vocab *v, int32_t i, char *out)
{
    const char *s = bn_vocab_text(v, i);
    size_t n = bn_vocab_text_len(v, i), w = 0;
    switch (v->ttype[i]) {
    case BN_TOKTYPE_CONTROL:
    case BN_TOKTYPE_UNKNOWN:
    case BN_TOKTYPE_USER_DEFINED:
        memcpy(out, s, n);
        return n;
    case BN_TOKTYPE_NORMAL:
        break;
    case BN_TOKTYPE_BYTE:
        if (v->type == BN_VOCAB_SPM) {
            int b = byte_token_value(s, n);
            if (b < 0)
                return 0;
            out[0] = (char)b;
            return 1;
        }
        return 0;
    default:
        return 0;  /* unused and undefined tokens render as nothing */
    }
    for (size_t k = 0; k < n;) {
        uint32_t cp;
        size_t len = bn_utf8_decode(s + k, n - k, &cp);
        if (len == 0) {  /* not UTF-8: pass the byte through */
            out[w++] = s[k++];
            continue;
        }
        if (v->type == BN_VOCAB_SPM) {
            if (cp == 0x2581)
                out[w++] = ' ';
            else
                w += bn_utf8_encode(cp, out + w);
        } else {
            int b = bn_bpe_cp_byte(cp);
            if (b >= 0)
                out[w++] = (char)b;
            else
                w += bn_utf8_encode(cp, out + w);
        }
        k += len;
    }
    return w;
}

static bn_status build_pieces(bn_vocab *v)
{
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        total += v->str_len[i];
    v->piece = malloc(total ? total : 1);
    v->piece_off = malloc(((size_t)v->n_tokens + 1) * sizeof *v->piece_off);
    if (!v->piece || !v->piece_off)
        return bn_fail(BN_E_NOMEM, "out of memory for token pieces");
    size_t w = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        v->piece_off[i] = (uint32_t)w;
        /* A piece is never longer than its text: bytes shrink, ▁ becomes one byte. */
        w += make_piece(v, i, v->piece + w);
    }
    v->piece_off[v->n_tokens] = (uint32_t)w;
    return BN_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int is_special_type(uint8_t t)
{
    return t == BN_TOKTYPE_CONTROL || t == BN_TOKTYPE_USER_DEFINED || t == BN_TOKTYPE_UNKNOWN;
}

/* Longest text first (a longer special token wins over one it contains), then by id. */
static bn_status build_special(bn_vocab *v)
{
    size_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        n += v->str_len[i] > 0 && is_special_type(v->ttype[i]);
    uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
    v->special = malloc((n ? n : 1) * sizeof *v->special);
    if (!keys || !v->special) {
        free(keys);
        return bn_fail(BN_E_NOMEM, "out of memory for special tokens");
    }
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->str_len[i] > 0 && is_special_type(v->ttype[i]))
            keys[v->n_special++] = (uint64_t)(UINT32_MAX - v->str_len[i]) << 32 | (uint32_t)i;
    qsort(keys, v->n_special, sizeof *keys, cmp_u64);
    for (size_t i = 0; i < v->n_special; i++)
        v->special[i] = (int32_t)(uint32_t)keys[i];
    free(keys);
    return BN_OK;
}

/* llama.cpp's end-of-generation rule: EOS, EOT, EOM and tokens with these texts. */
static bn_status build_eog(bn_vocab *v)
{
    static const char *const names[] = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                         "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "</s>" };
    size_t n_names = sizeof names / sizeof *names;
    v->eog = malloc((n_names + 3) * sizeof *v->eog);
    if (!v->eog)
        return bn_fail(BN_E_NOMEM, "out of memory");
    int32_t fixed[3] = { v->eos, v->eot, v->eom };
    for (int k = 0; k < 3; k++)
        if (fixed[k] >= 0)
            v->eog[v->n_eog++] = fixed[k];
    for (size_t k = 0; k < n_names; k++) {
        int32_t t = find_token_str(v, names[k]);
        if (t >= 0)
            v->eog[v->n_eog++] = t;
    }
    qsort(v->eog, v->n_eog, sizeof *v->eog, cmp_id);
    size_t w = 0;
    for (size_t i = 0; i < v->n_eog; i++)
        if (w == 0 || v->eog[w - 1] != v->eog[i])
            v->eog[w++] = v->eog[i];
    v->n_eog = w;
    return BN_OK;
}

int bn_vocab_is_eog(const bn_vocab *v, int32_t t)
{
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == t)
            return 1;
    return 0;
}

static bn_status read_special_ids(bn_vocab *v, const bn_gguf *g, const bn_logger *lg)
{
    v->bos = v->eos = v->eot = v->eom = v->unk = v->pad = -1;
    if (v->type == BN_VOCAB_SPM) {
        /* llama.cpp's defaults for SentencePiece vocabularies */
        v->unk = v->n_tokens > 0 ? 0 : -1;
        v->bos = v->n_tokens > 1 ? 1 : -1;
        v->eos = v->n_tokens > 2 ? 2 : -1;
    } else {
        /* llama.cpp defaults a gpt2 BOS/EOS to id 11, a leftover of one model;
         * look the usual texts up instead. */
        v->bos = find_token_str(v, "<|begin_of_text|>");
        v->eos = find_token_str(v, "<|end_of_text|>");
        if (v->eos < 0)
            v->eos = find_token_str(v, "<|endoftext|>");
    }
    bn_status st;
    if ((st = get_id(v, g, lg, "tokenizer.ggml.bos_token_id", &v->bos)) != BN_OK ||
        (st = get_id(v, g, lg, "tokenizer.ggml.eos_token_id", &v->eos)) != BN_OK ||
        (st = get_id(v, g, lg, "tokenizer.ggml.eot_token_id", &v->eot)) != BN_OK ||
        (st = get_id(v, g, lg, "tokenizer.ggml.eom_token_id", &v->eom)) != BN_OK ||
        (st = get_id(v, g, lg, "tokenizer.ggml.unknown_token_id", &v->unk)) != BN_OK ||
        (st = get_id(v, g, lg, "tokenizer.ggml.padding_token_id", &v->pad)) != BN_OK)
        return st;
    if (v->eot < 0) {
        static const char *const eot_names[] = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                                 "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>" };
        for (size_t k = 0; k < sizeof eot_names / sizeof *eot_names && v->eot < 0; k++)
            v->eot = find_token_str(v, eot_names[k]);
    }
    if (v->eom < 0)
        v->eom = find_token_str(v, "<|eom_id|>");
    return BN_OK;
}

static bn_status read_flags(bn_vocab *v, const bn_gguf *g, const bn_logger *lg)
{
    bn_status st;
    v->add_eos = 0;
    v->add_space_prefix = v->type == BN_VOCAB_SPM;
    if (v->type == BN_VOCAB_SPM)
        v->add_bos = 1;
    if ((st = get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos)) != BN_OK ||
        (st = get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos)) != BN_OK ||
        (st = get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix)) != BN_OK)
        return st;
    if (v->add_bos && v->bos < 0) {
        bn_log(lg, BN_LOG_WARN, "tokenizer: add_bos_token is set but there is no BOS token");
        v->add_bos = 0;
    }
    if (v->add_eos && v->eos < 0) {
        bn_log(lg, BN_LOG_WARN, "tokenizer: add_eos_token is set but there is no EOS token");
        v->add_eos = 0;
    }
    return BN_OK;
}

static bn_status read_chat_template(bn_vocab *v, const bn_gguf *g)
{
    bn_gguf_str s;
    if (!has_key(g, "tokenizer.chat_template"))
        return BN_OK;
    bn_status st = bn_gguf_get_str(g, "tokenizer.chat_template", &s);
    if (st != BN_OK)
        return st;
    if (!(v->chat_template = malloc(s.len + 1)))
        return bn_fail(BN_E_NOMEM, "out of memory for the chat template");
    memcpy(v->chat_template, s.ptr, s.len);
    v->chat_template[s.len] = '\0';
    return BN_OK;
}

static bn_status read_tokens(bn_vocab *v, strbuf *sb, const bn_gguf *g, const bn_logger *lg)
{
    const uint8_t *data;
    uint64_t n;
    bn_status st = bn_gguf_get_arr(g, "tokenizer.ggml.tokens", BN_GGUF_STRING, &data, &n);
    if (st != BN_OK)
        return st;
    if (n == 0 || n > MAX_TOKENS)
        return bn_fail(BN_E_FORMAT, "tokenizer.ggml.tokens has %llu entries", (unsigned long long)n);
    const bn_gguf_kv *kv = bn_gguf_find(g, "tokenizer.ggml.tokens");
    v->n_tokens = (int32_t)n;
    if ((st = hash_reserve(v, v->n_tokens)) != BN_OK)
        return st;
    int32_t n_dup = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        bn_gguf_str s = bn_gguf_arr_str(g, kv, (uint64_t)i);
        int32_t prev = s.len ? bn_vocab_find(v, s.ptr, s.len) : -1, id;
        if ((st = add_string(v, sb, s.ptr, s.len, &id)) != BN_OK)
            return st;
        if (prev >= 0)
            n_dup++;  /* the first id keeps the text */
        else if (s.len)
            hash_insert(v, i);
    }
    if (n_dup)
        bn_log(lg, BN_LOG_WARN, "tokenizer: %d duplicate token texts; the lowest id wins", n_dup);
    return BN_OK;
}

static bn_status read_model(bn_vocab *v, const bn_gguf *g)
{
    bn_gguf_str s;
    bn_status st = bn_gguf_get_str(g, "tokenizer.ggml.model", &s);
    if (st != BN_OK)
        return st;
    if (s.len == 4 && !memcmp(s.ptr, "gpt2", 4))
        v->type = BN_VOCAB_BPE;
    else if (s.len == 5 && !memcmp(s.ptr, "llama", 5))
        v->type = BN_VOCAB_SPM;
    else {
        char shown[72];
        bn_gguf_describe(shown, sizeof shown, s.ptr, s.len);
        return bn_fail(BN_E_UNSUPPORTED, "tokenizer.ggml.model '%s' is not supported (gpt2, llama)", shown);
    }
    return BN_OK;
}

static void init_byte_symbols(bn_vocab *v)
{
    for (int b = 0; b < 256; b++) {
        if (v->type == BN_VOCAB_BPE) {
            char u[4];
            v->byte_sym[b] = bn_vocab_find(v, u, bn_utf8_encode(bn_bpe_byte_cp[b], u));
        } else {
            static const char hex[] = "0123456789ABCDEF";
            char t[6] = { '<', '0', 'x', hex[b >> 4], hex[b & 15], '>' };
            char raw = (char)b;
            v->byte_sym[b] = bn_vocab_token(v, t, 6);
            if (v->byte_sym[b] < 0)
                v->byte_sym[b] = bn_vocab_token(v, &raw, 1);
        }
    }
}

bn_status bn_vocab_load(const bn_gguf *g, const bn_logger *lg, bn_vocab **out)
{
    *out = NULL;
    bn_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return bn_fail(BN_E_NOMEM, "out of memory for the vocabulary");
    strbuf sb = { 0 };
    bn_status st;
    if ((st = read_model(v, g)) != BN_OK || (st = read_tokens(v, &sb, g, lg)) != BN_OK ||
        (v->type == BN_VOCAB_BPE && (st = load_merges(v, &sb, g, lg)) != BN_OK) ||
        (st = read_scores_types(v, g)) != BN_OK ||
        (v->type == BN_VOCAB_BPE && (st = read_pre(v, g, lg)) != BN_OK) ||
        (st = read_special_ids(v, g, lg)) != BN_OK || (st = read_flags(v, g, lg)) != BN_OK ||
        (st = build_pieces(v)) != BN_OK || (st = build_special(v)) != BN_OK || (st = build_eog(v)) != BN_OK ||
        (st = read_chat_template(v, g)) != BN_OK) {
        bn_vocab_free(v);
        return st;
    }
    v->n_str = sb.n_ids;
    init_byte_symbols(v);
    bn_log(lg, BN_LOG_INFO, "tokenizer: %s, %d tokens, %d merges, bos %d, eos %d, eot %d, add_bos %d",
           v->type == BN_VOCAB_BPE ? "gpt2 BPE" : "SentencePiece", v->n_tokens, v->n_merges, v->bos, v->eos,
           v->eot, v->add_bos);
    *out = v;
    return BN_OK;
}

void bn_vocab_free(bn_vocab *v)
{
    if (!v)
        return;
    free(v->text);
    free(v->str_off);
    free(v->str_len);
    free(v->str_hash);
    free(v->scores);
    free(v->ttype);
    free(v->piece);
    free(v->piece_off);
    free(v->merge_key);
    free(v->merge_rank);
    free(v->merge_result);
    free(v->special);
    free(v->eog);
    free(v->chat_template);
    free(v);
}

int32_t bn_vocab_n(const bn_vocab *v)
{
    return v ? v->n_tokens : 0;
}

const char *bn_vocab_piece(const bn_vocab *v, int32_t t, int special, size_t *len)
{
    if (!special && (v->ttype[t] == BN_TOKTYPE_CONTROL || v->ttype[t] == BN_TOKTYPE_UNKNOWN)) {
        *len = 0;
        return v->piece + v->piece_off[t];
    }
    *len = v->piece_off[t + 1] - v->piece_off[t];
    return v->piece + v->piece_off[t];
}

bn_status bn_tokvec_push(bn_tokvec *v, int32_t t)
{
    int32_t *p = bn_grow(v->p, v->n, &v->cap, sizeof *p, 64);
    if (!p)
        return bn_fail(BN_E_NOMEM, "out of memory for tokens");
    v->p = p;
    v->p[v->n++] = t;
    return BN_OK;
}
