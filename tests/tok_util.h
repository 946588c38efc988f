/* Helpers shared by the tokenizer and chat tests: open a tokenizer-only GGUF
 * as a model handle (the loader proper wants weights), read files. */
#ifndef BN_TESTS_TOK_UTIL_H
#define BN_TESTS_TOK_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* A bn_model with only its file and vocabulary filled in: enough for the
 * tokenizer and chat functions, which read nothing else. */
static inline bn_model *tok_open(const char *path)
{
    bn_gguf *g = NULL;
    if (bn_gguf_open(path, 1, &g) != BN_OK)
        return NULL;
    bn_model *m = calloc(1, sizeof *m);
    if (!m) {
        bn_gguf_close(g);
        return NULL;
    }
    m->gguf = g;
    m->log.fn = bn_log_silent;
    m->log.level = BN_LOG_DEBUG;
    if (bn_vocab_load(g, &m->log, &m->vocab) != BN_OK) {
        bn_gguf_close(g);
        free(m);
        return NULL;
    }
    m->hp.n_vocab = bn_vocab_n(m->vocab);
    return m;
}

static inline void tok_close(bn_model *m)
{
    if (!m)
        return;
    bn_vocab_free(m->vocab);
    bn_gguf_close(m->gguf);
    free(m);
}

/* dir/name, or NULL if the environment variable naming dir is unset. */
static inline char *tok_path(const char *env, const char *name)
{
    const char *dir = getenv(env);
    if (!dir)
        return NULL;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline int tok_exists(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f)
        fclose(f);
    return f != NULL;
}

/* The whole file, NUL-terminated; *len its size. NULL if unreadable. */
static inline char *tok_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    return p;
}

#endif
