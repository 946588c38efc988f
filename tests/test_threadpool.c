/* The thread pool: every thread runs each job once, and bn_pool_run_chunks
 * covers every chunk exactly once whatever the thread count, with threads
 * that finish early taking chunks from those that are behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "threadpool.h"

#define MAX_CHUNKS 5000

struct record {
    atomic_int runs[MAX_CHUNKS];  /* times each chunk was run */
    atomic_int by[MAX_CHUNKS];    /* the thread that ran it */
    atomic_int bad_ranges;
    int slow_thread;              /* sleeps in each of its ranges; -1: none */
};

static void record_chunks(void *arg, int64_t c0, int64_t c1, int ith)
{
    struct record *r = arg;
    if (c0 < 0 || c1 <= c0 || c1 > MAX_CHUNKS)
        atomic_fetch_add(&r->bad_ranges, 1);
    for (int64_t c = c0; c < c1 && c >= 0 && c < MAX_CHUNKS; c++) {
        atomic_fetch_add(&r->runs[c], 1);
        atomic_store(&r->by[c], ith);
    }
    if (ith == r->slow_thread) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static void test_chunks_cover_once(void **state)
{
    (void)state;
    static const int64_t counts[] = { 0, 1, 2, 3, 7, 64, 1000, MAX_CHUNKS };
    static struct record r;
    for (int nth = 1; nth <= 4; nth++) {
        bn_pool *pool;
        assert_int_equal(bn_pool_new(nth, &pool), BN_OK);
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
            for (int rep = 0; rep < 20; rep++) {
                memset(&r, 0, sizeof r);
                r.slow_thread = -1;
                bn_pool_run_chunks(pool, counts[i], record_chunks, &r);
                assert_int_equal(atomic_load(&r.bad_ranges), 0);
                for (int64_t c = 0; c < MAX_CHUNKS; c++)
                    assert_int_equal(atomic_load(&r.runs[c]), c < counts[i] ? 1 : 0);
            }
        }
        bn_pool_free(pool);
    }
}

/* Thread 1 sleeps in every range it takes: thread 0 must finish thread 1's
 * share (it takes half of what is left at a time, so at least a quarter of
 * its share is left to take). */
static void test_chunks_are_stolen(void **state)
{
    (void)state;
    static struct record r;
    bn_pool *pool;
    assert_int_equal(bn_pool_new(2, &pool), BN_OK);
    memset(&r, 0, sizeof r);
    r.slow_thread = 1;
    bn_pool_run_chunks(pool, 64, record_chunks, &r);
    int stolen = 0;
    for (int c = 0; c < 64; c++) {
        assert_int_equal(atomic_load(&r.runs[c]), 1);
        stolen += c >= 32 && atomic_load(&r.by[c]) == 0;
    }
    assert_true(stolen >= 8);
    bn_pool_free(pool);
}

static void count_threads(void *arg, int ith, int nth)
{
    atomic_int *seen = arg;
    if (ith >= 0 && ith < nth && nth <= 8)
        atomic_fetch_add(&seen[ith], 1);
}

static void test_run_reaches_every_thread(void **state)
{
    (void)state;
    for (int nth = 1; nth <= 8; nth++) {
        bn_pool *pool;
        assert_int_equal(bn_pool_new(nth, &pool), BN_OK);
        assert_int_equal(bn_pool_size(pool), nth);
        atomic_int seen[8] = { 0 };
        for (int rep = 0; rep < 100; rep++)
            bn_pool_run(pool, count_threads, seen);
        for (int i = 0; i < 8; i++)
            assert_int_equal(atomic_load(&seen[i]), i < nth ? 100 : 0);
        bn_pool_free(pool);
    }
    bn_pool *pool = NULL;
    assert_int_equal(bn_pool_new(0, &pool), BN_E_INVALID_ARG);
    assert_null(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_reaches_every_thread),
        cmocka_unit_test(test_chunks_cover_once),
        cmocka_unit_test(test_chunks_are_stolen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
