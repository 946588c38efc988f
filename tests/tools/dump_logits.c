/* dump_logits: evaluate tokens with libbitnet's public API and write every
 * position's logits as raw float32 (n_tokens rows of n_vocab), for the Python
 * tests that compare the engine with tests/reference/bitnet_ref.py.
 *
 *   dump_logits MODEL OUT.bin [--per-token] [--quantize-head] [--greedy N] [--threads T]
 *               [--cpu auto|scalar|avx2|avx512|neon|dotprod] [--n-ctx N] [--n-batch N]
 *               [--discard AT FIRST N] TOKEN...
 *
 * --per-token evaluates one token per bn_eval call (the decode path) instead of
 * one bn_eval_all call (prefill). --greedy N then decodes N more tokens, taking
 * the argmax (lowest id on ties) each step, appends their logits rows to OUT.bin
 * and prints the ids on stdout as "greedy: id id ...". --discard evaluates the
 * first AT tokens, then forgets N tokens from position FIRST (bn_ctx_discard),
 * then evaluates the rest: a row for every token. Exit status 2 means the
 * forced CPU level is not supported here (so tests can skip it); 1 other errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"

static int usage(void)
{
    fprintf(stderr, "usage: dump_logits MODEL OUT.bin [--per-token] [--quantize-head] [--greedy N] [--threads T] "
                    "[--cpu LEVEL] [--n-ctx N] [--n-batch N] [--discard AT FIRST N] TOKEN...\n");
    return 1;
}

static int parse_level(const char *s, bn_cpu_level *out)
{
    static const struct { const char *name; bn_cpu_level level; } names[] = {
        { "auto", BN_CPU_AUTO }, { "scalar", BN_CPU_SCALAR }, { "avx2", BN_CPU_AVX2 },
        { "avx512", BN_CPU_AVX512 }, { "neon", BN_CPU_NEON }, { "dotprod", BN_CPU_DOTPROD },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].level;
            return 0;
        }
    return -1;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int fail(const char *what, bn_status st)
{
    fprintf(stderr, "dump_logits: %s: %s: %s\n", what, bn_status_string(st), bn_last_error());
    return 1;
}

static bn_token argmax(const float *v, int32_t n)
{
    bn_token best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Tokens [a, b) one bn_eval each or in one bn_eval_all, their rows at logits + a rows. */
static bn_status eval_range(bn_ctx *ctx, const bn_token *tokens, size_t a, size_t b, int per_token, float *logits,
                            int32_t n_vocab)
{
    bn_status st = BN_OK;
    if (!per_token)
        return a < b ? bn_eval_all(ctx, tokens + a, b - a, logits + a * (size_t)n_vocab) : BN_OK;
    for (size_t i = a; i < b && st == BN_OK; i++)
        st = bn_eval(ctx, &tokens[i], 1, logits + i * (size_t)n_vocab);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *model_path = argv[1], *out_path = argv[2];
    int per_token = 0, quantize_head = 0;
    long greedy = 0, threads = 1, n_ctx = 0, n_batch = 0, discard[3] = { -1, 0, 0 };
    bn_cpu_level level = BN_CPU_AUTO;
    bn_token *tokens = calloc((size_t)argc, sizeof *tokens);
    size_t n_tokens = 0;
    if (!tokens)
        return 1;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--per-token")) {
            per_token = 1;
        } else if (!strcmp(a, "--quantize-head")) {
            quantize_head = 1;
        } else if (!strcmp(a, "--greedy") || !strcmp(a, "--threads") || !strcmp(a, "--n-ctx") ||
                   !strcmp(a, "--n-batch")) {
            long *dst = a[2] == 'g' ? &greedy : a[2] == 't' ? &threads : !strcmp(a, "--n-ctx") ? &n_ctx : &n_batch;
            if (!val || parse_int(val, 0, 1L << 24, dst))
                return usage();
            i++;
        } else if (!strcmp(a, "--discard")) {
            for (int k = 0; k < 3; k++)
                if (i + 1 >= argc || parse_int(argv[++i], 0, 1L << 24, &discard[k]))
                    return usage();
        } else if (!strcmp(a, "--cpu")) {
            if (!val || parse_level(val, &level))
                return usage();
            i++;
        } else {
            long t;
            if (parse_int(a, 0, INT32_MAX, &t))
                return usage();
            tokens[n_tokens++] = (bn_token)t;
        }
    }
    if (n_tokens == 0 || discard[0] > (long)n_tokens)
        return usage();
    if (level != BN_CPU_AUTO && !bn_cpu_supported(level)) {
        fprintf(stderr, "dump_logits: CPU level %s not supported here\n", bn_cpu_level_name(level));
        return 2;
    }

    bn_model_params mp;
    bn_model_params_init(&mp);
    mp.cpu_level = level;
    mp.quantize_head = quantize_head;
    bn_model *model;
    bn_status st = bn_model_open(model_path, &mp, &model);
    if (st == BN_E_UNSUPPORTED && level != BN_CPU_AUTO && strstr(bn_last_error(), "CPU")) {
        fprintf(stderr, "dump_logits: %s\n", bn_last_error());
        return 2;
    }
    if (st != BN_OK)
        return fail("open", st);
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_threads = (int)threads;
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)n_batch;
    bn_ctx *ctx;
    if ((st = bn_ctx_new(model, &cp, &ctx)) != BN_OK)
        return fail("context", st);

    int32_t n_vocab = bn_model_n_vocab(model);
    size_t rows = n_tokens + (size_t)greedy;
    float *logits = malloc(rows * (size_t)n_vocab * sizeof *logits);
    if (!logits)
        return 1;
    size_t at = discard[0] < 0 ? n_tokens : (size_t)discard[0];
    if ((st = eval_range(ctx, tokens, 0, at, per_token, logits, n_vocab)) != BN_OK)
        return fail("eval", st);
    if (discard[0] >= 0 && (st = bn_ctx_discard(ctx, (uint32_t)discard[1], (uint32_t)discard[2])) != BN_OK)
        return fail("discard", st);
    if ((st = eval_range(ctx, tokens, at, n_tokens, per_token, logits, n_vocab)) != BN_OK)
        return fail("eval", st);
    if (greedy > 0)
        printf("greedy:");
    for (long g = 0; g < greedy; g++) {
        float *prev = logits + (n_tokens + (size_t)g - 1) * (size_t)n_vocab;
        bn_token t = argmax(prev, n_vocab);
        printf(" %d", (int)t);
        if ((st = bn_eval(ctx, &t, 1, prev + n_vocab)) != BN_OK)
            return fail("eval (greedy)", st);
    }
    if (greedy > 0)
        printf("\n");
    /* the last greedy row is the logits after the last generated token */

    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(logits, sizeof *logits * (size_t)n_vocab, rows, f) != rows || fclose(f)) {
        fprintf(stderr, "dump_logits: cannot write %s\n", out_path);
        return 1;
    }
    printf("n_vocab %d rows %zu cpu %s\n", (int)n_vocab, rows, bn_cpu_level_name(bn_model_cpu_level(model)));
    free(logits);
    free(tokens);
    bn_ctx_free(ctx);
    bn_model_free(model);
    return 0;
}
