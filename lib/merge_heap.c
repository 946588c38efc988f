/* A binary min-heap of merges (merge_heap.h). */
#include <stdlib.h>

#include "error.h"
#include "grow.h"
#include "merge_heap.h"

bn_status bn_merge_heap_push(bn_merge_heap *h, bn_merge m)
{
    bn_merge *a = bn_grow(h->a, h->n, &h->cap, sizeof *a, 64);
    if (!a)
        return bn_fail(BN_E_NOMEM, "out of memory while tokenizing");
    h->a = a;
    size_t i = h->n++;
    while (i > 0 && m.key < h->a[(i - 1) / 2].key) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = m;
    return BN_OK;
}

bn_merge bn_merge_heap_pop(bn_merge_heap *h)
{
    bn_merge top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->a[c + 1].key < h->a[c].key)
            c++;
        if (!(h->a[c].key < last.key))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n)
        h->a[i] = last;
    return top;
}
