/* test_dataset.c - dataset layout checks, messages, round trips, shard ranges, atomic writes */
#include "io/dataset.h"

#include "io/h5.h"
#include "tests/unit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 40, D = 5, K = 3 };

static const char *tmp_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    return path;
}

static float X[N * D];
static int32_t Y[N];
static float YV[N];

static void fill(void)
{
    for (int i = 0; i < N * D; i++)
        X[i] = (float)i * 0.5f;
    for (int i = 0; i < N; i++) {
        Y[i] = i % K;
        YV[i] = (float)i - 3.25f;
    }
}

/* A valid classification dataset at tmpdir/name; returns its path (static buffer). */
static const char *good_file(const char *name)
{
    static char *fnames[D] = {"a", "b", "c", "d", "e"};
    static char *cnames[K] = {"cat", "dog", "eel"};
    mo_error_t err = {0};
    mo_ds_info_t info = {.n_rows = N,
                         .n_features = D,
                         .task = MO_DS_CLASSIFICATION,
                         .n_classes = K,
                         .feature_names = fnames,
                         .class_names = cnames};
    const char *path = tmp_file(name);
    fill();
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(path, &info, X, Y, NULL, &err), 0);
    return path;
}

/* Open `path` read-write to break it. */
static hid_t edit(const char *path)
{
    mo_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    return f;
}

static void replace_dataset(hid_t f, const char *name, hid_t type, int rank, hsize_t d0, hsize_t d1)
{
    hsize_t dims[2] = {d0, d1};
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    H5Dclose(d);
    H5Sclose(s);
}

/* Open must fail with `code` and a message containing `want`. */
static void expect_open_error(const char *path, int code, const char *want)
{
    mo_error_t err = {0};
    mo_ds_t *ds = (mo_ds_t *)1;
    CU_ASSERT_EQUAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), code);
    CU_ASSERT_PTR_NULL(ds);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", err.msg, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
}

static int files_in_tmpdir_starting(const char *prefix)
{
    int n = 0;
    DIR *d = opendir(mo_test_tmpdir());
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_dataset__classification_round_trip(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    float x[3 * D];
    int32_t y[3];
    const char *path = good_file("rt.h5");
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    const mo_ds_info_t *info = mo_ds_info(ds);
    CU_ASSERT_EQUAL(info->n_rows, N);
    CU_ASSERT_EQUAL(info->n_features, D);
    CU_ASSERT_EQUAL(info->task, MO_DS_CLASSIFICATION);
    CU_ASSERT_EQUAL(info->n_classes, K);
    CU_ASSERT_EQUAL(info->format_version, MO_DS_FORMAT_VERSION);
    CU_ASSERT_STRING_EQUAL(info->feature_names[4], "e");
    CU_ASSERT_STRING_EQUAL(info->class_names[1], "dog");
    CU_ASSERT_EQUAL(mo_ds_read(ds, 7, 3, x, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(x[0], X[7 * D]);
    CU_ASSERT_EQUAL(x[3 * D - 1], X[10 * D - 1]);
    CU_ASSERT_EQUAL(y[0], 7 % K);
    CU_ASSERT_EQUAL(y[2], 9 % K);
    /* labels only, and nothing at all */
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, 3, NULL, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, N, 0, NULL, NULL, NULL, &err), 0);
    mo_ds_close(ds);
}

static void test_dataset__regression_round_trip_without_names(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    mo_ds_info_t info = {.n_rows = N, .n_features = D, .task = MO_DS_REGRESSION};
    float x[N * D], y[N];
    const char *path = tmp_file("reg.h5");
    fill();
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(path, &info, X, NULL, YV, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_info(ds)->task, MO_DS_REGRESSION);
    CU_ASSERT_EQUAL(mo_ds_info(ds)->n_classes, 0);
    CU_ASSERT_PTR_NULL(mo_ds_info(ds)->feature_names);
    CU_ASSERT_PTR_NULL(mo_ds_info(ds)->class_names);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, N, x, NULL, y, &err), 0);
    CU_ASSERT_EQUAL(memcmp(x, X, sizeof x), 0);
    CU_ASSERT_EQUAL(memcmp(y, YV, sizeof y), 0);
    /* asking for class ids of a regression dataset is a mistake, said plainly */
    int32_t yc[N];
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, 1, x, yc, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "labels are regression targets; pass y_value"));
    mo_ds_close(ds);
}

static void test_dataset__read_range_checked(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    float x[2 * D];
    int32_t y[2];
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, good_file("range.h5"), MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, N - 1, 2, x, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "range.h5: rows 39..41 are outside 0..40"));
    CU_ASSERT_EQUAL(mo_ds_read(ds, -1, 1, x, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, -1, x, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_read(NULL, 0, 1, x, y, NULL, &err), MO_EINVAL);
    mo_ds_close(ds);
}

static void test_dataset__bad_arguments_are_errors(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    mo_ds_info_t info = {.n_rows = N, .n_features = D, .n_classes = K};
    const char *path = tmp_file("bad.h5");
    fill();
    CU_ASSERT_EQUAL(mo_ds_open(NULL, path, MPI_COMM_NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_open(&ds, NULL, MPI_COMM_NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_open(&ds, "", MPI_COMM_NULL, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_write(NULL, &info, X, Y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_write(path, NULL, X, Y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_write(path, &info, NULL, Y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_write(path, &info, X, NULL, YV, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "class id (y_class) labels are required"));
    info.n_rows = 0;
    CU_ASSERT_EQUAL(mo_ds_write(path, &info, X, Y, NULL, &err), MO_EINVAL);
    info.n_rows = N;
    info.n_classes = 0;
    CU_ASSERT_EQUAL(mo_ds_write(path, &info, X, Y, NULL, &err), MO_EINVAL);
    info.task = (mo_ds_task_t)7;
    CU_ASSERT_EQUAL(mo_ds_write(path, &info, X, Y, NULL, NULL), MO_EINVAL);
    CU_ASSERT_PTR_NULL(mo_ds_info(NULL));
    mo_ds_close(NULL);
    mo_ds_info_free(NULL);
    CU_ASSERT_EQUAL(files_in_tmpdir_starting("bad.h5"), 0);
}

static void test_dataset__shard_ranges_cover_every_row_once(void)
{
    int64_t b, c;
    for (int64_t n = 0; n <= 13; n++)
        for (int size = 1; size <= 5; size++) {
            int64_t next = 0;
            for (int r = 0; r < size; r++) {
                mo_ds_shard_range(n, r, size, &b, &c);
                CU_ASSERT_EQUAL(b, next);
                CU_ASSERT(c == n / size || c == n / size + 1);
                next = b + c;
            }
            CU_ASSERT_EQUAL(next, n);
        }
    mo_ds_shard_range(10, 0, 3, &b, &c); /* n % size ranks get one more, first */
    CU_ASSERT(b == 0 && c == 4);
    mo_ds_shard_range(10, 2, 3, &b, &c);
    CU_ASSERT(b == 7 && c == 3);
    mo_ds_shard_range(2, 2, 3, &b, &c); /* n < size: the last rank gets nothing */
    CU_ASSERT(b == 2 && c == 0);
    mo_ds_shard_range(7, 0, 1, &b, &c);
    CU_ASSERT(b == 0 && c == 7);
    mo_ds_shard_range(7, 3, 3, &b, &c); /* rank out of range: empty */
    CU_ASSERT(b == 0 && c == 0);
    mo_ds_shard_range(7, 0, 0, NULL, NULL);
}

static void test_dataset__missing_file_is_not_found(void)
{
    expect_open_error(tmp_file("nowhere.h5"), MO_ENOTFOUND, "nowhere.h5: no such file");
}

static void test_dataset__not_hdf5_is_format_error(void)
{
    const char *p = mo_test_write_file(mo_test_tmpdir(), "a.csv.h5", "a,b\n1,2\n");
    expect_open_error(p, MO_EFORMAT, "a.csv.h5: not an HDF5 file");
}

static void test_dataset__missing_x_and_y(void)
{
    const char *p = good_file("nox.h5");
    hid_t f = edit(p);
    H5Ldelete(f, "/X", H5P_DEFAULT);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "nox.h5: /X is missing");
    p = good_file("noy.h5");
    f = edit(p);
    H5Ldelete(f, "/y", H5P_DEFAULT);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "noy.h5: /y is missing");
}

static void test_dataset__x_rank_and_dtype(void)
{
    const char *p = good_file("x1d.h5");
    hid_t f = edit(p);
    replace_dataset(f, "/X", H5T_IEEE_F32LE, 1, N, 0);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "x1d.h5: /X must be 2-D, found 1-D");
    p = good_file("x64.h5");
    f = edit(p);
    replace_dataset(f, "/X", H5T_IEEE_F64LE, 2, N, D);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "x64.h5: /X is float64, expected float32");
}

static void test_dataset__y_rank_dtype_and_length(void)
{
    const char *p = good_file("y2d.h5");
    hid_t f = edit(p);
    replace_dataset(f, "/y", H5T_STD_I32LE, 2, N, 1);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "y2d.h5: /y must be 1-D, found 2-D");
    p = good_file("yf.h5");
    f = edit(p);
    replace_dataset(f, "/y", H5T_IEEE_F32LE, 1, N, 0);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "yf.h5: /y is float32, expected int32");
    p = good_file("yreg.h5");
    f = edit(p);
    mo_h5_attr_write_str(f, "task", "regression", NULL);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "yreg.h5: /y is int32, expected float32");
    p = good_file("ylen.h5");
    f = edit(p);
    replace_dataset(f, "/y", H5T_STD_I32LE, 1, N - 1, 0);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "ylen.h5: /y has 39 rows but /X has 40");
}

static void test_dataset__attributes_checked(void)
{
    const char *p = good_file("newer.h5");
    hid_t f = edit(p);
    mo_h5_attr_write_int(f, "format_version", MO_DS_FORMAT_VERSION + 1, NULL);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT,
                      "newer.h5: format_version 2 is not supported (this Maestro reads 1..1; "
                      "written by a newer Maestro)");
    p = good_file("kind.h5");
    f = edit(p);
    mo_h5_attr_write_str(f, "kind", "run", NULL);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "kind.h5: is a 'run' file, not a dataset");
    p = good_file("nokind.h5");
    f = edit(p);
    H5Adelete(f, "kind");
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "nokind.h5: root attribute 'kind' is missing");
    p = good_file("task.h5");
    f = edit(p);
    mo_h5_attr_write_str(f, "task", "ranking", NULL);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "task.h5: root attribute 'task' is 'ranking'");
    p = good_file("names.h5");
    f = edit(p);
    char *two[] = {"x", "y"};
    mo_h5_attr_write_strv(f, "class_names", two, 2, NULL);
    H5Fclose(f);
    expect_open_error(p, MO_EFORMAT, "names.h5: n_classes is 3 but there are 2 class_names");
}

static void test_dataset__nan_names_row_and_column(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    float x[N * D], bad = NAN;
    int32_t y[N];
    const char *p = good_file("nan.h5");
    hid_t f = edit(p), d = H5Dopen2(f, "/X", H5P_DEFAULT), fs = H5Dget_space(d);
    hsize_t start[2] = {17, 3}, one[2] = {1, 1};
    hid_t ms = H5Screate_simple(2, one, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
    H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &bad);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, p, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, N, x, y, NULL, &err), MO_EFORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s: /X has NaN at row 17, column 3", p);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    /* rows before the bad one read fine: values are checked per read */
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, 17, x, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 10, 10, x, y, NULL, &err), MO_EFORMAT);
    mo_ds_close(ds);
}

static void test_dataset__inf_and_bad_class_name_their_row(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    float x[N * D], inf = -INFINITY;
    int32_t y[N], seven = 7;
    const char *p = good_file("inf.h5");
    hid_t f = edit(p);
    hsize_t start[2] = {2, 0}, one[2] = {1, 1}, ystart[1] = {12};
    hid_t ms = H5Screate_simple(2, one, NULL), d = H5Dopen2(f, "/X", H5P_DEFAULT),
          fs = H5Dget_space(d);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
    H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &inf);
    H5Sclose(fs);
    H5Dclose(d);
    H5Sclose(ms);
    ms = H5Screate_simple(1, one, NULL);
    d = H5Dopen2(f, "/y", H5P_DEFAULT);
    fs = H5Dget_space(d);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, ystart, NULL, one, NULL);
    H5Dwrite(d, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, &seven);
    H5Sclose(fs);
    H5Dclose(d);
    H5Sclose(ms);
    H5Fclose(f);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, p, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, N, x, y, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inf.h5: /X has Inf at row 2, column 0"));
    CU_ASSERT_EQUAL(mo_ds_read(ds, 5, 20, x, y, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.msg, "inf.h5: /y has class id 7 at row 12, outside 0..2 (n_classes 3)"));
    mo_ds_close(ds);
}

static void test_dataset__write_refuses_bad_values_and_leaves_nothing(void)
{
    mo_error_t err = {0};
    mo_ds_info_t info = {
        .n_rows = N, .n_features = D, .task = MO_DS_CLASSIFICATION, .n_classes = K};
    const char *p = tmp_file("refuse.h5");
    fill();
    X[3 * D + 1] = NAN;
    CU_ASSERT_EQUAL(mo_ds_write(p, &info, X, Y, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refuse.h5: /X has NaN at row 3, column 1"));
    fill();
    Y[5] = -1;
    CU_ASSERT_EQUAL(mo_ds_write(p, &info, X, Y, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "class id -1 at row 5"));
    info.task = MO_DS_REGRESSION;
    fill();
    YV[9] = INFINITY;
    CU_ASSERT_EQUAL(mo_ds_write(p, &info, X, NULL, YV, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/y has Inf at row 9"));
    CU_ASSERT_EQUAL(files_in_tmpdir_starting("refuse.h5"), 0);
    /* a directory that does not exist: nothing half-written anywhere */
    fill();
    CU_ASSERT_EQUAL(mo_ds_write(tmp_file("no/such/dir.h5"), &info, X, NULL, YV, &err), MO_EIO);
}

static void test_dataset__write_replaces_old_file_atomically(void)
{
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    const char *p = good_file("replace.h5");
    mo_ds_info_t info = {.n_rows = 2, .n_features = 1, .task = MO_DS_REGRESSION};
    float x[2] = {1, 2}, y[2] = {3, 4};
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(p, &info, x, NULL, y, &err), 0);
    CU_ASSERT_EQUAL(files_in_tmpdir_starting("replace.h5"), 1); /* no temp left */
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, p, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_info(ds)->n_rows, 2);
    mo_ds_close(ds);
}

static void test_dataset__describe_reports_dataset_keys(void)
{
    mo_error_t err = {0};
    json_t *j = NULL;
    const char *p = good_file("desc.h5");
    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, p, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "kind")), "dataset");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "format_version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rows")), N);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "features")), D);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "n_classes")), K);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "task")), "classification");
    json_t *cn = json_object_get(j, "class_names"), *fn = json_object_get(j, "feature_names");
    CU_ASSERT_EQUAL(json_array_size(cn), K);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(cn, 2)), "eel");
    CU_ASSERT_EQUAL(json_array_size(fn), D);
    json_t *ds = json_object_get(j, "datasets");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ds), 2);
    char *first = json_dumps(json_array_get(ds, 0), JSON_SORT_KEYS | JSON_COMPACT);
    char *second = json_dumps(json_array_get(ds, 1), JSON_SORT_KEYS | JSON_COMPACT);
    CU_ASSERT_STRING_EQUAL(first, "{\"dtype\":\"float32\",\"name\":\"/X\",\"shape\":[40,5]}");
    CU_ASSERT_STRING_EQUAL(second, "{\"dtype\":\"int32\",\"name\":\"/y\",\"shape\":[40]}");
    json_t *attrs = json_object_get(j, "attributes");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(attrs, "task")), "classification");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(attrs, "class_names")), K);
    free(first);
    free(second);
    json_decref(j);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_dataset__classification_round_trip),
    MO_TEST(test_dataset__regression_round_trip_without_names),
    MO_TEST(test_dataset__read_range_checked),
    MO_TEST(test_dataset__bad_arguments_are_errors),
    MO_TEST(test_dataset__shard_ranges_cover_every_row_once),
    MO_TEST(test_dataset__missing_file_is_not_found),
    MO_TEST(test_dataset__not_hdf5_is_format_error),
    MO_TEST(test_dataset__missing_x_and_y),
    MO_TEST(test_dataset__x_rank_and_dtype),
    MO_TEST(test_dataset__y_rank_dtype_and_length),
    MO_TEST(test_dataset__attributes_checked),
    MO_TEST(test_dataset__nan_names_row_and_column),
    MO_TEST(test_dataset__inf_and_bad_class_name_their_row),
    MO_TEST(test_dataset__write_refuses_bad_values_and_leaves_nothing),
    MO_TEST(test_dataset__write_replaces_old_file_atomically),
    MO_TEST(test_dataset__describe_reports_dataset_keys),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/dataset", tests);
}
