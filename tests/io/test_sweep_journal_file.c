/* test_sweep_journal_file.c - sweep.h5 written whole and read back (io/sweep_journal_file.c) */
#include "io/h5.h"
#include "io/sweep_journal.h"
#include "tests/unit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", mo_test_tmpdir(), name);
    return p;
}

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

static const char *names[] = {"optimizer.lr", "model.hidden", "schön.layers"};
static const char *types[] = {"double", "categorical", "int"};
static const char *spec = "kind: sweep\nname: lr-search\n# ünïcode\n";

/* Four trials, one of each status, with reports, an artifact, an error and a NaN objective. */
static void sample(mo_sweep_journal_t *j, int maximize)
{
    const double x[4][3] = {{0.01, 1, 3}, {0.1, 0, 2}, {1e-5, 2, 5}, {0.5, 1, 1}};
    const char *t[4][3] = {{"0.01", "[128, 128]", "3"},
                           {"0.1", "[64]", "2"},
                           {"1e-05", "[256, 256, 256, 256] # the longest value of all", "5"},
                           {"0.5", "[128, 128]", "1"}};
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sj_init(j, "lr-search", "tpe", "val_loss", maximize, "command", spec,
                                     3, names, types, &err),
                          0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(mo_sj_add_trial(j, 10 + i, i % 2, x[i], t[i], 1.7e9 + i,
                                        i == 1   ? NULL
                                        : i == 2 ? ""
                                                 : "trials/0010",
                                        &err),
                        i);
    CU_ASSERT_EQUAL(mo_sj_report(j, 10, 1, 0.9, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(j, 11, 1, 0.95, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(j, 10, 2, 0.5, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_report(j, 13, 1, -INFINITY, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_end_trial(j, 10, MO_SJ_COMPLETED, 0.25, 12.5, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_end_trial(j, 11, MO_SJ_PRUNED, 0.95, 3, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_sj_end_trial(j, 12, MO_SJ_FAILED, NAN, 1, "exit code 3: dürfen", &err), 0);
    CU_ASSERT_EQUAL(mo_sj_set_status(j, "stopped", &err), 0);
}

static void expect_same(const mo_sweep_journal_t *a, const mo_sweep_journal_t *b)
{
#define SAME_STR(x, y) CU_ASSERT_STRING_EQUAL((x) ? (x) : "(null)", (y) ? (y) : "(null)")
    SAME_STR(a->name, b->name);
    SAME_STR(a->algorithm, b->algorithm);
    SAME_STR(a->metric, b->metric);
    SAME_STR(a->status, b->status);
    SAME_STR(a->trial_kind, b->trial_kind);
    SAME_STR(a->spec_text, b->spec_text);
    CU_ASSERT_EQUAL(a->maximize, b->maximize);
    CU_ASSERT_EQUAL(a->seq, b->seq);
    CU_ASSERT_EQUAL_FATAL(a->dim, b->dim);
    for (size_t k = 0; k < a->dim; k++) {
        SAME_STR(a->param_names[k], b->param_names[k]);
        SAME_STR(a->param_types[k], b->param_types[k]);
    }
    CU_ASSERT_EQUAL_FATAL(a->n_trials, b->n_trials);
    for (size_t i = 0; i < a->n_trials; i++) {
        const mo_sj_trial_t *s = &a->trials[i], *t = &b->trials[i];
        CU_ASSERT(s->number == t->number && s->status == t->status && s->group == t->group);
        CU_ASSERT(s->objective == t->objective || (isnan(s->objective) && isnan(t->objective)));
        CU_ASSERT(s->start_time == t->start_time && s->duration == t->duration);
        CU_ASSERT_EQUAL(s->end_seq, t->end_seq);
        CU_ASSERT(a->dim == 0 || memcmp(s->x, t->x, a->dim * sizeof *s->x) == 0);
        for (size_t k = 0; k < a->dim; k++)
            SAME_STR(s->text[k], t->text[k]);
        SAME_STR(s->artifact, t->artifact);
        SAME_STR(s->error, t->error);
    }
    CU_ASSERT_EQUAL_FATAL(a->n_reports, b->n_reports);
    for (size_t r = 0; r < a->n_reports; r++) {
        const mo_sj_report_t *s = &a->reports[r], *t = &b->reports[r];
        CU_ASSERT(s->trial == t->trial && s->step == t->step && s->seq == t->seq);
        CU_ASSERT(s->value == t->value);
    }
#undef SAME_STR
}

static void test_sweep_journal_file__roundtrip_keeps_every_field(void)
{
    mo_sweep_journal_t j, back;
    mo_error_t err = {0};
    const char *path = path_in("sweep.h5");
    sample(&j, 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path, &err), 0);
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    expect_same(&j, &back);
    /* What a reader sees: none is NULL, whatever the writer was given (NULL or ""). */
    CU_ASSERT_PTR_NULL(back.trials[1].artifact);
    CU_ASSERT_PTR_NULL(back.trials[2].artifact);
    CU_ASSERT_STRING_EQUAL(back.trials[2].error, "exit code 3: dürfen");
    CU_ASSERT(isnan(back.trials[2].objective) && isnan(back.trials[3].objective));
    CU_ASSERT(back.reports[3].value == -INFINITY);
    CU_ASSERT_EQUAL(back.seq, 4 + 4 + 3 + 1);
    /* A read journal goes on like the one written. */
    CU_ASSERT_EQUAL(mo_sj_end_trial(&back, 13, MO_SJ_COMPLETED, 0.5, 2, NULL, &err), 0);
    CU_ASSERT_EQUAL(back.trials[3].end_seq, 13);
    mo_sj_free(&back);
    mo_sj_free(&j);
}

static void test_sweep_journal_file__layout_is_as_documented(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    const char *path = path_in("layout.h5");
    sample(&j, 1);
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path, &err), 0);
    hid_t f = H5I_INVALID_HID;
    CU_ASSERT_EQUAL_FATAL(mo_h5_open(&f, path, H5P_DEFAULT, &err), 0);
    const char *want[][2] = {{"kind", "sweep"},         {"goal", "maximize"},
                             {"trial_kind", "command"}, {"objective_metric", "val_loss"},
                             {"status", "stopped"},     {"algorithm", "tpe"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *s = NULL;
        CU_ASSERT_EQUAL(mo_h5_attr_read_str(&s, f, want[i][0], &err), 0);
        CU_ASSERT_STRING_EQUAL(s ? s : "", want[i][1]);
        free(s);
    }
    int64_t v = 0;
    CU_ASSERT(mo_h5_attr_read_int(&v, f, "format_version", &err) == 0 && v == 1);
    CU_ASSERT(mo_h5_attr_read_int(&v, f, "seq", &err) == 0 && v == j.seq);
    /* params: fixed-length strings [n, dim], as wide as the longest value plus its NUL. */
    hid_t d = H5Dopen2(f, "trials/params", H5P_DEFAULT), t = H5Dget_type(d), s = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    CU_ASSERT(H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0);
    CU_ASSERT_EQUAL(H5Tget_size(t), strlen(j.trials[2].text[1]) + 1);
    CU_ASSERT(H5Sget_simple_extent_dims(s, dims, NULL) == 2 && dims[0] == 4 && dims[1] == 3);
    H5Sclose(s);
    H5Tclose(t);
    H5Dclose(d);
    d = H5Dopen2(f, "trials/status", H5P_DEFAULT);
    char **sn = NULL;
    size_t n = 0;
    CU_ASSERT(mo_h5_attr_read_strv(&sn, &n, d, "status_names", &err) == 0 && n == 4 &&
              !strcmp(sn[2], "pruned"));
    mo_h5_strv_free(sn, n);
    int32_t st[4];
    CU_ASSERT(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, st) >= 0 && st[0] == 1 &&
              st[1] == 2 && st[2] == 3 && st[3] == 0);
    H5Dclose(d);
    double x[4][3];
    d = H5Dopen2(f, "trials/x", H5P_DEFAULT);
    CU_ASSERT(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0 &&
              x[2][0] == 1e-5 && x[2][1] == 2);
    H5Dclose(d);
    H5Fclose(f);
    mo_sj_free(&j);
}

static void roundtrip(const mo_sweep_journal_t *j, const char *name)
{
    mo_sweep_journal_t back;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(j, path_in(name), &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path_in(name), &err), 0);
    expect_same(j, &back);
    mo_sj_free(&back);
}

static void test_sweep_journal_file__empty_and_dimensionless_journals(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    /* No trials yet: every table has 0 rows, the parameters are still there. */
    CU_ASSERT_EQUAL_FATAL(
        mo_sj_init(&j, "s", "grid", "acc", 1, "template", NULL, 3, names, types, &err), 0);
    roundtrip(&j, "empty.h5");
    mo_sj_free(&j);
    /* No parameters: [n, 0] tables. */
    CU_ASSERT_EQUAL_FATAL(
        mo_sj_init(&j, "s", "random", "acc", 0, "objective", "x", 0, NULL, NULL, &err), 0);
    roundtrip(&j, "dim0-empty.h5");
    CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 0, 0, NULL, NULL, 1, "a", &err), 0);
    CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 1, 1, NULL, NULL, 2, NULL, &err), 1);
    CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 1, MO_SJ_FAILED, NAN, 0, "boom", &err), 0);
    roundtrip(&j, "dim0.h5");
    mo_sj_free(&j);
}

static void test_sweep_journal_file__rewrite_replaces_the_file(void)
{
    mo_sweep_journal_t j, back;
    mo_error_t err = {0};
    const char *path = path_in("rewrite.h5");
    sample(&j, 0);
    for (int i = 0; i < 200; i++) {
        double x[3] = {i, 0, 1};
        const char *t[3] = {"v", "[1]", "1"};
        CU_ASSERT_EQUAL(mo_sj_add_trial(&j, 100 + i, i % 4, x, t, i, NULL, &err), 4 + i);
        for (int s = 0; s < 3; s++)
            CU_ASSERT_EQUAL(mo_sj_report(&j, 100 + i, s, 1.0 / (s + 1), &err), 0);
        CU_ASSERT_EQUAL(mo_sj_end_trial(&j, 100 + i, MO_SJ_COMPLETED, i, 1, NULL, &err), 0);
        if (i % 50 == 0)
            CU_ASSERT_EQUAL(mo_sj_write(&j, path, &err), 0);
    }
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path, &err), 0);
    expect_same(&j, &back);
    CU_ASSERT_EQUAL(back.n_trials, 204);
    CU_ASSERT_EQUAL(back.n_reports, 604);
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
    mo_sj_free(&back);
    mo_sj_free(&j);
}

/* ---- damaged files ------------------------------------------------------------------------ */

static void expect_format_error(const char *path, const char *part)
{
    mo_sweep_journal_t back;
    mo_error_t err = {0};
    memset(&back, 0x5a, sizeof back);
    CU_ASSERT_EQUAL(mo_sj_read(&back, path, &err), MO_EFORMAT);
    CU_ASSERT_EQUAL(err.code, MO_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    if (!strstr(err.msg, part))
        fprintf(stderr, "\n  message '%s' lacks '%s'\n", err.msg, part);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, part));
    CU_ASSERT(strchr(err.msg, '\n') == NULL);
    CU_ASSERT(back.n_trials == 0 && back.trials == NULL); /* left empty */
    mo_sj_free(&back);
}

/* A good journal at `name`, opened read-write for damage. */
static hid_t damage(const char *name)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    sample(&j, 0);
    CU_ASSERT_EQUAL_FATAL(mo_sj_write(&j, path_in(name), &err), 0);
    mo_sj_free(&j);
    hid_t f = H5Fopen(path_in(name), H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    return f;
}

static void test_sweep_journal_file__missing_and_foreign_files(void)
{
    mo_sweep_journal_t back;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_sj_read(&back, path_in("nope.h5"), &err), MO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nope.h5"));
    expect_format_error(mo_test_write_file(mo_test_tmpdir(), "text.h5", "kind: sweep\n"),
                        "not an HDF5 file");
    expect_format_error(mo_test_tmpdir(), "not a regular file");
    /* A run file is HDF5 with a kind, but another one. */
    hid_t f = H5I_INVALID_HID;
    char *tmp = NULL;
    const char *run = path_in("run.h5");
    CU_ASSERT_EQUAL_FATAL(mo_h5_create_tmp(&f, &tmp, run, &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "kind", "run", &err), 0);
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", 1, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_h5_commit(&f, &tmp, run, &err), 0);
    expect_format_error(run, "is a 'run' file, not a sweep journal");
}

static void test_sweep_journal_file__truncated_file_is_a_format_error(void)
{
    hid_t f = damage("truncated.h5");
    H5Fclose(f);
    const char *path = path_in("truncated.h5");
    FILE *fp = fopen(path, "rb");
    CU_ASSERT_FATAL(fp != NULL);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    CU_ASSERT_EQUAL_FATAL(truncate(path, size / 2), 0);
    expect_format_error(path, "damaged");
    CU_ASSERT_EQUAL_FATAL(truncate(path, 6), 0);
    expect_format_error(path, "not an HDF5 file");
}

static void test_sweep_journal_file__wrong_shapes_and_values_name_the_object(void)
{
    /* /trials/x with 2 columns for 3 parameters. */
    hid_t f = damage("shape.h5");
    hsize_t dims[2] = {4, 2};
    double zeros[8] = {0};
    hid_t s = H5Screate_simple(2, dims, NULL);
    CU_ASSERT(H5Ldelete(f, "trials/x", H5P_DEFAULT) >= 0);
    hid_t d = H5Dcreate2(f, "trials/x", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) >= 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    expect_format_error(path_in("shape.h5"), "/trials/x is float64[4, 2], expected float[4, 3]");
    /* A status outside 0..3. */
    f = damage("status.h5");
    int32_t st[4] = {1, 2, 7, 0};
    d = H5Dopen2(f, "trials/status", H5P_DEFAULT);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, st) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    expect_format_error(path_in("status.h5"), "/trials/status[2] is 7");
    /* A missing column, a missing root attribute, a newer format, an unknown goal. */
    mo_error_t err = {0};
    f = damage("missing.h5");
    CU_ASSERT(H5Ldelete(f, "reports/seq", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    expect_format_error(path_in("missing.h5"), "/reports/seq is missing");
    f = damage("noattr.h5");
    CU_ASSERT(H5Adelete(f, "trial_kind") >= 0);
    H5Fclose(f);
    expect_format_error(path_in("noattr.h5"), "root attribute 'trial_kind' is missing");
    f = damage("newer.h5");
    CU_ASSERT_EQUAL(mo_h5_attr_write_int(f, "format_version", 2, &err), 0);
    H5Fclose(f);
    expect_format_error(path_in("newer.h5"), "format_version 2 is not supported");
    f = damage("goal.h5");
    CU_ASSERT_EQUAL(mo_h5_attr_write_str(f, "goal", "min", &err), 0);
    H5Fclose(f);
    expect_format_error(path_in("goal.h5"), "'goal' is 'min'");
}

static void test_sweep_journal_file__reads_what_h5py_writes(void)
{
    /* What h5py writes by default: variable-length strings, int64 for every integer. */
    hid_t f = damage("h5py.h5");
    hid_t t = H5Tcopy(H5T_C_S1), s;
    const char *vnames[3] = {"lr", "hidden", "layers"};
    int64_t groups[4] = {7, 6, 5, 4};
    hsize_t d3[1] = {3}, d4[1] = {4};
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    CU_ASSERT(H5Ldelete(f, "parameters/name", H5P_DEFAULT) >= 0);
    s = H5Screate_simple(1, d3, NULL);
    hid_t d = H5Dcreate2(f, "parameters/name", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vnames) >= 0);
    H5Dclose(d);
    H5Sclose(s);
    CU_ASSERT(H5Ldelete(f, "trials/group", H5P_DEFAULT) >= 0);
    s = H5Screate_simple(1, d4, NULL);
    d = H5Dcreate2(f, "trials/group", H5T_STD_I64BE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, groups) >= 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Tclose(t);
    H5Fclose(f);
    mo_sweep_journal_t back;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_sj_read(&back, path_in("h5py.h5"), &err), 0);
    CU_ASSERT_STRING_EQUAL(back.param_names[1], "hidden");
    CU_ASSERT(back.trials[0].group == 7 && back.trials[3].group == 4);
    mo_sj_free(&back);
}

static void test_sweep_journal_file__bad_arguments(void)
{
    mo_sweep_journal_t j;
    mo_error_t err = {0};
    sample(&j, 0);
    CU_ASSERT_EQUAL(mo_sj_write(NULL, path_in("x.h5"), &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_write(&j, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_sj_write(&j, "", &err), MO_EINVAL);
    /* A folder that does not exist: an I/O error, no file and no temp left. */
    CU_ASSERT_EQUAL(mo_sj_write(&j, path_in("no/such/dir/sweep.h5"), &err), MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no/such/dir/sweep.h5"));
    CU_ASSERT_EQUAL(count_files(".tmp."), 0);
    mo_sj_free(&j);
    CU_ASSERT_EQUAL(mo_sj_read(NULL, path_in("x.h5"), &err), MO_EINVAL);
    memset(&j, 0x5a, sizeof j);
    CU_ASSERT_EQUAL(mo_sj_read(&j, NULL, &err), MO_EINVAL); /* leaves j empty */
    CU_ASSERT(j.n_trials == 0 && j.name == NULL);
    CU_ASSERT_EQUAL(mo_sj_read(&j, "", NULL), MO_EINVAL);
    mo_sj_free(&j);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_sweep_journal_file__roundtrip_keeps_every_field),
    MO_TEST(test_sweep_journal_file__layout_is_as_documented),
    MO_TEST(test_sweep_journal_file__empty_and_dimensionless_journals),
    MO_TEST(test_sweep_journal_file__rewrite_replaces_the_file),
    MO_TEST(test_sweep_journal_file__missing_and_foreign_files),
    MO_TEST(test_sweep_journal_file__truncated_file_is_a_format_error),
    MO_TEST(test_sweep_journal_file__wrong_shapes_and_values_name_the_object),
    MO_TEST(test_sweep_journal_file__reads_what_h5py_writes),
    MO_TEST(test_sweep_journal_file__bad_arguments),
    CU_TEST_INFO_NULL};

int main(void)
{
    return mo_test_main("io/sweep_journal_file", tests);
}
