/* bitnet-bench's pieces: the runs it performs (from flags or a YAML suite,
 * bench_suite.c), the machine limits it compares them with (bench_machine.c),
 * and the per-token costs and reports (bench_report.c). */
#ifndef BITNET_EXAMPLES_BENCH_H
#define BITNET_EXAMPLES_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <bitnet/bitnet.h>

typedef struct bench_ints {
    int *v;
    size_t n;
} bench_ints;

/* One run: every model × thread count × prompt length and generation length. */
typedef struct bench_run {
    char *name;          /* the suite's name for it, or NULL */
    char **models;
    char **model_where;  /* "suite.yaml:LINE:COL" of each model, or NULL entries */
    size_t n_models;
    bench_ints p;        /* prompt lengths; 0 = no prompt test */
    bench_ints n;        /* generation lengths; 0 = no generation test */
    bench_ints d;        /* depths: tokens already in the context when a test starts */
    bench_ints t;        /* thread counts */
    int reps;
    uint32_t n_batch;    /* 0 = the library's default */
    bn_cpu_level cpu;
    int quantize_head;
} bench_run;

/* Parses "128,256" (values in [lo, hi]) into *out, replacing what it held.
 * Returns 0, or -1 with a message in err. */
int bench_ints_parse(bench_ints *out, const char *text, int lo, int hi, char *err, size_t cap);
int bench_ints_copy(bench_ints *dst, const bench_ints *src);
int bench_ints_max(const bench_ints *l);

/* Appends a model path (copied); where may be NULL. Returns 0 or -1 (no memory). */
int bench_run_add_model(bench_run *r, const char *path, const char *where);
/* A deep copy of src's settings without its models. */
int bench_run_copy_settings(bench_run *dst, const bench_run *src);
void bench_run_free(bench_run *r);

/* Loads a suite: a YAML list of runs, each a mapping with the keys models,
 * p, n, t, r (and optionally name, d, batch, cpu, quantize_head). Keys a run
 * leaves out take their values from defaults. Returns 0 with *runs (free
 * each with bench_run_free, then the array), or -1 with "FILE:LINE:COL: ..."
 * in err. */
int bench_suite_load(const char *path, const bench_run *defaults, bench_run **runs, size_t *n_runs, char *err,
                     size_t cap);

/* ------------------------------------------------------- machine limits */

/* Memory read bandwidth in bytes/s with this many threads, each summing its
 * own slice of m's buffer of m->mem_bytes (on huge pages where the system
 * gives them); the best of several passes. 0 on failure (no memory,
 * threads). */
struct bench_machine;
double bench_read_bandwidth(struct bench_machine *m, int threads);

/* Peak int8 multiply-add rate for a kernel level, in ops/s (one multiply-add
 * = 2 ops) with this many threads, from a register-resident loop of the
 * instruction that level's kernels use. Returns 0 and sets *note when the
 * level has no such loop here; *kernel names the instruction measured. */
double bench_int8_peak(bn_cpu_level level, int threads, const char **kernel, const char **note);

/* The CPU's model name (from /proc/cpuinfo), or "unknown". */
void bench_cpu_name(char *buf, size_t cap);

/* ------------------------------------------------- figures and reports */

enum { BENCH_OUT_MD, BENCH_OUT_JSON, BENCH_OUT_JSONL };

typedef struct bench_limit {
    int threads;
    bn_cpu_level level;  /* BN_CPU_AUTO for the bandwidth row */
    double value;        /* read bytes/s, or int8 ops/s (0 = not measured) */
    const char *kernel, *note;
} bench_limit;

typedef struct bench_machine {
    size_t mem_bytes;
    uint8_t *buf;       /* the read buffer, mem_bytes, made at the first measurement */
    bench_limit *rows;
    size_t n_rows;
} bench_machine;

/* What a model costs per token, from its tensor table and hyperparameters. */
typedef struct bench_cost {
    char name[256];
    uint64_t file_bytes;      /* sum of the tensors' stored bytes */
    uint64_t n_params;        /* elements of all tensors */
    uint64_t n_ternary;       /* elements of the I2_S, TQ1_0 and TQ2_0 tensors */
    uint64_t weight_bytes;    /* bn_model_weight_bytes */
    uint64_t kv_bytes_per_pos; /* f16 K and V of one position, all layers */
} bench_cost;

typedef struct bench_result {
    const char *run, *model;
    bench_cost cost;
    bn_cpu_level level;
    int quantize_head, threads, n_prompt, n_gen, n_depth, reps;
    uint32_t n_batch;
    double *samples; /* t/s of each repetition */
    double *limits;  /* the limit measured before the first repetition and after each (reps + 1; 0 = none) */
    double mean, sd;
    double per_token;   /* bytes (tg) or ops (pp) per token */
    double bound;       /* mean of the repetitions' limits (bench_rep_limit): read bytes/s (tg) or int8 ops/s (pp); 0 = none */
    const char *kernel, *note;
} bench_result;

/* Repetition i's limit: the mean of those measured just before and after it. */
static inline double bench_rep_limit(const bench_result *r, int i)
{
    return (r->limits[i] + r->limits[i + 1]) / 2;
}

/* The largest change of the limit across one repetition, relative to the
 * smaller measurement (0 when not measured): above BENCH_LIMIT_MOVED the
 * machine changed speed under the test, and its ratio says little. */
double bench_limit_moved(const bench_result *r);
#define BENCH_LIMIT_MOVED 0.15

typedef struct bench_report {
    int output;
    bench_machine mach;
    bench_result *results;
    size_t n_results;
    char cpu_name[128];
    char date[32];
    int md_header_done;
} bench_report;

/* The limit for (threads, level), measured now if it is new (progress on
 * stderr); NULL only when out of memory. level BN_CPU_AUTO = read bandwidth. */
bench_limit *bench_machine_limit(bench_machine *m, int threads, bn_cpu_level level);
/* The same limit measured again, now, quietly: what a test is compared with
 * (this machine's bandwidth moves by tens of percent within minutes). */
double bench_machine_remeasure(bench_machine *m, int threads, bn_cpu_level level);
/* Frees the read buffer and the limit table. */
void bench_machine_free(bench_machine *m);

/* A model's size and per-token costs, from its tensor table and metadata. */
void bench_describe_model(const bn_model *m, const char *path, bench_cost *c);
/* Bytes one generated token reads, averaged over a tg test of n_gen tokens
 * that starts with n_depth tokens in the context. */
double bench_tg_bytes_per_token(const bench_cost *c, int n_gen, int n_depth);
/* Int8 ops one prompt token costs in the ternary matrix products. */
double bench_pp_ops_per_token(const bench_cost *c);

/* "pp128", "tg128", "tg128 @ d512". */
const char *bench_test_name(const bench_result *r, char *buf, size_t cap);
/* Prints a finished result: a markdown row or a JSON line (nothing for JSON,
 * which is printed whole by bench_report_finish). */
void bench_report_result(bench_report *b, const bench_result *r);
/* Prints the markdown footer (machine limits, formulas) or the JSON document. */
void bench_report_finish(const bench_report *b);

#endif
