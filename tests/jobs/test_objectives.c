/* test_objectives.c - built-in objectives reach their known optima at known points */
#include "jobs/sweep/objectives.h"
#include "tests/unit.h"

static void test_objectives__known_optima(void)
{
    const mo_objective_t *b = mo_objective_find("branin");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_DOUBLE_EQUAL(b->fn(b->argmin), 0.397887, 1e-6);
    const double b2[] = {3.14159265358979, 2.275}, b3[] = {9.42478, 2.475};
    CU_ASSERT_DOUBLE_EQUAL(b->fn(b2), 0.397887, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(b->fn(b3), 0.397887, 1e-5);
    const double b0[] = {0, 0};
    CU_ASSERT_DOUBLE_EQUAL(b->fn(b0), 55.6021, 1e-3);

    const mo_objective_t *h = mo_objective_find("hartmann6");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(h->dim, 6);
    CU_ASSERT_DOUBLE_EQUAL(h->fn(h->argmin), -3.32237, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(h->minimum, -3.32237, 1e-5);

    const mo_objective_t *q = mo_objective_find("quadratic");
    CU_ASSERT_DOUBLE_EQUAL(q->fn(q->argmin), 0, 0);
    CU_ASSERT_PTR_NULL(mo_objective_find("rosenbrock"));
    CU_ASSERT_PTR_NULL(mo_objective_find(NULL));
    CU_ASSERT_STRING_EQUAL(mo_objective_names()[1], "hartmann6");
}

static void test_objectives__space_is_the_box(void)
{
    const mo_objective_t *b = mo_objective_find("branin");
    mo_space_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_objective_space(&s, b, NULL), 0);
    CU_ASSERT_EQUAL(mo_space_dim(s), 2);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_param(s, 0)->min, -5, 0);
    CU_ASSERT_DOUBLE_EQUAL(mo_space_param(s, 1)->max, 15, 0);
    mo_space_destroy(s);
    CU_ASSERT_EQUAL(mo_objective_space(&s, NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_objective_space(NULL, b, NULL), MO_EINVAL);
}

static CU_TestInfo tests[] = {MO_TEST(test_objectives__known_optima),
                              MO_TEST(test_objectives__space_is_the_box), CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/objectives", tests);
}
