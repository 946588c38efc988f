/* What the running CPU supports, below the dispatch layer. */
#ifndef BN_KERNELS_CPU_H
#define BN_KERNELS_CPU_H

#include "bitnet/bitnet.h"

/* Whether the CPU and OS support the level's instructions, whether or not
 * this build has kernels for it. */
int bn_cpu_supported_raw(bn_cpu_level level);

/* Whether the CPU's hardware prefetchers fall behind a decode loop that
 * computes on what it streams, so that decode wants software prefetch (the
 * prefetching build, kernels_x86.h): every x86 CPU but AMD's with AVX-512
 * (Zen 4 and later), where the hints measured slower. Intel cores (tuned on
 * Sapphire Rapids) and Zen 3 both stream closer to the read loop's rate with
 * them. */
int bn_cpu_wants_prefetch(void);

/* Whether the CPU has AMX-TILE and AMX-INT8 and the OS enables the tile
 * state in XCR0 (AVX-512 too), without asking for it: the first half of
 * bn_cpu_has_amx. */
int bn_cpu_amx_present(void);

/* Whether the CPU has AMX-INT8 and the OS lets this process use the tile
 * state. On Linux that takes asking (arch_prctl ARCH_REQ_XCOMP_PERM), which
 * this does: a process-wide, one-way grant that makes the signal frames of
 * its threads 8 KiB larger, as every AMX user's does. Linux refuses it while
 * a thread has an alternate signal stack too small for such frames, and
 * after it refuses such stacks (sigaltstack: ENOMEM); a refusal leaves errno
 * as it was and the prefetching build in use (docs/api.md). */
int bn_cpu_has_amx(void);

/* Whether the CPU has AVX2 and AVX-VNNI (the VEX form of vpdpbusd). */
int bn_cpu_has_avxvnni(void);

#endif
