/* dense.c - CPU bias + activation (fused), activation backward, bias gradient
 *
 * These run on every layer of every step, around the GEMMs, so they are single passes over
 * memory in loops the compiler vectorises: the activation is chosen once per call, never per
 * element, and every inner loop is a fixed-length chunk (MO_CPU_CHUNK, see cpu_impl.h) plus
 * a scalar tail. tanh and sigmoid use cpu_impl.h's branch-free exp, so they vectorise too.
 * Nothing here threads, so the order of every sum is fixed and results are bitwise
 * reproducible.
 */
#include "kernels/cpu/cpu_impl.h"

/* ---- forward: y = act(y + b) over one row ----
 * ReLU is written `v < 0 ? 0 : v` so NaN passes through (a diverged run must show NaN, not
 * zeros) and the compiler still emits a vector max. */

static void row_none(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= n; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            y[j + u] += b[j + u];
    for (; j < n; j++)
        y[j] += b[j];
}

static void row_relu(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= n; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++) {
            const float v = y[j + u] + b[j + u];
            y[j + u] = v < 0.0f ? 0.0f : v;
        }
    for (; j < n; j++) {
        const float v = y[j] + b[j];
        y[j] = v < 0.0f ? 0.0f : v;
    }
}

static void row_tanh(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= n; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            y[j + u] = mo_cpu_tanh(y[j + u] + b[j + u]);
    for (; j < n; j++)
        y[j] = mo_cpu_tanh(y[j] + b[j]);
}

static void row_sigmoid(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    for (; j + MO_CPU_CHUNK <= n; j += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            y[j + u] = mo_cpu_sigmoid(y[j + u] + b[j + u]);
    for (; j < n; j++)
        y[j] = mo_cpu_sigmoid(y[j] + b[j]);
}

void mo_kern_cpu_bias_act_forward(float *Y, const float *b, int64_t rows, int64_t cols,
                                  mo_act_t act)
{
    /* The switch picks a row loop once per call; the bias row stays in cache across rows. */
    switch (act) {
    case MO_ACT_RELU:
        for (int64_t r = 0; r < rows; r++)
            row_relu(Y + r * cols, b, cols);
        break;
    case MO_ACT_TANH:
        for (int64_t r = 0; r < rows; r++)
            row_tanh(Y + r * cols, b, cols);
        break;
    case MO_ACT_SIGMOID:
        for (int64_t r = 0; r < rows; r++)
            row_sigmoid(Y + r * cols, b, cols);
        break;
    case MO_ACT_NONE:
    default:
        for (int64_t r = 0; r < rows; r++)
            row_none(Y + r * cols, b, cols);
        break;
    }
}

/* ---- backward from the activation's output y: dz = dy * act'(.) ----
 * relu: y > 0 (the subgradient at 0 is 0, as in PyTorch); tanh: 1 - y^2; sigmoid: y (1 - y). */

static void back_relu(float *restrict d, const float *restrict y, int64_t n)
{
    int64_t i = 0;
    for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            d[i + u] = y[i + u] > 0.0f ? d[i + u] : 0.0f;
    for (; i < n; i++)
        d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

static void back_tanh(float *restrict d, const float *restrict y, int64_t n)
{
    int64_t i = 0;
    for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            d[i + u] *= 1.0f - y[i + u] * y[i + u];
    for (; i < n; i++)
        d[i] *= 1.0f - y[i] * y[i];
}

static void back_sigmoid(float *restrict d, const float *restrict y, int64_t n)
{
    int64_t i = 0;
    for (; i + MO_CPU_CHUNK <= n; i += MO_CPU_CHUNK)
        for (int u = 0; u < MO_CPU_CHUNK; u++)
            d[i + u] *= y[i + u] * (1.0f - y[i + u]);
    for (; i < n; i++)
        d[i] *= y[i] * (1.0f - y[i]);
}

void mo_kern_cpu_act_backward(float *dY, const float *Y, int64_t n, mo_act_t act)
{
    switch (act) {
    case MO_ACT_RELU:
        back_relu(dY, Y, n);
        break;
    case MO_ACT_TANH:
        back_tanh(dY, Y, n);
        break;
    case MO_ACT_SIGMOID:
        back_sigmoid(dY, Y, n);
        break;
    case MO_ACT_NONE:
    default:
        break;
    }
}

/* ---- bias gradient: column sums of a row-major [rows, cols] ----
 * Rows are streamed in memory order and added into a block of column accumulators, rather
 * than walking each column with a stride of `cols`. The accumulators are double (one block
 * of BLOCK columns on the stack at a time), so a column sum over thousands of rows keeps
 * float precision; the order of additions is row order, fixed. */

enum { BLOCK = 512 };

void mo_kern_cpu_bias_grad(float *db, const float *dZ, int64_t rows, int64_t cols)
{
    double acc[BLOCK];
    for (int64_t c0 = 0; c0 < cols; c0 += BLOCK) {
        const int64_t w = cols - c0 < BLOCK ? cols - c0 : BLOCK;
        for (int64_t j = 0; j < w; j++)
            acc[j] = 0.0;
        for (int64_t r = 0; r < rows; r++) {
            const float *restrict row = dZ + r * cols + c0;
            int64_t j = 0;
            for (; j + MO_CPU_CHUNK <= w; j += MO_CPU_CHUNK)
                for (int u = 0; u < MO_CPU_CHUNK; u++)
                    acc[j + u] += (double)row[j + u];
            for (; j < w; j++)
                acc[j] += (double)row[j];
        }
        for (int64_t j = 0; j < w; j++)
            db[c0 + j] = (float)acc[j];
    }
}
