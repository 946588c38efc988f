/* checkkernels: every kernel of every ISA level this CPU runs, against the
 * scalar reference, bit for bit (in the manner of dav1d's checkasm). Random
 * inputs of many shapes plus edge patterns; unaligned row ranges; canaries
 * around the outputs. A plain C program (no cmocka) so that it also runs
 * under qemu for cross builds.
 *   checkkernels [--seed N] [--bench]
 * Exit status 0 when every level agrees with the scalar code. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ex_common.h"
#include "fp16.h"
#include "ggml_types.h"
#include "kernels.h"
#include "scalar/dense_scalar.h"

/* A table's name in reports: its level, with "/prefetch" for the build with
 * decode's software prefetch, "/amx" and "/vnni" for that build with AMX or AVX-VNNI. */
static const char *table_name(const bn_kernels *k)
{
    if (k->build == BN_BUILD_AMX)
        return "avx512/amx";
    if (k->build == BN_BUILD_AVXVNNI)
        return "avx2/vnni";
    if (k->build == BN_BUILD_PREFETCH)
        return k->level == BN_CPU_AVX2 ? "avx2/prefetch" : k->level == BN_CPU_AVX512 ? "avx512/prefetch" : "unknown/prefetch";
    return bn_cpu_level_name(k->level);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: plenty for test data, same sequence on every host */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static int64_t rnd_in(int64_t lo, int64_t hi)  /* inclusive */
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static float rnd_float(float amp)  /* uniform in [-amp, amp) */
{
    return amp * ((float)(rnd() >> 40) / (float)(1 << 24) * 2.0f - 1.0f);
}

/* Benchmarks use 64-byte aligned buffers, as the library should give its
 * activations: a vector load that crosses a 32-byte boundary costs extra. */
static void *xmalloc64(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "checkkernels: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "checkkernels: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

/* Output buffers carry canaries on both sides; every float in between that
 * the kernel must not write holds a sentinel, so a memcmp against the
 * reference also catches stray writes. */
#define CANARY 16
static const uint32_t canary_bits = 0x7fc0dead;

typedef struct {
    float *base, *y;
    size_t n;
} outbuf;

static outbuf out_new(size_t n)
{
    outbuf o = { xmalloc((n + 2 * CANARY) * sizeof(float)), NULL, n };
    o.y = o.base + CANARY;
    for (size_t i = 0; i < n + 2 * CANARY; i++)
        memcpy(&o.base[i], &canary_bits, 4);
    return o;
}

static int canaries_ok(const outbuf *o)
{
    for (size_t i = 0; i < CANARY; i++)
        if (memcmp(&o->base[i], &canary_bits, 4) || memcmp(&o->y[o->n + i], &canary_bits, 4))
            return 0;
    return 1;
}

/* Per-kernel tallies for the report. */
typedef struct {
    const char *name;
    int runs, fails;
} tally;

static int report_mismatch(tally *tl, const char *level, const char *what)
{
    if (tl->fails++ == 0)
        printf("  %-12s %-14s FAILED: %s\n", level, tl->name, what);
    return 1;
}

/* ---------- quantize_act ---------- */

/* max |x[i]| as bn_absmax defines it, one running maximum by comparisons:
 * NaNs and -0 never replace it. */
static float absmax_by_definition(const float *x, int64_t n)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float a = x[i] < 0.0f ? -x[i] : x[i];
        m = a > m ? a : m;
    }
    return m;
}

static void check_quant_one(const bn_kernels *k, tally *tl, const float *x, int64_t n, const char *label)
{
    float m0 = absmax_by_definition(x, n), m1 = bn_absmax(x, n);
    if (memcmp(&m0, &m1, sizeof m0)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s n=%" PRId64 ": bn_absmax %a != %a", label, n, m1, m0);
        report_mismatch(tl, "absmax", msg);
    }

    int8_t *q0 = xmalloc((size_t)n), *q1 = (int8_t *)xmalloc((size_t)n + 1) + 1;  /* unaligned on purpose */
    float s0, s1;
    int32_t sum0, sum1;
    bn_kernels_scalar.quantize_act(x, n, q0, &s0, &sum0);
    k->quantize_act(x, n, q1, &s1, &sum1);
    tl->runs++;
    char msg[256];
    if (memcmp(&s0, &s1, sizeof s0)) {
        snprintf(msg, sizeof msg, "%s n=%" PRId64 ": scale %a != %a", label, n, s1, s0);
        report_mismatch(tl, table_name(k), msg);
    } else if (sum0 != sum1) {
        snprintf(msg, sizeof msg, "%s n=%" PRId64 ": sum %d != %d", label, n, sum1, sum0);
        report_mismatch(tl, table_name(k), msg);
    } else {
        for (int64_t i = 0; i < n; i++)
            if (q0[i] != q1[i]) {
                snprintf(msg, sizeof msg, "%s n=%" PRId64 ": q[%" PRId64 "] = %d, want %d (x = %a)", label, n, i,
                         q1[i], q0[i], x[i]);
                report_mismatch(tl, table_name(k), msg);
                break;
            }
    }
    free(q0);
    free(q1 - 1);
}

static void check_quantize_act(const bn_kernels *k, tally *tl)
{
    static const int64_t ns[] = {128, 256, 384, 2560, 6912, 128 * 67};
    for (size_t si = 0; si < sizeof ns / sizeof ns[0]; si++) {
        int64_t n = ns[si];
        float *x = (float *)xmalloc((size_t)(n + 1) * sizeof *x) + 1;  /* off 16-byte alignment */
        for (int pat = 0; pat < 10; pat++) {
            const char *label = "random";
            for (int64_t i = 0; i < n; i++) {
                switch (pat) {
                case 0: x[i] = rnd_float(4.0f); break;
                case 1: label = "zeros"; x[i] = 0.0f; break;
                case 2: label = "tiny"; x[i] = rnd_float(1e-6f); break;
                case 3:  /* amax 127 gives s = 1: exact halves test round-half-even */
                    label = "halves";
                    x[i] = i == 0 ? 127.0f : (float)rnd_in(-253, 253) * 0.5f;
                    break;
                case 4: label = "spiky"; x[i] = (i % 97 == 0) ? rnd_float(1e4f) : rnd_float(1.0f); break;
                case 5: label = "negzero"; x[i] = (i & 1) ? -0.0f : rnd_float(1e-3f); break;
                case 6: label = "huge"; x[i] = rnd_float(3e38f); break;
                case 7: label = "nan"; x[i] = (i % 5 == 3) ? NAN : rnd_float(2.0f); break;
                case 8: label = "inf"; x[i] = (i == n / 2) ? -INFINITY : rnd_float(2.0f); break;
                case 9: {  /* signalling NaNs (a file's data), which fmaxf would pass on */
                    label = "snan";
                    uint32_t snan = 0x7fa00000u | (uint32_t)(i & 0xff);
                    if (i % 3 == 1)
                        memcpy(&x[i], &snan, sizeof snan);
                    else
                        x[i] = rnd_float(2.0f);
                    break;
                }
                }
            }
            check_quant_one(k, tl, x, n, label);
        }
        free(x - 1);
    }
}

/* ---------- to_f16 ---------- */

/* Floats of every exponent with random mantissas, the boundaries of the
 * half range (rounding ties, overflow, subnormals) and NaNs with payloads. */
static void check_to_f16(const bn_kernels *k, tally *tl)
{
    enum { N = 1 << 16 };
    float *x = xmalloc(N * sizeof *x);
    uint16_t *a = xmalloc(N * sizeof *a), *b = xmalloc(N * sizeof *b);
    for (int rep = 0; rep < 8; rep++) {
        for (uint32_t i = 0; i < N; i++) {
            uint32_t bits;
            if (rep == 0) {  /* every half as f32, a quarter of them moved by +1 ulp, -1 ulp or to a tie */
                float h = bn_f16_to_f32((uint16_t)i);
                memcpy(&bits, &h, 4);
                bits += (i & 3) == 1 ? 1u : (i & 3) == 2 ? 0xffffffffu : (i & 3) == 3 ? 0x1000u : 0u;
            } else if (rep == 1) {  /* every normal half's tie with the next one up */
                float h = bn_f16_to_f32((uint16_t)i);
                memcpy(&bits, &h, 4);
                bits += 0x1000u;
            } else {
                bits = (uint32_t)rnd();
            }
            memcpy(&x[i], &bits, 4);
        }
        bn_kernels_scalar.to_f16(x, a, N - rep);
        k->to_f16(x, b, N - rep);
        tl->runs++;
        if (memcmp(a, b, (N - rep) * sizeof *a)) {
            size_t i = 0;
            while (a[i] == b[i])
                i++;
            char msg[96];
            uint32_t bits;
            memcpy(&bits, &x[i], 4);
            snprintf(msg, sizeof msg, "f32 0x%08x: 0x%04x, want 0x%04x", bits, b[i], a[i]);
            report_mismatch(tl, table_name(k), msg);
        }
    }
    free(x);
    free(a);
    free(b);
}

/* ---------- rmsnorm ---------- */

/* The first i where b[i] is not a[i] bit for bit (any NaN matching any
 * NaN), or -1. */
static int64_t first_float_mismatch(const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) && !(isnan(a[i]) && isnan(b[i])))
            return i;
    return -1;
}

/* Every length 1..40 and the models' rows, rows of typical, huge, tiny and
 * zero values (where eps decides the scale), an infinity or NaN now and
 * then, out of place and in place; equal bits, any NaN matching any NaN. */
static void check_rmsnorm(const bn_kernels *k, tally *tl)
{
    enum { N = 6912 + 7 };
    float *x = xmalloc(N * sizeof *x), *w = xmalloc(N * sizeof *w);
    float *a = xmalloc(N * sizeof *a), *b = xmalloc(N * sizeof *b);
    static const float mags[] = { 1.0f, 30.0f, 1e18f, 1e-20f, 0.0f };
    for (int64_t n = 1; n <= N; n = n < 40 ? n + 1 : n < 2560 ? 2560 : n < 6912 ? 6912 : N) {
        for (int m = 0; m < 5; m++) {
            uint32_t r0 = (uint32_t)rnd();
            for (int64_t i = 0; i < n; i++) {
                uint32_t r = (uint32_t)rnd();
                x[i] = rnd_float(mags[m]);
                if (m == 1 && r % 997 == 0)
                    x[i] = (r >> 10) & 1 ? INFINITY : NAN;
                w[i] = rnd_float(2.0f);
            }
            float eps = r0 & 1 ? 1e-5f : 1e-6f;
            bn_kernels_scalar.rmsnorm(x, w, n, eps, a);
            int in_place = (r0 >> 1) & 1;
            if (in_place) {
                memcpy(b, x, (size_t)n * sizeof *x);
                k->rmsnorm(b, w, n, eps, b);
            } else {
                k->rmsnorm(x, w, n, eps, b);
            }
            tl->runs++;
            int64_t i = first_float_mismatch(a, b, n);
            if (i >= 0) {
                char msg[128];
                snprintf(msg, sizeof msg, "n %lld scale %g%s: [%lld] %.9g, want %.9g", (long long)n, (double)mags[m],
                         in_place ? " in place" : "", (long long)i, (double)b[i], (double)a[i]);
                report_mismatch(tl, table_name(k), msg);
            }
        }
        if (n == N)
            break;
    }
    free(x);
    free(w);
    free(a);
    free(b);
}

/* ---------- glu ---------- */

/* Both activations over every length 1..40 and a long row, gates from
 * typical to beyond the exponential's clamps, with -0, infinities, NaN and
 * random bit patterns; equal bits, any NaN matching any NaN. */
static void check_glu(const bn_kernels *k, tally *tl)
{
    enum { N = 6912 + 7 };
    float *g = xmalloc(N * sizeof *g), *u = xmalloc(N * sizeof *u);
    float *a = xmalloc(N * sizeof *a), *b = xmalloc(N * sizeof *b);
    static const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.0f, 89.0f, -87.0f, -88.0f, 1e-40f };
    for (int act = BN_GLU_RELU2; act <= BN_GLU_SILU; act++)
        for (int64_t n = 1; n <= N; n = n < 40 ? n + 1 : N) {
            for (int64_t i = 0; i < n; i++) {
                uint32_t r = (uint32_t)rnd();
                if (r % 16 == 0)
                    g[i] = special[(r >> 4) % (sizeof special / sizeof special[0])];
                else if (r % 16 == 1)
                    memcpy(&g[i], &r, sizeof r);
                else
                    g[i] = rnd_float(r % 16 == 2 ? 200.0f : 6.0f);
                u[i] = rnd_float(3.0f);
            }
            memcpy(a, g, (size_t)n * sizeof *g);
            memcpy(b, g, (size_t)n * sizeof *g);
            bn_kernels_scalar.glu(act, a, u, n);
            k->glu(act, b, u, n);
            tl->runs++;
            int64_t i = first_float_mismatch(a, b, n);
            if (i >= 0) {
                char msg[128];
                snprintf(msg, sizeof msg, "%s n %lld: gate %.9g up %.9g -> %.9g, want %.9g",
                         act == BN_GLU_SILU ? "silu" : "relu2", (long long)n, (double)g[i], (double)u[i], (double)b[i],
                         (double)a[i]);
                report_mismatch(tl, table_name(k), msg);
            }
            if (n == N)
                break;
        }
    free(g);
    free(u);
    free(a);
    free(b);
}

/* ---------- attn ---------- */

/* n_tok tokens of `group` heads, token t attending to n_kv + t positions;
 * the tokens' q rows and outputs are apart by more than a token's heads, and
 * the gaps must stay untouched. */
static void check_attn_one(const bn_kernels *k, tally *tl, int group, int d, uint32_t n_kv, uint32_t n_tok, float amp)
{
    /* The rows start d elements in and the last one ends the buffer, so
     * that reading past a head's tail is caught under AddressSanitizer. */
    uint32_t n_pos = n_kv + n_tok - 1;
    size_t kv_stride = (size_t)d * 3 + 8, sc_stride = n_pos + 5;
    size_t q_stride = (size_t)group * d + 3, out_stride = (size_t)group * d + 5;
    size_t kv_elems = (size_t)d + (size_t)(n_pos - 1) * kv_stride + (size_t)d;
    size_t q_n = (n_tok - 1) * q_stride + (size_t)group * d, out_n = (n_tok - 1) * out_stride + (size_t)group * d;
    float *q = xmalloc(q_n * sizeof *q);
    uint16_t *kc = xmalloc(kv_elems * sizeof *kc), *vc = xmalloc(kv_elems * sizeof *vc);
    for (size_t i = 0; i < q_n; i++)
        q[i] = rnd_float(amp);
    for (size_t i = 0; i < kv_elems; i++) {
        kc[i] = bn_f32_to_f16(rnd_float(amp));
        vc[i] = bn_f32_to_f16(rnd_float(4.0f));
    }
    float scale = 1.0f / sqrtf((float)d);
    size_t sc_n = (size_t)n_tok * group * sc_stride;
    float *sc0 = xmalloc(sc_n * sizeof *sc0), *sc1 = xmalloc(sc_n * sizeof *sc1);
    float *row = xmalloc((size_t)BN_ATTN_CHUNK * (size_t)((d + 15) & ~15) * sizeof *row);
    outbuf o0 = out_new(out_n), o1 = out_new(out_n);
    bn_kernels_scalar.attn(q, q_stride, n_tok, kc + d, vc + d, kv_stride, n_kv, group, d, scale, sc0, sc_stride, row,
                           o0.y, out_stride, 0, NULL, 0);
    /* The prefetch hints (cold; the next call's rows: here the V rows) must not change a result. */
    k->attn(q, q_stride, n_tok, kc + d, vc + d, kv_stride, n_kv, group, d, scale, sc1, sc_stride, row, o1.y,
            out_stride, (int)(n_kv & 1), n_kv & 2 ? vc + d : NULL, n_kv & 2 ? (kv_elems - (size_t)d) * sizeof *vc : 0);
    tl->runs++;
    char msg[160];
    if (!canaries_ok(&o1)) {
        snprintf(msg, sizeof msg, "group %d d %d n_kv %u n_tok %u: wrote outside out", group, d, n_kv, n_tok);
        report_mismatch(tl, table_name(k), msg);
    } else if (memcmp(o0.y, o1.y, out_n * sizeof(float))) {
        size_t i = 0;
        while (!memcmp(&o0.y[i], &o1.y[i], sizeof(float)))
            i++;
        size_t t = i / out_stride, e = i % out_stride;
        snprintf(msg, sizeof msg, "group %d d %d n_kv %u amp %g: token %zu out[head %zu][%zu] = %.9g, want %.9g",
                 group, d, n_kv, (double)amp, t, e / (size_t)d, e % (size_t)d, o1.y[i], o0.y[i]);
        report_mismatch(tl, table_name(k), msg);
    }
    free(q);
    free(kc);
    free(vc);
    free(sc0);
    free(sc1);
    free(row);
    free(o0.base);
    free(o1.base);
}

static void check_attn(const bn_kernels *k, tally *tl)
{
    static const int groups[] = {1, 2, 3, 4, 5, 8}, dims[] = {1, 2, 3, 5, 6, 7, 8, 12, 15, 24, 64, 80, 97, 100, 120, 128};
    static const uint32_t lens[] = {1, 2, 3, 7, 64, 301}, toks[] = {1, 2, 3, 5, 8};
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            uint32_t n_kv = lens[rnd() % (sizeof lens / sizeof lens[0])];
            check_attn_one(k, tl, groups[gi], dims[di], n_kv, 1, 1.0f);
            check_attn_one(k, tl, groups[gi], dims[di], n_kv, toks[rnd() % (sizeof toks / sizeof toks[0])], 1.0f);
        }
    /* every pass tail: positions and 8-value chunks left over per head
     * count, and blocks of heads that span tokens of different lengths */
    for (int group = 1; group <= 5; group++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (size_t ti = 0; ti < sizeof toks / sizeof toks[0]; ti++)
                check_attn_one(k, tl, group, 80 + 4 * (int)(li % 2), lens[li], toks[ti], 1.0f);
    /* more query rows than the AVX-512 chunked path takes at once (64),
     * and chunks of cached rows ending at odd positions */
    check_attn_one(k, tl, 5, 64, 130, 16, 1.0f);
    check_attn_one(k, tl, 3, 97, 70, 23, 1.0f);
    check_attn_one(k, tl, 1, 8, 1, 70, 1.0f);
    /* prefill at the shapes of the models: 2B-4T's heads (groups of four,
     * d = 128) and bitnet_b1_58-large's (one a K/V head, d = 96) */
    check_attn_one(k, tl, 4, 128, 301, 16, 1.0f);
    check_attn_one(k, tl, 1, 96, 66, 19, 1.0f);
    /* large scores (one position takes nearly all the weight) and tiny ones */
    check_attn_one(k, tl, 4, 128, 97, 1, 30.0f);
    check_attn_one(k, tl, 1, 96, 97, 8, 30.0f);
    check_attn_one(k, tl, 4, 128, 97, 1, 1e-3f);
}

/* ---------- tgemm ---------- */

static void fill_codes(uint8_t *codes, size_t nbytes, int pat)
{
    for (size_t i = 0; i < nbytes; i++) {
        uint8_t b = 0;
        for (int f = 0; f < 4; f++) {
            int c = pat == 0 ? (int)(rnd() % 3) : pat == 1 ? 0 : pat == 2 ? 2 : 1;
            b = (uint8_t)(b | (c << (2 * f)));
        }
        codes[i] = b;
    }
}

/* n bytes that end where an inaccessible page begins: a kernel that reads
 * past the end of its input faults here rather than passing by chance. */
typedef struct guarded {
    void *p, *map;
    size_t len;
} guarded;

static guarded guarded_new(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (n + page - 1) / page * page + page;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect((char *)m + len - page, page, PROT_NONE) != 0) {
        fprintf(stderr, "checkkernels: cannot map a guarded buffer of %zu bytes\n", n);
        exit(2);
    }
    return (guarded){ (char *)m + len - page - n, m, len };
}

static void guarded_free(guarded g)
{
    munmap(g.map, g.len);
}

#if defined(__x86_64__)
/* Whether the AMX tile data is in use (XINUSE bit 18, xgetbv 1), where the
 * CPU can say: a kernel must release the tiles before it returns. */
static int tiles_in_use(void)
{
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(1));
    if (!(a & 4))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    return (lo >> 18) & 1;
}
#else
static int tiles_in_use(void)
{
    return 0;
}
#endif

static void fill_q(int8_t *q, int64_t n, int pat)
{
    for (int64_t i = 0; i < n; i++) {
        switch (pat) {
        case 0: q[i] = (int8_t)(rnd() & 0xff); break;  /* -128 included */
        case 1: q[i] = 127; break;
        case 2: q[i] = -127; break;
        case 3: q[i] = (i & 1) ? 127 : -127; break;
        case 4: q[i] = -128; break;
        default: q[i] = (int8_t)rnd_in(-3, 3); break;
        }
    }
}

static const char *const code_pats[] = {"random", "all0", "all2", "all1"};
static const char *const q_pats[] = {"random", "+127", "-127", "alt127", "-128", "small"};

/* One tgemm result y against the scalar y0: nothing written outside y, the
 * AMX tiles released, the same bits. */
static void tgemm_verdict(const bn_kernels *k, tally *tl, const char *what, const outbuf *y0, const outbuf *y,
                          size_t ny, int64_t ldy)
{
    char msg[320];
    tl->runs++;
    if (!canaries_ok(y)) {
        snprintf(msg, sizeof msg, "%s: wrote outside y", what);
        report_mismatch(tl, table_name(k), msg);
    } else if (tiles_in_use()) {
        snprintf(msg, sizeof msg, "%s: returned with the AMX tiles in use", what);
        report_mismatch(tl, table_name(k), msg);
    } else if (memcmp(y0->y, y->y, ny * sizeof(float))) {
        size_t i = 0;
        while (!memcmp(&y0->y[i], &y->y[i], sizeof(float)))
            i++;
        snprintf(msg, sizeof msg, "%s: y[tok %zu][row %zu] = %.9g, want %.9g", what, i / (size_t)ldy,
                 i % (size_t)ldy, y->y[i], y0->y[i]);
        report_mismatch(tl, table_name(k), msg);
    }
}

static void check_tgemm_one(const bn_kernels *k, tally *tl, int64_t rows, int64_t cols, int64_t n_tok, int cpat,
                            int qpat, int64_t r0, int64_t r1)
{
    size_t nbytes = bn_tmat_bytes(rows, cols);
    guarded codes_buf = guarded_new(nbytes), q_buf = guarded_new((size_t)(n_tok * cols));
    uint8_t *codes = codes_buf.p;
    int8_t *q = q_buf.p;
    float *scale = xmalloc((size_t)n_tok * sizeof *scale);
    int32_t *sum = xmalloc((size_t)n_tok * sizeof *sum);
    fill_codes(codes, nbytes, cpat);
    fill_q(q, n_tok * cols, qpat);
    for (int64_t t = 0; t < n_tok; t++) {
        int32_t s = 0;
        for (int64_t i = 0; i < cols; i++)
            s += q[t * cols + i];
        sum[t] = s;
        scale[t] = 0.5f + (float)(rnd() % 1000) / 7.0f;
    }
    bn_tmat w = { codes, rows, cols, 0.25f + (float)(rnd() % 100) / 33.0f };
    int64_t ldy = rows + (int64_t)(rnd() % 3);
    size_t ny = (size_t)(n_tok * ldy);
    outbuf y0 = out_new(ny), y1 = out_new(ny);
    bn_kernels_scalar.tgemm(&w, r0, r1, q, scale, sum, n_tok, y0.y, ldy);
    k->tgemm(&w, r0, r1, q, scale, sum, n_tok, y1.y, ldy);
    char what[160];
    snprintf(what, sizeof what,
             "%" PRId64 "x%" PRId64 " n_tok=%" PRId64 " rows [%" PRId64 ",%" PRId64 ") codes=%s q=%s", rows, cols,
             n_tok, r0, r1, code_pats[cpat], q_pats[qpat]);
    tgemm_verdict(k, tl, what, &y0, &y1, ny, ldy);
    if (k->tgemm_tiled && n_tok >= 2) {  /* the activations in tiles as well, ending where a fault page begins */
        guarded qt_buf = guarded_new(bn_tile_act_bytes(n_tok, cols));
        for (int64_t t = 0; t < n_tok; t++)
            bn_tile_act(q + t * cols, cols, t, qt_buf.p);
        outbuf y2 = out_new(ny);
        k->tgemm_tiled(&w, r0, r1, q, qt_buf.p, scale, sum, n_tok, y2.y, ldy);
        strncat(what, " (tiled)", sizeof what - strlen(what) - 1);
        tgemm_verdict(k, tl, what, &y0, &y2, ny, ldy);
        guarded_free(qt_buf);
        free(y2.base);
    }
    guarded_free(codes_buf);
    guarded_free(q_buf);
    free(scale);
    free(sum);
    free(y0.base);
    free(y1.base);
}

static void random_range(int64_t rows, int64_t *r0, int64_t *r1)
{
    if (rnd() % 4 == 0) {
        *r0 = 0;
        *r1 = rows;
        return;
    }
    *r0 = rnd_in(0, rows - 1);
    *r1 = rnd_in(*r0 + 1, rows);
}

static void check_tgemm(const bn_kernels *k, tally *tl)
{
    static const int64_t colset[] = {128, 256, 384, 512, 640, 1024, 2560, 4096, 6912};
    /* up to and past each tile's token count (4, or 8 in the prefetching AVX-512 build),
     * a ragged tile after full ones (13, 15), and the prefetching build's prefill
     * prefetch, which starts at four tiles (33) */
    static const int64_t tokset[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 15, 17, 33, 64};
    /* every token count against a spread of shapes */
    for (size_t ti = 0; ti < sizeof tokset / sizeof tokset[0]; ti++)
        for (int rep = 0; rep < 12; rep++) {
            int64_t n_tok = tokset[ti];
            int64_t rows = rnd_in(1, 67);
            int64_t cols = colset[rnd() % (sizeof colset / sizeof colset[0])];
            if (n_tok == 64 && cols > 1024)
                rows = rnd_in(1, 9);  /* keeps the scalar reference quick */
            int64_t r0, r1;
            random_range(rows, &r0, &r1);
            check_tgemm_one(k, tl, rows, cols, n_tok, (int)(rnd() % 4), (int)(rnd() % 6), r0, r1);
        }
    /* edge patterns: every code pattern against every activation extreme,
     * also through two 16-row blocks and a ragged 32-token tile (AMX) and
     * the AVX2 prefill's segments */
    for (int cp = 0; cp < 4; cp++)
        for (int qp = 0; qp < 6; qp++) {
            for (int64_t n_tok = 1; n_tok <= 9; n_tok += 4)
                check_tgemm_one(k, tl, 13, 2560, n_tok, cp, qp, 3, 12);
            check_tgemm_one(k, tl, 37, 1024, 49, cp, qp, 2, 35);
            /* AVX2's unpacked prefill: two segments of 2048 columns, whose
             * 64 fields of 16-bit sums reach -32768 exactly for codes 2
             * against all -128; tiles of 5 and 6 tokens; ragged groups */
            check_tgemm_one(k, tl, 11, 4096, 26, cp, qp, 1, 10);
        }
    /* the model's shapes: a thread's chunk of full 32-row blocks that starts
     * inside one, ragged token tiles after full ones */
    check_tgemm_one(k, tl, 96, 6912, 80, 0, 0, 16, 80);
    check_tgemm_one(k, tl, 64, 2560, 128, 0, 0, 32, 64);
    /* long rows: 16-bit partial sums must widen in time; past 2^16 columns */
    check_tgemm_one(k, tl, 5, 65536 + 128, 1, 2, 4, 0, 5);
    check_tgemm_one(k, tl, 5, 65536 + 128, 3, 0, 0, 1, 4);
    check_tgemm_one(k, tl, 3, 65536 + 384, 2, 1, 2, 0, 3);
    /* 2^24 columns: sum(code * q) passes 2^31 and must wrap back exactly */
    check_tgemm_one(k, tl, 2, (int64_t)1 << 24, 1, 2, 1, 0, 2);
    check_tgemm_one(k, tl, 1, (int64_t)1 << 24, 1, 0, 2, 0, 1);
    /* the same through the AMX tiles (16 tokens): 2 * 127 * cols > 2^31 */
    check_tgemm_one(k, tl, 1, ((int64_t)1 << 23) + ((int64_t)1 << 17), 16, 2, 1, 0, 1);
}

/* ---------- fgemm ---------- */

/* i8gemm: int8 rows (random, or all +127 / all -127) against every activation
 * pattern, unaligned row ranges, several tokens. */
static void check_i8gemm_one(const bn_kernels *k, tally *tl, int64_t rows, int64_t cols, int64_t n_tok, int wpat,
                             int qpat, int64_t r0, int64_t r1)
{
    int8_t *wq = xmalloc((size_t)(rows * cols)), *q = xmalloc((size_t)(n_tok * cols));
    float *wscale = xmalloc((size_t)rows * sizeof *wscale), *scale = xmalloc((size_t)n_tok * sizeof *scale);
    int32_t *wsum = xmalloc((size_t)rows * sizeof *wsum);
    for (int64_t r = 0; r < rows; r++) {
        int32_t s = 0;
        for (int64_t i = 0; i < cols; i++) {
            int8_t v = wpat == 0 ? (int8_t)rnd_in(-127, 127) : wpat == 1 ? 127 : -127;
            wq[r * cols + i] = v;
            s += v;
        }
        wsum[r] = s;
        wscale[r] = (float)(rnd() % 1000 + 1) / 4096.0f;
    }
    fill_q(q, n_tok * cols, qpat);
    for (int64_t t = 0; t < n_tok; t++)
        scale[t] = 0.5f + (float)(rnd() % 1000) / 7.0f;
    bn_i8mat w = { wq, wscale, wsum, rows, cols };
    int64_t ldy = rows + (int64_t)(rnd() % 3);
    size_t ny = (size_t)(n_tok * ldy);
    outbuf y0 = out_new(ny), y1 = out_new(ny);
    bn_kernels_scalar.i8gemm(&w, r0, r1, q, scale, n_tok, y0.y, ldy);
    k->i8gemm(&w, r0, r1, q, scale, n_tok, y1.y, ldy);
    tl->runs++;
    char msg[160];
    if (!canaries_ok(&y1) || memcmp(y0.y, y1.y, ny * sizeof(float))) {
        snprintf(msg, sizeof msg, "%" PRId64 "x%" PRId64 " n_tok=%" PRId64 " rows [%" PRId64 ",%" PRId64 ") q=%s",
                 rows, cols, n_tok, r0, r1, q_pats[qpat]);
        report_mismatch(tl, table_name(k), msg);
    }
    free(wq);
    free(q);
    free(wscale);
    free(scale);
    free(wsum);
    free(y0.base);
    free(y1.base);
}

static void check_i8gemm(const bn_kernels *k, tally *tl)
{
    static const int64_t colset[] = {128, 256, 384, 2560, 4096};
    for (int rep = 0; rep < 40; rep++) {
        int64_t rows = rnd_in(1, 67), cols = colset[rnd() % (sizeof colset / sizeof colset[0])], r0, r1;
        random_range(rows, &r0, &r1);
        check_i8gemm_one(k, tl, rows, cols, rnd_in(1, 5), 0, (int)(rnd() % 6), r0, r1);
    }
    for (int wp = 0; wp < 3; wp++)
        for (int qp = 0; qp < 6; qp++) {
            check_i8gemm_one(k, tl, 9, 65536, 1, wp, qp, 1, 8);  /* the longest rows allowed */
            check_i8gemm_one(k, tl, 9, 65536, 5, wp, qp, 1, 8);  /* and in tiles of several tokens */
        }
}

static const uint32_t dense_types[] = {BN_TYPE_F32, BN_TYPE_F16, BN_TYPE_BF16, BN_TYPE_Q8_0, BN_TYPE_Q4_K, BN_TYPE_Q6_K};

/* A finite half with a random sign, exponent (subnormals included) and mantissa. */
static uint16_t rnd_half(int max_exp)
{
    uint16_t e = (uint16_t)rnd_in(0, max_exp);
    return (uint16_t)(((rnd() & 1) << 15) | (e << 10) | (rnd() & 0x3ff));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* One row of random weights; values stay finite so that no NaN payload
 * decides a comparison. */
static void fill_row(uint32_t type, uint8_t *row, int64_t cols, size_t row_bytes)
{
    for (size_t i = 0; i < row_bytes; i++)
        row[i] = (uint8_t)rnd();
    switch (type) {
    case BN_TYPE_F32:
        for (int64_t i = 0; i < cols; i++) {
            float v = rnd() % 17 == 0 ? 0.0f : rnd_float(2.0f) * (float)ldexp(1.0, (int)rnd_in(-30, 8));
            memcpy(row + 4 * i, &v, 4);
        }
        break;
    case BN_TYPE_F16:
        for (int64_t i = 0; i < cols; i++)
            put16(row + 2 * i, rnd_half(30));
        break;
    case BN_TYPE_BF16:
        for (int64_t i = 0; i < cols; i++) {
            uint16_t e = (uint16_t)(rnd() % 9 == 0 ? 0 : rnd_in(127 - 40, 127 + 20));
            put16(row + 2 * i, (uint16_t)(((rnd() & 1) << 15) | (e << 7) | (rnd() & 0x7f)));
        }
        break;
    case BN_TYPE_Q8_0:
        for (int64_t b = 0; b < cols / 32; b++)
            put16(row + 34 * b, rnd_half(20));
        break;
    case BN_TYPE_Q4_K:
        for (int64_t b = 0; b < cols / 256; b++) {
            put16(row + 144 * b, rnd_half(20));
            put16(row + 144 * b + 2, rnd_half(20));
        }
        break;
    case BN_TYPE_Q6_K:
        for (int64_t b = 0; b < cols / 256; b++)
            put16(row + 210 * b + 208, rnd_half(20));
        break;
    }
}

/* tiny: activations near the bottom of the subnormals, so that many
 * products underflow to +0 or -0 and whole rows can sum to a signed zero
 * (the tails' zero padding must then give the scalar code's sign). */
static void check_fgemm_one(const bn_kernels *k, tally *tl, uint32_t type, int64_t rows, int64_t cols, int64_t n_tok,
                            int64_t r0, int64_t r1, int tiny)
{
    const bn_type_traits *tt = bn_type_get(type);
    size_t row_bytes = (size_t)(cols / tt->block_size) * tt->block_bytes + (size_t)(rnd() % 2) * 8;
    uint8_t *w = (uint8_t *)xmalloc(rows * row_bytes + 1) + 1;  /* rows at odd addresses */
    for (int64_t r = 0; r < rows; r++)
        fill_row(type, w + r * row_bytes, cols, row_bytes);
    float *x = xmalloc((size_t)(n_tok * cols) * sizeof *x);
    for (int64_t i = 0; i < n_tok * cols; i++)
        x[i] = tiny ? rnd_float(1.0f) * (float)ldexp(1.0, -(int)rnd_in(110, 149)) : rnd_float(4.0f);
    int64_t ldy = rows + (int64_t)(rnd() % 3);
    size_t ny = (size_t)(n_tok * ldy);
    outbuf y0 = out_new(ny), y1 = out_new(ny);
    bn_kernels_scalar.fgemm(type, w, row_bytes, r0, r1, cols, x, n_tok, y0.y, ldy);
    k->fgemm(type, w, row_bytes, r0, r1, cols, x, n_tok, y1.y, ldy);
    tl->runs++;
    char msg[256];
    if (!canaries_ok(&y1)) {
        snprintf(msg, sizeof msg, "%s %" PRId64 "x%" PRId64 " n_tok=%" PRId64 ": wrote outside y", tt->name, rows, cols,
                 n_tok);
        report_mismatch(tl, table_name(k), msg);
    } else if (memcmp(y0.y, y1.y, ny * sizeof(float))) {
        size_t i = 0;
        while (!memcmp(&y0.y[i], &y1.y[i], sizeof(float)))
            i++;
        snprintf(msg, sizeof msg,
                 "%s %" PRId64 "x%" PRId64 " n_tok=%" PRId64 " rows [%" PRId64 ",%" PRId64 "): "
                 "y[tok %zu][row %zu] = %a, want %a",
                 tt->name, rows, cols, n_tok, r0, r1, i / (size_t)ldy, i % (size_t)ldy, y1.y[i], y0.y[i]);
        report_mismatch(tl, table_name(k), msg);
    }
    free(w - 1);
    free(x);
    free(y0.base);
    free(y1.base);
}

/* Rows whose every product underflows to -0 (weights 2^-14, activations
 * -2^-140): a lane of -0 that a tail's zero padding meets becomes +0, in
 * the scalar code as in SIMD tails, so the sums must agree to the sign. */
static void check_fgemm_signed_zero(const bn_kernels *k, tally *tl, uint32_t type)
{
    static const int64_t colset[] = {17, 23, 31, 47, 48}, tokset[] = {1, 2, 3, 12};  /* 12: AVX2's fgemm_many */
    uint16_t h = type == BN_TYPE_F16 ? 0x0400 : 0x3880;  /* 2^-14 as F16, as BF16 */
    float f = 0x1p-14f, xv = -0x1p-140f;
    for (size_t ci = 0; ci < sizeof colset / sizeof colset[0]; ci++)
        for (size_t ti = 0; ti < sizeof tokset / sizeof tokset[0]; ti++) {
            int64_t n_tok = tokset[ti];
            int64_t cols = colset[ci], rows = 3;
            size_t row_bytes = (size_t)cols * (type == BN_TYPE_F32 ? 4 : 2);
            uint8_t *w = xmalloc(rows * row_bytes);
            for (int64_t i = 0; i < rows * cols; i++) {
                if (type == BN_TYPE_F32)
                    memcpy(w + 4 * i, &f, 4);
                else
                    put16(w + 2 * i, h);
            }
            float *x = xmalloc((size_t)(n_tok * cols) * sizeof *x), y0[36], y1[36];
            for (int64_t i = 0; i < n_tok * cols; i++)
                x[i] = xv;
            bn_kernels_scalar.fgemm(type, w, row_bytes, 0, rows, cols, x, n_tok, y0, rows);
            k->fgemm(type, w, row_bytes, 0, rows, cols, x, n_tok, y1, rows);
            tl->runs++;
            if (memcmp(y0, y1, (size_t)(n_tok * rows) * sizeof *y0)) {
                char msg[128];
                snprintf(msg, sizeof msg, "%s signed zero, cols=%" PRId64 " n_tok=%" PRId64 ": %a, want %a",
                         bn_type_get(type)->name, cols, n_tok, y1[0], y0[0]);
                report_mismatch(tl, table_name(k), msg);
            }
            free(w);
            free(x);
        }
}

static void check_fgemm(const bn_kernels *k, tally *tl, uint32_t type)
{
    static const int64_t elem_cols[] = {1, 7, 15, 16, 17, 33, 100, 127, 128, 129, 256, 2560};
    /* up to and past the tiles' four tokens, several tiles and a ragged one */
    static const int64_t tokset[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 17, 47, 64};
    const bn_type_traits *tt = bn_type_get(type);
    for (size_t ti = 0; ti < sizeof tokset / sizeof tokset[0]; ti++)
        for (int rep = 0; rep < 8; rep++) {
            int64_t n_tok = tokset[ti], cols;
            if (tt->block_size == 1)
                cols = elem_cols[rnd() % (sizeof elem_cols / sizeof elem_cols[0])];
            else
                cols = tt->block_size * rnd_in(1, 2560 / tt->block_size);
            int64_t rows = rnd_in(1, n_tok > 32 ? 9 : 67);
            int64_t r0, r1;
            random_range(rows, &r0, &r1);
            check_fgemm_one(k, tl, type, rows, cols, n_tok, r0, r1, 0);
        }
    check_fgemm_one(k, tl, type, 67, 2560, 1, 1, 66, 0);
    check_fgemm_one(k, tl, type, 5, tt->block_size == 1 ? 6913 : 6912, 2, 0, 5, 0);
    for (int64_t n_tok = 1; n_tok <= 5; n_tok++)
        for (int rep = 0; rep < 4; rep++)
            check_fgemm_one(k, tl, type, 67, tt->block_size == 1 ? rnd_in(1, 40) : tt->block_size, n_tok, 0, 67, 1);
    if (tt->block_size == 1)
        check_fgemm_signed_zero(k, tl, type);
}

/* F16 rows in pairs (BN_TYPE_F16X2) must give exactly what the same rows as
 * plain F16 give, on every level and in the scalar code itself: the layout
 * changes where a row's chunks lie, never the order of its operations. Odd
 * row counts (padded with a zero row), odd first rows, every token count. */
static void check_fgemm_pairs_one(const bn_kernels *k, tally *tl, int64_t rows, int64_t cols, int64_t n_tok,
                                  int64_t r0, int64_t r1)
{
    size_t row_bytes = (size_t)cols * 2;
    int64_t padded = (rows + 1) & ~(int64_t)1;
    uint8_t *w = xmalloc(rows * row_bytes), *wp = xmalloc(padded * row_bytes);
    memset(wp, 0, padded * row_bytes);
    for (int64_t r = 0; r < rows; r++) {
        fill_row(BN_TYPE_F16, w + r * row_bytes, cols, row_bytes);
        for (int64_t j = 0; j < cols / 16; j++)
            memcpy((uint8_t *)bn_f16x2_row(wp, row_bytes, r) + 64 * j, w + r * row_bytes + 32 * j, 32);
    }
    float *x = xmalloc((size_t)(n_tok * cols) * sizeof *x);
    for (int64_t i = 0; i < n_tok * cols; i++)
        x[i] = rnd_float(4.0f);
    size_t ny = (size_t)(n_tok * rows);
    outbuf want = out_new(ny), sc = out_new(ny), got = out_new(ny);
    bn_kernels_scalar.fgemm(BN_TYPE_F16, w, row_bytes, r0, r1, cols, x, n_tok, want.y, rows);
    bn_kernels_scalar.fgemm(BN_TYPE_F16X2, wp, row_bytes, r0, r1, cols, x, n_tok, sc.y, rows);
    k->fgemm(BN_TYPE_F16X2, wp, row_bytes, r0, r1, cols, x, n_tok, got.y, rows);
    tl->runs++;
    char msg[160];
    snprintf(msg, sizeof msg, "%" PRId64 "x%" PRId64 " n_tok=%" PRId64 " rows [%" PRId64 ",%" PRId64 ")", rows, cols,
             n_tok, r0, r1);
    if (!canaries_ok(&got) || memcmp(want.y, got.y, ny * sizeof(float)))
        report_mismatch(tl, table_name(k), msg);
    if (memcmp(want.y, sc.y, ny * sizeof(float)))
        report_mismatch(tl, "scalar", msg);
    /* a row of pairs through dequant_row: the tied embedding's lookup */
    float *a = xmalloc(cols * sizeof *a), *b = xmalloc(cols * sizeof *b);
    int64_t r = rows - 1;
    bn_kernels_scalar.dequant_row(BN_TYPE_F16, w + r * row_bytes, a, cols);
    k->dequant_row(BN_TYPE_F16X2, bn_f16x2_row(wp, row_bytes, r), b, cols);
    if (memcmp(a, b, cols * sizeof *a))
        report_mismatch(tl, table_name(k), "dequant_row of a row in pairs");
    free(a);
    free(b);
    free(w);
    free(wp);
    free(x);
    free(want.base);
    free(sc.base);
    free(got.base);
}

static void check_fgemm_pairs(const bn_kernels *k, tally *tl)
{
    /* 8 and more: AVX2's fgemm_many, 32 tokens a pass */
    static const int64_t tokset[] = {1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 33, 47, 64};
    for (size_t ti = 0; ti < sizeof tokset / sizeof tokset[0]; ti++)
        for (int rep = 0; rep < 12; rep++) {
            int64_t rows = rnd_in(1, tokset[ti] > 32 ? 27 : 67), cols = 16 * rnd_in(1, 160), r0, r1;
            random_range(rows, &r0, &r1);
            check_fgemm_pairs_one(k, tl, rows, cols, tokset[ti], r0, r1);
        }
    check_fgemm_pairs_one(k, tl, 67, 2560, 1, 1, 66);
    check_fgemm_pairs_one(k, tl, 64, 2560, 1, 0, 64);
}

/* ---------- bench ---------- */

/* A weight buffer on huge pages where the system gives them, as the library
 * keeps its weights and bitnet-bench its read buffer: 4 KiB pages read
 * about 5% slower, and the comparison would be unfair. */
static void *weights_alloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 2u << 20, n ? n : 1) != 0) {
        fprintf(stderr, "checkkernels: out of memory (%zu bytes)\n", n);
        exit(2);
    }
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

/* Best seconds per call over passes that call fn on buffers 0 .. n_buf - 1
 * in turn: with buffers far larger than the caches together, each call
 * streams its weights from memory, the way a forward pass meets them; a
 * pass is comparable to one pass of the read loop. */
typedef void bench_fn(void *arg, int i);

static double time_passes(bench_fn *fn, void *arg, int n_buf, double budget_s)
{
    double best = 1e30, start = ex_now();
    int passes = 0;
    do {
        double t0 = ex_now();
        for (int i = 0; i < n_buf; i++)
            fn(arg, i);
        double dt = (ex_now() - t0) / n_buf;
        if (dt < best)
            best = dt;
        passes++;
    } while (ex_now() - start < budget_s || passes < 3);
    return best;
}

typedef struct {
    const bn_kernels *k;
    bn_tmat w[256];
    int8_t *q, *qt;  /* qt: q in tiles (bn_tile_act) */
    float *scale, *y;
    int32_t *sum;
    int64_t n_tok;
} tg_bench;

/* As the model calls it: with the activations in tiles where the table
 * takes them. */
static void tg_run(void *arg, int i)
{
    tg_bench *b = arg;
    if (b->k->tgemm_tiled && b->n_tok >= 2)
        b->k->tgemm_tiled(&b->w[i], 0, b->w[i].rows, b->q, b->qt, b->scale, b->sum, b->n_tok, b->y, b->w[i].rows);
    else
        b->k->tgemm(&b->w[i], 0, b->w[i].rows, b->q, b->scale, b->sum, b->n_tok, b->y, b->w[i].rows);
}

/* The output head of a Llama-3-vocabulary model, 128256 x 2560, as F16
 * rows (fgemm), as int8 rows (i8gemm, --quantize-head) and as Q6_K rows
 * (the heads llama.cpp's ternary files keep). */
typedef struct {
    const bn_kernels *k;
    const uint8_t *w, *wp;  /* F16 rows, and the same in pairs */
    const uint8_t *w6;      /* Q6_K rows */
    bn_i8mat w8;
    int64_t rows, cols;
    const float *x;
    const int8_t *q;
    float q_scale;
    float *y;
} head_bench;

static void f16_run(void *arg, int i)
{
    head_bench *b = arg;
    (void)i;
    b->k->fgemm(BN_TYPE_F16, b->w, (size_t)b->cols * 2, 0, b->rows, b->cols, b->x, 1, b->y, b->rows);
}

static void f16x2_run(void *arg, int i)
{
    head_bench *b = arg;
    (void)i;
    b->k->fgemm(BN_TYPE_F16X2, b->wp, (size_t)b->cols * 2, 0, b->rows, b->cols, b->x, 1, b->y, b->rows);
}

static void q6k_run(void *arg, int i)
{
    head_bench *b = arg;
    (void)i;
    b->k->fgemm(BN_TYPE_Q6_K, b->w6, (size_t)b->cols / 256 * 210, 0, b->rows, b->cols, b->x, 1, b->y, b->rows);
}

static void i8_run(void *arg, int i)
{
    head_bench *b = arg;
    (void)i;
    b->k->i8gemm(&b->w8, 0, b->rows, b->q, &b->q_scale, 1, b->y, b->rows);
}

/* Attention over one K/V head's cached rows: decode against heads in turn
 * of a cache far larger than the caches (as a decode step meets them), or a
 * prefill call of 64 query rows (BN_ATTN_ROWS: 64 / group tokens) against
 * one head's rows in cache. */
typedef struct {
    const bn_kernels *k;
    const uint16_t *kc, *vc;  /* n_heads heads of n_pos rows of d each */
    size_t head_elems;
    int n_heads, group, d;
    uint32_t n_kv, n_tok;
    const float *q;
    float *scores, *row, *out;
} attn_bench;

static void attn_run(void *arg, int i)
{
    attn_bench *b = arg;
    size_t at = (size_t)i * b->head_elems;
    size_t gd = (size_t)b->group * (size_t)b->d;
    int cold = b->n_tok == 1;  /* decode: from memory, and with the next head's K rows to fetch, as in the model */
    b->k->attn(b->q, gd, b->n_tok, b->kc + at, b->vc + at, (size_t)b->d, b->n_kv, b->group, b->d,
               1.0f / sqrtf((float)b->d), b->scores, b->n_kv + b->n_tok, b->row, b->out, gd, cold,
               cold && i + 1 < b->n_heads ? b->kc + at + b->head_elems : NULL,
               (size_t)b->n_kv * (size_t)b->d * sizeof(uint16_t));
}

/* Query rows of an attention prefill call (lib/context.h's BN_ATTN_ROWS:
 * ATTN_BENCH_ROWS / group tokens of group heads). */
#define ATTN_BENCH_ROWS 64

/* An attention bench for one model shape: cache rows for n_heads heads of
 * 1088 positions, a call's buffers for ATTN_BENCH_ROWS query rows. */
static attn_bench attn_bench_new(int group, int d, int n_heads)
{
    attn_bench b = { .n_heads = n_heads, .group = group, .d = d, .n_kv = 1088 };
    b.head_elems = (size_t)(b.n_kv + 3) * (size_t)d;
    uint16_t *kc = weights_alloc(b.head_elems * (size_t)n_heads * 2), *vc = weights_alloc(b.head_elems * (size_t)n_heads * 2);
    for (size_t i = 0; i < b.head_elems * (size_t)n_heads; i++) {
        kc[i] = bn_f32_to_f16(rnd_float(1.0f));
        vc[i] = bn_f32_to_f16(rnd_float(1.0f));
    }
    const int rows = ATTN_BENCH_ROWS;
    float *q = xmalloc64((size_t)rows * d * sizeof *q);
    for (int i = 0; i < rows * d; i++)
        q[i] = rnd_float(1.0f);
    b.kc = kc;
    b.vc = vc;
    b.q = q;
    b.scores = xmalloc64((size_t)rows * (b.n_kv + (uint32_t)rows) * sizeof(float));
    b.row = xmalloc64((size_t)BN_ATTN_CHUNK * (size_t)((d + 15) & ~15) * sizeof(float));
    b.out = xmalloc64((size_t)rows * d * sizeof(float));
    return b;
}

static void attn_bench_free(attn_bench *b)
{
    free((void *)b->kc);
    free((void *)b->vc);
    free((void *)b->q);
    free(b->scores);
    free(b->row);
    free(b->out);
}

static void print_bench_row(const char *level, const char *kernel, double s, double bytes, double ops, double base,
                            double mem_bps)
{
    char gbs[16] = "-", of[16] = "-";
    if (bytes > 0) {
        snprintf(gbs, sizeof gbs, "%.2f", bytes / s / 1e9);
        snprintf(of, sizeof of, "%.0f%%", 100.0 * bytes / s / mem_bps);
    }
    printf("%-12s %-26s %12.0f %8s %7s %8.1f %9.1f\n", level, kernel, s * 1e9, gbs, of, ops / s / 1e9, base / s);
}

static void bench(const bn_kernels *const *levels, int n_levels)
{
    /* the machine's own limit: bitnet-bench's read loop on one core */
    bench_machine mach = { .mem_bytes = 1024u << 20 };
    double mem_bps = bench_read_bandwidth(&mach, 1);
    bench_machine_free(&mach);
    if (!(mem_bps > 0)) {
        fprintf(stderr, "checkkernels: could not measure the read bandwidth\n");
        exit(2);
    }
    printf("bench: one core reads memory at %.1f GB/s (bitnet-bench's read loop, best pass over 1 GiB)\n",
           mem_bps / 1e9);

    /* I2_S 2560 x 6912 (the FFN down projection of BitNet b1.58 2B): 256
     * copies (1.1 GB, past the 300 MB L3 some Xeon VMs show), so decode
     * streams from memory as in a forward pass; 64 copies fit that L3 and
     * read 20-25% faster there than a forward pass does */
    const int64_t rows = 2560, cols = 6912, ncopy = 256;
    size_t mbytes = bn_tmat_bytes(rows, cols);
    uint8_t *codes = weights_alloc(mbytes * ncopy);
    fill_codes(codes, mbytes * ncopy, 0);
    tg_bench tb = { .q = xmalloc64(64 * cols), .scale = xmalloc(64 * sizeof(float)),
                    .sum = xmalloc(64 * sizeof(int32_t)), .y = xmalloc64(64 * rows * sizeof(float)) };
    fill_q(tb.q, 64 * cols, 0);
    tb.qt = xmalloc64(bn_tile_act_bytes(64, cols));
    for (int t = 0; t < 64; t++) {
        bn_tile_act(tb.q + t * cols, cols, t, tb.qt);
        tb.scale[t] = 1.0f;
        tb.sum[t] = 0;
    }
    for (int c = 0; c < ncopy; c++)
        tb.w[c] = (bn_tmat){ codes + c * mbytes, rows, cols, 1.0f };

    head_bench hb = { .rows = 128256, .cols = 2560, .q_scale = 1.0f };
    size_t fbytes = (size_t)(hb.rows * hb.cols * 2), qbytes = (size_t)(hb.rows * hb.cols);
    uint16_t *fw = weights_alloc(fbytes);
    for (size_t i = 0; i < fbytes / 2; i++)
        fw[i] = bn_f32_to_f16(rnd_float(1.0f));
    uint8_t *fwp = weights_alloc(fbytes);  /* hb.rows is even: no padding row */
    for (int64_t r = 0; r < hb.rows; r++)
        for (int64_t j = 0; j < hb.cols / 16; j++)
            memcpy((uint8_t *)bn_f16x2_row(fwp, (size_t)hb.cols * 2, r) + 64 * j, (const uint8_t *)fw + r * hb.cols * 2 + 32 * j, 32);
    int8_t *qw = weights_alloc(qbytes);
    fill_q(qw, qbytes, 0);
    float *qscale = xmalloc((size_t)hb.rows * sizeof(float));
    int32_t *qsum = xmalloc((size_t)hb.rows * sizeof(int32_t));
    for (int64_t r = 0; r < hb.rows; r++) {
        qscale[r] = 1.0f;
        qsum[r] = 0;
    }
    float *fx = xmalloc64(hb.cols * sizeof(float));
    for (int64_t i = 0; i < hb.cols; i++)
        fx[i] = rnd_float(1.0f);
    int8_t *qx = xmalloc64(hb.cols);
    fill_q(qx, hb.cols, 0);
    size_t q6bytes = (size_t)hb.rows * (size_t)(hb.cols / 256 * 210);
    uint8_t *q6w = weights_alloc(q6bytes);
    fill_q((int8_t *)q6w, q6bytes, 0);
    for (size_t o = 208; o < q6bytes; o += 210) {  /* finite block factors, 2^-8 .. 2^-7 */
        uint16_t d = (uint16_t)(0x1c00u | (rnd() & 0x3ffu));
        memcpy(q6w + o, &d, 2);
    }
    hb.w = (const uint8_t *)fw;
    hb.wp = fwp;
    hb.w6 = q6w;
    hb.w8 = (bn_i8mat){ qw, qscale, qsum, hb.rows, hb.cols };
    hb.x = fx;
    hb.q = qx;
    hb.y = xmalloc64(hb.rows * sizeof(float));
    double head_ops = 2.0 * (double)(hb.rows * hb.cols);
    double i8_bytes = (double)qbytes + (double)hb.rows * (sizeof(float) + sizeof(int32_t));

    /* bitnet_b1_58-large's heads (one query head a K/V head, d = 96) and
     * 2B-4T's (four, d = 128), 96 MiB of K and V each */
    attn_bench ab[2] = { attn_bench_new(1, 96, 240), attn_bench_new(4, 128, 180) };
    double attn_bytes[2], attn_ops[2], prefill_ops[2];
    uint32_t prefill_tok[2];
    for (int i = 0; i < 2; i++) {
        attn_bytes[i] = 2.0 * 2.0 * ab[i].d * (double)ab[i].n_kv;
        attn_ops[i] = 4.0 * ab[i].group * ab[i].d * (double)ab[i].n_kv;  /* a multiply and an add, scores and mixing */
        /* a prefill call's tokens attend to 1089 - n .. 1088 positions */
        prefill_tok[i] = (uint32_t)(ATTN_BENCH_ROWS / ab[i].group);
        prefill_ops[i] = 0;
        for (uint32_t t = 0; t < prefill_tok[i]; t++)
            prefill_ops[i] += 4.0 * ab[i].group * ab[i].d * (double)(ab[i].n_kv + 1 - prefill_tok[i] + t);
    }

    printf("%-12s %-26s %12s %8s %7s %8s %9s\n", "level", "kernel", "ns/call", "GB/s", "of mem", "GOPS", "x scalar");
    double base[10] = { 0 };
    for (int li = 0; li < n_levels; li++) {
        const bn_kernels *k = levels[li];
        const char *name = table_name(k);
        double budget = k->level == BN_CPU_SCALAR ? 0.5 : 1.5;
        tb.k = hb.k = k;
        double s[10];
        tb.n_tok = 1;
        /* the scalar code computes at a tenth of memory speed: fewer copies */
        s[0] = time_passes(tg_run, &tb, k->level == BN_CPU_SCALAR ? 8 : (int)ncopy, budget);
        tb.n_tok = 64;
        s[1] = time_passes(tg_run, &tb, 1, budget);
        s[2] = time_passes(f16_run, &hb, 1, budget);
        s[3] = time_passes(f16x2_run, &hb, 1, budget);
        s[4] = time_passes(i8_run, &hb, 1, budget);
        s[9] = time_passes(q6k_run, &hb, 1, budget);
        for (int a = 0; a < 2; a++) {
            ab[a].k = k;
            ab[a].n_tok = 1;
            s[5 + 2 * a] = time_passes(attn_run, &ab[a], ab[a].n_heads, budget);
            ab[a].n_tok = prefill_tok[a];
            ab[a].n_kv = 1089 - prefill_tok[a];
            s[6 + 2 * a] = time_passes(attn_run, &ab[a], 1, budget);
            ab[a].n_kv = 1088;
        }
        if (li == 0)
            memcpy(base, s, sizeof base);
        double tops = 2.0 * (double)(rows * cols);
        print_bench_row(name, "tgemm 2560x6912 decode", s[0], (double)mbytes, tops, base[0], mem_bps);
        print_bench_row(name, "tgemm 2560x6912 n_tok=64", s[1], 0, 64 * tops, base[1], mem_bps);
        print_bench_row(name, "fgemm F16 128256x2560", s[2], (double)fbytes, head_ops, base[2], mem_bps);
        print_bench_row(name, "fgemm F16 in pairs", s[3], (double)fbytes, head_ops, base[3], mem_bps);
        print_bench_row(name, "i8gemm 128256x2560", s[4], i8_bytes, head_ops, base[4], mem_bps);
        print_bench_row(name, "fgemm Q6_K 128256x2560", s[9], (double)q6bytes, head_ops, base[9], mem_bps);
        print_bench_row(name, "attn 1x96 decode", s[5], attn_bytes[0], attn_ops[0], base[5], mem_bps);
        print_bench_row(name, "attn 1x96 n_tok=64", s[6], 0, prefill_ops[0], base[6], mem_bps);
        print_bench_row(name, "attn 4x128 decode", s[7], attn_bytes[1], attn_ops[1], base[7], mem_bps);
        print_bench_row(name, "attn 4x128 n_tok=16", s[8], 0, prefill_ops[1], base[8], mem_bps);
    }
    for (int a = 0; a < 2; a++)
        attn_bench_free(&ab[a]);
    printf("bench: one thread; GB/s counts weight bytes (decode from memory: 256 matrices of 4.4 MB in turn, heads "
           "of 657 MB (F16, as rows or in pairs), 329 MB (int8) and 269 MB (Q6_K); attention: a K/V head's 1088 positions, decode from "
           "memory (heads of 96 MiB in turn), K and V bytes counted), \"of mem\" compares it with the read loop above; "
           "n_tok=64 and attention's prefill calls (64 query rows) run from cache\n");
    free(codes);
    free(tb.q);
    free(tb.qt);
    free(tb.scale);
    free(tb.sum);
    free(tb.y);
    free(fw);
    free(fwp);
    free(qw);
    free(q6w);
    free(qscale);
    free(qsum);
    free(fx);
    free(qx);
    free(hb.y);
}

/* The engine's exponential (bn_exp_canon) is the specification every ISA
 * follows, so its accuracy is checked here against exp in double: every
 * 64th float in [BN_EXP_LO, BN_EXP_HI], and the clamped edges. */
static int check_exp_canon(void)
{
    double worst = 0;
    float worst_x = 0;
    int bad = 0;
    for (int sign = 0; sign < 2; sign++)
        for (uint32_t m = 0; m < 0x43000000u; m += 64) {
            uint32_t bits = m | (uint32_t)sign << 31;
            float x;
            memcpy(&x, &bits, sizeof x);
            if (x < BN_EXP_LO || x > BN_EXP_HI)
                continue;
            double want = exp((double)x), err = fabs((double)bn_exp_canon(x) - want) / want;
            if (err > worst) {
                worst = err;
                worst_x = x;
            }
        }
    bad |= worst > 1.5e-7; /* about 1.25 ulp */
    bad |= bn_exp_canon(0.0f) != 1.0f || bn_exp_canon(-0.0f) != 1.0f;
    float lo = bn_exp_canon(BN_EXP_LO), hi = bn_exp_canon(BN_EXP_HI);
    bad |= !(lo > 0 && lo < 1.3e-38f) || bn_exp_canon(-1000.0f) != lo || bn_exp_canon(-INFINITY) != lo;
    bad |= !(hi > 1.6e38f && isfinite(hi)) || bn_exp_canon(1000.0f) != hi || bn_exp_canon(INFINITY) != hi;
    bad |= !isnan(bn_exp_canon(NAN));
    printf("  exp      exp_canon      %s (largest relative error %.3g at %g; clamped to %g .. %g)\n",
           bad ? "FAILED" : "ok", worst, (double)worst_x, (double)lo, (double)hi);
    return bad;
}

int main(int argc, char **argv)
{
    int do_bench = 0;
    rng_state = (uint64_t)time(NULL) * 2654435761u + 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bench"))
            do_bench = 1;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--seed N] [--bench]\n", argv[0]);
            return 2;
        }
    }
    if (rng_state == 0)
        rng_state = 1;
    printf("checkkernels: seed %" PRIu64 " (rerun with --seed to repeat)\n", rng_state);

    static const bn_cpu_level all[] = {BN_CPU_SCALAR, BN_CPU_AVX2, BN_CPU_AVX512, BN_CPU_NEON, BN_CPU_DOTPROD};
    /* Every table the CPU can run: each build of each level, whichever
     * this CPU would get. */
    const bn_kernels *levels[BN_BUILD_COUNT * sizeof all / sizeof all[0]];
    int n_levels = 0, failed = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (int b = 0; b < BN_BUILD_COUNT; b++)
            if ((levels[n_levels] = bn_kernels_variant(all[i], b)))
                n_levels++;

    failed |= check_exp_canon();
    for (int li = 1; li < n_levels; li++) {
        const bn_kernels *k = levels[li];
        const char *name = table_name(k);
        tally tl[9 + sizeof dense_types / sizeof dense_types[0]] = {
            {"quantize_act", 0, 0}, {"tgemm", 0, 0}, {"dequant_row", 0, 0}, {"i8gemm", 0, 0}, {"attn", 0, 0},
            {"to_f16", 0, 0}, {"glu", 0, 0}, {"fgemm F16 in pairs", 0, 0}, {"rmsnorm", 0, 0}};
        check_quantize_act(k, &tl[0]);
        check_tgemm(k, &tl[1]);
        check_i8gemm(k, &tl[3]);
        check_attn(k, &tl[4]);
        check_to_f16(k, &tl[5]);
        check_glu(k, &tl[6]);
        check_fgemm_pairs(k, &tl[7]);
        check_rmsnorm(k, &tl[8]);
        for (size_t d = 0; d < sizeof dense_types / sizeof dense_types[0]; d++) {
            static char names[sizeof dense_types / sizeof dense_types[0]][24];
            snprintf(names[d], sizeof names[d], "fgemm %s", bn_type_get(dense_types[d])->name);
            tl[9 + d].name = names[d];
            check_fgemm(k, &tl[9 + d], dense_types[d]);
            /* dequant_row of a whole row, the embedding lookup */
            int64_t cols = 2560;
            const bn_type_traits *tt = bn_type_get(dense_types[d]);
            size_t row_bytes = (size_t)(cols / tt->block_size) * tt->block_bytes;
            uint8_t *row = xmalloc(row_bytes);
            fill_row(dense_types[d], row, cols, row_bytes);
            float *a = xmalloc(cols * sizeof *a), *b = xmalloc(cols * sizeof *b);
            bn_kernels_scalar.dequant_row(dense_types[d], row, a, cols);
            k->dequant_row(dense_types[d], row, b, cols);
            tl[2].runs++;
            if (memcmp(a, b, cols * sizeof *a))
                report_mismatch(&tl[2], name, tt->name);
            free(row);
            free(a);
            free(b);
        }
        /* Every half-precision value, NaNs and subnormals included: the
         * attention reads the f16 KV cache through dequant_row. */
        {
            uint16_t *all_h = xmalloc(65536 * sizeof *all_h);
            float *a = xmalloc(65536 * sizeof *a), *b = xmalloc(65536 * sizeof *b);
            for (uint32_t h = 0; h < 65536; h++)
                all_h[h] = (uint16_t)h;
            bn_kernels_scalar.dequant_row(BN_TYPE_F16, all_h, a, 65536);
            k->dequant_row(BN_TYPE_F16, all_h, b, 65536);
            tl[2].runs++;
            if (memcmp(a, b, 65536 * sizeof *a))
                report_mismatch(&tl[2], name, "F16 (all 65536 values)");
            free(all_h);
            free(a);
            free(b);
        }
        for (size_t i = 0; i < sizeof tl / sizeof tl[0]; i++) {
            if (!tl[i].fails)
                printf("  %-12s %-14s ok (%d cases)\n", name, tl[i].name, tl[i].runs);
            else
                printf("  %-12s %-14s FAILED (%d of %d cases)\n", name, tl[i].name, tl[i].fails, tl[i].runs);
            failed |= tl[i].fails != 0;
        }
    }
    if (n_levels == 1)
        printf("checkkernels: only the scalar level runs on this CPU and build; nothing to compare\n");
    if (do_bench)
        bench(levels, n_levels);
    printf("checkkernels: %s\n", failed ? "FAILED" : "all levels agree with the scalar reference");
    return failed;
}
