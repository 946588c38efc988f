/* CPU feature detection: which kernel levels the running CPU and OS support.
 * Asked afresh on every call (cpuid and getauxval are cheap), so the library
 * keeps no global state. */
#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int x86_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return BN_CPU_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx || !fma || !f16c)
        return BN_CPU_SCALAR;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6)  /* the OS saves XMM and YMM state */
        return BN_CPU_SCALAR;
    if (__get_cpuid_max(0, NULL) < 7)
        return BN_CPU_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1;
    if (!avx2)
        return BN_CPU_SCALAR;
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    if (f && bw && vl && vnni && (xcr0 & 0xe6) == 0xe6)  /* plus opmask and ZMM state */
        return BN_CPU_AVX512;
    return BN_CPU_AVX2;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define BN_HWCAP_ASIMD (1ul << 1)
#define BN_HWCAP_ASIMDDP (1ul << 20)
#endif

int bn_cpu_wants_prefetch(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return 1;
    int amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u;  /* "AuthenticAMD" */
    if (!amd || a < 7)
        return 1;
    __cpuid_count(7, 0, a, b, c, d);
    return !((b >> 16) & 1);  /* AVX-512F: Zen 4 and later */
#else
    return 0;
#endif
}

int bn_cpu_amx_present(void)
{
#if defined(__x86_64__) && defined(__linux__)
    unsigned a, b, c, d;
    if (x86_level() < BN_CPU_AVX512)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((d >> 24) & 1) || !((d >> 25) & 1))  /* AMX-TILE, AMX-INT8 */
        return 0;
    return (xgetbv0() & 0x60000) == 0x60000;  /* XTILECFG and XTILEDATA state */
#else
    return 0;
#endif
}

int bn_cpu_has_amx(void)
{
#if defined(__x86_64__) && defined(__linux__)
    if (!bn_cpu_amx_present())
        return 0;
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    int saved = errno;  /* a refusal is an answer, not an error of the host's */
    int granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    errno = saved;
    return granted;
#else
    return 0;
#endif
}

int bn_cpu_has_avxvnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (x86_level() < BN_CPU_AVX2)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (a < 1)  /* no subleaf 1 */
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1;
#else
    return 0;
#endif
}

int bn_cpu_supported_raw(bn_cpu_level level)
{
    if (level == BN_CPU_SCALAR)
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    int best = x86_level();
    if (level == BN_CPU_AVX2)
        return best >= BN_CPU_AVX2;
    if (level == BN_CPU_AVX512)
        return best >= BN_CPU_AVX512;
#elif defined(__aarch64__)
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
#else
    unsigned long hw = BN_HWCAP_ASIMD;
#endif
    if (level == BN_CPU_NEON)
        return 1;  /* Advanced SIMD is part of every aarch64 CPU */
    if (level == BN_CPU_DOTPROD)
        return (hw & BN_HWCAP_ASIMDDP) != 0;
#endif
    return 0;
}
