/* test_dataset_write.c - streamed and whole writes of the dataset format */
#include "io/dataset.h"
#include "tests/unit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 10, D = 3 };

static mo_ds_info_t info3(void)
{
    mo_ds_info_t info;
    memset(&info, 0, sizeof info);
    info.n_rows = N;
    info.n_features = D;
    info.task = MO_DS_CLASSIFICATION;
    info.n_classes = 3;
    info.format_version = MO_DS_FORMAT_VERSION;
    return info;
}

static void fill(float *X, int32_t *y)
{
    for (int r = 0; r < N; r++) {
        for (int c = 0; c < D; c++)
            X[r * D + c] = (float)(r * 10 + c);
        y[r] = r % 3;
    }
}

static const char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", mo_test_tmpdir(), name);
    return p;
}

/* Files in the temp folder whose name contains `part`. */
static int count_files(const char *part)
{
    int n = 0;
    DIR *d = opendir(mo_test_tmpdir());
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_dataset_write__streamed_equals_whole(void)
{
    float X[N * D], Xr[N * D];
    int32_t y[N], yr[N];
    fill(X, y);
    mo_ds_info_t info = info3();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(path_in("whole.h5"), &info, X, y, NULL, &err), 0);
    mo_ds_writer_t *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_open(&w, path_in("stream.h5"), &info, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 4, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 0, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 6, X + 4 * D, y + 4, NULL, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_commit(w, &err), 0);
    mo_ds_t *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path_in("stream.h5"), MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_info(ds)->n_rows, N);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, N, Xr, yr, NULL, &err), 0);
    CU_ASSERT_EQUAL(memcmp(X, Xr, sizeof X), 0);
    CU_ASSERT_EQUAL(memcmp(y, yr, sizeof y), 0);
    mo_ds_close(ds);
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
}

static void test_dataset_write__too_many_rows_refused(void)
{
    float X[N * D];
    int32_t y[N];
    fill(X, y);
    mo_ds_info_t info = info3();
    mo_error_t err = {0};
    mo_ds_writer_t *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_open(&w, path_in("over.h5"), &info, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, N, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 1, X, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "11 rows appended beyond the 10 declared"));
    mo_ds_writer_abort(w);
    CU_ASSERT_EQUAL(count_files("over.h5"), 0);
}

static void test_dataset_write__short_commit_leaves_nothing(void)
{
    float X[N * D];
    int32_t y[N];
    fill(X, y);
    mo_ds_info_t info = info3();
    mo_error_t err = {0};
    mo_ds_writer_t *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_open(&w, path_in("short.h5"), &info, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 5, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_commit(w, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "5 of 10 declared rows were written"));
    CU_ASSERT_EQUAL(count_files("short.h5"), 0);
}

static void test_dataset_write__nan_in_later_block_names_global_row(void)
{
    float X[N * D];
    int32_t y[N];
    fill(X, y);
    X[7 * D + 1] = NAN;
    mo_ds_info_t info = info3();
    mo_error_t err = {0};
    mo_ds_writer_t *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_open(&w, path_in("nan.h5"), &info, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 5, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 5, X + 5 * D, y + 5, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refusing to write"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NaN at row 7, column 1"));
    mo_ds_writer_abort(w);
    CU_ASSERT_EQUAL(count_files("nan.h5"), 0);
}

static void test_dataset_write__bad_arguments(void)
{
    mo_ds_info_t info = info3();
    mo_error_t err = {0};
    mo_ds_writer_t *w = NULL;
    CU_ASSERT_EQUAL(mo_ds_writer_open(NULL, "x.h5", &info, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_open(&w, NULL, &info, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_open(&w, "", &info, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_open(&w, path_in("a.h5"), NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(w);
    info.n_rows = 0;
    CU_ASSERT_EQUAL(mo_ds_writer_open(&w, path_in("a.h5"), &info, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_append(NULL, 1, NULL, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_commit(NULL, &err), MO_EINVAL);
    mo_ds_writer_abort(NULL);
    info = info3();
    CU_ASSERT_EQUAL_FATAL(mo_ds_writer_open(&w, path_in("b.h5"), &info, &err), 0);
    float X[D] = {1, 2, 3};
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, 1, X, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_writer_append(w, -1, X, NULL, NULL, &err), MO_EINVAL);
    mo_ds_writer_abort(w);
    CU_ASSERT_EQUAL(count_files("b.h5"), 0);
    CU_ASSERT_EQUAL(mo_ds_writer_open(&w, path_in("missing/dir/c.h5"), &info, &err), MO_EIO);
    CU_ASSERT_PTR_NULL(w);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_dataset_write__streamed_equals_whole),
    MO_TEST(test_dataset_write__too_many_rows_refused),
    MO_TEST(test_dataset_write__short_commit_leaves_nothing),
    MO_TEST(test_dataset_write__nan_in_later_block_names_global_row),
    MO_TEST(test_dataset_write__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/dataset_write", tests);
}
