/* libFuzzer target: any byte string opened as a model file (through a memfd,
 * read and mapped in turn), and where the library accepts it, a context, two
 * tokens evaluated and a round of the tokenizer. Nothing is checked beyond
 * what the sanitizers see and that an accepted model answers sensibly: the
 * loader's refusals must come back as a status, and whatever it accepts must
 * be safe to run. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitnet/bitnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    (void)msg;
}

static void run(const bn_model *m)
{
    int32_t n_vocab = bn_model_n_vocab(m);
    if (n_vocab < 2 || bn_model_n_embd(m) <= 0 || bn_model_n_layer(m) <= 0)
        __builtin_trap();
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = 4;
    bn_ctx *c = NULL;
    if (bn_ctx_new((bn_model *)m, &cp, &c) != BN_OK)
        return;  /* out of memory for a model's claimed sizes: a status, fine */
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    bn_token toks[2] = { 0, n_vocab - 1 };
    if (logits && bn_eval(c, toks, 2, logits) != BN_OK)
        __builtin_trap();  /* valid tokens within n_ctx must evaluate */
    free(logits);
    bn_ctx_free(c);

    bn_token out[16];
    size_t n = 0;
    char text[64];
    size_t len = 0;
    if (bn_tokenize(m, "Hi there", 8, BN_TOKENIZE_ADD_SPECIAL, out, 16, &n) == BN_OK)
        bn_detokenize(m, out, n, 0, text, sizeof text, &len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-model", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
            bn_model_params mp;
            bn_model_params_init(&mp);
            mp.use_mmap = use_mmap;
            mp.quantize_head = (int)(size & 1);  /* half the inputs take the int8 head's conversion */
            mp.log_fn = quiet;
            bn_model *m = NULL;
            if (bn_model_open(path, &mp, &m) == BN_OK) {
                if (use_mmap == 0)
                    run(m);
                bn_model_free(m);
            }
        }
    }
    close(fd);
    return 0;
}
