/* test_devcomm_mpi.c - comm/devcomm.c, the device gradient allreduce, at np 1, 2, 3
 *
 * Here with the CPU backend's table (its memory is host memory), which takes the staged path:
 * buckets started in backward order, then finish, equal one plain allreduce. The choice of
 * method and what forcing one that cannot work answers are checked too. NCCL itself (through
 * the CUDA module, kernels/cuda/nccl_ops.cu) needs a GPU per rank and is exercised by
 * tests/jobs/test_train_cuda.sh where GPUs are visible; with a CPU backend the module is never
 * loaded (tests/kernels/test_backend.c checks the process maps).
 */
#include "comm/devcomm.h"
#include "tests/unit.h"

#include <stdlib.h>
#include <string.h>

static mo_comm_t *comm;

static void test_devcomm__staged_buckets_sum_like_one_allreduce(void)
{
    const size_t n = 5003;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    CU_ASSERT_FATAL(a && b);
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = (float)((int)(i % 89) - 44) * 0.5f + (float)rank;
    mo_devcomm_t *d = NULL;
    mo_error_t err = {0};
    char why[192] = "";
    unsetenv("MAESTRO_ALLREDUCE");
    CU_ASSERT_EQUAL_FATAL(mo_devcomm_create(&d, comm, mo_kern_cpu(), n, why, sizeof why, &err), 0);
    CU_ASSERT_STRING_EQUAL(mo_devcomm_method(d), "staged");
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "staged through host memory"));
    /* Last layer first, as backward produces them. */
    CU_ASSERT_EQUAL(mo_devcomm_start(d, a, 4000, 1003, &err), 0);
    CU_ASSERT_EQUAL(mo_devcomm_start(d, a, 0, 4000, &err), 0);
    CU_ASSERT_EQUAL(mo_devcomm_finish(d, a, n, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, b, n, MO_DT_FLOAT, MO_OP_SUM, &err), 0);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    CU_ASSERT_DOUBLE_EQUAL(a[7], ((7 - 44) * 0.5) * size + size * (size - 1) / 2.0, 1e-4);
    /* A bucket outside the buffer is refused before any communication. */
    CU_ASSERT_EQUAL(mo_devcomm_start(d, a, 5000, 10, &err), MO_EINVAL);
    mo_devcomm_destroy(d);
    free(a);
    free(b);
}

static void test_devcomm__forcing_a_method_that_cannot_work_is_refused(void)
{
    mo_devcomm_t *d = NULL;
    mo_error_t err = {0};
    char why[192];
    setenv("MAESTRO_ALLREDUCE", "nccl", 1);
    CU_ASSERT_EQUAL(mo_devcomm_create(&d, comm, mo_kern_cpu(), 10, why, sizeof why, &err),
                    MO_EDEPEND);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "MAESTRO_ALLREDUCE=nccl, but"));
    setenv("MAESTRO_ALLREDUCE", "gloo", 1);
    CU_ASSERT_EQUAL(mo_devcomm_create(&d, comm, mo_kern_cpu(), 10, why, sizeof why, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected nccl, cuda-mpi or staged"));
    setenv("MAESTRO_ALLREDUCE", "staged", 1);
    CU_ASSERT_EQUAL(mo_devcomm_create(&d, comm, mo_kern_cpu(), 10, why, sizeof why, &err), 0);
    CU_ASSERT_STRING_EQUAL(mo_devcomm_method(d), "staged");
    mo_devcomm_destroy(d);
    unsetenv("MAESTRO_ALLREDUCE");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_devcomm__staged_buckets_sum_like_one_allreduce),
    MO_TEST(test_devcomm__forcing_a_method_that_cannot_work_is_refused),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err))
        return 1;
    int rc = mo_test_main("comm/devcomm", tests);
    mo_comm_destroy(comm);
    return rc;
}
