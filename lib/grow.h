/* Growable arrays: room for one more element, the capacity doubling. */
#ifndef BN_LIB_GROW_H
#define BN_LIB_GROW_H

#include <stdlib.h>

/* The array p (n elements of elem bytes used, *cap allocated) with room for
 * one more: p itself while n < *cap, else p moved to twice the capacity
 * (first, for an empty array) with *cap updated. NULL when out of memory;
 * p is then unchanged and still the caller's. */
static inline void *bn_grow(void *p, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : first;
    void *q = realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

#endif
