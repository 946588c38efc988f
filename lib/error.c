/* bn_status strings, per-thread error detail, logging. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static _Thread_local char last_error[512];

BN_API const char *bn_status_string(bn_status status)
{
    switch (status) {
    case BN_OK: return "ok";
    case BN_E_INVALID_ARG: return "invalid argument";
    case BN_E_NOMEM: return "out of memory";
    case BN_E_IO: return "input/output error";
    case BN_E_FORMAT: return "malformed model file";
    case BN_E_UNSUPPORTED: return "unsupported";
    case BN_E_CONTEXT_FULL: return "context full";
    case BN_E_BUFFER_TOO_SMALL: return "buffer too small";
    case BN_E_INVALID_UTF8: return "invalid UTF-8";
    case BN_E_INVALID_TOKEN: return "invalid token";
    case BN_E_NOT_FOUND: return "not found";
    case BN_E_TYPE: return "wrong type";
    case BN_E_THREAD: return "thread error";
    case BN_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

BN_API const char *bn_last_error(void)
{
    return last_error;
}

bn_status bn_fail(bn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

BN_API void bn_log_silent(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    (void)msg;
}

void bn_log(const bn_logger *lg, int level, const char *fmt, ...)
{
    int max_level = lg ? lg->level : BN_LOG_WARN;
    if (level > max_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lg && lg->fn) {
        lg->fn(lg->user, level, msg);
        return;
    }
    static const char *const names[] = { "error", "warning", "info", "debug" };
    fprintf(stderr, "bitnet: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}
