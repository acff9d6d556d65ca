/* test_dense.c - bias + activation, activation backward, bias gradient, and a dense layer
 * (GEMM + bias + activation) checked against finite differences
 *
 * Finite differences: double-precision central differences (f(x+h) - f(x-h)) / 2h of an
 * objective computed with the float32 kernels, h = 1e-3 (the step actually taken after
 * rounding x +- h to float). Tolerance |analytic - numeric| <= 1e-2 * max(|a|, |n|) + 1e-4:
 * the relative part covers the O(h^2) truncation, the absolute floor the float32 rounding of
 * the objective divided by 2h (about 1e-7 / 2e-3).
 */
#include "core/rng.h"
#include "kernels/backend.h"
#include "tests/unit.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const mo_act_t ACTS[] = {MO_ACT_NONE, MO_ACT_RELU, MO_ACT_TANH, MO_ACT_SIGMOID};
static const char *const ACT_NAMES[] = {"none", "relu", "tanh", "sigmoid"};
enum { NACTS = 4 };

static void fill(float *x, int64_t n, uint64_t seed, double lo, double hi)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * mo_rng_uniform(&r));
}

static double act_ref(mo_act_t act, double v)
{
    switch (act) {
    case MO_ACT_RELU:
        return v > 0.0 ? v : 0.0;
    case MO_ACT_TANH:
        return tanh(v);
    case MO_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-v));
    default:
        return v;
    }
}

/* Distance in units in the last place of a float at `want` (denormal spacing below FLT_MIN). */
static double ulps(float got, double want)
{
    int e;
    frexp(fabs(want), &e);
    const double ulp = fabs(want) < FLT_MIN ? ldexp(1.0, -149) : ldexp(1.0, e - 24);
    return fabs((double)got - want) / ulp;
}

static int grad_close(double analytic, double numeric)
{
    const double scale = fmax(fabs(analytic), fabs(numeric));
    return fabs(analytic - numeric) <= 1e-2 * scale + 1e-4;
}

/* Each activation over [-110, 109] in steps of 1/64 (14017 values; rows of 107 columns, so
 * chunks and tails both run): relu and none exact, tanh and sigmoid within 4 ulp of the
 * double-precision value, denormal outputs included. */
static void test_dense__bias_act_forward_matches_double_reference(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { ROWS = 131, COLS = 107 }; /* 107 = 6 chunks of 16 + a tail of 11 */
    static float x[ROWS * COLS], y[ROWS * COLS];
    float zero[COLS] = {0};
    for (int i = 0; i < ROWS * COLS; i++)
        x[i] = (float)(-110.0 + i / 64.0);
    for (int a = 0; a < NACTS; a++) {
        memcpy(y, x, sizeof x);
        be->bias_act_forward(y, zero, ROWS, COLS, ACTS[a]);
        double worst = 0.0;
        for (int i = 0; i < ROWS * COLS; i++)
            worst = fmax(worst, ulps(y[i], act_ref(ACTS[a], x[i])));
        if (worst > (ACTS[a] == MO_ACT_TANH || ACTS[a] == MO_ACT_SIGMOID ? 4.0 : 0.0))
            fprintf(stderr, "%s: %.2f ulp\n", ACT_NAMES[a], worst);
        CU_ASSERT(worst <= (ACTS[a] == MO_ACT_TANH || ACTS[a] == MO_ACT_SIGMOID ? 4.0 : 0.0));
    }
}

/* Small inputs, where tanh must not be computed as (1 - e^-2x)/(1 + e^-2x) (cancellation):
 * |x| from 1e-30 to 1 in steps of 2%, both signs, within 4 ulp. */
static void test_dense__tanh_and_sigmoid_accurate_for_small_inputs(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { N = 2 * 3489 };
    static float x[N], y[N], zero[N];
    int n = 0;
    for (double v = 1e-30; v < 1.0 && n + 2 <= N; v *= 1.02) {
        x[n++] = (float)v;
        x[n++] = (float)-v;
    }
    const mo_act_t acts[2] = {MO_ACT_TANH, MO_ACT_SIGMOID};
    for (int a = 0; a < 2; a++) {
        memcpy(y, x, sizeof x);
        be->bias_act_forward(y, zero, 1, n, acts[a]); /* one row: the chunked loop */
        double worst = 0.0;
        for (int i = 0; i < n; i++)
            worst = fmax(worst, ulps(y[i], act_ref(acts[a], x[i])));
        CU_ASSERT(worst <= 4.0);
    }
}

/* The bias is added per column, in float, before the activation. */
static void test_dense__bias_is_added_per_column_before_activation(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { ROWS = 3, COLS = 21 };
    float x[ROWS * COLS], y[ROWS * COLS], b[COLS];
    fill(x, ROWS * COLS, 1, -1, 1);
    fill(b, COLS, 2, -1, 1);
    for (int a = 0; a < NACTS; a++) {
        memcpy(y, x, sizeof x);
        be->bias_act_forward(y, b, ROWS, COLS, ACTS[a]);
        for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < COLS; c++) {
                const float v = x[r * COLS + c] + b[c];
                CU_ASSERT(ulps(y[r * COLS + c], act_ref(ACTS[a], v)) <= 4.0);
            }
    }
}

/* Saturated inputs give the limits, finite, never NaN; tiny sigmoid outputs keep their value
 * (computed as e/(1+e), not 1 - 1/(1+e), which would give 0). */
static void test_dense__tanh_and_sigmoid_stable_for_large_inputs(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float in[6] = {1e4f, -1e4f, INFINITY, -INFINITY, 100.0f, -100.0f};
    const float sig_want[6] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 3.7200760e-44f};
    const float tanh_want[6] = {1.0f, -1.0f, 1.0f, -1.0f, 1.0f, -1.0f};
    float b[6] = {0}, y[6];
    memcpy(y, in, sizeof y);
    be->bias_act_forward(y, b, 1, 6, MO_ACT_SIGMOID);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(y[i], sig_want[i]);
    memcpy(y, in, sizeof y);
    be->bias_act_forward(y, b, 1, 6, MO_ACT_TANH);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(y[i], tanh_want[i]);
}

/* A diverged run must show NaN downstream (the trainer stops on a NaN loss), not values an
 * activation quietly made finite. */
static void test_dense__nan_passes_through_every_activation(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    for (int a = 0; a < NACTS; a++) {
        float y[20], b[20] = {0};
        for (int i = 0; i < 20; i++)
            y[i] = (i % 3) ? NAN : 1.0f;
        be->bias_act_forward(y, b, 1, 20, ACTS[a]);
        for (int i = 0; i < 20; i++)
            CU_ASSERT_EQUAL(isnan(y[i]) != 0, (i % 3) != 0);
    }
}

/* f(x) = sum_i g_i act(x_i); act_backward(g, act(x)) must equal df/dx. x avoids ReLU's kink. */
static void test_dense__act_backward_matches_finite_differences(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { N = 37 };
    float x[N], g[N], y[N], d[N], zero[N] = {0};
    fill(x, N, 3, -3, 3);
    fill(g, N, 4, -1, 1);
    for (int i = 0; i < N; i++)
        if (fabsf(x[i]) < 0.01f)
            x[i] = 0.5f;
    for (int a = 0; a < NACTS; a++) {
        memcpy(y, x, sizeof x);
        be->bias_act_forward(y, zero, 1, N, ACTS[a]);
        memcpy(d, g, sizeof g);
        be->act_backward(d, y, N, ACTS[a]);
        for (int i = 0; i < N; i++) {
            float xp = x[i] + 1e-3f, xm = x[i] - 1e-3f;
            be->bias_act_forward(&xp, zero, 1, 1, ACTS[a]);
            be->bias_act_forward(&xm, zero, 1, 1, ACTS[a]);
            const double h = (double)(x[i] + 1e-3f) - (double)(x[i] - 1e-3f);
            const double numeric = (double)g[i] * ((double)xp - (double)xm) / h;
            if (!grad_close(d[i], numeric))
                fprintf(stderr, "%s x=%g: analytic %g numeric %g\n", ACT_NAMES[a], x[i], d[i],
                        numeric);
            CU_ASSERT(grad_close(d[i], numeric));
        }
    }
}

/* ---- a dense layer as the trainer runs it ----
 * forward:  Y = act(X W + b)          X [B, I], W [I, O], b [O]
 * backward: dZ = act'(dY), db = colsum(dZ), dW = X^T dZ, dX = dZ W^T
 * objective L = sum R .* Y with fixed random R, so dY = R. */
enum { B = 4, I = 5, O = 3 };

typedef struct {
    float X[B * I], W[I * O], b[O], R[B * O];
} layer_t;

static void layer_forward(const layer_t *l, mo_act_t act, float *Y)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    be->gemm(0, 0, B, O, I, 1.0f, l->X, I, l->W, O, 0.0f, Y, O);
    be->bias_act_forward(Y, l->b, B, O, act);
}

static double layer_objective(const layer_t *l, mo_act_t act)
{
    float Y[B * O];
    layer_forward(l, act, Y);
    double s = 0.0;
    for (int i = 0; i < B * O; i++)
        s += (double)l->R[i] * Y[i];
    return s;
}

/* Central difference of the objective in parameter *p (a member of *l). */
static double numeric_grad(layer_t *l, float *p, mo_act_t act)
{
    const float p0 = *p;
    *p = p0 + 1e-3f;
    const double hi = *p, fp = layer_objective(l, act);
    *p = p0 - 1e-3f;
    const double lo = *p, fm = layer_objective(l, act);
    *p = p0;
    return (fp - fm) / (hi - lo);
}

static int check_grads(layer_t *l, float *param, const float *grad, int n, mo_act_t act,
                       const char *what)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const double numeric = numeric_grad(l, &param[i], act);
        if (!grad_close(grad[i], numeric)) {
            fprintf(stderr, "%s[%d] (%d): analytic %g numeric %g\n", what, i, (int)act, grad[i],
                    numeric);
            bad++;
        }
    }
    return bad;
}

static void test_dense__layer_gradients_match_finite_differences(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    layer_t l;
    fill(l.X, B * I, 5, -1, 1);
    fill(l.W, I * O, 6, -1, 1);
    fill(l.b, O, 7, -0.5, 0.5);
    fill(l.R, B * O, 8, -1, 1);
    for (int a = 0; a < NACTS; a++) {
        float Y[B * O], dZ[B * O], db[O], dW[I * O], dX[B * I];
        /* Every perturbation moves a pre-activation by at most 1e-3 (|X|, |W| <= 1): keep the
         * ReLU kink out of reach, or the check would measure the kink, not the code. */
        be->gemm(0, 0, B, O, I, 1.0f, l.X, I, l.W, O, 0.0f, Y, O);
        for (int i = 0; i < B * O; i++)
            CU_ASSERT_FATAL(fabsf(Y[i] + l.b[i % O]) > 2e-3f);

        layer_forward(&l, ACTS[a], Y);
        memcpy(dZ, l.R, sizeof dZ);
        be->act_backward(dZ, Y, B * O, ACTS[a]);
        be->bias_grad(db, dZ, B, O);
        be->gemm(1, 0, I, O, B, 1.0f, l.X, I, dZ, O, 0.0f, dW, O);
        be->gemm(0, 1, B, I, O, 1.0f, dZ, O, l.W, O, 0.0f, dX, I);

        CU_ASSERT_EQUAL(check_grads(&l, l.W, dW, I * O, ACTS[a], "dW"), 0);
        CU_ASSERT_EQUAL(check_grads(&l, l.b, db, O, ACTS[a], "db"), 0);
        CU_ASSERT_EQUAL(check_grads(&l, l.X, dX, B * I, ACTS[a], "dX"), 0);
    }
}

/* Column sums in row order in double, rounded once: identical to a naive double loop in the
 * same order. 600 columns = a full block of 512 plus 88; 33 rows. */
static void test_dense__bias_grad_equals_naive_column_sums(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { ROWS = 33, COLS = 600 };
    static float dZ[ROWS * COLS];
    float db[COLS];
    fill(dZ, ROWS * COLS, 9, -1, 1);
    be->bias_grad(db, dZ, ROWS, COLS);
    for (int c = 0; c < COLS; c++) {
        double s = 0.0;
        for (int r = 0; r < ROWS; r++)
            s += dZ[r * COLS + c];
        CU_ASSERT_EQUAL(db[c], (float)s);
    }
    /* Overwrites (does not add to) db; no rows gives zeros. */
    be->bias_grad(db, dZ, 0, COLS);
    for (int c = 0; c < COLS; c++)
        CU_ASSERT_EQUAL(db[c], 0.0f);
}

static void test_dense__act_none_backward_leaves_gradient(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float d[5] = {1, -2, 3, -4, 5}, y[5] = {0, 0, 0, 0, 0};
    be->act_backward(d, y, 5, MO_ACT_NONE);
    CU_ASSERT(d[0] == 1 && d[1] == -2 && d[2] == 3 && d[3] == -4 && d[4] == 5);
    be->act_backward(d, y, 5, MO_ACT_RELU); /* y == 0: ReLU's subgradient there is 0 */
    CU_ASSERT(d[0] == 0 && d[4] == 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_dense__bias_act_forward_matches_double_reference),
    MO_TEST(test_dense__tanh_and_sigmoid_accurate_for_small_inputs),
    MO_TEST(test_dense__bias_is_added_per_column_before_activation),
    MO_TEST(test_dense__tanh_and_sigmoid_stable_for_large_inputs),
    MO_TEST(test_dense__nan_passes_through_every_activation),
    MO_TEST(test_dense__act_backward_matches_finite_differences),
    MO_TEST(test_dense__layer_gradients_match_finite_differences),
    MO_TEST(test_dense__bias_grad_equals_naive_column_sums),
    MO_TEST(test_dense__act_none_backward_leaves_gradient),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/dense", tests);
}
