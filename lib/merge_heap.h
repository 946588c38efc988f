/* The priority queue of candidate merges both BPE flavours share: a binary
 * min-heap on one 64-bit key that already encodes the tie-break. */
#ifndef BN_LIB_MERGE_HEAP_H
#define BN_LIB_MERGE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

typedef struct bn_merge {
    uint64_t key;           /* smaller merges first */
    int32_t left, right;    /* the symbols to merge */
    int32_t check[2];       /* what the caller records to spot a stale entry */
} bn_merge;

typedef struct bn_merge_heap {
    bn_merge *a;
    size_t n, cap;
} bn_merge_heap;

bn_status bn_merge_heap_push(bn_merge_heap *h, bn_merge m);
bn_merge bn_merge_heap_pop(bn_merge_heap *h);  /* h->n > 0 */

#endif
