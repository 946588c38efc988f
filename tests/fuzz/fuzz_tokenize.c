/* libFuzzer target: any byte string through the tokenizer of each vocabulary
 * named in BN_FUZZ_VOCABS (tokenizer GGUFs, ':'-separated), and any token ids
 * through detokenizing. The first input byte picks the vocabulary and the
 * flags; the rest is the text. Checked, besides what the sanitizers see:
 *   - invalid UTF-8 is exactly what bn_utf8_invalid_at reports (the API
 *     refuses it there); valid text always tokenizes;
 *   - every token is in the vocabulary;
 *   - without special-token parsing, the tokens' pieces give the text back,
 *     both concatenated and through the UTF-8 stream that bn_detokenize uses
 *     (for vocabularies that can spell every byte; SentencePiece's U+2581
 *     comes back as a space);
 *   - the input's bytes read as token ids detokenize to valid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "utf8.h"
#include "vocab.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VOCABS 8

static struct {
    bn_vocab *v;
    int spells_every_byte;  /* every byte has a token of its own: text round trips */
} vocabs[MAX_VOCABS];
static int n_vocabs;

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n)) && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return p;
}

static int every_byte_spelled(const bn_vocab *v)
{
    for (int b = 0; b < 256; b++) {
        int32_t id = v->byte_sym[b];
        if (id < 0 || id >= v->n_tokens)
            return 0;
    }
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *list = getenv("BN_FUZZ_VOCABS");
    if (!list || !*list) {
        fprintf(stderr, "fuzz_tokenize: set BN_FUZZ_VOCABS to tokenizer GGUFs separated by ':'\n");
        exit(2);
    }
    char *paths = strdup(list);
    for (char *save = NULL, *path = strtok_r(paths, ":", &save); path && n_vocabs < MAX_VOCABS;
         path = strtok_r(NULL, ":", &save)) {
        size_t size = 0;
        uint8_t *file = read_file(path, &size);
        bn_gguf *g = NULL;
        bn_vocab *v = NULL;
        if (!file || bn_gguf_open_memory(file, size, &g) != BN_OK || bn_vocab_load(g, NULL, &v) != BN_OK) {
            fprintf(stderr, "fuzz_tokenize: %s: not a tokenizer GGUF (%s)\n", path, bn_last_error());
            exit(2);
        }
        vocabs[n_vocabs].v = v;
        vocabs[n_vocabs].spells_every_byte = every_byte_spelled(v);
        n_vocabs++;
        /* The vocabulary keeps copies of what it needs from the file. */
        bn_gguf_close(g);
        free(file);
    }
    free(paths);
    return 0;
}

/* The pieces of tokens[0..n) concatenated (raw) and through the UTF-8 stream
 * (repaired) into malloc'd buffers. strip: drop the first piece's leading
 * space, as bn_detokenize does for SentencePiece. */
static void detokenize(const bn_vocab *v, const int32_t *tokens, size_t n, int strip, char **raw, size_t *raw_len,
                       char **fixed, size_t *fixed_len)
{
    size_t total = 0, len;
    for (size_t i = 0; i < n; i++) {
        bn_vocab_piece(v, tokens[i], 0, &len);
        total += len;
    }
    *raw = malloc(total + 1);
    *fixed = malloc(bn_utf8_stream_max_out(total) + 4);
    *raw_len = *fixed_len = 0;
    bn_utf8_stream us;
    bn_utf8_stream_init(&us);
    for (size_t i = 0; i < n; i++) {
        const char *p = bn_vocab_piece(v, tokens[i], 0, &len);
        if (strip && len) {
            if (p[0] == ' ') {
                p++;
                len--;
            }
            strip = 0;
        }
        memcpy(*raw + *raw_len, p, len);
        *raw_len += len;
        *fixed_len += bn_utf8_stream_feed(&us, p, len, *fixed + *fixed_len);
    }
    *fixed_len += bn_utf8_stream_flush(&us, *fixed + *fixed_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || n_vocabs == 0)
        return 0;
    const bn_vocab *v = vocabs[data[0] % n_vocabs].v;
    int spells = vocabs[data[0] % n_vocabs].spells_every_byte;
    int add_special = (data[0] >> 4) & 1, parse_special = (data[0] >> 5) & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char *raw, *fixed;
    size_t raw_len, fixed_len;

    /* Any bytes read as token ids must detokenize to valid UTF-8. */
    size_t n_ids = len / 2;
    int32_t *ids = malloc((n_ids + 1) * sizeof *ids);
    for (size_t i = 0; i < n_ids; i++)
        ids[i] = (int32_t)(((uint32_t)data[1 + 2 * i] | (uint32_t)data[2 + 2 * i] << 8) % (uint32_t)v->n_tokens);
    detokenize(v, ids, n_ids, 0, &raw, &raw_len, &fixed, &fixed_len);
    if (bn_utf8_invalid_at(fixed, fixed_len) != fixed_len)
        __builtin_trap();
    free(raw);
    free(fixed);
    free(ids);

    if (bn_utf8_invalid_at(text, len) < len)
        return 0;  /* bn_tokenize refuses it with BN_E_INVALID_UTF8 */
    bn_tokvec out = { 0 };
    bn_status st = bn_vocab_tokenize(v, text, len, add_special, parse_special, &out);
    if (st == BN_E_NOMEM) {
        free(out.p);
        return 0;
    }
    if (st != BN_OK)
        __builtin_trap();
    for (size_t i = 0; i < out.n; i++)
        if (out.p[i] < 0 || out.p[i] >= v->n_tokens)
            __builtin_trap();
    /* SentencePiece writes spaces as U+2581, so that character in the text
     * comes back as a space (as in llama.cpp). */
    int spm_space = v->type == BN_VOCAB_SPM && memmem(text, len, "\xE2\x96\x81", 3);
    if (spells && !parse_special && !spm_space) {
        int strip = v->type == BN_VOCAB_SPM && v->add_space_prefix;
        detokenize(v, out.p, out.n, strip, &raw, &raw_len, &fixed, &fixed_len);
        if (raw_len != len || memcmp(raw, text, len) != 0 || fixed_len != len || memcmp(fixed, text, len) != 0)
            __builtin_trap();
        free(raw);
        free(fixed);
    }
    free(out.p);
    return 0;
}
