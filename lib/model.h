/* The model handle: the parsed file, hyperparameters, weights and vocabulary. */
#ifndef BN_LIB_MODEL_H
#define BN_LIB_MODEL_H

#include "bitnet/bitnet.h"
#include "error.h"
#include "gguf.h"
#include "kernels.h"
#include "vocab.h"

typedef enum bn_arch {
    BN_ARCH_BITNET_B158,  /* bitnet-b1.58 / bitnet-25: squared-ReLU FFN, sub-norms, GQA */
    BN_ARCH_BITNET,       /* bitnet (1bitLLM): SiLU FFN, sub-norms, optional *.scale tensors */
    BN_ARCH_LLAMA,        /* llama with ternary linear weights */
} bn_arch;

/* A float-valued matrix (embedding, output head) in its file type. */
typedef struct bn_dense {
    uint32_t type;        /* a GGUF type, or BN_TYPE_F16X2 for an F16 head moved to pairs */
    const uint8_t *data;
    size_t row_bytes;
    int64_t rows, cols;
} bn_dense;

/* Where row r starts, for bn_kernels.dequant_row. */
static inline const uint8_t *bn_dense_row(const bn_dense *d, int64_t r)
{
    return d->type == BN_TYPE_F16X2 ? bn_f16x2_row(d->data, d->row_bytes, r) : d->data + (size_t)r * d->row_bytes;
}

/* A ternary projection plus the optional extra scale of the `bitnet` arch. */
typedef struct bn_linear {
    bn_tmat w;
    float out_scale;      /* 1 unless a *.scale tensor says otherwise */
} bn_linear;

typedef struct bn_layer {
    const float *attn_norm, *attn_sub_norm, *ffn_norm, *ffn_sub_norm;  /* sub-norms NULL for llama */
    bn_linear wq, wk, wv, wo, wgate, wup, wdown;
} bn_layer;

typedef struct bn_hparams {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train, n_rot;
    float rope_base, norm_eps;
    int rope_neox;        /* 1: rotate pairs (i, i + d/2) (BitNet); 0: adjacent pairs (2i, 2i+1) (llama) */
} bn_hparams;

struct bn_model {
    bn_gguf *gguf;
    bn_vocab *vocab;
    bn_logger log;
    bn_arch arch;
    const char *arch_name;        /* general.architecture, NUL-terminated copy */
    bn_hparams hp;
    bn_layer *layers;
    const float *output_norm;
    bn_dense tok_embd, output;    /* output aliases tok_embd when tied */
    bn_i8mat head_i8;             /* the head as int8 rows (quantize_head), used when q != NULL */
    const bn_kernels *kern;
    uint64_t weight_bytes;
    void **owned;                 /* buffers made at load (repacked weights, converted norms) */
    size_t n_owned, cap_owned;
    struct bn_weight_map { void *p; size_t n; } *maps;  /* bn_model_map_weights */
    size_t n_maps;
    uint8_t *tarena;              /* the layers' matrices, repacked, and norms (bn_model_tarena_take) */
    size_t tarena_size, tarena_used;
    char **meta_keys;             /* bn_model_meta_key */
};

/* The model's vocabulary; NULL for a NULL model. */
const bn_vocab *bn_model_vocab(const bn_model *model);
/* bn_tokenize's checks and tokens into a growing vector (model and text not
 * NULL): callers inside the library need neither a size probe nor a copy. */
bn_status bn_tokenize_vec(const bn_model *model, const char *text, size_t text_len, uint32_t flags, bn_tokvec *out);
/* A token's text, owned by the model (bn_token_to_piece without the copy, of
 * any length): BN_E_INVALID_TOKEN outside the vocabulary. */
bn_status bn_token_piece(const bn_model *model, bn_token token, int special, const char **p, size_t *len);
/* The model's parsed file; NULL for a NULL model. */
const bn_gguf *bn_model_gguf(const bn_model *model);
/* The model's logger (never NULL for a valid model). */
const bn_logger *bn_model_logger(const bn_model *model);

/* Turns a ternary tensor of the file (I2_S, TQ2_0, TQ1_0) into a bn_tmat in
 * the kernels' layout; repacks into model-owned memory where needed. */
bn_status bn_load_ternary(bn_model *m, const bn_gguf_tensor *t, bn_tmat *out);
/* Anonymous memory for `bytes` of weights that every token streams, on
 * transparent huge pages where the system gives them; unmapped with the
 * model. NULL (and an error set) when out of memory. */
void *bn_model_map_weights(bn_model *m, size_t bytes);
/* Maps one region for `bytes` of repacked ternary matrices and the layers' norms. */
bn_status bn_model_tarena_init(bn_model *m, size_t bytes);
/* The next `bytes` (64-byte aligned) of that region; NULL when it is used up. */
uint8_t *bn_model_tarena_take(bn_model *m, size_t bytes);
/* Converts an F32/F16/BF16 head to int8 rows in model-owned memory
 * (quantize_head); leaves *out untouched (q NULL) when the head does not qualify. */
bn_status bn_quantize_head(bn_model *m, const bn_dense *head, bn_i8mat *out);
/* Gives the mapped file pages of [p, p + n) back to the kernel once their
 * content has been copied (the quantized head), so the copy and the original
 * are not both resident; they page in again if read. No-op when the file
 * was read() into memory. */
void bn_model_release(const bn_model *m, const void *p, size_t n);
/* The same for file data that is never read again (repacked or copied
 * tensors): also gives back the pages of a file read into memory, which
 * then read as zeros. */
void bn_model_discard(const bn_model *m, const void *p, size_t n);
/* Remembers a load-time buffer, freed with the model. Frees p on failure. */
bn_status bn_model_own(bn_model *m, void *p);

#endif
