/* test_h5.c - atomic HDF5 files, attributes, row-wise datasets, inspect JSON */
#include "io/h5.h"
#include "io/io_impl.h"

#include "core/str.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tmp_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    return path;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* 1 when a `<path>.tmp.*` file is left in the test directory. */
static int temp_left(const char *base)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp.%ld", mo_test_tmpdir(), base, (long)getpid());
    return exists(tmp);
}

static void test_h5__commit_renames_temp_into_place(void)
{
    mo_error_t err = {0};
    hid_t f;
    char *tmp;
    const char *path = tmp_file("commit.h5");
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_TRUE(mo_str_startswith(tmp, path) && strstr(tmp, ".tmp.") != NULL);
    CU_ASSERT_FALSE(exists(path));
    CU_ASSERT_TRUE(exists(tmp));
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "kind", "test", &err), 0);
    CU_ASSERT_EQUAL(mo_h5_commit(&f, &tmp, path, &err), 0);
    CU_ASSERT_PTR_NULL(tmp);
    CU_ASSERT(f < 0);
    CU_ASSERT_TRUE(exists(path));
    CU_ASSERT_FALSE(temp_left("commit.h5"));
    /* abort after commit is a no-op */
    mo_h5_abort(&f, &tmp);
    CU_ASSERT_TRUE(exists(path));
}

static void test_h5__abort_removes_temp_and_keeps_old_file(void)
{
    mo_error_t err = {0};
    hid_t f;
    char *tmp;
    const char *path = tmp_file("abort.h5");
    mo_test_write_file(mo_test_tmpdir(), "abort.h5", "old");
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    mo_h5_abort(&f, &tmp);
    CU_ASSERT_PTR_NULL(tmp);
    CU_ASSERT_FALSE(temp_left("abort.h5"));
    FILE *fp = fopen(path, "r");
    char buf[8] = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof buf, fp));
    fclose(fp);
    CU_ASSERT_STRING_EQUAL(buf, "old");
}

static void test_h5__create_in_missing_directory_names_path(void)
{
    mo_error_t err = {0};
    hid_t f = 1;
    char *tmp = (char *)"x";
    const char *path = tmp_file("nodir/a.h5");
    CU_ASSERT_EQUAL(mo_h5_create_tmp(&f, &tmp, path, &err), MO_EIO);
    CU_ASSERT(f < 0);
    CU_ASSERT_PTR_NULL(tmp);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nodir/a.h5: cannot create"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
}

static void test_h5__bad_arguments_are_errors(void)
{
    mo_error_t err = {0};
    hid_t f;
    char *tmp = NULL;
    json_t *j = NULL;
    CU_ASSERT_EQUAL(mo_h5_create_tmp(NULL, &tmp, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_create_tmp(&f, &tmp, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_create_tmp(&f, &tmp, "", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_commit(&f, &tmp, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_commit(NULL, NULL, "a", &err), MO_EINVAL);
    mo_h5_abort(NULL, NULL);
    CU_ASSERT_EQUAL(mo_h5_open(&f, NULL, H5P_DEFAULT, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_describe(NULL, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_describe(&j, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_read_str(NULL, 0, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(0, "a", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_write_strv(0, "a", NULL, 0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_dataset_create(&f, 0, "X", H5T_NATIVE_FLOAT, 3, NULL, &err), MO_EINVAL);
    int64_t i;
    double d;
    char **v;
    size_t n;
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(NULL, 0, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_read_double(NULL, 0, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_read_strv(NULL, &n, 0, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_read_strv(&v, NULL, 0, "a", &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(&i, H5I_INVALID_HID, "a", &err), MO_EIO);
    CU_ASSERT_EQUAL(mo_h5_attr_read_double(&d, 0, NULL, &err), MO_EINVAL);
    CU_ASSERT(mo_h5_attr_exists(0, NULL) < 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(H5I_INVALID_HID, "a", 1, &err), MO_EIO);
    CU_ASSERT_EQUAL(mo_h5_attr_write_double(0, NULL, 1.0, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_write_rows(H5I_INVALID_HID, H5T_NATIVE_FLOAT, 0, 1, &d, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_h5_read_rows(H5I_INVALID_HID, H5T_NATIVE_FLOAT, 0, 1, &d, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_layout_create(NULL, NULL, 0, NULL, &err), MO_EINVAL);
    mo_ds_describe(NULL, 0);
    mo_h5_strv_free(NULL, 3);
}

static void test_h5__open_missing_and_not_hdf5(void)
{
    mo_error_t err = {0};
    hid_t f;
    const char *path = tmp_file("missing.h5");
    CU_ASSERT_EQUAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing.h5: no such file"));
    path = mo_test_write_file(mo_test_tmpdir(), "text.h5", "hello\n");
    CU_ASSERT_EQUAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "text.h5: not an HDF5 file"));
    CU_ASSERT_EQUAL(mo_h5_open(&f, mo_test_tmpdir(), H5P_DEFAULT, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is a directory"));
}

/* A file with attributes of every kind, committed; returns it open read-only. */
static hid_t attr_file(const char *name)
{
    mo_error_t err = {0};
    hid_t f;
    char *tmp;
    char *names[] = {"alpha", "beta", "", "δέλτα"};
    const char *path = tmp_file(name);
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "kind", "first", &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "kind", "run", &err), 0); /* replaces */
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", 3, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "big", INT64_MIN, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_double(f, "lr", 0.125, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_strv(f, "names", names, 4, &err), 0);
    /* a fixed-length, space-padded string as Fortran tools write it */
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, 8);
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
    hid_t a = H5Acreate2(f, "fixed", t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, "abc     ");
    H5Aclose(a);
    H5Tclose(t);
    H5Sclose(s);
    CU_ASSERT_EQUAL_FATAL(mo_h5_commit(&f, &tmp, path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), 0);
    return f;
}

static void test_h5__attributes_round_trip(void)
{
    mo_error_t err = {0};
    hid_t f = attr_file("attrs.h5");
    char *s = NULL, **v = NULL;
    int64_t i = 0;
    double d = 0;
    size_t n = 0;
    CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, "kind", &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "run");
    free(s);
    CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, "fixed", &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    free(s);
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(&i, f, "format_version", &err), 0);
    CU_ASSERT_EQUAL(i, 3);
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(&i, f, "big", &err), 0);
    CU_ASSERT_EQUAL(i, INT64_MIN);
    CU_ASSERT_EQUAL(mo_h5_attr_read_double(&d, f, "lr", &err), 0);
    CU_ASSERT_EQUAL(d, 0.125);
    CU_ASSERT_EQUAL(mo_h5_attr_read_double(&d, f, "format_version", &err), 0);
    CU_ASSERT_EQUAL(d, 3.0);
    CU_ASSERT_EQUAL(mo_h5_attr_read_strv(&v, &n, f, "names", &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(v[0], "alpha");
    CU_ASSERT_STRING_EQUAL(v[2], "");
    CU_ASSERT_STRING_EQUAL(v[3], "δέλτα");
    mo_h5_strv_free(v, n);
    CU_ASSERT_EQUAL(mo_h5_attr_exists(f, "names"), 1);
    CU_ASSERT_EQUAL(mo_h5_attr_exists(f, "nope"), 0);
    H5Fclose(f);
}

static void test_h5__attribute_errors_name_file_and_attribute(void)
{
    mo_error_t err = {0};
    hid_t f = attr_file("attrerr.h5");
    char *s = NULL, **v = NULL;
    int64_t i = 0;
    size_t n = 0;
    CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, "task", &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "attrerr.h5: root attribute 'task' is missing"));
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(&i, f, "kind", &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.msg, "root attribute 'kind': expected one integer, found string"));
    CU_ASSERT_EQUAL(mo_h5_attr_read_int(&i, f, "lr", &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "found float64"));
    CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, "names", &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected one string, found string[4]"));
    CU_ASSERT_EQUAL(mo_h5_attr_read_strv(&v, &n, f, "lr", &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected a list of strings, found float64"));
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_PTR_NULL(s);
    H5Fclose(f);
}

static void test_h5__many_strings_fit_in_an_attribute(void)
{
    /* Past 64 KiB an attribute needs dense storage; 20,000 names are ~320 KiB of heap ids. */
    enum { N = 20000 };
    mo_error_t err = {0};
    hid_t f;
    char *tmp, **names = calloc(N, sizeof *names), **back = NULL;
    size_t n = 0;
    const char *path = tmp_file("many.h5");
    for (int i = 0; i < N; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "feature_%d", i);
    }
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_strv(f, "names", names, N, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_commit(&f, &tmp, path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_read_strv(&back, &n, f, "names", &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, N);
    CU_ASSERT_STRING_EQUAL(back[N - 1], "feature_19999");
    mo_h5_strv_free(back, n);
    mo_h5_strv_free(names, N);
    H5Fclose(f);
}

static void test_h5__rows_round_trip_and_range_checked(void)
{
    mo_error_t err = {0};
    hid_t f, d;
    char *tmp;
    int64_t dims[2] = {1000, 3};
    float buf[3000], back[30];
    for (int i = 0; i < 3000; i++)
        buf[i] = (float)i;
    const char *path = tmp_file("rows.h5");
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_dataset_create(&d, f, "X", H5T_IEEE_F32LE, 2, dims, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_write_rows(d, H5T_NATIVE_FLOAT, 0, 400, buf, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_write_rows(d, H5T_NATIVE_FLOAT, 400, 600, buf + 1200, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_write_rows(d, H5T_NATIVE_FLOAT, 990, 11, buf, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rows.h5.tmp."));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/X: rows 990..1001 are outside 0..1000"));
    CU_ASSERT_EQUAL(mo_h5_read_rows(d, H5T_NATIVE_FLOAT, 395, 10, back, &err), 0);
    CU_ASSERT_EQUAL(back[0], 1185.0f);
    CU_ASSERT_EQUAL(back[29], 1214.0f);
    CU_ASSERT_EQUAL(mo_h5_read_rows(d, H5T_NATIVE_FLOAT, 5, 0, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_read_rows(d, H5T_NATIVE_FLOAT, -1, 2, back, &err), MO_EINVAL);
    H5Dclose(d);
    CU_ASSERT_EQUAL(mo_h5_commit(&f, &tmp, path, &err), 0);
}

static void test_h5__dtype_names(void)
{
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_NATIVE_FLOAT), "float32");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_IEEE_F64BE), "float64");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_STD_I32LE), "int32");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_STD_U8LE), "uint8");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_NATIVE_INT64), "int64");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5T_C_S1), "string");
    CU_ASSERT_STRING_EQUAL(mo_h5_dtype_name(H5I_INVALID_HID), "unknown");
}

static void test_h5__describe_lists_groups_sorted_with_full_names(void)
{
    mo_error_t err = {0};
    hid_t f, d, g;
    char *tmp;
    json_t *j = NULL;
    int64_t dims1[1] = {5}, dims2[2] = {2, 3};
    const char *path = tmp_file("generic.h5");
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, path, &err), 0);
    g = H5Gcreate2(f, "/zeta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_EQUAL(mo_h5_dataset_create(&d, g, "w", H5T_IEEE_F64LE, 2, dims2, &err), 0);
    H5Dclose(d);
    H5Gclose(g);
    CU_ASSERT_EQUAL(mo_h5_dataset_create(&d, f, "alpha", H5T_STD_I64LE, 1, dims1, &err), 0);
    H5Dclose(d);
    CU_ASSERT_EQUAL(mo_h5_attr_write_double(f, "loss", 0.5, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_commit(&f, &tmp, path, &err), 0);

    CU_ASSERT_EQUAL_FATAL(mo_h5_describe(&j, path, &err), 0);
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"attributes\":{\"loss\":0.5},\"datasets\":["
             "{\"dtype\":\"int64\",\"name\":\"/alpha\",\"shape\":[5]},"
             "{\"dtype\":\"float64\",\"name\":\"/zeta/w\",\"shape\":[2,3]}],"
             "\"format_version\":null,\"kind\":\"unknown\",\"path\":\"%s\"}",
             path);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
    json_decref(j);
}

static void test_h5__describe_errors(void)
{
    mo_error_t err = {0};
    json_t *j = (json_t *)1;
    CU_ASSERT_EQUAL(mo_h5_describe(&j, tmp_file("nope.h5"), &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(j);
    const char *path = mo_test_write_file(mo_test_tmpdir(), "notes.txt", "x,y\n");
    CU_ASSERT_EQUAL(mo_h5_describe(&j, path, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "notes.txt: not an HDF5 file"));
}

static CU_TestInfo tests[] = {
    MO_TEST(test_h5__commit_renames_temp_into_place),
    MO_TEST(test_h5__abort_removes_temp_and_keeps_old_file),
    MO_TEST(test_h5__create_in_missing_directory_names_path),
    MO_TEST(test_h5__bad_arguments_are_errors),
    MO_TEST(test_h5__open_missing_and_not_hdf5),
    MO_TEST(test_h5__attributes_round_trip),
    MO_TEST(test_h5__attribute_errors_name_file_and_attribute),
    MO_TEST(test_h5__many_strings_fit_in_an_attribute),
    MO_TEST(test_h5__rows_round_trip_and_range_checked),
    MO_TEST(test_h5__dtype_names),
    MO_TEST(test_h5__describe_lists_groups_sorted_with_full_names),
    MO_TEST(test_h5__describe_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/h5", tests);
}
