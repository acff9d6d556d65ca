/* test_validate_drift.c - the drift math of `kind: validate` (jobs/validate/drift.c) against
 * values worked out by hand; tests/jobs/test_validate_checks.sh compares whole reports with
 * numpy on random data */
#include "jobs/validate/validate_impl.h"

#include "tests/unit.h"

#include <math.h>
#include <stdio.h>

static const double ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_validate_drift__deciles_interpolate_like_numpy(void)
{
    double e[9];
    /* numpy.quantile(range(10), 0.1) = 0.9: index 9 * 0.1 between values 0 and 1. */
    mo_validate_deciles(e, ten, 10);
    for (int k = 0; k < 9; k++)
        CU_ASSERT_DOUBLE_EQUAL(e[k], 0.9 * (k + 1), 1e-12);
    /* [1..5]: index 4 * q, so 0.1 -> 1.4, 0.5 -> 3, 0.9 -> 4.6. */
    const double five[5] = {1, 2, 3, 4, 5};
    mo_validate_deciles(e, five, 5);
    CU_ASSERT_DOUBLE_EQUAL(e[0], 1.4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(e[4], 3.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(e[8], 4.6, 1e-12);
    /* One value: every decile is it. */
    const double one[1] = {7};
    mo_validate_deciles(e, one, 1);
    CU_ASSERT_DOUBLE_EQUAL(e[0], 7, 0);
    CU_ASSERT_DOUBLE_EQUAL(e[8], 7, 0);
}

static void test_validate_drift__psi_zero_for_the_same_distribution(void)
{
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_psi(ten, 10, ten, 10), 0, 1e-15);
    /* Each value twice: the same shares in every bin. */
    double twice[20];
    for (int i = 0; i < 20; i++)
        twice[i] = i / 2;
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_psi(ten, 10, twice, 20), 0, 1e-15);
}

static void test_validate_drift__psi_by_hand(void)
{
    /* Reference 0..9: one value in each decile bin, shares 0.1. Current all 0: the first bin
     * holds everything, the nine others are floored at 1e-4:
     *   PSI = (1 - 0.1) ln(1 / 0.1) + 9 (1e-4 - 0.1) ln(1e-4 / 0.1). */
    const double zeros[5] = {0, 0, 0, 0, 0};
    double want = 0.9 * log(10) + 9 * (1e-4 - 0.1) * log(1e-4 / 0.1);
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_psi(ten, 10, zeros, 5), want, 1e-12);
    /* Current 0..4 and 10..14 (half below 4.5, half beyond 9): bins 0..4 get 0.1 each (one
     * value each), bin 9 gets 0.5, bins 5..8 nothing:
     *   PSI = 4 (1e-4 - 0.1) ln(1e-4 / 0.1) + (0.5 - 0.1) ln(0.5 / 0.1). */
    const double split[10] = {0, 1, 2, 3, 4, 10, 11, 12, 13, 14};
    want = 4 * (1e-4 - 0.1) * log(1e-4 / 0.1) + 0.4 * log(5);
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_psi(ten, 10, split, 10), want, 1e-12);
    /* A value on an edge belongs to the bin that edge closes: 0.9 is in (-inf, 0.9]. */
    const double edge[2] = {0.9, 0.9};
    want = 0.9 * log(10) + 9 * (1e-4 - 0.1) * log(1e-4 / 0.1);
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_psi(ten, 10, edge, 2), want, 1e-12);
}

static void test_validate_drift__ks_by_hand(void)
{
    const double a[4] = {1, 2, 3, 4}, b[4] = {3, 4, 5, 6}, c[3] = {7, 8, 9};
    /* At x = 2 (also 3, 4): F_a - F_b = 0.5. */
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(a, 4, b, 4), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(b, 4, a, 4), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(a, 4, c, 3), 1, 1e-15); /* apart */
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(a, 4, a, 4), 0, 0);
    /* Ties: after 1, F = 2/3 and 1/3; after 2 both 1. */
    const double t1[3] = {1, 1, 2}, t2[3] = {1, 2, 2};
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(t1, 3, t2, 3), 1.0 / 3, 1e-15);
    /* Different sizes: {0} against 0..9: after 0, F = 1 and 0.1. */
    CU_ASSERT_DOUBLE_EQUAL(mo_validate_ks(ten, 1, ten, 10), 0.9, 1e-15);
}

static void test_validate_drift__empty_side_is_nan(void)
{
    CU_ASSERT(isnan(mo_validate_psi(ten, 0, ten, 10)));
    CU_ASSERT(isnan(mo_validate_psi(ten, 10, ten, 0)));
    CU_ASSERT(isnan(mo_validate_psi(NULL, 10, ten, 10)));
    CU_ASSERT(isnan(mo_validate_ks(ten, 0, ten, 10)));
    CU_ASSERT(isnan(mo_validate_ks(ten, 10, NULL, 10)));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_validate_drift__deciles_interpolate_like_numpy),
    MO_TEST(test_validate_drift__psi_zero_for_the_same_distribution),
    MO_TEST(test_validate_drift__psi_by_hand),
    MO_TEST(test_validate_drift__ks_by_hand),
    MO_TEST(test_validate_drift__empty_side_is_nan),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("jobs/validate_drift", tests);
}
