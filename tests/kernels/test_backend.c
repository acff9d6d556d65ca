/* test_backend.c - choosing a backend by name */
#include "kernels/backend.h"
#include "kernels/cuda_module.h"
#include "tests/unit.h"

#include <stdio.h>
#include <string.h>

/* 1 when this process has `name` mapped (/proc/self/maps). */
static int mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* The CUDA module (kernels/cuda_module.h) and cuBLAS are not in a process that never asks
 * for CUDA: they cost ~210 MiB of memory per process. Runs first, before anything asks. */
static void test_backend__cuda_module_loads_only_when_asked(void)
{
    const mo_kern_backend_t *be = NULL;
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu", NULL), 0);
    CU_ASSERT_FALSE(mapped("maestro-cuda.so"));
    CU_ASSERT_FALSE(mapped("libcublas"));
    int n = mo_kern_cuda_devices(NULL, 0);
    if (n >= 0 && mo_kern_cuda_module()) {
        printf("\n    (CUDA build: the module is loaded once asked) ");
        CU_ASSERT_TRUE(mapped("maestro-cuda.so"));
        CU_ASSERT_TRUE(mapped("libcublas"));
        CU_ASSERT_EQUAL(mo_kern_cuda_module()->abi, MO_CUDA_MODULE_ABI);
    } else {
        printf("\n    (no CUDA module in this build: nothing to load) ");
        CU_ASSERT_FALSE(mapped("maestro-cuda.so"));
    }
}

static void test_backend__cpu_by_name_is_the_cpu_backend(void)
{
    const mo_kern_backend_t *be = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu", &err), 0);
    CU_ASSERT_PTR_EQUAL(be, mo_kern_cpu());
    CU_ASSERT_STRING_EQUAL(be->name, "cpu");
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "cpu", NULL), 0);
}

/* What "cuda" answers depends on the build and the machine; each answer is checked where it
 * applies, and the test says which it saw. */
static void test_backend__cuda_answers_for_this_build_and_machine(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    char devs[512];
    int n = mo_kern_cuda_devices(devs, sizeof devs);
    int rc = mo_kern_backend_get(&be, "cuda", &err);
    if (n < 0) {
        printf("\n    (built without CUDA: checking the 'not built' answer) ");
        CU_ASSERT_PTR_NULL(mo_kern_cuda());
        CU_ASSERT_STRING_EQUAL(devs, "built without CUDA");
        CU_ASSERT_EQUAL(rc, MO_ENOTBUILT);
        CU_ASSERT_PTR_NULL(be);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "built without CUDA"));
    } else if (n == 0) {
        printf("\n    (CUDA build, no GPU: checking the 'no device' answer) ");
        CU_ASSERT_PTR_NOT_NULL(mo_kern_cuda());
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
        CU_ASSERT_PTR_NULL(be);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no CUDA device visible"));
    } else {
        printf("\n    (%d GPU(s): %s) ", n, devs);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_PTR_EQUAL(be, mo_kern_cuda());
        CU_ASSERT_STRING_EQUAL(be->name, "cuda");
    }
    /* Exit 2 either way: the spec asks for what this Maestro or machine lacks. */
    if (rc) {
        CU_ASSERT_EQUAL(mo_status_exit_code(rc), MO_EXIT_BADINPUT);
    }
}

static void test_backend__auto_takes_cuda_only_with_a_gpu(void)
{
    const mo_kern_backend_t *be = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "auto", &err), 0);
    if (mo_kern_cuda_devices(NULL, 0) > 0) {
        CU_ASSERT_PTR_EQUAL(be, mo_kern_cuda());
    } else {
        CU_ASSERT_PTR_EQUAL(be, mo_kern_cpu());
    }
}

static void test_backend__cpu_has_no_device_ops(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    /* The trainer takes the host path when bind is NULL; a CPU table with it set would send
     * CPU training down the device path. */
    CU_ASSERT_PTR_NULL(be->bind);
    CU_ASSERT_PTR_NULL(be->prefetch);
    if (mo_kern_cuda()) {
        const mo_kern_backend_t *c = mo_kern_cuda();
        CU_ASSERT_PTR_NOT_NULL(c->bind);
        CU_ASSERT_PTR_NOT_NULL(c->check);
        CU_ASSERT_PTR_NOT_NULL(c->set_tf32);
        CU_ASSERT_PTR_NOT_NULL(c->host_alloc);
        CU_ASSERT_PTR_NOT_NULL(c->prefetch);
        CU_ASSERT_PTR_NOT_NULL(c->use_slot);
        CU_ASSERT_PTR_NOT_NULL(c->release_slot);
        CU_ASSERT_PTR_NOT_NULL(c->host_wait);
        CU_ASSERT_PTR_NOT_NULL(c->defer_loss);
        CU_ASSERT_PTR_NOT_NULL(c->loss_result);
        CU_ASSERT_PTR_NOT_NULL(c->download_async);
    }
}

static void test_backend__unknown_name_lists_known_devices(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "tpu", &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(be);
    CU_ASSERT_STRING_EQUAL(err.msg, "unknown device 'tpu' (known: cpu, cuda, auto)");
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
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(known: cpu, cuda, auto)"));
}

static void test_backend__null_and_empty_arguments_are_rejected(void)
{
    const mo_kern_backend_t *be = mo_kern_cpu();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_kern_backend_get(NULL, "cpu", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(be);
    CU_ASSERT_EQUAL(mo_kern_backend_get(&be, "", &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "known: cpu, cuda, auto"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_backend__cuda_module_loads_only_when_asked),
    MO_TEST(test_backend__cpu_by_name_is_the_cpu_backend),
    MO_TEST(test_backend__cuda_answers_for_this_build_and_machine),
    MO_TEST(test_backend__auto_takes_cuda_only_with_a_gpu),
    MO_TEST(test_backend__cpu_has_no_device_ops),
    MO_TEST(test_backend__unknown_name_lists_known_devices),
    MO_TEST(test_backend__long_unknown_name_keeps_message_bounded),
    MO_TEST(test_backend__null_and_empty_arguments_are_rejected),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("kernels/backend", tests);
}
