/* Rotary position embedding: the angle tables and the rotation that the
 * forward pass applies to queries and keys, and that bn_ctx_discard applies
 * again to the keys it moves to new positions. */
#ifndef BN_LIB_ROPE_H
#define BN_LIB_ROPE_H

#include <stdint.h>

/* cos of pos * base^(-2i/d) for the d/2 pairs of a head, then their sin
 * (pos may be negative: a rotation back). */
void bn_rope_table(float *cs, int d, int64_t pos, float base);

/* Rotates each of n_heads heads of d values by the table's angles: pairs
 * (i, i + d/2) when neox, (2i, 2i + 1) otherwise. */
void bn_rope(float *v, int n_heads, int d, const float *tab, int neox);

#endif
