/* An out-of-tree program built against an installed libbitnet through
 * pkg-config, using only the public API.
 *   consumer [MODEL.gguf [PROMPT]] */
#include <stdio.h>
#include <string.h>

#include <bitnet/bitnet.h>

static int print_piece(void *user, bn_token token, const char *piece, size_t len)
{
    (void)token;
    fwrite(piece, 1, len, (FILE *)user);
    return 0;
}

int main(int argc, char **argv)
{
    printf("libbitnet %s (header %s, ABI %d)\n", bn_version_string(), BN_VERSION_STRING, bn_abi_version());
    if (bn_version() != BN_VERSION_NUMBER || bn_abi_version() != BN_ABI_VERSION) {
        fprintf(stderr, "consumer: header and library versions differ\n");
        return 1;
    }
    if (strcmp(bn_status_string(BN_E_INVALID_ARG), "invalid argument") != 0) {
        fprintf(stderr, "consumer: unexpected status string\n");
        return 1;
    }

    /* A missing file must fail cleanly, with a message and a NULL handle. */
    bn_model *model = (bn_model *)&model;
    bn_status st = bn_model_open("/nonexistent/model.gguf", NULL, &model);
    if (st == BN_OK || model != NULL || bn_last_error()[0] == '\0') {
        fprintf(stderr, "consumer: opening a missing file did not fail cleanly\n");
        return 1;
    }
    printf("missing file: %s: %s\n", bn_status_string(st), bn_last_error());
    if (argc < 2)
        return 0;

    bn_model_params mp;
    bn_model_params_init(&mp);
    if (bn_model_open(argv[1], &mp, &model) != BN_OK) {
        fprintf(stderr, "consumer: %s\n", bn_last_error());
        return 1;
    }
    printf("model: %s, %d layers, vocabulary %d\n", bn_model_arch(model), (int)bn_model_n_layer(model),
           (int)bn_model_n_vocab(model));

    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = 256;
    bn_ctx *ctx;
    if (bn_ctx_new(model, &cp, &ctx) != BN_OK) {
        fprintf(stderr, "consumer: %s\n", bn_last_error());
        bn_model_free(model);
        return 1;
    }
    bn_gen_params gp;
    bn_gen_params_init(&gp);
    gp.n_predict = 16;
    gp.temperature = 0.0f;
    st = bn_generate(ctx, argc > 2 ? argv[2] : "Hello", &gp, print_piece, stdout);
    printf("\n");
    if (st != BN_OK)
        fprintf(stderr, "consumer: %s: %s\n", bn_status_string(st), bn_last_error());
    bn_ctx_free(ctx);
    bn_model_free(model);
    return st == BN_OK ? 0 : 1;
}
