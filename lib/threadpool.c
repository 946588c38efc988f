/* Persistent worker threads: spin briefly for the next job, then park on a
 * condition variable, so decode (hundreds of short jobs per token) does not
 * pay a wake-up per job while an idle context costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "threadpool.h"

/* Spins before a worker parks or the caller yields: with the CPU's pause
 * hint each is tens of nanoseconds, so about 0.1 ms, longer than the serial
 * steps between two jobs of a decode step (a parked worker costs a futex
 * wake-up, tens of microseconds on a VM). */
#define SPIN_ITERS 5000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A thread's share of the chunks of bn_pool_run_chunks: the next chunk in
 * the low 32 bits, the end in the high 32 bits, changed together so that the
 * owner (from the front) and a thief (from the back) never take the same
 * chunk. One cache line each: the owner's updates stay local until another
 * thread comes to steal. */
struct share {
    _Alignas(64) _Atomic uint64_t range;
};

struct bn_pool {
    int n;                    /* threads including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;   /* bumped for each job */
    atomic_int pending;       /* workers still running the current job */
    atomic_int sleeping;
    atomic_bool quit;
    bn_task_fn fn;
    void *arg;
    struct share *shares;     /* n of them */
    bn_chunk_fn chunk_fn;     /* the job of bn_pool_run_chunks */
    void *chunk_arg;
};

struct worker_arg {
    bn_pool *pool;
    int ith;
};

static void *worker_main(void *p)
{
    struct worker_arg wa = *(struct worker_arg *)p;
    free(p);
    bn_pool *pool = wa.pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            atomic_fetch_add(&pool->sleeping, 1);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
                pthread_cond_wait(&pool->wake, &pool->mu);
            atomic_fetch_sub(&pool->sleeping, 1);
            pthread_mutex_unlock(&pool->mu);
            spins = 0;
            if (atomic_load(&pool->quit))
                return NULL;
        }
        seen = gen;
        if (atomic_load(&pool->quit))
            return NULL;
        pool->fn(pool->arg, wa.ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

bn_status bn_pool_new(int n_threads, bn_pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return bn_fail(BN_E_INVALID_ARG, "n_threads %d is outside 1..1024", n_threads);
    bn_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
    pool->n = n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->shares = aligned_alloc(64, sizeof *pool->shares * (size_t)n_threads);
    if (!pool->shares) {
        pool->n = 1;
        bn_pool_free(pool);
        return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
    }
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads - 1, sizeof *pool->threads);
        if (!pool->threads) {
            pool->n = 1;  /* no workers to join */
            bn_pool_free(pool);
            return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            pool->n = i;
            bn_pool_free(pool);
            return bn_fail(BN_E_NOMEM, "out of memory for the thread pool");
        }
        wa->pool = pool;
        wa->ith = i;
        if (pthread_create(&pool->threads[i - 1], NULL, worker_main, wa) != 0) {
            free(wa);
            pool->n = i;
            bn_pool_free(pool);
            return bn_fail(BN_E_THREAD, "could not start worker thread %d of %d", i, n_threads);
        }
    }
    *out = pool;
    return BN_OK;
}

void bn_pool_free(bn_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->quit, 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++)
        pthread_join(pool->threads[i - 1], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool->shares);
    free(pool);
}

int bn_pool_size(const bn_pool *pool)
{
    return pool ? pool->n : 1;
}

void bn_pool_run(bn_pool *pool, bn_task_fn fn, void *arg)
{
    if (pool->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->pending, pool->n - 1, memory_order_relaxed);
    atomic_fetch_add(&pool->generation, 1);  /* seq_cst: ordered before the load of sleeping */
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mu);
    }
    fn(arg, 0, pool->n);
    int spins = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) {
        if (++spins > SPIN_ITERS)
            sched_yield();
        else
            cpu_relax();
    }
}

/* Takes chunks [*c0, *c1) from a share: half of what is left (at least
 * one) from the front of the thread's own, one from the back of another's;
 * 0 once it is empty. Halving keeps the owner's takes few while leaving
 * single chunks at the end to even the threads out. */
static int take(struct share *sh, int own, int64_t *c0, int64_t *c1)
{
    uint64_t v = atomic_load_explicit(&sh->range, memory_order_relaxed);
    for (;;) {
        uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
        if (lo >= hi)
            return 0;
        uint32_t k = own ? (hi - lo + 1) / 2 : 1;
        uint64_t next = own ? ((uint64_t)hi << 32 | (lo + k)) : ((uint64_t)(hi - k) << 32 | lo);
        if (atomic_compare_exchange_weak_explicit(&sh->range, &v, next, memory_order_relaxed, memory_order_relaxed)) {
            *c0 = own ? lo : hi - k;
            *c1 = *c0 + k;
            return 1;
        }
    }
}

static void chunks_task(void *arg, int ith, int nth)
{
    bn_pool *pool = arg;
    int64_t c0, c1;
    while (take(&pool->shares[ith], 1, &c0, &c1))
        pool->chunk_fn(pool->chunk_arg, c0, c1, ith);
    for (int k = 1; k < nth; k++) {
        struct share *victim = &pool->shares[(ith + k) % nth];
        while (take(victim, 0, &c0, &c1))
            pool->chunk_fn(pool->chunk_arg, c0, c1, ith);
    }
}

void bn_pool_run_chunks(bn_pool *pool, int64_t n_chunks, bn_chunk_fn fn, void *arg)
{
    if (n_chunks <= 0)
        return;
    if (pool->n == 1 || n_chunks == 1 || n_chunks > UINT32_MAX) {  /* the last: too many to share out */
        fn(arg, 0, n_chunks, 0);
        return;
    }
    for (int i = 0; i < pool->n; i++) {
        int64_t lo, hi;
        bn_split(n_chunks, 1, i, pool->n, &lo, &hi);
        atomic_store_explicit(&pool->shares[i].range, (uint64_t)hi << 32 | (uint64_t)lo, memory_order_relaxed);
    }
    pool->chunk_fn = fn;
    pool->chunk_arg = arg;
    bn_pool_run(pool, chunks_task, pool);  /* its release of the job publishes the shares */
}

void bn_split(int64_t n, int64_t align, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t units = (n + align - 1) / align;
    int64_t per = units / nth, extra = units % nth;
    int64_t u0 = ith * per + (ith < extra ? ith : extra);
    int64_t u1 = u0 + per + (ith < extra ? 1 : 0);
    *lo = u0 * align < n ? u0 * align : n;
    *hi = u1 * align < n ? u1 * align : n;
}
