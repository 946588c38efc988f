/* Persistent worker threads: spin briefly for the next job, then park on a
 * condition variable, so decode (hundreds of short jobs per token) does not
 * pay a wake-up per job while an idle context costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads - 1, sizeof *pool->threads);
        if (!pool->threads) {
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

void bn_split(int64_t n, int64_t align, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t units = (n + align - 1) / align;
    int64_t per = units / nth, extra = units % nth;
    int64_t u0 = ith * per + (ith < extra ? ith : extra);
    int64_t u1 = u0 + per + (ith < extra ? 1 : 0);
    *lo = u0 * align < n ? u0 * align : n;
    *hi = u1 * align < n ? u1 * align : n;
}
