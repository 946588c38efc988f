/* Model open/refusal, metadata, contexts, evaluation invariants and
 * generation through the public API, on models made by
 * tests/make_model_variants.py (directory in BN_TEST_MODELS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"
#include "test_models.h"

static bn_model *open_model(const char *name, bn_cpu_level level)
{
    return open_model_logged(name, level, NULL);
}

static bn_ctx *new_ctx(bn_model *m, uint32_t n_ctx, int threads, uint32_t n_batch)
{
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = n_ctx;
    cp.n_threads = threads;
    cp.n_batch = n_batch;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(m, &cp, &c), BN_OK);
    return c;
}

static void test_valid_model(void **state)
{
    (void)state;
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    assert_int_equal(bn_model_n_vocab(m), 300);
    assert_int_equal(bn_model_n_embd(m), 256);
    assert_int_equal(bn_model_n_layer(m), 2);
    assert_int_equal(bn_model_n_ctx_train(m), 64);
    assert_string_equal(bn_model_arch(m), "bitnet-b1.58");
    int64_t v;
    assert_int_equal(bn_model_meta_int(m, "bitnet-b1.58.block_count", &v), BN_OK);
    assert_int_equal(v, 2);
    double f;
    assert_int_equal(bn_model_meta_float(m, "bitnet-b1.58.rope.freq_base", &f), BN_OK);
    assert_true(f > 1000);
    const char *s;
    size_t len;
    assert_int_equal(bn_model_meta_str(m, "general.architecture", &s, &len), BN_OK);
    assert_int_equal(len, 12);
    assert_memory_equal(s, "bitnet-b1.58", 12);
    assert_int_equal(bn_model_meta_str(m, "bitnet-b1.58.block_count", &s, &len), BN_E_TYPE);
    assert_int_equal(bn_model_meta_int(m, "no.such.key", &v), BN_E_NOT_FOUND);
    assert_non_null(strstr(bn_last_error(), "no.such.key"));
    uint64_t n;
    assert_int_equal(bn_model_meta_array_len(m, "tokenizer.ggml.tokens", &n), BN_OK);
    assert_int_equal(n, 300);
    int64_t nkv = bn_model_meta_count(m);
    assert_true(nkv > 10);
    assert_non_null(bn_model_meta_key(m, 0));
    assert_null(bn_model_meta_key(m, nkv));
    /* 2 layers x 11 tensors + token_embd + output_norm */
    assert_int_equal(bn_model_n_tensors(m), 24);
    int found = 0;
    for (int64_t i = 0; i < bn_model_n_tensors(m); i++) {
        bn_tensor_info ti = { .size = sizeof ti };
        assert_int_equal(bn_model_tensor(m, i, &ti), BN_OK);
        if (!strcmp(ti.name, "blk.0.ffn_down.weight")) {
            found = 1;
            assert_string_equal(ti.type_name, "I2_S");
            assert_int_equal(ti.ne[0], 512);
            assert_int_equal(ti.ne[1], 256);
            assert_int_equal(ti.n_bytes, 512 * 256 / 4 + 32);
        }
    }
    assert_true(found);
    bn_tensor_info ti = { .size = sizeof ti };
    assert_int_equal(bn_model_tensor(m, 99, &ti), BN_E_INVALID_ARG);
    /* per token: ternary bytes + the tied F16 head */
    uint64_t tern = 2 * (256 * 256 * 2 + 256 * 128 * 2 + 256 * 512 * 3) / 4;
    assert_int_equal(bn_model_weight_bytes(m), tern + 300 * 256 * 2);
    bn_model_free(m);
}

static void expect_refusal(const char *name, bn_status want, const char *needle)
{
    bn_model *m = (bn_model *)1;
    bn_status st = bn_model_open(model_path(name), NULL, &m);
    if (st != want)
        fail_msg("%s: status %d (%s), want %d", name, st, bn_last_error(), want);
    assert_null(m);
    if (!strstr(bn_last_error(), needle))
        fail_msg("%s: message '%s' does not name '%s'", name, bn_last_error(), needle);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refusal("missing-tensor.gguf", BN_E_FORMAT, "blk.1.ffn_up.weight");
    expect_refusal("wrong-shape.gguf", BN_E_FORMAT, "blk.0.attn_k.weight");
    expect_refusal("unknown-arch.gguf", BN_E_UNSUPPORTED, "mamba-2");
    expect_refusal("no-arch.gguf", BN_E_FORMAT, "general.architecture");
    expect_refusal("missing-hparam.gguf", BN_E_FORMAT, "block_count");
    expect_refusal("bad-heads.gguf", BN_E_FORMAT, "head_count");
    expect_refusal("fewer-blocks.gguf", BN_E_FORMAT, "blk.1.");
    expect_refusal("huge-blocks.gguf", BN_E_FORMAT, "block_count");  /* not out of memory */
    expect_refusal("huge-ff.gguf", BN_E_FORMAT, "blk.0.ffn_down.weight");
    expect_refusal("arch-int.gguf", BN_E_FORMAT, "general.architecture");
    expect_refusal("one-token.gguf", BN_E_FORMAT, "token_embd.weight");
    expect_refusal("norm-q8.gguf", BN_E_UNSUPPORTED, "output_norm.weight");
    expect_refusal("tq2-mixed-scales.gguf", BN_E_UNSUPPORTED, "blk.0.ffn_gate.weight");
    expect_refusal("tq2-code3.gguf", BN_E_FORMAT, "blk.0.ffn_up.weight': block 3 holds code 3");
    expect_refusal("does-not-exist.gguf", BN_E_IO, "does-not-exist.gguf");
}

static void test_null_handles(void **state)
{
    (void)state;
    bn_model *m = (bn_model *)1;
    assert_int_equal(bn_model_open(NULL, NULL, &m), BN_E_INVALID_ARG);
    assert_null(m);
    assert_int_equal(bn_model_open("x", NULL, NULL), BN_E_INVALID_ARG);
    bn_model_free(NULL);
    assert_int_equal(bn_model_n_vocab(NULL), 0);
    assert_string_equal(bn_model_arch(NULL), "");
    bn_ctx *c = (bn_ctx *)1;
    assert_int_equal(bn_ctx_new(NULL, NULL, &c), BN_E_INVALID_ARG);
    assert_null(c);
    bn_ctx_free(NULL);
    bn_ctx_reset(NULL);
    bn_token t = 1;
    float l[4];
    assert_int_equal(bn_eval(NULL, &t, 1, l), BN_E_INVALID_ARG);
    assert_int_equal(bn_generate(NULL, "x", NULL, NULL, NULL), BN_E_INVALID_ARG);
    bn_model *vm = open_model("valid.gguf", BN_CPU_AUTO);
    bn_ctx *vc = new_ctx(vm, 16, 1, 16);
    assert_int_equal(bn_eval_all(vc, &t, 1, NULL), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "logits"));
    assert_int_equal(bn_ctx_n_past(vc), 0);
    bn_ctx_free(vc);
    /* n_batch's bound: BN_MAX_BATCH is accepted (larger than n_ctx too), one more is refused. */
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = 16;
    cp.n_batch = BN_MAX_BATCH;
    assert_int_equal(bn_ctx_new(vm, &cp, &vc), BN_OK);
    bn_ctx_free(vc);
    cp.n_batch = BN_MAX_BATCH + 1;
    vc = (bn_ctx *)1;
    assert_int_equal(bn_ctx_new(vm, &cp, &vc), BN_E_INVALID_ARG);
    assert_null(vc);
    assert_non_null(strstr(bn_last_error(), "n_batch 4097 is larger than 4096"));
    bn_model_free(vm);
    size_t n;
    assert_int_equal(bn_tokenize(NULL, "x", 1, 0, NULL, 0, &n), BN_E_INVALID_ARG);
    assert_string_equal(bn_status_string(BN_E_CONTEXT_FULL), "context full");
    assert_string_equal(bn_status_string((bn_status)-999), "unknown status");
}

static void test_cpu_levels(void **state)
{
    (void)state;
    bn_model_params mp;
    bn_model_params_init(&mp);
#if defined(__x86_64__)
    mp.cpu_level = BN_CPU_NEON;
#else
    mp.cpu_level = BN_CPU_AVX2;
#endif
    bn_model *m = (bn_model *)1;
    assert_int_equal(bn_model_open(model_path("valid.gguf"), &mp, &m), BN_E_UNSUPPORTED);
    assert_null(m);
    assert_true(bn_cpu_supported(BN_CPU_SCALAR));
    assert_true(bn_cpu_supported(bn_cpu_best()));
    assert_string_equal(bn_cpu_level_name(BN_CPU_SCALAR), "scalar");
}

/* Collects the warnings a model logs. */
static char warned[1024];
static void keep_warning(void *user, int level, const char *msg)
{
    (void)user;
    if (level == BN_LOG_WARN)
        snprintf(warned, sizeof warned, "%s", msg);
}

static void test_context_limits(void **state)
{
    (void)state;
    bn_model_params mp;
    bn_model_params_init(&mp);
    mp.log_fn = keep_warning;
    bn_model *m = NULL;
    assert_int_equal(bn_model_open(model_path("valid.gguf"), &mp, &m), BN_OK);
    /* A context longer than the training context works, with a warning that says so. */
    uint32_t train = (uint32_t)bn_model_n_ctx_train(m);
    bn_ctx *c = new_ctx(m, train, 1, 4);
    assert_string_equal(warned, "");
    bn_ctx_free(c);
    c = new_ctx(m, train + 1, 1, 4);
    assert_int_equal(bn_ctx_n_ctx(c), train + 1);
    assert_non_null(strstr(warned, "training context"));
    bn_ctx_free(c);
    c = new_ctx(m, 8, 1, 4);
    assert_int_equal(bn_ctx_n_ctx(c), 8);
    bn_token toks[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    float *logits = malloc(300 * sizeof *logits);
    assert_int_equal(bn_eval(c, toks, 9, logits), BN_E_CONTEXT_FULL);
    assert_int_equal(bn_ctx_n_past(c), 0);
    assert_int_equal(bn_eval(c, toks, 6, logits), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 6);
    assert_int_equal(bn_eval(c, toks, 3, logits), BN_E_CONTEXT_FULL);
    assert_non_null(strstr(bn_last_error(), "6 of 8"));
    assert_int_equal(bn_eval(c, toks, 2, logits), BN_OK);
    bn_token bad = 300;
    bn_ctx_reset(c);
    assert_int_equal(bn_ctx_n_past(c), 0);
    assert_int_equal(bn_eval(c, &bad, 1, logits), BN_E_INVALID_TOKEN);
    bad = -1;
    assert_int_equal(bn_eval(c, &bad, 1, logits), BN_E_INVALID_TOKEN);
    assert_int_equal(bn_ctx_n_past(c), 0);
    free(logits);
    bn_ctx_free(c);
    bn_model_free(m);
}

/* bn_ctx_truncate rewinds: what follows the kept tokens is evaluated exactly
 * as in a context that never held the dropped ones (same calls, so the same
 * bits), including when the new tokens outnumber the dropped. bn_ctx_discard's
 * refusals and limits (its values: test_engine_vs_reference.py). */
static void test_truncate_and_discard(void **state)
{
    (void)state;
    static const bn_token a[5] = { 5, 77, 203, 9, 150 }, b[3] = { 31, 299, 0 }, cc[6] = { 42, 8, 120, 7, 150, 1 };
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    int32_t V = bn_model_n_vocab(m);
    float *want = malloc(6 * (size_t)V * sizeof *want), *got = malloc(6 * (size_t)V * sizeof *got);
    float *lb = malloc((size_t)V * sizeof *lb), *lb2 = malloc((size_t)V * sizeof *lb2);
    bn_ctx *fresh = new_ctx(m, 16, 2, 2), *c = new_ctx(m, 16, 2, 2);
    assert_int_equal(bn_eval(fresh, a, 5, NULL), BN_OK);
    assert_int_equal(bn_eval_all(fresh, cc, 6, want), BN_OK);
    assert_int_equal(bn_eval(c, a, 5, NULL), BN_OK);
    assert_int_equal(bn_eval(c, b, 3, lb), BN_OK);
    /* refused: more than the context holds, and a NULL context; nothing changes */
    assert_int_equal(bn_ctx_truncate(c, 9), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "cannot keep 9 tokens, the context holds 8"));
    assert_int_equal(bn_ctx_truncate(NULL, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_n_past(c), 8);
    assert_int_equal(bn_ctx_truncate(c, 8), BN_OK);  /* keeping everything is allowed */
    assert_int_equal(bn_ctx_truncate(c, 5), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 5);
    assert_int_equal(bn_eval_all(c, cc, 6, got), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 11);
    assert_memory_equal(got, want, 6 * (size_t)V * sizeof *got);
    /* back again to the dropped tokens: they are evaluated as the first time */
    assert_int_equal(bn_ctx_truncate(c, 5), BN_OK);
    assert_int_equal(bn_eval(c, b, 3, lb2), BN_OK);
    assert_memory_equal(lb2, lb, (size_t)V * sizeof *lb);
    /* and to nothing: as a reset */
    assert_int_equal(bn_ctx_truncate(c, 0), BN_OK);
    assert_int_equal(bn_eval(c, a, 5, NULL), BN_OK);
    assert_int_equal(bn_eval_all(c, cc, 6, got), BN_OK);
    assert_memory_equal(got, want, 6 * (size_t)V * sizeof *got);
    /* bn_ctx_discard: refusals; nothing moved (the tail, or n = 0) is a truncation */
    assert_int_equal(bn_ctx_n_past(c), 11);
    assert_int_equal(bn_ctx_discard(c, 5, 7), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "cannot discard 7 tokens from position 5, the context holds 11"));
    assert_int_equal(bn_ctx_discard(c, 12, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_discard(NULL, 0, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_discard(c, 11, 0), BN_OK);
    assert_int_equal(bn_ctx_discard(c, 3, 0), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 11);
    assert_int_equal(bn_ctx_discard(c, 5, 6), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 5);
    assert_int_equal(bn_eval(c, b, 3, lb2), BN_OK);
    assert_memory_equal(lb2, lb, (size_t)V * sizeof *lb);
    /* a full context makes room: 8 of 16 held, 9 do not fit until 4 are discarded */
    bn_token nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    assert_int_equal(bn_eval(c, nine, 9, NULL), BN_E_CONTEXT_FULL);
    assert_int_equal(bn_ctx_discard(c, 1, 4), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 4);
    assert_int_equal(bn_eval(c, nine, 9, lb2), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 13);
    /* the logits differ from a context without the prefix: the kept cache counts */
    assert_int_equal(bn_ctx_truncate(c, 0), BN_OK);
    assert_int_equal(bn_eval_all(c, cc, 6, got), BN_OK);
    assert_memory_not_equal(got, want, 6 * (size_t)V * sizeof *got);
    bn_ctx_free(fresh);
    bn_ctx_free(c);
    free(want);
    free(got);
    free(lb);
    free(lb2);
    bn_model_free(m);
}

/* A saved state restores exactly: evaluation goes on bit for bit as in the
 * saved context, in a context of another length, thread count and kernel
 * level; every truncation, a foreign header and another model are refused
 * with the context unchanged. */
static void test_state(void **state)
{
    (void)state;
    static const bn_token a[5] = { 5, 77, 203, 9, 150 }, b[4] = { 42, 8, 120, 7 };
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO), *ms = open_model("valid.gguf", BN_CPU_SCALAR);
    bn_model *other = open_model("kv5.gguf", BN_CPU_AUTO);
    int32_t V = bn_model_n_vocab(m);
    float *want = malloc(4 * (size_t)V * sizeof *want), *got = malloc(4 * (size_t)V * sizeof *got);
    bn_ctx *c = new_ctx(m, 16, 1, 64), *r = new_ctx(ms, 32, 2, 3), *small = new_ctx(m, 4, 1, 4);
    bn_ctx *o = new_ctx(other, 16, 1, 4);
    assert_int_equal(bn_eval(c, a, 5, NULL), BN_OK);
    const size_t size = bn_ctx_state_size(c);
    /* header, then K and V rows: 2 layers x 2 K/V heads x 5 positions x 64 x f16 */
    assert_int_equal(size, 40 + 2 * 2 * 2 * 5 * 64 * 2);
    assert_int_equal(bn_ctx_state_size(NULL), 0);
    uint8_t *buf = malloc(size + 1);
    size_t n = 0;
    assert_int_equal(bn_ctx_state_save(c, buf, size - 1, &n), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, size);
    assert_int_equal(bn_ctx_state_save(c, NULL, 0, &n), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(bn_ctx_state_save(c, buf, size, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_state_save(NULL, buf, size, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_state_save(c, buf, size + 1, &n), BN_OK);
    assert_int_equal(n, size);
    assert_int_equal(bn_eval_all(c, b, 4, want), BN_OK);
    /* restored into another length, thread count, batch and kernel level */
    assert_int_equal(bn_eval(r, b, 2, NULL), BN_OK);
    assert_int_equal(bn_ctx_state_load(r, buf, size), BN_OK);
    assert_int_equal(bn_ctx_n_past(r), 5);
    assert_int_equal(bn_eval_all(r, b, 4, got), BN_OK);
    assert_memory_equal(got, want, 4 * (size_t)V * sizeof *got);
    /* refusals leave the context as it was */
    for (size_t len = 0; len < size; len++) {
        bn_status st = bn_ctx_state_load(r, buf, len);
        if (st != BN_E_FORMAT)
            fail_msg("a state cut to %zu of %zu bytes: status %d (%s)", len, size, st, bn_last_error());
    }
    assert_int_equal(bn_ctx_state_load(r, buf, size + 1), BN_E_FORMAT);
    assert_non_null(strstr(bn_last_error(), "takes 5160 bytes, not 5161"));
    assert_int_equal(bn_ctx_n_past(r), 9);
    assert_int_equal(bn_ctx_state_load(NULL, buf, size), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_state_load(r, NULL, size), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_state_load(small, buf, size), BN_E_CONTEXT_FULL);
    assert_non_null(strstr(bn_last_error(), "holds 5 tokens, the context 4"));
    assert_int_equal(bn_ctx_state_load(o, buf, size), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "2 layers x 2 K/V heads of 64, this one has 2 x 5 of 64"));
    uint8_t *bad = malloc(size);
    memcpy(bad, buf, size);
    bad[0] = 'X';
    assert_int_equal(bn_ctx_state_load(r, bad, size), BN_E_FORMAT);
    memcpy(bad, buf, size);
    bad[4] = 2;  /* format version */
    assert_int_equal(bn_ctx_state_load(r, bad, size), BN_E_FORMAT);
    assert_non_null(strstr(bn_last_error(), "version 2"));
    memcpy(bad, buf, size);
    bad[24] ^= 1;  /* the fingerprint: another model of the same shape */
    assert_int_equal(bn_ctx_state_load(r, bad, size), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "another model"));
    assert_int_equal(bn_ctx_n_past(r), 9);
    /* any body is safe to evaluate: every K and V value NaN, then infinite */
    for (uint16_t fill = 0x7e00; fill; fill = fill == 0x7e00 ? 0x7c00 : 0) {
        memcpy(bad, buf, size);
        for (size_t i = 40; i + 1 < size; i += 2)
            memcpy(bad + i, &fill, 2);
        assert_int_equal(bn_ctx_state_load(r, bad, size), BN_OK);
        assert_int_equal(bn_eval(r, b, 1, got), BN_OK);
        assert_int_equal(bn_ctx_n_past(r), 6);
    }
    /* an empty context saves and restores as empty */
    bn_ctx_reset(c);
    assert_int_equal(bn_ctx_state_save(c, buf, size, &n), BN_OK);
    assert_int_equal(n, 40);
    assert_int_equal(bn_ctx_state_load(r, buf, n), BN_OK);
    assert_int_equal(bn_ctx_n_past(r), 0);
    free(bad);
    free(buf);
    free(want);
    free(got);
    bn_ctx_free(c);
    bn_ctx_free(r);
    bn_ctx_free(small);
    bn_ctx_free(o);
    bn_model_free(m);
    bn_model_free(ms);
    bn_model_free(other);
}

/* Logits of a fixed sequence, evaluated with the given batch and threads. */
static float *run(bn_model *m, int threads, uint32_t n_batch, int one_by_one)
{
    enum { N = 12 };
    static const bn_token toks[N] = { 5, 77, 203, 9, 150, 150, 31, 299, 0, 42, 8, 120 };
    int32_t V = bn_model_n_vocab(m);
    float *all = malloc((size_t)N * V * sizeof *all);
    bn_ctx *c = new_ctx(m, 32, threads, n_batch);
    if (one_by_one) {
        for (int i = 0; i < N; i++)
            assert_int_equal(bn_eval(c, &toks[i], 1, all + (size_t)i * V), BN_OK);
    } else {
        assert_int_equal(bn_eval_all(c, toks, N, all), BN_OK);
    }
    bn_ctx_free(c);
    return all;
}

/* run()'s logits are real values: nearly all of them nonzero. */
static void assert_mostly_nonzero(const float *a)
{
    int nonzero = 0;
    for (size_t i = 0; i < 12 * 300; i++)
        nonzero += a[i] != 0;
    assert_true(nonzero > 12 * 290);
}

/* Every token's computation is the same whatever the batching and threads:
 * per-token quantization, exact integer dots, row-split work. Three and four
 * threads are more than the model's two K/V heads, so decode's attention
 * cuts each K/V group in parts there. */
static void test_batch_and_thread_invariance(void **state)
{
    (void)state;
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    size_t bytes = 12 * 300 * sizeof(float);
    float *a = run(m, 1, 64, 0), *b = run(m, 1, 1, 1), *c = run(m, 2, 5, 0), *d = run(m, 2, 64, 1);
    float *e = run(m, 3, 64, 1), *f = run(m, 4, 7, 1);
    assert_memory_equal(a, b, bytes);
    assert_memory_equal(a, c, bytes);
    assert_memory_equal(a, d, bytes);
    assert_memory_equal(a, e, bytes);
    assert_memory_equal(a, f, bytes);
    assert_mostly_nonzero(a);
    /* the last row of bn_eval equals the last row of bn_eval_all */
    bn_ctx *cx = new_ctx(m, 32, 1, 64);
    static const bn_token toks[12] = { 5, 77, 203, 9, 150, 150, 31, 299, 0, 42, 8, 120 };
    float last[300];
    assert_int_equal(bn_eval(cx, toks, 12, last), BN_OK);
    assert_memory_equal(last, a + 11 * 300, sizeof last);
    bn_ctx_free(cx);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
    bn_model_free(m);
}

/* Decode on 2, 3 and 4 threads with five K/V heads (2B-4T's count), which
 * the threads share out unevenly: the same logits as one thread. */
static void test_thread_invariance_kv5(void **state)
{
    (void)state;
    bn_model *m = open_model("kv5.gguf", BN_CPU_AUTO);
    size_t bytes = 12 * 300 * sizeof(float);
    float *a = run(m, 1, 64, 1);
    for (int threads = 2; threads <= 4; threads++) {
        float *b = run(m, threads, 64, 1);
        assert_memory_equal(a, b, bytes);
        free(b);
    }
    assert_mostly_nonzero(a);
    free(a);
    bn_model_free(m);
}

/* Code 3 reads as weight 0 (as bitnet.cpp reads it), so rewriting every 0
 * weight's code 1 to 3 changes nothing; I2_S and TQ2_0 holding the same
 * weights give the same logits. */
static void test_code3_and_types(void **state)
{
    (void)state;
    bn_model *a = open_model("valid.gguf", BN_CPU_AUTO), *b = open_model("code3.gguf", BN_CPU_AUTO);
    bn_model *t = open_model("valid-tq2.gguf", BN_CPU_AUTO);
    float *la = run(a, 1, 64, 0), *lb = run(b, 1, 64, 0), *lt = run(t, 1, 64, 0);
    assert_memory_equal(la, lb, 12 * 300 * sizeof(float));
    assert_memory_equal(la, lt, 12 * 300 * sizeof(float));
    free(la);
    free(lb);
    free(lt);
    bn_model_free(a);
    bn_model_free(b);
    bn_model_free(t);
}

/* Two files of the same model give the same logits, bit for bit. */
static void expect_same_logits(const char *name_a, const char *name_b)
{
    bn_model *a = open_model(name_a, BN_CPU_AUTO), *b = open_model(name_b, BN_CPU_AUTO);
    float *la = run(a, 1, 64, 0), *lb = run(b, 1, 64, 0);
    assert_memory_equal(la, lb, 12 * 300 * sizeof(float));
    assert_mostly_nonzero(la);
    free(la);
    free(lb);
    bn_model_free(a);
    bn_model_free(b);
}

/* Norms stored as F16 or BF16 give the logits of the same values stored as
 * F32 (the layers' norms are converted into the weight arena, the output
 * norm into a buffer of its own). */
static void test_norm_types(void **state)
{
    (void)state;
    expect_same_logits("norm-f16.gguf", "norm-f16-as-f32.gguf");
    expect_same_logits("norm-bf16.gguf", "norm-bf16-as-f32.gguf");
}

/* A file read into memory gives the logits a mapped one does, with the head
 * as stored and quantized at load: the loader gives back the pages of what
 * it copied, and a tied embedding still reads the head's rows afterwards. */
static void test_read_and_mapped_agree(void **state)
{
    (void)state;
    for (int qh = 0; qh <= 1; qh++) {
        float *got[2];
        for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
            bn_model_params mp;
            bn_model_params_init(&mp);
            mp.use_mmap = use_mmap;
            mp.quantize_head = qh;
            bn_model *m = NULL;
            assert_int_equal(bn_model_open(model_path("valid.gguf"), &mp, &m), BN_OK);
            got[use_mmap] = run(m, 1, 64, 0);
            bn_model_free(m);
        }
        assert_memory_equal(got[0], got[1], 12 * 300 * sizeof(float));
        int nonzero = 0;
        for (size_t i = 0; i < 12 * 300; i++)
            nonzero += got[0][i] != 0;
        assert_true(nonzero > 12 * 290);
        free(got[0]);
        free(got[1]);
    }
}

/* A file with general.alignment = 1, its tensors (the F32 norms among them)
 * at offsets that are not multiples of 4, gives the logits of the same
 * model aligned (the sanitizer build sees any misaligned read). */
static void test_unaligned_file(void **state)
{
    (void)state;
    expect_same_logits("valid.gguf", "align1.gguf");
}

/* Every kernel level the CPU has gives bit-identical logits to scalar. */
static void test_levels_agree(void **state)
{
    (void)state;
    bn_model *s = open_model("valid.gguf", BN_CPU_SCALAR);
    float *ref = run(s, 1, 64, 0);
    for (int l = BN_CPU_AVX2; l <= BN_CPU_DOTPROD; l++) {
        if (!bn_cpu_supported((bn_cpu_level)l))
            continue;
        bn_model *m = open_model("valid.gguf", (bn_cpu_level)l);
        assert_int_equal(bn_model_cpu_level(m), l);
        float *got = run(m, 2, 7, 0);
        assert_memory_equal(ref, got, 12 * 300 * sizeof(float));
        free(got);
        bn_model_free(m);
    }
    free(ref);
    bn_model_free(s);
}

typedef struct collect {
    char text[4096];
    size_t len;
    int calls, stop_after;
} collect;

static int on_piece(void *user, bn_token tok, const char *piece, size_t len)
{
    collect *c = user;
    (void)tok;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, piece, len);
        c->len += len;
    }
    c->calls++;
    return c->stop_after && c->calls >= c->stop_after;
}

/* Greedy generation of at most n_predict tokens, the other parameters default. */
static bn_gen_params greedy(int32_t n_predict)
{
    bn_gen_params gp;
    bn_gen_params_init(&gp);
    gp.temperature = 0;
    gp.n_predict = n_predict;
    return gp;
}

static void test_generate(void **state)
{
    (void)state;
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    bn_gen_params gp = greedy(20);
    collect a = { 0 }, b = { 0 }, s = { 0 };
    bn_ctx *c1 = new_ctx(m, 64, 1, 64), *c2 = new_ctx(m, 64, 2, 3);
    assert_int_equal(bn_generate(c1, "hello world", &gp, on_piece, &a), BN_OK);
    assert_int_equal(bn_generate(c2, "hello world", &gp, on_piece, &b), BN_OK);
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.text, b.text, a.len);
    assert_true(a.calls <= 20);
    /* sampling with a seed is reproducible across thread counts */
    gp.temperature = 1.0f;
    gp.seed = 99;
    collect x = { 0 }, y = { 0 };
    bn_ctx_reset(c1);
    bn_ctx_reset(c2);
    assert_int_equal(bn_generate(c1, "hello", &gp, on_piece, &x), BN_OK);
    assert_int_equal(bn_generate(c2, "hello", &gp, on_piece, &y), BN_OK);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.text, y.text, x.len);
    /* the callback stops generation; the context keeps the three tokens it saw */
    bn_ctx_reset(c1);
    s.stop_after = 3;
    gp.temperature = 0;
    assert_int_equal(bn_generate(c1, "hello world", &gp, on_piece, &s), BN_OK);
    assert_int_equal(s.calls, 3);
    size_t n_prompt = 0;
    assert_int_equal(bn_tokenize(m, "hello world", 11, gp.tokenize_flags, NULL, 0, &n_prompt), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(bn_ctx_n_past(c1), n_prompt + 3);
    /* and a successful call leaves the thread's last error alone */
    assert_int_equal(bn_eval(c1, NULL, 1, NULL), BN_E_INVALID_ARG);
    char before[256];
    snprintf(before, sizeof before, "%s", bn_last_error());
    collect u = { 0 };
    assert_int_equal(bn_generate(c1, " more", &gp, on_piece, &u), BN_OK);
    assert_string_equal(bn_last_error(), before);
    /* a stop string taken from the greedy text ends output right before it */
    if (a.len > 6) {
        char stop[3] = { a.text[4], a.text[5], 0 };
        const char *stops[1] = { stop };
        const char *first = strstr(a.text, stop);
        size_t want = (size_t)(first - a.text);
        gp.stop = stops;
        gp.n_stop = 1;
        collect t = { 0 };
        bn_ctx_reset(c1);
        assert_int_equal(bn_generate(c1, "hello world", &gp, on_piece, &t), BN_OK);
        assert_int_equal(t.len, want);
        assert_memory_equal(t.text, a.text, want);
    }
    /* a prompt that cannot fit is refused before anything is evaluated */
    bn_ctx *small = new_ctx(m, 4, 1, 64);
    gp.stop = NULL;
    gp.n_stop = 0;
    assert_int_equal(bn_generate(small, "one two three four five six seven", &gp, on_piece, &s), BN_E_CONTEXT_FULL);
    assert_int_equal(bn_ctx_n_past(small), 0);
    bn_ctx_free(small);
    bn_ctx_free(c1);
    bn_ctx_free(c2);
    bn_model_free(m);
}

/* The token whose piece is exactly the byte string s, or -1. */
static bn_token token_of(const bn_model *m, const char *s)
{
    for (bn_token t = 0; t < bn_model_n_vocab(m); t++) {
        char piece[16];
        size_t len;
        if (bn_token_to_piece(m, t, 0, piece, sizeof piece, &len) == BN_OK && len == strlen(s) &&
            !memcmp(piece, s, len))
            return t;
    }
    return -1;
}

/* bn_ctx_token_text streams whole characters: a lead byte waits for the
 * rest, a reset forgets it, a flush turns it into U+FFFD. */
static void test_token_text(void **state)
{
    (void)state;
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    bn_ctx *c = new_ctx(m, 16, 1, 16);
    bn_token lead = token_of(m, "\xe4"), cont = token_of(m, "\xb8"), a = token_of(m, "A");
    assert_true(lead >= 0 && cont >= 0 && a >= 0);  /* the generated vocabulary has every byte */
    char buf[16];
    size_t len = 99;
    assert_int_equal(bn_ctx_token_text(c, lead, buf, 0, &len), BN_E_BUFFER_TOO_SMALL);
    assert_true(len > 0 && len <= sizeof buf);
    assert_int_equal(bn_ctx_token_text(c, lead, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 0);
    assert_int_equal(bn_ctx_token_text(c, cont, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 0);
    assert_int_equal(bn_ctx_token_text(c, cont, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "\xe4\xb8\xb8", 3);
    /* a reset forgets a pending lead byte */
    assert_int_equal(bn_ctx_token_text(c, lead, buf, sizeof buf, &len), BN_OK);
    bn_ctx_reset(c);
    assert_int_equal(bn_ctx_token_text(c, a, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 1);
    assert_int_equal(buf[0], 'A');
    /* a flush ends an unfinished character as U+FFFD */
    assert_int_equal(bn_ctx_token_text(c, lead, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(bn_ctx_token_text(c, -1, buf, sizeof buf, &len), BN_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
    assert_int_equal(bn_ctx_token_text(c, bn_model_n_vocab(m), buf, sizeof buf, &len), BN_E_INVALID_TOKEN);
    bn_ctx_free(c);
    bn_model_free(m);
}

/* K rows of positions [0, n) of every layer and K/V head, from a saved state. */
static uint16_t *kept_rows(bn_ctx *c, uint32_t n, size_t *count)
{
    size_t size = bn_ctx_state_size(c), got = 0;
    uint8_t *st = malloc(size);
    assert_int_equal(bn_ctx_state_save(c, st, size, &got), BN_OK);
    uint32_t n_past = bn_ctx_n_past(c), d = 64, heads = 2 * 2;  /* valid.gguf: 2 layers x 2 K/V heads of 64 */
    *count = (size_t)heads * n * d;
    uint16_t *k = malloc(*count * sizeof *k);
    for (uint32_t h = 0; h < heads; h++)
        memcpy(k + (size_t)h * n * d, st + 40 + (size_t)h * 2 * n_past * d * 2, (size_t)n * d * 2);
    free(st);
    return k;
}

/* bn_generate with context_shift goes on past a full context, keeping the
 * first n_keep tokens' cache rows exactly (-1: the prompt; 0: BOS). */
static void test_generate_context_shift(void **state)
{
    (void)state;
    bn_model *m = open_model("valid.gguf", BN_CPU_AUTO);
    bn_gen_params gp = greedy(40);
    bn_ctx *c = new_ctx(m, 16, 1, 16), *p = new_ctx(m, 16, 1, 16);
    size_t n_prompt = 0;
    assert_int_equal(bn_tokenize(m, "hello world", 11, gp.tokenize_flags, NULL, 0, &n_prompt), BN_E_BUFFER_TOO_SMALL);
    bn_gen_params prompt_only = gp;
    prompt_only.n_predict = 0;
    assert_int_equal(bn_generate(p, "hello world", &prompt_only, NULL, NULL), BN_OK);
    assert_int_equal(bn_ctx_n_past(p), n_prompt);
    size_t nk;
    uint16_t *want = kept_rows(p, (uint32_t)n_prompt, &nk);
    collect a = { 0 }, b = { 0 };
    assert_int_equal(bn_generate(c, "hello world", &gp, on_piece, &a), BN_OK);
    assert_int_equal(bn_ctx_n_past(c), 16);  /* full: generation ended */
    assert_true(a.calls < 40);
    for (int keep = -1; keep <= 0; keep++) {
        bn_ctx_reset(c);
        gp.context_shift = 1;
        gp.n_keep = keep;
        memset(&b, 0, sizeof b);
        assert_int_equal(bn_generate(c, "hello world", &gp, on_piece, &b), BN_OK);
        assert_int_equal(b.calls, 40);  /* all of n_predict (without the shift: a.calls, 8) */
        /* the kept start is bit for bit the prompt's (keep -1) or BOS's (0) */
        size_t n_got;
        uint32_t n_kept = keep < 0 ? (uint32_t)n_prompt : 1;
        uint16_t *got = kept_rows(c, n_kept, &n_got);
        for (uint32_t h = 0; h < 4; h++)
            assert_memory_equal(got + (size_t)h * n_kept * 64, want + (size_t)h * n_prompt * 64, (size_t)n_kept * 64 * 2);
        free(got);
    }
    gp.context_shift = 2;
    assert_int_equal(bn_generate(c, "x", &gp, NULL, NULL), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "context_shift 2 must be 0 or 1"));
    gp.context_shift = 1;
    gp.n_keep = -2;
    assert_int_equal(bn_generate(c, "x", &gp, NULL, NULL), BN_E_INVALID_ARG);
    free(want);
    bn_ctx_free(c);
    bn_ctx_free(p);
    bn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_model),
        cmocka_unit_test(test_token_text),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_null_handles),
        cmocka_unit_test(test_cpu_levels),
        cmocka_unit_test(test_context_limits),
        cmocka_unit_test(test_truncate_and_discard),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_batch_and_thread_invariance),
        cmocka_unit_test(test_thread_invariance_kv5),
        cmocka_unit_test(test_code3_and_types),
        cmocka_unit_test(test_norm_types),
        cmocka_unit_test(test_levels_agree),
        cmocka_unit_test(test_read_and_mapped_agree),
        cmocka_unit_test(test_unaligned_file),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_context_shift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
