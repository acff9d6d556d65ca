/* test_dataset_mpi.c - sharded reads through parallel HDF5 under mpirun -np 1, 2, 3
 *
 * Rank 0 writes a dataset whose rows carry their own index in feature 0; after a barrier
 * every rank opens it collectively (MPI-IO driver), reads its shard, counts the rows it saw
 * by index, and the counts are summed over ranks: every row must have been read exactly
 * once, whatever the rank count (1000 rows divide by neither 3 nor, with n < size, at all).
 * Every rank calls the collectives in the same order whatever its assertions say, so a
 * failure shows as a failure, not a hang.
 */
#include "comm/comm.h"
#include "io/dataset.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 3, K = 4 };

static mo_comm_t *comm;
static int rank, size;

/* Rank 0 writes an n-row dataset in its test directory; every rank gets the path (caller
 * frees). Row i: X = (i, 2i, -i), y = i % K. */
static char *shared_dataset(const char *name, int64_t n)
{
    mo_error_t err = {0};
    char *path = NULL;
    int rc = 0;
    if (rank == 0) {
        float *X = malloc(sizeof(float) * (size_t)(n * D));
        int32_t *y = malloc(sizeof(int32_t) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            X[i * D] = (float)i;
            X[i * D + 1] = (float)(2 * i);
            X[i * D + 2] = (float)-i;
            y[i] = (int32_t)(i % K);
        }
        mo_ds_info_t info = {
            .n_rows = n, .n_features = D, .task = MO_DS_CLASSIFICATION, .n_classes = K};
        char buf[512];
        snprintf(buf, sizeof buf, "%s/%s", mo_test_tmpdir(), name);
        path = strdup(buf);
        rc = mo_ds_write(path, &info, X, y, NULL, &err);
        free(X);
        free(y);
    }
    CU_ASSERT_EQUAL(mo_comm_agree(comm, rc, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &path, 0, &err), 0);
    return path;
}

/* Read this rank's shard of an n-row file; every row index seen is counted in `seen`,
 * summed over ranks. Returns the number of rows with wrong values. */
static int64_t read_shard(const char *path, int64_t n, int32_t *seen)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    int64_t begin = 0, count = 0, bad = 0;
    /* No FATAL asserts between collectives: a rank leaving early would hang the others. */
    int rc = mo_ds_open(&ds, path, mo_comm_mpi(comm), &err);
    CU_ASSERT_EQUAL(rc, 0);
    memset(seen, 0, sizeof(int32_t) * (size_t)n);
    if (rc == 0) {
        CU_ASSERT_EQUAL(mo_ds_info(ds)->n_rows, n);
        mo_ds_shard_range(n, rank, size, &begin, &count);
        float *X = malloc(sizeof(float) * (size_t)((count ? count : 1) * D));
        int32_t *y = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
        CU_ASSERT_EQUAL(mo_ds_read(ds, begin, count, X, y, NULL, &err), 0);
        for (int64_t r = 0; r < count; r++) {
            int64_t i = (int64_t)X[r * D];
            if (i < 0 || i >= n || X[r * D + 1] != (float)(2 * i) || X[r * D + 2] != (float)-i ||
                y[r] != i % K) {
                bad++;
                continue;
            }
            seen[i]++;
        }
        free(X);
        free(y);
    }
    mo_ds_close(ds); /* collective */
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, seen, (size_t)n, MO_DT_INT32, MO_OP_SUM, &err), 0);
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &bad, 1, MO_DT_INT64, MO_OP_SUM, &err), 0);
    return bad;
}

static void test_dataset_mpi__every_row_read_exactly_once(void)
{
    enum { N = 1000 };
    static int32_t seen[N];
    char *path = shared_dataset("rows.h5", N);
    CU_ASSERT_EQUAL(read_shard(path, N, seen), 0);
    int64_t once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CU_ASSERT_EQUAL(once, N);
    free(path);
    mo_comm_barrier(comm, NULL); /* rank 0 removes its directory at exit */
}

static void test_dataset_mpi__fewer_rows_than_ranks(void)
{
    int32_t seen[2];
    char *path = shared_dataset("two.h5", 2);
    CU_ASSERT_EQUAL(read_shard(path, 2, seen), 0);
    CU_ASSERT(seen[0] == 1 && seen[1] == 1);
    free(path);
    mo_comm_barrier(comm, NULL);
}

/* mo_ds_write_mpi: every rank writes its own block of rows at its place (uneven blocks, the
 * last rank's empty when there are several), into a file rank 0 named; read back sharded,
 * every row is there once with its values. A bad class id on one rank fails that rank only,
 * and the file still closes on all. */
static void test_dataset_mpi__each_rank_writes_its_block(void)
{
    enum { N = 997 };
    static int32_t seen[N];
    mo_error_t err = {0};
    int64_t row0 = 0, count = 0;
    for (int r = 0; r <= rank; r++) {
        row0 += count;
        count = size == 1 ? N : r == size - 1 ? 0 : (N * (r + 1)) / (size - 1) - row0;
    }
    if (size > 1 && rank == size - 1)
        row0 = N;
    float *X = malloc(sizeof(float) * (size_t)((count ? count : 1) * D));
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
    for (int64_t r = 0; r < count; r++) {
        int64_t i = row0 + r;
        X[r * D] = (float)i;
        X[r * D + 1] = (float)(2 * i);
        X[r * D + 2] = (float)-i;
        y[r] = (int32_t)(i % K);
    }
    char buf[512], *path = NULL;
    if (rank == 0) {
        snprintf(buf, sizeof buf, "%s/par.h5", mo_test_tmpdir());
        path = strdup(buf);
    }
    CU_ASSERT_EQUAL(mo_comm_bcast_string(comm, &path, 0, &err), 0);
    mo_ds_info_t info = {
        .n_rows = N, .n_features = D, .task = MO_DS_CLASSIFICATION, .n_classes = K};
    int rc = mo_ds_write_mpi(path, mo_comm_mpi(comm), &info, row0, count, X, y, NULL, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(read_shard(path, N, seen), 0);
    int64_t once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CU_ASSERT_EQUAL(once, N);

    if (count)
        y[0] = K; /* out of range: refused on this rank, nothing hangs */
    rc = mo_ds_write_mpi(path, mo_comm_mpi(comm), &info, row0, count, X, y, NULL, &err);
    CU_ASSERT_EQUAL(rc, count ? MO_EFORMAT : 0);
    if (count)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refusing to write"));
    free(X);
    free(y);
    free(path);
    mo_comm_barrier(comm, NULL);
}

static void test_dataset_mpi__missing_file_fails_on_every_rank(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    int rc = mo_ds_open(&ds, "/nonexistent/maestro/x.h5", mo_comm_mpi(comm), &err);
    CU_ASSERT_EQUAL(rc, MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(ds);
    CU_ASSERT_STRING_EQUAL(err.msg, "/nonexistent/maestro/x.h5: no such file");
    int fails = rc != 0;
    CU_ASSERT_EQUAL(mo_comm_allreduce(comm, &fails, 1, MO_DT_INT32, MO_OP_SUM, NULL), 0);
    CU_ASSERT_EQUAL(fails, size);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_dataset_mpi__every_row_read_exactly_once),
    MO_TEST(test_dataset_mpi__fewer_rows_than_ranks),
    MO_TEST(test_dataset_mpi__each_rank_writes_its_block),
    MO_TEST(test_dataset_mpi__missing_file_fails_on_every_rank),
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    mo_error_t err = {0};
    if (mo_comm_init(&comm, &argc, &argv, &err)) {
        fprintf(stderr, "test_dataset_mpi: %s\n", err.msg);
        return 1;
    }
    rank = mo_comm_rank(comm);
    size = mo_comm_size(comm);
    int rc = mo_test_main("io/dataset_mpi", tests);
    mo_comm_destroy(comm);
    return rc;
}
