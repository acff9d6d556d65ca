/* test_info.c - MPI library identification, usable before MPI_Init */
#include "comm/info.h"

#include "tests/unit.h"

#include <string.h>

static void test_info__library_version_names_open_mpi(void)
{
    char buf[512];
    memset(buf, 'x', sizeof buf);
    const char *v = mo_comm_library_version(buf, sizeof buf);
    CU_ASSERT_PTR_EQUAL(v, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(memchr(buf, '\0', sizeof buf));
    CU_ASSERT(strlen(buf) > 0);
    CU_ASSERT_STRING_NOT_EQUAL(buf, "unknown");
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Open MPI"));
    CU_ASSERT_PTR_NULL(strchr(buf, '\n')); /* first line only */
}

static void test_info__standard_version_is_3(void)
{
    int major = -1, minor = -1;
    mo_comm_standard_version(&major, &minor);
    CU_ASSERT_EQUAL(major, 3);
    CU_ASSERT(minor >= 0 && minor <= 9);
}

static void test_info__tiny_buffer_truncates_safely(void)
{
    char full[512];
    mo_comm_library_version(full, sizeof full);
    char buf[16];
    memset(buf, '#', sizeof buf);
    CU_ASSERT_PTR_EQUAL(mo_comm_library_version(buf, 8), buf);
    CU_ASSERT_EQUAL(strlen(buf), 7);
    CU_ASSERT_EQUAL(strncmp(buf, full, 7), 0);
    CU_ASSERT_EQUAL(buf[8], '#'); /* nothing written past the size given */
    memset(buf, '#', sizeof buf);
    mo_comm_library_version(buf, 1);
    CU_ASSERT_EQUAL(buf[0], '\0');
    CU_ASSERT_EQUAL(buf[1], '#');
    memset(buf, '#', sizeof buf);
    mo_comm_library_version(buf, 0);
    CU_ASSERT_EQUAL(buf[0], '#');
    mo_comm_library_version(NULL, 0); /* a size of 0 never touches the buffer */
}

static CU_TestInfo tests[] = {
    MO_TEST(test_info__library_version_names_open_mpi),
    MO_TEST(test_info__standard_version_is_3),
    MO_TEST(test_info__tiny_buffer_truncates_safely),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("comm/info", tests);
}
