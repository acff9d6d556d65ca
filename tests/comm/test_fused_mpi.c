/* test_fused_mpi.c - bucketed allreduce of a flat buffer, and allgatherv (run at np 1, 2, 3) */
#include "comm/comm.h"
#include "tests/unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mo_comm_t *comm;

/* Values whose sums are exact in float, so any reduction order gives the same bits. */
static void fill(float *buf, size_t n, int rank)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)((int)(i % 97) - 48) * 0.25f + (float)rank;
}

static void test_fused__equals_per_tensor_allreduce(void)
{
    /* Three "tensors" of a model, back to back in one flat buffer. */
    const size_t sizes[3] = {1000, 37, 4000};
    const size_t n = sizes[0] + sizes[1] + sizes[2];
    float *fused = malloc(n * sizeof *fused), *sep = malloc(n * sizeof *sep);
    mo_error_t err = {0};
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    fill(fused, n, rank);
    memcpy(sep, fused, n * sizeof *sep);
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, fused, n, 1024, &err), 0);
    size_t off = 0;
    for (int t = 0; t < 3; t++) {
        CU_ASSERT_EQUAL(mo_comm_allreduce(comm, sep + off, sizes[t], MO_DT_FLOAT, MO_OP_SUM, &err),
                        0);
        off += sizes[t];
    }
    CU_ASSERT_EQUAL(memcmp(fused, sep, n * sizeof *sep), 0);
    /* And the closed form. */
    for (size_t i = 0; i < n; i += 101) {
        float one = (float)((int)(i % 97) - 48) * 0.25f;
        CU_ASSERT_DOUBLE_EQUAL(fused[i], one * size + size * (size - 1) / 2.0, 1e-4);
    }
    free(fused);
    free(sep);
}

static void test_fused__bucket_size_does_not_change_the_result(void)
{
    const size_t n = 5000;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    mo_error_t err = {0};
    fill(a, n, mo_comm_rank(comm));
    memcpy(b, a, n * sizeof *a);
    memcpy(c, a, n * sizeof *a);
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, a, n, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, b, n, 4, &err), 0); /* one float per call */
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, c, n, 64u << 20, &err), 0);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    CU_ASSERT_EQUAL(memcmp(a, c, n * sizeof *a), 0);
    free(a);
    free(b);
    free(c);
}

static void test_fused__bad_arguments(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(NULL, NULL, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, NULL, 3, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allreduce_fused(comm, NULL, 0, 0, &err), 0);
    void *out = NULL;
    size_t total = 0;
    CU_ASSERT_EQUAL(mo_comm_allgatherv(comm, NULL, 2, MO_DT_INT32, &out, &total, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allgatherv(comm, &total, 1, (mo_dtype_t)99, &out, &total, &err),
                    MO_EINVAL);
}

static void test_allgatherv__uneven_counts_concatenate_in_rank_order(void)
{
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    /* Rank r sends r + 1 values r * 10 + i; rank 0 also tests a zero-length contribution when
     * there is more than one rank. */
    int n = size > 1 && rank == 0 ? 0 : rank + 1;
    int32_t mine[8];
    for (int i = 0; i < n; i++)
        mine[i] = rank * 10 + i;
    int32_t *all = NULL;
    size_t total = 0;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(
        mo_comm_allgatherv(comm, mine, (size_t)n, MO_DT_INT32, (void **)&all, &total, &err), 0);
    size_t k = 0, expect_total = 0;
    for (int r = 0; r < size; r++) {
        int nr = size > 1 && r == 0 ? 0 : r + 1;
        expect_total += (size_t)nr;
        for (int i = 0; i < nr && k < total; i++, k++)
            CU_ASSERT_EQUAL(all[k], r * 10 + i);
    }
    CU_ASSERT_EQUAL(total, expect_total);
    free(all);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_fused__equals_per_tensor_allreduce),
    MO_TEST(test_fused__bucket_size_does_not_change_the_result),
    MO_TEST(test_fused__bad_arguments),
    MO_TEST(test_allgatherv__uneven_counts_concatenate_in_rank_order),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err))
        return 1;
    int rc = mo_test_main("comm/fused", tests);
    mo_comm_destroy(comm);
    return rc;
}
