/* test_csv.c - CSV import: label rules, RFC 4180 quoting, line:column errors, atomic output */
#include "io/csv.h"

#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mo_csv_opts_t opts(const char *label)
{
    mo_csv_opts_t o = {.label = label, .task = MO_CSV_TASK_AUTO};
    return o;
}

/* Parse `text` (written to tmpdir/name) with label column `label`; NULL on error. */
static mo_csv_data_t *parse(const char *name, const char *text, mo_csv_opts_t o)
{
    mo_error_t err = {0};
    mo_csv_data_t *d = NULL;
    const char *path = mo_test_write_file(mo_test_tmpdir(), name, text);
    int rc = mo_csv_read(&d, path, &o, &err);
    if (rc)
        fprintf(stderr, "\n  unexpected error: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    return d;
}

/* Parsing must fail with `code` and exactly `want` after the "<tmpdir>/" prefix. */
static void expect_error(const char *name, const char *text, mo_csv_opts_t o, int code,
                         const char *want)
{
    mo_error_t err = {0};
    mo_csv_data_t *d = (mo_csv_data_t *)1;
    const char *path = mo_test_write_file(mo_test_tmpdir(), name, text);
    CU_ASSERT_EQUAL(mo_csv_read(&d, path, &o, &err), code);
    CU_ASSERT_PTR_NULL(d);
    size_t skip = strlen(mo_test_tmpdir()) + 1;
    const char *msg = strlen(err.msg) > skip ? err.msg + skip : err.msg;
    if (strcmp(msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", msg, want);
    CU_ASSERT_STRING_EQUAL(msg, want);
}

static void test_csv__string_labels_become_sorted_classes(void)
{
    mo_csv_data_t *d = parse("s.csv",
                             "x1,x2,species\n1,2,setosa\n3,4,versicolor\n5,6,setosa\n"
                             "7,8,Arctic\n",
                             opts("species"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.task, MO_DS_CLASSIFICATION);
    CU_ASSERT_EQUAL(d->info.n_rows, 4);
    CU_ASSERT_EQUAL(d->info.n_features, 2);
    CU_ASSERT_EQUAL_FATAL(d->info.n_classes, 3);
    CU_ASSERT_STRING_EQUAL(d->info.class_names[0], "Arctic"); /* byte order */
    CU_ASSERT_STRING_EQUAL(d->info.class_names[1], "setosa");
    CU_ASSERT_STRING_EQUAL(d->info.class_names[2], "versicolor");
    CU_ASSERT_EQUAL(d->y_class[0], 1);
    CU_ASSERT_EQUAL(d->y_class[1], 2);
    CU_ASSERT_EQUAL(d->y_class[3], 0);
    CU_ASSERT_STRING_EQUAL(d->info.feature_names[1], "x2");
    CU_ASSERT_EQUAL(d->X[7], 8.0f);
    CU_ASSERT_PTR_NULL(d->y_value);
    mo_csv_data_free(d);
}

static void test_csv__integer_labels_in_numeric_order(void)
{
    /* label column first: features are the others, in order */
    mo_csv_data_t *d = parse("i.csv", "y,a\n10,0.5\n2,1e3\n-1,-2\n2,7\n", opts("y"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.task, MO_DS_CLASSIFICATION);
    CU_ASSERT_EQUAL_FATAL(d->info.n_classes, 3);
    CU_ASSERT_STRING_EQUAL(d->info.class_names[0], "-1");
    CU_ASSERT_STRING_EQUAL(d->info.class_names[1], "2");
    CU_ASSERT_STRING_EQUAL(d->info.class_names[2], "10");
    CU_ASSERT_EQUAL(d->y_class[0], 2);
    CU_ASSERT_EQUAL(d->y_class[1], 1);
    CU_ASSERT_EQUAL(d->y_class[2], 0);
    CU_ASSERT_EQUAL(d->info.n_features, 1);
    CU_ASSERT_STRING_EQUAL(d->info.feature_names[0], "a");
    CU_ASSERT_EQUAL(d->X[1], 1000.0f);
    mo_csv_data_free(d);
}

static void test_csv__fractional_labels_are_regression(void)
{
    mo_csv_data_t *d = parse("r.csv", "a,b,price\n1,2,3\n4,5,6.5\n", opts("price"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.task, MO_DS_REGRESSION);
    CU_ASSERT_EQUAL(d->info.n_classes, 0);
    CU_ASSERT_PTR_NULL(d->info.class_names);
    CU_ASSERT_PTR_NULL(d->y_class);
    CU_ASSERT_EQUAL(d->y_value[0], 3.0f);
    CU_ASSERT_EQUAL(d->y_value[1], 6.5f);
    mo_csv_data_free(d);
}

static void test_csv__task_option_overrides(void)
{
    mo_csv_opts_t o = opts("t");
    o.task = MO_CSV_TASK_REGRESSION; /* integer labels as targets */
    mo_csv_data_t *d = parse("ov.csv", "a,t\n1,3\n2,1\n", o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.task, MO_DS_REGRESSION);
    CU_ASSERT_EQUAL(d->y_value[0], 3.0f);
    mo_csv_data_free(d);
    o.task = MO_CSV_TASK_CLASSIFICATION; /* fractional labels as classes, numeric order */
    d = parse("ov2.csv", "a,t\n1,10.5\n2,9.25\n3,10.5\n", o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.task, MO_DS_CLASSIFICATION);
    CU_ASSERT_EQUAL_FATAL(d->info.n_classes, 2);
    CU_ASSERT_STRING_EQUAL(d->info.class_names[0], "9.25");
    CU_ASSERT_EQUAL(d->y_class[0], 1);
    CU_ASSERT_EQUAL(d->y_class[2], 1);
    mo_csv_data_free(d);
    o.task = MO_CSV_TASK_REGRESSION;
    expect_error("ov3.csv", "a,t\n1,2\n2,high\n", o, MO_EFORMAT,
                 "ov3.csv:3:2: label 'high' in column 't' is not a finite number (task is "
                 "regression)");
}

static void test_csv__rfc4180_quoting(void)
{
    const char *text = "\xEF\xBB\xBF"
                       "\"x, first\",\"say \"\"hi\"\"\",label\r\n"
                       "1,2,\"a,b\"\r\n"
                       "\r\n"
                       "  3 , \" 4 \",\"line\r\nbreak\"\r\n"
                       "5,6,\"\"\"quoted\"\"\"";
    mo_csv_data_t *d = parse("q.csv", text, opts("label"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.n_rows, 3);
    CU_ASSERT_STRING_EQUAL(d->info.feature_names[0], "x, first");
    CU_ASSERT_STRING_EQUAL(d->info.feature_names[1], "say \"hi\"");
    CU_ASSERT_EQUAL_FATAL(d->info.n_classes, 3);
    CU_ASSERT_STRING_EQUAL(d->info.class_names[0], "\"quoted\"");
    CU_ASSERT_STRING_EQUAL(d->info.class_names[1], "a,b");
    CU_ASSERT_STRING_EQUAL(d->info.class_names[2], "line\r\nbreak");
    CU_ASSERT_EQUAL(d->X[2], 3.0f);
    CU_ASSERT_EQUAL(d->X[3], 4.0f);
    CU_ASSERT_EQUAL(d->y_class[1], 2);
    mo_csv_data_free(d);
}

static void test_csv__line_numbers_survive_quoted_newlines(void)
{
    expect_error("nl.csv", "a,b,label\r\n1,2,\"x\r\ny\"\r\n3,oops,z\r\n", opts("label"), MO_EFORMAT,
                 "nl.csv:4:2: column 'b' has non-numeric value 'oops'");
    /* a bad cell on the second line of a row that starts with a multi-line field */
    expect_error("nl2.csv", "label,a,b\n\"multi\nline\",1,bad\n", opts("label"), MO_EFORMAT,
                 "nl2.csv:3:3: column 'b' has non-numeric value 'bad'");
    /* old Mac line ends (CR only), with a quoted CR inside a field */
    expect_error("cr.csv", "a,label\r1,\"x\ry\"\r2,z\r3,\"\"\"\"\r4,w,5\r", opts("label"),
                 MO_EFORMAT, "cr.csv:6:3: row has 3 fields, header has 2");
    /* blank lines are skipped but counted */
    expect_error("nl3.csv", "a,label\n1,x\n\n\n2,y,3\n", opts("label"), MO_EFORMAT,
                 "nl3.csv:5:3: row has 3 fields, header has 2");
}

static void test_csv__crlf_split_across_reads_counts_one_line(void)
{
    /* The reader takes 64 KiB at a time; put a row's CR at byte 65535 and its LF at 65536. */
    enum { M = 13000 };
    const char *head = "a,label\r\n", *row = "1,x\r\n";
    size_t cap = 70000, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "%s1.", head);
    size_t pad = 65535 - 3 - 5 * M - len - 4; /* first data row: "1." zeros ",x\r\n" */
    memset(text + len, '0', pad);
    len += pad;
    len += (size_t)snprintf(text + len, cap - len, ",x\r\n");
    for (int i = 0; i < M; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s", row);
    CU_ASSERT_EQUAL(len + 3, 65535); /* the next row's CR lands on the last byte of a read */
    len += (size_t)snprintf(text + len, cap - len, "%soops,y\r\n", row);
    CU_ASSERT_EQUAL(text[65535], '\r');
    CU_ASSERT_EQUAL(text[65536], '\n');
    char want[64];
    snprintf(want, sizeof want, "split.csv:%d:1: column 'a' has non-numeric value 'oops'", M + 4);
    expect_error("split.csv", text, opts("label"), MO_EFORMAT, want);
    free(text);
}

static void test_csv__ragged_rows(void)
{
    expect_error("short.csv", "a,b,c,label\n1,2,3,x\n1,2,x\n", opts("label"), MO_EFORMAT,
                 "short.csv:3:4: row has 3 fields, header has 4");
    expect_error("long.csv", "a,label\n1,x,9,9\n", opts("label"), MO_EFORMAT,
                 "long.csv:2:3: row has 4 fields, header has 2");
}

static void test_csv__bad_cells_named_and_quoted(void)
{
    expect_error("nn.csv", "a,b,label\n1,2,x\n1,\"12 apples\",y\n", opts("label"), MO_EFORMAT,
                 "nn.csv:3:2: column 'b' has non-numeric value '12 apples'");
    expect_error("nan.csv", "a,b,label\n1,NaN,x\n", opts("label"), MO_EFORMAT,
                 "nan.csv:2:2: column 'b' has 'NaN'; NaN and infinite values are not supported");
    expect_error("inf.csv", "a,b,label\n-inf,1,x\n", opts("label"), MO_EFORMAT,
                 "inf.csv:2:1: column 'a' has '-inf'; NaN and infinite values are not supported");
    expect_error("big.csv", "a,label\n1e39,x\n", opts("label"), MO_EFORMAT,
                 "big.csv:2:1: column 'a' value '1e39' is out of range");
    expect_error("empty_cell.csv", "a,b,label\n1,,x\n", opts("label"), MO_EFORMAT,
                 "empty_cell.csv:2:2: empty cell in column 'b' (missing values are not "
                 "supported)");
    expect_error("empty_label.csv", "a,label\n1,\n", opts("label"), MO_EFORMAT,
                 "empty_label.csv:2:2: empty label in column 'label'");
}

static void test_csv__header_problems(void)
{
    expect_error("empty.csv", "", opts("label"), MO_EFORMAT,
                 "empty.csv:1:1: empty file; a header row naming the columns is required");
    expect_error("blank.csv", "\n\n", opts("label"), MO_EFORMAT,
                 "blank.csv:1:1: empty file; a header row naming the columns is required");
    expect_error("nohdr.csv", "1,2,3\n4,5,6\n", opts("label"), MO_EFORMAT,
                 "nohdr.csv:1:1: missing header row: the first row holds only numbers; the "
                 "first row must name the columns");
    expect_error("dup.csv", "a,b,a,label\n1,2,3,x\n", opts("label"), MO_EFORMAT,
                 "dup.csv:1:3: duplicate column name 'a' (also column 1)");
    expect_error("noname.csv", "a,,label\n1,2,x\n", opts("label"), MO_EFORMAT,
                 "noname.csv:1:2: column 2 has an empty name");
    expect_error("hdronly.csv", "a,label\n", opts("label"), MO_EFORMAT,
                 "hdronly.csv:2:1: no data rows after the header");
    expect_error("onlylabel.csv", "label\nx\n", opts("label"), MO_EFORMAT,
                 "onlylabel.csv:1:1: only the label column 'label'; at least one feature "
                 "column is needed");
}

static void test_csv__label_not_found_lists_columns_and_suggests(void)
{
    expect_error("lbl.csv", "sepal_len,sepal_wid,species\n1,2,x\n", opts("specis"), MO_EINVAL,
                 "lbl.csv:1:1: no column 'specis' (did you mean 'species'?); columns are "
                 "'sepal_len', 'sepal_wid', 'species'");
    expect_error("lbl2.csv", "a,b,Label\n1,2,x\n", opts("label"), MO_EINVAL,
                 "lbl2.csv:1:1: no column 'label' (did you mean 'Label'?); columns are 'a', "
                 "'b', 'Label'");
    expect_error("lbl3.csv", "c1,c2,c3,c4,c5,c6,c7,c8,c9,c10\n1,2,3,4,5,6,7,8,9,0\n",
                 opts("target"), MO_EINVAL,
                 "lbl3.csv:1:1: no column 'target'; columns are 'c1', 'c2', 'c3', 'c4', 'c5', "
                 "'c6', 'c7', 'c8' and 2 more");
}

static void test_csv__malformed_quotes(void)
{
    expect_error("open.csv", "a,label\n1,x\n2,\"never closed\n3,y\n", opts("label"), MO_EFORMAT,
                 "open.csv:3:2: quoted field is never closed");
    expect_error("stray.csv", "a,label\n1,x\"y\n", opts("label"), MO_EFORMAT,
                 "stray.csv:2:2: malformed quoting (error parsing data while strict checking "
                 "enabled): a quote inside an unquoted field, or text after a closing quote");
}

static void test_csv__other_delimiter(void)
{
    mo_csv_opts_t o = opts("l");
    o.delimiter = ';';
    mo_csv_data_t *d = parse("semi.csv", "a;b;l\n1.5;\"2\";\"x;y\"\n", o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->info.n_features, 2);
    CU_ASSERT_EQUAL(d->X[0], 1.5f);
    CU_ASSERT_STRING_EQUAL(d->info.class_names[0], "x;y");
    mo_csv_data_free(d);
    /* "1,5" is not a number with '.' decimals */
    expect_error("semi2.csv", "a;l\n1,5;x\n", o, MO_EFORMAT,
                 "semi2.csv:2:1: column 'a' has non-numeric value '1,5'");
}

static void test_csv__import_writes_dataset_and_summary(void)
{
    mo_error_t err = {0};
    mo_ds_info_t sum;
    mo_csv_opts_t o = opts("label");
    mo_ds_t *ds = NULL;
    char out[512];
    float x[4];
    int32_t y[2];
    const char *csv = mo_test_write_file(mo_test_tmpdir(), "imp.csv", "u,v,label\n1,2,b\n3,4,a\n");
    snprintf(out, sizeof out, "%s/imp.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(mo_csv_import(&sum, csv, out, &o, &err), 0);
    CU_ASSERT_EQUAL(sum.n_rows, 2);
    CU_ASSERT_EQUAL(sum.n_classes, 2);
    CU_ASSERT_STRING_EQUAL(sum.feature_names[1], "v");
    mo_ds_info_free(&sum);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, out, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(mo_ds_info(ds)->class_names[0], "a");
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, 2, x, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(x[3], 4.0f);
    CU_ASSERT_EQUAL(y[0], 1);
    CU_ASSERT_EQUAL(y[1], 0);
    mo_ds_close(ds);
    CU_ASSERT_EQUAL(mo_csv_import(NULL, csv, out, &o, &err), 0);
}

static void test_csv__error_writes_nothing(void)
{
    mo_error_t err = {0};
    mo_csv_opts_t o = opts("label");
    char out[512];
    const char *csv = mo_test_write_file(mo_test_tmpdir(), "bad.csv", "a,label\n1,x\nz,y\n");
    snprintf(out, sizeof out, "%s/bad.h5", mo_test_tmpdir());
    CU_ASSERT_EQUAL(mo_csv_import(NULL, csv, out, &o, &err), MO_EFORMAT);
    CU_ASSERT_NOT_EQUAL(access(out, F_OK), 0);
}

static void test_csv__bad_arguments_are_errors(void)
{
    mo_error_t err = {0};
    mo_csv_data_t *d = NULL;
    mo_csv_opts_t o = opts("label"), none = opts(NULL);
    const char *csv = mo_test_write_file(mo_test_tmpdir(), "ok.csv", "a,label\n1,x\n");
    CU_ASSERT_EQUAL(mo_csv_read(NULL, csv, &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_csv_read(&d, NULL, &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_csv_read(&d, csv, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_csv_read(&d, csv, &none, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--label (the label column) is required"));
    o.task = (mo_csv_task_t)5;
    CU_ASSERT_EQUAL(mo_csv_read(&d, csv, &o, NULL), MO_EINVAL);
    o.task = MO_CSV_TASK_AUTO;
    CU_ASSERT_EQUAL(mo_csv_import(NULL, csv, NULL, &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_csv_import(NULL, csv, "", &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_csv_read(&d, "/nonexistent/x.csv", &o, &err), MO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, "/nonexistent/x.csv: No such file or directory");
    mo_csv_data_free(NULL);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_csv__string_labels_become_sorted_classes),
    MO_TEST(test_csv__integer_labels_in_numeric_order),
    MO_TEST(test_csv__fractional_labels_are_regression),
    MO_TEST(test_csv__task_option_overrides),
    MO_TEST(test_csv__rfc4180_quoting),
    MO_TEST(test_csv__line_numbers_survive_quoted_newlines),
    MO_TEST(test_csv__crlf_split_across_reads_counts_one_line),
    MO_TEST(test_csv__ragged_rows),
    MO_TEST(test_csv__bad_cells_named_and_quoted),
    MO_TEST(test_csv__header_problems),
    MO_TEST(test_csv__label_not_found_lists_columns_and_suggests),
    MO_TEST(test_csv__malformed_quotes),
    MO_TEST(test_csv__other_delimiter),
    MO_TEST(test_csv__import_writes_dataset_and_summary),
    MO_TEST(test_csv__error_writes_nothing),
    MO_TEST(test_csv__bad_arguments_are_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/csv", tests);
}
