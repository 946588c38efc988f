/* A persistent thread pool owned by a context: workers park when idle. */
#ifndef BN_LIB_THREADPOOL_H
#define BN_LIB_THREADPOOL_H

#include "bitnet/bitnet.h"

/* Runs on every thread of the pool: ith in [0, nth). */
typedef void (*bn_task_fn)(void *arg, int ith, int nth);

typedef struct bn_pool bn_pool;

/* n_threads counts the calling thread, which also does a share of the work. */
bn_status bn_pool_new(int n_threads, bn_pool **out);
void bn_pool_free(bn_pool *pool);
int bn_pool_size(const bn_pool *pool);
/* Calls fn(arg, i, n) on all n threads and returns when all have finished. */
void bn_pool_run(bn_pool *pool, bn_task_fn fn, void *arg);

/* Runs fn(arg, c0, c1, ith) on ranges of chunks that cover [0, n_chunks)
 * once, spread over all threads: each thread works through its own
 * contiguous share, half of what is left at a time, then takes single chunks
 * from the far end of the shares of threads that are behind. The split
 * varies from run to run, so what a chunk computes must not depend on the
 * thread or on the range it came in. (Beyond 2^32 chunks the calling
 * thread runs them all.) */
typedef void (*bn_chunk_fn)(void *arg, int64_t c0, int64_t c1, int ith);
void bn_pool_run_chunks(bn_pool *pool, int64_t n_chunks, bn_chunk_fn fn, void *arg);

/* The share [*lo, *hi) of [0, n) that thread ith of nth takes, in units of
 * `align` (the last share gets the remainder). */
void bn_split(int64_t n, int64_t align, int ith, int nth, int64_t *lo, int64_t *hi);

#endif
