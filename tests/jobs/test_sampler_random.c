/* test_sampler_random.c - random search: reproducible by seed, independent of parallelism */
#include "jobs/sweep/sampler.h"
#include "tests/unit.h"

#include <math.h>
#include <string.h>

#define DIM 4

static mo_space_t *space(void)
{
    mo_space_t *s = NULL;
    mo_space_create(&s, NULL);
    mo_param_t lr = {
        .name = "lr", .type = MO_PARAM_DOUBLE, .min = 1e-4, .max = 1, .scale = MO_SCALE_LOG};
    mo_param_t ep = {.name = "ep", .type = MO_PARAM_INT, .min = 2, .max = 10};
    const double nums[] = {64, 128, 256};
    mo_param_t bs = {.name = "bs", .type = MO_PARAM_DISCRETE, .n_values = 3, .numbers = nums};
    const char *cv[] = {"[64]", "[128, 128]"};
    mo_param_t h = {.name = "h", .type = MO_PARAM_CATEGORICAL, .n_values = 2, .texts = cv};
    mo_space_add(s, &lr, NULL);
    mo_space_add(s, &ep, NULL);
    mo_space_add(s, &bs, NULL);
    mo_space_add(s, &h, NULL);
    return s;
}

/* 40 trials; `parallel` trials outstanding at once, told in a scrambled order. */
static void run(const mo_space_t *s, uint64_t seed, int parallel, double out[40][DIM])
{
    mo_sampler_opts_t o;
    mo_sampler_opts_default(&o);
    o.seed = seed;
    mo_sampler_t *r = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&r, "random", s, &o, NULL), 0);
    for (int t = 0; t < 40; t += parallel) {
        for (int k = t; k < t + parallel && k < 40; k++)
            CU_ASSERT_EQUAL(mo_sampler_suggest(r, k, out[k], NULL), 0);
        for (int k = t + parallel - 1; k >= t; k--)
            if (k < 40)
                CU_ASSERT_EQUAL(mo_sampler_tell(r, k, MO_TRIAL_COMPLETED, out[k][0], NULL), 0);
    }
    mo_sampler_destroy(r);
}

static void test_sampler_random__same_seed_same_trials_for_any_parallelism(void)
{
    mo_space_t *s = space();
    static double a[40][DIM], b[40][DIM], c[40][DIM], d[40][DIM];
    run(s, 7, 1, a);
    run(s, 7, 3, b);
    run(s, 7, 8, c);
    run(s, 8, 1, d);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
    CU_ASSERT_EQUAL(memcmp(a, c, sizeof(a)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, d, sizeof(a)), 0);
    mo_space_destroy(s);
}

static void test_sampler_random__values_respect_types_and_scales(void)
{
    mo_space_t *s = space();
    mo_sampler_t *r = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&r, "random", s, NULL, NULL), 0);
    int below_1e2 = 0, cat[2] = {0, 0};
    for (int t = 0; t < 2000; t++) {
        double x[DIM];
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(r, t, x, NULL), 0);
        CU_ASSERT(x[0] >= 1e-4 && x[0] <= 1);
        below_1e2 += x[0] < 1e-2;
        CU_ASSERT(x[1] == floor(x[1]) && x[1] >= 2 && x[1] <= 10);
        CU_ASSERT(x[2] == 64 || x[2] == 128 || x[2] == 256);
        CU_ASSERT(x[3] == 0 || x[3] == 1);
        cat[(int)x[3]]++;
    }
    /* Log-uniform over 4 decades: half the draws lie below 1e-2 (uniform would give 1 %). */
    CU_ASSERT(below_1e2 > 850 && below_1e2 < 1150);
    CU_ASSERT(cat[0] > 850 && cat[1] > 850);
    mo_sampler_destroy(r);
    mo_space_destroy(s);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_sampler_random__same_seed_same_trials_for_any_parallelism),
    MO_TEST(test_sampler_random__values_respect_types_and_scales), CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/sampler_random", tests);
}
