/* bitnet-perplexity: perplexity of a model over a text file, the way
 * llama.cpp's perplexity tool computes it: the text is cut into chunks of
 * n_ctx tokens, each chunk starts with BOS in place of its first token, and
 * only the predictions in the second half of each chunk are scored, so every
 * scored token has at least n_ctx/2 tokens of context. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "ex_common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bitnet-perplexity -m MODEL -f TEXT [options]\n"
            "  -m, --model FILE    GGUF model\n"
            "  -f, --file FILE     text to evaluate\n"
            "  -c, --ctx-size N    tokens per chunk (default 512)\n"
            "  --chunks N          evaluate at most N chunks (default all)\n"
            "  -t, --threads N     threads (default 1)\n"
            "  -b, --batch-size N  tokens per weight pass (default 64)\n"
            "  --cpu LEVEL         force a kernel level (scalar, avx2, avx512, neon, dotprod)\n"
            "  --quantize-head     convert the output head to int8 rows at load\n");
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);  /* a directory, a read error: not an empty text */
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s)  /* the option was last: no value */
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *text_path = NULL;
    long n_ctx = 512, max_chunks = -1, n_threads = 1, n_batch = 64;
    bn_cpu_level cpu = BN_CPU_AUTO;
    int quantize_head = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quantize-head")) {
            quantize_head = 1;
            continue;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            ok = (model_path = v) != NULL;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            ok = (text_path = v) != NULL;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            ok = parse_int(v, 8, 1 << 20, &n_ctx);
        } else if (!strcmp(a, "--chunks")) {
            ok = parse_int(v, 1, 1L << 30, &max_chunks);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            ok = parse_int(v, 1, 1024, &n_threads);
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            ok = parse_int(v, 1, BN_MAX_BATCH, &n_batch);
        } else if (!strcmp(a, "--cpu")) {
            ok = v && ex_parse_cpu_level(v, &cpu) == 0;
        } else {
            fprintf(stderr, "bitnet-perplexity: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "bitnet-perplexity: option '%s' needs a valid value\n", a);
            return 2;
        }
        i++;
    }
    if (!model_path || !text_path) {
        usage(stderr);
        return 2;
    }
    size_t text_len;
    char *text = read_file(text_path, &text_len);
    if (!text) {
        fprintf(stderr, "bitnet-perplexity: cannot read '%s': %s\n", text_path, strerror(errno));
        return 1;
    }
    bn_model_params mp;
    bn_model_params_init(&mp);
    mp.cpu_level = cpu;
    mp.quantize_head = quantize_head;
    bn_model *model = NULL;
    bn_ctx *ctx = NULL;
    bn_token *toks = NULL;
    float *logits = NULL;
    int rc = 1;
    bn_status st = bn_model_open(model_path, &mp, &model);
    if (st != BN_OK)
        goto fail;
    /* As llama.cpp's perplexity: the text is tokenized with BOS (when the
     * model's metadata asks for one), then cut into chunks. */
    size_t n_tok = 0;
    st = bn_tokenize(model, text, text_len, BN_TOKENIZE_ADD_SPECIAL, NULL, 0, &n_tok);
    if (st != BN_OK && st != BN_E_BUFFER_TOO_SMALL)
        goto fail;
    toks = malloc((n_tok ? n_tok : 1) * sizeof *toks);
    if (!toks || (st = bn_tokenize(model, text, text_len, BN_TOKENIZE_ADD_SPECIAL, toks, n_tok, &n_tok)) != BN_OK)
        goto fail;
    long n_chunks = (long)(n_tok / (size_t)n_ctx);
    if (max_chunks > 0 && n_chunks > max_chunks)
        n_chunks = max_chunks;
    if (n_chunks == 0) {
        fprintf(stderr, "bitnet-perplexity: %zu tokens are fewer than one chunk of %ld\n", n_tok, n_ctx);
        goto out;
    }
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_threads = (int)n_threads;
    cp.n_batch = (uint32_t)n_batch;
    if ((st = bn_ctx_new(model, &cp, &ctx)) != BN_OK)
        goto fail;
    int32_t n_vocab = bn_model_n_vocab(model);
    const long n_scored = n_ctx - 1 - n_ctx / 2;  /* logits rows a chunk */
    logits = malloc((size_t)n_scored * (size_t)n_vocab * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "bitnet-perplexity: out of memory for %ld x %d logits\n", n_scored, n_vocab);
        goto out;
    }
    bn_token bos = bn_token_bos(model);
    double nll = 0, nll2 = 0;
    long count = 0;
    fprintf(stderr, "bitnet-perplexity: %zu tokens, %ld chunks of %ld, %s kernels, %ld threads\n", n_tok, n_chunks,
            n_ctx, bn_cpu_level_name(bn_model_cpu_level(model)), n_threads);
    for (long ch = 0; ch < n_chunks; ch++) {
        bn_token *chunk = toks + (size_t)ch * (size_t)n_ctx;
        bn_token first = chunk[0];
        if (bos >= 0)
            chunk[0] = bos;
        /* Logits only where they are scored: the first half gives context
         * alone, and the last token predicts nothing inside the chunk (a
         * context's results do not depend on how its tokens are batched). */
        const long half = n_ctx / 2;
        bn_ctx_reset(ctx);
        st = bn_eval(ctx, chunk, (size_t)half, NULL);
        if (st == BN_OK)
            st = bn_eval_all(ctx, chunk + half, (size_t)n_scored, logits);
        chunk[0] = first;
        if (st != BN_OK)
            goto fail;
        for (long j = half; j < n_ctx - 1; j++) {
            const float *l = logits + (size_t)(j - half) * (size_t)n_vocab;
            float mx = l[0];
            for (int32_t v = 1; v < n_vocab; v++)
                mx = l[v] > mx ? l[v] : mx;
            double sum = 0;
            for (int32_t v = 0; v < n_vocab; v++)
                sum += exp((double)l[v] - mx);
            double lp = (double)l[chunk[j + 1]] - mx - log(sum);
            nll -= lp;
            nll2 += lp * lp;
            count++;
        }
        fprintf(stderr, "\r[%ld/%ld] running perplexity %.4f", ch + 1, n_chunks, exp(nll / (double)count));
    }
    fprintf(stderr, "\n");
    double mean = nll / (double)count;
    double var = nll2 / (double)count - mean * mean;
    double err = count > 1 && var > 0 ? sqrt(var / (double)(count - 1)) : 0;
    double ppl = exp(mean);
    printf("Final estimate: PPL = %.4f +/- %.5f (%ld tokens scored, %ld chunks of %ld)\n", ppl, ppl * err, count,
           n_chunks, n_ctx);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bitnet-perplexity: %s: %s\n", bn_status_string(st), bn_last_error());
out:
    free(logits);
    free(toks);
    bn_ctx_free(ctx);
    bn_model_free(model);
    free(text);
    return rc;
}
