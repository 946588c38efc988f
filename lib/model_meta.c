/* Metadata and tensor-table queries for hosts that inspect a model. */
#include <string.h>

#include "ggml_types.h"
#include "model.h"

BN_API int64_t bn_model_meta_count(const bn_model *m)
{
    return m ? bn_gguf_n_kv(m->gguf) : 0;
}

BN_API const char *bn_model_meta_key(const bn_model *m, int64_t i)
{
    if (!m || i < 0 || i >= bn_gguf_n_kv(m->gguf))
        return NULL;
    return m->meta_keys[i];
}

static bn_status check(const bn_model *m, const char *key, const void *out)
{
    if (!m || !key || !out)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_meta_*: %s is NULL", !m ? "model" : !key ? "key" : "output");
    return BN_OK;
}

BN_API bn_status bn_model_meta_str(const bn_model *m, const char *key, const char **str, size_t *len)
{
    bn_status st = check(m, key, str);
    if (st != BN_OK)
        return st;
    if (!len)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_meta_str: len is NULL");
    bn_gguf_str s;
    if ((st = bn_gguf_get_str(m->gguf, key, &s)) != BN_OK)
        return st;
    *str = s.ptr;
    *len = (size_t)s.len;
    return BN_OK;
}

BN_API bn_status bn_model_meta_int(const bn_model *m, const char *key, int64_t *value)
{
    bn_status st = check(m, key, value);
    return st != BN_OK ? st : bn_gguf_get_int(m->gguf, key, value);
}

BN_API bn_status bn_model_meta_float(const bn_model *m, const char *key, double *value)
{
    bn_status st = check(m, key, value);
    return st != BN_OK ? st : bn_gguf_get_float(m->gguf, key, value);
}

BN_API bn_status bn_model_meta_array_len(const bn_model *m, const char *key, uint64_t *n)
{
    bn_status st = check(m, key, n);
    if (st != BN_OK)
        return st;
    const bn_gguf_kv *kv = bn_gguf_find(m->gguf, key);
    if (!kv)
        return bn_fail(BN_E_NOT_FOUND, "metadata key '%s' not found", key);
    if (kv->type != BN_GGUF_ARRAY)
        return bn_fail(BN_E_TYPE, "metadata '%s' is not an array", key);
    *n = kv->v.arr.n;
    return BN_OK;
}

BN_API int64_t bn_model_n_tensors(const bn_model *m)
{
    return m ? bn_gguf_n_tensors(m->gguf) : 0;
}

BN_API bn_status bn_model_tensor(const bn_model *m, int64_t index, bn_tensor_info *info)
{
    if (!m || !info)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_tensor: %s is NULL", !m ? "model" : "info");
    if (info->size < offsetof(bn_tensor_info, n_bytes) + sizeof info->n_bytes)
        return bn_fail(BN_E_INVALID_ARG, "bn_tensor_info.size %zu is too small: set it to sizeof(bn_tensor_info)",
                       info->size);
    if (index < 0 || index >= bn_gguf_n_tensors(m->gguf))
        return bn_fail(BN_E_INVALID_ARG, "tensor index %lld is out of range (0..%lld)", (long long)index,
                       (long long)bn_gguf_n_tensors(m->gguf) - 1);
    const bn_gguf_tensor *t = bn_gguf_tensor_at(m->gguf, index);
    info->name = t->name;
    info->type = (int)t->type;
    info->type_name = bn_type_get(t->type)->name;
    info->n_dims = (int)t->n_dims;
    for (int i = 0; i < 4; i++)
        info->ne[i] = (int64_t)t->ne[i];
    info->n_bytes = t->n_bytes;
    return BN_OK;
}
