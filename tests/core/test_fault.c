/* test_fault.c - core/fault.c: MAESTRO_FAULT_DELAY slows one point, and only that one;
 * MAESTRO_FAULT fails a fail point at its n-th pass only (the kill of MAESTRO_FAULT, and the
 * fail points in their jobs, are tested from the outside, tests/jobs/test_faults.sh) */
#include "core/fault.h"
#include "core/time.h"
#include "tests/unit.h"

#include <stdlib.h>

/* The environment is read once, at the first point passed: set before any test runs. */
static void test_fault__delay_sleeps_at_its_point_only(void)
{
    double t0 = mo_time_mono();
    for (int i = 0; i < 5; i++)
        mo_fault_point("allreduce");
    double slow = mo_time_mono() - t0;
    CU_ASSERT(slow >= 5 * 0.020);
    t0 = mo_time_mono();
    for (int i = 0; i < 5; i++)
        mo_fault_point("checkpoint");
    CU_ASSERT(mo_time_mono() - t0 < 0.020);
}

static void test_fault__fail_point_fails_its_nth_pass_only(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_fault_fail("dataset_lookup", &err), 0);
    CU_ASSERT_EQUAL(mo_fault_fail("store_fill", &err), 0); /* another point: not counted */
    CU_ASSERT_EQUAL(mo_fault_fail("dataset_lookup", &err), MO_ERUNTIME);
    CU_ASSERT_STRING_EQUAL(err.msg, "MAESTRO_FAULT: failing at dataset_lookup #2");
    CU_ASSERT_EQUAL(mo_fault_fail("dataset_lookup", &err), 0);
    CU_ASSERT_EQUAL(mo_fault_fail("dataset_lookup", NULL), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_fault__delay_sleeps_at_its_point_only),
    MO_TEST(test_fault__fail_point_fails_its_nth_pass_only),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    setenv("MAESTRO_FAULT_DELAY", "allreduce:20", 1);
    setenv("MAESTRO_FAULT", "dataset_lookup:2", 1); /* no rank: every rank */
    return mo_test_main("core/fault", tests);
}
