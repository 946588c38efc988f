/* bitnet-bench's figures: what a model costs per token, the limits that
 * implies on this machine, and the markdown and JSON that report them. The
 * formulas are stated here once, next to the text that prints them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* GGUF type numbers of the ternary formats. */
enum { TYPE_TQ1_0 = 34, TYPE_TQ2_0 = 35, TYPE_I2_S = 36 };

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

/* ----------------------------------------------------------------- model */

void bench_describe_model(const bn_model *m, const char *path, bench_cost *c)
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

/* Bytes one generated token reads, averaged over a tg test of n tokens
 * after d in the context: the weights, plus K and V of positions 0..d+i for
 * token i. */
double bench_tg_bytes_per_token(const bench_cost *c, int n, int d)
{
    return (double)c->weight_bytes + (double)c->kv_bytes_per_pos * ((double)d + (n + 1) / 2.0);
}

double bench_pp_ops_per_token(const bench_cost *c)
{
    return 2.0 * (double)c->n_ternary;
}

/* ---------------------------------------------------------------- output */

const char *bench_test_name(const bench_result *r, char *buf, size_t cap)
{
    int len = snprintf(buf, cap, r->n_prompt ? "pp%d" : "tg%d", r->n_prompt ? r->n_prompt : r->n_gen);
    if (r->n_depth > 0 && len > 0 && (size_t)len < cap)
        snprintf(buf + len, cap - (size_t)len, " @ d%d", r->n_depth);
    return buf;
}

static double limit_ts(const bench_result *r)
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

double bench_limit_moved(const bench_result *r)
{
    double moved = 0;
    for (int i = 0; i < r->reps; i++) {
        double a = r->limits[i], b = r->limits[i + 1];
        if (a > 0 && b > 0 && fabs(b - a) / fmin(a, b) > moved)
            moved = fabs(b - a) / fmin(a, b);
    }
    return moved;
}

static void print_md_row(bench_report *b, const bench_result *r)
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
    snprintf(pct, sizeof pct, isfinite(lts) ? "%.1f%%%s" : "-", 100.0 * r->mean / lts,
             bench_limit_moved(r) > BENCH_LIMIT_MOVED ? " ‡" : "");
    printf("| %s | %s | %s | %s%s | %d | %s | %.2f ± %.2f | %s | %s | %s |\n", r->cost.name, size, params,
           bn_cpu_level_name(r->level), r->quantize_head ? ", q-head" : "", r->threads,
           bench_test_name(r, test, sizeof test), r->mean, r->sd, r->n_prompt ? "int8 peak" : "mem bw", lim, pct);
    fflush(stdout);
}

static void print_md_footer(const bench_report *b)
{
    const bench_machine *m = &b->mach;
    printf("\nMachine limits measured at the start of this run (%s, %ld CPUs online, libbitnet %s, %s); each "
           "repetition of a test is compared with the mean of the same limit measured again just before and just "
           "after it (the mean over the repetitions is the test's bound):\n\n", b->cpu_name,
           sysconf(_SC_NPROCESSORS_ONLN), bn_version_string(), b->date);
    printf("| threads | limit | value |\n| ---: | --- | ---: |\n");
    for (size_t i = 0; i < m->n_rows; i++) {
        const bench_limit *row = &m->rows[i];
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
           "averaged over the test (n_layer x 2 x kv_dim x 2 B x (d + (n+1)/2) for a test of n tokens at depth d).\n");
    printf("pp: limit t/s = int8 peak / ops per token, where ops per token = 2 x ternary weights (elements of "
           "the I2_S, TQ1_0 and TQ2_0 tensors; one multiply-add = 2 ops); attention and the output head are "
           "not counted.\n");
    printf("t/s is the mean ± sample standard deviation of the repetitions, after one warm-up.\n");
    for (size_t i = 0; i < b->n_results; i++)
        if (bench_limit_moved(&b->results[i]) > BENCH_LIMIT_MOVED) {
            printf("‡ the limit measured before and after a repetition differed by more than %.0f%%: the machine "
                   "changed speed under the test, and its ratio says little.\n", 100.0 * BENCH_LIMIT_MOVED);
            break;
        }
    printf("\n");
    const char *last = NULL;
    for (size_t i = 0; i < b->n_results; i++) {
        const bench_result *r = &b->results[i];
        if (last && !strcmp(last, r->model))
            continue;
        last = r->model;
        printf("- %s: weights read per token %.2f MiB, KV cache %.1f KiB per position, %.3g ternary weights "
               "(%.3g ops per prompt token)\n",
               r->model, (double)r->cost.weight_bytes / (1024.0 * 1024), (double)r->cost.kv_bytes_per_pos / 1024,
               (double)r->cost.n_ternary, bench_pp_ops_per_token(&r->cost));
    }
}

static void print_json_result(const bench_report *b, const bench_result *r, FILE *f, int with_machine)
{
    char test[48];
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
    fprintf(f,
            ", \"threads\": %d, \"n_batch\": %u, \"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"n_depth\": %d, "
            "\"reps\": %d",
            r->threads, (unsigned)r->n_batch, bench_test_name(r, test, sizeof test), r->n_prompt, r->n_gen, r->n_depth,
            r->reps);
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
    fprintf(f, ", \"samples_%s\": [", r->n_prompt ? "int8_peak_ops_per_s" : "read_bytes_per_s");
    for (int i = 0; i < r->reps; i++) {
        fputs(i ? ", " : "", f);
        json_num(f, r->limits[i] > 0 ? bench_rep_limit(r, i) : NAN);
    }
    fprintf(f, "], \"limits_%s\": [", r->n_prompt ? "int8_peak_ops_per_s" : "read_bytes_per_s");
    for (int i = 0; i <= r->reps; i++) {
        fputs(i ? ", " : "", f);
        json_num(f, r->limits[i] > 0 ? r->limits[i] : NAN);
    }
    fputs("], \"limit_moved\": ", f);
    json_num(f, bench_limit_moved(r));
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

static void print_json(const bench_report *b)
{
    const bench_machine *m = &b->mach;
    printf("{\n  \"libbitnet\": \"%s\",\n  \"date\": \"%s\",\n  \"machine\": {\"cpu\": ", bn_version_string(),
           b->date);
    json_str(stdout, b->cpu_name);
    printf(", \"n_cpus\": %ld, \"best_level\": \"%s\", \"read_buffer_bytes\": %zu,\n    \"limits\": [",
           sysconf(_SC_NPROCESSORS_ONLN), bn_cpu_level_name(bn_cpu_best()), m->mem_bytes);
    for (size_t i = 0; i < m->n_rows; i++) {
        const bench_limit *row = &m->rows[i];
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
           "kv_bytes_per_position * (n_depth + (n_gen + 1) / 2)\",\n");
    printf("    \"pp\": \"limit_ts = int8_peak_ops_per_s / ops_per_token; ops_per_token = 2 * n_ternary\"\n  },\n");
    printf("  \"results\": [");
    for (size_t i = 0; i < b->n_results; i++) {
        printf("%s\n    ", i ? "," : "");
        print_json_result(b, &b->results[i], stdout, 0);
    }
    printf("\n  ]\n}\n");
}

void bench_report_result(bench_report *b, const bench_result *r)
{
    if (b->output == BENCH_OUT_MD) {
        print_md_row(b, r);
    } else if (b->output == BENCH_OUT_JSONL) {
        print_json_result(b, r, stdout, 1);
        putchar('\n');
        fflush(stdout);
    }
}

void bench_report_finish(const bench_report *b)
{
    if (b->output == BENCH_OUT_MD)
        print_md_footer(b);
    else if (b->output == BENCH_OUT_JSON)
        print_json(b);
}
