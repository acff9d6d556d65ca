/* test_alloc.c - overflow-checked allocation and the time helpers */
#include "core/alloc.h"
#include "core/time.h"
#include "tests/unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_alloc__overflow_returns_null(void)
{
    CU_ASSERT_PTR_NULL(mo_mallocarray(SIZE_MAX / 2, 4));
    void *p = mo_mallocarray(4, 4);
    CU_ASSERT_PTR_NOT_NULL(p);
    CU_ASSERT_PTR_NULL(mo_reallocarray(p, SIZE_MAX / 2, 4));
    p = mo_reallocarray(p, 8, 4); /* p untouched by the failed call */
    CU_ASSERT_PTR_NOT_NULL(p);
    free(p);
    int *z = mo_calloc(16, sizeof *z);
    CU_ASSERT_EQUAL(z[15], 0);
    free(z);
}

static void test_alloc__strdup_handles_null_and_bounds(void)
{
    CU_ASSERT_PTR_NULL(mo_strdup(NULL));
    char *s = mo_strndup("abcdef", 3);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    free(s);
    s = mo_strdup("");
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
}

static void test_time__iso8601_is_utc_with_millis(void)
{
    char buf[40];
    CU_ASSERT_STRING_EQUAL(mo_time_iso8601(buf, sizeof buf, 1764111420123000000LL),
                           "2025-11-25T22:57:00.123Z");
    double a = mo_time_mono(), b = mo_time_mono();
    CU_ASSERT(b >= a);
    CU_ASSERT(mo_time_unix_ns() > 1700000000LL * 1000000000LL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_alloc__overflow_returns_null),
    MO_TEST(test_alloc__strdup_handles_null_and_bounds),
    MO_TEST(test_time__iso8601_is_utc_with_millis),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("core/alloc", tests);
}
