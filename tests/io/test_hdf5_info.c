/* test_hdf5_info.c - which HDF5 Maestro runs on */
#include "io/hdf5_info.h"

#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

static void test_hdf5_info__version_is_1_10_and_parallel(void)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    int parallel = -1;
    CU_ASSERT_PTR_EQUAL(mo_io_hdf5_version(buf, sizeof buf, &parallel), buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(memchr(buf, '\0', sizeof buf));
    CU_ASSERT_EQUAL(strncmp(buf, "1.10.", 5), 0);
    /* The release is a number and nothing follows it. */
    char *end = NULL;
    long release = strtol(buf + 5, &end, 10);
    CU_ASSERT(end > buf + 5 && *end == '\0' && release >= 0);
    CU_ASSERT_EQUAL(parallel, 1);
}

static void test_hdf5_info__tiny_buffer_truncates_safely(void)
{
    char buf[16];
    int parallel = -1;
    memset(buf, '#', sizeof buf);
    CU_ASSERT_PTR_EQUAL(mo_io_hdf5_version(buf, 4, &parallel), buf);
    CU_ASSERT_STRING_EQUAL(buf, "1.1");
    CU_ASSERT_EQUAL(buf[4], '#');
    CU_ASSERT_EQUAL(parallel, 1); /* reported even when the text is cut */
    memset(buf, '#', sizeof buf);
    mo_io_hdf5_version(buf, 1, &parallel);
    CU_ASSERT_EQUAL(buf[0], '\0');
    CU_ASSERT_EQUAL(buf[1], '#');
    mo_io_hdf5_version(NULL, 0, &parallel);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_hdf5_info__version_is_1_10_and_parallel),
    MO_TEST(test_hdf5_info__tiny_buffer_truncates_safely),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/hdf5_info", tests);
}
