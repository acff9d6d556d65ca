/* gemm_gpu_bound.cu - the SGEMM-step bound of the GPU training benchmark (bench/train_gpu.sh)
 *
 * Times cublasSgemm, fp32 with CUBLAS_DEFAULT_MATH (no TF32: the default math mode never
 * lowers the mantissa below the requested precision, which is also what PyTorch selects when
 * allow_tf32 is False), at exactly the products of one training step of an MLP, and prints one
 * JSON line with the FLOP per step, the step's GEMM time and its TFLOP/s. Everything else in
 * a step (bias, activation, loss, optimiser, batch copies) only adds time, so a trainer's
 * achieved TFLOP/s over this rate is the share of cuBLAS's fp32 throughput at these shapes
 * that training turns into samples.
 *
 * Shapes, row-major as the trainer stores them (jobs/train/model.c), for each layer l with
 * input width in_l and output width out_l, batch B:
 *   forward  Y_l  = X_l W_l       [B x in] x [in x out]               gemm(N, N, B, out, in)
 *   backward dW_l = X_l^T dZ_l    [B x in]^T x [B x out]              gemm(T, N, in, out, B)
 *            dX_l = dZ_l W_l^T    [B x out] x [in x out]^T, l > 1     gemm(N, T, B, in, out)
 * (layer 1's input is the data, whose gradient nobody needs). A row-major X is the column-major
 * X^T, so row-major C = op(A) op(B) is issued as column-major C^T = op(B)^T op(A)^T: cublasSgemm
 * with the operands swapped and the same transpose flags, as kernels/cuda/ does.
 *
 * FLOP: 2*m*n*k per product. MLP 512-1024-1024-10 at B = 4096:
 *   forward  2*4096*(512*1024 + 1024*1024 + 1024*10)        = 12,968,787,968
 *   dW       the same                                        = 12,968,787,968
 *   dX       2*4096*(1024*1024 + 1024*10) (layers 2 and 3)   =  8,673,820,672
 *   step     34,611,396,608 FLOP, 8,450,048 per sample.
 *
 * Timing: one stream, warm-up (cuBLAS heuristics, clocks), then --trials trials of --reps whole
 * steps, each bracketed by CUDA events; the JSON carries the median trial (the bound) and the
 * best, plus each product's own rate so a slow shape (the 10-wide ones) is visible. Operands
 * are distinct per product, as in a real step, and hold small random values.
 *
 * Exit: 0 measured; 1 a CUDA/cuBLAS failure (file:line, the call, the library's message);
 * 2 bad arguments; 77 no usable CUDA device (the automake "skipped" code).
 *
 * usage: gemm_gpu_bound [--batch B] [--layers 512,1024,1024,10] [--reps N] [--trials N]
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16
#define MAX_GEMMS (3 * MAX_LAYERS)
#define MAX_TRIALS 101

/* The one checking macro: every CUDA runtime and cuBLAS call goes through it. */
#define CK(call) ck_((call), #call, __FILE__, __LINE__)

static void ck_(cudaError_t e, const char *what, const char *file, int line)
{
    if (e == cudaSuccess)
        return;
    fprintf(stderr, "gemm_gpu_bound: %s:%d: %s: %s (%s)\n", file, line, what, cudaGetErrorString(e),
            cudaGetErrorName(e));
    exit(1);
}

static void ck_(cublasStatus_t s, const char *what, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "gemm_gpu_bound: %s:%d: %s: %s (%s)\n", file, line, what,
            cublasGetStatusString(s), cublasGetStatusName(s));
    exit(1);
}

typedef struct {
    char name[96];
    int ta, tb;  /* row-major op flags, as the trainer passes them to gemm() */
    int m, n, k; /* C[m x n] = op(A)[m x k] op(B)[k x n] */
    int lda, ldb, ldc;
    float *a, *b, *c;
} gemm_t;

static gemm_t step[MAX_GEMMS];
static int nstep;

static int parse_pos(const char *s, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "512,1024,1024,10" -> widths; returns the count, -1 when malformed. */
static int parse_layers(const char *s, long *w)
{
    int n = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n > MAX_LAYERS || parse_pos(tok, 1 << 20, &w[n]) != 0)
            return -1;
        n++;
    }
    return n;
}

/* Small values from a per-element hash, so no denormals and no two operands alike. */
__global__ void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        unsigned x = (unsigned)i * 2654435761u ^ seed;
        x ^= x >> 16;
        x *= 0x7feb352du;
        x ^= x >> 15;
        p[i] = ((float)(x >> 8) / (float)(1u << 24) - 0.5f) * 0.1f;
    }
}

static float *dev_buf(size_t n, unsigned seed, cudaStream_t st)
{
    float *p = NULL;
    CK(cudaMalloc((void **)&p, n * sizeof *p));
    fill<<<256, 256, 0, st>>>(p, n, seed);
    CK(cudaGetLastError());
    return p;
}

/* Adds one product in the trainer's row-major terms. */
static void add(const char *what, int l, int ta, int tb, int m, int n, int k, int lda, int ldb,
                int ldc)
{
    gemm_t *g = &step[nstep++];
    snprintf(g->name, sizeof g->name, "%s%d [%dx%d]%sx[%dx%d]%s", what, l, ta ? k : m, ta ? m : k,
             ta ? "^T" : "", tb ? n : k, tb ? k : n, tb ? "^T" : "");
    g->ta = ta, g->tb = tb, g->m = m, g->n = n, g->k = k;
    g->lda = lda, g->ldb = ldb, g->ldc = ldc;
}

/* Row-major C = op(A) op(B) as column-major C^T = op(B)^T op(A)^T. */
static void run_gemm(cublasHandle_t h, const gemm_t *g)
{
    const float one = 1.0f, zero = 0.0f;
    CK(cublasSgemm(h, g->tb ? CUBLAS_OP_T : CUBLAS_OP_N, g->ta ? CUBLAS_OP_T : CUBLAS_OP_N, g->n,
                   g->m, g->k, &one, g->b, g->ldb, g->a, g->lda, &zero, g->c, g->ldc));
}

static void run_step(cublasHandle_t h)
{
    for (int i = 0; i < nstep; i++)
        run_gemm(h, &step[i]);
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* A device name as a JSON string body (names are ASCII; quotes and controls escaped anyway). */
static void json_str(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

int main(int argc, char **argv)
{
    long batch = 4096, reps = 50, trials = 7;
    long width[MAX_LAYERS + 1] = {512, 1024, 1024, 10};
    int nwidth = 4;
    for (int i = 1; i < argc; i++) {
        long *dst = NULL, max = 0;
        int ok = i + 1 < argc;
        if (!strcmp(argv[i], "--batch"))
            dst = &batch, max = 1 << 20;
        else if (!strcmp(argv[i], "--reps"))
            dst = &reps, max = 1000000;
        else if (!strcmp(argv[i], "--trials"))
            dst = &trials, max = MAX_TRIALS;
        else if (!strcmp(argv[i], "--layers") && ok)
            ok = (nwidth = parse_layers(argv[i + 1], width)) >= 2;
        else
            ok = 0;
        if (ok && dst)
            ok = parse_pos(argv[i + 1], max, dst) == 0;
        if (!ok) {
            fprintf(stderr,
                    "usage: gemm_gpu_bound [--batch B] [--layers IN,H1,...,OUT (2..%d widths)] "
                    "[--reps N] [--trials 1..%d]\n",
                    MAX_LAYERS + 1, MAX_TRIALS);
            return 2;
        }
        i++;
    }

    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev < 1) {
        fprintf(stderr, "gemm_gpu_bound: no usable CUDA device (%s); nothing measured\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return 77;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    CK(cudaSetDevice(0));

    /* The step's products in the trainer's order: all forwards, then per layer from the last
     * dW and (except the first layer) dX. */
    int nl = nwidth - 1, B = (int)batch;
    for (int l = 0; l < nl; l++) {
        int in = (int)width[l], out = (int)width[l + 1];
        add("fwd", l + 1, 0, 0, B, out, in, in, out, out);
    }
    for (int l = nl - 1; l >= 0; l--) {
        int in = (int)width[l], out = (int)width[l + 1];
        add("dW", l + 1, 1, 0, in, out, B, in, out, out);
        if (l > 0)
            add("dX", l + 1, 0, 1, B, in, out, out, out, in);
    }
    double flop_step = 0;
    for (int i = 0; i < nstep; i++)
        flop_step += 2.0 * step[i].m * step[i].n * step[i].k;

    cudaStream_t st;
    cublasHandle_t h;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    CK(cublasCreate(&h));
    CK(cublasSetStream(h, st));
    CK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)); /* fp32 throughout: no TF32 tensor ops */
    int cublas_ver = 0;
    CK(cublasGetVersion(h, &cublas_ver));

    unsigned seed = 42;
    for (int i = 0; i < nstep; i++) {
        gemm_t *g = &step[i];
        g->a = dev_buf((size_t)g->m * g->k, seed++, st);
        g->b = dev_buf((size_t)g->k * g->n, seed++, st);
        g->c = dev_buf((size_t)g->m * g->n, seed++, st);
    }
    CK(cudaStreamSynchronize(st));

    cudaEvent_t t0, t1;
    CK(cudaEventCreate(&t0));
    CK(cudaEventCreate(&t1));

    /* Warm-up: heuristics, kernel loading, clock ramp; at least 20 steps and 0.3 s. */
    float ms = 0;
    for (int w = 0; w < 1000 && (w < 20 || ms < 300.0f); w++) {
        CK(cudaEventRecord(t0, st));
        for (int r = 0; r < 5; r++)
            run_step(h);
        CK(cudaEventRecord(t1, st));
        CK(cudaEventSynchronize(t1));
        float one = 0;
        CK(cudaEventElapsedTime(&one, t0, t1));
        ms += one;
    }

    float trial_ms[MAX_TRIALS];
    for (long t = 0; t < trials; t++) {
        CK(cudaEventRecord(t0, st));
        for (long r = 0; r < reps; r++)
            run_step(h);
        CK(cudaEventRecord(t1, st));
        CK(cudaEventSynchronize(t1));
        CK(cudaEventElapsedTime(&trial_ms[t], t0, t1));
    }
    qsort(trial_ms, (size_t)trials, sizeof trial_ms[0], cmp_float);
    double step_s = trial_ms[trials / 2] * 1e-3 / (double)reps;
    double best_s = trial_ms[0] * 1e-3 / (double)reps;

    char dev[512];
    json_str(dev, sizeof dev, prop.name);
    printf("{\"bench\":\"gemm_gpu_bound\",\"device\":\"%s\",\"cc\":\"%d.%d\",\"cublas\":%d,"
           "\"math_mode\":\"CUBLAS_DEFAULT_MATH\",\"batch\":%ld,\"layers\":[",
           dev, prop.major, prop.minor, cublas_ver, batch);
    for (int i = 0; i < nwidth; i++)
        printf("%s%ld", i ? "," : "", width[i]);
    printf("],\"gemms_per_step\":%d,\"reps\":%ld,\"trials\":%ld,\"sgemm_step_seconds\":%.9f,"
           "\"sgemm_step_seconds_best\":%.9f,\"flops_per_step\":%.0f,\"flops_per_sample\":%.0f,"
           "\"tflops\":%.3f,\"tflops_best\":%.3f,\"samples_per_second\":%.0f,\"gemms\":[",
           nstep, reps, trials, step_s, best_s, flop_step, flop_step / (double)batch,
           flop_step / step_s * 1e-12, flop_step / best_s * 1e-12, (double)batch / step_s);
    for (int i = 0; i < nstep; i++) {
        const gemm_t *g = &step[i];
        long n = reps > 20 ? reps : 20;
        CK(cudaEventRecord(t0, st));
        for (long r = 0; r < n; r++)
            run_gemm(h, g);
        CK(cudaEventRecord(t1, st));
        CK(cudaEventSynchronize(t1));
        float el = 0;
        CK(cudaEventElapsedTime(&el, t0, t1));
        printf("%s{\"gemm\":\"%s\",\"tflops\":%.3f}", i ? "," : "", g->name,
               2.0 * g->m * g->n * g->k * (double)n / (el * 1e-3) * 1e-12);
    }
    printf("]}\n");
    fflush(stdout);

    for (int i = 0; i < nstep; i++) {
        CK(cudaFree(step[i].a));
        CK(cudaFree(step[i].b));
        CK(cudaFree(step[i].c));
    }
    CK(cudaEventDestroy(t0));
    CK(cudaEventDestroy(t1));
    CK(cublasDestroy(h));
    CK(cudaStreamDestroy(st));
    return 0;
}
