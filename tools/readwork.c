/* readwork: how much read bandwidth a loop loses to the vector work it does
 * on what it reads, and what an L1 prefetch gives back (docs/benchmarks.md,
 * session 17; BN_DECODE_NEAR in kernels/x86/kernels_x86.h).
 *
 *     cc -O2 -o readwork tools/readwork.c && ./readwork [rounds]
 *
 * Each loop reads one 1 GiB buffer on one thread, 128 bytes a step; the
 * rounds alternate the loops' order and the medians of each loop's rate over
 * the one that prefetches into L2 8 KiB ahead are printed (bitnet-bench's
 * loop until it took the L1 prefetch as well, session 17). The
 * "work" is the ternary decode kernel's per 128 bytes: a vpand and a
 * vpdpbusd for each 64-byte half and each of four (pretend) fields. The
 * last two loops also take the activations from L1 as the kernel does:
 * a 32-byte broadcast a field (four loads a step), or one a pair of fields
 * (two loads a step, as a group of eight rows would need). x86-64 with
 * AVX-512 VNNI only. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BYTES ((size_t)1 << 30)
#define AHEAD 8192
#define NEAR 2048
#define LOOPS 7

/* vpdpbusd on a loop-carried accumulator, without the register copies GCC
 * 12 adds around the intrinsic. */
#define DPB(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

#define TARGET __attribute__((target("avx2,avx512f,avx512bw,avx512vnni")))

/* Activations for the last two loops: L1-resident, as a token's are. */
static int8_t act[4096] __attribute__((aligned(64)));

TARGET static inline __attribute__((always_inline)) __m512i act_at(size_t i)
{
    return _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(const void *)(act + (i & 4095))));
}

/* hints: 0 none, 1 L2 AHEAD, 2 L2 AHEAD and L1 NEAR; fields: 0, 2 or 4, or
 * 4 with activations loaded, 4 (acts 4) or 2 (acts 2) times a step.
 * Inlined into one function per case, so that the accumulators stay in
 * registers. */
TARGET static inline __attribute__((always_inline)) uint64_t read_loop(const uint8_t *p, int hints, int fields,
                                                                      int acts)
{
    const __m512i m = _mm512_set1_epi8(0x33), x = _mm512_set1_epi8(3);
    __m512i a[8];
    for (int j = 0; j < 8; j++)
        a[j] = _mm512_setzero_si512();
    for (size_t i = 0; i < BYTES; i += 128) {
        if (hints) {
            _mm_prefetch((const char *)p + i + AHEAD, _MM_HINT_T2);
            _mm_prefetch((const char *)p + i + AHEAD + 64, _MM_HINT_T2);
        }
        if (hints == 2) {
            _mm_prefetch((const char *)p + i + NEAR, _MM_HINT_T0);
            _mm_prefetch((const char *)p + i + NEAR + 64, _MM_HINT_T0);
        }
        __m512i w0 = _mm512_load_si512(p + i), w1 = _mm512_load_si512(p + i + 64);
        if (fields == 0) {
            a[0] = _mm512_add_epi64(a[0], w0);
            a[1] = _mm512_add_epi64(a[1], w1);
        }
        for (int f = 0; f < fields && !acts; f++) {
            DPB(a[2 * f], _mm512_and_si512(w0, m), x);
            DPB(a[2 * f + 1], _mm512_and_si512(w1, m), x);
        }
        if (acts) {  /* four fields, written out: as a loop with these loads
                      * in it, GCC 12 kept the accumulators in memory */
            __m512i y0 = act_at(i), y1 = acts == 4 ? act_at(i + 32) : y0;
            __m512i y2 = act_at(i + 64), y3 = acts == 4 ? act_at(i + 96) : y2;
            DPB(a[0], _mm512_and_si512(w0, m), y0);
            DPB(a[1], _mm512_and_si512(w1, m), y0);
            DPB(a[2], _mm512_and_si512(w0, m), y1);
            DPB(a[3], _mm512_and_si512(w1, m), y1);
            DPB(a[4], _mm512_and_si512(w0, m), y2);
            DPB(a[5], _mm512_and_si512(w1, m), y2);
            DPB(a[6], _mm512_and_si512(w0, m), y3);
            DPB(a[7], _mm512_and_si512(w1, m), y3);
        }
    }
    for (int j = 1; j < 8; j++)
        a[0] = _mm512_add_epi64(a[0], a[j]);
    uint64_t lane[8], sum = 0;  /* unsigned: the lanes' sum may wrap */
    _mm512_storeu_si512(lane, a[0]);
    for (int j = 0; j < 8; j++)
        sum += lane[j];
    return sum;
}

typedef uint64_t loop_fn(const uint8_t *p);
#define LOOP(name, hints, fields, acts)                                                                \
    TARGET __attribute__((noinline)) static uint64_t name(const uint8_t *p)                            \
    {                                                                                                  \
        return read_loop(p, hints, fields, acts);                                                      \
    }
LOOP(plain, 0, 0, 0)
LOOP(l2, 1, 0, 0)
LOOP(l2_work4, 1, 2, 0)
LOOP(l2_work8, 1, 4, 0)
LOOP(l2_l1_work8, 2, 4, 0)
LOOP(l2_l1_work8_acts4, 2, 4, 4)
LOOP(l2_l1_work8_acts2, 2, 4, 2)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        loop_fn *fn;
    } loops[LOOPS] = {
        {"no work, no prefetch", plain},
        {"no work, L2 prefetch (the reference)", l2},
        {"4 vpand + 4 vpdpbusd, L2 prefetch", l2_work4},
        {"8 vpand + 8 vpdpbusd, L2 prefetch", l2_work8},
        {"8 vpand + 8 vpdpbusd, L2 and L1 prefetch", l2_l1_work8},
        {"the same, activations from L1, 4 loads a step", l2_l1_work8_acts4},
        {"the same, activations from L1, 2 loads a step", l2_l1_work8_acts2},
    };
    int rounds = argc > 1 ? atoi(argv[1]) : 12;
    if (rounds < 1 || rounds > 1000 || !__builtin_cpu_supports("avx512vnni")) {
        fprintf(stderr, "usage: readwork [rounds 1..1000], on a CPU with AVX-512 VNNI\n");
        return 2;
    }
    uint8_t *buf = aligned_alloc((size_t)2 << 20, BYTES);
    double *ratio = malloc(sizeof(double) * LOOPS * (size_t)rounds);
    if (!buf || !ratio)
        return 1;
    madvise(buf, BYTES, MADV_HUGEPAGE);
    memset(buf, 1, BYTES);
    uint64_t sink = 0;
    for (int r = 0; r < rounds; r++) {
        double rate[LOOPS];
        for (int k = 0; k < LOOPS; k++) {
            int l = r & 1 ? LOOPS - 1 - k : k;
            double t0 = now();
            sink += loops[l].fn(buf);
            rate[l] = (double)BYTES / (now() - t0);
        }
        for (int l = 0; l < LOOPS; l++)
            ratio[l * rounds + r] = rate[l] / rate[1];
        printf("round %2d: the L2-prefetching loop %.2f GB/s\n", r, rate[1] / 1e9);
    }
    printf("median rate over the L2-prefetching loop, %d rounds:\n", rounds);
    for (int l = 0; l < LOOPS; l++) {
        qsort(ratio + l * rounds, (size_t)rounds, sizeof(double), cmp_double);
        printf("  %.3f  %s\n", ratio[l * rounds + rounds / 2], loops[l].name);
    }
    free(ratio);
    free(buf);
    return (int)(sink & 0);
}
