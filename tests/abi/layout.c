/* Prints the size and field offsets of every public struct and the value of
 * every public enum constant, and compares them with a committed table:
 * these are the numbers the bindings and already-compiled programs rely on.
 *   abi-layout EXPECTED.txt   compare (LP64 hosts; others skip)
 *   abi-layout                print the table */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bitnet/bitnet.h>

#define SKIP 77

static char table[16384];
static size_t used;

static void add(const char *fmt, const char *a, const char *b, long long v)
{
    int n = b ? snprintf(table + used, sizeof table - used, fmt, a, b, v)
              : snprintf(table + used, sizeof table - used, fmt, a, v);
    if (n > 0 && (size_t)n < sizeof table - used)
        used += (size_t)n;
}

#define SIZE(T) add("sizeof %s %lld\n", #T, NULL, (long long)sizeof(T))
#define FIELD(T, f) add("offsetof %s.%s %lld\n", #T, #f, (long long)offsetof(T, f))
#define VALUE(c) add("value %s %lld\n", #c, NULL, (long long)(c))

static void build_table(void)
{
    SIZE(bn_token);
    SIZE(bn_status);
    SIZE(bn_cpu_level);
    SIZE(bn_log_level);

    SIZE(bn_model_params);
    FIELD(bn_model_params, size);
    FIELD(bn_model_params, use_mmap);
    FIELD(bn_model_params, cpu_level);
    FIELD(bn_model_params, quantize_head);
    FIELD(bn_model_params, log_fn);
    FIELD(bn_model_params, log_user);
    FIELD(bn_model_params, log_level);

    SIZE(bn_tensor_info);
    FIELD(bn_tensor_info, size);
    FIELD(bn_tensor_info, name);
    FIELD(bn_tensor_info, type_name);
    FIELD(bn_tensor_info, type);
    FIELD(bn_tensor_info, n_dims);
    FIELD(bn_tensor_info, ne);
    FIELD(bn_tensor_info, n_bytes);

    SIZE(bn_ctx_params);
    FIELD(bn_ctx_params, size);
    FIELD(bn_ctx_params, n_ctx);
    FIELD(bn_ctx_params, n_threads);
    FIELD(bn_ctx_params, n_batch);

    SIZE(bn_gen_params);
    FIELD(bn_gen_params, size);
    FIELD(bn_gen_params, n_predict);
    FIELD(bn_gen_params, temperature);
    FIELD(bn_gen_params, top_k);
    FIELD(bn_gen_params, top_p);
    FIELD(bn_gen_params, min_p);
    FIELD(bn_gen_params, repeat_penalty);
    FIELD(bn_gen_params, repeat_last_n);
    FIELD(bn_gen_params, seed);
    FIELD(bn_gen_params, stop);
    FIELD(bn_gen_params, n_stop);
    FIELD(bn_gen_params, tokenize_flags);
    FIELD(bn_gen_params, context_shift);
    FIELD(bn_gen_params, n_keep);

    SIZE(bn_chat_message);
    FIELD(bn_chat_message, role);
    FIELD(bn_chat_message, content);

    VALUE(BN_VERSION_NUMBER);
    VALUE(BN_ABI_VERSION);
    VALUE(BN_OK);
    VALUE(BN_E_INVALID_ARG);
    VALUE(BN_E_NOMEM);
    VALUE(BN_E_IO);
    VALUE(BN_E_FORMAT);
    VALUE(BN_E_UNSUPPORTED);
    VALUE(BN_E_CONTEXT_FULL);
    VALUE(BN_E_BUFFER_TOO_SMALL);
    VALUE(BN_E_INVALID_UTF8);
    VALUE(BN_E_INVALID_TOKEN);
    VALUE(BN_E_NOT_FOUND);
    VALUE(BN_E_TYPE);
    VALUE(BN_E_THREAD);
    VALUE(BN_E_INTERNAL);
    VALUE(BN_LOG_ERROR);
    VALUE(BN_LOG_WARN);
    VALUE(BN_LOG_INFO);
    VALUE(BN_LOG_DEBUG);
    VALUE(BN_CPU_AUTO);
    VALUE(BN_CPU_SCALAR);
    VALUE(BN_CPU_AVX2);
    VALUE(BN_CPU_AVX512);
    VALUE(BN_CPU_NEON);
    VALUE(BN_CPU_DOTPROD);
    VALUE(BN_TOKENIZE_ADD_SPECIAL);
    VALUE(BN_TOKENIZE_PARSE_SPECIAL);
    VALUE(BN_DETOKENIZE_SPECIAL);
}

/* The next line of s (advancing *s), without its newline, into buf. */
static int next_line(const char **s, char *buf, size_t cap)
{
    if (!**s)
        return 0;
    size_t n = strcspn(*s, "\n");
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(buf, *s, k);
    buf[k] = '\0';
    *s += n + ((*s)[n] == '\n');
    return 1;
}

int main(int argc, char **argv)
{
    build_table();
    if (argc < 2) {
        fputs(table, stdout);
        return 0;
    }
    if (sizeof(void *) != 8 || sizeof(long) != 8) {
        printf("skip: %s holds LP64 numbers; this target is not LP64\n", argv[1]);
        return SKIP;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("FAIL: cannot open %s\n", argv[1]);
        return 1;
    }
    static char expected[16384];
    size_t n = fread(expected, 1, sizeof expected - 1, f);
    fclose(f);
    expected[n] = '\0';

    /* Both tables list the same items in the same order. */
    const char *a = expected, *b = table;
    char la[256], lb[256];
    int bad = 0, lines = 0;
    for (;;) {
        int ha = next_line(&a, la, sizeof la), hb = next_line(&b, lb, sizeof lb);
        if (!ha && !hb)
            break;
        lines++;
        if (!ha || !hb || strcmp(la, lb) != 0) {
            printf("FAIL: expected \"%s\", built \"%s\"\n", ha ? la : "(nothing)", hb ? lb : "(nothing)");
            bad = 1;
        }
    }
    if (bad) {
        printf("The public layout changed. If that is deliberate (docs/abi.md), regenerate %s\n"
               "with tests/abi/update-baseline.sh.\n", argv[1]);
        return 1;
    }
    printf("ok: %d sizes, offsets and constants match %s\n", lines, argv[1]);
    return 0;
}
