/* test_backend.c - choosing a backend by name */
#include "kernels/backend.h"
#include "tests/unit.h"

#include <string.h>

static void test_backend__cpu_by_name_is_the_cpu_backend(void)
{
    const mo_kern_backend_t *be = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu", &err), 0);
    CU_ASSERT_PTR_EQUAL(be, mo_kern_cpu());
    CU_ASSERT_STRING_EQUAL(be->name, "cpu");
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu", NULL), 0);
}

static void test_backend__cuda_is_reported_as_not_built(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cuda", &err), MO_ENOTBUILT);
    CU_ASSERT_PTR_NULL(be);
    CU_ASSERT_EQUAL(err.code, MO_ENOTBUILT);
    CU_ASSERT_STRING_EQUAL(
        err.msg, "device 'cuda' is not built in this Maestro (CUDA backend not built yet)");
}

static void test_backend__unknown_name_lists_known_devices(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "tpu", &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(be);
    CU_ASSERT_STRING_EQUAL(err.msg, "unknown device 'tpu' (known: cpu, cuda)");
    /* Names are exact: no case folding, no prefixes. */
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "CPU", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu ", &err), MO_EINVAL);
}

static void test_backend__long_unknown_name_keeps_message_bounded(void)
{
    char name[300];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    const mo_kern_backend_t *be = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, name, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(known: cpu, cuda)"));
}

static void test_backend__null_and_empty_arguments_are_rejected(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(NULL, "cpu", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(be);
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "", &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "known: cpu, cuda"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_backend__cpu_by_name_is_the_cpu_backend),
    MO_TEST(test_backend__cuda_is_reported_as_not_built),
    MO_TEST(test_backend__unknown_name_lists_known_devices),
    MO_TEST(test_backend__long_unknown_name_keeps_message_bounded),
    MO_TEST(test_backend__null_and_empty_arguments_are_rejected),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/backend", tests);
}
