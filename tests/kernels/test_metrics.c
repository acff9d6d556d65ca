/* test_metrics.c - rank-summable metric totals and the metrics finished from them
 *
 * Expected values are derived by hand in the comments, following scikit-learn's definitions
 * (accuracy_score, precision_recall_fscore_support(labels=range(k), average="macro",
 * zero_division=0), mean_squared_error, mean_absolute_error, r2_score, roc_auc_score).
 */
#include "kernels/metrics.h"
#include "tests/unit.h"

#include <math.h>
#include <string.h>

/* The value of metric `name` among the n written; -1e300 (no real metric's value) if absent. */
static double metric(const mo_metric_t *m, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return m[i].value;
    return -1e300;
}

static void test_metrics__create_rejects_bad_arguments(void)
{
    mo_metric_acc_t *a = (mo_metric_acc_t *)&a; /* must be reset to NULL on failure */
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_metric_acc_create(&a, 1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "k >= 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "got 1"));
    CU_ASSERT_EQUAL(mo_metric_acc_create(&a, -3, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_metric_acc_create(NULL, 2, &err), MO_EINVAL);
    mo_metric_acc_destroy(NULL);
    mo_metric_acc_reset(NULL);
    mo_metric_acc_add_class(NULL, NULL, NULL, 3, 1.0);
    mo_metric_acc_add_reg(NULL, NULL, NULL, 3, 1.0);
    size_t n = 99;
    CU_ASSERT_PTR_NULL(mo_metric_acc_data(NULL, &n));
    CU_ASSERT_EQUAL(n, 0);
    mo_metric_t out[MO_METRIC_MAX];
    CU_ASSERT_EQUAL(mo_metric_finish(NULL, out, MO_METRIC_MAX), 0);
}

/* y = [0,0,1,1,2,2], pred = [0,1,1,1,2,0]; confusion (true rows, predicted columns):
 *   true 0: [1 1 0]   true 1: [0 2 0]   true 2: [1 0 1]
 * accuracy = (1 + 2 + 1) / 6 = 2/3.
 * class 0: tp 1, fp 1 (true 2 -> 0), fn 1 (true 0 -> 1): p 1/2, r 1/2, f1 1/2
 * class 1: tp 2, fp 1 (true 0 -> 1), fn 0:               p 2/3, r 1,   f1 2(2/3)/(5/3) = 4/5
 * class 2: tp 1, fp 0, fn 1 (true 2 -> 0):               p 1,   r 1/2, f1 2(1/2)/(3/2) = 2/3
 * macro p = (1/2 + 2/3 + 1)/3 = 13/18, r = (1/2 + 1 + 1/2)/3 = 2/3,
 * f1 = (1/2 + 4/5 + 2/3)/3 = (59/30)/3 = 59/90. Loss sum 3 over 6 rows: loss = log_loss = 0.5.
 * With k = 4, class 3 is in neither y nor pred: p = r = f1 = 0 for it, and each macro mean
 * divides the same sums by 4: p 13/24, r 1/2, f1 59/120 (sklearn with labels=[0,1,2,3]). */
static const int32_t Y6[6] = {0, 0, 1, 1, 2, 2}, P6[6] = {0, 1, 1, 1, 2, 0};

static void test_metrics__classification_matches_hand_derivation(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 3, NULL), 0);
    mo_metric_acc_add_class(a, P6, Y6, 6, 3.0);
    mo_metric_t m[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_STRING_EQUAL(m[0].name, "loss");
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "loss"), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "accuracy"), 2.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "precision"), 13.0 / 18.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "recall"), 2.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "f1"), 59.0 / 90.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "log_loss"), 0.5, 1e-15);
    mo_metric_acc_destroy(a);
}

static void test_metrics__macro_scores_count_an_absent_class_as_zero(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 4, NULL), 0);
    mo_metric_acc_add_class(a, P6, Y6, 6, 3.0);
    mo_metric_t m[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "accuracy"), 2.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "precision"), 13.0 / 24.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "recall"), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "f1"), 59.0 / 120.0, 1e-15);
    mo_metric_acc_destroy(a);
}

/* y = [0,1,1], pred = [0,0,0]: class 0 tp 1, fp 2, fn 0: p 1/3, r 1, f1 2(1/3)/(4/3) = 1/2;
 * class 1 is never predicted: tp + fp = 0 so p = 0 (zero_division), r = 0/2 = 0, f1 = 0.
 * macro p = 1/6, r = 1/2, f1 = 1/4; accuracy 1/3. */
static void test_metrics__class_never_predicted_has_zero_precision(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 2, NULL), 0);
    const int32_t y[3] = {0, 1, 1}, p[3] = {0, 0, 0};
    mo_metric_acc_add_class(a, p, y, 3, 0.0);
    mo_metric_t m[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "accuracy"), 1.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "precision"), 1.0 / 6.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "recall"), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "f1"), 0.25, 1e-15);
    mo_metric_acc_destroy(a);
}

/* pred = [1,2,3,4], y = [1.5,2,2,5]: err = [-0.5,0,1,-1].
 * SS_res = 0.25 + 0 + 1 + 1 = 2.25; mse = 2.25/4 = 0.5625; mae = (0.5+0+1+1)/4 = 0.625.
 * mean y = 10.5/4 = 2.625; SS_tot = 1.125^2 + 0.625^2 + 0.625^2 + 2.375^2 = 7.6875
 * (= sum y^2 - (sum y)^2/n = 35.25 - 110.25/4). r2 = 1 - 2.25/7.6875 = 5.4375/7.6875 = 29/41.
 * loss sum 1.125 (= 0.5 SS_res) over 4 rows: loss 0.28125. */
static void test_metrics__regression_matches_hand_derivation(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 0, NULL), 0);
    const float pred[4] = {1, 2, 3, 4}, y[4] = {1.5f, 2, 2, 5};
    mo_metric_acc_add_reg(a, pred, y, 4, 1.125);
    mo_metric_t m[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "loss"), 0.28125, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "mse"), 0.5625, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "mae"), 0.625, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "r2"), 29.0 / 41.0, 1e-15);
    mo_metric_acc_destroy(a);
}

/* Constant targets: SS_tot = 0 and r2 is undefined (NaN), both when the sums cancel exactly
 * (y = 2) and when they differ only by rounding (y = 0.1f, not a short binary fraction). */
static void test_metrics__r2_is_nan_for_constant_targets(void)
{
    const float values[2] = {2.0f, 0.1f};
    for (int v = 0; v < 2; v++) {
        mo_metric_acc_t *a = NULL;
        CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 0, NULL), 0);
        float y[1000], pred[1000];
        for (int i = 0; i < 1000; i++) {
            y[i] = values[v];
            pred[i] = values[v] + 0.5f;
        }
        mo_metric_acc_add_reg(a, pred, y, 1000, 0.0);
        mo_metric_t m[MO_METRIC_MAX];
        const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
        CU_ASSERT(isnan(metric(m, n, "r2")));
        CU_ASSERT_DOUBLE_EQUAL(metric(m, n, "mae"), 0.5, 1e-6);
        mo_metric_acc_destroy(a);
    }
}

/* The cross-rank reduction: data of two accumulators summed elementwise equals the data of
 * one accumulator fed all rows. Values are short binary fractions so every sum is exact and
 * the comparison can be bitwise. */
static void test_metrics__summed_data_of_two_accumulators_equals_one_over_all_rows(void)
{
    mo_metric_acc_t *a = NULL, *b = NULL, *all = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 3, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&b, 3, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&all, 3, NULL), 0);
    mo_metric_acc_add_class(a, P6, Y6, 4, 1.25);
    mo_metric_acc_add_class(b, P6 + 4, Y6 + 4, 2, 0.5);
    mo_metric_acc_add_class(all, P6, Y6, 6, 1.75);
    size_t na, nb, nall;
    double *da = mo_metric_acc_data(a, &na), *db = mo_metric_acc_data(b, &nb);
    const double *dall = mo_metric_acc_data(all, &nall);
    CU_ASSERT_EQUAL_FATAL(na, 3 * 3 + 2);
    CU_ASSERT_EQUAL_FATAL(nb, na);
    CU_ASSERT_EQUAL_FATAL(nall, na);
    for (size_t i = 0; i < na; i++) {
        da[i] += db[i]; /* what allreduce(sum) does */
        CU_ASSERT_EQUAL(da[i], dall[i]);
    }
    mo_metric_t ma[MO_METRIC_MAX], mall[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, ma, MO_METRIC_MAX);
    CU_ASSERT_EQUAL(n, mo_metric_finish(all, mall, MO_METRIC_MAX));
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ma[i].value, mall[i].value);
    mo_metric_acc_destroy(a);
    mo_metric_acc_destroy(b);
    mo_metric_acc_destroy(all);

    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 0, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&b, 0, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&all, 0, NULL), 0);
    const float pred[5] = {1, 2, 3, 4, 0.5f}, y[5] = {1.5f, 2, 2, 5, -0.25f};
    mo_metric_acc_add_reg(a, pred, y, 2, 0.125);
    mo_metric_acc_add_reg(b, pred + 2, y + 2, 3, 1.5);
    mo_metric_acc_add_reg(all, pred, y, 5, 1.625);
    da = mo_metric_acc_data(a, &na);
    db = mo_metric_acc_data(b, &nb);
    dall = mo_metric_acc_data(all, &nall);
    CU_ASSERT_EQUAL_FATAL(na, 6);
    for (size_t i = 0; i < na; i++)
        CU_ASSERT_EQUAL(da[i] + db[i], dall[i]);
    mo_metric_acc_destroy(a);
    mo_metric_acc_destroy(b);
    mo_metric_acc_destroy(all);
}

static void test_metrics__reset_empties_and_empty_gives_nan(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 3, NULL), 0);
    mo_metric_acc_add_class(a, P6, Y6, 6, 3.0);
    mo_metric_acc_reset(a);
    size_t nd;
    const double *d = mo_metric_acc_data(a, &nd);
    for (size_t i = 0; i < nd; i++)
        CU_ASSERT_EQUAL(d[i], 0.0);
    mo_metric_t m[MO_METRIC_MAX];
    const int n = mo_metric_finish(a, m, MO_METRIC_MAX);
    CU_ASSERT_EQUAL(n, 6);
    for (int i = 0; i < n; i++)
        CU_ASSERT(isnan(m[i].value));
    mo_metric_acc_destroy(a);
}

static void test_metrics__finish_writes_at_most_max(void)
{
    mo_metric_acc_t *a = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_metric_acc_create(&a, 2, NULL), 0);
    mo_metric_t m[3];
    memset(m, 0, sizeof m);
    CU_ASSERT_EQUAL(mo_metric_finish(a, m, 2), 2);
    CU_ASSERT_STRING_EQUAL(m[1].name, "accuracy");
    CU_ASSERT_PTR_NULL(m[2].name);
    CU_ASSERT_EQUAL(mo_metric_finish(a, m, 0), 0);
    CU_ASSERT_EQUAL(mo_metric_finish(a, NULL, 5), 0);
    mo_metric_acc_destroy(a);
}

/* scores [0.1, 0.4, 0.4, 0.8, 0.4, 0.9], labels [0, 0, 1, 1, 1, 0].
 * Positives 0.4, 0.8, 0.4 against negatives 0.1, 0.4, 0.9, pair by pair (1 win, 1/2 tie):
 *   0.4: 1 + 1/2 + 0 = 3/2;  0.8: 1 + 1 + 0 = 2;  0.4: 3/2   => U = 5, AUC = 5 / (3 * 3) = 5/9.
 * Same by ranks: sorted 0.1 (1), 0.4 x3 (2,3,4 -> 3 each), 0.8 (5), 0.9 (6); positive ranks
 * 3 + 3 + 5 = 11; U = 11 - 3*4/2 = 5. */
static void test_metrics__auc_with_ties_matches_mann_whitney(void)
{
    const float s[6] = {0.1f, 0.4f, 0.4f, 0.8f, 0.4f, 0.9f};
    const int32_t l[6] = {0, 0, 1, 1, 1, 0};
    CU_ASSERT_DOUBLE_EQUAL(mo_metric_auc(s, l, 6), 5.0 / 9.0, 1e-15);
}

static void test_metrics__auc_of_perfect_and_reversed_rankings(void)
{
    const float s[4] = {0.9f, 0.2f, 0.7f, 0.1f};
    const int32_t l[4] = {1, 0, 1, 0}, r[4] = {0, 1, 0, 1}, t[4] = {1, 1, 0, 0};
    CU_ASSERT_EQUAL(mo_metric_auc(s, l, 4), 1.0);
    CU_ASSERT_EQUAL(mo_metric_auc(s, r, 4), 0.0);
    /* All scores equal: every pair is a tie, AUC 1/2. */
    const float same[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    CU_ASSERT_EQUAL(mo_metric_auc(same, t, 4), 0.5);
}

static void test_metrics__auc_is_nan_without_both_classes(void)
{
    const float s[3] = {0.1f, 0.5f, 0.9f};
    const int32_t pos[3] = {1, 1, 1}, neg[3] = {0, 0, 0}, mixed[3] = {0, 1, 1};
    CU_ASSERT(isnan(mo_metric_auc(s, pos, 3)));
    CU_ASSERT(isnan(mo_metric_auc(s, neg, 3)));
    CU_ASSERT(isnan(mo_metric_auc(s, mixed, 0)));
    CU_ASSERT(isnan(mo_metric_auc(NULL, mixed, 3)));
    const float with_nan[3] = {0.1f, NAN, 0.9f};
    CU_ASSERT(isnan(mo_metric_auc(with_nan, mixed, 3)));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_metrics__create_rejects_bad_arguments),
    MO_TEST(test_metrics__classification_matches_hand_derivation),
    MO_TEST(test_metrics__macro_scores_count_an_absent_class_as_zero),
    MO_TEST(test_metrics__class_never_predicted_has_zero_precision),
    MO_TEST(test_metrics__regression_matches_hand_derivation),
    MO_TEST(test_metrics__r2_is_nan_for_constant_targets),
    MO_TEST(test_metrics__summed_data_of_two_accumulators_equals_one_over_all_rows),
    MO_TEST(test_metrics__reset_empties_and_empty_gives_nan),
    MO_TEST(test_metrics__finish_writes_at_most_max),
    MO_TEST(test_metrics__auc_with_ties_matches_mann_whitney),
    MO_TEST(test_metrics__auc_of_perfect_and_reversed_rankings),
    MO_TEST(test_metrics__auc_is_nan_without_both_classes),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/metrics", tests);
}
