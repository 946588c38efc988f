/* The AVX2 attention kernel built for the AVX-512 level: the same code and
 * canonical order, compiled with AVX-512VL's 32 vector registers so that
 * groups of two to four heads take four positions or chunks a pass (see
 * attn_avx2.c). */
#define BN_ATTN_FN bn_attn_avx512
#define WIDE 1
#include "attn_avx2.c"
