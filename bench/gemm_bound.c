/* gemm_bound.c - the GEMM-step bound of the training-throughput benchmark
 *
 * Times cblas_sgemm at exactly the shapes of one training step of the benchmark MLP
 * (128-256-256-10, batch 256) on one BLAS thread, and prints one JSON line with FLOP per
 * sample, GFLOP/s and the samples/s that the GEMMs alone would allow. A trainer cannot beat
 * this figure on one thread (everything else in a step - bias, ReLU, softmax, the optimizer,
 * the allreduce - only adds time), so Maestro's samples/s over it is the share of the
 * machine's matrix throughput that training actually turns into samples.
 *
 * Layout follows the spec's notation: row-major, activations [batch x in], weights [in x out].
 *   forward  Z_l  = A_{l-1} W_l        [256x128]x[128x256], [256x256]x[256x256], [256x256]x[256x10]
 *   backward dW_l = A_{l-1}^T dZ_l     for all three layers (TransA)
 *            dA   = dZ_l W_l^T         for layers 3 and 2 only (TransB): layer 1's input is the
 *                                      data, whose gradient nobody needs
 *
 * FLOP check (2*m*n*k per product, batch 256):
 *   forward  2*256*128*256 + 2*256*256*256 + 2*256*256*10       = 51,642,368
 *   dW       2*128*256*256 + 2*256*256*256 + 2*256*10*256       = 51,642,368
 *   dX       2*256*256*256 + 2*256*10*256 (layers 2 and 3)      = 34,865,152
 *   step total 138,149,888 / 256 = 539,648 FLOP per sample, the figure the issue states; the
 *   program computes the sum from the shape table below and refuses to report if it differs.
 *
 * Timing: a warm-up, then --trials trials of --reps whole steps each; the JSON carries the
 * median trial (the bound) and the best. Buffers are distinct per product, as in a real
 * step, and hold small random values so no denormals slow the kernels.
 *
 * usage: gemm_bound [--reps N] [--trials N] [--threads N]
 */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 256
#define EXPECTED_FLOP_PER_SAMPLE 539648LL
#define MAX_TRIALS 101

typedef struct {
    const char *name;
    enum CBLAS_TRANSPOSE ta, tb;
    int m, n, k; /* C[m x n] = op(A)[m x k] op(B)[k x n] */
    float *a, *b, *c;
} gemm_t;

/* One training step's products, in the order a trainer issues them. */
static gemm_t step[] = {
    {"fwd1 [256x128]x[128x256]", CblasNoTrans, CblasNoTrans, BATCH, 256, 128, 0, 0, 0},
    {"fwd2 [256x256]x[256x256]", CblasNoTrans, CblasNoTrans, BATCH, 256, 256, 0, 0, 0},
    {"fwd3 [256x256]x[256x10]", CblasNoTrans, CblasNoTrans, BATCH, 10, 256, 0, 0, 0},
    {"dW3 [256x256]^Tx[256x10]", CblasTrans, CblasNoTrans, 256, 10, BATCH, 0, 0, 0},
    {"dX3 [256x10]x[256x10]^T", CblasNoTrans, CblasTrans, BATCH, 256, 10, 0, 0, 0},
    {"dW2 [256x256]^Tx[256x256]", CblasTrans, CblasNoTrans, 256, 256, BATCH, 0, 0, 0},
    {"dX2 [256x256]x[256x256]^T", CblasNoTrans, CblasTrans, BATCH, 256, 256, 0, 0, 0},
    {"dW1 [256x128]^Tx[256x256]", CblasTrans, CblasNoTrans, 128, 256, BATCH, 0, 0, 0},
};
#define NSTEP ((int)(sizeof step / sizeof step[0]))

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

static float *rand_buf(size_t n, unsigned *seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u; /* LCG: reproducible, good enough for operands */
        p[i] = ((float)(*seed >> 8) / (float)(1u << 24) - 0.5f) * 0.1f;
    }
    return p;
}

static void run_step(void)
{
    for (int i = 0; i < NSTEP; i++) {
        const gemm_t *g = &step[i];
        int lda = g->ta == CblasNoTrans ? g->k : g->m;
        int ldb = g->tb == CblasNoTrans ? g->n : g->k;
        cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, lda, g->b, ldb, 0.0f,
                    g->c, g->n);
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    long reps = 400, trials = 7, threads = 1;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        long *dst = NULL, max = 0;
        if (!strcmp(argv[i], "--reps"))
            dst = &reps, max = 1000000;
        else if (!strcmp(argv[i], "--trials"))
            dst = &trials, max = MAX_TRIALS;
        else if (!strcmp(argv[i], "--threads"))
            dst = &threads, max = 1024;
        if (!dst || i + 1 >= argc || parse_pos(argv[i + 1], max, dst) != 0) {
            fprintf(stderr, "usage: gemm_bound [--reps N] [--trials 1..%d] [--threads N]\n",
                    MAX_TRIALS);
            return 2;
        }
        i++;
    }

    long long flop_step = 0;
    for (int i = 0; i < NSTEP; i++)
        flop_step += 2LL * step[i].m * step[i].n * step[i].k;
    if (flop_step != EXPECTED_FLOP_PER_SAMPLE * BATCH) {
        fprintf(stderr, "gemm_bound: shape table gives %lld FLOP per sample, expected %lld\n",
                flop_step / BATCH, EXPECTED_FLOP_PER_SAMPLE);
        return 1;
    }

    unsigned seed = 42;
    for (int i = 0; i < NSTEP; i++) {
        gemm_t *g = &step[i];
        g->a = rand_buf((size_t)g->m * g->k, &seed);
        g->b = rand_buf((size_t)g->k * g->n, &seed);
        g->c = rand_buf((size_t)g->m * g->n, &seed);
        if (!g->a || !g->b || !g->c) {
            fprintf(stderr, "gemm_bound: out of memory\n");
            goto out;
        }
    }

    openblas_set_num_threads((int)threads);

    /* Warm-up: thread pool, page faults, caches, CPU clock ramp. */
    double t0 = now_s();
    while (now_s() - t0 < 0.5)
        run_step();

    double trial_s[MAX_TRIALS];
    for (long t = 0; t < trials; t++) {
        double s = now_s();
        for (long r = 0; r < reps; r++)
            run_step();
        trial_s[t] = now_s() - s;
    }
    qsort(trial_s, (size_t)trials, sizeof trial_s[0], cmp_double);
    double med = trial_s[trials / 2], best = trial_s[0];
    double steps_per_s = (double)reps / med;

    /* Per-product rates, so a slow shape (the 10-wide ones) is visible on its own. */
    printf("{\"bench\":\"gemm_bound\",\"blas_threads\":%d,\"batch\":%d,"
           "\"flop_per_sample\":%lld,\"flop_per_step\":%lld,\"reps\":%ld,\"trials\":%ld,"
           "\"step_s\":%.9f,\"gflops\":%.2f,\"gflops_best\":%.2f,\"samples_per_s\":%.0f,"
           "\"samples_per_s_best\":%.0f,\"blas\":\"%s\",\"gemms\":[",
           openblas_get_num_threads(), BATCH, flop_step / BATCH, flop_step, reps, trials,
           med / (double)reps, (double)flop_step * steps_per_s * 1e-9,
           (double)flop_step * (double)reps / best * 1e-9, steps_per_s * BATCH,
           (double)reps / best * BATCH, openblas_get_config());
    for (int i = 0; i < NSTEP; i++) {
        const gemm_t *g = &step[i];
        int lda = g->ta == CblasNoTrans ? g->k : g->m;
        int ldb = g->tb == CblasNoTrans ? g->n : g->k;
        long n = reps > 50 ? reps : 50;
        double s = now_s();
        for (long r = 0; r < n; r++)
            cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, lda, g->b, ldb,
                        0.0f, g->c, g->n);
        double el = now_s() - s;
        printf("%s{\"gemm\":\"%s\",\"gflops\":%.2f}", i ? "," : "", g->name,
               2.0 * g->m * g->n * g->k * (double)n / el * 1e-9);
    }
    printf("]}\n");
    rc = 0;
out:
    for (int i = 0; i < NSTEP; i++) {
        free(step[i].a);
        free(step[i].b);
        free(step[i].c);
    }
    return rc;
}
