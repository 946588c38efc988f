/* What the running CPU supports, below the dispatch layer. */
#ifndef BN_KERNELS_CPU_H
#define BN_KERNELS_CPU_H

#include "bitnet/bitnet.h"

/* Whether the CPU and OS support the level's instructions, whether or not
 * this build has kernels for it. */
int bn_cpu_supported_raw(bn_cpu_level level);

/* Whether this is an Intel x86 CPU, whose cores want kernels tuned apart
 * (kernels_x86.h): decode that prefetches in software, other prefill tiles. */
int bn_cpu_is_intel(void);

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
 * as it was and the Intel build in use (docs/api.md). */
int bn_cpu_has_amx(void);

/* Whether the CPU has AVX2 and AVX-VNNI (the VEX form of vpdpbusd). */
int bn_cpu_has_avxvnni(void);

#endif
