/* cuda_ops.cu - CUDA kernels behind the backend table (everything but the GEMMs)
 *
 * Same math as kernels/cpu/ (the rules are written out there); results agree with the CPU
 * backend to float rounding, not bit for bit (summation orders differ). Every reduction is
 * deterministic: a fixed grid of blocks each sums a fixed set of elements in double, then one
 * block adds the partials in index order, so the same inputs give the same bits on every run.
 * Losses write each row's loss (double) to scratch and reduce it the same way; the host reads
 * the sum, which waits for the queued work before it.
 */
#include "kernels/cuda/cuda_impl.h"

#include <math.h>

enum { THREADS = 256, RED_BLOCKS = 256 };

static unsigned blocks_for(int64_t n)
{
    int64_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65535 * 8 ? 65535 * 8 : b);
}

#define GRID_LOOP(i, n)                                                                            \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (int64_t)gridDim.x * blockDim.x)

__device__ static float sigmoidf_(float v)
{
    /* Never exponentiates a positive number: e = exp(-|v|) <= 1. */
    const float e = expf(-fabsf(v));
    const float s = 1.0f / (1.0f + e);
    return v < 0.0f ? e * s : s;
}

/* ---- reductions ----------------------------------------------------------------------- */

/* Block sum in shared memory, tree order fixed by thread index. */
__device__ static double block_sum(double v)
{
    __shared__ double sh[THREADS];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    return sh[0];
}

/* kind 0: sum of x (doubles); kind 1: sum of squares of float x. */
__global__ static void k_partial(const void *x, int64_t n, int kind, double *partial)
{
    double acc = 0.0;
    GRID_LOOP(i, n)
    {
        if (kind == 0) {
            acc += ((const double *)x)[i];
        } else {
            const double v = (double)((const float *)x)[i];
            acc += v * v;
        }
    }
    const double s = block_sum(acc);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

__global__ static void k_final(const double *partial, int n, double *out)
{
    double acc = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        acc += partial[i];
    const double s = block_sum(acc);
    if (threadIdx.x == 0)
        *out = s;
}

/* Sum over n values at x (kind as k_partial), read back to the host. `x` may itself live in
 * the scratch (per-row losses at its start): partials go after the first n doubles. With
 * `deferred` the copy back is queued and 0 returned: mo_cuda_loss_result() has the sum. */
static double reduce(const void *x, int64_t n, int kind, size_t scratch_used, int deferred)
{
    double *s = mo_cuda_scratch(scratch_used + RED_BLOCKS + 1);
    if (!s)
        return NAN;
    double *partial = s + scratch_used, *out = partial + RED_BLOCKS;
    /* n == 0 still runs (one block adds nothing): the deferred result must be written. */
    k_partial<<<RED_BLOCKS, THREADS, 0, mo_cuda.compute>>>(x, n, kind, partial);
    k_final<<<1, THREADS, 0, mo_cuda.compute>>>(partial, RED_BLOCKS, out);
    if (MO_CK(cudaGetLastError()) ||
        MO_CK(cudaMemcpyAsync(mo_cuda.result, out, sizeof(double), cudaMemcpyDeviceToHost,
                              mo_cuda.compute)))
        return NAN;
    if (deferred)
        return 0.0;
    if (MO_CK(cudaStreamSynchronize(mo_cuda.compute)))
        return NAN;
    return *mo_cuda.result;
}

double mo_cuda_sumsq(const float *x, int64_t n)
{
    return reduce(x, n, 1, 0, 0);
}

void mo_cuda_defer_loss(int on)
{
    mo_cuda.defer = on;
}

double mo_cuda_loss_result(void)
{
    if (MO_CK(cudaStreamSynchronize(mo_cuda.compute)))
        return NAN;
    return *mo_cuda.result;
}

__global__ static void k_scale(float *x, int64_t n, float a)
{
    GRID_LOOP(i, n) x[i] *= a;
}

void mo_cuda_scale(float *x, int64_t n, float a)
{
    if (n <= 0)
        return;
    k_scale<<<blocks_for(n), THREADS, 0, mo_cuda.compute>>>(x, n, a);
    MO_CK(cudaGetLastError());
}

/* ---- dense layers ------------------------------------------------------------------------ */

/* IDX: int for tensors under 2^31 elements (a 32-bit modulo per element, not 64-bit). */
template <int ACT, typename IDX>
__global__ static void k_bias_act(float *Y, const float *b, IDX n, IDX cols)
{
    for (IDX i = (IDX)(blockIdx.x * blockDim.x + threadIdx.x); i < n;
         i += (IDX)(gridDim.x * blockDim.x)) {
        const float v = Y[i] + b[i % cols];
        if (ACT == MO_ACT_RELU)
            Y[i] = v < 0.0f ? 0.0f : v; /* NaN passes through, as on the CPU */
        else if (ACT == MO_ACT_TANH)
            Y[i] = tanhf(v);
        else if (ACT == MO_ACT_SIGMOID)
            Y[i] = sigmoidf_(v);
        else
            Y[i] = v;
    }
}

template <typename IDX>
static void launch_bias_act(float *Y, const float *b, IDX n, IDX cols, mo_act_t act)
{
    const unsigned g = blocks_for(n);
    cudaStream_t st = mo_cuda.compute;
    switch (act) {
    case MO_ACT_RELU:
        k_bias_act<MO_ACT_RELU, IDX><<<g, THREADS, 0, st>>>(Y, b, n, cols);
        break;
    case MO_ACT_TANH:
        k_bias_act<MO_ACT_TANH, IDX><<<g, THREADS, 0, st>>>(Y, b, n, cols);
        break;
    case MO_ACT_SIGMOID:
        k_bias_act<MO_ACT_SIGMOID, IDX><<<g, THREADS, 0, st>>>(Y, b, n, cols);
        break;
    case MO_ACT_NONE:
    default:
        k_bias_act<MO_ACT_NONE, IDX><<<g, THREADS, 0, st>>>(Y, b, n, cols);
    }
}

void mo_cuda_bias_act_forward(float *Y, const float *b, int64_t rows, int64_t cols, mo_act_t act)
{
    const int64_t n = rows * cols;
    if (n <= 0)
        return;
    if (n < INT32_MAX)
        launch_bias_act<int>(Y, b, (int)n, (int)cols, act);
    else
        launch_bias_act<int64_t>(Y, b, n, cols, act);
    MO_CK(cudaGetLastError());
}

__global__ static void k_act_back(float *d, const float *y, int64_t n, int act)
{
    GRID_LOOP(i, n)
    {
        const float v = y[i];
        if (act == MO_ACT_RELU)
            d[i] = v > 0.0f ? d[i] : 0.0f;
        else if (act == MO_ACT_TANH)
            d[i] *= 1.0f - v * v;
        else
            d[i] *= v * (1.0f - v);
    }
}

void mo_cuda_act_backward(float *dY, const float *Y, int64_t n, mo_act_t act)
{
    if (n <= 0 || act == MO_ACT_NONE)
        return;
    k_act_back<<<blocks_for(n), THREADS, 0, mo_cuda.compute>>>(dY, Y, n, (int)act);
    MO_CK(cudaGetLastError());
}

/* db[c] = sum_r dZ[r, c] in two deterministic passes. First, block (x, y) sums rows of chunk y
 * for 32 columns: its 8 rows of threads each take every 8th row in double (coalesced: a warp
 * reads 32 neighbouring columns) and add their 8 partials in lane order. Then one thread per
 * column adds the chunks' partials in chunk order. Enough blocks to fill the device for a
 * [4096, 1024] gradient, the same bits on every run. */
enum { BG_ROWS_PER_CHUNK = 256, BG_MAX_CHUNKS = 64 };

__global__ static void k_bias_grad_part(double *part, const float *dZ, int64_t rows, int64_t cols,
                                        int64_t chunk)
{
    __shared__ double sh[8][33];
    const int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    const int64_t r0 = (int64_t)blockIdx.y * chunk;
    const int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
    double acc = 0.0;
    if (c < cols)
        for (int64_t r = r0 + threadIdx.y; r < r1; r += 8)
            acc += (double)dZ[r * cols + c];
    sh[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        double s = 0.0;
        for (int j = 0; j < 8; j++)
            s += sh[j][threadIdx.x];
        part[(int64_t)blockIdx.y * cols + c] = s;
    }
}

__global__ static void k_bias_grad_final(float *db, const double *part, int64_t cols, int chunks)
{
    GRID_LOOP(c, cols)
    {
        double s = 0.0;
        for (int k = 0; k < chunks; k++)
            s += part[(int64_t)k * cols + c];
        db[c] = (float)s;
    }
}

void mo_cuda_bias_grad(float *db, const float *dZ, int64_t rows, int64_t cols)
{
    if (cols <= 0)
        return;
    int64_t chunks = (rows + BG_ROWS_PER_CHUNK - 1) / BG_ROWS_PER_CHUNK;
    chunks = chunks < 1 ? 1 : chunks > (int64_t)BG_MAX_CHUNKS ? (int64_t)BG_MAX_CHUNKS : chunks;
    const int64_t chunk = (rows + chunks - 1) / chunks;
    double *part = mo_cuda_scratch((size_t)(chunks * cols));
    if (!part)
        return;
    dim3 grid((unsigned)((cols + 31) / 32), (unsigned)chunks);
    k_bias_grad_part<<<grid, dim3(32, 8), 0, mo_cuda.compute>>>(part, dZ, rows, cols,
                                                                chunk < 1 ? 1 : chunk);
    k_bias_grad_final<<<blocks_for(cols), THREADS, 0, mo_cuda.compute>>>(db, part, cols,
                                                                         (int)chunks);
    MO_CK(cudaGetLastError());
}

/* ---- losses: per-row loss (double) into scratch, then the deterministic sum ------------- */

/* One warp per row: max, sum of exponentials, loss; then probabilities and gradient. */
__global__ static void k_softmax_xent(const float *logits, const int32_t *y, int64_t rows,
                                      int64_t k, float scale, float *dlogits, float *probs,
                                      double *rowloss)
{
    const int lane = threadIdx.x & 31;
    const int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    if (r >= rows)
        return;
    const float *l = logits + r * k;
    float mx = -INFINITY;
    int nan = 0;
    for (int64_t j = lane; j < k; j += 32) {
        mx = l[j] > mx ? l[j] : mx;
        nan |= isnan(l[j]);
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float other = __shfl_xor_sync(0xffffffffu, mx, o);
        mx = other > mx ? other : mx;
        nan |= __shfl_xor_sync(0xffffffffu, nan, o);
    }
    if (nan)
        mx = NAN; /* a NaN logit makes the row's loss NaN, as on the CPU */
    float sum = 0.0f;
    for (int64_t j = lane; j < k; j += 32)
        sum += expf(l[j] - mx);
    for (int o = 16; o > 0; o >>= 1)
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    const int32_t c = y[r];
    if (c < 0 || c >= k) { /* checked when the dataset was read; never index past the row */
        if (lane == 0)
            rowloss[r] = NAN;
        return;
    }
    if (lane == 0)
        rowloss[r] = (double)(logf(sum) - (l[c] - mx));
    for (int64_t j = lane; j < k; j += 32) {
        const float p = expf(l[j] - mx) / sum;
        if (probs)
            probs[r * k + j] = p;
        if (dlogits)
            dlogits[r * k + j] = scale * (p - (j == c ? 1.0f : 0.0f));
    }
}

double mo_cuda_softmax_xent(const float *logits, const int32_t *y, int64_t rows, int64_t k,
                            float scale, float *dlogits, float *probs)
{
    if (rows <= 0)
        return mo_cuda.defer ? (*mo_cuda.result = 0.0) : 0.0;
    double *rowloss = mo_cuda_scratch((size_t)rows + RED_BLOCKS + 1);
    if (!rowloss)
        return NAN;
    const int64_t threads = rows * 32;
    k_softmax_xent<<<(unsigned)((threads + THREADS - 1) / THREADS), THREADS, 0, mo_cuda.compute>>>(
        logits, y, rows, k, scale, dlogits, probs, rowloss);
    if (MO_CK(cudaGetLastError()))
        return NAN;
    return reduce(rowloss, rows, 0, (size_t)rows, mo_cuda.defer);
}

__global__ static void k_logistic(const float *z, const int32_t *y, int64_t rows, float scale,
                                  float *dz, float *prob, double *rowloss)
{
    GRID_LOOP(r, rows)
    {
        const float zr = z[r], yr = (float)y[r];
        const float pos = zr > 0.0f ? zr : 0.0f;
        rowloss[r] = (double)(log1pf(expf(-fabsf(zr))) + pos - zr * yr);
        const float p = sigmoidf_(zr);
        if (prob)
            prob[r] = p;
        if (dz)
            dz[r] = scale * (p - yr);
    }
}

double mo_cuda_logistic(const float *z, const int32_t *y, int64_t rows, float scale, float *dz,
                        float *prob)
{
    if (rows <= 0)
        return mo_cuda.defer ? (*mo_cuda.result = 0.0) : 0.0;
    double *rowloss = mo_cuda_scratch((size_t)rows + RED_BLOCKS + 1);
    if (!rowloss)
        return NAN;
    k_logistic<<<blocks_for(rows), THREADS, 0, mo_cuda.compute>>>(z, y, rows, scale, dz, prob,
                                                                  rowloss);
    if (MO_CK(cudaGetLastError()))
        return NAN;
    return reduce(rowloss, rows, 0, (size_t)rows, mo_cuda.defer);
}

__global__ static void k_mse(const float *pred, const float *y, int64_t rows, float scale,
                             float *dpred, double *rowloss)
{
    GRID_LOOP(r, rows)
    {
        const float d = pred[r] - y[r];
        rowloss[r] = 0.5 * (double)d * (double)d;
        if (dpred)
            dpred[r] = scale * d;
    }
}

double mo_cuda_mse(const float *pred, const float *y, int64_t rows, float scale, float *dpred)
{
    if (rows <= 0)
        return mo_cuda.defer ? (*mo_cuda.result = 0.0) : 0.0;
    double *rowloss = mo_cuda_scratch((size_t)rows + RED_BLOCKS + 1);
    if (!rowloss)
        return NAN;
    k_mse<<<blocks_for(rows), THREADS, 0, mo_cuda.compute>>>(pred, y, rows, scale, dpred, rowloss);
    if (MO_CK(cudaGetLastError()))
        return NAN;
    return reduce(rowloss, rows, 0, (size_t)rows, mo_cuda.defer);
}

/* ---- optimisers: one fused kernel each over the flat buffer (rules: kernels/cpu/optim.c) - */

__global__ static void k_sgd(float *w, const float *g, float *v, int64_t n, float lr, float mu,
                             float wd, int nesterov)
{
    GRID_LOOP(i, n)
    {
        const float gd = g[i] + wd * w[i];
        if (mu == 0.0f) {
            w[i] -= lr * gd;
        } else {
            const float vi = mu * v[i] + gd;
            v[i] = vi;
            w[i] -= nesterov ? lr * (gd + mu * vi) : lr * vi;
        }
    }
}

void mo_cuda_sgd_step(float *w, const float *g, float *v, int64_t n, const mo_sgd_hparams_t *h)
{
    if (n <= 0)
        return;
    k_sgd<<<blocks_for(n), THREADS, 0, mo_cuda.compute>>>(w, g, v, n, h->lr, h->momentum,
                                                          h->weight_decay, h->nesterov);
    MO_CK(cudaGetLastError());
}

__global__ static void k_adam(float *w, const float *g, float *m, float *v, int64_t n, float step,
                              float c2, float l2, float decay, float b1, float b2, float eps)
{
    const float a1 = 1.0f - b1, a2 = 1.0f - b2;
    GRID_LOOP(i, n)
    {
        const float gi = g[i] + l2 * w[i];
        const float mi = m[i] + a1 * (gi - m[i]);
        const float vi = b2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * decay - step * (mi / (sqrtf(vi) / c2 + eps));
    }
}

void mo_cuda_adam_step(float *w, const float *g, float *m, float *v, int64_t n,
                       const mo_adam_hparams_t *h)
{
    if (n <= 0)
        return;
    /* The per-step scalars in double, rounded once, exactly as the CPU backend does. */
    const double t = (double)(h->t < 1 ? 1 : h->t);
    const float step = (float)((double)h->lr / (1.0 - pow((double)h->beta1, t)));
    const float c2 = (float)sqrt(1.0 - pow((double)h->beta2, t));
    const float l2 = h->decoupled ? 0.0f : h->weight_decay;
    const float decay = h->decoupled ? (float)(1.0 - (double)h->lr * h->weight_decay) : 1.0f;
    k_adam<<<blocks_for(n), THREADS, 0, mo_cuda.compute>>>(w, g, m, v, n, step, c2, l2, decay,
                                                           h->beta1, h->beta2, h->eps);
    MO_CK(cudaGetLastError());
}

/* ---- gathering rows (the device cache) ------------------------------------------------ */

/* One block row per output row: its threads copy the row's words, coalesced. */
__global__ static void k_gather(uint32_t *dst, const uint32_t *src, const int64_t *idx,
                                int64_t rows, int64_t words)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const uint32_t *from = src + idx[r] * words;
        uint32_t *to = dst + r * words;
        for (int64_t j = threadIdx.x; j < words; j += blockDim.x)
            to[j] = from[j];
    }
}

void mo_cuda_gather_rows(void *dst, const void *src, const int64_t *idx, int64_t rows,
                         int64_t row_words)
{
    if (rows <= 0 || row_words <= 0)
        return;
    const unsigned blocks = (unsigned)(rows < 65535 ? rows : 65535);
    const int threads = row_words >= 256 ? 256 : row_words >= 32 ? 128 : 32;
    k_gather<<<blocks, threads, 0, mo_cuda.compute>>>((uint32_t *)dst, (const uint32_t *)src, idx,
                                                      rows, row_words);
    MO_CK(cudaGetLastError());
}
