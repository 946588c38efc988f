/* Per-thread error detail and the library's logger. */
#ifndef BN_LIB_ERROR_H
#define BN_LIB_ERROR_H

#include "bitnet/bitnet.h"

#if defined(__GNUC__)
#  define BN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define BN_PRINTF(f, a)
#endif

/* Records a formatted message as this thread's bn_last_error() and returns
 * status, so callers write `return bn_fail(BN_E_FORMAT, "...", ...)`. */
bn_status bn_fail(bn_status status, const char *fmt, ...) BN_PRINTF(2, 3);

/* Where a model's (and its contexts') log lines go. */
typedef struct bn_logger {
    bn_log_fn fn;   /* NULL: stderr */
    void *user;
    int level;      /* highest level passed on */
} bn_logger;

void bn_log(const bn_logger *lg, int level, const char *fmt, ...) BN_PRINTF(3, 4);

#endif
