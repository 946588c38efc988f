/* Sampler: greedy, filters, seeded determinism, distribution, penalties, and
 * the size-prefixed params protocol. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"

static bn_sampler *make(float temp, int32_t top_k, float top_p, float min_p, uint64_t seed)
{
    bn_gen_params p;
    bn_gen_params_init(&p);
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = seed;
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&p, &s), BN_OK);
    assert_non_null(s);
    return s;
}

static void test_greedy(void **state)
{
    (void)state;
    const float logits[6] = { 0.5f, 3.0f, -1.0f, 2.9f, 3.0f, 0.0f };
    bn_sampler *s = make(0, 40, 0.95f, 0.05f, 1);
    bn_token t = -1;
    assert_int_equal(bn_sampler_sample(s, logits, 6, &t), BN_OK);
    assert_int_equal(t, 1);  /* ties go to the lower id */
    bn_sampler_free(s);
}

static void test_top_k_one_is_greedy(void **state)
{
    (void)state;
    float logits[100];
    for (int i = 0; i < 100; i++)
        logits[i] = sinf((float)i * 0.37f) * 5;
    int best = 0;
    for (int i = 1; i < 100; i++)
        if (logits[i] > logits[best])
            best = i;
    bn_sampler *s = make(1.5f, 1, 1.0f, 0.0f, 7);
    for (int k = 0; k < 50; k++) {
        bn_token t;
        assert_int_equal(bn_sampler_sample(s, logits, 100, &t), BN_OK);
        assert_int_equal(t, best);
    }
    bn_sampler_free(s);
}

static void test_seed_determinism(void **state)
{
    (void)state;
    float logits[50];
    for (int i = 0; i < 50; i++)
        logits[i] = (float)(i % 7) * 0.3f;
    bn_sampler *a = make(1.0f, 0, 1.0f, 0.0f, 42), *b = make(1.0f, 0, 1.0f, 0.0f, 42);
    bn_sampler *c = make(1.0f, 0, 1.0f, 0.0f, 43);
    int differs = 0;
    for (int k = 0; k < 200; k++) {
        bn_token ta, tb, tc;
        assert_int_equal(bn_sampler_sample(a, logits, 50, &ta), BN_OK);
        assert_int_equal(bn_sampler_sample(b, logits, 50, &tb), BN_OK);
        assert_int_equal(bn_sampler_sample(c, logits, 50, &tc), BN_OK);
        assert_int_equal(ta, tb);
        differs += ta != tc;
    }
    assert_true(differs > 50);
    /* reset replays the same sequence */
    bn_sampler_reset(a);
    bn_sampler_reset(b);
    for (int k = 0; k < 20; k++) {
        bn_token ta, tb;
        bn_sampler_sample(a, logits, 50, &ta);
        bn_sampler_sample(b, logits, 50, &tb);
        assert_int_equal(ta, tb);
    }
    bn_sampler_free(a);
    bn_sampler_free(b);
    bn_sampler_free(c);
}

/* With no filters at temperature T, frequencies follow softmax(logits / T). */
static void test_distribution(void **state)
{
    (void)state;
    const float logits[4] = { 1.0f, 2.0f, 0.0f, 1.5f };
    const float T = 0.7f;
    double p[4], z = 0;
    for (int i = 0; i < 4; i++)
        z += p[i] = exp(logits[i] / T);
    bn_sampler *s = make(T, 0, 1.0f, 0.0f, 12345);
    int count[4] = { 0 };
    const int N = 40000;
    for (int k = 0; k < N; k++) {
        bn_token t;
        assert_int_equal(bn_sampler_sample(s, logits, 4, &t), BN_OK);
        assert_true(t >= 0 && t < 4);
        count[t]++;
    }
    for (int i = 0; i < 4; i++) {
        double expect = p[i] / z, got = (double)count[i] / N;
        double sd = sqrt(expect * (1 - expect) / N);
        assert_true(fabs(got - expect) < 5 * sd);
    }
    bn_sampler_free(s);
}

static void test_top_p_min_p(void **state)
{
    (void)state;
    /* softmax ≈ 0.665, 0.245, 0.090 (+ tiny): top_p 0.6 keeps only token 0 */
    const float logits[4] = { 3.0f, 2.0f, 1.0f, -10.0f };
    bn_sampler *s = make(1.0f, 0, 0.6f, 0.0f, 3);
    for (int k = 0; k < 100; k++) {
        bn_token t;
        bn_sampler_sample(s, logits, 4, &t);
        assert_int_equal(t, 0);
    }
    bn_sampler_free(s);
    /* min_p 0.3: tokens with p >= 0.3 * p_max ≈ 0.2 — tokens 0 and 1 only */
    s = make(1.0f, 0, 1.0f, 0.3f, 3);
    int seen[4] = { 0 };
    for (int k = 0; k < 2000; k++) {
        bn_token t;
        bn_sampler_sample(s, logits, 4, &t);
        seen[t]++;
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    assert_int_equal(seen[2], 0);
    assert_int_equal(seen[3], 0);
    bn_sampler_free(s);
}

static void test_repeat_penalty(void **state)
{
    (void)state;
    const float logits[3] = { 2.0f, 1.5f, -1.0f };
    bn_gen_params p;
    bn_gen_params_init(&p);
    p.temperature = 0;
    p.repeat_penalty = 2.0f;  /* 2.0 -> 1.0 < 1.5 */
    p.repeat_last_n = 4;
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&p, &s), BN_OK);
    bn_token t;
    bn_sampler_sample(s, logits, 3, &t);
    assert_int_equal(t, 0);
    bn_sampler_accept(s, 0);
    bn_sampler_accept(s, 0);  /* penalised once, however often it appears */
    bn_sampler_sample(s, logits, 3, &t);
    assert_int_equal(t, 1);
    /* the window forgets: four other tokens push token 0 out */
    for (int i = 0; i < 4; i++)
        bn_sampler_accept(s, 2);
    bn_sampler_sample(s, logits, 3, &t);
    assert_int_equal(t, 0);
    bn_sampler_free(s);
}

static void test_invalid(void **state)
{
    (void)state;
    bn_gen_params p;
    bn_sampler *s = (bn_sampler *)1;
    bn_gen_params_init(&p);
    p.top_p = 0;
    assert_int_equal(bn_sampler_new(&p, &s), BN_E_INVALID_ARG);
    assert_null(s);
    assert_non_null(strstr(bn_last_error(), "top_p"));
    bn_gen_params_init(&p);
    p.temperature = -1;
    assert_int_equal(bn_sampler_new(&p, &s), BN_E_INVALID_ARG);
    bn_gen_params_init(&p);
    p.temperature = NAN;
    assert_int_equal(bn_sampler_new(&p, &s), BN_E_INVALID_ARG);
    assert_int_equal(bn_sampler_new(NULL, NULL), BN_E_INVALID_ARG);
    float l[2] = { 0, 1 };
    bn_token t;
    assert_int_equal(bn_sampler_sample(NULL, l, 2, &t), BN_E_INVALID_ARG);
    /* a stop string that is not UTF-8 could cut a character */
    const char *stops[2] = { "ok", "\xbd" };
    bn_gen_params_init(&p);
    p.stop = stops;
    p.n_stop = 2;
    assert_int_equal(bn_sampler_new(&p, &s), BN_E_INVALID_UTF8);
    assert_non_null(strstr(bn_last_error(), "stop string 1"));
    bn_sampler_free(NULL);
    bn_sampler_accept(NULL, 1);
}

/* Infinite logits: +inf is taken outright (the first of several), -inf is
 * never drawn, all -inf is an error; the sampler never sees NaN sums. */
static void test_infinite_logits(void **state)
{
    (void)state;
    bn_gen_params p;
    bn_gen_params_init(&p);
    p.temperature = 0.8f;
    p.min_p = 0;
    for (int top_k = 0; top_k <= 40; top_k += 40) {
        p.top_k = top_k;
        bn_sampler *s = NULL;
        assert_int_equal(bn_sampler_new(&p, &s), BN_OK);
        float l[64];
        for (int i = 0; i < 64; i++)
            l[i] = (float)(i % 7);
        l[7] = INFINITY;
        bn_token t = -1;
        assert_int_equal(bn_sampler_sample(s, l, 64, &t), BN_OK);
        assert_int_equal(t, 7);
        l[3] = INFINITY;
        assert_int_equal(bn_sampler_sample(s, l, 64, &t), BN_OK);
        assert_int_equal(t, 3);
        for (int i = 0; i < 64; i++)
            l[i] = i == 10 || i == 20 ? 0.0f : -INFINITY;
        for (int k = 0; k < 50; k++) {
            assert_int_equal(bn_sampler_sample(s, l, 64, &t), BN_OK);
            assert_true(t == 10 || t == 20);
        }
        for (int i = 0; i < 64; i++)
            l[i] = -INFINITY;
        assert_int_equal(bn_sampler_sample(s, l, 64, &t), BN_E_INVALID_ARG);
        assert_non_null(strstr(bn_last_error(), "-inf"));
        bn_sampler_free(s);
    }
}

/* A NaN logit is refused by name, greedy or sampled, wherever it lies; a
 * repetition penalty below 1 that takes a finite logit past FLT_MAX makes
 * it +inf, which is then taken outright like a given one. */
static void test_nan_and_penalised_infinity(void **state)
{
    (void)state;
    for (int greedy = 0; greedy <= 1; greedy++) {
        bn_gen_params p;
        bn_gen_params_init(&p);
        p.temperature = greedy ? 0.0f : 0.8f;
        bn_sampler *s = NULL;
        assert_int_equal(bn_sampler_new(&p, &s), BN_OK);
        float l[300];
        for (int at = 0; at < 300; at += 37) {
            for (int i = 0; i < 300; i++)
                l[i] = (float)(i % 11);
            l[at] = NAN;
            bn_token t = -1;
            assert_int_equal(bn_sampler_sample(s, l, 300, &t), BN_E_INVALID_ARG);
            assert_non_null(strstr(bn_last_error(), "NaN"));
        }
        bn_sampler_free(s);

        p.repeat_penalty = 0.5f;
        p.top_k = 0;  /* every candidate, so that a NaN sum would show */
        assert_int_equal(bn_sampler_new(&p, &s), BN_OK);
        for (int i = 0; i < 300; i++)
            l[i] = (float)(i % 11);
        l[200] = 3e38f;  /* 6e38 once penalised: +inf */
        l[250] = 3e38f;
        bn_sampler_accept(s, 250);
        bn_token t = -1;
        assert_int_equal(bn_sampler_sample(s, l, 300, &t), BN_OK);
        assert_int_equal(t, 250);
        bn_sampler_free(s);
    }
}

/* Growth protocol: an older (smaller) struct gets defaults for the rest; a
 * newer (larger) one is accepted only with an all-zero unknown tail. */
static void test_params_size_protocol(void **state)
{
    (void)state;
    struct {
        bn_gen_params p;
        unsigned char future[16];
    } big;
    /* what the init macro does for a struct of a newer header: the caller's
     * size, and zeros where the library has no fields, so that one set by
     * the caller is seen and refused */
    memset(&big, 0xff, sizeof big);
    bn_gen_params_init_sized(&big.p, sizeof big);
    assert_int_equal(big.p.size, sizeof big);
    assert_int_equal(big.p.top_k, 40);
    for (size_t i = 0; i < sizeof big.future; i++)
        assert_int_equal(big.future[i], 0);
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&big.p, &s), BN_OK);
    bn_sampler_free(s);
    big.future[3] = 1;
    assert_int_equal(bn_sampler_new(&big.p, &s), BN_E_INVALID_ARG);

    bn_gen_params old;
    bn_gen_params_init(&old);
    old.size = offsetof(bn_gen_params, temperature) + sizeof old.temperature;
    old.temperature = 0;   /* covered: greedy */
    old.top_k = -5;        /* not covered: must be ignored, not rejected */
    assert_int_equal(bn_sampler_new(&old, &s), BN_OK);
    const float logits[3] = { 0.0f, 1.0f, 0.5f };
    bn_token t;
    bn_sampler_sample(s, logits, 3, &t);
    assert_int_equal(t, 1);
    bn_sampler_free(s);

    old.size = 3;
    assert_int_equal(bn_sampler_new(&old, &s), BN_E_INVALID_ARG);

    bn_gen_params mine;
    bn_gen_params_init(&mine);
    assert_int_equal(mine.size, sizeof mine);
    /* the exported function serves binaries built before the macro: the
     * first ABI's struct, which ends at tokenize_flags */
    (bn_gen_params_init)(&mine);
    assert_int_equal(mine.size, offsetof(bn_gen_params, tokenize_flags) + sizeof mine.tokenize_flags);
    assert_int_equal(mine.tokenize_flags, BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_top_k_one_is_greedy),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_distribution),
        cmocka_unit_test(test_top_p_min_p),
        cmocka_unit_test(test_repeat_penalty),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_infinite_logits),
        cmocka_unit_test(test_nan_and_penalised_infinity),
        cmocka_unit_test(test_params_size_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
