/* The growth protocol of the size-prefixed parameter structs (docs/abi.md). */
#ifndef BN_LIB_PARAMS_H
#define BN_LIB_PARAMS_H

#include <stddef.h>

#include "bitnet/bitnet.h"

/* dst (own_size bytes) already holds the defaults; copies what the caller's
 * struct covers. A larger struct from a newer header is accepted only when
 * the part this library does not know is all zero. */
bn_status bn_params_copy(void *dst, size_t own_size, const void *src, const char *what);

/* bn_*_params_init_sized: a caller's struct of `size` bytes from the
 * library's defaults `def` (own_size bytes): what both know gets the
 * defaults, fields of a newer header zero, p->size = size. */
void bn_params_init(void *p, size_t size, const void *def, size_t own_size);

/* The size that the plain bn_*_params_init functions (not the macros) give:
 * they serve binaries built before the macros, whose structs end at the
 * given last field of the first ABI, however the struct grows. */
#define BN_PARAMS_SIZE_0(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* Rejects out-of-range sampling settings with a message naming the field. */
bn_status bn_gen_params_check(const bn_gen_params *p);

#endif
