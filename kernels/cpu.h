/* What the running CPU supports, below the dispatch layer. */
#ifndef BN_KERNELS_CPU_H
#define BN_KERNELS_CPU_H

#include "bitnet/bitnet.h"

/* Whether the CPU and OS support the level's instructions, whether or not
 * this build has kernels for it. */
int bn_cpu_supported_raw(bn_cpu_level level);

/* Whether decode should prefetch its weights in software (kernels_x86.h):
 * on Intel x86 cores, where one core alone keeps too few misses in flight;
 * not on AMD's, whose hardware prefetchers keep up and where the hints cost
 * time. */
int bn_cpu_prefetch_pays(void);

#endif
