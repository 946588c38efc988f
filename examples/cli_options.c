/* bitnet-cli's option table and command-line parsing. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

#define OFF(field) offsetof(cli_settings, field)

static const cli_option options[] = {
    { "-m", "--model", "model", CLI_STR, OFF(model), "FILE", "model file (GGUF)", 0, 0 },
    { "-p", "--prompt", "prompt", CLI_STR, OFF(prompt), "TEXT", "prompt (in -cnv mode: the first user message)", 0, 0 },
    { "-f", "--file", "file", CLI_STR, OFF(prompt_file), "FILE", "read the prompt from FILE (wins over -p)", 0, 0 },
    { "-n", "--n-predict", "n_predict", CLI_INT, OFF(gen.n_predict), "N",
      "tokens to generate, -1 = until the context is full (default 128)", -1, INT32_MAX },
    { "-t", "--threads", "threads", CLI_INT, OFF(ctx_params.n_threads), "N",
      "threads, 0 = the CPUs online, at most 64 (default)", 0, 1024 },
    { "-c", "--ctx-size", "ctx_size", CLI_UINT, OFF(ctx_params.n_ctx), "N",
      "context length in tokens (default: min(training length, 4096))", 0, UINT32_MAX },
    { "-b", "--batch-size", "batch_size", CLI_UINT, OFF(ctx_params.n_batch), "N",
      "prompt tokens per weight pass (default 64)", 0, BN_MAX_BATCH },
    { "-temp", "--temp", "temp", CLI_FLOAT, OFF(gen.temperature), "T", "temperature, 0 = greedy (default 0.8)", 0,
      INFINITY },
    { NULL, "--top-k", "top_k", CLI_INT, OFF(gen.top_k), "N", "top-k sampling, 0 = off (default 40)", 0,
      INT32_MAX },
    { NULL, "--top-p", "top_p", CLI_FLOAT, OFF(gen.top_p), "P", "top-p sampling, 1 = off (default 0.95)",
      FLT_MIN, 1 },
    { NULL, "--min-p", "min_p", CLI_FLOAT, OFF(gen.min_p), "P", "min-p sampling, 0 = off (default 0.05)", 0,
      1 },
    { NULL, "--repeat-penalty", "repeat_penalty", CLI_FLOAT, OFF(gen.repeat_penalty), "X",
      "repetition penalty, 1 = off (default 1.0)", FLT_MIN, INFINITY },
    { NULL, "--repeat-last-n", "repeat_last_n", CLI_INT, OFF(gen.repeat_last_n), "N",
      "tokens the penalty looks back over (default 64)", 0, 1 << 20 },
    { NULL, "--prompt-cache", "prompt_cache", CLI_STR, OFF(prompt_cache), "FILE",
      "keep the prompt's evaluation in FILE; a later prompt that starts the same way evaluates only the rest", 0,
      0 },
    { NULL, "--context-shift", "context_shift", CLI_FLAG, OFF(context_shift), NULL,
      "when the context is full, forget the older half of the text after --keep tokens and go on (default: stop)",
      0, 0 },
    { NULL, "--keep", "keep", CLI_INT, OFF(keep), "N",
      "tokens at the start that a context shift keeps, -1 = the prompt (default 0: BOS only)", -1, INT32_MAX },
    { "-s", "--seed", "seed", CLI_SEED, OFF(seed), "N", "sampling seed, -1 = from the clock (default 0x5eed)", 0, 0 },
    { "-cnv", "--conversation", "conversation", CLI_FLAG, OFF(conversation), NULL,
      "chat: read user turns from stdin, answer with the model's chat template", 0, 0 },
    { "-sys", "--system", "system", CLI_STR, OFF(system), "TEXT", "system message for -cnv", 0, 0 },
    { NULL, "--chat-template", "chat_template", CLI_STR, OFF(chat_template), "NAME",
      "bitnet, llama3, falcon3 or llama2 instead of the model's own", 0, 0 },
    { NULL, "--cpu", "cpu", CLI_STR, OFF(cpu), "LEVEL",
      "kernel level: auto, scalar, avx2, avx512, neon, dotprod (default auto)", 0, 0 },
    { NULL, "--quantize-head", "quantize_head", CLI_FLAG, OFF(quantize_head), NULL,
      "convert the output head to int8 rows at load: faster decode, slightly different logits", 0, 0 },
    { NULL, "--no-mmap", "no_mmap", CLI_FLAG, OFF(no_mmap), NULL, "read the model into memory instead of mapping it",
      0, 0 },
    { NULL, "--info", "info", CLI_FLAG, OFF(info), NULL,
      "print the model's architecture, hyperparameters, tensors and tokenizer, then exit", 0, 0 },
    { "-v", "--verbose", "verbose", CLI_FLAG, OFF(verbose), NULL, "let the library log informational messages", 0, 0 },
    { NULL, "--config", NULL, CLI_STR, OFF(config), "FILE.yaml",
      "read settings from a YAML mapping (keys as listed below); flags override it", 0, 0 },
    { NULL, "--version", NULL, CLI_FLAG, OFF(version), NULL, "print the library version and exit", 0, 0 },
    { "-h", "--help", NULL, CLI_FLAG, OFF(help), NULL, "show this help and exit", 0, 0 },
};
#define N_OPTIONS (sizeof options / sizeof options[0])

void cli_settings_init(cli_settings *s)
{
    memset(s, 0, sizeof *s);
    bn_model_params_init(&s->model_params);
    bn_ctx_params_init(&s->ctx_params);
    bn_gen_params_init(&s->gen);
}

void cli_settings_free(cli_settings *s)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].type == CLI_STR) {
            char **field = (char **)((char *)s + options[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

const cli_option *cli_option_by_key(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].key && strcmp(options[i].key, key) == 0)
            return &options[i];
    return NULL;
}

static int parse_integer(const char *value, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);  /* "010" is ten, as llama.cpp reads it */
    if (errno || end == value || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_option_set(cli_settings *s, const cli_option *opt, const char *value, char *err, size_t cap)
{
    void *field = (char *)s + opt->offset;
    long long v;
    switch (opt->type) {
    case CLI_STR: {
        char *copy = strdup(value);
        if (!copy) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case CLI_INT:
    case CLI_UINT:
        if (parse_integer(value, (long long)opt->lo, (long long)opt->hi, &v) != 0) {
            snprintf(err, cap, "'%s' is not an integer from %.0f to %.0f", value, opt->lo, opt->hi);
            return -1;
        }
        if (opt->type == CLI_INT)
            *(int32_t *)field = (int32_t)v;
        else
            *(uint32_t *)field = (uint32_t)v;
        return 0;
    case CLI_SEED:
        if (parse_integer(value, -1, INT64_MAX, &v) != 0) {
            snprintf(err, cap, "'%s' is not a seed (-1, or an integer from 0)", value);
            return -1;
        }
        s->seed = v;
        s->seed_set = 1;
        return 0;
    case CLI_FLOAT: {
        char *end;
        errno = 0;
        float f = strtof(value, &end);
        if (errno || end == value || *end != '\0' || !isfinite(f) || f < opt->lo || f > opt->hi) {
            char above[32], below[32] = "";
            snprintf(above, sizeof above, opt->lo == FLT_MIN ? "above 0" : "of at least %g", opt->lo);
            if (!isinf(opt->hi))
                snprintf(below, sizeof below, " and at most %g", opt->hi);
            snprintf(err, cap, "'%s' is not a number %s%s", value, above, below);
            return -1;
        }
        *(float *)field = f;
        return 0;
    }
    case CLI_FLAG: {
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(int *)field = 1;
                return 0;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(int *)field = 0;
                return 0;
            }
        }
        snprintf(err, cap, "'%s' is not true or false", value);
        return -1;
    }
    }
    snprintf(err, cap, "bad option type");
    return -1;
}

/* The option arg names ("-n", "--n-predict", or "--n-predict=64" with *inline
 * pointing at "64"), or NULL. */
static const cli_option *find_flag(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const cli_option *o = &options[i];
        if ((o->short_flag && strcmp(arg, o->short_flag) == 0) || (o->long_flag && strcmp(arg, o->long_flag) == 0))
            return o;
        size_t n = o->long_flag ? strlen(o->long_flag) : 0;
        if (n && strncmp(arg, o->long_flag, n) == 0 && arg[n] == '=') {
            *inline_value = arg + n + 1;
            return o;
        }
    }
    return NULL;
}

/* One pass over argv; with config_only, applies just --config, else all but it. */
static int parse_pass(cli_settings *s, int argc, char **argv, int config_only, char *err, size_t cap)
{
    char why[256];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value;
        const cli_option *o = find_flag(arg, &value);
        if (!o) {
            if (arg[0] == '-' && arg[1] != '\0') {
                snprintf(err, cap, "unknown option '%s' (see --help)", arg);
                return -1;
            }
            /* A bare argument is the model: "bitnet-cli --info MODEL". */
            if (!config_only && cli_option_set(s, &options[0], arg, why, sizeof why) != 0) {
                snprintf(err, cap, "%s", why);
                return -1;
            }
            continue;
        }
        if (o->type == CLI_FLAG) {
            if (value) {
                snprintf(err, cap, "%s takes no value", o->long_flag);
                return -1;
            }
            if (!config_only)
                *(int *)((char *)s + o->offset) = 1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, cap, "%s needs a value (%s)", arg, o->metavar);
                return -1;
            }
            value = argv[++i];
        }
        int is_config = o->offset == OFF(config);
        if (is_config != config_only)
            continue;
        if (cli_option_set(s, o, value, why, sizeof why) != 0) {
            snprintf(err, cap, "%s: %s", o->long_flag ? o->long_flag : o->short_flag, why);
            return -1;
        }
        if (is_config && cli_config_load(s, value, err, cap) != 0)
            return -1;
    }
    return 0;
}

int cli_parse_args(cli_settings *s, int argc, char **argv, char *err, size_t cap)
{
    if (parse_pass(s, argc, argv, 1, err, cap) != 0 || parse_pass(s, argc, argv, 0, err, cap) != 0)
        return -1;
    if (s->ctx_params.n_threads == 0) {  /* the default, or -t 0 */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        s->ctx_params.n_threads = cpus > 0 ? (int)(cpus < 64 ? cpus : 64) : 1;
    }
    return 0;
}

void cli_print_help(const char *argv0)
{
    printf("usage: %s -m MODEL.gguf [-p PROMPT | -f FILE | -cnv] [options]\n"
           "       %s --info MODEL.gguf\n\n"
           "Runs a 1.58-bit BitNet model with libbitnet %s. Generated text goes to stdout,\n"
           "the timing summary to stderr.\n\noptions:\n",
           argv0, argv0, bn_version_string());
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const cli_option *o = &options[i];
        char flags[64];
        snprintf(flags, sizeof flags, "%s%s%s%s%s", o->short_flag ? o->short_flag : "",
                 o->short_flag && o->long_flag ? ", " : "", o->long_flag ? o->long_flag : "",
                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
        printf("  %-26s %s\n", flags, o->help);
    }
    printf("\nYAML keys for --config:");
    for (size_t i = 0, col = 80; i < N_OPTIONS; i++) {
        if (!options[i].key)
            continue;
        size_t n = strlen(options[i].key) + 1;
        if (col + n > 78) {
            printf("\n ");
            col = 1;
        }
        printf(" %s", options[i].key);
        col += n;
    }
    printf("\n\nexample:\n  %s -m models/bitnet-shakespeare-i2s.gguf -p \"ROMEO:\" -n 64\n", argv0);
}
