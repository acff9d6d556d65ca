/* test_optim.c - SGD and Adam/AdamW steps against a reference stepped by hand in double
 *
 * The references below restate PyTorch's update rules (torch.optim.SGD with dampening 0,
 * torch.optim.Adam, torch.optim.AdamW) element by element in double, independently of
 * optim.c's float loops. Five steps with fresh gradients each; 37 parameters (two chunks of
 * 16 and a tail). Tolerance 1e-5 * max(1, |w|): float rounding over a few steps is ~1e-7.
 */
#include "core/rng.h"
#include "kernels/backend.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N = 37, STEPS = 5 };

static void fill(float *x, int64_t n, uint64_t seed, double lo, double hi)
{
    mo_rng_t r;
    mo_rng_init(&r, seed, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * mo_rng_uniform(&r));
}

static int close_to(const float *w, const double *ref, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (!(fabs(w[i] - ref[i]) <= 1e-5 * fmax(1.0, fabs(ref[i])))) {
            fprintf(stderr, "w[%d] = %.9g, reference %.9g\n", i, w[i], ref[i]);
            bad++;
        }
    return bad;
}

/* Runs STEPS SGD steps through the backend and through the double reference; returns the
 * number of weights that disagree. */
static int sgd_agrees(mo_sgd_hparams_t h, int null_velocity)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float w[N], v[N] = {0}, g[N];
    double rw[N], rv[N] = {0};
    fill(w, N, 1, -1, 1);
    for (int i = 0; i < N; i++)
        rw[i] = w[i];
    for (int s = 0; s < STEPS; s++) {
        fill(g, N, 100 + (uint64_t)s, -1, 1);
        be->sgd_step(w, g, null_velocity ? NULL : v, N, &h);
        for (int i = 0; i < N; i++) {
            const double gd = g[i] + (double)h.weight_decay * rw[i];
            if (h.momentum == 0.0f) {
                rw[i] -= (double)h.lr * gd;
                continue;
            }
            rv[i] = (double)h.momentum * rv[i] + gd;
            rw[i] -= (double)h.lr * (h.nesterov ? gd + (double)h.momentum * rv[i] : rv[i]);
        }
    }
    return close_to(w, rw, N);
}

static void test_optim__sgd_plain_matches_reference(void)
{
    mo_sgd_hparams_t h = {.lr = 0.1f};
    CU_ASSERT_EQUAL(sgd_agrees(h, 1), 0); /* no momentum: the velocity may be NULL */
}

static void test_optim__sgd_weight_decay_matches_reference(void)
{
    mo_sgd_hparams_t h = {.lr = 0.1f, .weight_decay = 0.05f};
    CU_ASSERT_EQUAL(sgd_agrees(h, 0), 0);
}

static void test_optim__sgd_momentum_matches_reference(void)
{
    mo_sgd_hparams_t h = {.lr = 0.05f, .momentum = 0.9f};
    CU_ASSERT_EQUAL(sgd_agrees(h, 0), 0);
}

static void test_optim__sgd_nesterov_with_weight_decay_matches_reference(void)
{
    mo_sgd_hparams_t h = {.lr = 0.05f, .momentum = 0.9f, .nesterov = 1, .weight_decay = 0.01f};
    CU_ASSERT_EQUAL(sgd_agrees(h, 0), 0);
}

/* Two momentum steps with the same gradient g, by hand: v1 = g, w1 = w0 - lr g;
 * v2 = mu g + g, w2 = w1 - lr (1 + mu) g. With w0 = 1, g = 0.5, lr = 0.1, mu = 0.5:
 * w1 = 0.95, w2 = 0.95 - 0.075 = 0.875 (to float rounding: 0.1 is not exact in binary);
 * the velocities 0.5 and 0.75 are exact. */
static void test_optim__sgd_momentum_two_steps_by_hand(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_sgd_hparams_t h = {.lr = 0.1f, .momentum = 0.5f};
    float w[1] = {1.0f}, v[1] = {0.0f};
    const float g[1] = {0.5f};
    be->sgd_step(w, g, v, 1, &h);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.95, 1e-7);
    CU_ASSERT_EQUAL(v[0], 0.5f);
    be->sgd_step(w, g, v, 1, &h);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.875, 1e-7);
    CU_ASSERT_EQUAL(v[0], 0.75f);
}

static int adam_agrees(mo_adam_hparams_t h)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    float w[N], m[N] = {0}, v[N] = {0}, g[N];
    double rw[N], rm[N] = {0}, rv[N] = {0};
    fill(w, N, 2, -1, 1);
    for (int i = 0; i < N; i++)
        rw[i] = w[i];
    const double lr = h.lr, b1 = h.beta1, b2 = h.beta2, eps = h.eps, wd = h.weight_decay;
    for (int s = 0; s < STEPS; s++) {
        fill(g, N, 200 + (uint64_t)s, -1, 1);
        h.t = s + 1;
        be->adam_step(w, g, m, v, N, &h);
        const double bc1 = 1.0 - pow(b1, h.t), bc2 = 1.0 - pow(b2, h.t);
        for (int i = 0; i < N; i++) {
            double gi = g[i];
            if (h.decoupled)
                rw[i] *= 1.0 - lr * wd;
            else
                gi += wd * rw[i];
            rm[i] = b1 * rm[i] + (1.0 - b1) * gi;
            rv[i] = b2 * rv[i] + (1.0 - b2) * gi * gi;
            const double mhat = rm[i] / bc1, vhat = rv[i] / bc2;
            rw[i] -= lr * mhat / (sqrt(vhat) + eps);
        }
    }
    return close_to(w, rw, N);
}

static void test_optim__adam_matches_reference(void)
{
    mo_adam_hparams_t h = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    CU_ASSERT_EQUAL(adam_agrees(h), 0);
}

static void test_optim__adam_l2_weight_decay_matches_reference(void)
{
    mo_adam_hparams_t h = {
        .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
    CU_ASSERT_EQUAL(adam_agrees(h), 0);
}

static void test_optim__adamw_decoupled_decay_matches_reference(void)
{
    mo_adam_hparams_t h = {.lr = 1e-2f,
                           .beta1 = 0.9f,
                           .beta2 = 0.999f,
                           .eps = 1e-8f,
                           .weight_decay = 0.1f,
                           .decoupled = 1};
    CU_ASSERT_EQUAL(adam_agrees(h), 0);
}

/* At t = 1 the bias corrections undo the zero start: m1 = (1 - b1) g and v1 = (1 - b2) g^2,
 * so m1 / bc1 = g and sqrt(v1 / bc2) = |g|, and w1 = w0 - lr g / (|g| + eps): every weight
 * moves by lr against the sign of its gradient, whatever the gradient's size. */
static void test_optim__adam_first_step_moves_each_weight_by_lr(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_adam_hparams_t h = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = 1};
    float w[4] = {1, 1, 1, 1}, m[4] = {0}, v[4] = {0};
    const float g[4] = {3.0f, -0.02f, 1e-3f, -500.0f};
    be->adam_step(w, g, m, v, 4, &h);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_DOUBLE_EQUAL(w[i], g[i] > 0 ? 0.99 : 1.01, 1e-6);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_optim__sgd_plain_matches_reference),
    MO_TEST(test_optim__sgd_weight_decay_matches_reference),
    MO_TEST(test_optim__sgd_momentum_matches_reference),
    MO_TEST(test_optim__sgd_nesterov_with_weight_decay_matches_reference),
    MO_TEST(test_optim__sgd_momentum_two_steps_by_hand),
    MO_TEST(test_optim__adam_matches_reference),
    MO_TEST(test_optim__adam_l2_weight_decay_matches_reference),
    MO_TEST(test_optim__adamw_decoupled_decay_matches_reference),
    MO_TEST(test_optim__adam_first_step_moves_each_weight_by_lr),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/optim", tests);
}
