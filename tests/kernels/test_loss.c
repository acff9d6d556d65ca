/* test_loss.c - softmax cross-entropy, logistic and squared-error losses: values, gradients
 * against finite differences, stability for huge logits, optional outputs
 *
 * Finite differences: double-precision central differences of scale * (returned loss sum),
 * h = 1e-3 (the step actually taken after rounding to float). Tolerance
 * |analytic - numeric| <= 1e-2 * max(|a|, |n|) + 1e-4 (float32 objective, see test_dense.c).
 */
#include "core/rng.h"
#include "kernels/backend.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void fill(float *x, int64_t n, uint64_t seed, double lo, double hi)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * mo_rng_uniform(&r));
}

static void labels(int32_t *y, int64_t n, int32_t k, uint64_t seed)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 1, 0);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)mo_rng_below(&r, (uint64_t)k);
}

static int grad_close(double analytic, double numeric)
{
    return fabs(analytic - numeric) <= 1e-2 * fmax(fabs(analytic), fabs(numeric)) + 1e-4;
}

/* ---- softmax cross-entropy ---- */

enum { SR = 3, SK = 19 }; /* 19 classes: one chunk of 16 and a tail */

static double softmax_ref(const float *l, int32_t y, int64_t k)
{
    double m = l[0], s = 0.0;
    for (int64_t j = 1; j < k; j++)
        m = fmax(m, l[j]);
    for (int64_t j = 0; j < k; j++)
        s += exp((double)l[j] - m);
    return log(s) + m - l[y];
}

static void test_loss__softmax_xent_matches_double_reference(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float l[SR * SK], d[SR * SK];
    int32_t y[SR];
    fill(l, SR * SK, 1, -5, 5);
    labels(y, SR, SK, 2);
    double want = 0.0;
    for (int r = 0; r < SR; r++)
        want += softmax_ref(l + r * SK, y[r], SK);
    const double got = be->softmax_xent(l, y, SR, SK, 1.0f, d, NULL);
    CU_ASSERT_DOUBLE_EQUAL(got, want, 1e-6 * want);
}

static void test_loss__softmax_xent_grad_matches_finite_differences(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float scale = 1.0f / SR;
    float l[SR * SK], d[SR * SK];
    int32_t y[SR];
    fill(l, SR * SK, 3, -3, 3);
    labels(y, SR, SK, 4);
    be->softmax_xent(l, y, SR, SK, scale, d, NULL);
    int bad = 0;
    for (int i = 0; i < SR * SK; i++) {
        const float l0 = l[i];
        l[i] = l0 + 1e-3f;
        const double hi = l[i], fp = scale * be->softmax_xent(l, y, SR, SK, 1.0f, NULL, NULL);
        l[i] = l0 - 1e-3f;
        const double lo = l[i], fm = scale * be->softmax_xent(l, y, SR, SK, 1.0f, NULL, NULL);
        l[i] = l0;
        const double numeric = (fp - fm) / (hi - lo);
        if (!grad_close(d[i], numeric)) {
            fprintf(stderr, "dlogits[%d]: analytic %g numeric %g\n", i, d[i], numeric);
            bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Logits of magnitude 1e4 overflow exp() in any precision unless shifted by the row max.
 * Row [1e4, 0, -1e4]: the max-shifted exponentials are [1, e^-1e4, e^-2e4] = [1, 0, 0] in
 * float, so log(sum) = 0 and the loss is m - l[y] = 0, 1e4, 2e4 for y = 0, 1, 2; the softmax
 * is exactly one-hot [1, 0, 0] and dlogits = scale * (p - onehot(y)). Row [1e4, 1e4, 1e4]:
 * uniform, loss log 3, p = 1/3. */
static void test_loss__softmax_xent_stable_for_logits_of_1e4(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float big[4 * 3] = {1e4f, 0, -1e4f, 1e4f, 0, -1e4f, 1e4f, 0, -1e4f, 1e4f, 1e4f, 1e4f};
    const int32_t y[4] = {0, 1, 2, 1};
    const float s = 0.25f;
    float d[12], p[12];
    const double loss = be->softmax_xent(big, y, 4, 3, s, d, p);
    CU_ASSERT(isfinite(loss));
    CU_ASSERT_DOUBLE_EQUAL(loss, 3e4 + log(3.0), 1e-3);
    const float want_d[9] = {0, 0, 0, s, -s, 0, s, 0, -s};
    for (int i = 0; i < 9; i++) {
        CU_ASSERT_EQUAL(d[i], want_d[i]);
        CU_ASSERT_EQUAL(p[i], i % 3 == 0 ? 1.0f : 0.0f);
    }
    for (int j = 9; j < 12; j++) {
        CU_ASSERT_DOUBLE_EQUAL(p[j], 1.0 / 3.0, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(d[j], s * (1.0 / 3.0 - (j == 10)), 1e-7);
    }
}

/* probs and dlogits are optional and do not change the loss or each other. */
static void test_loss__softmax_xent_outputs_are_optional_and_consistent(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float l[SR * SK], d1[SR * SK], d2[SR * SK], p1[SR * SK], p2[SR * SK];
    int32_t y[SR];
    fill(l, SR * SK, 5, -4, 4);
    labels(y, SR, SK, 6);
    const double a = be->softmax_xent(l, y, SR, SK, 0.5f, d1, p1);
    const double b = be->softmax_xent(l, y, SR, SK, 0.5f, d2, NULL);
    const double c = be->softmax_xent(l, y, SR, SK, 0.5f, NULL, p2);
    const double e = be->softmax_xent(l, y, SR, SK, 0.5f, NULL, NULL);
    CU_ASSERT(a == b && a == c && a == e);
    CU_ASSERT_EQUAL(memcmp(d1, d2, sizeof d1), 0);
    CU_ASSERT_EQUAL(memcmp(p1, p2, sizeof p1), 0);
    for (int r = 0; r < SR; r++) {
        double sum = 0.0, dsum = 0.0;
        for (int j = 0; j < SK; j++) {
            sum += p1[r * SK + j];
            dsum += d1[r * SK + j];
        }
        CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(dsum, 0.0, 1e-6); /* sum_j (p_j - onehot_j) = 0 */
    }
}

static void test_loss__softmax_xent_nan_logit_gives_nan_loss(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float l[2 * 3] = {1, 2, 3, 1, NAN, 3};
    const int32_t y[2] = {0, 0};
    float d[6];
    CU_ASSERT(isnan(be->softmax_xent(l, y, 2, 3, 1.0f, d, NULL)));
    CU_ASSERT(isnan(be->softmax_xent(l + 3, y, 1, 3, 1.0f, NULL, NULL)));
    CU_ASSERT(isfinite(be->softmax_xent(l, y, 1, 3, 1.0f, NULL, NULL)));
}

/* ---- binary logistic ---- */

enum { LR = 13 };

static void test_loss__logistic_matches_naive_formula(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float z[LR], p[LR];
    int32_t y[LR];
    fill(z, LR, 7, -6, 6);
    labels(y, LR, 2, 8);
    double want = 0.0;
    for (int i = 0; i < LR; i++) {
        const double q = 1.0 / (1.0 + exp(-(double)z[i]));
        want += y[i] ? -log(q) : -log(1.0 - q);
    }
    CU_ASSERT_DOUBLE_EQUAL(be->logistic(z, y, LR, 1.0f, NULL, p), want, 1e-6 * want);
    for (int i = 0; i < LR; i++)
        CU_ASSERT_DOUBLE_EQUAL(p[i], 1.0 / (1.0 + exp(-(double)z[i])), 1e-6);
}

static void test_loss__logistic_grad_matches_finite_differences(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float scale = 1.0f / LR;
    float z[LR], dz[LR];
    int32_t y[LR];
    fill(z, LR, 9, -4, 4);
    labels(y, LR, 2, 10);
    be->logistic(z, y, LR, scale, dz, NULL);
    for (int i = 0; i < LR; i++) {
        const float z0 = z[i];
        z[i] = z0 + 1e-3f;
        const double hi = z[i], fp = scale * be->logistic(z, y, LR, 1.0f, NULL, NULL);
        z[i] = z0 - 1e-3f;
        const double lo = z[i], fm = scale * be->logistic(z, y, LR, 1.0f, NULL, NULL);
        z[i] = z0;
        CU_ASSERT(grad_close(dz[i], (fp - fm) / (hi - lo)));
    }
}

/* z = +-1e4: exp(-|z|) underflows to 0, so loss = max(z, 0) - z y exactly: 0 when the sign
 * agrees with the label, 1e4 when not; p = sigmoid(z) is exactly 1 or 0, dz = scale (p - y). */
static void test_loss__logistic_stable_for_large_logits(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float z[4] = {1e4f, -1e4f, 1e4f, -1e4f};
    const int32_t y[4] = {1, 0, 0, 1};
    float dz[4], p[4];
    CU_ASSERT_EQUAL(be->logistic(z, y, 4, 0.5f, dz, p), 2e4);
    const float want_p[4] = {1, 0, 1, 0}, want_dz[4] = {0, 0, 0.5f, -0.5f};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(p[i], want_p[i]);
        CU_ASSERT_EQUAL(dz[i], want_dz[i]);
    }
}

/* ---- squared error ---- */

/* pred [1, 2, 3], y [1.5, 2, 1]: d = [-0.5, 0, 2], loss = 0.5 (0.25 + 0 + 4) = 2.125,
 * dpred = scale d. */
static void test_loss__mse_matches_hand_computed_values(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    const float pred[3] = {1, 2, 3}, y[3] = {1.5f, 2, 1};
    float d[3];
    CU_ASSERT_EQUAL(be->mse(pred, y, 3, 0.5f, d), 2.125);
    CU_ASSERT(d[0] == -0.25f && d[1] == 0.0f && d[2] == 1.0f);
    CU_ASSERT_EQUAL(be->mse(pred, y, 3, 0.5f, NULL), 2.125);
    CU_ASSERT_EQUAL(be->mse(pred, y, 0, 0.5f, NULL), 0.0);
}

static void test_loss__mse_grad_matches_finite_differences(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    enum { N = 9 };
    const float scale = 1.0f / N;
    float pred[N], y[N], d[N];
    fill(pred, N, 11, -2, 2);
    fill(y, N, 12, -2, 2);
    be->mse(pred, y, N, scale, d);
    for (int i = 0; i < N; i++) {
        const float p0 = pred[i];
        pred[i] = p0 + 1e-3f;
        const double hi = pred[i], fp = scale * be->mse(pred, y, N, 1.0f, NULL);
        pred[i] = p0 - 1e-3f;
        const double lo = pred[i], fm = scale * be->mse(pred, y, N, 1.0f, NULL);
        pred[i] = p0;
        CU_ASSERT(grad_close(d[i], (fp - fm) / (hi - lo)));
    }
}

static CU_TestInfo tests[] = {
    MO_TEST(test_loss__softmax_xent_matches_double_reference),
    MO_TEST(test_loss__softmax_xent_grad_matches_finite_differences),
    MO_TEST(test_loss__softmax_xent_stable_for_logits_of_1e4),
    MO_TEST(test_loss__softmax_xent_outputs_are_optional_and_consistent),
    MO_TEST(test_loss__softmax_xent_nan_logit_gives_nan_loss),
    MO_TEST(test_loss__logistic_matches_naive_formula),
    MO_TEST(test_loss__logistic_grad_matches_finite_differences),
    MO_TEST(test_loss__logistic_stable_for_large_logits),
    MO_TEST(test_loss__mse_matches_hand_computed_values),
    MO_TEST(test_loss__mse_grad_matches_finite_differences),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/loss", tests);
}
