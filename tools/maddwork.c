/* maddwork: how much of the vpmaddubsw peak that bitnet-bench measures (its
 * "int8 peak" at the AVX2 level) a ternary product can use, when each
 * product must also be added into an accumulator (docs/benchmarks.md,
 * session 23).
 *
 *     cc -O2 -o maddwork tools/maddwork.c && ./maddwork [rounds]
 *
 * One thread, registers only, 16 instructions (or pairs) a step, eight
 * independent accumulators; the rounds alternate the loops and each loop's
 * median rate is printed, as a fraction of the first. AVX2 has no
 * multiply-accumulate for bytes (AVX-VNNI and AVX-512 VNNI add vpdpbusd):
 * vpmaddubsw leaves 16-bit pair sums, and a vpaddw takes them into the
 * accumulator. x86-64 with AVX2 only. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STEPS 20000000L
#define LOOPS 3
#define MAX_ROUNDS 64

/* vpmaddubsw alone, into rotating destinations: the peak bitnet-bench uses */
#define M(T) "vpmaddubsw %%ymm9, %%ymm8, %%ymm" #T "\n\t"
/* a product and its add into accumulator A, through temporary T */
#define MA(T, A) "vpmaddubsw %%ymm9, %%ymm8, %%ymm" #T "\n\tvpaddw %%ymm" #T ", %%ymm" #A ", %%ymm" #A "\n\t"
/* the same with the activations loaded from L1 (memory operand), as the
 * prefill tiles take them */
#define ML(T, A, OFF) "vpmaddubsw " #OFF "(%1), %%ymm8, %%ymm" #T "\n\tvpaddw %%ymm" #T ", %%ymm" #A ", %%ymm" #A "\n\t"

#define CLOBBERS                                                                                                 \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
        "xmm13", "xmm14", "xmm15", "cc", "memory"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char act[512] __attribute__((aligned(64)));

/* Seconds for STEPS steps of loop v. */
static double run(int v)
{
    long n = STEPS;
    double t = now();
    if (v == 0)
        __asm__ volatile("vpxor %%ymm8, %%ymm8, %%ymm8\n\tvpxor %%ymm9, %%ymm9, %%ymm9\n\t"
                         "1:\n\t" M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(10) M(11) M(12) M(13) M(14) M(15) M(0)
                             M(1) "dec %0\n\tjnz 1b"
                         : "+r"(n)
                         : "r"(act)
                         : CLOBBERS);
    else if (v == 1)
        __asm__ volatile("vpxor %%ymm8, %%ymm8, %%ymm8\n\tvpxor %%ymm9, %%ymm9, %%ymm9\n\t"
                         "1:\n\t" MA(10, 0) MA(11, 1) MA(12, 2) MA(13, 3) MA(14, 4) MA(15, 5) MA(10, 6) MA(11, 7)
                             MA(12, 0) MA(13, 1) MA(14, 2) MA(15, 3) MA(10, 4) MA(11, 5) MA(12, 6) MA(13, 7)
                                 "dec %0\n\tjnz 1b"
                         : "+r"(n)
                         : "r"(act)
                         : CLOBBERS);
    else
        __asm__ volatile("vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
                         "1:\n\t" ML(10, 0, 0) ML(11, 1, 32) ML(12, 2, 64) ML(13, 3, 96) ML(14, 4, 128)
                             ML(15, 5, 160) ML(10, 6, 192) ML(11, 7, 224) ML(12, 0, 256) ML(13, 1, 288)
                                 ML(14, 2, 320) ML(15, 3, 352) ML(10, 4, 384) ML(11, 5, 416) ML(12, 6, 448)
                                     ML(13, 7, 480) "dec %0\n\tjnz 1b"
                         : "+r"(n)
                         : "r"(act)
                         : CLOBBERS);
    return now() - t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const char *const name[LOOPS] = {
        "vpmaddubsw (the bench's peak)",
        "vpmaddubsw + vpaddw",
        "vpmaddubsw (from L1) + vpaddw",
    };
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 7;
    static double rate[LOOPS][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < LOOPS; i++) {
            int v = (r + i) % LOOPS;  /* each round starts with another loop */
            rate[v][r] = 16.0 * (double)STEPS / run(v) * 1e-9;
        }
    double med[LOOPS];
    for (int v = 0; v < LOOPS; v++) {
        qsort(rate[v], (size_t)rounds, sizeof rate[v][0], cmp);
        med[v] = rate[v][rounds / 2];
    }
    for (int v = 0; v < LOOPS; v++)
        printf("%-32s %6.2f G vpmaddubsw/s  %5.1f GOPS  %.3f of the first\n", name[v], med[v], 64.0 * med[v],
               med[v] / med[0]);
    return 0;
}
