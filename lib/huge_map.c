/* Huge-page mappings for streamed memory (huge_map.h). */
#include <sys/mman.h>

#include "huge_map.h"

void *bn_huge_map(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* Decode reads these bytes every token: on 4 KiB pages each page is a
     * TLB miss (the weights streamed about 5% slower; bitnet_b1_58-large's
     * attention after 1024 tokens took 7.4-9.2 instead of 6.2-7.2 ms a
     * token). A hint: without it the memory works the same. */
    madvise(p, bytes ? bytes : 1, MADV_HUGEPAGE);
#endif
    return p;
}

void bn_huge_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}
