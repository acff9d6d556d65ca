/* test_comm_mpi.c - comm/ under MPI: ranks, collectives, chunking, agreement, errors
 *
 * Run by ctest under mpirun -np 1, 2 and 3 (all ranks on this one node), and directly as an
 * MPI singleton. Every rank runs every test and calls the collectives in the same order
 * whatever the assertions say, so a failing check shows up as a failure, not as a hang.
 * Values are derived from the rank so every expected result is a closed form.
 */
#include "comm/comm.h"
#include "comm/comm_impl.h"
#include "tests/unit.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 11 /* elements per buffer: divisible by none of the chunk limits used below */

static mo_comm_t *comm;
static int rank, size;
static int pml_before; /* OMPI_MCA_pml was in the environment before mo_comm_init */

typedef union {
    int32_t i32[N];
    int64_t i64[N];
    float f32[N];
    double f64[N];
    unsigned char byte[N];
} buf_t;

static const mo_dtype_t all_dtypes[] = {MO_DT_INT32, MO_DT_INT64, MO_DT_FLOAT, MO_DT_DOUBLE,
                                        MO_DT_BYTE};

/* Store integer `v` as element i. int64 is shifted past 32 bits so that a reduction done in
 * 32 bits, or in double with lost low bits, would show; `i` keeps the low bits busy. */
static void store(buf_t *b, mo_dtype_t dt, size_t i, int64_t v)
{
    switch (dt) {
    case MO_DT_INT32:
        b->i32[i] = (int32_t)v;
        break;
    case MO_DT_INT64:
        b->i64[i] = v * (INT64_C(1) << 33);
        break;
    case MO_DT_FLOAT:
        b->f32[i] = (float)v;
        break;
    case MO_DT_DOUBLE:
        b->f64[i] = (double)v;
        break;
    case MO_DT_BYTE:
        b->byte[i] = (unsigned char)v;
        break;
    }
}

static void fill(buf_t *b, mo_dtype_t dt, int64_t (*f)(int who, size_t i), int who)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < N; i++)
        store(b, dt, i, f(who, i));
}

/* ---- ranks ---------------------------------------------------------------------------------- */

static void test_comm__rank_and_size_match_mpi_world(void)
{
    int world_size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    CU_ASSERT_EQUAL(mo_comm_size(comm), world_size);
    CU_ASSERT(rank >= 0 && rank < size);

    int64_t sum = rank;
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &sum, 1, MO_DT_INT64, MO_OP_SUM, NULL), 0);
    CU_ASSERT_EQUAL(sum, (int64_t)size * (size - 1) / 2); /* ranks are 0..size-1, once each */
}

/* ctest starts every rank on this machine, so the node-local split holds them all and, keyed
 * by world rank, numbers them the same way. */
static void test_comm__local_ranks_cover_the_one_node(void)
{
    int lr = mo_comm_local_rank(comm), ls = mo_comm_local_size(comm);
    CU_ASSERT_EQUAL(ls, size);
    CU_ASSERT(lr >= 0 && lr < ls);
    CU_ASSERT_EQUAL(lr, rank);

    int64_t sum = lr;
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &sum, 1, MO_DT_INT64, MO_OP_SUM, NULL), 0);
    CU_ASSERT_EQUAL(sum, (int64_t)ls * (ls - 1) / 2);
}

static void test_comm__barrier_returns_ok(void)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
    CU_ASSERT_EQUAL(err.code, 0);
}

/* ---- bcast ---------------------------------------------------------------------------------- */

static int64_t root_value(int root, size_t i)
{
    return (int64_t)root * 1000 + (int64_t)i + 1;
}

static int64_t garbage(int who, size_t i)
{
    return -7 - who - (int64_t)i;
}

static void test_comm__bcast_each_dtype_from_every_root(void)
{
    for (int root = 0; root < size; root++) {
        for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++) {
            mo_dtype_t dt = all_dtypes[d];
            buf_t got, want;
            fill(&want, dt, root_value, root);
            if (rank == root)
                got = want;
            else
                fill(&got, dt, garbage, rank);
            mo_error_t err = {0};
            CU_ASSERT_EQUAL(mo_comm_bcast(comm, &got, N, dt, root, &err), 0);
            CU_ASSERT_EQUAL(memcmp(&got, &want, N * mo_dtype_size(dt)), 0);
        }
    }
}

static void test_comm__bcast_of_zero_elements_is_a_no_op(void)
{
    CU_ASSERT_EQUAL(mo_comm_bcast(comm, NULL, 0, MO_DT_DOUBLE, 0, NULL), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, NULL, 0, MO_DT_DOUBLE, MO_OP_SUM, NULL), 0);
}

static void test_comm__bcast_string_from_every_root(void)
{
    for (int root = 0; root < size; root++) {
        char text[64];
        snprintf(text, sizeof text, "spec from rank %d", root);
        char *s = rank == root ? text : NULL;
        mo_error_t err = {0};
        CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &s, root, &err), 0);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s) {
            CU_ASSERT_STRING_EQUAL(s, text);
        }
        if (rank == root) {
            CU_ASSERT_PTR_EQUAL(s, text); /* root's string is left alone */
        } else {
            free(s);
        }
    }
}

static void test_comm__bcast_string_empty_gives_empty_everywhere(void)
{
    char empty[] = "";
    char *s = rank == 0 ? empty : NULL;
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &s, 0, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s) {
        CU_ASSERT_STRING_EQUAL(s, "");
    }
    if (rank != 0)
        free(s);
}

static void test_comm__bcast_string_null_on_root_gives_null_everywhere(void)
{
    char other[] = "not read on non-root ranks";
    int root = size - 1;
    char *s = rank == root ? NULL : other;
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &s, root, NULL), 0);
    CU_ASSERT_PTR_NULL(s);
}

/* ---- allreduce ------------------------------------------------------------------------------ */

/* Element i on rank r: magnitude ((r + i) % size + 1) * (i + 1), negative for odd i. Over the
 * ranks the magnitudes are exactly 1..size times (i + 1), and the extreme sits on a
 * different rank for each i, so a reduction that kept one rank's value shows. */
static int64_t reduce_input(int r, size_t i)
{
    int64_t m = (int64_t)((r + (int)i) % size + 1) * (int64_t)(i + 1);
    return i % 2 ? -m : m;
}

static int64_t closed_form(mo_op_t op, size_t i)
{
    int64_t k = (int64_t)(i + 1), s = size;
    int neg = i % 2;
    switch (op) {
    case MO_OP_SUM:
        return (neg ? -k : k) * s * (s + 1) / 2;
    case MO_OP_MIN:
        return neg ? -k * s : k;
    case MO_OP_MAX:
        return neg ? -k : k * s;
    }
    return 0;
}

static int64_t closed_form_sum(int unused, size_t i)
{
    (void)unused;
    return closed_form(MO_OP_SUM, i);
}

static int64_t closed_form_min(int unused, size_t i)
{
    (void)unused;
    return closed_form(MO_OP_MIN, i);
}

static int64_t closed_form_max(int unused, size_t i)
{
    (void)unused;
    return closed_form(MO_OP_MAX, i);
}

static void check_allreduce(mo_dtype_t dt, mo_op_t op)
{
    int64_t (*expect[])(int, size_t) = {closed_form_sum, closed_form_min, closed_form_max};
    buf_t got, want;
    fill(&got, dt, reduce_input, rank);
    fill(&want, dt, expect[op], 0);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &got, N, dt, op, &err), 0);
    CU_ASSERT_EQUAL(memcmp(&got, &want, N * mo_dtype_size(dt)), 0);
}

#define ALLREDUCE_TEST(opname, OP, dtname, DT)                                                     \
    static void test_comm__allreduce_##opname##_##dtname##_equals_closed_form(void)                \
    {                                                                                              \
        check_allreduce(DT, OP);                                                                   \
    }
ALLREDUCE_TEST(sum, MO_OP_SUM, int32, MO_DT_INT32)
ALLREDUCE_TEST(sum, MO_OP_SUM, int64, MO_DT_INT64)
ALLREDUCE_TEST(sum, MO_OP_SUM, float, MO_DT_FLOAT)
ALLREDUCE_TEST(sum, MO_OP_SUM, double, MO_DT_DOUBLE)
ALLREDUCE_TEST(min, MO_OP_MIN, int32, MO_DT_INT32)
ALLREDUCE_TEST(min, MO_OP_MIN, int64, MO_DT_INT64)
ALLREDUCE_TEST(min, MO_OP_MIN, float, MO_DT_FLOAT)
ALLREDUCE_TEST(min, MO_OP_MIN, double, MO_DT_DOUBLE)
ALLREDUCE_TEST(max, MO_OP_MAX, int32, MO_DT_INT32)
ALLREDUCE_TEST(max, MO_OP_MAX, int64, MO_DT_INT64)
ALLREDUCE_TEST(max, MO_OP_MAX, float, MO_DT_FLOAT)
ALLREDUCE_TEST(max, MO_OP_MAX, double, MO_DT_DOUBLE)

/* ---- chunking ------------------------------------------------------------------------------- */

static void test_comm__chunked_allreduce_equals_unchunked(void)
{
    static const size_t limits[] = {1, 3, 4, N - 1};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        for (size_t d = 0; d < 4; d++) { /* every reducible dtype */
            mo_dtype_t dt = all_dtypes[d];
            for (int op = MO_OP_SUM; op <= MO_OP_MAX; op++) {
                buf_t whole, pieces;
                fill(&whole, dt, reduce_input, rank);
                pieces = whole;
                int rc_whole = mo_comm_allreduce(comm, &whole, N, dt, (mo_op_t)op, NULL);
                size_t old = mo_comm_set_chunk_limit(limits[l]);
                int rc_pieces = mo_comm_allreduce(comm, &pieces, N, dt, (mo_op_t)op, NULL);
                mo_comm_set_chunk_limit(old);
                CU_ASSERT_EQUAL(rc_whole, 0);
                CU_ASSERT_EQUAL(rc_pieces, 0);
                CU_ASSERT_EQUAL(memcmp(&whole, &pieces, N * mo_dtype_size(dt)), 0);
            }
        }
    }
}

static void test_comm__chunked_bcast_equals_unchunked(void)
{
    static const size_t limits[] = {1, 3, 4, N - 1};
    int root = size - 1;
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++) {
            mo_dtype_t dt = all_dtypes[d];
            buf_t got, want;
            fill(&want, dt, root_value, root);
            if (rank == root)
                got = want;
            else
                fill(&got, dt, garbage, rank);
            size_t old = mo_comm_set_chunk_limit(limits[l]);
            int rc = mo_comm_bcast(comm, &got, N, dt, root, NULL);
            mo_comm_set_chunk_limit(old);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(memcmp(&got, &want, N * mo_dtype_size(dt)), 0);
        }
    }
}

static void test_comm__chunked_bcast_string_arrives_whole(void)
{
    char text[1000];
    for (size_t i = 0; i < sizeof text - 1; i++)
        text[i] = (char)('a' + i % 26);
    text[sizeof text - 1] = '\0';
    char *s = rank == 0 ? text : NULL;
    size_t old = mo_comm_set_chunk_limit(7);
    int rc = mo_comm_bcast_string(comm, &s, 0, NULL);
    mo_comm_set_chunk_limit(old);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s) {
        CU_ASSERT_STRING_EQUAL(s, text);
    }
    if (rank != 0)
        free(s);
}

/* ---- agree ---------------------------------------------------------------------------------- */

static void test_comm__agree_with_no_failure_is_ok_everywhere(void)
{
    mo_error_t err;
    mo_errorf(&err, MO_EIO, "stale message");
    CU_ASSERT_EQUAL(mo_comm_agree(comm, 0, &err), 0);
    CU_ASSERT_EQUAL(err.code, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
}

static void expect_attributed(const mo_error_t *err, int code, int from, const char *text)
{
    char want[MO_ERROR_MSG_MAX + 32];
    if (size > 1)
        snprintf(want, sizeof want, "rank %d: %s", from, text);
    else
        snprintf(want, sizeof want, "%s", text);
    CU_ASSERT_EQUAL(err->code, code);
    CU_ASSERT_STRING_EQUAL(err->msg, want);
}

static void test_comm__agree_when_only_last_rank_fails_gives_its_error_everywhere(void)
{
    mo_error_t err = {0};
    int local = 0;
    if (rank == size - 1)
        local = mo_errorf(&err, MO_EIO, "data/shard-%d.h5: disk full", rank);
    int rc = mo_comm_agree(comm, local, &err);
    CU_ASSERT_EQUAL(rc, MO_EIO);
    char text[64];
    snprintf(text, sizeof text, "data/shard-%d.h5: disk full", size - 1);
    expect_attributed(&err, MO_EIO, size - 1, text);
}

static void test_comm__agree_picks_the_lowest_failing_rank(void)
{
    /* ranks size/2 .. size-1 fail, each with its own code and text */
    mo_error_t err = {0};
    int local = 0;
    if (rank >= size / 2)
        local = mo_errorf(&err, rank % 2 ? MO_ERUNTIME : MO_EFORMAT, "failure on %d", rank);
    int first = size / 2;
    int want_code = first % 2 ? MO_ERUNTIME : MO_EFORMAT;
    char text[32];
    snprintf(text, sizeof text, "failure on %d", first);
    CU_ASSERT_EQUAL(mo_comm_agree(comm, local, &err), want_code);
    expect_attributed(&err, want_code, first, text);
}

static void test_comm__agree_without_message_uses_the_code_name(void)
{
    int local = rank == 0 ? MO_EGATE : 0;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_agree(comm, local, rank == 0 ? NULL : &err), MO_EGATE);
    if (rank != 0) {
        expect_attributed(&err, MO_EGATE, 0, mo_strerror(MO_EGATE));
    }
}

/* An agreed error agreed on again one level up keeps the rank it came from. */
static void test_comm__agree_twice_keeps_the_original_rank(void)
{
    mo_error_t err = {0};
    int local = 0;
    if (rank == size - 1)
        local = mo_errorf(&err, MO_EIO, "read failed");
    int rc = mo_comm_agree(comm, local, &err);
    rc = mo_comm_agree(comm, rc, &err);
    CU_ASSERT_EQUAL(rc, MO_EIO);
    expect_attributed(&err, MO_EIO, size - 1, "read failed");
}

/* ---- errors --------------------------------------------------------------------------------- */

static void test_comm__bad_arguments_are_einval(void)
{
    buf_t b;
    char *s = NULL;
    mo_error_t err = {0};
    memset(&b, 0, sizeof b);

    CU_ASSERT_EQUAL(mo_comm_bcast(comm, NULL, 1, MO_DT_INT32, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_bcast: buffer is NULL with count 1");
    CU_ASSERT_EQUAL(mo_comm_bcast(comm, &b, N, (mo_dtype_t)99, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_bcast: unknown dtype 99");
    CU_ASSERT_EQUAL(mo_comm_bcast(comm, &b, N, MO_DT_INT32, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_bcast(comm, &b, N, MO_DT_INT32, size, &err), MO_EINVAL);
    char want[96];
    snprintf(want, sizeof want, "mo_comm_bcast: root %d out of range for %d ranks", size, size);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(mo_comm_bcast(comm, &b, SIZE_MAX / 4, MO_DT_INT64, 0, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "overflows"));

    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, NULL, 1, MO_DT_DOUBLE, MO_OP_SUM, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &b, N, (mo_dtype_t)-1, MO_OP_SUM, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &b, N, MO_DT_INT32, (mo_op_t)7, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_allreduce: unknown op 7");
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &b, N, MO_DT_BYTE, MO_OP_MAX, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_allreduce: bytes cannot be reduced");
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &b, SIZE_MAX / 2, MO_DT_FLOAT, MO_OP_SUM, &err),
                    MO_EINVAL);

    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, NULL, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &s, size, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &s, -1, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(s);

    /* nothing above reached MPI: the ranks are still in step */
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

static void test_comm__mpi_errors_return_instead_of_aborting(void)
{
    MPI_Errhandler h;
    CU_ASSERT_EQUAL(MPI_Comm_get_errhandler(mo_comm_mpi(comm), &h), MPI_SUCCESS);
    CU_ASSERT(h == MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&h);

    /* a local argument error inside MPI comes back as a code on our communicator */
    int x = 0;
    int rc = MPI_Bcast(&x, -1, MPI_INT, 0, mo_comm_mpi(comm));
    int cls = MPI_SUCCESS;
    MPI_Error_class(rc, &cls);
    CU_ASSERT_EQUAL(cls, MPI_ERR_COUNT);
}

static void test_comm__world_error_handler_is_left_as_found(void)
{
    MPI_Errhandler h;
    CU_ASSERT_EQUAL(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &h), MPI_SUCCESS);
    CU_ASSERT(h == MPI_ERRORS_ARE_FATAL);
    MPI_Errhandler_free(&h);
}

static void test_comm__mpi_error_says_operation_and_mpi_text(void)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(MPI_ERR_TRUNCATE, text, &len);
    char want[MPI_MAX_ERROR_STRING + 32];
    snprintf(want, sizeof want, "MPI_Bcast: %s", text);

    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_mpi_error(&err, MPI_ERR_TRUNCATE, "MPI_Bcast"), MO_EMPI);
    CU_ASSERT_EQUAL(err.code, MO_EMPI);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT(len > 0);
}

/* A second handle while MPI is up does not own MPI: destroying it leaves MPI running. */
static void test_comm__second_handle_does_not_finalize(void)
{
    mo_comm_t *other = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_init(&other, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_rank(other), rank);
    CU_ASSERT_EQUAL(mo_comm_size(other), size);
    CU_ASSERT(mo_comm_mpi(other) != mo_comm_mpi(comm));
    mo_comm_destroy(other);
    int finalized = 1;
    MPI_Finalized(&finalized);
    CU_ASSERT_EQUAL(finalized, 0);
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

/* On this one node mo_comm_init starts MPI with OMPI_MCA_pml=^cm (comm/info.h) unless the
 * environment chose; what it chose itself is gone from the environment afterwards, so a
 * program Maestro starts (mpirun of a submit, a plugin) decides for itself. */
static void test_comm__own_pml_choice_is_not_passed_on(void)
{
    const char *pml = getenv("OMPI_MCA_pml");
    CU_ASSERT_EQUAL(pml != NULL, pml_before);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_comm__rank_and_size_match_mpi_world),
    MO_TEST(test_comm__local_ranks_cover_the_one_node),
    MO_TEST(test_comm__barrier_returns_ok),
    MO_TEST(test_comm__bcast_each_dtype_from_every_root),
    MO_TEST(test_comm__bcast_of_zero_elements_is_a_no_op),
    MO_TEST(test_comm__bcast_string_from_every_root),
    MO_TEST(test_comm__bcast_string_empty_gives_empty_everywhere),
    MO_TEST(test_comm__bcast_string_null_on_root_gives_null_everywhere),
    MO_TEST(test_comm__allreduce_sum_int32_equals_closed_form),
    MO_TEST(test_comm__allreduce_sum_int64_equals_closed_form),
    MO_TEST(test_comm__allreduce_sum_float_equals_closed_form),
    MO_TEST(test_comm__allreduce_sum_double_equals_closed_form),
    MO_TEST(test_comm__allreduce_min_int32_equals_closed_form),
    MO_TEST(test_comm__allreduce_min_int64_equals_closed_form),
    MO_TEST(test_comm__allreduce_min_float_equals_closed_form),
    MO_TEST(test_comm__allreduce_min_double_equals_closed_form),
    MO_TEST(test_comm__allreduce_max_int32_equals_closed_form),
    MO_TEST(test_comm__allreduce_max_int64_equals_closed_form),
    MO_TEST(test_comm__allreduce_max_float_equals_closed_form),
    MO_TEST(test_comm__allreduce_max_double_equals_closed_form),
    MO_TEST(test_comm__chunked_allreduce_equals_unchunked),
    MO_TEST(test_comm__chunked_bcast_equals_unchunked),
    MO_TEST(test_comm__chunked_bcast_string_arrives_whole),
    MO_TEST(test_comm__agree_with_no_failure_is_ok_everywhere),
    MO_TEST(test_comm__agree_when_only_last_rank_fails_gives_its_error_everywhere),
    MO_TEST(test_comm__agree_picks_the_lowest_failing_rank),
    MO_TEST(test_comm__agree_without_message_uses_the_code_name),
    MO_TEST(test_comm__agree_twice_keeps_the_original_rank),
    MO_TEST(test_comm__bad_arguments_are_einval),
    MO_TEST(test_comm__mpi_errors_return_instead_of_aborting),
    MO_TEST(test_comm__world_error_handler_is_left_as_found),
    MO_TEST(test_comm__mpi_error_says_operation_and_mpi_text),
    MO_TEST(test_comm__second_handle_does_not_finalize),
    MO_TEST(test_comm__own_pml_choice_is_not_passed_on),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    pml_before = getenv("OMPI_MCA_pml") != NULL;
    if (mo_comm_init(&comm, &argc, &argv, &err) != 0) {
        fprintf(stderr, "comm/comm_mpi: %s\n", err.msg);
        return 1;
    }
    rank = mo_comm_rank(comm);
    size = mo_comm_size(comm);
    int rc = mo_test_main("comm/comm_mpi", tests);
    mo_comm_destroy(comm);
    return rc;
}
