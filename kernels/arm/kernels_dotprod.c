/* The aarch64 table with the dot-product extension: its own ternary GEMM;
 * everything else is the Advanced SIMD code, which every such CPU runs. */
#include "arm/kernels_arm.h"
#include "scalar/dense_scalar.h"

const bn_kernels bn_kernels_dotprod = {
    .level = BN_CPU_DOTPROD,
    .quantize_act = bn_quantize_act_neon,
    .tgemm = bn_tgemm_dotprod,
    .fgemm = bn_fgemm_neon,
    .dequant_row = bn_dequant_row_neon,
    .i8gemm = bn_i8gemm_dotprod,
    .to_f16 = bn_to_f16_neon,
    .attn = bn_attn_neon,
    .glu = bn_glu_scalar,
    .rmsnorm = bn_rmsnorm_scalar,
};
