/* test_sampler_tpe.c - TPE beats random search, handles pending trials and every type */
#include "jobs/sweep/objectives.h"
#include "jobs/sweep/sampler.h"
#include "tests/unit.h"

#include <math.h>
#include <string.h>

/* Best value after `trials` sequential trials of `algo` on `o` with `seed`. */
static double best_of_cand(const char *algo, const mo_objective_t *o, uint64_t seed, int trials,
                           int candidates)
{
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    mo_sampler_opts_t opts;
    mo_sampler_opts_default(&opts);
    opts.seed = seed;
    if (candidates > 0)
        opts.n_ei_candidates = candidates;
    mo_sampler_t *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&smp, algo, s, &opts, NULL), 0);
    double best = INFINITY;
    for (int t = 0; t < trials; t++) {
        double x[MO_OBJECTIVE_MAX_DIM];
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(smp, t, x, NULL), 0);
        double y = o->fn(x);
        best = fmin(best, y);
        CU_ASSERT_EQUAL(mo_sampler_tell(smp, t, MO_TRIAL_COMPLETED, y, NULL), 0);
    }
    mo_sampler_destroy(smp);
    mo_space_destroy(s);
    return best;
}

static double best_of(const char *algo, const mo_objective_t *o, uint64_t seed, int trials)
{
    return best_of_cand(algo, o, seed, trials, 0);
}

static void compare(const char *name)
{
    const mo_objective_t *o = mo_objective_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    double tpe = 0, rnd = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        tpe += best_of("tpe", o, seed, 50) / 10;
        rnd += best_of("random", o, seed, 50) / 10;
    }
    fprintf(stderr, "\n  %s mean best over 10 seeds x 50 trials: tpe %.4f random %.4f\n", name, tpe,
            rnd);
    CU_ASSERT(tpe < rnd);
}

static void test_sampler_tpe__beats_random_on_branin(void)
{
    compare("branin");
}

static void test_sampler_tpe__beats_random_on_hartmann6(void)
{
    compare("hartmann6");
}

/* Maestro's default of 8 EI candidates (Optuna's is 24) was chosen on seeds 1000-4999; here, on
 * seeds it was not chosen on, it must still give a lower mean best on both test functions. */
static void test_sampler_tpe__default_candidates_beat_optunas_24_on_fresh_seeds(void)
{
    const char *names[] = {"branin", "hartmann6"};
    mo_sampler_opts_t d;
    mo_sampler_opts_default(&d);
    CU_ASSERT_EQUAL(d.n_ei_candidates, 8);
    for (int f = 0; f < 2; f++) {
        const mo_objective_t *o = mo_objective_find(names[f]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        double ours = 0, theirs = 0;
        enum { FIRST = 5000, SEEDS = 400 };
        for (uint64_t seed = FIRST; seed < FIRST + SEEDS; seed++) {
            ours += best_of_cand("tpe", o, seed, 50, 0) / SEEDS;
            theirs += best_of_cand("tpe", o, seed, 50, 24) / SEEDS;
        }
        fprintf(stderr, "\n  %s mean best, seeds %d-%d x 50 trials: 8 candidates %.4f, 24 %.4f",
                names[f], FIRST, FIRST + SEEDS - 1, ours, theirs);
        CU_ASSERT(ours < theirs);
    }
    fprintf(stderr, "\n");
}

static void test_sampler_tpe__pending_trials_get_different_suggestions(void)
{
    const mo_objective_t *o = mo_objective_find("branin");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    mo_sampler_t *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&smp, "tpe", s, NULL, NULL), 0);
    double x[2];
    for (int t = 0; t < 20; t++) {
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(smp, t, x, NULL), 0);
        CU_ASSERT_EQUAL(mo_sampler_tell(smp, t, MO_TRIAL_COMPLETED, o->fn(x), NULL), 0);
    }
    /* Four groups ask at once: none of them has told anything yet. */
    double p[4][2];
    for (int k = 0; k < 4; k++)
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(smp, 20 + k, p[k], NULL), 0);
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            CU_ASSERT(p[a][0] != p[b][0] || p[a][1] != p[b][1]);
    mo_sampler_destroy(smp);
    mo_space_destroy(s);
}

static void test_sampler_tpe__resume_from_history_gives_the_same_suggestion(void)
{
    const mo_objective_t *o = mo_objective_find("hartmann6");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    mo_sampler_opts_t opts;
    mo_sampler_opts_default(&opts);
    opts.seed = 3;
    mo_sampler_t *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&a, "tpe", s, &opts, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&b, "tpe", s, &opts, NULL), 0);
    double x[6], y[6];
    for (int t = 0; t < 30; t++) {
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(a, t, x, NULL), 0);
        mo_sampler_tell(a, t, MO_TRIAL_COMPLETED, o->fn(x), NULL);
        /* The journal replayed into a fresh sampler. */
        CU_ASSERT_EQUAL(mo_sampler_restore(b, t, x, NULL), 0);
        mo_sampler_tell(b, t, MO_TRIAL_COMPLETED, o->fn(x), NULL);
    }
    CU_ASSERT_EQUAL(mo_sampler_suggest(a, 30, x, NULL), 0);
    CU_ASSERT_EQUAL(mo_sampler_suggest(b, 30, y, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof(x)), 0);
    mo_sampler_destroy(a);
    mo_sampler_destroy(b);
    mo_space_destroy(s);
}

/* log lr, int epochs, categorical best at index 2: TPE must keep types and learn the category. */
static void test_sampler_tpe__log_int_and_categorical_respected(void)
{
    mo_space_t *s = NULL;
    mo_space_create(&s, NULL);
    mo_param_t lr = {
        .name = "lr", .type = MO_PARAM_DOUBLE, .min = 1e-5, .max = 1, .scale = MO_SCALE_LOG};
    mo_param_t ep = {.name = "ep", .type = MO_PARAM_INT, .min = 1, .max = 20};
    mo_param_t lg = {
        .name = "lg", .type = MO_PARAM_INT, .min = 1, .max = 1024, .scale = MO_SCALE_LOG};
    const char *cv[] = {"a", "b", "c", "d"};
    mo_param_t c = {.name = "c", .type = MO_PARAM_CATEGORICAL, .n_values = 4, .texts = cv};
    const double nums[] = {16, 32, 64};
    mo_param_t d = {.name = "d", .type = MO_PARAM_DISCRETE, .n_values = 3, .numbers = nums};
    mo_space_add(s, &lr, NULL);
    mo_space_add(s, &ep, NULL);
    mo_space_add(s, &lg, NULL);
    mo_space_add(s, &c, NULL);
    mo_space_add(s, &d, NULL);
    mo_sampler_t *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&smp, "tpe", s, NULL, NULL), 0);
    int late_c2 = 0;
    for (int t = 0; t < 80; t++) {
        double x[5];
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(smp, t, x, NULL), 0);
        CU_ASSERT(x[0] >= 1e-5 && x[0] <= 1);
        CU_ASSERT(x[1] == floor(x[1]) && x[1] >= 1 && x[1] <= 20);
        CU_ASSERT(x[2] == floor(x[2]) && x[2] >= 1 && x[2] <= 1024);
        CU_ASSERT(x[3] == 0 || x[3] == 1 || x[3] == 2 || x[3] == 3);
        CU_ASSERT(x[4] == 16 || x[4] == 32 || x[4] == 64);
        double y = pow(log10(x[0]) + 3, 2) + pow(x[1] - 7, 2) / 10 + (x[3] == 2 ? 0 : 3);
        late_c2 += t >= 40 && x[3] == 2;
        CU_ASSERT_EQUAL(mo_sampler_tell(smp, t, MO_TRIAL_COMPLETED, y, NULL), 0);
    }
    /* Random would pick the good category a quarter of the time. */
    CU_ASSERT(late_c2 > 20);
    mo_sampler_destroy(smp);
    mo_space_destroy(s);
}

/* A long run (ramped weights, thousands of kernels in the bad estimator, most of them far from
 * any candidate): suggestions stay in the box and the search still closes in on a minimum. */
static void test_sampler_tpe__long_run_stays_in_bounds_and_converges(void)
{
    const mo_objective_t *o = mo_objective_find("branin");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    mo_sampler_t *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&smp, "tpe", s, NULL, NULL), 0);
    double best = INFINITY;
    for (int t = 0; t < 400; t++) {
        double x[2];
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(smp, t, x, NULL), 0);
        CU_ASSERT(x[0] >= -5 && x[0] <= 10 && x[1] >= 0 && x[1] <= 15);
        double y = o->fn(x);
        CU_ASSERT(isfinite(y));
        best = fmin(best, y);
        CU_ASSERT_EQUAL(mo_sampler_tell(smp, t, MO_TRIAL_COMPLETED, y, NULL), 0);
    }
    CU_ASSERT(best < 0.45); /* global minimum 0.3979 */
    mo_sampler_destroy(smp);
    mo_space_destroy(s);
}

/* The journal may hold trials out of number order: the estimators read trials by number, so a
 * history restored backwards gives the same suggestion as one restored forwards. */
static void test_sampler_tpe__history_order_does_not_matter(void)
{
    const mo_objective_t *o = mo_objective_find("hartmann6");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    mo_sampler_opts_t opts;
    mo_sampler_opts_default(&opts);
    opts.seed = 5;
    mo_sampler_t *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&a, "tpe", s, &opts, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&b, "tpe", s, &opts, NULL), 0);
    double xs[40][6], x[6], y[6];
    for (int t = 0; t < 40; t++) {
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(a, t, xs[t], NULL), 0);
        mo_sampler_tell(a, t, MO_TRIAL_COMPLETED, o->fn(xs[t]), NULL);
    }
    for (int t = 39; t >= 0; t--) {
        CU_ASSERT_EQUAL(mo_sampler_restore(b, t, xs[t], NULL), 0);
        mo_sampler_tell(b, t, MO_TRIAL_COMPLETED, o->fn(xs[t]), NULL);
    }
    CU_ASSERT_EQUAL(mo_sampler_suggest(a, 40, x, NULL), 0);
    CU_ASSERT_EQUAL(mo_sampler_suggest(b, 40, y, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof(x)), 0);
    mo_sampler_destroy(a);
    mo_sampler_destroy(b);
    mo_space_destroy(s);
}

/* The suggestion after a fixed 40-trial Branin history (the R2 sequence, so Python can rebuild
 * it exactly), averaged over 8000 seeds, against Optuna 3.1's TPESampler with defaults on the
 * same history (sample_independent for seeds 0-7999: x0 mean 2.6830, x1 mean 3.6495, standard
 * errors 0.0104 and 0.0102). The tolerance is 4 standard errors of the difference: the estimator
 * variants this separates from Optuna's (consider_endpoints, no magic clip, flat weights for the
 * bad group, a narrower prior, the 1/sigma kernel heights, hyperopt's gamma) move x1's mean by
 * 0.10 to 2.7. */
static void test_sampler_tpe__suggestions_match_optuna_31_on_a_fixed_history(void)
{
    const mo_objective_t *o = mo_objective_find("branin");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, o, NULL), 0);
    enum { N = 40, SEEDS = 8000 };
    double hx[N][2], hy[N];
    for (int k = 0; k < N; k++) {
        hx[k][0] = -5 + 15 * fmod(0.6180339887498949 * k + 0.1, 1.0);
        hx[k][1] = 15 * fmod(0.7548776662466927 * k + 0.3, 1.0);
        hy[k] = o->fn(hx[k]);
    }
    double sum[2] = {0}, sq[2] = {0};
    int rc = 0;
    for (uint64_t seed = 0; !rc && seed < SEEDS; seed++) {
        mo_sampler_opts_t opts;
        mo_sampler_opts_default(&opts);
        opts.seed = seed;
        opts.n_ei_candidates = 24; /* Optuna's default (Maestro's is 8) */
        mo_sampler_t *smp = NULL;
        rc = mo_sampler_create(&smp, "tpe", s, &opts, NULL);
        for (int k = 0; !rc && k < N; k++) {
            rc = mo_sampler_restore(smp, k, hx[k], NULL);
            rc = rc ? rc : mo_sampler_tell(smp, k, MO_TRIAL_COMPLETED, hy[k], NULL);
        }
        double x[2] = {0};
        rc = rc ? rc : mo_sampler_suggest(smp, N, x, NULL);
        for (int j = 0; j < 2; j++) {
            sum[j] += x[j];
            sq[j] += x[j] * x[j];
        }
        mo_sampler_destroy(smp);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const double ref[2] = {2.6830, 3.6495}, ref_se[2] = {0.0104, 0.0102};
    for (int j = 0; j < 2; j++) {
        double mean = sum[j] / SEEDS, var = sq[j] / SEEDS - mean * mean;
        double se = sqrt(var / SEEDS), tol = 4 * sqrt(se * se + ref_se[j] * ref_se[j]);
        fprintf(stderr, "\n  x%d mean %.4f (Optuna 3.1 %.4f, tolerance %.4f)", j, mean, ref[j],
                tol);
        CU_ASSERT(fabs(mean - ref[j]) < tol);
    }
    fprintf(stderr, "\n");
    mo_space_destroy(s);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_sampler_tpe__beats_random_on_branin),
    MO_TEST(test_sampler_tpe__beats_random_on_hartmann6),
    MO_TEST(test_sampler_tpe__default_candidates_beat_optunas_24_on_fresh_seeds),
    MO_TEST(test_sampler_tpe__pending_trials_get_different_suggestions),
    MO_TEST(test_sampler_tpe__resume_from_history_gives_the_same_suggestion),
    MO_TEST(test_sampler_tpe__log_int_and_categorical_respected),
    MO_TEST(test_sampler_tpe__long_run_stays_in_bounds_and_converges),
    MO_TEST(test_sampler_tpe__history_order_does_not_matter),
    MO_TEST(test_sampler_tpe__suggestions_match_optuna_31_on_a_fixed_history),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/sampler_tpe", tests);
}
