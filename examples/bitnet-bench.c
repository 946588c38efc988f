/* bitnet-bench: prompt and generation speed of libbitnet, in the manner of
 * llama.cpp's llama-bench, compared with this machine's own limits measured
 * in the same run:
 *
 *   tg (generation, one token per bn_eval) against memory read bandwidth:
 *       limit t/s = read bytes/s / bytes per token
 *   pp (prompt, all tokens in one bn_eval) against the int8 multiply-add peak:
 *       limit t/s = int8 ops/s / (2 x ternary weights)
 *
 * Either can start at a depth: that many tokens evaluated into the context,
 * untimed, before the timed part (decode with a long history); each
 * repetition goes back to the depth with bn_ctx_truncate.
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

#define TOKEN_SEED 0x6b656e73ull
#define TG_WARMUP_TOKENS 16

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s -m MODEL.gguf [options]\n"
            "       %s --suite FILE.yaml [options]\n"
            "\n"
            "  -m, --model FILE[,FILE]   model to test (repeatable)\n"
            "  -p, --n-prompt N[,N]      prompt lengths; 0 = no prompt test (default 128)\n"
            "  -n, --n-gen N[,N]         generation lengths; 0 = no generation test (default 128)\n"
            "  -d, --n-depth N[,N]       tokens already in the context when each test starts (default 0)\n"
            "  -t, --threads N[,N]       thread counts (default 1, 2, 4, ... up to the CPUs online)\n"
            "  -r, --repetitions N       timed repetitions of each test, after one warm-up (default 3)\n"
            "  -b, --batch-size N        prompt tokens per weight pass (default: the library's)\n"
            "  -o, --output md|json|jsonl  output format (default md; json with --suite)\n"
            "  --cpu LEVEL               kernel level: auto, scalar, avx2, avx512, neon, dotprod\n"
            "  --quantize-head           convert the output head to int8 rows at load\n"
            "  --suite FILE.yaml         run a YAML list of runs (see docs/benchmarks.md);\n"
            "                            the flags above fill in what a run leaves out\n"
            "  --mem-mib N               buffer for the bandwidth measurement (default 1024)\n"
            "  --dry-run                 list the tests and exit, without loading or measuring\n"
            "  --version                 print the library version\n"
            "  -h, --help                show this help\n",
            argv0, argv0);
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

/* One timed pass. Untimed, the context is brought to its first n_depth
 * tokens: with fill, from empty in one call without logits; else by
 * dropping what the previous pass added to them (bn_ctx_truncate), so a
 * deep test fills its depth once, not once a repetition. Then a prompt test
 * evaluates the next n_prompt tokens in one call, a generation test the
 * next n_gen one call each, both with logits. */
static bn_status time_test(bn_ctx *ctx, const bn_token *tokens, int n_depth, int fill, int n_prompt, int n_gen,
                           float *logits, double *seconds)
{
    bn_status st = BN_OK;
    if (fill) {
        bn_ctx_reset(ctx);
        if (n_depth > 0)
            st = bn_eval(ctx, tokens, (size_t)n_depth, NULL);
    } else {
        st = bn_ctx_truncate(ctx, (uint32_t)n_depth);
    }
    tokens += n_depth;
    double t0 = ex_now();
    if (n_prompt > 0 && st == BN_OK)
        st = bn_eval(ctx, tokens, (size_t)n_prompt, logits);
    for (int i = 0; i < n_gen && st == BN_OK; i++)
        st = bn_eval(ctx, &tokens[i], 1, logits);
    *seconds = ex_now() - t0;
    return st;
}

/* ------------------------------------------------------------------- run */

static int fail(const char *what, const char *where, bn_status st)
{
    fprintf(stderr, "bitnet-bench: %s%s%s: %s%s%s\n", where ? where : "", where ? ": " : "", what,
            bn_status_string(st), bn_last_error()[0] ? ": " : "", bn_last_error());
    return -1;
}

static bench_result *new_result(bench_report *b)
{
    bench_result *rs = realloc(b->results, (b->n_results + 1) * sizeof *rs);
    if (!rs)
        return NULL;
    b->results = rs;
    memset(&rs[b->n_results], 0, sizeof *rs);
    return &rs[b->n_results++];
}

/* Runs one test (n_prompt > 0: pp, else tg) at a depth and records it. */
static int run_test(bench_report *b, const bench_run *run, const char *path, const bench_cost *cost, bn_ctx *ctx,
                    int threads, int n_depth, int n_prompt, int n_gen, bn_token *tokens, float *logits)
{
    const bn_model *m = bn_ctx_model(ctx);
    bench_result *r = new_result(b);
    if (!r || !(r->samples = calloc((size_t)run->reps, sizeof *r->samples)) ||
        !(r->limits = calloc((size_t)run->reps + 1, sizeof *r->limits))) {
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
    r->n_depth = n_depth;
    r->reps = run->reps;
    uint64_t rng = TOKEN_SEED;
    random_tokens(m, tokens, n_depth + (n_prompt ? n_prompt : n_gen), &rng);

    const bench_limit *lim = n_prompt ? bench_machine_limit(&b->mach, threads, r->level) : bench_machine_limit(&b->mach, threads, BN_CPU_AUTO);
    if (lim) {
        r->bound = lim->value;
        r->kernel = lim->kernel;
        r->note = lim->note;
    }
    r->per_token = n_prompt ? bench_pp_ops_per_token(cost) : bench_tg_bytes_per_token(cost, n_gen, n_depth);

    char test[48];
    fprintf(stderr, "bitnet-bench: %s, %d thread%s, %s ...", cost->name, threads, threads == 1 ? "" : "s",
            bench_test_name(r, test, sizeof test));
    int n_tok = n_prompt ? n_prompt : n_gen;
    double s;
    bn_status st = time_test(ctx, tokens, n_depth, 1, n_prompt,
                             n_prompt ? 0 : (n_gen < TG_WARMUP_TOKENS ? n_gen : TG_WARMUP_TOKENS), logits, &s);
    /* Each repetition's limit: the mean of the limit measured right before
     * and right after it, as the machine was around it (one measurement
     * serves as the after of one repetition and the before of the next). */
    int remeasure = lim && lim->value > 0 && st == BN_OK;
    double sum = 0, bound_sum = 0;
    if (remeasure)
        r->limits[0] = bench_machine_remeasure(&b->mach, threads, lim->level);
    for (int i = 0; i < run->reps && st == BN_OK; i++) {
        st = time_test(ctx, tokens, n_depth, 0, n_prompt, n_gen, logits, &s);
        r->samples[i] = s > 0 ? n_tok / s : 0;
        sum += r->samples[i];
        if (remeasure) {
            r->limits[i + 1] = bench_machine_remeasure(&b->mach, threads, lim->level);
            bound_sum += bench_rep_limit(r, i);
        }
    }
    if (lim && lim->value > 0)
        r->bound = bound_sum / run->reps;
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

    bench_report_result(b, r);
    return 0;
}

static int run_model(bench_report *b, const bench_run *run, size_t mi)
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
    bench_cost cost;
    bench_describe_model(m, path, &cost);

    int max_p = bench_ints_max(&run->p), max_n = bench_ints_max(&run->n);
    int max_len = (max_p > max_n ? max_p : max_n) + bench_ints_max(&run->d);
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
        for (size_t di = 0; di < run->d.n && rc == 0; di++) {
            int d = run->d.v[di];
            for (size_t i = 0; i < run->p.n && rc == 0; i++)
                if (run->p.v[i] > 0)
                    rc = run_test(b, run, path, &cost, ctx, run->t.v[ti], d, run->p.v[i], 0, tokens, logits);
            for (size_t i = 0; i < run->n.n && rc == 0; i++)
                if (run->n.v[i] > 0)
                    rc = run_test(b, run, path, &cost, ctx, run->t.v[ti], d, 0, run->n.v[i], tokens, logits);
        }
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
                for (size_t di = 0; di < run->d.n; di++)
                    for (int kind = 0; kind < 2; kind++) {
                        const bench_ints *lens = kind ? &run->n : &run->p;
                        for (size_t i = 0; i < lens->n; i++) {
                            if (lens->v[i] <= 0)
                                continue;
                            bench_result test_of = { .n_prompt = kind ? 0 : lens->v[i],
                                                     .n_gen = kind ? lens->v[i] : 0, .n_depth = run->d.v[di] };
                            char test[48];
                            printf("%s\t%s\t%s%s\tthreads %d\t%s\tr %d\n", run->name ? run->name : "-",
                                   run->models[mi], bn_cpu_level_name(run->cpu), run->quantize_head ? ", q-head" : "",
                                   run->t.v[ti], bench_test_name(&test_of, test, sizeof test), run->reps);
                        }
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
                                                   "--threads", "-d", "--n-depth", "-r", "--repetitions", "-b", "--batch-size",
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
        } else if (!strcmp(a, "-d") || !strcmp(a, "--n-depth")) {
            bad = bench_ints_parse(&run->d, v, 0, 1 << 20, err, sizeof err);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            bad = bench_ints_parse(&run->t, v, 1, 1024, err, sizeof err);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            bad = parse_one(v, 1, 1000, &run->reps, err, sizeof err);
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            int nb = 0;
            bad = parse_one(v, 1, BN_MAX_BATCH, &nb, err, sizeof err);
            run->n_batch = (uint32_t)nb;
        } else if (!strcmp(a, "--mem-mib")) {
            int mib = 0;
            bad = parse_one(v, 1, 1 << 20, &mib, err, sizeof err);
            *mem_bytes = (size_t)mib << 20;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!strcmp(v, "md"))
                *output = BENCH_OUT_MD;
            else if (!strcmp(v, "json"))
                *output = BENCH_OUT_JSON;
            else if (!strcmp(v, "jsonl"))
                *output = BENCH_OUT_JSONL;
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
    bench_report b;
    memset(&b, 0, sizeof b);
    b.mach.mem_bytes = (size_t)1 << 30;
    flags.reps = 3;
    if (bench_ints_parse(&flags.p, "128", 0, 1 << 20, err, sizeof err) != 0 ||
        bench_ints_parse(&flags.n, "128", 0, 1 << 20, err, sizeof err) != 0 ||
        bench_ints_parse(&flags.d, "0", 0, 1 << 20, err, sizeof err) != 0 || default_threads(&flags.t) != 0) {
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
            output = BENCH_OUT_JSON;
    } else {
        if (!flags.n_models) {
            fprintf(stderr, "bitnet-bench: no model: give -m MODEL.gguf or --suite FILE.yaml (see --help)\n");
            goto out;
        }
        runs = &flags;
        n_runs = 1;
    }
    b.output = output < 0 ? BENCH_OUT_MD : output;
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
            if (!bench_machine_limit(&b.mach, runs[r].t.v[i], BN_CPU_AUTO) ||
                (bench_ints_max(&runs[r].p) > 0 && !bench_machine_limit(&b.mach, runs[r].t.v[i], expected_level(runs[r].cpu))))
                goto out;
    rc = 0;
    for (size_t r = 0; r < n_runs && rc == 0; r++)
        for (size_t i = 0; i < runs[r].n_models && rc == 0; i++)
            rc = run_model(&b, &runs[r], i) ? 1 : 0;
    if (rc == 0)
        bench_report_finish(&b);
out:
    if (runs != &flags) {
        for (size_t r = 0; r < n_runs; r++)
            bench_run_free(&runs[r]);
        free(runs);
    }
    bench_run_free(&flags);
    for (size_t i = 0; i < b.n_results; i++) {
        free(b.results[i].samples);
        free(b.results[i].limits);
    }
    free(b.results);
    bench_machine_free(&b.mach);
    return rc;
}
