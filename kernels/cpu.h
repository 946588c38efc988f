/* What the running CPU supports, below the dispatch layer. */
#ifndef BN_KERNELS_CPU_H
#define BN_KERNELS_CPU_H

#include "bitnet/bitnet.h"

/* Whether the CPU and OS support the level's instructions, whether or not
 * this build has kernels for it. */
int bn_cpu_supported_raw(bn_cpu_level level);

#endif
