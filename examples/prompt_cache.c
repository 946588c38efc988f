/* bitnet-cli --prompt-cache FILE: a prompt's evaluation kept in a file, so
 * that the next run whose prompt starts the same way evaluates only the rest
 * (llama-cli's prompt cache). The file holds the prompt's tokens, then the
 * context's state (bn_ctx_state_save):
 *
 *   "BNPC", u32 version 1, u32 n_tokens, n_tokens x i32, u64 state bytes,
 *   the state
 *
 * in the host's byte order. A cache that cannot be used (missing, damaged,
 * another model's) only costs the evaluation it would have saved. */
#include "prompt_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_VERSION 1u

/* The file's tokens and state (malloc'd), or -1 with a reason in why. */
static int read_cache(const char *path, bn_token **toks, uint32_t *n_toks, uint8_t **state, uint64_t *state_len,
                      const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = NULL;  /* no cache yet: nothing to say */
        return -1;
    }
    char magic[4];
    uint32_t version = 0;
    *toks = NULL;
    *state = NULL;
    *why = "not a prompt cache";
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "BNPC", 4) != 0 || fread(&version, 4, 1, f) != 1 ||
        version != PC_VERSION || fread(n_toks, 4, 1, f) != 1 || *n_toks > (1u << 24))
        goto bad;
    *why = "truncated";
    if (!(*toks = malloc((size_t)*n_toks * sizeof **toks + 1)) ||
        fread(*toks, sizeof **toks, *n_toks, f) != *n_toks || fread(state_len, 8, 1, f) != 1 ||
        *state_len > ((uint64_t)1 << 40) || !(*state = malloc((size_t)*state_len + 1)) ||
        fread(*state, 1, (size_t)*state_len, f) != *state_len)
        goto bad;
    fclose(f);
    return 0;
bad:
    fclose(f);
    free(*toks);
    free(*state);
    return -1;
}

size_t prompt_cache_load(const char *path, bn_ctx *ctx, const bn_token *toks, size_t n)
{
    bn_token *saved;
    uint32_t n_saved;
    uint8_t *state;
    uint64_t state_len;
    const char *why;
    if (read_cache(path, &saved, &n_saved, &state, &state_len, &why) != 0) {
        if (why)
            fprintf(stderr, "bitnet-cli: prompt cache %s: %s; evaluating the whole prompt\n", path, why);
        return 0;
    }
    size_t same = 0;
    while (same < n && same < n_saved && saved[same] == toks[same])
        same++;
    /* the last prompt token is evaluated again: its logits start generation */
    size_t reuse = same < n ? same : n - 1;
    if (reuse > 0 && bn_ctx_state_load(ctx, state, (size_t)state_len) != BN_OK) {
        fprintf(stderr, "bitnet-cli: prompt cache %s: %s; evaluating the whole prompt\n", path, bn_last_error());
        reuse = 0;
    }
    if (reuse > 0 && bn_ctx_truncate(ctx, (uint32_t)reuse) != BN_OK)
        reuse = 0;  /* a state shorter than its token list: not written by us */
    if (reuse == 0)
        bn_ctx_reset(ctx);
    free(saved);
    free(state);
    return reuse;
}

int prompt_cache_save(const char *path, const bn_ctx *ctx, const bn_token *toks, size_t n)
{
    size_t len = bn_ctx_state_size(ctx), got = 0;
    uint8_t *state = malloc(len ? len : 1);
    if (!state || bn_ctx_state_save(ctx, state, len, &got) != BN_OK) {
        free(state);
        fprintf(stderr, "bitnet-cli: prompt cache %s: the state could not be saved: %s\n", path, bn_last_error());
        return -1;
    }
    const uint32_t head[2] = { PC_VERSION, (uint32_t)n };
    const uint64_t state_len = got;
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite("BNPC", 1, 4, f) == 4 && fwrite(head, 4, 2, f) == 2 &&
             fwrite(toks, sizeof *toks, n, f) == n && fwrite(&state_len, 8, 1, f) == 1 &&
             fwrite(state, 1, got, f) == got;
    if (f && fclose(f) != 0)
        ok = 0;
    free(state);
    if (!ok) {
        fprintf(stderr, "bitnet-cli: prompt cache %s: cannot write it\n", path);
        return -1;
    }
    return 0;
}
