/* Picks the kernel table at load time: the best level both this build and the
 * running CPU have, or one the host (bn_model_params.cpu_level) or the
 * environment (BN_CPU=scalar|avx2|avx512|neon|dotprod) asks for. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "error.h"
#include "kernels.h"

/* The table of a build of a level in this libbitnet, NULL where it has none
 * or the CPU lacks the build's extra instructions. */
static const bn_kernels *built(bn_cpu_level level, int build)
{
    switch (level) {
    case BN_CPU_SCALAR: return build == BN_BUILD_BASE ? &bn_kernels_scalar : NULL;
#ifdef BN_HAVE_KERNELS_AVX2
    case BN_CPU_AVX2:
        switch (build) {
        case BN_BUILD_BASE: return &bn_kernels_avx2;
        case BN_BUILD_PREFETCH: return &bn_kernels_avx2_prefetch;
#ifdef BN_HAVE_KERNELS_AVXVNNI
        case BN_BUILD_AVXVNNI: return bn_cpu_has_avxvnni() ? &bn_kernels_avx2_vnni : NULL;
#endif
        default: return NULL;
        }
#endif
#ifdef BN_HAVE_KERNELS_AVX512
    case BN_CPU_AVX512:
        switch (build) {
        case BN_BUILD_BASE: return &bn_kernels_avx512;
        case BN_BUILD_PREFETCH: return &bn_kernels_avx512_prefetch;
#ifdef BN_HAVE_KERNELS_AMX
        case BN_BUILD_AMX: return bn_cpu_has_amx() ? &bn_kernels_avx512_amx : NULL;
#endif
        default: return NULL;
        }
#endif
#ifdef BN_HAVE_KERNELS_NEON
    case BN_CPU_NEON: return build == BN_BUILD_BASE ? &bn_kernels_neon : NULL;
#endif
#ifdef BN_HAVE_KERNELS_DOTPROD
    case BN_CPU_DOTPROD: return build == BN_BUILD_BASE ? &bn_kernels_dotprod : NULL;
#endif
    default: return NULL;
    }
}

const bn_kernels *bn_kernels_variant(bn_cpu_level level, int build)
{
    return bn_cpu_supported_raw(level) ? built(level, build) : NULL;
}

/* The most specific build the level has for this CPU: where decode wants
 * software prefetch, the one with AMX or AVX-VNNI if the CPU has either, then
 * the prefetching build; elsewhere (Zen 4 and later) the base one. */
const bn_kernels *bn_kernels_for(bn_cpu_level level)
{
    static const int order[] = {BN_BUILD_AMX, BN_BUILD_AVXVNNI, BN_BUILD_PREFETCH, BN_BUILD_BASE};
    const bn_kernels *k = NULL;
    for (size_t i = bn_cpu_wants_prefetch() ? 0 : 3; !k && i < sizeof order / sizeof order[0]; i++)
        k = bn_kernels_variant(level, order[i]);
    return k;
}

/* Every build of a level has the same support, so a query never asks the
 * OS for AMX (bn_kernels_for does, when a model is opened). */
BN_API int bn_cpu_supported(bn_cpu_level level)
{
    return bn_kernels_variant(level, BN_BUILD_BASE) != NULL;
}

BN_API bn_cpu_level bn_cpu_best(void)
{
    static const bn_cpu_level order[] = {BN_CPU_AVX512, BN_CPU_AVX2, BN_CPU_DOTPROD, BN_CPU_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (bn_cpu_supported(order[i]))
            return order[i];
    return BN_CPU_SCALAR;
}

static const char *const level_names[] = {"auto", "scalar", "avx2", "avx512", "neon", "dotprod"};

BN_API const char *bn_cpu_level_name(bn_cpu_level level)
{
    if ((int)level < 0 || (size_t)level >= sizeof level_names / sizeof level_names[0])
        return "unknown";
    return level_names[level];
}

bn_status bn_cpu_choose(bn_cpu_level requested, bn_cpu_level *out)
{
    if ((int)requested < 0 || (size_t)requested >= sizeof level_names / sizeof level_names[0])
        return bn_fail(BN_E_INVALID_ARG, "cpu_level %d is not a bn_cpu_level", (int)requested);
    const char *env = getenv("BN_CPU");
    if (requested == BN_CPU_AUTO && env && *env) {
        size_t i;
        for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
            if (strcmp(env, level_names[i]) == 0)
                break;
        if (i == sizeof level_names / sizeof level_names[0])
            return bn_fail(BN_E_INVALID_ARG, "BN_CPU=%s is not one of auto, scalar, avx2, avx512, neon, dotprod",
                           env);
        requested = (bn_cpu_level)i;
    }
    if (requested == BN_CPU_AUTO)
        requested = bn_cpu_best();
    if (!built(requested, 0))
        return bn_fail(BN_E_UNSUPPORTED, "CPU level %s is not built into this libbitnet",
                       bn_cpu_level_name(requested));
    if (!bn_cpu_supported_raw(requested))
        return bn_fail(BN_E_UNSUPPORTED, "CPU level %s is not supported by this CPU", bn_cpu_level_name(requested));
    *out = requested;
    return BN_OK;
}
