/* Tokenization throughput: bench_tokenize VOCAB.gguf [TEXT_FILE]
 * Tokenizes the text (default: 1 MiB of generated mixed prose) repeatedly
 * for about two seconds and prints MB/s and tokens/s, then the same for
 * detokenizing. Not a test: timings depend on the machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok_util.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *make_text(size_t n)
{
    static const char *const words[] = { "The", " lighthouse", " keeper", " climbed", " 112", " stairs", ",",
                                         " don't", " worry", "!\n", " \xE6\x88\x91\xE6\x83\xB3", " caf\xC3\xA9",
                                         "  ", " 3.14159", " \xF0\x9F\xA6\x99", " \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE",
                                         " (normal)", "\n\n", " I'm", " here." };
    char *s = malloc(n + 32);
    size_t w = 0;
    unsigned r = 1;
    while (w < n) {
        r = r * 1103515245u + 12345u;
        const char *x = words[(r >> 16) % (sizeof words / sizeof *words)];
        size_t l = strlen(x);
        memcpy(s + w, x, l);
        w += l;
    }
    s[w] = '\0';
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_tokenize VOCAB.gguf [TEXT_FILE]\n");
        return 2;
    }
    double t_load = now();
    bn_model *m = tok_open(argv[1]);
    if (!m) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], bn_last_error());
        return 1;
    }
    printf("load:       %d tokens, %d merges in %.1f ms\n", m->vocab->n_tokens, m->vocab->n_merges,
           1e3 * (now() - t_load));
    size_t len = 0;
    char *text = argc > 2 ? tok_read_file(argv[2], &len) : make_text(1 << 20);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    if (argc <= 2)
        len = strlen(text);
    size_t n = 0;
    bn_tokenize(m, text, len, 0, NULL, 0, &n);
    bn_token *toks = malloc(n * sizeof *toks);
    char *back = malloc(4 * len + 16);
    int reps = 0;
    double t0 = now(), t;
    do {
        if (bn_tokenize(m, text, len, 0, toks, n, &n) != BN_OK) {
            fprintf(stderr, "tokenize failed: %s\n", bn_last_error());
            return 1;
        }
        reps++;
    } while ((t = now() - t0) < 2.0);
    printf("tokenize:   %zu bytes -> %zu tokens, %.2f MB/s, %.0f tokens/s\n", len, n, reps * len / t / 1e6,
           reps * n / t);
    size_t out_len;
    reps = 0;
    t0 = now();
    do {
        bn_detokenize(m, toks, n, 0, back, 4 * len + 16, &out_len);
        reps++;
    } while ((t = now() - t0) < 1.0);
    printf("detokenize: %zu tokens -> %zu bytes, %.2f MB/s, %s\n", n, out_len, reps * out_len / t / 1e6,
           out_len == len && !memcmp(back, text, len) ? "round trip exact" : "round trip DIFFERS");
    free(text);
    free(toks);
    free(back);
    tok_close(m);
    return 0;
}
