/* test_cuda_backend.c - every op of the CUDA backend (kernels/cuda/cuda_backend.cu,
 * kernels/cuda/cuda_ops.cu) against the CPU backend, gradients against finite differences,
 * reductions for determinism, and the double-buffered batch slots
 *
 * Tolerance, fp32: normwise relative error ||gpu - cpu|| / ||cpu|| <= 1e-5 (summation orders
 * differ; nothing else may). TF32 (opt-in): <= 5e-3 for the matrix products here (k <= 512),
 * from TF32's 10-bit mantissa (input rounding 2^-11 per operand, errors of random sign
 * averaging down over k).
 *
 * Without a GPU every test prints why it skips and passes: a build without CUDA, or a CUDA
 * build on a machine where no device is visible, is checked by tests/kernels/test_backend.c.
 */
#include "core/rng.h"
#include "kernels/backend.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mo_kern_backend_t *gpu;
static const char *skip_why;

static int have_gpu(void)
{
    static int checked;
    static char why[300];
    if (!checked) {
        checked = 1;
        char devs[256];
        int n = mo_kern_cuda_devices(devs, sizeof devs);
        mo_error_t err = {0};
        if (n < 0)
            snprintf(why, sizeof why, "built without CUDA");
        else if (n == 0)
            snprintf(why, sizeof why, "no CUDA device visible: %s", devs);
        else if (mo_kern_cuda()->bind(0, NULL, 0, &err))
            snprintf(why, sizeof why, "bind failed: %s", err.msg);
        else
            gpu = mo_kern_cuda();
        skip_why = why;
    }
    if (!gpu)
        printf("\n    skipped: %s ", skip_why);
    return gpu != NULL;
}

static float *host(int64_t n)
{
    float *p = calloc((size_t)(n ? n : 1), sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    return p;
}

static void fill(float *x, int64_t n, uint64_t seed, double lo, double hi)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * mo_rng_uniform(&r));
}

static void *to_dev(const void *h, size_t bytes)
{
    void *d = gpu->alloc(bytes);
    CU_ASSERT_FATAL(d != NULL);
    gpu->upload(d, h, bytes);
    return d;
}

static void from_dev(void *h, const void *d, size_t bytes)
{
    gpu->download(h, d, bytes);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(gpu->sync(&err), 0);
}

/* ||a - b|| / ||b|| (0 when both are zero). */
static double rel_err(const float *a, const float *b, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int close_rel(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(b), 1e-30);
}

/* ---- GEMM ------------------------------------------------------------------------------ */

static double gemm_case(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, float beta)
{
    int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    float *A = host(ar * ac), *B = host(br * bc), *C = host(m * n), *G = host(m * n);
    fill(A, ar * ac, 1, -1, 1);
    fill(B, br * bc, 2, -1, 1);
    fill(C, m * n, 3, -1, 1);
    float *dA = to_dev(A, (size_t)(ar * ac) * 4), *dB = to_dev(B, (size_t)(br * bc) * 4);
    float *dC = to_dev(C, (size_t)(m * n) * 4);
    mo_kern_cpu()->gemm(ta, tb, m, n, k, alpha, A, ac, B, bc, beta, C, n);
    gpu->gemm(ta, tb, m, n, k, alpha, dA, ac, dB, bc, beta, dC, n);
    from_dev(G, dC, (size_t)(m * n) * 4);
    double e = rel_err(G, C, m * n);
    gpu->free(dA);
    gpu->free(dB);
    gpu->free(dC);
    free(A);
    free(B);
    free(C);
    free(G);
    return e;
}

static void test_cuda__gemm_matches_cpu_for_every_transpose(void)
{
    if (!have_gpu())
        return;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            double small = gemm_case(ta, tb, 37, 53, 29, 1.0f, 0.0f);
            double big = gemm_case(ta, tb, 256, 384, 512, 0.5f, 1.5f);
            if (small > 1e-5 || big > 1e-5)
                printf("\n    gemm ta=%d tb=%d: rel err %.2e / %.2e ", ta, tb, small, big);
            CU_ASSERT(small <= 1e-5);
            CU_ASSERT(big <= 1e-5);
        }
}

static void test_cuda__tf32_gemm_within_its_stated_bound(void)
{
    if (!have_gpu())
        return;
    gpu->set_tf32(1);
    double e = gemm_case(0, 0, 256, 384, 512, 1.0f, 0.0f);
    gpu->set_tf32(0);
    printf("\n    TF32 gemm 256x384x512: rel err %.2e (bound 5e-3) ", e);
    CU_ASSERT(e <= 5e-3);
    CU_ASSERT(gemm_case(0, 0, 256, 384, 512, 1.0f, 0.0f) <= 1e-5); /* fp32 again after */
}

/* ---- dense ------------------------------------------------------------------------------ */

static void test_cuda__bias_act_and_backward_match_cpu(void)
{
    if (!have_gpu())
        return;
    const int64_t rows = 301, cols = 77, n = rows * cols;
    const mo_act_t acts[] = {MO_ACT_NONE, MO_ACT_RELU, MO_ACT_TANH, MO_ACT_SIGMOID};
    for (int a = 0; a < 4; a++) {
        float *Y = host(n), *b = host(cols), *G = host(n), *D = host(n), *DG = host(n);
        fill(Y, n, 10 + a, -6, 6);
        fill(b, cols, 20 + a, -1, 1);
        fill(D, n, 30 + a, -1, 1);
        float *dY = to_dev(Y, (size_t)n * 4), *db = to_dev(b, (size_t)cols * 4);
        mo_kern_cpu()->bias_act_forward(Y, b, rows, cols, acts[a]);
        gpu->bias_act_forward(dY, db, rows, cols, acts[a]);
        from_dev(G, dY, (size_t)n * 4);
        CU_ASSERT(rel_err(G, Y, n) <= 1e-5);
        float *dD = to_dev(D, (size_t)n * 4);
        mo_kern_cpu()->act_backward(D, Y, n, acts[a]);
        gpu->act_backward(dD, dY, n, acts[a]);
        from_dev(DG, dD, (size_t)n * 4);
        CU_ASSERT(rel_err(DG, D, n) <= 1e-5);
        gpu->free(dY);
        gpu->free(db);
        gpu->free(dD);
        free(Y);
        free(b);
        free(G);
        free(D);
        free(DG);
    }
}

static void test_cuda__bias_grad_matches_cpu(void)
{
    if (!have_gpu())
        return;
    const int64_t shapes[][2] = {{1, 1}, {1000, 77}, {4096, 1024}, {3, 5000}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1];
        float *Z = host(rows * cols), *db = host(cols), *g = host(cols);
        fill(Z, rows * cols, 40 + s, -1, 1);
        float *dZ = to_dev(Z, (size_t)(rows * cols) * 4), *ddb = gpu->alloc((size_t)cols * 4);
        mo_kern_cpu()->bias_grad(db, Z, rows, cols);
        gpu->bias_grad(ddb, dZ, rows, cols);
        from_dev(g, ddb, (size_t)cols * 4);
        CU_ASSERT(rel_err(g, db, cols) <= 1e-5);
        gpu->free(dZ);
        gpu->free(ddb);
        free(Z);
        free(db);
        free(g);
    }
}

/* ---- losses ------------------------------------------------------------------------------ */

static void test_cuda__softmax_xent_matches_cpu(void)
{
    if (!have_gpu())
        return;
    const int64_t ks[] = {2, 10, 100};
    for (int ki = 0; ki < 3; ki++) {
        int64_t rows = 999, k = ks[ki], n = rows * k;
        float *L = host(n), *d = host(n), *p = host(n), *gd = host(n), *gp = host(n);
        int32_t *y = calloc((size_t)rows, sizeof *y);
        fill(L, n, 50 + ki, -20, 20);
        for (int64_t r = 0; r < rows; r++)
            y[r] = (int32_t)((r * 7) % k);
        float *dL = to_dev(L, (size_t)n * 4), *dd = gpu->alloc((size_t)n * 4);
        float *dp = gpu->alloc((size_t)n * 4);
        int32_t *dy = to_dev(y, (size_t)rows * 4);
        double c = mo_kern_cpu()->softmax_xent(L, y, rows, k, 0.25f, d, p);
        double g = gpu->softmax_xent(dL, dy, rows, k, 0.25f, dd, dp);
        from_dev(gd, dd, (size_t)n * 4);
        from_dev(gp, dp, (size_t)n * 4);
        CU_ASSERT(close_rel(g, c, 1e-5));
        CU_ASSERT(rel_err(gd, d, n) <= 1e-5);
        CU_ASSERT(rel_err(gp, p, n) <= 1e-5);
        /* Evaluation form (no outputs) gives the same loss, bit for bit, every time. */
        double e1 = gpu->softmax_xent(dL, dy, rows, k, 0.0f, NULL, NULL);
        double e2 = gpu->softmax_xent(dL, dy, rows, k, 0.0f, NULL, NULL);
        CU_ASSERT(e1 == g && e2 == g);
        /* Deferred: queued, 0 returned, the same sum from loss_result. */
        gpu->defer_loss(1);
        CU_ASSERT(gpu->softmax_xent(dL, dy, rows, k, 0.0f, NULL, NULL) == 0.0);
        gpu->defer_loss(0);
        CU_ASSERT(gpu->loss_result() == g);
        gpu->free(dL);
        gpu->free(dd);
        gpu->free(dp);
        gpu->free(dy);
        free(L);
        free(d);
        free(p);
        free(gd);
        free(gp);
        free(y);
    }
}

static void test_cuda__logistic_and_mse_match_cpu(void)
{
    if (!have_gpu())
        return;
    const int64_t rows = 5003;
    float *z = host(rows), *yv = host(rows), *d = host(rows), *p = host(rows), *g = host(rows);
    int32_t *y = calloc((size_t)rows, sizeof *y);
    fill(z, rows, 60, -40, 40);
    fill(yv, rows, 61, -3, 3);
    for (int64_t r = 0; r < rows; r++)
        y[r] = (int32_t)(r % 3 == 0);
    float *dz = to_dev(z, (size_t)rows * 4), *dyv = to_dev(yv, (size_t)rows * 4);
    float *dd = gpu->alloc((size_t)rows * 4), *dp = gpu->alloc((size_t)rows * 4);
    int32_t *dy = to_dev(y, (size_t)rows * 4);
    double c = mo_kern_cpu()->logistic(z, y, rows, 0.5f, d, p);
    double gl = gpu->logistic(dz, dy, rows, 0.5f, dd, dp);
    CU_ASSERT(close_rel(gl, c, 1e-5));
    from_dev(g, dd, (size_t)rows * 4);
    CU_ASSERT(rel_err(g, d, rows) <= 1e-5);
    from_dev(g, dp, (size_t)rows * 4);
    CU_ASSERT(rel_err(g, p, rows) <= 1e-5);
    c = mo_kern_cpu()->mse(z, yv, rows, 0.5f, d);
    double gm = gpu->mse(dz, dyv, rows, 0.5f, dd);
    CU_ASSERT(close_rel(gm, c, 1e-5));
    from_dev(g, dd, (size_t)rows * 4);
    CU_ASSERT(rel_err(g, d, rows) <= 1e-5);
    gpu->free(dz);
    gpu->free(dyv);
    gpu->free(dd);
    gpu->free(dp);
    gpu->free(dy);
    free(z);
    free(yv);
    free(d);
    free(p);
    free(g);
    free(y);
}

static void test_cuda__nan_logits_give_nan_loss(void)
{
    if (!have_gpu())
        return;
    float L[6] = {1, 2, 3, 1, NAN, 3};
    int32_t y[2] = {0, 2};
    float *dL = to_dev(L, sizeof L);
    int32_t *dy = to_dev(y, sizeof y);
    CU_ASSERT(isnan(gpu->softmax_xent(dL, dy, 2, 3, 1.0f, NULL, NULL)));
    gpu->free(dL);
    gpu->free(dy);
}

/* ---- optimisers and reductions -------------------------------------------------------- */

static void test_cuda__optimisers_match_cpu_over_steps(void)
{
    if (!have_gpu())
        return;
    const int64_t n = 100003;
    for (int variant = 0; variant < 5; variant++) {
        float *w = host(n), *g = host(n), *m = host(n), *v = host(n), *gw = host(n);
        fill(w, n, 70, -1, 1);
        float *dw = to_dev(w, (size_t)n * 4), *dg = gpu->alloc((size_t)n * 4);
        float *dm = gpu->alloc((size_t)n * 4), *dv = gpu->alloc((size_t)n * 4);
        for (int step = 1; step <= 5; step++) {
            fill(g, n, 80 + (uint64_t)step, -0.1, 0.1);
            gpu->upload(dg, g, (size_t)n * 4);
            if (variant < 3) {
                mo_sgd_hparams_t h = {0.05f, variant ? 0.9f : 0.0f, variant == 2, 1e-4f};
                mo_kern_cpu()->sgd_step(w, g, m, n, &h);
                gpu->sgd_step(dw, dg, dm, n, &h);
            } else {
                mo_adam_hparams_t h = {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, variant == 4, step};
                mo_kern_cpu()->adam_step(w, g, m, v, n, &h);
                gpu->adam_step(dw, dg, dm, dv, n, &h);
            }
        }
        from_dev(gw, dw, (size_t)n * 4);
        double e = rel_err(gw, w, n);
        if (e > 1e-5)
            printf("\n    optimiser variant %d: rel err %.2e ", variant, e);
        CU_ASSERT(e <= 1e-5);
        gpu->free(dw);
        gpu->free(dg);
        gpu->free(dm);
        gpu->free(dv);
        free(w);
        free(g);
        free(m);
        free(v);
        free(gw);
    }
}

static void test_cuda__sumsq_and_scale_match_cpu_and_repeat_exactly(void)
{
    if (!have_gpu())
        return;
    const int64_t n = 1234567;
    float *x = host(n), *g = host(n);
    fill(x, n, 90, -2, 2);
    float *dx = to_dev(x, (size_t)n * 4);
    double c = mo_kern_cpu()->sumsq(x, n), a = gpu->sumsq(dx, n), b = gpu->sumsq(dx, n);
    CU_ASSERT(close_rel(a, c, 1e-12)); /* both in double */
    CU_ASSERT(a == b);
    CU_ASSERT(gpu->sumsq(dx, 0) == 0.0);
    mo_kern_cpu()->scale(x, n, 0.3f);
    gpu->scale(dx, n, 0.3f);
    from_dev(g, dx, (size_t)n * 4);
    CU_ASSERT(rel_err(g, x, n) == 0.0);
    gpu->free(dx);
    free(x);
    free(g);
}

/* ---- a two-layer model end to end on the GPU against finite differences ---------------- */

enum { B = 16, I = 7, H = 9, K = 4 };

/* Loss of the model with parameters P (host) on X, y (device), all on the GPU. */
static double gpu_loss(const float *P, const float *dX, const int32_t *dy, float *dP, float *dA1,
                       float *dA2)
{
    gpu->upload(dP, P, (size_t)(I * H + H + H * K + K) * 4);
    gpu->gemm(0, 0, B, H, I, 1.0f, dX, I, dP, H, 0.0f, dA1, H);
    gpu->bias_act_forward(dA1, dP + I * H, B, H, MO_ACT_TANH);
    gpu->gemm(0, 0, B, K, H, 1.0f, dA1, H, dP + I * H + H, K, 0.0f, dA2, K);
    gpu->bias_act_forward(dA2, dP + I * H + H + H * K, B, K, MO_ACT_NONE);
    return gpu->softmax_xent(dA2, dy, B, K, 0.0f, NULL, NULL);
}

static void test_cuda__model_gradients_match_finite_differences(void)
{
    if (!have_gpu())
        return;
    const int64_t np = I * H + H + H * K + K;
    float X[B * I], P[I * H + H + H * K + K], G[I * H + H + H * K + K];
    int32_t y[B];
    fill(X, B * I, 100, -1, 1);
    fill(P, np, 101, -0.5, 0.5);
    for (int r = 0; r < B; r++)
        y[r] = r % K;
    float *dX = to_dev(X, sizeof X), *dP = gpu->alloc(sizeof P), *dG = gpu->alloc(sizeof G);
    int32_t *dy = to_dev(y, sizeof y);
    float *dA1 = gpu->alloc(B * H * 4), *dA2 = gpu->alloc(B * K * 4);
    float *dD2 = gpu->alloc(B * K * 4), *dD1 = gpu->alloc(B * H * 4);
    gpu_loss(P, dX, dy, dP, dA1, dA2);
    gpu->softmax_xent(dA2, dy, B, K, 1.0f, dD2, NULL);
    float *W2 = dP + I * H + H;
    gpu->gemm(1, 0, H, K, B, 1.0f, dA1, H, dD2, K, 0.0f, dG + I * H + H, K);
    gpu->bias_grad(dG + I * H + H + H * K, dD2, B, K);
    gpu->gemm(0, 1, B, H, K, 1.0f, dD2, K, W2, K, 0.0f, dD1, H);
    gpu->act_backward(dD1, dA1, B * H, MO_ACT_TANH);
    gpu->gemm(1, 0, I, H, B, 1.0f, dX, I, dD1, H, 0.0f, dG, H);
    gpu->bias_grad(dG + I * H, dD1, B, H);
    from_dev(G, dG, sizeof G);
    int bad = 0;
    for (int64_t j = 0; j < np; j += 3) {
        float keep = P[j];
        const double h = 1e-2;
        P[j] = (float)(keep + h);
        double hp = (double)P[j] - keep;
        double fp = gpu_loss(P, dX, dy, dP, dA1, dA2);
        P[j] = (float)(keep - h);
        double hm = keep - (double)P[j];
        double fm = gpu_loss(P, dX, dy, dP, dA1, dA2);
        P[j] = keep;
        double num = (fp - fm) / (hp + hm);
        double scale = fmax(fabs(num), fabs((double)G[j]));
        if (fabs(num - G[j]) > 1e-2 * scale + 1e-4) {
            if (bad++ < 3)
                printf("\n    param %lld: analytic %.6g numeric %.6g ", (long long)j, G[j], num);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    float *bufs[] = {dX, dP, dG, dA1, dA2, dD2, dD1};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        gpu->free(bufs[i]);
    gpu->free(dy);
}

/* ---- double-buffered slots ---------------------------------------------------------------- */

static void test_cuda__prefetched_slots_arrive_intact(void)
{
    if (!have_gpu())
        return;
    const size_t n = 1 << 20;
    float *h[2] = {gpu->host_alloc(n * 4), gpu->host_alloc(n * 4)};
    float *d[2] = {gpu->alloc(n * 4), gpu->alloc(n * 4)};
    float *back = host((int64_t)n);
    CU_ASSERT_FATAL(h[0] && h[1] && d[0] && d[1]);
    for (int step = 0; step < 6; step++) {
        int s = step & 1;
        gpu->host_wait(s);
        for (size_t i = 0; i < n; i++)
            h[s][i] = (float)(step * 1000003 + (int)i % 977);
        gpu->prefetch(d[s], h[s], n * 4, s);
        gpu->use_slot(s);
        gpu->scale(d[s], (int64_t)n, 2.0f); /* compute reads and writes the slot */
        gpu->release_slot(s);
        from_dev(back, d[s], n * 4);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++)
            ok = back[i] == 2.0f * (float)(step * 1000003 + (int)i % 977);
        CU_ASSERT(ok);
    }
    for (int s = 0; s < 2; s++) {
        gpu->host_free(h[s]);
        gpu->free(d[s]);
    }
    free(back);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(gpu->check(&err), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_cuda__gemm_matches_cpu_for_every_transpose),
    MO_TEST(test_cuda__tf32_gemm_within_its_stated_bound),
    MO_TEST(test_cuda__bias_act_and_backward_match_cpu),
    MO_TEST(test_cuda__bias_grad_matches_cpu),
    MO_TEST(test_cuda__softmax_xent_matches_cpu),
    MO_TEST(test_cuda__logistic_and_mse_match_cpu),
    MO_TEST(test_cuda__nan_logits_give_nan_loss),
    MO_TEST(test_cuda__optimisers_match_cpu_over_steps),
    MO_TEST(test_cuda__sumsq_and_scale_match_cpu_and_repeat_exactly),
    MO_TEST(test_cuda__model_gradients_match_finite_differences),
    MO_TEST(test_cuda__prefetched_slots_arrive_intact),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/cuda_backend", tests);
}
