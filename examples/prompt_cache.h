/* bitnet-cli --prompt-cache: a prompt's evaluation kept in a file
 * (prompt_cache.c). */
#ifndef BITNET_EXAMPLES_PROMPT_CACHE_H
#define BITNET_EXAMPLES_PROMPT_CACHE_H

#include <stddef.h>

#include <bitnet/bitnet.h>

/* Restores into an empty ctx the longest start of the n >= 1 prompt tokens
 * that the cache at path holds, but never the last token (its logits start
 * generation); returns how many tokens that is, 0 when the cache is missing
 * or unusable (said on stderr, except for a missing file). */
size_t prompt_cache_load(const char *path, bn_ctx *ctx, const bn_token *toks, size_t n);

/* Writes the prompt's n tokens and ctx's state (the prompt evaluated) to
 * path. Returns 0, or -1 after saying why on stderr. */
int prompt_cache_save(const char *path, const bn_ctx *ctx, const bn_token *toks, size_t n);

#endif
