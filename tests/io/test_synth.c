/* test_synth.c - synthetic data: option checks, determinism, balance, separability */
#include "io/synth.h"

#include "io/h5.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tmp_file(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", mo_test_tmpdir(), name);
    return p;
}

static mo_synth_opts_t cls_opts(void)
{
    mo_synth_opts_t o = {
        .rows = 3000, .features = 8, .classes = 3, .seed = 42, .task = MO_DS_CLASSIFICATION};
    return o;
}

/* The whole file as bytes; *n its size. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void expect_check_error(mo_synth_opts_t o, const char *want)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_synth_check(&o, &err), MO_EINVAL);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", err.msg, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
}

static void test_synth__options_checked_with_cli_names(void)
{
    mo_synth_opts_t o = cls_opts();
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_synth_check(&o, &err), 0);
    o.rows = 0;
    expect_check_error(o, "--rows must be >= 1, got 0");
    o = cls_opts();
    o.features = -3;
    expect_check_error(o, "--features must be >= 1, got -3");
    o = cls_opts();
    o.classes = 1;
    expect_check_error(o, "--classes must be in 2..1000 for classification, got 1");
    o = cls_opts();
    o.noise = 1.5;
    expect_check_error(o, "--noise is the fraction of flipped labels");
    o.noise = -1;
    expect_check_error(o, "--noise must be >= 0, got -1");
    o.noise = NAN;
    expect_check_error(o, "--noise must be >= 0");
    o = cls_opts();
    o.task = (mo_ds_task_t)9;
    expect_check_error(o, "--task must be classification or regression");
    o = cls_opts();
    o.informative = 9;
    expect_check_error(o, "--informative must be in 1..8, got 9");
    o = cls_opts();
    o.rows = INT64_MAX / 2;
    expect_check_error(o, "too large");
    /* regression: noise is a standard deviation, classes unused */
    o = cls_opts();
    o.task = MO_DS_REGRESSION;
    o.classes = 0;
    o.noise = 25;
    CU_ASSERT_EQUAL(mo_synth_check(&o, &err), 0);
    CU_ASSERT_EQUAL(mo_synth_check(NULL, &err), MO_EINVAL);
}

static void test_synth__bad_arguments_are_errors(void)
{
    mo_synth_opts_t o = cls_opts();
    mo_error_t err = {0};
    float x[8];
    int32_t y[1];
    CU_ASSERT_EQUAL(mo_synth_write(NULL, &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_synth_write("", &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_synth_write(tmp_file("x.h5"), NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_synth_rows(NULL, 0, 1, x, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_synth_rows(&o, 2999, 2, x, y, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rows 2999..3001 are outside 0..3000"));
    CU_ASSERT_EQUAL(mo_synth_rows(&o, -1, 1, x, y, NULL, &err), MO_EINVAL);
    o.rows = 0;
    CU_ASSERT_EQUAL(mo_synth_write(tmp_file("x.h5"), &o, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_synth_informative(NULL), 0);
}

static void test_synth__same_seed_same_bytes_other_seed_differs(void)
{
    mo_synth_opts_t o = cls_opts();
    mo_error_t err = {0};
    size_t na = 0, nb = 0, nc = 0;
    const char *a = tmp_file("a.h5"), *b = tmp_file("b.h5"), *c = tmp_file("c.h5");
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(a, &o, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(b, &o, &err), 0);
    o.seed = 43;
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(c, &o, &err), 0);
    char *ba = slurp(a, &na), *bb = slurp(b, &nb), *bc = slurp(c, &nc);
    CU_ASSERT_FATAL(ba && bb && bc);
    CU_ASSERT_EQUAL(na, nb);
    CU_ASSERT(na == nb && memcmp(ba, bb, na) == 0);
    CU_ASSERT(na != nc || memcmp(ba, bc, na) != 0);
    free(ba);
    free(bb);
    free(bc);
}

static void test_synth__rows_do_not_depend_on_the_split(void)
{
    mo_synth_opts_t o = cls_opts();
    mo_error_t err = {0};
    enum { R = 100, F = 8 };
    float whole[R * F], parts[R * F];
    int32_t yw[R], yp[R];
    o.noise = 0.3;
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 500, R, whole, yw, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_synth_rows(&o, 500, 37, parts, yp, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_synth_rows(&o, 537, 1, parts + 37 * F, yp + 37, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_synth_rows(&o, 538, R - 38, parts + 38 * F, yp + 38, NULL, &err), 0);
    CU_ASSERT_EQUAL(memcmp(whole, parts, sizeof whole), 0);
    CU_ASSERT_EQUAL(memcmp(yw, yp, sizeof yw), 0);
    /* and the file holds exactly these rows */
    mo_ds_t *ds = NULL;
    const char *path = tmp_file("split.h5");
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(path, &o, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 500, R, parts, yp, NULL, &err), 0);
    CU_ASSERT_EQUAL(memcmp(whole, parts, sizeof whole), 0);
    CU_ASSERT_EQUAL(memcmp(yw, yp, sizeof yw), 0);
    mo_ds_close(ds);
}

/* Nearest-centroid accuracy (a linear classifier) with centroids estimated from the data. */
static double centroid_accuracy(const float *X, const int32_t *y, int64_t n, int64_t d, int k)
{
    double *c = calloc((size_t)(k * d), sizeof *c);
    int64_t *cnt = calloc((size_t)k, sizeof *cnt), ok = 0;
    for (int64_t i = 0; i < n; i++) {
        cnt[y[i]]++;
        for (int64_t j = 0; j < d; j++)
            c[y[i] * d + j] += X[i * d + j];
    }
    for (int a = 0; a < k; a++)
        for (int64_t j = 0; j < d; j++)
            c[a * d + j] /= cnt[a] ? (double)cnt[a] : 1.0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int a = 0; a < k; a++) {
            double s = 0;
            for (int64_t j = 0; j < d; j++)
                s += (X[i * d + j] - c[a * d + j]) * (X[i * d + j] - c[a * d + j]);
            if (s < bd) {
                bd = s;
                best = a;
            }
        }
        ok += best == y[i];
    }
    free(c);
    free(cnt);
    return (double)ok / (double)n;
}

static void test_synth__classes_balanced_and_separable(void)
{
    mo_synth_opts_t o = {
        .rows = 8000, .features = 10, .classes = 4, .seed = 7, .task = MO_DS_CLASSIFICATION};
    mo_error_t err = {0};
    float *X = malloc(sizeof(float) * 8000 * 10);
    int32_t *y = malloc(sizeof(int32_t) * 8000);
    int64_t count[4] = {0};
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 0, 8000, X, y, NULL, &err), 0);
    for (int i = 0; i < 8000; i++) {
        CU_ASSERT_FATAL(y[i] >= 0 && y[i] < 4);
        count[y[i]]++;
    }
    for (int a = 0; a < 4; a++) /* 2000 expected, sd ~39 */
        CU_ASSERT(count[a] > 1800 && count[a] < 2200);
    double clean = centroid_accuracy(X, y, 8000, 10, 4);
    CU_ASSERT(clean > 0.75); /* chance is 0.25; about 0.85 with class_sep 1 */
    /* half the labels flipped: the same clusters, much worse labels, same X */
    float *X2 = malloc(sizeof(float) * 8000 * 10);
    o.noise = 0.5;
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 0, 8000, X2, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(memcmp(X, X2, sizeof(float) * 8000 * 10), 0);
    double noisy = centroid_accuracy(X2, y, 8000, 10, 4);
    CU_ASSERT(noisy < clean - 0.2 && noisy > 0.4);
    free(X);
    free(X2);
    free(y);
}

static void test_synth__regression_is_linear_plus_noise(void)
{
    mo_synth_opts_t o = {.rows = 2000, .features = 6, .seed = 3, .task = MO_DS_REGRESSION};
    mo_error_t err = {0};
    enum { R = 2000, F = 6 };
    float *X = malloc(sizeof(float) * R * F), *y0 = malloc(sizeof(float) * R);
    float *y1 = malloc(sizeof(float) * R);
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 0, R, X, NULL, y0, &err), 0);
    o.noise = 2.0;
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 0, R, X, NULL, y1, &err), 0);
    double mean = 0, var = 0, sd_y = 0;
    for (int i = 0; i < R; i++)
        mean += y1[i] - y0[i];
    mean /= R;
    for (int i = 0; i < R; i++) {
        var += (y1[i] - y0[i] - mean) * (y1[i] - y0[i] - mean);
        sd_y += (double)y0[i] * y0[i];
    }
    CU_ASSERT(fabs(sqrt(var / R) - 2.0) < 0.15); /* the added noise has std `noise` */
    CU_ASSERT(sqrt(sd_y / R) > 20);              /* the signal is much larger */
    /* noise 0: y is exactly linear in the informative features (the first 3 of 6), with
     * coefficients in [0, 100): least squares over all 6 recovers them, zeros for the rest */
    double a[F][F + 1] = {{0}};
    for (int i = 0; i < R; i++)
        for (int r = 0; r < F; r++) {
            for (int c = 0; c < F; c++)
                a[r][c] += (double)X[i * F + r] * X[i * F + c];
            a[r][F] += (double)X[i * F + r] * y0[i];
        }
    for (int p = 0; p < F; p++) /* Gauss-Jordan; X^T X is well conditioned */
        for (int r = 0; r < F; r++) {
            if (r == p)
                continue;
            double f = a[r][p] / a[p][p];
            for (int c = p; c <= F; c++)
                a[r][c] -= f * a[p][c];
        }
    for (int j = 0; j < F; j++) {
        double w = a[j][F] / a[j][j];
        CU_ASSERT(j < 3 ? w > -0.01 && w < 100.01 : fabs(w) < 0.01);
    }
    CU_ASSERT_EQUAL(mo_synth_informative(&o), 3);
    free(X);
    free(y0);
    free(y1);
}

static void test_synth__file_is_a_valid_dataset_with_names(void)
{
    mo_synth_opts_t o = cls_opts();
    mo_error_t err = {0};
    mo_ds_t *ds = NULL;
    const char *path = tmp_file("valid.h5");
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(path, &o, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    const mo_ds_info_t *info = mo_ds_info(ds);
    CU_ASSERT_EQUAL(info->n_rows, 3000);
    CU_ASSERT_EQUAL(info->n_features, 8);
    CU_ASSERT_EQUAL(info->n_classes, 3);
    CU_ASSERT_STRING_EQUAL(info->feature_names[7], "f7");
    CU_ASSERT_STRING_EQUAL(info->class_names[2], "2");
    float *X = malloc(sizeof(float) * 3000 * 8);
    int32_t *y = malloc(sizeof(int32_t) * 3000);
    CU_ASSERT_EQUAL(mo_ds_read(ds, 0, 3000, X, y, NULL, &err), 0); /* checks every value */
    free(X);
    free(y);
    mo_ds_close(ds);
    o.task = MO_DS_REGRESSION;
    CU_ASSERT_EQUAL_FATAL(mo_synth_write(path, &o, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_info(ds)->task, MO_DS_REGRESSION);
    CU_ASSERT_PTR_NULL(mo_ds_info(ds)->class_names);
    mo_ds_close(ds);
}

static void test_synth__many_classes_few_features_still_distinct(void)
{
    /* 2 features cannot hold 50 hypercube vertices: a grid is used, centroids stay distinct */
    mo_synth_opts_t o = {.rows = 5000,
                         .features = 2,
                         .classes = 50,
                         .seed = 1,
                         .task = MO_DS_CLASSIFICATION,
                         .class_sep = 3.0};
    mo_error_t err = {0};
    float *X = malloc(sizeof(float) * 5000 * 2);
    int32_t *y = malloc(sizeof(int32_t) * 5000);
    CU_ASSERT_EQUAL_FATAL(mo_synth_rows(&o, 0, 5000, X, y, NULL, &err), 0);
    CU_ASSERT_EQUAL(mo_synth_informative(&o), 2);
    CU_ASSERT(centroid_accuracy(X, y, 5000, 2, 50) > 0.5); /* chance is 0.02 */
    free(X);
    free(y);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_synth__options_checked_with_cli_names),
    MO_TEST(test_synth__bad_arguments_are_errors),
    MO_TEST(test_synth__same_seed_same_bytes_other_seed_differs),
    MO_TEST(test_synth__rows_do_not_depend_on_the_split),
    MO_TEST(test_synth__classes_balanced_and_separable),
    MO_TEST(test_synth__regression_is_linear_plus_noise),
    MO_TEST(test_synth__file_is_a_valid_dataset_with_names),
    MO_TEST(test_synth__many_classes_few_features_still_distinct),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/synth", tests);
}
