/* bn_model_params.quantize_head: the output head (for BitNet 2B-4T the tied
 * F16 embedding, more than half the bytes a decoded token reads) converted at
 * load to Q8_0, 34 bytes per 32 weights instead of 64. Decode reads 1.9x fewer
 * head bytes; the logits change by the Q8_0 rounding (docs/numerics.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp16.h"
#include "ggml_types.h"
#include "model.h"

/* ggml's reference Q8_0 quantizer: d = max|x| / 127 per block of 32. */
static void quantize_q8_0(const float *x, int64_t n, uint8_t *out)
{
    for (int64_t i = 0; i < n; i += 32, out += 34) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[i + j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h = bn_f32_to_f16(d);
        out[0] = (uint8_t)(h & 0xff);
        out[1] = (uint8_t)(h >> 8);
        for (int j = 0; j < 32; j++)
            out[2 + j] = (uint8_t)(int8_t)roundf(x[i + j] * id);
    }
}

bn_status bn_quantize_head(bn_model *m, bn_dense *head)
{
    if (head->type != BN_TYPE_F32 && head->type != BN_TYPE_F16 && head->type != BN_TYPE_BF16) {
        bn_log(&m->log, BN_LOG_INFO, "quantize_head: the head is %s already; left as it is",
               bn_type_get(head->type)->name);
        return BN_OK;
    }
    if (head->cols % 32) {
        bn_log(&m->log, BN_LOG_WARN, "quantize_head: row length %lld is not a multiple of 32; head left as %s",
               (long long)head->cols, bn_type_get(head->type)->name);
        return BN_OK;
    }
    size_t row_bytes = (size_t)head->cols / 32 * 34;
    uint8_t *q = malloc(row_bytes * (size_t)head->rows);
    float *row = malloc((size_t)head->cols * sizeof *row);
    if (!q || !row) {
        free(q);
        free(row);
        return bn_fail(BN_E_NOMEM, "out of memory quantizing the output head (%zu bytes)",
                       row_bytes * (size_t)head->rows);
    }
    for (int64_t r = 0; r < head->rows; r++) {
        m->kern->dequant_row(head->type, head->data + (size_t)r * head->row_bytes, row, head->cols);
        quantize_q8_0(row, head->cols, q + (size_t)r * row_bytes);
    }
    free(row);
    bn_log(&m->log, BN_LOG_INFO, "quantize_head: output head %s -> Q8_0 (%lld x %lld)",
           bn_type_get(head->type)->name, (long long)head->rows, (long long)head->cols);
    head->type = BN_TYPE_Q8_0;
    head->data = q;
    head->row_bytes = row_bytes;
    return bn_model_own(m, q);
}
