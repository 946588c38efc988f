/* libFuzzer target: any byte string through the GGUF reader, then every value it accepted read back. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every byte the reader claims is valid, so ASan flags any range that is not. */
static uint64_t sum_bytes(const uint8_t *p, uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bn_gguf *g = NULL;
    if (bn_gguf_open_memory(data, size, &g) != BN_OK)
        return 0;
    volatile uint64_t sink = 0;
    for (int64_t i = 0; i < bn_gguf_n_kv(g); i++) {
        const bn_gguf_kv *kv = bn_gguf_kv_at(g, i);
        if (bn_gguf_find(g, kv->key) != kv)
            __builtin_trap();
        int64_t iv;
        double dv;
        bn_gguf_str s;
        const uint8_t *arr;
        uint64_t n;
        if (bn_gguf_get_int(g, kv->key, &iv) == BN_OK)
            sink += (uint64_t)iv;
        if (bn_gguf_get_float(g, kv->key, &dv) == BN_OK)
            sink += dv > 0;
        if (bn_gguf_get_str(g, kv->key, &s) == BN_OK)
            sink += sum_bytes((const uint8_t *)s.ptr, s.len);
        if (kv->type == BN_GGUF_ARRAY) {
            if (bn_gguf_get_arr(g, kv->key, kv->v.arr.type, &arr, &n) != BN_OK || n != kv->v.arr.n)
                __builtin_trap();
            sink += sum_bytes(arr, kv->v.arr.n_bytes);
            if (kv->v.arr.type == BN_GGUF_STRING) {
                for (uint64_t k = 0; k < n; k++) {
                    s = bn_gguf_arr_str(g, kv, k);
                    if (!s.ptr)
                        __builtin_trap();
                    sink += sum_bytes((const uint8_t *)s.ptr, s.len);
                }
                if (bn_gguf_arr_str(g, kv, n).ptr)
                    __builtin_trap();
            }
        }
    }
    for (int64_t i = 0; i < bn_gguf_n_tensors(g); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        if (bn_gguf_find_tensor(g, t->name) != t || t->offset % bn_gguf_alignment(g))
            __builtin_trap();
        if (t->data < data || t->n_bytes > (uint64_t)(data + size - t->data))
            __builtin_trap();
        sink += sum_bytes(t->data, t->n_bytes);
    }
    (void)sink;
    bn_gguf_close(g);
    return 0;
}
