/* The growth protocol of the size-prefixed parameter structs (docs/abi.md). */
#ifndef BN_LIB_PARAMS_H
#define BN_LIB_PARAMS_H

#include <stddef.h>

#include "bitnet/bitnet.h"

/* dst (own_size bytes) already holds the defaults; copies what the caller's
 * struct covers. A larger struct from a newer header is accepted only when
 * the part this library does not know is all zero. */
bn_status bn_params_copy(void *dst, size_t own_size, const void *src, const char *what);

/* Rejects out-of-range sampling settings with a message naming the field. */
bn_status bn_gen_params_check(const bn_gen_params *p);

#endif
