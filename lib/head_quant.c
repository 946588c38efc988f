/* bn_model_params.quantize_head: the output head (for BitNet 2B-4T the tied
 * F16 embedding, more than half the bytes a decoded token reads) converted at
 * load to int8 rows with one scale per row, from the floats of whatever type
 * it is stored in. Decode then runs it as an integer dot product against the
 * hidden state quantized per token, as the ternary projections do
 * (docs/numerics.md): for an F16 head that reads half the bytes; for the
 * Q6_K, Q4_K and Q8_0 heads of llama.cpp's files, whose float decode is
 * bound by its arithmetic (6-10 G values a second on a Zen 3 core against
 * 19 GB/s of memory), more bytes at the memory's speed (a 4-layer llama with
 * a 128256 x 2048 Q6_K head: 24.7 -> 57.0 t/s on one thread). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ggml_types.h"
#include "model.h"

/* Row r as int8: inv = 127 / max|w|, q = round-half-even(w * inv), scale =
 * max|w| / 127 (all float32; a zero row gets scale 0). From max|w| = 1e-5
 * up, inv is quantize_act's scale and its values are the same, so the
 * dispatched kernel makes them; this loop takes the tiny rows. */
static int32_t quantize_row(const bn_kernels *k, const float *w, int64_t n, int8_t *q, float *scale)
{
    float amax = bn_absmax(w, n);
    *scale = amax / 127.0f;
    if (amax >= 1e-5f) {
        float inv;
        int32_t sum;
        k->quantize_act(w, n, q, &inv, &sum);
        return sum;
    }
    float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int32_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        /* fminf(fmaxf(v, -127), 127), a NaN going to -127 as with fmaxf, in
         * comparisons the compiler keeps inline (the libm calls were a third
         * of a 2B-4T load with this option) */
        float v = rintf(w[i] * inv);
        v = v > -127.0f ? v : -127.0f;
        v = v < 127.0f ? v : 127.0f;
        q[i] = (int8_t)v;
        sum += q[i];
    }
    return sum;
}

bn_status bn_quantize_head(bn_model *m, const bn_dense *head, bn_i8mat *out)
{
    if (head->cols % 128 || head->cols > 65536) {
        bn_log(&m->log, BN_LOG_WARN, "quantize_head: row length %lld is not a multiple of 128 up to 65536; "
               "head left as %s", (long long)head->cols, bn_type_get(head->type)->name);
        return BN_OK;
    }
    size_t rows = (size_t)head->rows, cols = (size_t)head->cols;
    int8_t *q = bn_model_map_weights(m, rows * cols);  /* unmapped with the model */
    float *scale = malloc(rows * sizeof *scale), *row = malloc(cols * sizeof *row);
    int32_t *sum = malloc(rows * sizeof *sum);
    bn_status st = BN_OK;
    if (!q || !scale || !row || !sum) {
        free(scale);
        free(sum);
        free(row);
        return bn_fail(BN_E_NOMEM, "out of memory quantizing the output head (%zu bytes)", rows * cols);
    }
    /* The float rows are given back to the kernel as they are consumed, so
     * the file's head and its int8 copy are never both resident (a tied
     * embedding pages in again only for the tokens looked up). */
    const size_t release_every = 4096;
    for (size_t r = 0; r < rows; r++) {
        m->kern->dequant_row(head->type, bn_dense_row(head, r), row, head->cols);
        sum[r] = quantize_row(m->kern, row, head->cols, q + r * cols, &scale[r]);
        if ((r + 1) % release_every == 0 || r + 1 == rows) {
            size_t first = r - r % release_every;
            bn_model_release(m, head->data + first * head->row_bytes, (r + 1 - first) * head->row_bytes);
        }
    }
    free(row);
    /* bn_model_own frees what it cannot take; free what it was not given yet. */
    if ((st = bn_model_own(m, scale)) != BN_OK) {
        free(sum);
        return st;
    }
    if ((st = bn_model_own(m, sum)) != BN_OK)
        return st;
    *out = (bn_i8mat){ q, scale, sum, head->rows, head->cols };
    bn_log(&m->log, BN_LOG_INFO, "quantize_head: output head %s -> int8 rows (%zu x %zu)",
           bn_type_get(head->type)->name, rows, cols);
    return BN_OK;
}
