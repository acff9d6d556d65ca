/* test_blas_info.c - which BLAS the CPU backend runs on */
#include "kernels/cpu/blas_info.h"

#include "tests/unit.h"

#include <string.h>

static void test_blas_info__names_openblas_and_threads(void)
{
    char buf[512];
    memset(buf, 'x', sizeof buf);
    CU_ASSERT_PTR_EQUAL(mo_kern_cpu_blas_info(buf, sizeof buf), buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(memchr(buf, '\0', sizeof buf));
    CU_ASSERT_EQUAL(strncmp(buf, "OpenBLAS ", 9), 0);
    const char *threads = strstr(buf, "; ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(threads);
    CU_ASSERT_PTR_NOT_NULL(strstr(threads, " threads"));
    CU_ASSERT(strlen(buf) > strlen("OpenBLAS ; 1 threads"));
}

static void test_blas_info__tiny_buffer_truncates_safely(void)
{
    char buf[16];
    memset(buf, '#', sizeof buf);
    CU_ASSERT_PTR_EQUAL(mo_kern_cpu_blas_info(buf, 5), buf);
    CU_ASSERT_STRING_EQUAL(buf, "Open");
    CU_ASSERT_EQUAL(buf[5], '#');
    memset(buf, '#', sizeof buf);
    mo_kern_cpu_blas_info(buf, 1);
    CU_ASSERT_EQUAL(buf[0], '\0');
    CU_ASSERT_EQUAL(buf[1], '#');
    memset(buf, '#', sizeof buf);
    mo_kern_cpu_blas_info(buf, 0);
    CU_ASSERT_EQUAL(buf[0], '#');
    mo_kern_cpu_blas_info(NULL, 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_blas_info__names_openblas_and_threads),
    MO_TEST(test_blas_info__tiny_buffer_truncates_safely),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/blas_info", tests);
}
