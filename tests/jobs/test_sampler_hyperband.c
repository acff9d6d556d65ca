/* test_sampler_hyperband.c - ASHA promotions on a hand-made sequence */
#include "jobs/sweep/sampler.h"
#include "tests/unit.h"

static mo_sampler_t *make(mo_space_t **sp)
{
    mo_space_create(sp, NULL);
    mo_param_t a = {.name = "a", .type = MO_PARAM_DOUBLE, .min = 0, .max = 1};
    mo_space_add(*sp, &a, NULL);
    mo_sampler_opts_t o;
    mo_sampler_opts_default(&o);
    o.min_resource = 1;
    o.max_resource = 9; /* rungs at 1 and 3 epochs; 9 is the full trial */
    o.eta = 3;
    mo_sampler_t *s = NULL;
    CU_ASSERT_EQUAL(mo_sampler_create(&s, "hyperband", *sp, &o, NULL), 0);
    return s;
}

static mo_decision_t report(mo_sampler_t *s, int64_t t, int64_t step, double v)
{
    mo_decision_t d = MO_DECISION_CONTINUE;
    CU_ASSERT_EQUAL(mo_sampler_report(s, t, step, v, &d, NULL), 0);
    return d;
}

static void test_sampler_hyperband__promotes_the_top_third_of_each_rung(void)
{
    mo_space_t *sp = NULL;
    mo_sampler_t *s = make(&sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    double x[1];
    for (int t = 0; t < 7; t++)
        CU_ASSERT_EQUAL_FATAL(mo_sampler_suggest(s, t, x, NULL), 0);
    /* Rung 0 (epoch 1). Fewer than eta values: promoted only when best so far. */
    CU_ASSERT_EQUAL(report(s, 0, 1, 5.0), MO_DECISION_PROMOTE); /* [5] */
    CU_ASSERT_EQUAL(report(s, 1, 1, 3.0), MO_DECISION_PROMOTE); /* [3 5] */
    CU_ASSERT_EQUAL(report(s, 2, 1, 4.0), MO_DECISION_PRUNE);   /* [3 4 5]: top 1 is 3 */
    CU_ASSERT_EQUAL(report(s, 3, 1, 1.0), MO_DECISION_PROMOTE); /* [1 3 4 5] */
    CU_ASSERT_EQUAL(report(s, 4, 1, 6.0), MO_DECISION_PRUNE);   /* [1 3 4 5 6] */
    CU_ASSERT_EQUAL(report(s, 5, 1, 2.0), MO_DECISION_PROMOTE); /* 6 values: top 2 = {1, 2} */
    CU_ASSERT_EQUAL(report(s, 6, 1, 2.5), MO_DECISION_PRUNE);   /* 7 values: top 2 = {1, 2} */
    /* Steps between rungs: no decision. */
    CU_ASSERT_EQUAL(report(s, 0, 2, 4.0), MO_DECISION_CONTINUE);
    /* Rung 1 (epoch 3). */
    CU_ASSERT_EQUAL(report(s, 0, 3, 3.5), MO_DECISION_PROMOTE); /* [3.5] */
    CU_ASSERT_EQUAL(report(s, 1, 3, 2.0), MO_DECISION_PROMOTE); /* [2 3.5] */
    CU_ASSERT_EQUAL(report(s, 3, 3, 2.2), MO_DECISION_PRUNE);   /* [2 2.2 3.5] */
    /* Past the last rung a trial runs to max_resource. */
    CU_ASSERT_EQUAL(report(s, 1, 9, 1.0), MO_DECISION_CONTINUE);
    CU_ASSERT_EQUAL(mo_sampler_tell(s, 1, MO_TRIAL_COMPLETED, 1.0, NULL), 0);
    /* A report that skips a rung enters it (and every rung it passed) at once. */
    CU_ASSERT_EQUAL(report(s, 5, 4, 0.5), MO_DECISION_PROMOTE); /* rung 1: [0.5 2 2.2 3.5] */
    mo_sampler_destroy(s);
    mo_space_destroy(sp);
}

static void test_sampler_hyperband__maximize_flips_the_order(void)
{
    mo_space_t *sp = NULL;
    mo_space_create(&sp, NULL);
    mo_param_t a = {.name = "a", .type = MO_PARAM_DOUBLE, .min = 0, .max = 1};
    mo_space_add(sp, &a, NULL);
    mo_sampler_opts_t o;
    mo_sampler_opts_default(&o);
    o.maximize = 1;
    mo_sampler_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_sampler_create(&s, "hyperband", sp, &o, NULL), 0);
    double x[1];
    for (int t = 0; t < 3; t++)
        mo_sampler_suggest(s, t, x, NULL);
    CU_ASSERT_EQUAL(report(s, 0, 1, 0.5), MO_DECISION_PROMOTE);
    CU_ASSERT_EQUAL(report(s, 1, 1, 0.9), MO_DECISION_PROMOTE);
    CU_ASSERT_EQUAL(report(s, 2, 1, 0.7), MO_DECISION_PRUNE);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_sampler_report(s, 2, 1, 0.1, NULL, &err), MO_EINVAL); /* step repeated */
    CU_ASSERT_EQUAL(mo_sampler_report(s, 99, 1, 0.1, NULL, &err), MO_ENOTFOUND);
    mo_sampler_destroy(s);
    o.eta = 1;
    CU_ASSERT_EQUAL(mo_sampler_create(&s, "hyperband", sp, &o, &err), MO_EINVAL);
    mo_space_destroy(sp);
}

static CU_TestInfo tests[] = {MO_TEST(test_sampler_hyperband__promotes_the_top_third_of_each_rung),
                              MO_TEST(test_sampler_hyperband__maximize_flips_the_order),
                              CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/sampler_hyperband", tests);
}
