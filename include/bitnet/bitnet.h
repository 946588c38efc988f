/*
 * libbitnet — run 1.58-bit (ternary) language models on CPUs.
 *
 * Basic usage:
 *
 *     bn_model *model;
 *     if (bn_model_open("model.gguf", NULL, &model) != BN_OK) {
 *         fprintf(stderr, "%s\n", bn_last_error());
 *         return 1;
 *     }
 *     bn_ctx *ctx;
 *     bn_ctx_new(model, NULL, &ctx);
 *     bn_gen_params gp;
 *     bn_gen_params_init(&gp);
 *     gp.n_predict = 64;
 *     bn_generate(ctx, "Once upon a time", &gp, on_token, NULL);
 *     bn_ctx_free(ctx);
 *     bn_model_free(model);
 *
 * Threading: a bn_model is immutable once opened and may be shared by any
 * number of threads and contexts. A bn_ctx (and a bn_sampler) is used by one
 * thread at a time. Every function is reentrant; the library keeps no global
 * mutable state (bn_last_error's message is per thread).
 *
 * Errors: functions return a bn_status; on failure bn_last_error() gives a
 * message naming the problem, kept per thread until that thread's next failure.
 *
 * ABI: see docs/abi.md. Parameter structs start with their own size, are
 * filled by bn_*_params_init() and only ever grow at the end.
 */
#ifndef BITNET_BITNET_H
#define BITNET_BITNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(BN_BUILDING_LIBRARY)
#    define BN_API __declspec(dllexport)
#  else
#    define BN_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define BN_API __attribute__((visibility("default")))
#else
#  define BN_API
#endif

/* ---------------------------------------------------------------- version */

#define BN_VERSION_MAJOR 0
#define BN_VERSION_MINOR 3
#define BN_VERSION_PATCH 0
#define BN_VERSION_NUMBER (BN_VERSION_MAJOR * 10000 + BN_VERSION_MINOR * 100 + BN_VERSION_PATCH)
#define BN_VERSION_STRING "0.3.0"
/* Bumped together with the SONAME when the ABI breaks (docs/abi.md). */
#define BN_ABI_VERSION 0

/* The library's BN_VERSION_NUMBER, for bindings that check at load time. */
BN_API int bn_version(void);
/* The library's BN_VERSION_STRING. Static storage. */
BN_API const char *bn_version_string(void);
/* The library's BN_ABI_VERSION. */
BN_API int bn_abi_version(void);

/* ----------------------------------------------------------------- status */

typedef enum bn_status {
    BN_OK = 0,
    BN_E_INVALID_ARG = -1,    /* NULL handle, out-of-range value, bad flag */
    BN_E_NOMEM = -2,          /* allocation failed */
    BN_E_IO = -3,             /* file could not be opened, mapped or read */
    BN_E_FORMAT = -4,         /* malformed or truncated model file or saved state */
    BN_E_UNSUPPORTED = -5,    /* valid but not supported: architecture, tensor type, CPU level */
    BN_E_CONTEXT_FULL = -6,   /* evaluating would exceed n_ctx */
    BN_E_BUFFER_TOO_SMALL = -7, /* output buffer too small; the needed size is reported */
    BN_E_INVALID_UTF8 = -8,   /* input text is not valid UTF-8 */
    BN_E_INVALID_TOKEN = -9,  /* token id outside the vocabulary */
    BN_E_NOT_FOUND = -10,     /* metadata key or tensor does not exist */
    BN_E_TYPE = -11,          /* metadata value has another type */
    BN_E_THREAD = -12,        /* worker threads could not be started */
    BN_E_INTERNAL = -13       /* a bug in libbitnet: please report it */
    /* New codes are appended; callers treat any unknown negative value as an error. */
} bn_status;

/* A short fixed description of a status ("invalid argument"). Static storage;
 * unknown values give "unknown status". */
BN_API const char *bn_status_string(bn_status status);

/* The detail of the calling thread's last failure, or "" if none. Valid until
 * the thread's next libbitnet call that fails. */
BN_API const char *bn_last_error(void);

/* ---------------------------------------------------------------- logging */

typedef enum bn_log_level {
    BN_LOG_ERROR = 0,
    BN_LOG_WARN = 1,
    BN_LOG_INFO = 2,
    BN_LOG_DEBUG = 3
} bn_log_level;

/* Receives one finished line of text (no trailing newline). Called from the
 * thread that made the call which logs. */
typedef void (*bn_log_fn)(void *user, int level, const char *msg);

/* A log callback that discards everything, for hosts that want silence. */
BN_API void bn_log_silent(void *user, int level, const char *msg);

/* -------------------------------------------------------------- CPU level */

typedef enum bn_cpu_level {
    BN_CPU_AUTO = 0,      /* the best level this CPU supports */
    BN_CPU_SCALAR = 1,    /* plain C: the reference */
    BN_CPU_AVX2 = 2,      /* x86-64 AVX2 + FMA + F16C */
    BN_CPU_AVX512 = 3,    /* x86-64 AVX-512 F/BW/VL + VNNI */
    BN_CPU_NEON = 4,      /* aarch64 Advanced SIMD */
    BN_CPU_DOTPROD = 5    /* aarch64 with the dot-product extension */
} bn_cpu_level;

/* The best level the running CPU (and OS) supports, ignoring BN_CPU. */
BN_API bn_cpu_level bn_cpu_best(void);
/* Whether the running CPU supports the level. */
BN_API int bn_cpu_supported(bn_cpu_level level);
/* "scalar", "avx2", ...; "auto" for BN_CPU_AUTO; "unknown" otherwise. */
BN_API const char *bn_cpu_level_name(bn_cpu_level level);

/* ------------------------------------------------------------------ model */

typedef struct bn_model bn_model;  /* immutable after open; shareable across threads */
typedef struct bn_ctx bn_ctx;      /* one conversation/sequence; one thread at a time */
typedef int32_t bn_token;

typedef struct bn_model_params {
    size_t size;             /* sizeof(bn_model_params), set by bn_model_params_init() */
    int use_mmap;            /* 1 (default): map the file; 0: read it into memory */
    bn_cpu_level cpu_level;  /* BN_CPU_AUTO (default), or a level to force; the
                                environment variable BN_CPU=scalar|avx2|... applies
                                when this is AUTO. Unsupported: BN_E_UNSUPPORTED */
    int quantize_head;       /* 1: convert the output head (any type) to int8 rows at
                                load (faster decode, tiny perplexity change). 0 default */
    bn_log_fn log_fn;        /* NULL (default): warnings and errors to stderr */
    void *log_user;
    int log_level;           /* highest bn_log_level passed on; default BN_LOG_WARN */
} bn_model_params;

BN_API void bn_model_params_init(bn_model_params *params);
/* Defaults for a struct of `size` bytes, the caller's sizeof: fields this
 * library does not know are zeroed, so bn_model_open can check them. */
BN_API void bn_model_params_init_sized(bn_model_params *params, size_t size);
#define bn_model_params_init(params) bn_model_params_init_sized((params), sizeof *(params))

/* Opens a GGUF model. params NULL = defaults. On failure *out is NULL and the
 * status says why (BN_E_IO, BN_E_FORMAT, BN_E_UNSUPPORTED, BN_E_NOMEM). */
BN_API bn_status bn_model_open(const char *path, const bn_model_params *params, bn_model **out);
/* Frees a model. Every context made from it must be freed first. NULL is a no-op. */
BN_API void bn_model_free(bn_model *model);

BN_API int32_t bn_model_n_vocab(const bn_model *model);     /* 0 for NULL */
BN_API int32_t bn_model_n_ctx_train(const bn_model *model); /* 0 for NULL */
BN_API int32_t bn_model_n_embd(const bn_model *model);
BN_API int32_t bn_model_n_layer(const bn_model *model);
/* general.architecture, e.g. "bitnet-b1.58". Owned by the model. "" for NULL. */
BN_API const char *bn_model_arch(const bn_model *model);
/* The kernel level this model's contexts use. */
BN_API bn_cpu_level bn_model_cpu_level(const bn_model *model);
/* Bytes of weights one decoded token reads (for bandwidth figures). */
BN_API uint64_t bn_model_weight_bytes(const bn_model *model);

/* Metadata. Strings are owned by the model and are not NUL-terminated in the
 * file: use *len. Integers of any width and bools read as int64; floats of
 * either width, and integers, as double. BN_E_NOT_FOUND / BN_E_TYPE on mismatch. */
BN_API int64_t bn_model_meta_count(const bn_model *model);
BN_API const char *bn_model_meta_key(const bn_model *model, int64_t index);  /* NULL if out of range */
BN_API bn_status bn_model_meta_str(const bn_model *model, const char *key, const char **str, size_t *len);
BN_API bn_status bn_model_meta_int(const bn_model *model, const char *key, int64_t *value);
BN_API bn_status bn_model_meta_float(const bn_model *model, const char *key, double *value);
/* Number of elements of an array value. */
BN_API bn_status bn_model_meta_array_len(const bn_model *model, const char *key, uint64_t *n);

typedef struct bn_tensor_info {
    size_t size;             /* sizeof(bn_tensor_info), set by the caller */
    const char *name;        /* owned by the model */
    const char *type_name;   /* "I2_S", "F16", ... static storage */
    int type;                /* GGUF type number */
    int n_dims;
    int64_t ne[4];           /* ne[0] is the innermost (contiguous) dimension */
    uint64_t n_bytes;        /* bytes in the file */
} bn_tensor_info;

BN_API int64_t bn_model_n_tensors(const bn_model *model);
BN_API bn_status bn_model_tensor(const bn_model *model, int64_t index, bn_tensor_info *info);

/* -------------------------------------------------------------- tokenizer */

#define BN_TOKENIZE_ADD_SPECIAL   1u  /* add BOS etc. as the model's metadata asks */
#define BN_TOKENIZE_PARSE_SPECIAL 2u  /* recognise special-token text such as <|eot_id|> */

/* Text (UTF-8, not necessarily NUL-terminated) to tokens. Invalid UTF-8:
 * BN_E_INVALID_UTF8. Capacity too small: BN_E_BUFFER_TOO_SMALL with
 * *n_tokens = the count needed (tokens may be NULL with capacity 0 to ask). */
BN_API bn_status bn_tokenize(const bn_model *model, const char *text, size_t text_len, uint32_t flags,
                             bn_token *tokens, size_t capacity, size_t *n_tokens);

#define BN_DETOKENIZE_SPECIAL 1u  /* render control tokens' text (default: omit them) */

/* The bytes of one token (may be part of a UTF-8 character). Writes at most
 * cap bytes, no NUL; *len = the full length (BN_E_BUFFER_TOO_SMALL if > cap). */
BN_API bn_status bn_token_to_piece(const bn_model *model, bn_token token, uint32_t flags,
                                   char *buf, size_t cap, size_t *len);
/* Tokens to text. Writes a NUL terminator when it fits; *len excludes it.
 * Invalid UTF-8 produced by the tokens is replaced by U+FFFD. */
BN_API bn_status bn_detokenize(const bn_model *model, const bn_token *tokens, size_t n_tokens,
                               uint32_t flags, char *buf, size_t cap, size_t *len);

BN_API bn_token bn_token_bos(const bn_model *model);  /* -1 if none */
BN_API bn_token bn_token_eos(const bn_model *model);  /* -1 if none */
BN_API bn_token bn_token_eot(const bn_model *model);  /* -1 if none */
/* Whether generation should stop at this token (EOS, EOT, other end markers). */
BN_API int bn_token_is_eog(const bn_model *model, bn_token token);
/* The token's vocabulary text as stored in the model (owned by the model). */
BN_API const char *bn_token_text(const bn_model *model, bn_token token);

/* ---------------------------------------------------------------- context */

/* The most tokens bn_ctx_params.n_batch may ask for in one weight pass. */
#define BN_MAX_BATCH 4096

typedef struct bn_ctx_params {
    size_t size;         /* sizeof(bn_ctx_params), set by bn_ctx_params_init */
    uint32_t n_ctx;      /* KV cache length in tokens; 0 (default) = min(training length, 4096);
                          * longer than the training length works and logs a warning */
    int n_threads;       /* worker threads including the caller; 0 (default) = 1 */
    uint32_t n_batch;    /* tokens evaluated per weight pass in prefill; 0 (default) = 64; at most BN_MAX_BATCH */
} bn_ctx_params;

BN_API void bn_ctx_params_init(bn_ctx_params *params);
/* Defaults for a struct of `size` bytes, the caller's sizeof: fields this
 * library does not know are zeroed, so bn_ctx_new can check them. */
BN_API void bn_ctx_params_init_sized(bn_ctx_params *params, size_t size);
#define bn_ctx_params_init(params) bn_ctx_params_init_sized((params), sizeof *(params))
/* params NULL = defaults. The model must outlive the context. */
BN_API bn_status bn_ctx_new(bn_model *model, const bn_ctx_params *params, bn_ctx **out);
BN_API void bn_ctx_free(bn_ctx *ctx);   /* NULL is a no-op */
BN_API void bn_ctx_reset(bn_ctx *ctx);  /* forget every token evaluated so far */
/* Keeps the first n_keep tokens evaluated and forgets the rest (and any
 * pending streamed text if tokens are dropped), so that evaluation goes on
 * from position n_keep: rewinding a conversation, or reusing a prompt's
 * prefix. BN_E_INVALID_ARG if n_keep > bn_ctx_n_past. Since 0.3.0. */
BN_API bn_status bn_ctx_truncate(bn_ctx *ctx, uint32_t n_keep);
/* Forgets the n tokens at positions first .. first + n - 1; the tokens after
 * them move down by n, so evaluation goes on at bn_ctx_n_past - n (a
 * "context shift": generation past a full context keeps the start and the
 * latest text; pending streamed text stays unless the last token goes). The moved keys are rotated to their new positions and
 * stored as f16 again, so the logits that follow are close to, not bit for
 * bit, those of keys computed at the new positions. BN_E_INVALID_ARG if
 * first + n > bn_ctx_n_past. Since 0.3.0. */
BN_API bn_status bn_ctx_discard(bn_ctx *ctx, uint32_t first, uint32_t n);
/* A context's state (its tokens' K/V cache rows and position) as bytes, to
 * restore into any context of the same model: evaluate a long prompt once,
 * save it, and load it wherever that prompt is needed again (instead of
 * evaluating it again), or keep a conversation across program runs.
 * bn_ctx_state_size: the bytes bn_ctx_state_save writes now (0 for NULL).
 * bn_ctx_state_save: *size = that size; BN_E_BUFFER_TOO_SMALL when cap is
 * less. bn_ctx_state_load: evaluation then goes on exactly as in the saved
 * context; BN_E_FORMAT for bytes that are not a whole state,
 * BN_E_INVALID_ARG for a state of another model, BN_E_CONTEXT_FULL when it
 * holds more tokens than n_ctx (the context is unchanged on any error).
 * Since 0.3.0. */
BN_API size_t bn_ctx_state_size(const bn_ctx *ctx);
BN_API bn_status bn_ctx_state_save(const bn_ctx *ctx, void *buf, size_t cap, size_t *size);
BN_API bn_status bn_ctx_state_load(bn_ctx *ctx, const void *buf, size_t len);
BN_API uint32_t bn_ctx_n_ctx(const bn_ctx *ctx);
BN_API uint32_t bn_ctx_n_past(const bn_ctx *ctx);  /* tokens in the KV cache */
BN_API const bn_model *bn_ctx_model(const bn_ctx *ctx);

/* Appends tokens to the context; when logits != NULL, writes n_vocab logits
 * for the last token. BN_E_CONTEXT_FULL (nothing evaluated) when the tokens
 * do not fit; BN_E_INVALID_TOKEN for an id outside the vocabulary. */
BN_API bn_status bn_eval(bn_ctx *ctx, const bn_token *tokens, size_t n_tokens, float *logits);
/* As bn_eval, writing n_tokens * n_vocab logits: row i for tokens[i]. */
BN_API bn_status bn_eval_all(bn_ctx *ctx, const bn_token *tokens, size_t n_tokens, float *logits);

/* ---------------------------------------------------------------- sampling */

typedef struct bn_gen_params {
    size_t size;             /* sizeof(bn_gen_params), set by bn_gen_params_init */
    int32_t n_predict;       /* tokens to generate at most; default 128; < 0 = until the context is full */
    float temperature;       /* 0 = greedy; default 0.8 */
    int32_t top_k;           /* 0 = off; default 40 */
    float top_p;             /* 1 = off; default 0.95 */
    float min_p;             /* 0 = off; default 0.05 */
    float repeat_penalty;    /* 1 = off; default 1.0 */
    int32_t repeat_last_n;   /* tokens the penalty looks back over; default 64 */
    uint64_t seed;           /* default 0x5eed */
    const char *const *stop; /* stop strings (not part of the output), or NULL */
    size_t n_stop;
    uint32_t tokenize_flags; /* flags for the prompt; default BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL */
    /* Since 0.3.0: */
    int32_t context_shift;   /* 0 (default): a full context ends generation; 1: bn_generate forgets the
                                older half of what follows the first n_keep tokens (bn_ctx_discard) and goes on */
    int32_t n_keep;          /* tokens a context shift keeps: 0 (default) = the first (BOS) if the model has
                                one; -1 = all the context held when sampling began (the prompt) */
} bn_gen_params;

BN_API void bn_gen_params_init(bn_gen_params *params);
/* Defaults for a struct of `size` bytes, the caller's sizeof: fields this
 * library does not know are zeroed, so bn_generate can check them. */
BN_API void bn_gen_params_init_sized(bn_gen_params *params, size_t size);
#define bn_gen_params_init(params) bn_gen_params_init_sized((params), sizeof *(params))

/* A sampler: the step-wise path for hosts that drive generation themselves. */
typedef struct bn_sampler bn_sampler;
BN_API bn_status bn_sampler_new(const bn_gen_params *params, bn_sampler **out);
BN_API void bn_sampler_free(bn_sampler *sampler);  /* NULL is a no-op */
/* Picks a token from n_vocab logits (left unchanged). Deterministic for a seed. */
BN_API bn_status bn_sampler_sample(bn_sampler *sampler, const float *logits, int32_t n_vocab, bn_token *out);
/* Records a token in the repetition history (prompt tokens and sampled ones). */
BN_API void bn_sampler_accept(bn_sampler *sampler, bn_token token);
BN_API void bn_sampler_reset(bn_sampler *sampler);  /* clears the history, reseeds */

/* Streaming text: appends a token's bytes to the context's pending text and
 * writes out the longest prefix that is complete UTF-8 (bytes that can never
 * become valid become U+FFFD). Call with token < 0 to flush what is left. */
BN_API bn_status bn_ctx_token_text(bn_ctx *ctx, bn_token token, char *buf, size_t cap, size_t *len);

/* ------------------------------------------------------------- generation */

/* Called with each piece of generated text, always complete UTF-8 (piece_len
 * may be 0 for a token that only starts a character). Non-zero stops. */
typedef int (*bn_token_fn)(void *user, bn_token token, const char *piece, size_t piece_len);

/* Tokenizes the prompt, evaluates it after what the context already holds,
 * then samples until an end-of-generation token, n_predict, a stop string,
 * a full context, or the callback returning non-zero. params NULL = defaults.
 * A full context ends generation with BN_E_CONTEXT_FULL only if the prompt
 * itself does not fit; otherwise it stops with BN_OK. */
BN_API bn_status bn_generate(bn_ctx *ctx, const char *prompt, const bn_gen_params *params,
                             bn_token_fn on_token, void *user);

/* ------------------------------------------------------------------- chat */

typedef struct bn_chat_message {
    const char *role;     /* "system", "user" or "assistant" */
    const char *content;  /* UTF-8, NUL-terminated */
} bn_chat_message;

/* Formats a conversation with a chat template. tmpl: NULL = the one the
 * model's tokenizer.chat_template names, else "bitnet", "llama3", "falcon3",
 * "llama2". Writes a NUL-terminated string when it fits; *needed = length
 * without the NUL (BN_E_BUFFER_TOO_SMALL when needed >= cap). */
BN_API bn_status bn_chat_apply(const bn_model *model, const char *tmpl, const bn_chat_message *messages,
                               size_t n_messages, int add_assistant_prompt, char *buf, size_t cap,
                               size_t *needed);
/* The template name bn_chat_apply uses for tmpl == NULL, or NULL if unknown. */
BN_API const char *bn_chat_template_name(const bn_model *model);

#ifdef __cplusplus
}
#endif

#endif /* BITNET_BITNET_H */
