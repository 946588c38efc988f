/* bitnet-bench's runs: integer lists, run settings, and the YAML suite
 *
 *     - name: 2b4t
 *       models: [/tmp/bench-2b4t.gguf]
 *       p: [128]
 *       n: [128]
 *       t: [1, 2]
 *       r: 3
 *
 * Every error names the file, line and column. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "ex_common.h"

static char *dup_str(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

static int ints_push(bench_ints *l, int v)
{
    int *p = realloc(l->v, (l->n + 1) * sizeof *p);
    if (!p)
        return -1;
    p[l->n++] = v;
    l->v = p;
    return 0;
}

/* Appends the values of "128,256" to out. */
static int ints_append(bench_ints *out, const char *text, int lo, int hi, char *err, size_t cap)
{
    const char *s = text;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < lo || v > hi || (*end && *end != ',')) {
            snprintf(err, cap, "'%s' is not a list of integers from %d to %d", text, lo, hi);
            return -1;
        }
        if (ints_push(out, (int)v) != 0) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        if (!*end)
            return 0;
        s = end + 1;
    }
}

int bench_ints_parse(bench_ints *out, const char *text, int lo, int hi, char *err, size_t cap)
{
    bench_ints l = { 0 };
    if (ints_append(&l, text, lo, hi, err, cap) != 0) {
        free(l.v);
        return -1;
    }
    free(out->v);
    *out = l;
    return 0;
}

int bench_ints_copy(bench_ints *dst, const bench_ints *src)
{
    dst->v = NULL;
    dst->n = 0;
    if (!src->n)
        return 0;
    if (!(dst->v = malloc(src->n * sizeof *dst->v)))
        return -1;
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = src->n;
    return 0;
}

int bench_ints_max(const bench_ints *l)
{
    int m = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] > m)
            m = l->v[i];
    return m;
}

int bench_run_add_model(bench_run *r, const char *path, const char *where)
{
    char **m = realloc(r->models, (r->n_models + 1) * sizeof *m);
    if (!m)
        return -1;
    r->models = m;
    char **w = realloc(r->model_where, (r->n_models + 1) * sizeof *w);
    if (!w)
        return -1;
    r->model_where = w;
    m[r->n_models] = dup_str(path);
    w[r->n_models] = where ? dup_str(where) : NULL;
    if (!m[r->n_models] || (where && !w[r->n_models])) {
        free(m[r->n_models]);
        free(w[r->n_models]);
        return -1;
    }
    r->n_models++;
    return 0;
}

int bench_run_copy_settings(bench_run *dst, const bench_run *src)
{
    memset(dst, 0, sizeof *dst);
    dst->reps = src->reps;
    dst->n_batch = src->n_batch;
    dst->cpu = src->cpu;
    dst->quantize_head = src->quantize_head;
    if ((src->name && !(dst->name = dup_str(src->name))) || bench_ints_copy(&dst->p, &src->p) != 0 ||
        bench_ints_copy(&dst->d, &src->d) != 0 ||
        bench_ints_copy(&dst->n, &src->n) != 0 || bench_ints_copy(&dst->t, &src->t) != 0) {
        bench_run_free(dst);
        return -1;
    }
    return 0;
}

void bench_run_free(bench_run *r)
{
    for (size_t i = 0; i < r->n_models; i++) {
        free(r->models[i]);
        free(r->model_where[i]);
    }
    free(r->models);
    free(r->model_where);
    free(r->name);
    free(r->p.v);
    free(r->n.v);
    free(r->d.v);
    free(r->t.v);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ YAML suite */

#ifdef BN_EXAMPLES_HAVE_YAML

typedef struct suite_reader {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t cap;
} suite_reader;

static int fail_at(const suite_reader *sr, const yaml_node_t *node, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    snprintf(sr->err, sr->cap, "%s:%zu:%zu: %s", sr->path, node->start_mark.line + 1, node->start_mark.column + 1,
             msg);
    return -1;
}

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* A scalar ("1,2" allowed) or a list of scalars, into a fresh list. */
static int read_ints(const suite_reader *sr, const char *key, yaml_node_t *value, int lo, int hi, bench_ints *out)
{
    bench_ints l = { 0 };
    char why[256];
    if (value->type == YAML_MAPPING_NODE) {
        return fail_at(sr, value, "'%s' needs an integer or a list of integers, found %s", key,
                       ex_yaml_node_kind(value));
    }
    if (value->type == YAML_SCALAR_NODE) {
        if (ints_append(&l, scalar(value), lo, hi, why, sizeof why) != 0) {
            free(l.v);
            return fail_at(sr, value, "%s: %s", key, why);
        }
    } else {
        for (yaml_node_item_t *it = value->data.sequence.items.start; it < value->data.sequence.items.top; it++) {
            yaml_node_t *item = yaml_document_get_node(sr->doc, *it);
            if (!item)
                continue;
            if (item->type != YAML_SCALAR_NODE) {
                free(l.v);
                return fail_at(sr, item, "'%s' lists integers, found %s", key, ex_yaml_node_kind(item));
            }
            if (ints_append(&l, scalar(item), lo, hi, why, sizeof why) != 0) {
                free(l.v);
                return fail_at(sr, item, "%s: %s", key, why);
            }
        }
        if (!l.n)
            return fail_at(sr, value, "'%s' is an empty list", key, "");
    }
    free(out->v);
    *out = l;
    return 0;
}

static int read_models(const suite_reader *sr, yaml_node_t *value, bench_run *run)
{
    yaml_node_t *one[1] = { value };
    yaml_node_t **items = one;
    size_t n = 1;
    yaml_node_t **list = NULL;
    if (value->type == YAML_MAPPING_NODE)
        return fail_at(sr, value, "'models' needs a path or a list of paths, found %s", ex_yaml_node_kind(value), "");
    if (value->type == YAML_SEQUENCE_NODE) {
        n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
        if (n == 0)
            return fail_at(sr, value, "'models' is an empty list", "", "");
        if (!(list = calloc(n, sizeof *list)))
            return fail_at(sr, value, "out of memory", "", "");
        for (size_t i = 0; i < n; i++)
            list[i] = yaml_document_get_node(sr->doc, value->data.sequence.items.start[i]);
        items = list;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = items[i];
        if (!item)
            continue;
        if (item->type != YAML_SCALAR_NODE || !*scalar(item) || ex_yaml_is_null(item)) {
            rc = fail_at(sr, item, "'models' lists file paths, found %s",
                         item->type == YAML_SCALAR_NODE && !*scalar(item) ? "an empty value" : ex_yaml_node_kind(item),
                         "");
            break;
        }
        char where[512];
        snprintf(where, sizeof where, "%s:%zu:%zu", sr->path, item->start_mark.line + 1, item->start_mark.column + 1);
        if (bench_run_add_model(run, scalar(item), where) != 0)
            rc = fail_at(sr, item, "out of memory", "", "");
    }
    free(list);
    return rc;
}

static int read_bool(const suite_reader *sr, const char *key, const yaml_node_t *value, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
    if (value->type == YAML_SCALAR_NODE) {
        for (size_t i = 0; i < 4; i++) {
            if (!strcasecmp(scalar(value), yes[i]) || !strcasecmp(scalar(value), no[i])) {
                *out = !strcasecmp(scalar(value), yes[i]);
                return 0;
            }
        }
    }
    return fail_at(sr, value, "'%s' needs true or false, found %s", key,
                   value->type == YAML_SCALAR_NODE ? scalar(value) : ex_yaml_node_kind(value));
}

static int read_run(const suite_reader *sr, yaml_node_t *node, bench_run *run)
{
    if (node->type != YAML_MAPPING_NODE)
        return fail_at(sr, node, "a run must be a mapping (models:, p:, n:, t:, r:), found %s",
                       ex_yaml_node_kind(node), "");
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(sr->doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(sr->doc, pair->value);
        if (!key || !value)
            continue;
        if (key->type != YAML_SCALAR_NODE)
            return fail_at(sr, key, "a run's key must be a name, found %s", ex_yaml_node_kind(key), "");
        const char *k = scalar(key);
        int rc;
        if (!strcmp(k, "models") || !strcmp(k, "model")) {
            rc = read_models(sr, value, run);
        } else if (!strcmp(k, "p")) {
            rc = read_ints(sr, k, value, 0, 1 << 20, &run->p);
        } else if (!strcmp(k, "n")) {
            rc = read_ints(sr, k, value, 0, 1 << 20, &run->n);
        } else if (!strcmp(k, "d")) {
            rc = read_ints(sr, k, value, 0, 1 << 20, &run->d);
        } else if (!strcmp(k, "t")) {
            rc = read_ints(sr, k, value, 1, 1024, &run->t);
        } else if (!strcmp(k, "r") || !strcmp(k, "batch")) {
            bench_ints one = { 0 };
            rc = read_ints(sr, k, value, 1, k[0] == 'r' ? 1000 : BN_MAX_BATCH, &one);
            if (rc == 0 && one.n != 1)
                rc = fail_at(sr, value, "'%s' needs a single integer", k, "");
            if (rc == 0 && k[0] == 'r')
                run->reps = one.v[0];
            else if (rc == 0)
                run->n_batch = (uint32_t)one.v[0];
            free(one.v);
        } else if (!strcmp(k, "cpu")) {
            if (value->type != YAML_SCALAR_NODE || ex_parse_cpu_level(scalar(value), &run->cpu) != 0)
                rc = fail_at(sr, value, "'cpu' needs a kernel level (auto, scalar, avx2, avx512, neon, dotprod), found %s",
                             value->type == YAML_SCALAR_NODE ? scalar(value) : ex_yaml_node_kind(value), "");
            else
                rc = 0;
        } else if (!strcmp(k, "quantize_head")) {
            rc = read_bool(sr, k, value, &run->quantize_head);
        } else if (!strcmp(k, "name")) {
            if (value->type != YAML_SCALAR_NODE)
                return fail_at(sr, value, "'name' needs a single value, found %s", ex_yaml_node_kind(value), "");
            free(run->name);
            rc = (run->name = dup_str(scalar(value))) ? 0 : fail_at(sr, value, "out of memory", "", "");
        } else {
            rc = fail_at(sr, key,
                         "unknown key '%s' (a run has models, p, n, t, r and optionally name, d, batch, cpu, "
                         "quantize_head)", k, "");
        }
        if (rc != 0)
            return rc;
    }
    if (!run->n_models)
        return fail_at(sr, node, "this run names no models (models: [FILE.gguf, ...])", "", "");
    return 0;
}

int bench_suite_load(const char *path, const bench_run *defaults, bench_run **runs, size_t *n_runs, char *err,
                     size_t cap)
{
    yaml_document_t doc;
    *runs = NULL;
    *n_runs = 0;
    if (ex_yaml_load_file(path, &doc, err, cap) != 0)
        return -1;
    suite_reader sr = { path, &doc, err, cap };
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        snprintf(err, cap, "%s: the suite is empty (it should list runs)", path);
        rc = -1;
    } else if (root->type != YAML_SEQUENCE_NODE) {
        rc = fail_at(&sr, root, "a suite is a list of runs (- models: ...), found %s", ex_yaml_node_kind(root), "");
    } else {
        size_t n = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
        bench_run *out = n ? calloc(n, sizeof *out) : NULL;
        if (n && !out) {
            snprintf(err, cap, "%s: out of memory", path);
            rc = -1;
        }
        size_t done = 0;
        for (; rc == 0 && done < n; done++) {
            yaml_node_t *item = yaml_document_get_node(&doc, root->data.sequence.items.start[done]);
            if (bench_run_copy_settings(&out[done], defaults) != 0) {
                snprintf(err, cap, "%s: out of memory", path);
                rc = -1;
            } else if (item) {
                rc = read_run(&sr, item, &out[done]);
            }
            if (rc != 0)
                bench_run_free(&out[done]);
        }
        if (rc == 0 && n == 0) {
            snprintf(err, cap, "%s: the suite lists no runs", path);
            rc = -1;
        }
        if (rc != 0) {
            for (size_t i = 0; i + 1 < done; i++)
                bench_run_free(&out[i]);
            free(out);
        } else {
            *runs = out;
            *n_runs = n;
        }
    }
    yaml_document_delete(&doc);
    return rc;
}

#else

int bench_suite_load(const char *path, const bench_run *defaults, bench_run **runs, size_t *n_runs, char *err,
                     size_t cap)
{
    (void)defaults;
    *runs = NULL;
    *n_runs = 0;
    snprintf(err, cap, "%s: this bitnet-bench was built without libyaml, so --suite is unavailable "
             "(install libyaml-dev and rebuild)", path);
    return -1;
}

#endif
