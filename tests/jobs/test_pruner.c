/* test_pruner.c - the median stopping rule */
#include "jobs/sweep/pruner.h"
#include "tests/unit.h"

static void complete(mo_pruner_t *p, int64_t trial, const double *v, int n)
{
    int prune;
    for (int s = 0; s < n; s++)
        CU_ASSERT_EQUAL(mo_pruner_report(p, trial, s, v[s], &prune, NULL), 0);
    CU_ASSERT_EQUAL(mo_pruner_finish(p, trial, MO_TRIAL_COMPLETED, NULL), 0);
}

static void test_pruner__prunes_worse_than_median_at_same_step(void)
{
    mo_pruner_opts_t o = {.min_trials_required = 3, .start_step = 2};
    mo_pruner_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_pruner_create(&p, &o, NULL), 0);
    const double a[] = {1.0, 0.8, 0.6, 0.5}, b[] = {1.0, 0.7, 0.5, 0.4};
    complete(p, 0, a, 4);
    complete(p, 1, b, 4);
    int prune = -1;
    /* Only two completed trials: not enough, however bad. */
    CU_ASSERT_EQUAL(mo_pruner_report(p, 5, 0, 9, &prune, NULL), 0);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 5, 2, 9, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    const double c[] = {1.0, 0.9, 0.7, 0.6};
    complete(p, 2, c, 4); /* medians: step 1 -> 0.8, step 2 -> 0.6, step 3 -> 0.5 */
    /* Before start_step, never. */
    CU_ASSERT_EQUAL(mo_pruner_report(p, 3, 0, 2.0, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 3, 1, 2.0, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    /* At step 2 its best (2.0) is worse than the median 0.6. */
    CU_ASSERT_EQUAL(mo_pruner_report(p, 3, 2, 2.0, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 1);
    /* A trial at the median is kept, one just better too; its best counts, not its last. */
    CU_ASSERT_EQUAL(mo_pruner_report(p, 4, 1, 0.3, &prune, NULL), 0);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 4, 2, 0.6, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 4, 3, 0.55, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    /* A step no completed trial reached: nothing to compare with. */
    CU_ASSERT_EQUAL(mo_pruner_report(p, 4, 7, 5.0, &prune, NULL), 0);
    CU_ASSERT_EQUAL(prune, 0);
    mo_pruner_destroy(p);
}

static void test_pruner__maximize_and_bad_arguments(void)
{
    mo_pruner_opts_t o = {.min_trials_required = 1, .start_step = 0, .maximize = 1};
    mo_pruner_t *p = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_pruner_create(&p, &o, &err), 0);
    const double acc[] = {0.9};
    complete(p, 0, acc, 1);
    int prune = -1;
    CU_ASSERT_EQUAL(mo_pruner_report(p, 1, 0, 0.5, &prune, &err), 0);
    CU_ASSERT_EQUAL(prune, 1);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 2, 0, 0.95, &prune, &err), 0);
    CU_ASSERT_EQUAL(prune, 0);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 2, 0, 0.95, &prune, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_pruner_report(NULL, 2, 0, 0.95, &prune, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_pruner_report(p, 2, 1, 0.0 / 0.0, &prune, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_pruner_finish(p, 2, MO_TRIAL_RUNNING, &err), MO_EINVAL);
    mo_pruner_destroy(p);
    o.min_trials_required = 0;
    CU_ASSERT_EQUAL(mo_pruner_create(&p, &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_pruner_create(NULL, &o, &err), MO_EINVAL);
    mo_pruner_destroy(NULL);
}

static CU_TestInfo tests[] = {MO_TEST(test_pruner__prunes_worse_than_median_at_same_step),
                              MO_TEST(test_pruner__maximize_and_bad_arguments), CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("jobs/pruner", tests);
}
