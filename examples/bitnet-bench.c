/* bitnet-bench: prompt and generation speed of libbitnet, in the manner of
 * llama.cpp's llama-bench, compared with this machine's own limits measured
 * in the same run:
 *
 *   tg (generation, one token per bn_eval) against memory read bandwidth:
 *       limit t/s = read bytes/s / bytes per token
 *   pp (prompt, all tokens in one bn_eval) against the int8 multiply-add peak:
 *       limit t/s = int8 ops/s / (2 x ternary weights)
 *
 * Results go to stdout as a markdown table, JSON or JSON lines; progress goes
 * to stderr. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ex_common.h"

enum { OUT_MD, OUT_JSON, OUT_JSONL };

/* GGUF type numbers of the ternary formats. */
enum { TYPE_TQ1_0 = 34, TYPE_TQ2_0 = 35, TYPE_I2_S = 36 };

#define TOKEN_SEED 0x6b656e73ull
#define TG_WARMUP_TOKENS 16

typedef struct limit_row {
    int threads;
    bn_cpu_level level;  /* BN_CPU_AUTO for the bandwidth row */
    double value;        /* read bytes/s, or int8 ops/s (0 = not measured) */
    const char *kernel, *note;
} limit_row;

typedef struct machine {
    size_t mem_bytes;
    limit_row *rows;
    size_t n_rows;
} machine;

/* What a model costs per token, from its tensor table and hyperparameters. */
typedef struct model_cost {
    char name[256];
    uint64_t file_bytes;      /* sum of the tensors' stored bytes */
    uint64_t n_params;        /* elements of all tensors */
    uint64_t n_ternary;       /* elements of the I2_S, TQ1_0 and TQ2_0 tensors */
    uint64_t weight_bytes;    /* bn_model_weight_bytes */
    uint64_t kv_bytes_per_pos; /* f16 K and V of one position, all layers */
} model_cost;

typedef struct result {
    const char *run, *model;
    model_cost cost;
    bn_cpu_level level;
    int quantize_head, threads, n_prompt, n_gen, reps;
    uint32_t n_batch;
    double *samples; /* t/s of each repetition */
    double mean, sd;
    double per_token;   /* bytes (tg) or ops (pp) per token */
    double bound;       /* read bytes/s (tg) or int8 ops/s (pp); 0 = none */
    const char *kernel, *note;
} result;

typedef struct bench {
    int output;
    machine mach;
    result *results;
    size_t n_results;
    char cpu_name[128];
    char date[32];
    int md_header_done;
} bench;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s -m MODEL.gguf [options]\n"
            "       %s --suite FILE.yaml [options]\n"
            "\n"
            "  -m, --model FILE[,FILE]   model to test (repeatable)\n"
            "  -p, --n-prompt N[,N]      prompt lengths; 0 = no prompt test (default 128)\n"
            "  -n, --n-gen N[,N]         generation lengths; 0 = no generation test (default 128)\n"
            "  -t, --threads N[,N]       thread counts (default 1, 2, 4, ... up to the CPUs online)\n"
            "  -r, --repetitions N       timed repetitions of each test, after one warm-up (default 3)\n"
            "  -b, --batch-size N        prompt tokens per weight pass (default: the library's)\n"
            "  -o, --output md|json|jsonl  output format (default md; json with --suite)\n"
            "  --cpu LEVEL               kernel level: auto, scalar, avx2, avx512, neon, dotprod\n"
            "  --quantize-head           quantize an F16/BF16/F32 output head to int8 at load\n"
            "  --suite FILE.yaml         run a YAML list of runs (see docs/benchmarks.md);\n"
            "                            the flags above fill in what a run leaves out\n"
            "  --mem-mib N               buffer for the bandwidth measurement (default 1024)\n"
            "  --dry-run                 list the tests and exit, without loading or measuring\n"
            "  --version                 print the library version\n"
            "  -h, --help                show this help\n",
            argv0, argv0);
}

/* ------------------------------------------------------------------ JSON */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

/* --------------------------------------------------------------- machine */

static limit_row *find_limit(machine *m, int threads, bn_cpu_level level)
{
    for (size_t i = 0; i < m->n_rows; i++)
        if (m->rows[i].threads == threads && m->rows[i].level == level)
            return &m->rows[i];
    return NULL;
}

/* The row for (threads, level), measured now if it is new; NULL only when
 * out of memory. level AUTO = read bandwidth. */
static limit_row *get_limit(machine *m, int threads, bn_cpu_level level)
{
    limit_row *row = find_limit(m, threads, level);
    if (row)
        return row;
    limit_row *rows = realloc(m->rows, (m->n_rows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    m->rows = rows;
    row = &rows[m->n_rows++];
    memset(row, 0, sizeof *row);
    row->threads = threads;
    row->level = level;
    row->kernel = row->note = "";
    if (level == BN_CPU_AUTO) {
        fprintf(stderr, "bitnet-bench: read bandwidth, %d thread%s, %zu MiB buffer ...", threads,
                threads == 1 ? "" : "s", m->mem_bytes >> 20);
        row->value = bench_read_bandwidth(m->mem_bytes, threads);
        fprintf(stderr, " %.2f GB/s\n", row->value / 1e9);
        if (row->value <= 0)
            row->note = "the bandwidth measurement failed (memory or threads)";
    } else {
        fprintf(stderr, "bitnet-bench: int8 peak for %s, %d thread%s ...", bn_cpu_level_name(level), threads,
                threads == 1 ? "" : "s");
        row->value = bench_int8_peak(level, threads, &row->kernel, &row->note);
        if (row->value > 0)
            fprintf(stderr, " %.1f GOPS (%s)\n", row->value / 1e9, row->kernel);
        else
            fprintf(stderr, " skipped: %s\n", row->note);
    }
    return row;
}

/* The level a model will most likely use, so the machine is measured before
 * any model loads; a model that ends up elsewhere is measured when met. */
static bn_cpu_level expected_level(bn_cpu_level forced)
{
    bn_cpu_level env;
    const char *s = getenv("BN_CPU");
    if (forced != BN_CPU_AUTO)
        return forced;
    if (s && ex_parse_cpu_level(s, &env) == 0 && env != BN_CPU_AUTO)
        return env;
    return bn_cpu_best();
}

/* ----------------------------------------------------------------- model */

static void describe_model(const bn_model *m, const char *path, model_cost *c)
{
    memset(c, 0, sizeof *c);
    const char *s, *base = strrchr(path, '/');
    size_t len;
    if (bn_model_meta_str(m, "general.name", &s, &len) == BN_OK && len > 0)
        snprintf(c->name, sizeof c->name, "%.*s", (int)len, s);
    else
        snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : path);
    for (int64_t i = 0, n = bn_model_n_tensors(m); i < n; i++) {
        bn_tensor_info ti;
        memset(&ti, 0, sizeof ti);
        ti.size = sizeof ti;
        if (bn_model_tensor(m, i, &ti) != BN_OK)
            continue;
        uint64_t elems = 1;
        for (int d = 0; d < ti.n_dims && d < 4; d++)
            elems *= (uint64_t)ti.ne[d];
        c->file_bytes += ti.n_bytes;
        c->n_params += elems;
        if (ti.type == TYPE_I2_S || ti.type == TYPE_TQ1_0 || ti.type == TYPE_TQ2_0)
            c->n_ternary += elems;
    }
    c->weight_bytes = bn_model_weight_bytes(m);

    /* The KV cache holds f16 K and V rows of head_dim * head_count_kv per layer. */
    char key[128];
    int64_t n_head = 0, n_head_kv = 0;
    const char *arch = bn_model_arch(m);
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    bn_model_meta_int(m, key, &n_head);
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    if (bn_model_meta_int(m, key, &n_head_kv) != BN_OK)
        n_head_kv = n_head;
    if (n_head > 0) {
        uint64_t kv_dim = (uint64_t)bn_model_n_embd(m) / (uint64_t)n_head * (uint64_t)n_head_kv;
        c->kv_bytes_per_pos = (uint64_t)bn_model_n_layer(m) * 2u * kv_dim * 2u;
    }
}

/* Bytes one generated token reads, averaged over a tg test of n tokens from
 * an empty context: the weights, plus K and V of positions 0..i for token i. */
static double tg_bytes_per_token(const model_cost *c, int n)
{
    return (double)c->weight_bytes + (double)c->kv_bytes_per_pos * (n + 1) / 2.0;
}

static double pp_ops_per_token(const model_cost *c)
{
    return 2.0 * (double)c->n_ternary;
}

/* ----------------------------------------------------------------- tests */

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void random_tokens(const bn_model *m, bn_token *out, int n, uint64_t *rng)
{
    int32_t n_vocab = bn_model_n_vocab(m);
    for (int i = 0; i < n; i++)
        out[i] = (bn_token)(next_random(rng) % (uint64_t)n_vocab);
    if (n > 0 && bn_token_bos(m) >= 0)
        out[0] = bn_token_bos(m);
}

/* One timed pass: a prompt test evaluates n_prompt tokens in one call, a
 * generation test n_gen tokens one call each, both from an empty context
 * and with logits. */
static bn_status time_test(bn_ctx *ctx, const bn_token *tokens, int n_prompt, int n_gen, float *logits,
                           double *seconds)
{
    bn_status st = BN_OK;
    bn_ctx_reset(ctx);
    double t0 = ex_now();
    if (n_prompt > 0)
        st = bn_eval(ctx, tokens, (size_t)n_prompt, logits);
    for (int i = 0; i < n_gen && st == BN_OK; i++)
        st = bn_eval(ctx, &tokens[i], 1, logits);
    *seconds = ex_now() - t0;
    return st;
}

static const char *test_name(const result *r, char *buf, size_t cap)
{
    snprintf(buf, cap, r->n_prompt ? "pp%d" : "tg%d", r->n_prompt ? r->n_prompt : r->n_gen);
    return buf;
}

static double limit_ts(const result *r)
{
    return r->bound > 0 && r->per_token > 0 ? r->bound / r->per_token : NAN;
}

/* ---------------------------------------------------------------- output */

static void fmt_size(char *buf, size_t cap, double bytes)
{
    if (bytes >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, cap, "%.2f MiB", bytes / (1024.0 * 1024));
}

static void fmt_count(char *buf, size_t cap, double n)
{
    if (n >= 1e9)
        snprintf(buf, cap, "%.2f B", n / 1e9);
    else
        snprintf(buf, cap, "%.2f M", n / 1e6);
}

static void print_md_row(bench *b, const result *r)
{
    char size[32], params[32], test[32], lim[32], pct[32];
    if (!b->md_header_done) {
        printf("| model | size | params | level | threads | test | t/s | bound | limit t/s | %% of limit |\n");
        printf("| --- | ---: | ---: | --- | ---: | --- | ---: | --- | ---: | ---: |\n");
        b->md_header_done = 1;
    }
    fmt_size(size, sizeof size, (double)r->cost.file_bytes);
    fmt_count(params, sizeof params, (double)r->cost.n_params);
    double lts = limit_ts(r);
    snprintf(lim, sizeof lim, isfinite(lts) ? "%.2f" : "-", lts);
    snprintf(pct, sizeof pct, isfinite(lts) ? "%.1f%%" : "-", 100.0 * r->mean / lts);
    printf("| %s | %s | %s | %s%s | %d | %s | %.2f ± %.2f | %s | %s | %s |\n", r->cost.name, size, params,
           bn_cpu_level_name(r->level), r->quantize_head ? ", q-head" : "", r->threads,
           test_name(r, test, sizeof test), r->mean, r->sd, r->n_prompt ? "int8 peak" : "mem bw", lim, pct);
    fflush(stdout);
}

static void print_md_footer(const bench *b)
{
    const machine *m = &b->mach;
    printf("\nMachine limits measured in this run (%s, %ld CPUs online, libbitnet %s, %s):\n\n", b->cpu_name,
           sysconf(_SC_NPROCESSORS_ONLN), bn_version_string(), b->date);
    printf("| threads | limit | value |\n| ---: | --- | ---: |\n");
    for (size_t i = 0; i < m->n_rows; i++) {
        const limit_row *row = &m->rows[i];
        if (row->level == BN_CPU_AUTO)
            printf("| %d | read bandwidth (%zu MiB buffer) | %.2f GB/s |\n", row->threads, m->mem_bytes >> 20,
                   row->value / 1e9);
        else if (row->value > 0)
            printf("| %d | int8 peak, %s (%s) | %.1f GOPS |\n", row->threads, bn_cpu_level_name(row->level),
                   row->kernel, row->value / 1e9);
        else
            printf("| %d | int8 peak, %s | - (%s) |\n", row->threads, bn_cpu_level_name(row->level), row->note);
    }
    printf("\ntg: limit t/s = read bandwidth / bytes per token, where bytes per token = bn_model_weight_bytes "
           "(ternary weights at 2 bits each + the output head as stored) + the f16 K and V cache read, "
           "averaged over the test (n_layer x 2 x kv_dim x 2 B x (n+1)/2).\n");
    printf("pp: limit t/s = int8 peak / ops per token, where ops per token = 2 x ternary weights (elements of "
           "the I2_S, TQ1_0 and TQ2_0 tensors; one multiply-add = 2 ops); attention and the output head are "
           "not counted.\n");
    printf("t/s is the mean ± sample standard deviation of the repetitions, after one warm-up.\n\n");
    const char *last = NULL;
    for (size_t i = 0; i < b->n_results; i++) {
        const result *r = &b->results[i];
        if (last && !strcmp(last, r->model))
            continue;
        last = r->model;
        printf("- %s: weights read per token %.2f MiB, KV cache %.1f KiB per position, %.3g ternary weights "
               "(%.3g ops per prompt token)\n",
               r->model, (double)r->cost.weight_bytes / (1024.0 * 1024), (double)r->cost.kv_bytes_per_pos / 1024,
               (double)r->cost.n_ternary, pp_ops_per_token(&r->cost));
    }
}

static void print_json_result(const bench *b, const result *r, FILE *f, int with_machine)
{
    char test[32];
    fputs("{\"run\": ", f);
    if (r->run)
        json_str(f, r->run);
    else
        fputs("null", f);
    fputs(", \"model\": ", f);
    json_str(f, r->model);
    fputs(", \"model_name\": ", f);
    json_str(f, r->cost.name);
    fprintf(f, ", \"model_bytes\": %llu, \"n_params\": %llu, \"n_ternary\": %llu, \"weight_bytes\": %llu",
            (unsigned long long)r->cost.file_bytes, (unsigned long long)r->cost.n_params,
            (unsigned long long)r->cost.n_ternary, (unsigned long long)r->cost.weight_bytes);
    fprintf(f, ", \"kv_bytes_per_position\": %llu, \"level\": \"%s\", \"quantize_head\": %s",
            (unsigned long long)r->cost.kv_bytes_per_pos, bn_cpu_level_name(r->level),
            r->quantize_head ? "true" : "false");
    fprintf(f, ", \"threads\": %d, \"n_batch\": %u, \"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"reps\": %d",
            r->threads, (unsigned)r->n_batch, test_name(r, test, sizeof test), r->n_prompt, r->n_gen, r->reps);
    fputs(", \"samples_ts\": [", f);
    for (int i = 0; i < r->reps; i++) {
        fputs(i ? ", " : "", f);
        json_num(f, r->samples[i]);
    }
    fputs("], \"avg_ts\": ", f);
    json_num(f, r->mean);
    fputs(", \"stddev_ts\": ", f);
    json_num(f, r->sd);
    fprintf(f, ", \"bound\": \"%s\", \"%s\": ", r->n_prompt ? "int8_peak" : "read_bandwidth",
            r->n_prompt ? "ops_per_token" : "bytes_per_token");
    json_num(f, r->per_token);
    fprintf(f, ", \"%s\": ", r->n_prompt ? "int8_peak_ops_per_s" : "read_bytes_per_s");
    json_num(f, r->bound > 0 ? r->bound : NAN);
    if (r->n_prompt) {
        fputs(", \"int8_kernel\": ", f);
        json_str(f, r->kernel);
    }
    fputs(", \"limit_ts\": ", f);
    json_num(f, limit_ts(r));
    fputs(", \"pct_of_limit\": ", f);
    json_num(f, 100.0 * r->mean / limit_ts(r));
    if (r->note && *r->note) {
        fputs(", \"note\": ", f);
        json_str(f, r->note);
    }
    if (with_machine) {
        fputs(", \"cpu\": ", f);
        json_str(f, b->cpu_name);
        fprintf(f, ", \"libbitnet\": \"%s\", \"date\": \"%s\"", bn_version_string(), b->date);
    }
    fputc('}', f);
}

static void print_json(const bench *b)
{
    const machine *m = &b->mach;
    printf("{\n  \"libbitnet\": \"%s\",\n  \"date\": \"%s\",\n  \"machine\": {\"cpu\": ", bn_version_string(),
           b->date);
    json_str(stdout, b->cpu_name);
    printf(", \"n_cpus\": %ld, \"best_level\": \"%s\", \"read_buffer_bytes\": %zu,\n    \"limits\": [",
           sysconf(_SC_NPROCESSORS_ONLN), bn_cpu_level_name(bn_cpu_best()), m->mem_bytes);
    for (size_t i = 0; i < m->n_rows; i++) {
        const limit_row *row = &m->rows[i];
        printf("%s\n      {\"threads\": %d, ", i ? "," : "", row->threads);
        if (row->level == BN_CPU_AUTO) {
            printf("\"kind\": \"read_bandwidth\", \"bytes_per_s\": ");
        } else {
            printf("\"kind\": \"int8_peak\", \"level\": \"%s\", \"kernel\": ", bn_cpu_level_name(row->level));
            json_str(stdout, row->kernel);
            printf(", \"ops_per_s\": ");
        }
        json_num(stdout, row->value > 0 ? row->value : NAN);
        if (row->note && *row->note) {
            printf(", \"note\": ");
            json_str(stdout, row->note);
        }
        printf("}");
    }
    printf("]},\n  \"formulas\": {\n");
    printf("    \"tg\": \"limit_ts = read_bytes_per_s / bytes_per_token; bytes_per_token = weight_bytes + "
           "kv_bytes_per_position * (n_gen + 1) / 2\",\n");
    printf("    \"pp\": \"limit_ts = int8_peak_ops_per_s / ops_per_token; ops_per_token = 2 * n_ternary\"\n  },\n");
    printf("  \"results\": [");
    for (size_t i = 0; i < b->n_results; i++) {
        printf("%s\n    ", i ? "," : "");
        print_json_result(b, &b->results[i], stdout, 0);
    }
    printf("\n  ]\n}\n");
}

/* ------------------------------------------------------------------- run */

static int fail(const char *what, const char *where, bn_status st)
{
    fprintf(stderr, "bitnet-bench: %s%s%s: %s%s%s\n", where ? where : "", where ? ": " : "", what,
            bn_status_string(st), bn_last_error()[0] ? ": " : "", bn_last_error());
    return -1;
}

static result *new_result(bench *b)
{
    result *rs = realloc(b->results, (b->n_results + 1) * sizeof *rs);
    if (!rs)
        return NULL;
    b->results = rs;
    memset(&rs[b->n_results], 0, sizeof *rs);
    return &rs[b->n_results++];
}

/* Runs one test (n_prompt > 0: pp, else tg) and records it. */
static int run_test(bench *b, const bench_run *run, const char *path, const model_cost *cost, bn_ctx *ctx,
                    int threads, int n_prompt, int n_gen, bn_token *tokens, float *logits)
{
    const bn_model *m = bn_ctx_model(ctx);
    result *r = new_result(b);
    if (!r || !(r->samples = calloc((size_t)run->reps, sizeof *r->samples))) {
        fprintf(stderr, "bitnet-bench: out of memory\n");
        return -1;
    }
    r->run = run->name;
    r->model = path;
    r->cost = *cost;
    r->level = bn_model_cpu_level(m);
    r->quantize_head = run->quantize_head;
    r->threads = threads;
    r->n_batch = run->n_batch;
    r->n_prompt = n_prompt;
    r->n_gen = n_gen;
    r->reps = run->reps;
    uint64_t rng = TOKEN_SEED;
    random_tokens(m, tokens, n_prompt ? n_prompt : n_gen, &rng);

    const limit_row *lim = n_prompt ? get_limit(&b->mach, threads, r->level) : get_limit(&b->mach, threads, BN_CPU_AUTO);
    if (lim) {
        r->bound = lim->value;
        r->kernel = lim->kernel;
        r->note = lim->note;
    }
    r->per_token = n_prompt ? pp_ops_per_token(cost) : tg_bytes_per_token(cost, n_gen);

    char test[32];
    fprintf(stderr, "bitnet-bench: %s, %d thread%s, %s ...", cost->name, threads, threads == 1 ? "" : "s",
            test_name(r, test, sizeof test));
    int n_tok = n_prompt ? n_prompt : n_gen;
    double s;
    bn_status st = time_test(ctx, tokens, n_prompt, n_prompt ? 0 : (n_gen < TG_WARMUP_TOKENS ? n_gen : TG_WARMUP_TOKENS),
                             logits, &s);
    double sum = 0;
    for (int i = 0; i < run->reps && st == BN_OK; i++) {
        st = time_test(ctx, tokens, n_prompt, n_gen, logits, &s);
        r->samples[i] = s > 0 ? n_tok / s : 0;
        sum += r->samples[i];
    }
    if (st != BN_OK) {
        fprintf(stderr, "\n");
        return fail("evaluating", path, st);
    }
    r->mean = sum / run->reps;
    double ss = 0;
    for (int i = 0; i < run->reps; i++)
        ss += (r->samples[i] - r->mean) * (r->samples[i] - r->mean);
    r->sd = run->reps > 1 ? sqrt(ss / (run->reps - 1)) : 0;
    fprintf(stderr, " %.2f t/s\n", r->mean);

    if (b->output == OUT_MD) {
        print_md_row(b, r);
    } else if (b->output == OUT_JSONL) {
        print_json_result(b, r, stdout, 1);
        putchar('\n');
        fflush(stdout);
    }
    return 0;
}

static int run_model(bench *b, const bench_run *run, size_t mi)
{
    const char *path = run->models[mi], *where = run->model_where[mi];
    bn_model_params mp;
    bn_model_params_init(&mp);
    mp.cpu_level = run->cpu;
    mp.quantize_head = run->quantize_head;
    bn_model *m = NULL;
    bn_status st = bn_model_open(path, &mp, &m);
    if (st != BN_OK)
        return fail(path, where, st);
    model_cost cost;
    describe_model(m, path, &cost);

    int max_p = bench_ints_max(&run->p), max_n = bench_ints_max(&run->n);
    int max_len = max_p > max_n ? max_p : max_n;
    bn_token *tokens = malloc((size_t)(max_len > 0 ? max_len : 1) * sizeof *tokens);
    float *logits = malloc((size_t)bn_model_n_vocab(m) * sizeof *logits);
    int rc = 0;
    if (!tokens || !logits) {
        fprintf(stderr, "bitnet-bench: out of memory\n");
        rc = -1;
    }
    for (size_t ti = 0; ti < run->t.n && rc == 0; ti++) {
        bn_ctx_params cp;
        bn_ctx_params_init(&cp);
        cp.n_ctx = (uint32_t)(max_len > 0 ? max_len : 1);
        cp.n_threads = run->t.v[ti];
        cp.n_batch = run->n_batch;
        bn_ctx *ctx = NULL;
        if ((st = bn_ctx_new(m, &cp, &ctx)) != BN_OK) {
            rc = fail("creating the context", path, st);
            break;
        }
        for (size_t i = 0; i < run->p.n && rc == 0; i++)
            if (run->p.v[i] > 0)
                rc = run_test(b, run, path, &cost, ctx, run->t.v[ti], run->p.v[i], 0, tokens, logits);
        for (size_t i = 0; i < run->n.n && rc == 0; i++)
            if (run->n.v[i] > 0)
                rc = run_test(b, run, path, &cost, ctx, run->t.v[ti], 0, run->n.v[i], tokens, logits);
        bn_ctx_free(ctx);
    }
    free(tokens);
    free(logits);
    bn_model_free(m);
    return rc;
}

/* ------------------------------------------------------------------ main */

static void print_plan(const bench_run *runs, size_t n_runs)
{
    for (size_t r = 0; r < n_runs; r++) {
        const bench_run *run = &runs[r];
        for (size_t mi = 0; mi < run->n_models; mi++)
            for (size_t ti = 0; ti < run->t.n; ti++)
                for (int kind = 0; kind < 2; kind++) {
                    const bench_ints *lens = kind ? &run->n : &run->p;
                    for (size_t i = 0; i < lens->n; i++)
                        if (lens->v[i] > 0)
                            printf("%s\t%s\t%s%s\tthreads %d\t%s%d\tr %d\n", run->name ? run->name : "-",
                                   run->models[mi], bn_cpu_level_name(run->cpu),
                                   run->quantize_head ? ", q-head" : "", run->t.v[ti], kind ? "tg" : "pp",
                                   lens->v[i], run->reps);
                }
    }
}

/* Every model file can be opened: checked before minutes of measurement. */
static int check_models(const bench_run *runs, size_t n_runs)
{
    for (size_t r = 0; r < n_runs; r++) {
        for (size_t i = 0; i < runs[r].n_models; i++) {
            FILE *f = fopen(runs[r].models[i], "rb");
            if (!f) {
                const char *where = runs[r].model_where[i];
                fprintf(stderr, "bitnet-bench: %s%s%s: cannot open: %s%s\n", where ? where : "", where ? ": " : "",
                        runs[r].models[i], strerror(errno),
                        where ? " (the suite's comments say how to generate its models)" : "");
                return -1;
            }
            fclose(f);
        }
    }
    return 0;
}

static int add_models(bench_run *r, const char *list)
{
    const char *s = list;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len > 0) {
            char *one = malloc(len + 1);
            if (!one)
                return -1;
            memcpy(one, s, len);
            one[len] = '\0';
            int rc = bench_run_add_model(r, one, NULL);
            free(one);
            if (rc != 0)
                return -1;
        }
        if (!s[len])
            return 0;
        s += len + 1;
    }
}

static int default_threads(bench_ints *t)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int max = cpus > 0 ? (int)(cpus < 1024 ? cpus : 1024) : 1;
    char list[256] = "";
    size_t off = 0;
    for (int n = 1; n < max && off < sizeof list - 16; n *= 2)
        off += (size_t)snprintf(list + off, sizeof list - off, "%d,", n);
    snprintf(list + off, sizeof list - off, "%d", max);
    char err[128];
    return bench_ints_parse(t, list, 1, 1024, err, sizeof err);
}

static int parse_one(const char *text, int lo, int hi, int *out, char *err, size_t cap)
{
    bench_ints one = { 0 };
    int bad = bench_ints_parse(&one, text, lo, hi, err, cap);
    if (!bad && one.n != 1)
        bad = snprintf(err, cap, "'%s' is not a single integer", text);
    if (!bad)
        *out = one.v[0];
    free(one.v);
    return bad;
}

/* Parses the command line into run (defaults already set). Returns 0, 1 to
 * exit successfully (help, version), or 2 on a usage error. */
static int parse_args(int argc, char **argv, bench_run *run, int *output, const char **suite, size_t *mem_bytes,
                      int *dry_run)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, argv[0]);
            return 1;
        }
        if (!strcmp(a, "--version")) {
            printf("bitnet-bench (libbitnet %s)\n", bn_version_string());
            return 1;
        }
        if (!strcmp(a, "--quantize-head")) {
            run->quantize_head = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            *dry_run = 1;
            continue;
        }
        static const char *const with_value[] = { "-m", "--model", "-p", "--n-prompt", "-n", "--n-gen", "-t",
                                                   "--threads", "-r", "--repetitions", "-b", "--batch-size",
                                                   "-o", "--output", "--cpu", "--suite", "--mem-mib" };
        size_t k = 0;
        while (k < sizeof with_value / sizeof with_value[0] && strcmp(a, with_value[k]) != 0)
            k++;
        if (k == sizeof with_value / sizeof with_value[0]) {
            fprintf(stderr, "bitnet-bench: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bitnet-bench: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        char err[256] = "";
        int bad = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            bad = add_models(run, v);
        } else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) {
            bad = bench_ints_parse(&run->p, v, 0, 1 << 20, err, sizeof err);
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) {
            bad = bench_ints_parse(&run->n, v, 0, 1 << 20, err, sizeof err);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            bad = bench_ints_parse(&run->t, v, 1, 1024, err, sizeof err);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            bad = parse_one(v, 1, 1000, &run->reps, err, sizeof err);
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            int nb = 0;
            bad = parse_one(v, 1, 1 << 20, &nb, err, sizeof err);
            run->n_batch = (uint32_t)nb;
        } else if (!strcmp(a, "--mem-mib")) {
            int mib = 0;
            bad = parse_one(v, 1, 1 << 20, &mib, err, sizeof err);
            *mem_bytes = (size_t)mib << 20;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!strcmp(v, "md"))
                *output = OUT_MD;
            else if (!strcmp(v, "json"))
                *output = OUT_JSON;
            else if (!strcmp(v, "jsonl"))
                *output = OUT_JSONL;
            else
                bad = snprintf(err, sizeof err, "'%s' is not md, json or jsonl", v);
        } else if (!strcmp(a, "--cpu")) {
            if (ex_parse_cpu_level(v, &run->cpu) != 0)
                bad = snprintf(err, sizeof err, "unknown level '%s' (auto, scalar, avx2, avx512, neon, dotprod)", v);
        } else { /* --suite, the last of with_value */
            *suite = v;
        }
        if (bad) {
            fprintf(stderr, "bitnet-bench: %s: %s\n", a, err[0] ? err : "out of memory");
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_run flags = { 0 }, *runs = NULL;
    size_t n_runs = 0;
    int output = -1, rc = 2;
    const char *suite = NULL;
    char err[1024];
    bench b;
    memset(&b, 0, sizeof b);
    b.mach.mem_bytes = (size_t)1 << 30;
    flags.reps = 3;
    if (bench_ints_parse(&flags.p, "128", 0, 1 << 20, err, sizeof err) != 0 ||
        bench_ints_parse(&flags.n, "128", 0, 1 << 20, err, sizeof err) != 0 || default_threads(&flags.t) != 0) {
        fprintf(stderr, "bitnet-bench: out of memory\n");
        return 1;
    }
    int dry_run = 0;
    int st = parse_args(argc, argv, &flags, &output, &suite, &b.mach.mem_bytes, &dry_run);
    if (st != 0) {
        rc = st == 1 ? 0 : 2;
        goto out;
    }
    if (suite) {
        if (flags.n_models) {
            fprintf(stderr, "bitnet-bench: give models either with -m or in the suite, not both\n");
            goto out;
        }
        if (bench_suite_load(suite, &flags, &runs, &n_runs, err, sizeof err) != 0) {
            fprintf(stderr, "bitnet-bench: %s\n", err);
            goto out;
        }
        if (output < 0)
            output = OUT_JSON;
    } else {
        if (!flags.n_models) {
            fprintf(stderr, "bitnet-bench: no model: give -m MODEL.gguf or --suite FILE.yaml (see --help)\n");
            goto out;
        }
        runs = &flags;
        n_runs = 1;
    }
    b.output = output < 0 ? OUT_MD : output;
    rc = 1;
    if (dry_run) {
        print_plan(runs, n_runs);
        rc = 0;
        goto out;
    }
    if (check_models(runs, n_runs) != 0)
        goto out;
    bench_cpu_name(b.cpu_name, sizeof b.cpu_name);
    time_t now = time(NULL);
    struct tm tmv;
    strftime(b.date, sizeof b.date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));

    /* The machine first, for every thread count, before models take memory. */
    for (size_t r = 0; r < n_runs; r++)
        for (size_t i = 0; i < runs[r].t.n; i++)
            if (!get_limit(&b.mach, runs[r].t.v[i], BN_CPU_AUTO) ||
                (bench_ints_max(&runs[r].p) > 0 && !get_limit(&b.mach, runs[r].t.v[i], expected_level(runs[r].cpu))))
                goto out;
    rc = 0;
    for (size_t r = 0; r < n_runs && rc == 0; r++)
        for (size_t i = 0; i < runs[r].n_models && rc == 0; i++)
            rc = run_model(&b, &runs[r], i) ? 1 : 0;
    if (rc == 0 && b.output == OUT_MD)
        print_md_footer(&b);
    else if (rc == 0 && b.output == OUT_JSON)
        print_json(&b);
out:
    if (runs != &flags) {
        for (size_t r = 0; r < n_runs; r++)
            bench_run_free(&runs[r]);
        free(runs);
    }
    bench_run_free(&flags);
    for (size_t i = 0; i < b.n_results; i++)
        free(b.results[i].samples);
    free(b.results);
    free(b.mach.rows);
    return rc;
}
