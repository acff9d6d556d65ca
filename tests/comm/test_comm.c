/* test_comm.c - comm/ without MPI: dtype sizes, NULL handles and bad arguments
 *
 * Nothing here initialises MPI: every case must be refused before any MPI call. The MPI
 * behaviour itself is in test_comm_mpi.c, run under mpirun.
 */
#include "comm/comm.h"
#include "comm/comm_impl.h"
#include "tests/unit.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static void test_comm__dtype_size_matches_c_types(void)
{
    CU_ASSERT_EQUAL(mo_dtype_size(MO_DT_INT32), sizeof(int32_t));
    CU_ASSERT_EQUAL(mo_dtype_size(MO_DT_INT64), sizeof(int64_t));
    CU_ASSERT_EQUAL(mo_dtype_size(MO_DT_FLOAT), sizeof(float));
    CU_ASSERT_EQUAL(mo_dtype_size(MO_DT_DOUBLE), sizeof(double));
    CU_ASSERT_EQUAL(mo_dtype_size(MO_DT_BYTE), 1);
}

static void test_comm__dtype_size_of_unknown_dtype_is_zero(void)
{
    CU_ASSERT_EQUAL(mo_dtype_size((mo_dtype_t)99), 0);
    CU_ASSERT_EQUAL(mo_dtype_size((mo_dtype_t)-1), 0);
}

static void test_comm__init_without_out_is_einval(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_init(NULL, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_init: out is NULL");
}

static void test_comm__init_with_argc_but_no_argv_is_einval(void)
{
    static char dummy;
    mo_comm_t *c = (mo_comm_t *)(void *)&dummy; /* must be reset to NULL */
    int argc = 1;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_init(&c, &argc, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(err.code, MO_EINVAL);
}

static void test_comm__null_handle_accessors_say_minus_one(void)
{
    CU_ASSERT_EQUAL(mo_comm_rank(NULL), -1);
    CU_ASSERT_EQUAL(mo_comm_size(NULL), -1);
    CU_ASSERT_EQUAL(mo_comm_local_rank(NULL), -1);
    CU_ASSERT_EQUAL(mo_comm_local_size(NULL), -1);
    CU_ASSERT(mo_comm_mpi(NULL) == MPI_COMM_NULL);
    mo_comm_destroy(NULL); /* must not crash */
}

static void test_comm__collectives_on_null_handle_are_einval(void)
{
    mo_error_t err = {0};
    int64_t v = 1;
    char *s = NULL;

    CU_ASSERT_EQUAL(mo_comm_barrier(NULL, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_barrier: communicator is NULL");
    CU_ASSERT_EQUAL(mo_comm_bcast(NULL, &v, 1, MO_DT_INT64, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_bcast: communicator is NULL");
    CU_ASSERT_EQUAL(mo_comm_bcast_string(NULL, &s, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_bcast_string: communicator is NULL");
    CU_ASSERT_EQUAL(mo_comm_allreduce(NULL, &v, 1, MO_DT_INT64, MO_OP_SUM, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_allreduce: communicator is NULL");
    CU_ASSERT_EQUAL(mo_comm_agree(NULL, MO_EIO, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_agree: communicator is NULL");
    CU_ASSERT_EQUAL(v, 1);
}

static void test_comm__null_error_struct_is_allowed(void)
{
    int64_t v = 1;
    CU_ASSERT_EQUAL(mo_comm_barrier(NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allreduce(NULL, &v, 1, MO_DT_INT64, MO_OP_SUM, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_agree(NULL, 0, NULL), MO_EINVAL);
}

static void test_comm__chunk_limit_defaults_to_int_max_and_clamps(void)
{
    size_t orig = mo_comm_chunk_limit();
    CU_ASSERT_EQUAL(orig, (size_t)INT_MAX);
    CU_ASSERT_EQUAL(mo_comm_set_chunk_limit(3), (size_t)INT_MAX);
    CU_ASSERT_EQUAL(mo_comm_chunk_limit(), 3);
    CU_ASSERT_EQUAL(mo_comm_set_chunk_limit(0), 3);
    CU_ASSERT_EQUAL(mo_comm_chunk_limit(), (size_t)INT_MAX);
    mo_comm_set_chunk_limit((size_t)INT_MAX + 10);
    CU_ASSERT_EQUAL(mo_comm_chunk_limit(), (size_t)INT_MAX);
    mo_comm_set_chunk_limit(orig);
}

/* Last on purpose: everything above must have been refused without starting MPI. */
static void test_comm__bad_arguments_never_start_mpi(void)
{
    int inited = 1;
    MPI_Initialized(&inited);
    CU_ASSERT_EQUAL(inited, 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_comm__dtype_size_matches_c_types),
    MO_TEST(test_comm__dtype_size_of_unknown_dtype_is_zero),
    MO_TEST(test_comm__init_without_out_is_einval),
    MO_TEST(test_comm__init_with_argc_but_no_argv_is_einval),
    MO_TEST(test_comm__null_handle_accessors_say_minus_one),
    MO_TEST(test_comm__collectives_on_null_handle_are_einval),
    MO_TEST(test_comm__null_error_struct_is_allowed),
    MO_TEST(test_comm__chunk_limit_defaults_to_int_max_and_clamps),
    MO_TEST(test_comm__bad_arguments_never_start_mpi),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("comm/comm", tests);
}
