/* The tokenizer vocabulary of a model: loading, lookups, tokenizing, detokenizing. */
#ifndef BN_LIB_VOCAB_H
#define BN_LIB_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "error.h"
#include "gguf.h"

typedef struct bn_vocab bn_vocab;

/* Reads the tokenizer.* metadata. Errors name the key. */
bn_status bn_vocab_load(const bn_gguf *g, const bn_logger *lg, bn_vocab **out);
void bn_vocab_free(bn_vocab *v);
int32_t bn_vocab_n(const bn_vocab *v);

typedef enum bn_vocab_type {
    BN_VOCAB_BPE,  /* tokenizer.ggml.model "gpt2": byte-level BPE with merges */
    BN_VOCAB_SPM,  /* "llama": SentencePiece BPE with scores and byte fallback */
} bn_vocab_type;

/* Pre-tokenizers (llama.cpp's regexes, written out in C: pretokenize.c). */
typedef enum bn_pre_type {
    BN_PRE_DEFAULT,  /* "default" (and unknown names) */
    BN_PRE_LLAMA3,   /* "llama-bpe", "llama3", "falcon3", ... */
    BN_PRE_GPT2,     /* "gpt-2" */
} bn_pre_type;

/* tokenizer.ggml.token_type values. */
enum {
    BN_TOKTYPE_UNDEFINED = 0,
    BN_TOKTYPE_NORMAL = 1,
    BN_TOKTYPE_UNKNOWN = 2,
    BN_TOKTYPE_CONTROL = 3,
    BN_TOKTYPE_USER_DEFINED = 4,
    BN_TOKTYPE_UNUSED = 5,
    BN_TOKTYPE_BYTE = 6,
};

/* A growable token list. */
typedef struct bn_tokvec {
    int32_t *p;
    size_t n, cap;
} bn_tokvec;

bn_status bn_tokvec_push(bn_tokvec *v, int32_t t);

struct bn_vocab {
    bn_vocab_type type;
    bn_pre_type pre;
    int32_t n_tokens;
    /* Strings: ids 0..n_tokens-1 are the tokens; ids from n_tokens on are merge
     * halves that are not tokens, so every BPE symbol that can take part in a
     * merge has an id. Each string is NUL-terminated inside text. */
    int32_t n_str;
    char *text;
    uint32_t *str_off, *str_len;
    int32_t *str_hash;           /* open addressing: string id or -1 */
    uint32_t str_hash_mask;
    float *scores;               /* per token; 0 when the file has none */
    uint8_t *ttype;              /* per token, BN_TOKTYPE_* */
    /* What each token detokenizes to (normal and byte tokens; the text of
     * control, unknown and user-defined tokens). */
    char *piece;
    uint32_t *piece_off;         /* n_tokens + 1 */
    /* BPE merges: (left id, right id) -> rank, and the id of the merged string. */
    int32_t n_merges;
    uint64_t *merge_key;
    int32_t *merge_rank;
    uint32_t merge_mask;
    int32_t *merge_result;       /* by rank; -1 when the concatenation is no known string */
    int32_t byte_sym[256];       /* BPE: string id of each byte's symbol; SPM: token for the byte */
    int32_t bos, eos, eot, eom, unk, pad;  /* -1 if none */
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    int32_t *special;            /* control, user-defined and unknown tokens, longest text first */
    size_t n_special;
    int32_t *eog;                /* end-of-generation tokens, sorted */
    size_t n_eog;
    char *chat_template;         /* tokenizer.chat_template, NUL-terminated, or NULL */
};

/* String id of the n bytes at s, or -1. */
int32_t bn_vocab_find(const bn_vocab *v, const char *s, size_t n);
/* Token id of the n bytes at s, or -1. */
static inline int32_t bn_vocab_token(const bn_vocab *v, const char *s, size_t n)
{
    int32_t id = bn_vocab_find(v, s, n);
    return id < v->n_tokens ? id : -1;
}
/* Rank of merging strings l and r (and *result, the merged string's id), or -1. */
int32_t bn_vocab_merge(const bn_vocab *v, int32_t l, int32_t r, int32_t *result);

static inline const char *bn_vocab_text(const bn_vocab *v, int32_t id) { return v->text + v->str_off[id]; }
static inline uint32_t bn_vocab_text_len(const bn_vocab *v, int32_t id) { return v->str_len[id]; }
int bn_vocab_is_eog(const bn_vocab *v, int32_t token);

/* Text (valid UTF-8) to tokens, appended to out: special-token partition as
 * llama.cpp (user-defined tokens always; control and unknown ones with
 * parse_special), BOS/EOS with add_special as the metadata asks. */
bn_status bn_vocab_tokenize(const bn_vocab *v, const char *text, size_t len, int add_special, int parse_special,
                            bn_tokvec *out);

/* The bytes token t detokenizes to (empty for control tokens unless special). */
const char *bn_vocab_piece(const bn_vocab *v, int32_t t, int special, size_t *len);

/* Byte-level BPE (bpe.c): the GPT-2 byte <-> code point mapping and the merge loop. */
extern const uint16_t bn_bpe_byte_cp[256];
int bn_bpe_cp_byte(uint32_t cp);  /* the byte a symbol code point stands for, or -1 */
bn_status bn_bpe_tokenize(const bn_vocab *v, const char *text, size_t len, bn_tokvec *out);

/* SentencePiece BPE (spm.c). prefix_space: prepend one space first. */
bn_status bn_spm_tokenize(const bn_vocab *v, const char *text, size_t len, int prefix_space, bn_tokvec *out);

/* Pre-tokenizer (pretokenize.c): splits n code points into words; writes the
 * word lengths (in code points) to *lens (malloc'd) and their count to *n_lens. */
bn_status bn_pretokenize(bn_pre_type pre, const uint32_t *cps, size_t n, size_t **lens, size_t *n_lens);

#endif
