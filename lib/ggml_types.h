/* The GGUF tensor types libbitnet knows: numbers, names and storage sizes. */
#ifndef BN_LIB_GGML_TYPES_H
#define BN_LIB_GGML_TYPES_H

#include <stdint.h>

enum {
    BN_TYPE_F32 = 0,
    BN_TYPE_F16 = 1,
    BN_TYPE_Q4_0 = 2,
    BN_TYPE_Q4_1 = 3,
    BN_TYPE_Q5_0 = 6,
    BN_TYPE_Q5_1 = 7,
    BN_TYPE_Q8_0 = 8,
    BN_TYPE_Q8_1 = 9,
    BN_TYPE_Q2_K = 10,
    BN_TYPE_Q3_K = 11,
    BN_TYPE_Q4_K = 12,
    BN_TYPE_Q5_K = 13,
    BN_TYPE_Q6_K = 14,
    BN_TYPE_Q8_K = 15,
    BN_TYPE_I8 = 24,
    BN_TYPE_I16 = 25,
    BN_TYPE_I32 = 26,
    BN_TYPE_I64 = 27,
    BN_TYPE_F64 = 28,
    BN_TYPE_BF16 = 30,
    BN_TYPE_TQ1_0 = 34,
    BN_TYPE_TQ2_0 = 35,
    BN_TYPE_I2_S = 36,
};

typedef struct bn_type_traits {
    const char *name;
    uint32_t block_size;  /* elements per block (along ne0) */
    uint32_t block_bytes; /* bytes per block */
} bn_type_traits;

/* NULL for a type number libbitnet does not know. */
const bn_type_traits *bn_type_get(uint32_t type);

/* Bytes a tensor of this type and shape occupies in a GGUF file, or 0 when
 * the shape is invalid for the type (ne0 not a multiple of the block size,
 * I2_S with ne0 % 128 != 0) or the size overflows. I2_S: n/4 + 32 bytes (the
 * packed codes, one float32 scale, padding). */
uint64_t bn_type_nbytes(uint32_t type, const uint64_t ne[4]);

#endif
