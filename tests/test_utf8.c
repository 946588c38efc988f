/* UTF-8: decoding and validation edge cases, and the streaming decoder:
 * characters split at every point, U+FFFD per maximal invalid subpart, and
 * random input fed in random chunks giving the same text as one feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

static void test_decode(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(bn_utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(bn_utf8_decode("\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(bn_utf8_decode("\xE2\x82\xAC", 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(bn_utf8_decode("\xF0\x9F\xA6\x99", 4, &cp), 4);
    assert_int_equal(cp, 0x1F999);
    assert_int_equal(bn_utf8_decode("\xF4\x8F\xBF\xBF", 4, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(bn_utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0);  /* above U+10FFFF */
    assert_int_equal(bn_utf8_decode("\xED\xA0\x80", 3, &cp), 0);      /* surrogate */
    assert_int_equal(bn_utf8_decode("\xE0\x9F\xBF", 3, &cp), 0);      /* overlong */
    assert_int_equal(bn_utf8_decode("\xC1\xBF", 2, &cp), 0);          /* overlong */
    assert_int_equal(bn_utf8_decode("\xC3", 1, &cp), 0);              /* truncated */
    assert_int_equal(bn_utf8_decode("\x80", 1, &cp), 0);              /* stray continuation */
    assert_int_equal(bn_utf8_decode("\xF8\x88\x80\x80\x80", 5, &cp), 0);
    assert_int_equal(bn_utf8_decode("\xE2\x28\xA1", 3, &cp), 0);
}

static void test_invalid_at(void **state)
{
    (void)state;
    assert_int_equal(bn_utf8_invalid_at("", 0), 0);
    assert_int_equal(bn_utf8_invalid_at("hello", 5), 5);
    assert_int_equal(bn_utf8_invalid_at("h\xC3\xA9llo", 6), 6);
    assert_int_equal(bn_utf8_invalid_at("h\xC3llo", 5), 1);
    assert_int_equal(bn_utf8_invalid_at("abc\xFF", 4), 3);
    assert_int_equal(bn_utf8_invalid_at("ab\xF0\x9F\xA6", 5), 2);
}

static void test_encode_all(void **state)
{
    (void)state;
    char b[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t n = bn_utf8_encode(cp, b);
        uint32_t back = 0;
        assert_int_equal(bn_utf8_decode(b, n, &back), n);
        assert_int_equal(back, cp);
    }
}

/* Feeds s in one go plus a flush. */
static size_t once(const char *s, size_t n, char *out)
{
    bn_utf8_stream st;
    bn_utf8_stream_init(&st);
    size_t w = bn_utf8_stream_feed(&st, s, n, out);
    assert_true(w <= bn_utf8_stream_max_out(n));
    size_t f = bn_utf8_stream_flush(&st, out + w);
    assert_true(f <= bn_utf8_stream_max_out(0));
    return w + f;
}

#define ASSERT_STREAM(in, want)                                      \
    do {                                                             \
        char out_[256];                                              \
        size_t n_ = once(in, sizeof in - 1, out_);                   \
        assert_int_equal(n_, sizeof want - 1);                       \
        assert_memory_equal(out_, want, sizeof want - 1);            \
    } while (0)

static void test_stream_replacement(void **state)
{
    (void)state;
    ASSERT_STREAM("abc", "abc");
    ASSERT_STREAM("\xC3\xA9", "\xC3\xA9");
    ASSERT_STREAM("\x80", FFFD);
    ASSERT_STREAM("\xFF\xFE", FFFD FFFD);
    ASSERT_STREAM("\xC0\xAF", FFFD FFFD);                 /* C0 never starts anything */
    ASSERT_STREAM("\xE0\x80\x80", FFFD FFFD FFFD);        /* E0 needs A0..BF next */
    ASSERT_STREAM("\xED\xA0\x80", FFFD FFFD FFFD);        /* surrogate */
    ASSERT_STREAM("\xF0\x9F\xA6" "A", FFFD "A");          /* one U+FFFD for the maximal subpart */
    ASSERT_STREAM("\xF0\x9F\xA6", FFFD);                  /* incomplete at the end */
    ASSERT_STREAM("\xE2\x82" "\xE2\x82\xAC", FFFD "\xE2\x82\xAC");
    ASSERT_STREAM("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);
    ASSERT_STREAM("a\xC3" "b\xC3\xA9", "a" FFFD "b\xC3\xA9");
}

/* A 4-byte character split at every point, and bytes fed one at a time. */
static void test_stream_splits(void **state)
{
    (void)state;
    const char s[] = "x\xF0\x9F\xA6\x99y\xE6\x88\x91";
    size_t n = sizeof s - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        bn_utf8_stream st;
        bn_utf8_stream_init(&st);
        char out[64];
        size_t w = bn_utf8_stream_feed(&st, s, cut, out);
        w += bn_utf8_stream_feed(&st, s + cut, n - cut, out + w);
        assert_int_equal(bn_utf8_stream_flush(&st, out + w), 0);
        assert_int_equal(w, n);
        assert_memory_equal(out, s, n);
    }
    bn_utf8_stream st;
    bn_utf8_stream_init(&st);
    char out[8];
    const size_t want[] = { 1, 0, 0, 0, 4, 1, 0, 0, 3 };
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bn_utf8_stream_feed(&st, s + i, 1, out), want[i]);
}

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Random bytes (biased towards UTF-8 structure) in random chunks: the output
 * equals the one-shot output and is always valid UTF-8; valid input passes
 * through unchanged. */
static void test_stream_random(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    static const unsigned char pool[] = { 'a', ' ', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0xA6, 0x99, 0x80,
                                          0xBF, 0xFF, 0xC0, 0xED, 0xA0, 0xF4, 0x90, 0xE0 };
    for (int it = 0; it < 5000; it++) {
        unsigned char in[64];
        size_t n = rng(&seed) % sizeof in;
        for (size_t i = 0; i < n; i++)
            in[i] = pool[rng(&seed) % sizeof pool];
        char ref[256], got[256];
        size_t n_ref = once((const char *)in, n, ref);
        assert_int_equal(bn_utf8_invalid_at(ref, n_ref), n_ref);
        if (bn_utf8_invalid_at(in, n) == n) {
            assert_int_equal(n_ref, n);
            assert_memory_equal(ref, in, n);
        }
        bn_utf8_stream st;
        bn_utf8_stream_init(&st);
        size_t w = 0;
        for (size_t at = 0; at < n;) {
            size_t k = 1 + rng(&seed) % 5;
            if (k > n - at)
                k = n - at;
            size_t wrote = bn_utf8_stream_feed(&st, in + at, k, got + w);
            assert_true(wrote <= bn_utf8_stream_max_out(k));
            w += wrote;
            at += k;
        }
        w += bn_utf8_stream_flush(&st, got + w);
        assert_int_equal(w, n_ref);
        assert_memory_equal(got, ref, w);
    }
}

static void test_lead_len(void **state)
{
    (void)state;
    assert_int_equal(bn_utf8_lead_len('a'), 1);
    assert_int_equal(bn_utf8_lead_len(0x80), 1);
    assert_int_equal(bn_utf8_lead_len(0xC3), 2);
    assert_int_equal(bn_utf8_lead_len(0xE2), 3);
    assert_int_equal(bn_utf8_lead_len(0xF0), 4);
    assert_true(bn_utf8_stream_max_out(SIZE_MAX) == SIZE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_invalid_at),
        cmocka_unit_test(test_encode_all),
        cmocka_unit_test(test_stream_replacement),
        cmocka_unit_test(test_stream_splits),
        cmocka_unit_test(test_stream_random),
        cmocka_unit_test(test_lead_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
