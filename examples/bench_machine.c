/* bitnet-bench's machine limits: memory read bandwidth and int8
 * multiply-add peak, measured with the same thread counts as the benchmark.
 *
 * The SIMD loops are compiled with target attributes and chosen with
 * __builtin_cpu_supports, so the program runs on any x86-64; they are static,
 * so no generic caller can end up in them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "bench.h"
#include "ex_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_X86 1
#include <cpuid.h>
#include <immintrin.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

/* ------------------------------------------------------------ read loops */

typedef uint64_t (*read_fn)(const uint8_t *p, size_t n);

/* n is a multiple of 128; p is 64-byte aligned. Four accumulators so that
 * the adds never limit the load rate. */
static uint64_t read_sum_c(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

#ifdef BENCH_X86
/* libbitnet's decode distances (BN_DECODE_AHEAD and BN_DECODE_NEAR in
 * kernels/x86/kernels_x86.h). */
#define READ_AHEAD 8192
#define READ_NEAR 2048

/* With ahead > 0, software prefetches as libbitnet's prefetching decode
 * kernels make them: into L2 that far ahead of each line, and into L1
 * READ_NEAR ahead. A Sapphire Rapids core read 12-19% faster with the first,
 * and 0-5% faster again with both; Zen 4 and Zen 3 cores read slower, so
 * the limit is the better of the two loops. */
static inline __attribute__((always_inline)) void prefetch_step(const uint8_t *step, size_t ahead)
{
    if (ahead) {
        _mm_prefetch((const char *)step + ahead, _MM_HINT_T2);
        _mm_prefetch((const char *)step + ahead + 64, _MM_HINT_T2);
        _mm_prefetch((const char *)step + READ_NEAR, _MM_HINT_T0);
        _mm_prefetch((const char *)step + READ_NEAR + 64, _MM_HINT_T0);
    }
}

__attribute__((target("avx2"), always_inline)) static inline uint64_t read_avx2(const uint8_t *p, size_t n,
                                                                              size_t ahead)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 128) {
        prefetch_step(p + i, ahead);
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(const void *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(const void *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(const void *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(const void *)(p + i + 96)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t lane[4];
    _mm256_storeu_si256((__m256i *)(void *)lane, a0);
    return lane[0] + lane[1] + lane[2] + lane[3];
}

__attribute__((target("avx2"))) static uint64_t read_sum_avx2(const uint8_t *p, size_t n)
{
    return read_avx2(p, n, 0);
}

__attribute__((target("avx2"))) static uint64_t read_sum_avx2_pf(const uint8_t *p, size_t n)
{
    return read_avx2(p, n, READ_AHEAD);
}

/* The same with 512-bit loads, where the CPU has them: on the Sapphire
 * Rapids class VM they read 2-6% faster than 256-bit ones with the
 * prefetches and 9% faster without (tools/readwork.c has such loops), and
 * the limit should be the best read the machine does. */
__attribute__((target("avx512f"), always_inline)) static inline uint64_t read_avx512(const uint8_t *p, size_t n,
                                                                                  size_t ahead)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0;
    for (size_t i = 0; i < n; i += 128) {
        prefetch_step(p + i, ahead);
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
    }
    /* in lanes of unsigned words: GCC's _mm512_reduce_add_epi64 adds them
     * as signed C integers, which may overflow */
    uint64_t lane[8];
    _mm512_storeu_si512(lane, _mm512_add_epi64(a0, a1));
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

__attribute__((target("avx512f"))) static uint64_t read_sum_avx512(const uint8_t *p, size_t n)
{
    return read_avx512(p, n, 0);
}

__attribute__((target("avx512f"))) static uint64_t read_sum_avx512_pf(const uint8_t *p, size_t n)
{
    return read_avx512(p, n, READ_AHEAD);
}
#endif

/* The read loops to try (the bandwidth is the better one's); returns how many. */
static int pick_reads(read_fn fns[2])
{
#ifdef BENCH_X86
    if (__builtin_cpu_supports("avx512f")) {
        fns[0] = read_sum_avx512;
        fns[1] = read_sum_avx512_pf;
        return 2;
    }
    if (__builtin_cpu_supports("avx2")) {
        fns[0] = read_sum_avx2;
        fns[1] = read_sum_avx2_pf;
        return 2;
    }
#endif
    fns[0] = read_sum_c;
    return 1;
}

/* ------------------------------------------------------------ int8 loops */

/* Each loop keeps 12 independent accumulator chains in registers, enough to
 * cover the instruction's latency, and returns a value derived from all of
 * them so that none is optimised away. The chains start from different
 * memory (src holds MAC_SRC_BYTES), so the compiler cannot merge them. */
typedef uint64_t (*mac_fn)(const int8_t *src, uint64_t iters);
#define MAC_SRC_BYTES (64 * 14)

#ifdef BENCH_X86
#define MAC_CHAINS 12
#define LOAD512(k) _mm512_loadu_si512(src + 64 * (k))
#define LOAD256(k) _mm256_loadu_si256((const __m256i *)(const void *)(src + 64 * (k)))

/* vpdpbusd zmm: 64 u8 x s8 multiply-adds into 16 int32 lanes. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static uint64_t mac_vnni512(const int8_t *src,
                                                                                   uint64_t iters)
{
    __m512i a = LOAD512(0), b = LOAD512(1);
    __m512i c0 = LOAD512(2), c1 = LOAD512(3), c2 = LOAD512(4), c3 = LOAD512(5), c4 = LOAD512(6);
    __m512i c5 = LOAD512(7), c6 = LOAD512(8), c7 = LOAD512(9), c8 = LOAD512(10), c9 = LOAD512(11);
    __m512i c10 = LOAD512(12), c11 = LOAD512(13);
    for (uint64_t i = 0; i < iters; i++) {
        c0 = _mm512_dpbusd_epi32(c0, a, b);
        c1 = _mm512_dpbusd_epi32(c1, a, b);
        c2 = _mm512_dpbusd_epi32(c2, a, b);
        c3 = _mm512_dpbusd_epi32(c3, a, b);
        c4 = _mm512_dpbusd_epi32(c4, a, b);
        c5 = _mm512_dpbusd_epi32(c5, a, b);
        c6 = _mm512_dpbusd_epi32(c6, a, b);
        c7 = _mm512_dpbusd_epi32(c7, a, b);
        c8 = _mm512_dpbusd_epi32(c8, a, b);
        c9 = _mm512_dpbusd_epi32(c9, a, b);
        c10 = _mm512_dpbusd_epi32(c10, a, b);
        c11 = _mm512_dpbusd_epi32(c11, a, b);
    }
    c0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                          _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
    c0 = _mm512_add_epi32(c0, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
    uint32_t lane[16]; /* summed as unsigned: the int32 lanes wrap */
    _mm512_storeu_si512(lane, c0);
    uint32_t sum = 0;
    for (int i = 0; i < 16; i++)
        sum += lane[i];
    return sum;
}

/* Whether the CPU has AMX-INT8 and the OS lets this process use it (Linux
 * asks for the tile state, as libbitnet does before its AMX prefill): the
 * test of bn_cpu_has_amx in kernels/cpu.c, repeated because a tool sees
 * only the library's public API. */
static int have_amx(void)
{
#ifdef __linux__
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((d >> 24) & 1) || !((d >> 25) & 1))  /* AMX-TILE, AMX-INT8 */
        return 0;
    __cpuid(1, a, b, c, d);
    if (!((c >> 27) & 1))  /* OSXSAVE */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x60000) != 0x60000)  /* XTILECFG, XTILEDATA */
        return 0;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
#else
    return 0;
#endif
}

/* tdpbsud: 16 x 16 x 64 s8 x u8 multiply-adds into a tile of int32, on six
 * accumulator tiles (one A and one B tile, rows of src repeated). */
#define AMX_TILES 6
__attribute__((target("amx-tile,amx-int8"))) static uint64_t mac_amx(const int8_t *src, uint64_t iters)
{
    struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    __asm__ volatile("" ::: "memory");  /* GCC's _tile_loadconfig names 8 of the 64 bytes it reads */
    _tile_loadconfig(&cfg);
    _tile_loadd(6, src, 0);
    _tile_loadd(7, src + 64, 0);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_zero(4);
    _tile_zero(5);
    for (uint64_t i = 0; i < iters; i++) {
        _tile_dpbsud(0, 6, 7);
        _tile_dpbsud(1, 6, 7);
        _tile_dpbsud(2, 6, 7);
        _tile_dpbsud(3, 6, 7);
        _tile_dpbsud(4, 6, 7);
        _tile_dpbsud(5, 6, 7);
    }
    uint32_t out[6][256];
    _tile_stored(0, out[0], 64);
    _tile_stored(1, out[1], 64);
    _tile_stored(2, out[2], 64);
    _tile_stored(3, out[3], 64);
    _tile_stored(4, out[4], 64);
    _tile_stored(5, out[5], 64);
    _tile_release();
    uint32_t sum = 0;
    for (int t = 0; t < 6; t++)
        for (int i = 0; i < 256; i++)
            sum += out[t][i];
    return sum;
}

/* vpdpbusd ymm (AVX-VNNI, the VEX form): 32 u8 x s8 multiply-adds into 8
 * int32 lanes. */
__attribute__((target("avx2,avxvnni"))) static uint64_t mac_avxvnni(const int8_t *src, uint64_t iters)
{
    __m256i a = LOAD256(0), b = LOAD256(1);
    __m256i c0 = LOAD256(2), c1 = LOAD256(3), c2 = LOAD256(4), c3 = LOAD256(5), c4 = LOAD256(6);
    __m256i c5 = LOAD256(7), c6 = LOAD256(8), c7 = LOAD256(9), c8 = LOAD256(10), c9 = LOAD256(11);
    __m256i c10 = LOAD256(12), c11 = LOAD256(13);
    for (uint64_t i = 0; i < iters; i++) {
        c0 = _mm256_dpbusd_avx_epi32(c0, a, b);
        c1 = _mm256_dpbusd_avx_epi32(c1, a, b);
        c2 = _mm256_dpbusd_avx_epi32(c2, a, b);
        c3 = _mm256_dpbusd_avx_epi32(c3, a, b);
        c4 = _mm256_dpbusd_avx_epi32(c4, a, b);
        c5 = _mm256_dpbusd_avx_epi32(c5, a, b);
        c6 = _mm256_dpbusd_avx_epi32(c6, a, b);
        c7 = _mm256_dpbusd_avx_epi32(c7, a, b);
        c8 = _mm256_dpbusd_avx_epi32(c8, a, b);
        c9 = _mm256_dpbusd_avx_epi32(c9, a, b);
        c10 = _mm256_dpbusd_avx_epi32(c10, a, b);
        c11 = _mm256_dpbusd_avx_epi32(c11, a, b);
    }
    c0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                          _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
    c0 = _mm256_add_epi32(c0, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
    uint32_t lane[8]; /* summed as unsigned: the int32 lanes wrap */
    _mm256_storeu_si256((__m256i *)(void *)lane, c0);
    uint32_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum += lane[i];
    return sum;
}

/* Whether the CPU has AVX-VNNI (cpuid leaf 7, subleaf 1, EAX bit 4). */
static int have_avxvnni(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1;
}

/* vpmaddubsw ymm: 32 u8 x s8 multiplies, added in pairs into 16 int16 lanes.
 * Each chain feeds its result back as the unsigned operand, so the compiler
 * cannot hoist the loop-invariant product out of the loop. */
__attribute__((target("avx2"))) static uint64_t mac_maddubs256(const int8_t *src, uint64_t iters)
{
    __m256i b = LOAD256(1);
    __m256i c0 = LOAD256(2), c1 = LOAD256(3), c2 = LOAD256(4), c3 = LOAD256(5), c4 = LOAD256(6);
    __m256i c5 = LOAD256(7), c6 = LOAD256(8), c7 = LOAD256(9), c8 = LOAD256(10), c9 = LOAD256(11);
    __m256i c10 = LOAD256(12), c11 = LOAD256(13);
    for (uint64_t i = 0; i < iters; i++) {
        c0 = _mm256_maddubs_epi16(c0, b);
        c1 = _mm256_maddubs_epi16(c1, b);
        c2 = _mm256_maddubs_epi16(c2, b);
        c3 = _mm256_maddubs_epi16(c3, b);
        c4 = _mm256_maddubs_epi16(c4, b);
        c5 = _mm256_maddubs_epi16(c5, b);
        c6 = _mm256_maddubs_epi16(c6, b);
        c7 = _mm256_maddubs_epi16(c7, b);
        c8 = _mm256_maddubs_epi16(c8, b);
        c9 = _mm256_maddubs_epi16(c9, b);
        c10 = _mm256_maddubs_epi16(c10, b);
        c11 = _mm256_maddubs_epi16(c11, b);
    }
    c0 = _mm256_add_epi16(_mm256_add_epi16(_mm256_add_epi16(c0, c1), _mm256_add_epi16(c2, c3)),
                          _mm256_add_epi16(_mm256_add_epi16(c4, c5), _mm256_add_epi16(c6, c7)));
    c0 = _mm256_add_epi16(c0, _mm256_add_epi16(_mm256_add_epi16(c8, c9), _mm256_add_epi16(c10, c11)));
    uint64_t lane[4];
    _mm256_storeu_si256((__m256i *)(void *)lane, c0);
    return lane[0] ^ lane[1] ^ lane[2] ^ lane[3];
}
#endif

/* The loop for a level, its multiply-adds per iteration and its name; NULL
 * with a note when there is none. */
static mac_fn pick_mac(bn_cpu_level level, double *macs_per_iter, const char **kernel, const char **note)
{
    *kernel = "";
    *note = "";
#ifdef BENCH_X86
    if (level == BN_CPU_AVX512) {
        if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
            !__builtin_cpu_supports("avx512vnni")) {
            *note = "this CPU lacks AVX-512 VNNI";
            return NULL;
        }
        /* libbitnet's prefill uses AMX where it can (kernels/x86/tgemm_amx.c) */
        if (have_amx()) {
            *macs_per_iter = AMX_TILES * 16.0 * 16 * 64;
            *kernel = "tdpbsud (AMX)";
            return mac_amx;
        }
        *macs_per_iter = MAC_CHAINS * 64.0;
        *kernel = "vpdpbusd zmm";
        return mac_vnni512;
    }
    if (level == BN_CPU_AVX2) {
        if (!__builtin_cpu_supports("avx2")) {
            *note = "this CPU lacks AVX2";
            return NULL;
        }
        /* libbitnet's ternary products use AVX-VNNI there (tgemm_avxvnni.c) */
        if (have_avxvnni()) {
            *macs_per_iter = MAC_CHAINS * 32.0;
            *kernel = "vpdpbusd ymm (AVX-VNNI)";
            return mac_avxvnni;
        }
        *macs_per_iter = MAC_CHAINS * 32.0;
        *kernel = "vpmaddubsw ymm";
        return mac_maddubs256;
    }
    *note = "no int8 peak loop for this kernel level";
#else
    (void)level;
    (void)macs_per_iter;
    *note = "int8 peak is measured on x86-64 only";
#endif
    return NULL;
}

/* ---------------------------------------------------------------- threads */

/* Workers wait at a gate, so thread start-up is not timed; a pass lasts from
 * the first worker's start to the last worker's end. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
} gate;

typedef struct worker {
    pthread_t th;
    gate *g;
    read_fn read;
    const uint8_t *buf;
    size_t bytes;
    mac_fn mac;
    const int8_t *src;
    uint64_t iters;
    uint64_t result;
    double t0, t1;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->g->mu);
    while (!w->g->open)
        pthread_cond_wait(&w->g->cv, &w->g->mu);
    pthread_mutex_unlock(&w->g->mu);
    w->t0 = ex_now();
    w->result = w->read ? w->read(w->buf, w->bytes) : w->mac(w->src, w->iters);
    w->t1 = ex_now();
    return NULL;
}

/* Runs the workers once; returns the pass's seconds, or -1 if a thread
 * could not start. */
static double run_pass(worker *ws, int n)
{
    gate g;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    g.open = 0;
    int started = 0;
    for (; started < n; started++) {
        ws[started].g = &g;
        if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0)
            break;
    }
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    if (started < n)
        return -1;
    double t0 = ws[0].t0, t1 = ws[0].t1;
    for (int i = 1; i < n; i++) {
        if (ws[i].t0 < t0)
            t0 = ws[i].t0;
        if (ws[i].t1 > t1)
            t1 = ws[i].t1;
    }
    return t1 - t0;
}

/* Best of `passes` passes of at least min_s seconds in all, in seconds. */
static double best_of(worker *ws, int n, int passes, double min_s)
{
    double best = -1, total = 0;
    for (int i = 0; i < passes || total < min_s; i++) {
        double s = run_pass(ws, n);
        if (s < 0)
            return -1;
        total += s;
        if (best < 0 || s < best)
            best = s;
        if (i > 100)
            break;
    }
    return best;
}

/* ---------------------------------------------------------------- public */

/* The read buffer, made once per run: faulting in 1 GiB of fresh pages for
 * every measurement took longer than the measurement. */
static uint8_t *read_buffer(bench_machine *m)
{
    if (m->buf)
        return m->buf;
    if (posix_memalign((void **)&m->buf, 2u << 20, m->mem_bytes) != 0)
        return m->buf = NULL;
#ifdef MADV_HUGEPAGE
    /* The same huge pages the library asks for its weights: the limit is the
     * best this machine reads, not what 4 KiB pages allow (about 5% less
     * here). */
    madvise(m->buf, m->mem_bytes, MADV_HUGEPAGE);
#endif
    /* Real pages with non-zero data: untouched pages would all map the
     * shared zero page and read from the cache. */
    memset(m->buf, 1, m->mem_bytes);
    return m->buf;
}

double bench_read_bandwidth(bench_machine *m, int threads)
{
    if (threads < 1)
        return 0;
    size_t slice = m->mem_bytes / (size_t)threads / 128 * 128;
    uint8_t *buf = read_buffer(m);
    if (slice == 0 || !buf)
        return 0;
    worker *ws = calloc((size_t)threads, sizeof *ws);
    double bw = 0;
    read_fn fns[2];
    int n_fns = pick_reads(fns);
    for (int f = 0; ws && f < n_fns; f++) {
        for (int i = 0; i < threads; i++) {
            ws[i].read = fns[f];
            ws[i].buf = buf + (size_t)i * slice;
            ws[i].bytes = slice;
        }
        double s = best_of(ws, threads, 5, 0.2);
        if (s > 0 && (double)slice * threads / s > bw)
            bw = (double)slice * threads / s;
    }
    free(ws);
    return bw;
}

void bench_machine_free(bench_machine *m)
{
    free(m->buf);
    free(m->rows);
    m->buf = NULL;
    m->rows = NULL;
    m->n_rows = 0;
}

double bench_int8_peak(bn_cpu_level level, int threads, const char **kernel, const char **note)
{
    double macs_per_iter = 0;
    mac_fn fn = pick_mac(level, &macs_per_iter, kernel, note);
    if (!fn || threads < 1)
        return 0;
    int8_t src[MAC_SRC_BYTES];
    for (int i = 0; i < MAC_SRC_BYTES; i++)
        src[i] = (int8_t)(i * 37 + 11);
    worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws)
        return 0;
    /* Calibrate on one thread so that a pass takes about 50 ms. */
    ws[0].mac = fn;
    ws[0].src = src;
    ws[0].iters = 1 << 14;
    double s = run_pass(ws, 1);
    while (s >= 0 && s < 5e-3 && ws[0].iters < (1ull << 40)) {
        ws[0].iters *= 4;
        s = run_pass(ws, 1);
    }
    double peak = 0;
    if (s > 0) {
        uint64_t iters = (uint64_t)((double)ws[0].iters * 0.05 / s) + 1;
        for (int i = 0; i < threads; i++) {
            ws[i].mac = fn;
            ws[i].src = src;
            ws[i].iters = iters;
        }
        double best = best_of(ws, threads, 5, 0.2);
        if (best > 0)
            peak = 2.0 * macs_per_iter * (double)iters * threads / best;
    }
    free(ws);
    return peak;
}

void bench_cpu_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            break;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(buf, cap, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

/* ----------------------------------------------------------- limit table */

static bench_limit *find_limit(bench_machine *m, int threads, bn_cpu_level level)
{
    for (size_t i = 0; i < m->n_rows; i++)
        if (m->rows[i].threads == threads && m->rows[i].level == level)
            return &m->rows[i];
    return NULL;
}

double bench_machine_remeasure(bench_machine *m, int threads, bn_cpu_level level)
{
    const char *kernel, *note;
    return level == BN_CPU_AUTO ? bench_read_bandwidth(m, threads)
                                : bench_int8_peak(level, threads, &kernel, &note);
}

/* The row for (threads, level), measured now if it is new; NULL only when
 * out of memory. level AUTO = read bandwidth. */
bench_limit *bench_machine_limit(bench_machine *m, int threads, bn_cpu_level level)
{
    bench_limit *row = find_limit(m, threads, level);
    if (row)
        return row;
    bench_limit *rows = realloc(m->rows, (m->n_rows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    m->rows = rows;
    row = &rows[m->n_rows++];
    memset(row, 0, sizeof *row);
    row->threads = threads;
    row->level = level;
    row->kernel = row->note = "";
    if (level == BN_CPU_AUTO) {
        fprintf(stderr, "bitnet-bench: read bandwidth, %d thread%s, %zu MiB buffer ...", threads,
                threads == 1 ? "" : "s", m->mem_bytes >> 20);
        row->value = bench_read_bandwidth(m, threads);
        fprintf(stderr, " %.2f GB/s\n", row->value / 1e9);
        if (row->value <= 0)
            row->note = "the bandwidth measurement failed (memory or threads)";
    } else {
        fprintf(stderr, "bitnet-bench: int8 peak for %s, %d thread%s ...", bn_cpu_level_name(level), threads,
                threads == 1 ? "" : "s");
        row->value = bench_int8_peak(level, threads, &row->kernel, &row->note);
        if (row->value > 0)
            fprintf(stderr, " %.1f GOPS (%s)\n", row->value / 1e9, row->kernel);
        else
            fprintf(stderr, " skipped: %s\n", row->note);
    }
    return row;
}
