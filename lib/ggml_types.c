/* Type table: storage geometry of every GGUF tensor type we can parse. */
#include <stddef.h>

#include "ggml_types.h"

static const struct {
    uint32_t type;
    bn_type_traits t;
} table[] = {
    { BN_TYPE_F32, { "F32", 1, 4 } },
    { BN_TYPE_F16, { "F16", 1, 2 } },
    { BN_TYPE_Q4_0, { "Q4_0", 32, 18 } },
    { BN_TYPE_Q4_1, { "Q4_1", 32, 20 } },
    { BN_TYPE_Q5_0, { "Q5_0", 32, 22 } },
    { BN_TYPE_Q5_1, { "Q5_1", 32, 24 } },
    { BN_TYPE_Q8_0, { "Q8_0", 32, 34 } },
    { BN_TYPE_Q8_1, { "Q8_1", 32, 36 } },
    { BN_TYPE_Q2_K, { "Q2_K", 256, 84 } },
    { BN_TYPE_Q3_K, { "Q3_K", 256, 110 } },
    { BN_TYPE_Q4_K, { "Q4_K", 256, 144 } },
    { BN_TYPE_Q5_K, { "Q5_K", 256, 176 } },
    { BN_TYPE_Q6_K, { "Q6_K", 256, 210 } },
    { BN_TYPE_Q8_K, { "Q8_K", 256, 292 } },
    { BN_TYPE_I8, { "I8", 1, 1 } },
    { BN_TYPE_I16, { "I16", 1, 2 } },
    { BN_TYPE_I32, { "I32", 1, 4 } },
    { BN_TYPE_I64, { "I64", 1, 8 } },
    { BN_TYPE_F64, { "F64", 1, 8 } },
    { BN_TYPE_BF16, { "BF16", 1, 2 } },
    { BN_TYPE_TQ1_0, { "TQ1_0", 256, 54 } },
    { BN_TYPE_TQ2_0, { "TQ2_0", 256, 66 } },
    /* I2_S: 4 weights a byte in blocks of 128; the whole tensor also carries
     * one float32 scale and 28 bytes of padding (see bn_type_nbytes). */
    { BN_TYPE_I2_S, { "I2_S", 128, 32 } },
};

const bn_type_traits *bn_type_get(uint32_t type)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].type == type)
            return &table[i].t;
    return NULL;
}

uint64_t bn_type_nbytes(uint32_t type, const uint64_t ne[4])
{
    const bn_type_traits *t = bn_type_get(type);
    if (!t || ne[0] == 0 || ne[0] % t->block_size)
        return 0;
    uint64_t rows = 1;
    for (int i = 1; i < 4; i++) {
        if (ne[i] == 0 || rows > UINT64_MAX / ne[i])
            return 0;
        rows *= ne[i];
    }
    uint64_t blocks = ne[0] / t->block_size;  /* a huge ne[0] must not wrap row_bytes (to 0, say) */
    if (blocks > UINT64_MAX / t->block_bytes)
        return 0;
    uint64_t row_bytes = blocks * t->block_bytes;
    if (rows > UINT64_MAX / row_bytes)
        return 0;
    uint64_t n = rows * row_bytes;
    if (type == BN_TYPE_I2_S) {
        if (n > UINT64_MAX - 32)
            return 0;
        n += 32;
    }
    return n;
}
