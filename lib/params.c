/* Size-prefixed parameter structs: old callers pass smaller structs, newer ones larger. */
#include <string.h>

#include "error.h"
#include "params.h"

void bn_params_init(void *p, size_t size, const void *def, size_t own_size)
{
    if (!p || size < sizeof(size_t))
        return;
    memset(p, 0, size);
    memcpy(p, def, size < own_size ? size : own_size);
    memcpy(p, &size, sizeof size);
}

bn_status bn_params_copy(void *dst, size_t own_size, const void *src, const char *what)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    if (size < sizeof(size_t))
        return bn_fail(BN_E_INVALID_ARG, "%s.size is %zu: initialise the struct with %s_init()", what, size, what);
    if (size > own_size) {
        const unsigned char *tail = (const unsigned char *)src + own_size;
        for (size_t i = 0; i < size - own_size; i++)
            if (tail[i])
                return bn_fail(BN_E_INVALID_ARG, "%s has %zu bytes of fields this library (%s) does not know",
                               what, size - own_size, BN_VERSION_STRING);
        size = own_size;
    }
    memcpy(dst, src, size);
    memcpy(dst, &own_size, sizeof own_size);
    return BN_OK;
}
