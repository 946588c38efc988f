/* The shortest complete libbitnet program: open a model, stream generated
 * text to stdout, free everything.
 *   simple MODEL.gguf [PROMPT] */
#include <stdio.h>

#include <bitnet/bitnet.h>

static int print_piece(void *user, bn_token token, const char *piece, size_t len)
{
    (void)user;
    (void)token;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop generation */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [PROMPT]\n", argv[0]);
        return 2;
    }
    bn_model *model;
    if (bn_model_open(argv[1], NULL, &model) != BN_OK) {
        fprintf(stderr, "%s\n", bn_last_error());
        return 1;
    }
    bn_ctx *ctx;
    if (bn_ctx_new(model, NULL, &ctx) != BN_OK) {
        fprintf(stderr, "%s\n", bn_last_error());
        bn_model_free(model);
        return 1;
    }
    bn_gen_params gp;
    bn_gen_params_init(&gp);
    gp.n_predict = 64;
    bn_status st = bn_generate(ctx, argc > 2 ? argv[2] : "ROMEO:", &gp, print_piece, NULL);
    printf("\n");
    if (st != BN_OK)
        fprintf(stderr, "%s\n", bn_last_error());
    bn_ctx_free(ctx);
    bn_model_free(model);
    return st == BN_OK ? 0 : 1;
}
