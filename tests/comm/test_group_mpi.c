/* test_group_mpi.c - comm/group.c under MPI: split, sweep trial groups, small messages
 *
 * Run by ctest under mpirun -np 1, 2 and 3. Every rank runs every test and makes the same
 * collective calls in the same order whatever the assertions say, so a failure is reported
 * instead of hanging. Expected layouts come from the closed form (sizes W / P and W / P + 1,
 * contiguous) checked against mo_comm_trial_group_range, and what each group sees is
 * checked with collectives inside the group.
 */
#include "comm/comm.h"
#include "tests/unit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static mo_comm_t *comm;
static int rank, size;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- split ---------------------------------------------------------------------------------- */

static void test_split__even_and_odd_ranks_get_group_local_collectives(void)
{
    mo_comm_t *g = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_comm_split(&g, comm, rank % 2, rank, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);

    int want_size = (size - rank % 2 + 1) / 2; /* ranks of this parity in 0..size-1 */
    CU_ASSERT_EQUAL(mo_comm_size(g), want_size);
    CU_ASSERT_EQUAL(mo_comm_rank(g), rank / 2);
    CU_ASSERT_EQUAL(mo_comm_local_size(g), want_size); /* every rank on this one node */
    CU_ASSERT_EQUAL(mo_comm_local_rank(g), rank / 2);
    CU_ASSERT(mo_comm_mpi(g) != mo_comm_mpi(comm));

    int64_t sum = rank, want = 0;
    for (int r = rank % 2; r < size; r += 2)
        want += r;
    CU_ASSERT_EQUAL(mo_comm_allreduce(g, &sum, 1, MO_DT_INT64, MO_OP_SUM, &err), 0);
    CU_ASSERT_EQUAL(sum, want);

    int32_t v = rank == rank % 2 ? 100 + rank : -1; /* group rank 0 is world rank 0 or 1 */
    CU_ASSERT_EQUAL(mo_comm_bcast(g, &v, 1, MO_DT_INT32, 0, &err), 0);
    CU_ASSERT_EQUAL(v, 100 + rank % 2);

    char odd[] = "odd", even[] = "even";
    char *s = mo_comm_rank(g) == 0 ? (rank % 2 ? odd : even) : NULL;
    CU_ASSERT_EQUAL(mo_comm_bcast_string(g, &s, 0, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, rank % 2 ? "odd" : "even");
    if (mo_comm_rank(g) != 0)
        free(s);
    CU_ASSERT_EQUAL(mo_comm_barrier(g, &err), 0);
    mo_comm_destroy(g);
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0); /* the world is untouched */
}

static void test_split__key_orders_ranks_inside_the_group(void)
{
    mo_comm_t *g = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_comm_split(&g, comm, 0, size - rank, NULL), 0);
    CU_ASSERT_EQUAL(mo_comm_rank(g), size - 1 - rank);
    mo_comm_destroy(g);
}

static void test_split__negative_color_gives_null_and_others_proceed(void)
{
    mo_comm_t *g = (mo_comm_t *)&g; /* must be overwritten */
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_split(&g, comm, rank == 0 ? -1 : 3, rank, &err), 0);
    if (rank == 0) {
        CU_ASSERT_PTR_NULL(g);
        CU_ASSERT_EQUAL(mo_comm_size(g), -1);
    } else {
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        CU_ASSERT_EQUAL(mo_comm_size(g), size - 1);
        CU_ASSERT_EQUAL(mo_comm_rank(g), rank - 1);
        int32_t one = 1;
        CU_ASSERT_EQUAL(mo_comm_allreduce(g, &one, 1, MO_DT_INT32, MO_OP_SUM, &err), 0);
        CU_ASSERT_EQUAL(one, size - 1);
    }
    mo_comm_destroy(g);
}

static void test_split__bad_argument_on_one_rank_fails_every_rank(void)
{
    mo_comm_t *g = NULL;
    mo_error_t err = {0};
    int bad = rank == size - 1;
    CU_ASSERT_EQUAL(mo_comm_split(bad ? NULL : &g, comm, 0, rank, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(g);
    char want[96];
    if (bad || size == 1)
        snprintf(want, sizeof want, "mo_comm_split: out is NULL");
    else
        snprintf(want, sizeof want, "rank %d: mo_comm_split: out is NULL", size - 1);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(mo_comm_split(&g, NULL, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_split: communicator is NULL");
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0); /* still in step */
}

/* ---- trial group layout (arithmetic) -------------------------------------------------------- */

static void check_layout(int w, int p, int separate)
{
    int offset = separate ? 1 : 0, workers = w - offset, next = offset;
    int min = w, max = 0;
    for (int g = 0; g < p; g++) {
        int first = -9, count = -9;
        CU_ASSERT_EQUAL_FATAL(mo_comm_trial_group_range(&first, &count, w, p, separate, g, NULL),
                              0);
        CU_ASSERT_EQUAL(first, next); /* contiguous, in rank order */
        CU_ASSERT_EQUAL(count, workers / p + (g < workers % p ? 1 : 0));
        next += count;
        min = count < min ? count : min;
        max = count > max ? count : max;
    }
    CU_ASSERT_EQUAL(next, w); /* every trial rank in exactly one group */
    CU_ASSERT(max - min <= 1);
    CU_ASSERT(min >= 1);
}

static void test_trial_layout__sizes_differ_by_at_most_one_and_are_contiguous(void)
{
    for (int w = 1; w <= 9; w++) {
        for (int p = 1; p <= w; p++)
            check_layout(w, p, 0);
        for (int p = 1; p < w; p++)
            check_layout(w, p, 1);
    }
    int first, count;
    /* 7 ranks, 3 groups: 3 + 2 + 2, rank 0 leads group 0 */
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 7, 3, 0, 0, NULL), 0);
    CU_ASSERT(first == 0 && count == 3);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 7, 3, 0, 2, NULL), 0);
    CU_ASSERT(first == 5 && count == 2);
    /* with a separate controller: ranks 1..6 in 3 groups of 2 */
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 7, 3, 1, 0, NULL), 0);
    CU_ASSERT(first == 1 && count == 2);
}

static void test_trial_layout__impossible_layouts_are_einval_with_a_message(void)
{
    mo_error_t err = {0};
    int first, count;
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 2, 4, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "parallel_trials 4 is larger than the 2 ranks of this run");
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 1, 2, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "parallel_trials 2 is larger than the 1 rank of this run");
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 4, 4, 1, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "parallel_trials 4 is larger than the 3 ranks that run trials "
                                    "(4 ranks, rank 0 is only the controller)");
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 4, 0, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "parallel_trials must be at least 1, got 0");
    CU_ASSERT_EQUAL(first, -1);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 4, 2, 0, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 4, 2, 0, -1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, 0, 1, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(NULL, &count, 4, 2, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, NULL, 4, 2, 0, 0, &err), MO_EINVAL);
}

/* ---- trial groups (MPI) --------------------------------------------------------------------- */

/* Split with this layout and check what each rank and each group sees. */
static void check_trial_groups(int p, int separate)
{
    mo_comm_t *g = NULL;
    int index = -7, n = -7;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_comm_trial_groups(&g, &index, &n, comm, p, separate, &err), 0);
    CU_ASSERT_EQUAL(n, p);
    if (separate && rank == 0) {
        CU_ASSERT_PTR_NULL(g);
        CU_ASSERT_EQUAL(index, -1);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(index >= 0 && index < p);
    if (rank == 0)
        CU_ASSERT_EQUAL(index, 0); /* the controller leads group 0 */
    int first = -1, count = 0;
    CU_ASSERT_EQUAL(mo_comm_trial_group_range(&first, &count, size, p, separate, index, NULL), 0);
    CU_ASSERT(rank >= first && rank < first + count);
    CU_ASSERT_EQUAL(mo_comm_size(g), count);
    CU_ASSERT_EQUAL(mo_comm_rank(g), rank - first); /* group rank 0 is the leader */

    /* the group sees its own members and nobody else */
    int64_t v[3] = {1, rank, rank};
    CU_ASSERT_EQUAL(mo_comm_allreduce(g, v, 1, MO_DT_INT64, MO_OP_SUM, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce(g, v + 1, 1, MO_DT_INT64, MO_OP_MIN, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce(g, v + 2, 1, MO_DT_INT64, MO_OP_MAX, &err), 0);
    CU_ASSERT_EQUAL(v[0], count);
    CU_ASSERT_EQUAL(v[1], first);
    CU_ASSERT_EQUAL(v[2], first + count - 1);
    mo_comm_destroy(g);
}

static void test_trial_groups__every_parallel_trials_from_1_to_size(void)
{
    for (int p = 1; p <= size; p++)
        check_trial_groups(p, 0);
}

static void test_trial_groups__separate_controller_is_in_no_group(void)
{
    for (int p = 1; p < size; p++)
        check_trial_groups(p, 1);
    /* with one rank there is nobody left to run trials */
    if (size == 1) {
        mo_comm_t *g = NULL;
        int index, n;
        mo_error_t err = {0};
        CU_ASSERT_EQUAL(mo_comm_trial_groups(&g, &index, &n, comm, 1, 1, &err), MO_EINVAL);
    }
}

static void test_trial_groups__more_trials_than_ranks_is_einval_everywhere(void)
{
    mo_comm_t *g = (mo_comm_t *)&g;
    int index = 5, n = 5;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_trial_groups(&g, &index, &n, comm, size + 1, 0, &err), MO_EINVAL);
    char want[96];
    snprintf(want, sizeof want, "parallel_trials %d is larger than the %d rank%s of this run",
             size + 1, size, size == 1 ? "" : "s");
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_EQUAL(index, -1);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(mo_comm_trial_groups(&g, &index, &n, comm, 0, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_trial_groups(&g, &index, &n, NULL, 1, 0, &err), MO_EINVAL);
    /* NULL outputs on one rank: every rank fails, nobody waits in the split */
    int bad = rank == size - 1;
    CU_ASSERT_EQUAL(mo_comm_trial_groups(&g, bad ? NULL : &index, &n, comm, 1, 0, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

/* Every group's last rank fails; each group agrees on its own failure only. */
static void test_trial_groups__agree_inside_a_group_is_group_local(void)
{
    int p = size < 2 ? 1 : 2;
    mo_comm_t *g = NULL;
    int index, n;
    CU_ASSERT_EQUAL_FATAL(mo_comm_trial_groups(&g, &index, &n, comm, p, 0, NULL), 0);
    int gr = mo_comm_rank(g), gs = mo_comm_size(g);
    mo_error_t err = {0};
    int local = 0;
    if (gr == gs - 1)
        local = mo_errorf(&err, MO_ERUNTIME, "trial in group %d diverged", index);
    CU_ASSERT_EQUAL(mo_comm_agree(g, local, &err), MO_ERUNTIME);
    char want[96];
    if (gs > 1)
        snprintf(want, sizeof want, "rank %d: trial in group %d diverged", gs - 1, index);
    else
        snprintf(want, sizeof want, "trial in group %d diverged", index);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(mo_comm_agree(g, 0, &err), 0);
    mo_comm_destroy(g);
}

/* ---- messages ------------------------------------------------------------------------------- */

static const size_t payload_sizes[] = {0, 1, 1000, (size_t)1 << 20};
#define N_PAYLOADS (sizeof payload_sizes / sizeof payload_sizes[0])

static unsigned char pattern(int who, size_t k, size_t i)
{
    return (unsigned char)(who * 31 + (int)k * 7 + (int)(i % 251));
}

static unsigned char *make_payload(int who, size_t k)
{
    size_t n = payload_sizes[k];
    unsigned char *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        b[i] = pattern(who, k, i);
    return b;
}

static int payload_ok(const unsigned char *b, size_t len, int who, size_t k)
{
    if (!b || len != payload_sizes[k] || b[len] != '\0')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (b[i] != pattern(who, k, i))
            return 0;
    return 1;
}

static void expect_idle(void)
{
    int src = -5, tag = -5, got = -5;
    void *buf = (void *)&got;
    size_t len = 9;
    double t0 = now();
    CU_ASSERT_EQUAL(mo_comm_poll_msg(comm, &src, &tag, &buf, &len, &got, NULL), 0);
    CU_ASSERT(now() - t0 < 0.5); /* returned at once */
    CU_ASSERT_EQUAL(got, 0);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_EQUAL(len, 0);
}

/* Controller (rank 0) <-> every group leader, for parallel_trials p: each leader sends one
 * message per payload size (tag = its index) and the controller polls until it has them all;
 * then the controller answers each leader (tag 10 + index), which waits in recv. */
static void round_trip(int p)
{
    mo_error_t err = {0};
    int leader[64], n_leaders = p, am_leader = 0;
    for (int g = 0; g < p; g++) {
        int count;
        mo_comm_trial_group_range(&leader[g], &count, size, p, 0, g, NULL);
        am_leader |= leader[g] == rank;
    }
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
    expect_idle();
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);

    if (am_leader) {
        for (size_t k = 0; k < N_PAYLOADS; k++) {
            unsigned char *b = make_payload(rank, k);
            CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, (int)k, b, payload_sizes[k], &err), 0);
            free(b);
        }
    }
    if (rank == 0) {
        int seen[64][N_PAYLOADS];
        memset(seen, 0, sizeof seen);
        size_t want = (size_t)n_leaders * N_PAYLOADS, have = 0, bad = 0;
        double deadline = now() + 60;
        while (have < want && now() < deadline) {
            int src, tag, got;
            void *buf;
            size_t len;
            if (mo_comm_poll_msg(comm, &src, &tag, &buf, &len, &got, &err) != 0)
                break;
            if (!got)
                continue;
            have++;
            if (src < 0 || src >= size || tag < 0 || tag >= (int)N_PAYLOADS ||
                !payload_ok(buf, len, src, (size_t)tag) || seen[src][tag]++)
                bad++;
            free(buf);
        }
        CU_ASSERT_EQUAL(have, want);
        CU_ASSERT_EQUAL(bad, 0);
        for (int g = 0; g < p; g++)
            for (size_t k = 0; k < N_PAYLOADS; k++)
                CU_ASSERT_EQUAL(seen[leader[g]][k], 1);
        expect_idle(); /* nothing more than was sent */
        for (int g = 0; g < p; g++)
            for (size_t k = 0; k < N_PAYLOADS; k++) {
                size_t rk = N_PAYLOADS - 1 - k; /* answers in the other order of sizes */
                unsigned char *b = make_payload(1000 + leader[g], rk);
                CU_ASSERT_EQUAL(
                    mo_comm_send_msg(comm, leader[g], 10 + (int)k, b, payload_sizes[rk], &err), 0);
                free(b);
            }
    }
    if (am_leader) {
        for (size_t k = 0; k < N_PAYLOADS; k++) {
            void *buf = NULL;
            size_t len = 0;
            /* the last one with any tag, as a leader waiting for "next trial or stop" does */
            int tag = k + 1 < N_PAYLOADS ? 10 + (int)k : MO_COMM_ANY_TAG;
            CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, 0, tag, &buf, &len, &err), 0);
            CU_ASSERT(payload_ok(buf, len, 1000 + rank, N_PAYLOADS - 1 - k));
            free(buf);
        }
    }
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
    expect_idle();
    /* No rank may run ahead into a later test and send before every rank checked it was idle. */
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

static void test_msg__round_trip_controller_and_every_group_leader(void)
{
    round_trip(1);    /* only the controller leads: messages to itself */
    round_trip(size); /* every rank leads a group */
}

/* A point-to-point message of someone else's protocol (tag outside the range) in front of
 * ours neither hides ours nor is taken by poll. */
static void test_msg__foreign_message_does_not_hide_ours(void)
{
    if (size < 2)
        return;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
    if (rank == 1) {
        int x = 42;
        MPI_Send(&x, 1, MPI_INT, 0, 5, mo_comm_mpi(comm));
        CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, 3, "{\"trial\":7}", 11, &err), 0);
    }
    if (rank == 0) {
        int src = -1, tag = -1, got = 0;
        void *buf = NULL;
        size_t len = 0;
        double deadline = now() + 30;
        while (!got && now() < deadline)
            CU_ASSERT_EQUAL_FATAL(mo_comm_poll_msg(comm, &src, &tag, &buf, &len, &got, &err), 0);
        CU_ASSERT_EQUAL(got, 1);
        CU_ASSERT_EQUAL(src, 1);
        CU_ASSERT_EQUAL(tag, 3);
        CU_ASSERT_EQUAL(len, 11);
        if (buf)
            CU_ASSERT_STRING_EQUAL(buf, "{\"trial\":7}");
        free(buf);
        int x = 0;
        MPI_Recv(&x, 1, MPI_INT, 1, 5, mo_comm_mpi(comm), MPI_STATUS_IGNORE);
        CU_ASSERT_EQUAL(x, 42);
    }
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

/* Messages work on a group handle too, ranks numbered in the group; a message to oneself
 * that is never received goes away with the handle. */
static void test_msg__inside_a_group_and_to_oneself(void)
{
    mo_comm_t *g = NULL;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_comm_split(&g, comm, rank % 2, rank, &err), 0);
    int gr = mo_comm_rank(g), gs = mo_comm_size(g);
    if (gr != 0)
        CU_ASSERT_EQUAL(mo_comm_send_msg(g, 0, 1, &gr, sizeof gr, &err), 0);
    if (gr == 0) {
        CU_ASSERT_EQUAL(mo_comm_send_msg(g, 0, 2, "self", 4, &err), 0);
        CU_ASSERT_EQUAL(mo_comm_send_msg(g, 0, 2, "kept", 4, &err), 0); /* never received */
        void *buf = NULL;
        size_t len = 0;
        CU_ASSERT_EQUAL(mo_comm_recv_msg(g, 0, 2, &buf, &len, &err), 0);
        CU_ASSERT(len == 4 && buf && memcmp(buf, "self", 5) == 0);
        free(buf);
        int sum = 0;
        for (int i = 1; i < gs; i++) {
            CU_ASSERT_EQUAL(mo_comm_recv_msg(g, MO_COMM_ANY_SOURCE, 1, &buf, &len, &err), 0);
            if (buf && len == sizeof(int)) {
                int v;
                memcpy(&v, buf, sizeof v);
                sum += v;
            }
            free(buf);
        }
        CU_ASSERT_EQUAL(sum, gs * (gs - 1) / 2);
    }
    mo_comm_destroy(g);
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

static void test_msg__tag_range_fits_mpi(void)
{
    int *ub = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    CU_ASSERT_FATAL(flag && ub);
    CU_ASSERT(MO_COMM_MSG_TAG_BASE + MO_COMM_MSG_TAGS - 1 <= *ub);
    CU_ASSERT(MO_COMM_MSG_TAG_BASE + MO_COMM_MSG_TAGS - 1 <= 32767); /* MPI's guaranteed bound */
}

static void test_msg__bad_arguments_are_einval(void)
{
    mo_error_t err = {0};
    char b[4] = "abc";
    int src, tag, got;
    void *buf;
    size_t len;
    char want[128];

    CU_ASSERT_EQUAL(mo_comm_send_msg(NULL, 0, 0, b, 3, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, -1, 0, b, 3, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, size, 0, b, 3, &err), MO_EINVAL);
    snprintf(want, sizeof want, "mo_comm_send_msg: dest %d out of range for %d ranks", size, size);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, -1, b, 3, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, MO_COMM_MSG_TAGS, b, 3, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "mo_comm_send_msg: tag 64 outside 0..63");
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, 0, NULL, 3, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_send_msg(comm, 0, 0, b, (size_t)INT32_MAX + 1, &err), MO_EINVAL);

    CU_ASSERT_EQUAL(mo_comm_poll_msg(NULL, &src, &tag, &buf, &len, &got, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_poll_msg(comm, NULL, &tag, &buf, &len, &got, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_poll_msg(comm, &src, &tag, &buf, &len, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_poll_msg(comm, &src, &tag, NULL, &len, &got, &err), MO_EINVAL);

    CU_ASSERT_EQUAL(mo_comm_recv_msg(NULL, 0, 0, &buf, &len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, size, 0, &buf, &len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, -2, 0, &buf, &len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, 0, MO_COMM_MSG_TAGS, &buf, &len, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, 0, 0, NULL, &len, &err), MO_EINVAL);
    /* waiting for oneself with nothing queued would never end */
    CU_ASSERT_EQUAL(mo_comm_recv_msg(comm, rank, 0, &buf, &len, &err), MO_EINVAL);
    snprintf(want, sizeof want,
             "mo_comm_recv_msg: rank %d waits for a message from itself and none is queued", rank);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_PTR_NULL(buf);

    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0); /* nothing above reached another rank */
    expect_idle();
    CU_ASSERT_EQUAL(mo_comm_barrier(comm, &err), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_split__even_and_odd_ranks_get_group_local_collectives),
    MO_TEST(test_split__key_orders_ranks_inside_the_group),
    MO_TEST(test_split__negative_color_gives_null_and_others_proceed),
    MO_TEST(test_split__bad_argument_on_one_rank_fails_every_rank),
    MO_TEST(test_trial_layout__sizes_differ_by_at_most_one_and_are_contiguous),
    MO_TEST(test_trial_layout__impossible_layouts_are_einval_with_a_message),
    MO_TEST(test_trial_groups__every_parallel_trials_from_1_to_size),
    MO_TEST(test_trial_groups__separate_controller_is_in_no_group),
    MO_TEST(test_trial_groups__more_trials_than_ranks_is_einval_everywhere),
    MO_TEST(test_trial_groups__agree_inside_a_group_is_group_local),
    MO_TEST(test_msg__round_trip_controller_and_every_group_leader),
    MO_TEST(test_msg__foreign_message_does_not_hide_ours),
    MO_TEST(test_msg__inside_a_group_and_to_oneself),
    MO_TEST(test_msg__tag_range_fits_mpi),
    MO_TEST(test_msg__bad_arguments_are_einval),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err) != 0) {
        fprintf(stderr, "comm/group_mpi: %s\n", err.msg);
        return 1;
    }
    rank = mo_comm_rank(comm);
    size = mo_comm_size(comm);
    int rc = mo_test_main("comm/group_mpi", tests);
    mo_comm_destroy(comm);
    return rc;
}
