/* test_alltoall_mpi.c - alltoallv of bytes and the int64 exclusive scan (run at np 1, 2, 3)
 *
 * Every rank derives every pair's size and bytes from (sender, receiver, seed), so each rank
 * knows what it must receive without asking. Sizes are random per pair with zeros among them;
 * the exchange runs once with the default chunk limit (one MPI_Alltoallv) and again with
 * small limits that force the rounds of point-to-point pieces, where pairs need different
 * numbers of rounds. Every rank calls the collectives in the same order whatever the
 * assertions say, so a failure shows as a failure and not as a hang.
 */
#include "comm/comm.h"
#include "comm/comm_impl.h"
#include "tests/unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static mo_comm_t *comm;
static int rank, size;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Bytes from rank `from` to rank `to`: a quarter of the pairs send nothing. */
static size_t pair_bytes(int from, int to, uint64_t seed)
{
    uint64_t h = mix(seed * 1000003u + (uint64_t)from * 131u + (uint64_t)to);
    return h % 4 == 0 ? 0 : (size_t)(h >> 8) % 500;
}

static unsigned char pair_byte(int from, int to, size_t k, uint64_t seed)
{
    return (unsigned char)mix(seed ^ ((uint64_t)from << 48) ^ ((uint64_t)to << 40) ^ k);
}

/* Run one exchange with the sizes of `seed` and check sizes, order and content; returns the
 * number of mismatching bytes (0 when all is well). */
static size_t exchange_and_check(uint64_t seed)
{
    size_t *sb = calloc((size_t)size, sizeof *sb), *rb = calloc((size_t)size, sizeof *rb);
    size_t n = 0;
    for (int r = 0; r < size; r++)
        n += sb[r] = pair_bytes(rank, r, seed);
    unsigned char *send = malloc(n ? n : 1), *p = send;
    for (int r = 0; r < size; r++)
        for (size_t k = 0; k < sb[r]; k++)
            *p++ = pair_byte(rank, r, k, seed);

    void *recv = NULL;
    size_t total = 0, bad = 0;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, send, sb, &recv, rb, &total, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(recv);
    size_t expect_total = 0;
    const unsigned char *q = recv;
    for (int r = 0; r < size; r++) {
        size_t want = pair_bytes(r, rank, seed);
        CU_ASSERT_EQUAL(rb[r], want);
        expect_total += want;
        for (size_t k = 0; recv && k < want && rb[r] == want; k++)
            bad += *q++ != pair_byte(r, rank, k, seed);
    }
    CU_ASSERT_EQUAL(total, expect_total);
    free(recv);
    free(send);
    free(sb);
    free(rb);
    return bad;
}

static void test_alltoallv__random_sizes_arrive_in_rank_order(void)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        CU_ASSERT_EQUAL(exchange_and_check(seed), 0);
}

/* Limits far below the pair sizes: every pair goes in many pieces, and pairs finish after
 * different numbers of rounds (a zero pair after none). 1 is one byte per message. */
static void test_alltoallv__pieces_give_the_same_bytes(void)
{
    const size_t limits[] = {1, 7, 64, 499, 500};
    size_t old = mo_comm_set_chunk_limit(1);
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        mo_comm_set_chunk_limit(limits[i]);
        for (uint64_t seed = 100; seed < 104; seed++)
            CU_ASSERT_EQUAL(exchange_and_check(seed), 0);
    }
    mo_comm_set_chunk_limit(old);
}

static void test_alltoallv__nothing_to_send(void)
{
    size_t *sb = calloc((size_t)size, sizeof *sb), *rb = malloc((size_t)size * sizeof *rb);
    memset(rb, 0xff, (size_t)size * sizeof *rb);
    void *recv = NULL;
    size_t total = 99;
    mo_error_t err = {0};
    /* NULL send is fine when nothing is sent */
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, NULL, sb, &recv, rb, &total, &err), 0);
    CU_ASSERT_EQUAL(total, 0);
    CU_ASSERT_PTR_NOT_NULL(recv); /* malloc'd even when empty, like allgatherv */
    for (int r = 0; r < size; r++)
        CU_ASSERT_EQUAL(rb[r], 0);
    free(recv);
    free(sb);
    free(rb);
}

static void test_alltoallv__bad_arguments(void)
{
    size_t sb[4] = {0}, rb[4], total = 7;
    sb[0] = 3;
    void *recv = &total;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_alltoallv(NULL, "abc", sb, &recv, rb, &total, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, "abc", NULL, &recv, rb, &total, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, "abc", sb, NULL, rb, &total, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, "abc", sb, &recv, NULL, &total, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, "abc", sb, &recv, rb, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, NULL, sb, &recv, rb, &total, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "send is NULL with 3 bytes"));
    CU_ASSERT_PTR_NULL(recv); /* outputs are cleared once the outputs themselves are valid */
    CU_ASSERT_EQUAL(total, 0);
    sb[0] = SIZE_MAX;
    sb[1] = size > 1 ? 2 : 0;
    if (size > 1)
        CU_ASSERT_EQUAL(mo_comm_alltoallv(comm, "abc", sb, &recv, rb, &total, &err), MO_EINVAL);
    int64_t before, sum;
    CU_ASSERT_EQUAL(mo_comm_exscan_i64(NULL, 1, &before, &sum, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_exscan_i64(comm, 1, NULL, &sum, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_exscan_i64(comm, 1, &before, NULL, &err), MO_EINVAL);
}

static int64_t scan_value(int r)
{
    /* past 32 bits, negative on odd ranks: a 32-bit or unsigned scan would show */
    return (r % 2 ? -1 : 1) * ((int64_t)(r + 1) << 35) + r * 7 + 3;
}

static void test_exscan__prefix_and_total(void)
{
    int64_t before = -1, sum = -1, want_before = 0, want_sum = 0;
    mo_error_t err = {0};
    for (int r = 0; r < size; r++) {
        if (r < rank)
            want_before += scan_value(r);
        want_sum += scan_value(r);
    }
    CU_ASSERT_EQUAL(mo_comm_exscan_i64(comm, scan_value(rank), &before, &sum, &err), 0);
    CU_ASSERT_EQUAL(before, want_before);
    CU_ASSERT_EQUAL(sum, want_sum);
    if (rank == 0)
        CU_ASSERT_EQUAL(before, 0);

    /* zeros, and a rank holding nothing in a row split */
    CU_ASSERT_EQUAL(mo_comm_exscan_i64(comm, 0, &before, &sum, &err), 0);
    CU_ASSERT_EQUAL(before, 0);
    CU_ASSERT_EQUAL(sum, 0);
}

static void test_exscan__overflow_fails_on_every_rank(void)
{
    int64_t before = 5, sum = 5;
    mo_error_t err = {0};
    int rc = mo_comm_exscan_i64(comm, INT64_MAX / 2 + 1, &before, &sum, &err);
    if (size == 1) {
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(sum, INT64_MAX / 2 + 1);
    } else {
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "overflows int64 at rank 1"));
    }
}

static CU_TestInfo tests[] = {
    MO_TEST(test_alltoallv__random_sizes_arrive_in_rank_order),
    MO_TEST(test_alltoallv__pieces_give_the_same_bytes),
    MO_TEST(test_alltoallv__nothing_to_send),
    MO_TEST(test_alltoallv__bad_arguments),
    MO_TEST(test_exscan__prefix_and_total),
    MO_TEST(test_exscan__overflow_fails_on_every_rank),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err))
        return 1;
    rank = mo_comm_rank(comm);
    size = mo_comm_size(comm);
    int rc = mo_test_main("comm/alltoall", tests);
    mo_comm_destroy(comm);
    return rc;
}
