/* test_sampler_grid.c - grid search enumerates exactly the product, last parameter fastest */
#include "jobs/sweep/sampler.h"
#include "tests/unit.h"

#include <string.h>

static mo_space_t *space3(void)
{
    mo_space_t *s = NULL;
    mo_space_create(&s, NULL);
    mo_param_t a = {.name = "a", .type = MO_PARAM_INT, .min = 1, .max = 3};
    mo_param_t b = {.name = "b", .type = MO_PARAM_DOUBLE, .min = 0, .max = 1, .step = 0.5};
    const char *cv[] = {"x", "[1, 2]"};
    mo_param_t c = {.name = "c", .type = MO_PARAM_CATEGORICAL, .n_values = 2, .texts = cv};
    mo_space_add(s, &a, NULL);
    mo_space_add(s, &b, NULL);
    mo_space_add(s, &c, NULL);
    return s;
}

static void test_sampler_grid__enumerates_exactly_the_product_in_order(void)
{
    mo_space_t *s = space3();
    mo_sampler_t *g = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&g, "grid", s, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_sampler_capacity(g), 3 * 3 * 2);
    int seen[3][3][2];
    memset(seen, 0, sizeof(seen));
    int64_t t = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++, t++) {
                double x[3];
                CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(g, t, x, &err), 0);
                /* The documented order: nested loops, last parameter innermost. */
                CU_ASSERT_DOUBLE_EQUAL(x[0], 1 + a, 0);
                CU_ASSERT_DOUBLE_EQUAL(x[1], 0.5 * b, 1e-12);
                CU_ASSERT_DOUBLE_EQUAL(x[2], c, 0);
                seen[(int)x[0] - 1][(int)(x[1] * 2 + 0.5)][(int)x[2]]++;
            }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++)
                CU_ASSERT_EQUAL(seen[a][b][c], 1);
    double x[3];
    CU_ASSERT_EQUAL(mo_sampler_suggest(g, t, x, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "all 18 points"));
    mo_sampler_destroy(g);
    mo_space_destroy(s);
}

static void test_sampler_grid__out_of_order_trials_get_their_own_point(void)
{
    mo_space_t *s = space3();
    mo_sampler_t *g = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&g, "grid", s, NULL, NULL), 0);
    double x[3];
    CU_ASSERT_EQUAL(mo_sampler_suggest(g, 17, x, NULL), 0);
    CU_ASSERT_DOUBLE_EQUAL(x[0], 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(x[1], 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(x[2], 1, 0);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_sampler_suggest(g, 17, x, &err), MO_EINVAL);
    mo_sampler_destroy(g);
    mo_space_destroy(s);
}

static void test_sampler_grid__refuses_a_double_without_step(void)
{
    mo_space_t *s = NULL;
    mo_space_create(&s, NULL);
    mo_param_t a = {.name = "lr", .type = MO_PARAM_DOUBLE, .min = 0, .max = 1};
    mo_space_add(s, &a, NULL);
    mo_sampler_t *g = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_sampler_create(&g, "grid", s, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'lr'"));
    CU_ASSERT_EQUAL(mo_sampler_create(&g, "bayes", s, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown algorithm 'bayes'"));
    CU_ASSERT_EQUAL(mo_sampler_create(NULL, "grid", s, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sampler_create(&g, "grid", NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sampler_suggest(NULL, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sampler_tell(NULL, 0, MO_TRIAL_COMPLETED, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sampler_report(NULL, 0, 0, 1, NULL, &err), MO_EINVAL);
    mo_sampler_destroy(NULL);
    mo_space_destroy(s);
}

static CU_TestInfo tests[] = {MO_TEST(test_sampler_grid__enumerates_exactly_the_product_in_order),
                              MO_TEST(test_sampler_grid__out_of_order_trials_get_their_own_point),
                              MO_TEST(test_sampler_grid__refuses_a_double_without_step),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/sampler_grid", tests);
}
