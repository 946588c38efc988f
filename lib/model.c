/* bn_model: open a GGUF, recognise the architecture, bind and check every tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ggml_types.h"
#include "grow.h"
#include "huge_map.h"
#include "model.h"
#include "params.h"

BN_API void bn_model_params_init_sized(bn_model_params *p, size_t size)
{
    bn_model_params def = { .size = sizeof def, .use_mmap = 1, .cpu_level = BN_CPU_AUTO, .log_level = BN_LOG_WARN };
    bn_params_init(p, size, &def, sizeof def);
}

BN_API void(bn_model_params_init)(bn_model_params *p)
{
    bn_model_params_init_sized(p, BN_PARAMS_SIZE_0(bn_model_params, log_level));
}

static void drop_pages(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void bn_model_release(const bn_model *m, const void *p, size_t n)
{
    if (bn_gguf_is_mapped(m->gguf))
        drop_pages(p, n);
}

void bn_model_discard(const bn_model *m, const void *p, size_t n)
{
    (void)m;
    drop_pages(p, n);  /* a read() buffer is private memory: its pages become zeros */
}

void *bn_model_map_weights(bn_model *m, size_t bytes)
{
    struct bn_weight_map *maps = realloc(m->maps, (m->n_maps + 1) * sizeof *maps);
    if (!maps) {
        bn_fail(BN_E_NOMEM, "out of memory while loading the model");
        return NULL;
    }
    m->maps = maps;
    void *p = bn_huge_map(bytes);
    if (!p) {
        bn_fail(BN_E_NOMEM, "out of memory for %zu bytes of weights", bytes);
        return NULL;
    }
    maps[m->n_maps++] = (struct bn_weight_map){ p, bytes };
    return p;
}

/* One region for all ternary matrices: decode streams it from start to end,
 * and one region gets huge pages without rounding every matrix up to 2 MiB. */
bn_status bn_model_tarena_init(bn_model *m, size_t bytes)
{
    if (bytes == 0)
        return BN_OK;
    if (!(m->tarena = bn_model_map_weights(m, bytes)))
        return BN_E_NOMEM;
    m->tarena_size = bytes;
    return BN_OK;
}

/* What bn_model_tarena_take uses of the region for `bytes`. */
static size_t tarena_bytes(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

uint8_t *bn_model_tarena_take(bn_model *m, size_t bytes)
{
    size_t need = tarena_bytes(bytes);
    if (!m->tarena || need > m->tarena_size - m->tarena_used)
        return NULL;
    uint8_t *p = m->tarena + m->tarena_used;
    m->tarena_used += need;
    return p;
}

bn_status bn_model_own(bn_model *m, void *p)
{
    void **o = bn_grow(m->owned, m->n_owned, &m->cap_owned, sizeof *o, 64);
    if (!o) {
        free(p);
        return bn_fail(BN_E_NOMEM, "out of memory while loading the model");
    }
    m->owned = o;
    m->owned[m->n_owned++] = p;
    return BN_OK;
}

static const struct {
    const char *name;
    bn_arch arch;
} arch_names[] = {
    { "bitnet-b1.58", BN_ARCH_BITNET_B158 },
    { "bitnet-25", BN_ARCH_BITNET_B158 },
    { "bitnet", BN_ARCH_BITNET },
    { "llama", BN_ARCH_LLAMA },
};

static bn_status get_hparam(const bn_model *m, const char *suffix, int required, int64_t def, int32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    int64_t v;
    bn_status st = bn_gguf_get_int(m->gguf, key, &v);
    if (st == BN_E_NOT_FOUND && !required) {
        *out = (int32_t)def;
        return BN_OK;
    }
    if (st != BN_OK)
        return st == BN_E_NOT_FOUND ? bn_fail(BN_E_FORMAT, "missing metadata key '%s'", key) : st;
    if (v <= 0 || v > (1 << 30))
        return bn_fail(BN_E_FORMAT, "metadata '%s' = %lld is out of range", key, (long long)v);
    *out = (int32_t)v;
    return BN_OK;
}

static bn_status get_fparam(const bn_model *m, const char *suffix, double def, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    double v;
    bn_status st = bn_gguf_get_float(m->gguf, key, &v);
    if (st == BN_E_NOT_FOUND) {
        *out = (float)def;
        return BN_OK;
    }
    if (st != BN_OK)
        return st;
    if (!(v > 0) || v > 1e30)
        return bn_fail(BN_E_FORMAT, "metadata '%s' = %g is out of range", key, v);
    *out = (float)v;
    return BN_OK;
}

static bn_status read_hparams(bn_model *m)
{
    bn_hparams *hp = &m->hp;
    bn_status st;
    if ((st = get_hparam(m, "embedding_length", 1, 0, &hp->n_embd)) ||
        (st = get_hparam(m, "block_count", 1, 0, &hp->n_layer)) ||
        (st = get_hparam(m, "feed_forward_length", 1, 0, &hp->n_ff)) ||
        (st = get_hparam(m, "attention.head_count", 1, 0, &hp->n_head)) ||
        (st = get_hparam(m, "attention.head_count_kv", 0, hp->n_head, &hp->n_head_kv)) ||
        (st = get_hparam(m, "context_length", 0, 4096, &hp->n_ctx_train)))
        return st;
    double def_base = m->arch == BN_ARCH_BITNET_B158 ? 500000.0 : 10000.0;
    if ((st = get_fparam(m, "rope.freq_base", def_base, &hp->rope_base)) ||
        (st = get_fparam(m, "attention.layer_norm_rms_epsilon", 1e-5, &hp->norm_eps)))
        return st;
    if (hp->n_embd % hp->n_head)
        return bn_fail(BN_E_FORMAT, "embedding_length %d is not a multiple of head_count %d", hp->n_embd, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->n_head % hp->n_head_kv)
        return bn_fail(BN_E_FORMAT, "head_count %d is not a multiple of head_count_kv %d", hp->n_head, hp->n_head_kv);
    if (hp->head_dim % 2)
        return bn_fail(BN_E_FORMAT, "head dimension %d is odd: RoPE needs pairs", hp->head_dim);
    if ((st = get_hparam(m, "rope.dimension_count", 0, hp->head_dim, &hp->n_rot)))
        return st;
    /* BitNet runs NEOX RoPE; llama GGUFs come with Wq/Wk permuted by their
     * converters for the adjacent-pair rotation. */
    hp->rope_neox = m->arch != BN_ARCH_LLAMA;
    if (hp->n_rot != hp->head_dim)
        return bn_fail(BN_E_UNSUPPORTED, "rope.dimension_count %d differs from the head dimension %d", hp->n_rot,
                       hp->head_dim);
    return BN_OK;
}

/* Looks a tensor up and checks its shape; ne1 = 0 means a 1-D tensor. */
static bn_status find_tensor(const bn_model *m, const char *name, int64_t ne0, int64_t ne1, int required,
                             const bn_gguf_tensor **out)
{
    const bn_gguf_tensor *t = bn_gguf_find_tensor(m->gguf, name);
    *out = t;
    if (!t)
        return required ? bn_fail(BN_E_FORMAT, "tensor '%s' is missing (architecture %s)", name, m->arch_name)
                        : BN_OK;
    int64_t want1 = ne1 ? ne1 : 1;
    if ((int64_t)t->ne[0] != ne0 || (int64_t)t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1)
        return bn_fail(BN_E_FORMAT, "tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%lld, %lld]", name,
                       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                       (unsigned long long)t->ne[3], (long long)ne0, (long long)want1);
    return BN_OK;
}

/* A norm (or a projection's scale) as n floats: in dst where the caller
 * gives room, else the file's F32 data as is or a model-owned conversion. */
static bn_status load_vector(bn_model *m, const char *name, int64_t n, int required, float *dst, const float **out)
{
    const bn_gguf_tensor *t;
    bn_status st = find_tensor(m, name, n, 0, required, &t);
    *out = NULL;
    if (st != BN_OK || !t)
        return st;
    if (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16)
        return bn_fail(BN_E_UNSUPPORTED, "tensor '%s': type %s is not supported for a norm (F32, F16, BF16)", name,
                       bn_type_get(t->type)->name);
    if (!dst && t->type == BN_TYPE_F32 && (uintptr_t)t->data % _Alignof(float) == 0) {  /* general.alignment may be 1 */
        *out = (const float *)t->data;
        return BN_OK;
    }
    float *v = dst ? dst : malloc((size_t)n * sizeof *v);
    if (!v)
        return bn_fail(BN_E_NOMEM, "out of memory for tensor '%s'", name);
    m->kern->dequant_row(t->type, t->data, v, n);  /* exact for all three types */
    *out = v;
    return dst ? BN_OK : bn_model_own(m, v);
}

static bn_status load_dense(bn_model *m, const bn_gguf_tensor *t, int64_t cols, bn_dense *out)
{
    switch (t->type) {
    case BN_TYPE_F32: case BN_TYPE_F16: case BN_TYPE_BF16: case BN_TYPE_Q8_0: case BN_TYPE_Q4_K: case BN_TYPE_Q6_K:
        break;
    default:
        return bn_fail(BN_E_UNSUPPORTED, "tensor '%s': type %s is not supported for embeddings or the output head "
                       "(F32, F16, BF16, Q8_0, Q4_K, Q6_K)", t->name, bn_type_get(t->type)->name);
    }
    if ((int64_t)t->ne[0] != cols || t->ne[1] < 2 || t->ne[1] > INT32_MAX || t->ne[2] != 1 || t->ne[3] != 1)
        return bn_fail(BN_E_FORMAT, "tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%lld, n_vocab] with "
                       "n_vocab in 2..%d", t->name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], (long long)cols, INT32_MAX);
    out->type = t->type;
    out->data = t->data;
    out->rows = (int64_t)t->ne[1];
    out->cols = cols;
    out->row_bytes = (size_t)(t->n_bytes / t->ne[1]);
    return BN_OK;
}

static bn_status load_linear(bn_model *m, int il, const char *what, int64_t n_in, int64_t n_out, bn_linear *out)
{
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s.weight", il, what);
    const bn_gguf_tensor *t;
    bn_status st = find_tensor(m, name, n_in, n_out, 1, &t);
    if (st != BN_OK)
        return st;
    if ((st = bn_load_ternary(m, t, &out->w)) != BN_OK)
        return st;
    m->weight_bytes += (uint64_t)n_in * (uint64_t)n_out / 4;
    out->out_scale = 1.0f;
    if (m->arch != BN_ARCH_BITNET)
        return BN_OK;
    snprintf(name, sizeof name, "blk.%d.%s.scale", il, what);
    const float *s;
    if ((st = load_vector(m, name, 1, 0, NULL, &s)) != BN_OK)
        return st;
    if (s)
        out->out_scale = s[0];
    return BN_OK;
}

/* The head is decode's largest stream (657 MB of the 1.18 GB that 2B-4T
 * reads a token): it moves to huge pages, the file's pages going back as they
 * are copied. An F16 head moves to rows in pairs (BN_TYPE_F16X2): decode then
 * keeps two rows' sums going over one stream, and read 2B-4T's head 2% faster
 * (Zen 4, against the ternary matrices' rate in the same runs), with the same
 * results. A tied embedding reads the copy too. */
static bn_status move_head(bn_model *m, int tied)
{
    bn_dense *o = &m->output;
    int pairs = o->type == BN_TYPE_F16 && o->cols % 16 == 0;
    int64_t rows = pairs ? (o->rows + 1) & ~(int64_t)1 : o->rows;  /* a zero row pads an odd count */
    size_t n = o->row_bytes * (size_t)rows;
    uint8_t *dst = bn_model_map_weights(m, n);  /* zero-filled */
    if (!dst)
        return BN_E_NOMEM;
    const size_t chunk = (size_t)64 << 20;
    if (pairs) {
        size_t done = 0;
        for (int64_t r = 0; r < o->rows; r++) {
            const uint8_t *src = o->data + (size_t)r * o->row_bytes;
            uint8_t *row = (uint8_t *)bn_f16x2_row(dst, o->row_bytes, r);
            for (int64_t j = 0; j < o->cols / 16; j++)
                memcpy(row + 64 * j, src + 32 * j, 32);
            if ((size_t)(r + 1) * o->row_bytes - done >= chunk || r + 1 == o->rows) {
                done = (size_t)(r + 1) * o->row_bytes;
                bn_model_discard(m, o->data, done);
            }
        }
        o->type = BN_TYPE_F16X2;
    } else {
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = n - off < chunk ? n - off : chunk;
            memcpy(dst + off, o->data + off, len);
            bn_model_discard(m, o->data, off + len);
        }
    }
    o->data = dst;
    if (tied)
        m->tok_embd = *o;
    return BN_OK;
}

/* The layers the file holds against block_count, before anything is
 * sized from the hyperparameters: a block_count too large (up to 2^30
 * passes the range check) or too small (layers silently left out) and an
 * n_ff that the matrices disagree with are format errors, not allocations. */
static bn_status check_layers(const bn_model *m)
{
    const bn_hparams *hp = &m->hp;
    char name[96];
    const bn_gguf_tensor *t;
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", hp->n_layer - 1);
    if (!bn_gguf_find_tensor(m->gguf, name))
        return bn_fail(BN_E_FORMAT, "%s.block_count is %d but tensor '%s' is missing", m->arch_name, hp->n_layer, name);
    for (int64_t i = 0; i < bn_gguf_n_tensors(m->gguf); i++) {
        const char *tn = bn_gguf_tensor_at(m->gguf, i)->name;
        long layer;
        char *end;
        if (strncmp(tn, "blk.", 4) || (layer = strtol(tn + 4, &end, 10)) < hp->n_layer || *end != '.')
            continue;
        char shown[96];
        bn_gguf_describe(shown, sizeof shown, tn, strlen(tn));
        return bn_fail(BN_E_FORMAT, "tensor '%s' is past the %d layers of %s.block_count", shown, hp->n_layer,
                       m->arch_name);
    }
    return find_tensor(m, "blk.0.ffn_down.weight", hp->n_ff, hp->n_embd, 1, &t);
}

static bn_status load_tensors(bn_model *m, int quantize_head)
{
    const bn_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, F = hp->n_ff, KV = (int64_t)hp->head_dim * hp->n_head_kv;
    bn_status st;
    if ((st = check_layers(m)) != BN_OK)
        return st;
    const bn_gguf_tensor *t = bn_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!t)
        return bn_fail(BN_E_FORMAT, "tensor 'token_embd.weight' is missing (architecture %s)", m->arch_name);
    if ((st = load_dense(m, t, E, &m->tok_embd)) != BN_OK)
        return st;
    t = bn_gguf_find_tensor(m->gguf, "output.weight");
    if (t) {
        if ((st = load_dense(m, t, E, &m->output)) != BN_OK)
            return st;
    } else {
        m->output = m->tok_embd;
    }
    m->hp.n_vocab = (int32_t)m->output.rows;
    if (m->output.rows != m->tok_embd.rows)
        return bn_fail(BN_E_FORMAT, "output.weight has %lld rows but token_embd.weight has %lld",
                       (long long)m->output.rows, (long long)m->tok_embd.rows);
    if (quantize_head && (st = bn_quantize_head(m, &m->output, &m->head_i8)) != BN_OK)
        return st;
    if (!m->head_i8.q && (st = move_head(m, t == NULL)) != BN_OK)
        return st;
    if (m->head_i8.q)
        m->weight_bytes += (uint64_t)m->head_i8.rows * ((uint64_t)m->head_i8.cols + sizeof(float));
    else
        m->weight_bytes += (uint64_t)m->output.row_bytes * (uint64_t)m->output.rows;
    if ((st = load_vector(m, "output_norm.weight", E, 1, NULL, &m->output_norm)) != BN_OK)
        return st;

    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return bn_fail(BN_E_NOMEM, "out of memory for %d layers", hp->n_layer);
    /* Room for every ternary tensor of the file (their sizes are checked
     * against the file already), whichever of them the layers use, and for
     * the layers' norms. */
    size_t tbytes = 0;
    for (int64_t i = 0; i < bn_gguf_n_tensors(m->gguf); i++) {
        const bn_gguf_tensor *ti = bn_gguf_tensor_at(m->gguf, i);
        if (ti->type == BN_TYPE_I2_S || ti->type == BN_TYPE_TQ1_0 || ti->type == BN_TYPE_TQ2_0)
            tbytes += tarena_bytes(bn_tmat_bytes((int64_t)ti->ne[1], (int64_t)ti->ne[0]));
    }
    tbytes += (size_t)hp->n_layer * (3 * tarena_bytes((size_t)E * sizeof(float)) + tarena_bytes((size_t)F * sizeof(float)));
    if ((st = bn_model_tarena_init(m, tbytes)) != BN_OK)
        return st;
    int sub = m->arch != BN_ARCH_LLAMA;
    for (int il = 0; il < hp->n_layer; il++) {
        bn_layer *L = &m->layers[il];
        char name[96];
        /* A layer's norms go into the arena between its matrices, in the
         * order a token reads them: in the file's 4 KiB pages each was a TLB
         * miss and a cold read that RMSNorm waited on (2B-4T decode, one
         * thread: the per-token steps 0.44 -> 0.38 ms a token). */
#define VEC(field, what, n, req)                                                                        \
        do {                                                                                            \
            snprintf(name, sizeof name, "blk.%d.%s.weight", il, what);                                  \
            float *dst = (float *)bn_model_tarena_take(m, (size_t)(n) * sizeof(float));                 \
            if ((st = load_vector(m, name, n, req, dst, &L->field)) != BN_OK)                           \
                return st;                                                                              \
        } while (0)
        VEC(attn_norm, "attn_norm", E, 1);
        if ((st = load_linear(m, il, "attn_q", E, E, &L->wq)) || (st = load_linear(m, il, "attn_k", E, KV, &L->wk)) ||
            (st = load_linear(m, il, "attn_v", E, KV, &L->wv)))
            return st;
        if (sub)
            VEC(attn_sub_norm, "attn_sub_norm", E, 1);
        if ((st = load_linear(m, il, "attn_output", E, E, &L->wo)) != BN_OK)
            return st;
        VEC(ffn_norm, "ffn_norm", E, 1);
        if ((st = load_linear(m, il, "ffn_gate", E, F, &L->wgate)) || (st = load_linear(m, il, "ffn_up", E, F, &L->wup)))
            return st;
        if (sub)
            VEC(ffn_sub_norm, "ffn_sub_norm", F, 1);
        if ((st = load_linear(m, il, "ffn_down", F, E, &L->wdown)) != BN_OK)
            return st;
#undef VEC
    }
    return BN_OK;
}

static bn_status build_meta_keys(bn_model *m)
{
    int64_t n = bn_gguf_n_kv(m->gguf);
    m->meta_keys = calloc((size_t)n + 1, sizeof *m->meta_keys);
    if (!m->meta_keys)
        return bn_fail(BN_E_NOMEM, "out of memory for metadata");
    for (int64_t i = 0; i < n; i++)
        m->meta_keys[i] = (char *)bn_gguf_kv_at(m->gguf, i)->key;
    return BN_OK;
}

BN_API bn_status bn_model_open(const char *path, const bn_model_params *params, bn_model **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_open: out is NULL");
    *out = NULL;
    if (!path)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_open: path is NULL");
    bn_model_params p;
    bn_model_params_init(&p);
    bn_status st;
    if (params && (st = bn_params_copy(&p, sizeof p, params, "bn_model_params")) != BN_OK)
        return st;

    bn_model *m = calloc(1, sizeof *m);
    if (!m)
        return bn_fail(BN_E_NOMEM, "out of memory for the model");
    m->log.fn = p.log_fn;
    m->log.user = p.log_user;
    m->log.level = p.log_level;

    bn_cpu_level level;
    if ((st = bn_cpu_choose(p.cpu_level, &level)) != BN_OK)
        goto fail;
    m->kern = bn_kernels_for(level);
    if (!m->kern) {
        st = bn_fail(BN_E_UNSUPPORTED, "kernel level %s is not available", bn_cpu_level_name(level));
        goto fail;
    }
    if ((st = bn_gguf_open(path, p.use_mmap, &m->gguf)) != BN_OK)
        goto fail;

    bn_gguf_str arch;
    if ((st = bn_gguf_get_str(m->gguf, "general.architecture", &arch)) != BN_OK) {
        if (st == BN_E_NOT_FOUND)
            st = bn_fail(BN_E_FORMAT, "metadata key 'general.architecture' is missing");
        goto fail;
    }
    char shown[72];
    bn_gguf_describe(shown, sizeof shown, arch.ptr, arch.len);
    for (size_t i = 0; i < sizeof arch_names / sizeof arch_names[0]; i++)
        if (arch.len == strlen(arch_names[i].name) && !memcmp(arch.ptr, arch_names[i].name, arch.len)) {
            m->arch = arch_names[i].arch;
            m->arch_name = arch_names[i].name;
        }
    if (!m->arch_name) {
        st = bn_fail(BN_E_UNSUPPORTED, "architecture '%s' is not supported (bitnet-b1.58, bitnet-25, bitnet, llama)",
                     shown);
        goto fail;
    }
    if ((st = read_hparams(m)) != BN_OK || (st = load_tensors(m, p.quantize_head)) != BN_OK ||
        (st = bn_vocab_load(m->gguf, &m->log, &m->vocab)) != BN_OK || (st = build_meta_keys(m)) != BN_OK)
        goto fail;
    if (bn_vocab_n(m->vocab) > m->hp.n_vocab) {
        st = bn_fail(BN_E_FORMAT, "the tokenizer has %d tokens but the output head only %d rows",
                     bn_vocab_n(m->vocab), m->hp.n_vocab);
        goto fail;
    }
    bn_log(&m->log, BN_LOG_INFO, "%s: %s, %d layers, n_embd %d, %d heads (%d kv), n_ff %d, vocab %d, kernels %s%s",
           path, m->arch_name, m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_head_kv, m->hp.n_ff,
           m->hp.n_vocab, bn_cpu_level_name(m->kern->level),
           m->kern->build == BN_BUILD_AMX       ? " (prefetching build, AMX prefill)"
           : m->kern->build == BN_BUILD_AVXVNNI ? " (prefetching build, AVX-VNNI)"
                                                : m->kern->build == BN_BUILD_PREFETCH ? " (prefetching build)" : "");
    *out = m;
    return BN_OK;
fail:
    bn_model_free(m);  /* sets no error: the message of the failure stays */
    /* a missing key or one of the wrong type is a malformed file to the
     * caller (the message names the key) */
    return st == BN_E_NOT_FOUND || st == BN_E_TYPE ? BN_E_FORMAT : st;
}

BN_API void bn_model_free(bn_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    for (size_t i = 0; i < m->n_maps; i++)
        bn_huge_unmap(m->maps[i].p, m->maps[i].n);
    free(m->maps);
    free(m->owned);
    free(m->layers);
    free(m->meta_keys);
    bn_vocab_free(m->vocab);
    bn_gguf_close(m->gguf);
    free(m);
}

const bn_vocab *bn_model_vocab(const bn_model *m) { return m ? m->vocab : NULL; }
const bn_gguf *bn_model_gguf(const bn_model *m) { return m ? m->gguf : NULL; }
const bn_logger *bn_model_logger(const bn_model *m) { return &m->log; }

BN_API int32_t bn_model_n_vocab(const bn_model *m) { return m ? m->hp.n_vocab : 0; }
BN_API int32_t bn_model_n_ctx_train(const bn_model *m) { return m ? m->hp.n_ctx_train : 0; }
BN_API int32_t bn_model_n_embd(const bn_model *m) { return m ? m->hp.n_embd : 0; }
BN_API int32_t bn_model_n_layer(const bn_model *m) { return m ? m->hp.n_layer : 0; }
BN_API const char *bn_model_arch(const bn_model *m) { return m ? m->arch_name : ""; }
BN_API bn_cpu_level bn_model_cpu_level(const bn_model *m) { return m ? m->kern->level : BN_CPU_AUTO; }
BN_API uint64_t bn_model_weight_bytes(const bn_model *m) { return m ? m->weight_bytes : 0; }
