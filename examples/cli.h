/* bitnet-cli's settings: one table of options shared by the command line
 * (cli_options.c) and the YAML presets (cli_config.c). */
#ifndef BITNET_EXAMPLES_CLI_H
#define BITNET_EXAMPLES_CLI_H

#include <stddef.h>

#include <bitnet/bitnet.h>

typedef struct cli_settings {
    bn_model_params model_params;
    bn_ctx_params ctx_params;
    bn_gen_params gen;
    char *model;          /* -m */
    char *prompt;         /* -p */
    char *prompt_file;    /* -f: read the prompt from a file (wins over -p) */
    char *system;         /* -sys: system message for -cnv */
    char *chat_template;  /* --chat-template: override the model's */
    char *cpu;            /* --cpu LEVEL */
    char *config;         /* --config FILE.yaml */
    char *prompt_cache;   /* --prompt-cache FILE */
    int conversation;     /* -cnv */
    int info;             /* --info */
    int help;             /* -h */
    int version;          /* --version */
    int verbose;          /* -v: library info messages */
    int no_mmap;          /* --no-mmap */
    int quantize_head;    /* --quantize-head */
    int context_shift;    /* --context-shift: a full context forgets older text instead of stopping */
    int keep;             /* --keep: tokens a context shift keeps, -1 = the prompt */
    long long seed;       /* --seed; -1 = from the clock */
    int seed_set;
} cli_settings;

typedef enum cli_type { CLI_STR, CLI_INT, CLI_UINT, CLI_FLOAT, CLI_SEED, CLI_FLAG } cli_type;

typedef struct cli_option {
    const char *short_flag;  /* "-n", or NULL */
    const char *long_flag;   /* "--n-predict", or NULL */
    const char *key;         /* YAML key, or NULL when only on the command line */
    cli_type type;
    size_t offset;           /* of the field in cli_settings */
    const char *metavar;
    const char *help;
    double lo, hi;           /* the values a number may take (FLT_MIN as lo: above 0) */
} cli_option;

/* Defaults: the library's parameter defaults plus the CLI's own. */
void cli_settings_init(cli_settings *s);
void cli_settings_free(cli_settings *s);

/* The option with this YAML key, or NULL. */
const cli_option *cli_option_by_key(const char *key);

/* Sets an option from text ("64", "0.7", "true"). On error returns -1 with a
 * message in err that names the value but not where it came from. */
int cli_option_set(cli_settings *s, const cli_option *opt, const char *value, char *err, size_t cap);

/* Parses the command line over s. Returns 0, or -1 with a message in err.
 * --config is applied first, whatever its position, so flags override it. */
int cli_parse_args(cli_settings *s, int argc, char **argv, char *err, size_t cap);

void cli_print_help(const char *argv0);

/* Loads a YAML mapping of option keys into s. On error returns -1 with a
 * message naming the file, line and column. Without libyaml it always fails
 * and says so. */
int cli_config_load(cli_settings *s, const char *path, char *err, size_t cap);

#endif
