/* The models that tests/make_model_variants.py makes (directory in
 * BN_TEST_MODELS), opened for the cmocka tests that share them. */
#ifndef BN_TESTS_TEST_MODELS_H
#define BN_TESTS_TEST_MODELS_H

#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"

/* The path of model `name` (a static buffer, valid until the next call). */
static inline const char *model_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("BN_TEST_MODELS");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", name);
    return path;
}

/* Model `name` at a kernel level, its log to log_fn (NULL: the default);
 * fails the test when it does not open. */
static inline bn_model *open_model_logged(const char *name, bn_cpu_level level, bn_log_fn log_fn)
{
    bn_model_params mp;
    bn_model_params_init(&mp);
    mp.cpu_level = level;
    if (log_fn) {
        mp.log_fn = log_fn;
        mp.log_level = BN_LOG_INFO;
    }
    bn_model *m = NULL;
    if (bn_model_open(model_path(name), &mp, &m) != BN_OK)
        fail_msg("%s: %s", name, bn_last_error());
    return m;
}

#endif
