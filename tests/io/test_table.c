/* test_table.c - the column reader (io/table.c, io/table_csv.c): CSV types and cells with
 * line:column, HDF5 tables, datasets read raw, row blocks, bad arguments (feature views:
 * tests/jobs/test_validate_checks.sh, which makes a store with kind: materialize) */
#include "io/table.h"

#include "io/synth.h"
#include "tests/unit.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_MSG(err, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_STRING_EQUAL((err).msg, want);                                                   \
        if (strcmp((err).msg, want))                                                               \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", (err).msg, want);                        \
    } while (0)

static const char *csv_text = "id,amount,when,note\r\n"
                              "a,1.5,2026-01-01T00:00:00Z,\"hello, world\"\r\n"
                              "b, ,2026-01-02T00:00:00Z,\r\n"
                              "\r\n"
                              "c,NaN,2026-01-03T00:00:00Z,\"multi\nline\"\r\n"
                              "d,-inf,x,  plain  \r\n";

static mo_table_t *open_ok(const char *path, const mo_table_opts_t *o)
{
    mo_table_t *t = NULL;
    mo_error_t err = {0};
    int rc = mo_table_open(&t, path, o, &err);
    if (rc)
        fprintf(stderr, "\n  open: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return t;
}

/* Opening (then scanning) `text` as name (NULL: no such file) fails with code and
 * "<tmpdir>/<want>". */
static void expect_error(const char *name, const char *text, int code, const char *want)
{
    char full[600];
    mo_table_t *t = NULL;
    mo_error_t err = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/%s", mo_test_tmpdir(), name);
    const char *path = text ? mo_test_write_file(mo_test_tmpdir(), name, text) : missing;
    snprintf(full, sizeof full, "%s/%s", mo_test_tmpdir(), want);
    int rc = mo_table_open(&t, path, NULL, &err);
    if (!rc)
        rc = mo_table_scan(t, &err);
    CU_ASSERT_EQUAL(rc, code);
    ASSERT_MSG(err, full);
    mo_table_close(t);
}

static void test_table__csv_header_then_scan_gives_rows_and_types(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "t.csv", csv_text);
    mo_table_t *t = open_ok(path, NULL);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_table_format(t), MO_TABLE_TABLE);
    CU_ASSERT_STRING_EQUAL(mo_table_source(t), "CSV table");
    CU_ASSERT_EQUAL(mo_table_ncols(t), 4);
    CU_ASSERT_EQUAL(mo_table_rows(t), -1); /* the header only, until the scan */
    CU_ASSERT_EQUAL(mo_table_col(t, 1)->type, MO_TABLE_UNKNOWN);
    CU_ASSERT_EQUAL(mo_table_find(t, "note"), 3);
    CU_ASSERT_EQUAL(mo_table_find(t, "Note"), -1);
    CU_ASSERT_EQUAL(mo_table_scan(t, &err), 0);
    CU_ASSERT_EQUAL(mo_table_rows(t), 4); /* the blank line is not a row */
    CU_ASSERT_EQUAL(mo_table_col(t, 0)->type, MO_TABLE_TEXT);
    CU_ASSERT_STRING_EQUAL(mo_table_col(t, 0)->first_text + strlen(mo_test_tmpdir()) + 1,
                           "t.csv:2:1 'a'");
    CU_ASSERT_EQUAL(mo_table_col(t, 1)->type, MO_TABLE_NUMBER);
    CU_ASSERT_EQUAL(mo_table_col(t, 1)->filled, 3); /* " " is empty once trimmed */
    CU_ASSERT_EQUAL(mo_table_col(t, 2)->type, MO_TABLE_TEXT);
    CU_ASSERT_EQUAL(mo_table_col(t, 3)->filled, 3);
    CU_ASSERT_PTR_NULL(mo_table_col(t, 4));
    CU_ASSERT_PTR_NULL(mo_table_ds_info(t));
    mo_table_close(t);
}

static void test_table__csv_cells_missing_values_and_lines(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "t.csv", csv_text);
    mo_table_t *t = open_ok(path, NULL);
    mo_table_block_t b;
    mo_error_t err = {0};
    size_t cols[] = {1, 3, 0};
    char where[600], want[600];
    CU_ASSERT_EQUAL_FATAL(mo_table_read(&b, t, cols, 3, 0, 4, &err), 0);
    CU_ASSERT_EQUAL(b.n, 4);
    CU_ASSERT_DOUBLE_EQUAL(b.vecs[0].num[0], 1.5, 0);
    CU_ASSERT(isnan(b.vecs[0].num[1]) && isnan(b.vecs[0].num[2]));
    CU_ASSERT(isinf(b.vecs[0].num[3]) && b.vecs[0].num[3] < 0);
    CU_ASSERT_STRING_EQUAL(b.vecs[1].text[0], "hello, world");
    CU_ASSERT_STRING_EQUAL(b.vecs[1].text[1], ""); /* a missing text */
    CU_ASSERT_STRING_EQUAL(b.vecs[1].text[2], "multi\nline");
    CU_ASSERT_STRING_EQUAL(b.vecs[1].text[3], "plain"); /* unquoted: trimmed */
    CU_ASSERT_STRING_EQUAL(b.vecs[2].text[3], "d");
    CU_ASSERT_EQUAL(b.line[0], 2);
    CU_ASSERT_EQUAL(b.line[2], 5);
    CU_ASSERT_EQUAL(b.line[3], 7); /* after a quoted line break */
    snprintf(want, sizeof want, "%s:7:2", path);
    CU_ASSERT_STRING_EQUAL(mo_table_where(t, &b, 3, 0, where, sizeof where), want);
    mo_table_block_free(&b);
    /* A block in the middle reads only its rows. */
    CU_ASSERT_EQUAL_FATAL(mo_table_read(&b, t, cols, 1, 1, 2, &err), 0);
    CU_ASSERT_EQUAL(b.first, 1);
    CU_ASSERT(isnan(b.vecs[0].num[0]) && isnan(b.vecs[0].num[1]));
    CU_ASSERT_EQUAL(b.line[1], 5);
    mo_table_block_free(&b);
    CU_ASSERT_EQUAL_FATAL(mo_table_read(&b, t, cols, 2, 4, 0, &err), 0);
    CU_ASSERT_EQUAL(b.n, 0);
    mo_table_block_free(&b);
    mo_table_close(t);
}

static void test_table__csv_errors_say_file_line_column(void)
{
    expect_error("short.csv", "a,b,c\n1,2,3\n4,5\n", MO_EFORMAT,
                 "short.csv:3:3: row has 2 fields, header has 3");
    expect_error("long.csv", "a,b\n1,2\n3,4,5\n", MO_EFORMAT,
                 "long.csv:3:3: row has 3 fields, header has 2");
    expect_error("dup.csv", "a,b,a\n1,2,3\n", MO_EFORMAT,
                 "dup.csv:1:3: duplicate column name 'a' (also column 1)");
    expect_error("noname.csv", "a,,c\n1,2,3\n", MO_EFORMAT,
                 "noname.csv:1:2: column 2 has an empty name");
    expect_error("numbers.csv", "1,2\n3,4\n", MO_EFORMAT,
                 "numbers.csv:1:1: missing header row: the first row holds only numbers; the "
                 "first row must name the columns");
    expect_error("empty.csv", "", MO_EFORMAT,
                 "empty.csv:1:1: empty file; a header row naming the columns is required");
    expect_error("open.csv", "a,b\n1,\"2\n3,4\n", MO_EFORMAT,
                 "open.csv:2:2: quoted field is never closed");
    expect_error("quote.csv", "a,b\n1,x\"y\n", MO_EFORMAT,
                 "quote.csv:2:2: malformed quoting (error parsing data while strict checking "
                 "enabled): a quote inside an unquoted field, or text after a closing quote");
    expect_error("junk.h5", "not hdf5\n", MO_EFORMAT, "junk.h5: not an HDF5 file");
    expect_error("nowhere.csv.missing/x.csv", NULL, MO_ENOTFOUND,
                 "nowhere.csv.missing/x.csv: no such file");
}

static void test_table__header_only_table_has_no_rows(void)
{
    const char *path = mo_test_write_file(mo_test_tmpdir(), "head.csv", "a,b\n");
    mo_table_t *t = open_ok(path, NULL);
    mo_table_block_t b;
    mo_error_t err = {0};
    size_t col = 0;
    CU_ASSERT_EQUAL(mo_table_read(&b, t, &col, 1, 0, 0, &err), 0);
    CU_ASSERT_EQUAL(mo_table_rows(t), 0);
    CU_ASSERT_EQUAL(mo_table_col(t, 0)->filled, 0);
    mo_table_block_free(&b);
    mo_table_close(t);
}

/* /a float64, /b int32, /s variable strings, /f fixed strings (space-padded), /m 2-D, /g. */
static const char *write_h5(const char *name, hsize_t b_rows)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 3, dims2[2] = {3, 2};
    hid_t s1 = H5Screate_simple(1, &n, NULL), sb = H5Screate_simple(1, &b_rows, NULL);
    hid_t s2 = H5Screate_simple(2, dims2, NULL);
    double a[3] = {1, NAN, 3}, m[6] = {0};
    int32_t bv[4] = {7, 8, 9, 10};
    const char *s[3] = {"x", "", "zz"};
    char fixed[3][4] = {{'a', 'b', ' ', ' '}, {'c', ' ', ' ', ' '}, {'d', 'e', 'f', 'g'}};
    hid_t vstr = H5Tcopy(H5T_C_S1), fstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr, H5T_VARIABLE);
    H5Tset_size(fstr, 4);
    H5Tset_strpad(fstr, H5T_STR_SPACEPAD);
    hid_t d = H5Dcreate2(f, "a", H5T_IEEE_F64LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a);
    H5Dclose(d);
    d = H5Dcreate2(f, "b", H5T_STD_I32LE, sb, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bv);
    H5Dclose(d);
    d = H5Dcreate2(f, "s", vstr, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, vstr, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
    H5Dclose(d);
    d = H5Dcreate2(f, "f", fstr, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, fstr, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed);
    H5Dclose(d);
    d = H5Dcreate2(f, "m", H5T_IEEE_F64LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
    H5Dclose(d);
    H5Gclose(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Tclose(vstr);
    H5Tclose(fstr);
    H5Sclose(s1);
    H5Sclose(sb);
    H5Sclose(s2);
    H5Fclose(f);
    return path;
}

static void test_table__hdf5_root_columns(void)
{
    const char *path = write_h5("t.h5", 3);
    mo_table_t *t = open_ok(path, NULL);
    mo_table_block_t b;
    mo_error_t err = {0};
    char where[600], want[600];
    CU_ASSERT_STRING_EQUAL(mo_table_source(t), "HDF5 table");
    CU_ASSERT_EQUAL(mo_table_ncols(t), 4); /* a, b, f, s: not the 2-D /m nor the group */
    CU_ASSERT_EQUAL(mo_table_rows(t), 3);
    CU_ASSERT_STRING_EQUAL(mo_table_col(t, 0)->name, "a");
    CU_ASSERT_EQUAL(mo_table_col(t, 1)->type, MO_TABLE_NUMBER);
    CU_ASSERT_STRING_EQUAL(mo_table_col(t, 1)->dtype, "int32");
    CU_ASSERT_EQUAL(mo_table_col(t, 2)->type, MO_TABLE_TEXT);
    CU_ASSERT_EQUAL(mo_table_col(t, 3)->type, MO_TABLE_TEXT);
    size_t cols[] = {0, 1, 2, 3};
    CU_ASSERT_EQUAL_FATAL(mo_table_read(&b, t, cols, 4, 1, 2, &err), 0);
    CU_ASSERT(isnan(b.vecs[0].num[0]));
    CU_ASSERT_DOUBLE_EQUAL(b.vecs[0].num[1], 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(b.vecs[1].num[1], 9, 0);
    CU_ASSERT_STRING_EQUAL(b.vecs[2].text[0], "c"); /* space padding cut */
    CU_ASSERT_STRING_EQUAL(b.vecs[2].text[1], "defg");
    CU_ASSERT_STRING_EQUAL(b.vecs[3].text[0], "");
    CU_ASSERT_STRING_EQUAL(b.vecs[3].text[1], "zz");
    CU_ASSERT_PTR_NULL(b.line);
    snprintf(want, sizeof want, "%s: /s row 2", path);
    CU_ASSERT_STRING_EQUAL(mo_table_where(t, &b, 1, 3, where, sizeof where), want);
    mo_table_block_free(&b);
    mo_table_close(t);
    path = write_h5("ragged.h5", 4);
    mo_table_t *bad = (mo_table_t *)1;
    CU_ASSERT_EQUAL(mo_table_open(&bad, path, NULL, &err), MO_EFORMAT);
    CU_ASSERT_PTR_NULL(bad);
    snprintf(want, sizeof want, "%s: /b has 4 rows but /a has 3", path);
    ASSERT_MSG(err, want);
}

static void test_table__dataset_reads_features_and_label_raw(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/d.h5", mo_test_tmpdir());
    mo_synth_opts_t o = {
        .rows = 25, .features = 3, .classes = 2, .seed = 5, .task = MO_DS_CLASSIFICATION};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(path, &o, &err), 0);
    mo_table_t *t = open_ok(path, NULL);
    CU_ASSERT_EQUAL(mo_table_format(t), MO_TABLE_DATASET);
    CU_ASSERT_EQUAL(mo_table_ncols(t), 4);
    CU_ASSERT_STRING_EQUAL(mo_table_col(t, 3)->name, "label");
    CU_ASSERT_EQUAL(mo_table_rows(t), 25);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mo_table_ds_info(t));
    /* The same values as the dataset reader gives. */
    mo_ds_t *ds = NULL;
    float X[25 * 3];
    int32_t y[25];
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_read(ds, 0, 25, X, y, NULL, &err), 0);
    mo_ds_close(ds);
    mo_table_block_t b;
    size_t cols[] = {2, 3};
    CU_ASSERT_EQUAL_FATAL(mo_table_read(&b, t, cols, 2, 10, 15, &err), 0);
    for (int i = 0; i < 15; i++) {
        CU_ASSERT_DOUBLE_EQUAL(b.vecs[0].num[i], X[(10 + i) * 3 + 2], 0);
        CU_ASSERT_DOUBLE_EQUAL(b.vecs[1].num[i], y[10 + i], 0);
    }
    char where[600], want[700];
    snprintf(want, sizeof want, "%s: /X row 11 column 2", path);
    CU_ASSERT_STRING_EQUAL(mo_table_where(t, &b, 1, 0, where, sizeof where), want);
    mo_table_block_free(&b);
    mo_table_close(t);
    /* As a table, a dataset file is its 1-D root datasets: /y. */
    mo_table_opts_t as_table = {.format = MO_TABLE_TABLE};
    t = open_ok(path, &as_table);
    CU_ASSERT_EQUAL(mo_table_ncols(t), 1);
    CU_ASSERT_STRING_EQUAL(mo_table_col(t, 0)->name, "y");
    mo_table_close(t);
}

static void test_table__bad_arguments(void)
{
    mo_table_t *t = (mo_table_t *)1;
    mo_table_block_t b;
    mo_error_t err = {0};
    size_t col = 0;
    CU_ASSERT_EQUAL(mo_table_open(NULL, "x.csv", NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_table_open(&t, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(mo_table_open(&t, "", NULL, &err), MO_EINVAL);
    mo_table_opts_t o = {.format = (mo_table_format_t)9};
    CU_ASSERT_EQUAL(mo_table_open(&t, "x.csv", &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_table_scan(NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_table_read(NULL, NULL, NULL, 0, 0, 0, &err), MO_EINVAL);
    const char *path = mo_test_write_file(mo_test_tmpdir(), "t.csv", csv_text);
    t = open_ok(path, NULL);
    CU_ASSERT_EQUAL(mo_table_read(&b, t, NULL, 1, 0, 1, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_table_read(&b, t, &col, 1, 3, 2, &err), MO_EINVAL);
    mo_table_block_free(&b);
    col = 9;
    CU_ASSERT_EQUAL(mo_table_read(&b, t, &col, 1, 0, 1, &err), MO_EINVAL);
    mo_table_block_free(&b);
    size_t twice[] = {1, 1};
    CU_ASSERT_EQUAL(mo_table_read(&b, t, twice, 2, 0, 1, &err), MO_EINVAL);
    CU_ASSERT_STRING_EQUAL(strrchr(err.msg, ':'), ": column 'amount' asked for twice");
    mo_table_block_free(&b);
    char where[64];
    CU_ASSERT_STRING_EQUAL(mo_table_where(NULL, NULL, 0, 0, where, sizeof where), "?");
    CU_ASSERT_STRING_EQUAL(mo_table_where(t, NULL, 0, 0, where, sizeof where), path);
    mo_table_block_free(NULL);
    mo_table_close(t);
    mo_table_close(NULL);
    CU_ASSERT_EQUAL(mo_table_rows(NULL), -1);
    CU_ASSERT_EQUAL(mo_table_find(NULL, "a"), -1);
    CU_ASSERT_STRING_EQUAL(mo_table_format_names[MO_TABLE_VIEW], "feature_view");
}

static CU_TestInfo tests[] = {
    MO_TEST(test_table__csv_header_then_scan_gives_rows_and_types),
    MO_TEST(test_table__csv_cells_missing_values_and_lines),
    MO_TEST(test_table__csv_errors_say_file_line_column),
    MO_TEST(test_table__header_only_table_has_no_rows),
    MO_TEST(test_table__hdf5_root_columns),
    MO_TEST(test_table__dataset_reads_features_and_label_raw),
    MO_TEST(test_table__bad_arguments),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/table", tests);
}
