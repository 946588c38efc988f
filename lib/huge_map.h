/* Anonymous memory that the forward pass streams: the weights and the KV
 * cache, mapped on their own and asking for transparent huge pages. */
#ifndef BN_LIB_HUGE_MAP_H
#define BN_LIB_HUGE_MAP_H

#include <stddef.h>

/* `bytes` of zeroed memory (at least one page), NULL when out of memory. */
void *bn_huge_map(size_t bytes);
/* Unmaps what bn_huge_map returned for `bytes`; NULL does nothing. */
void bn_huge_unmap(void *p, size_t bytes);

#endif
