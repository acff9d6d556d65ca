/* test_dataset_scan.c - exact row, class and target counts over any range of rows */
#include "io/dataset_scan.h"

#include "io/synth.h"
#include "tests/unit.h"

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

static const char *tmp_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mo_test_tmpdir(), name);
    return path;
}

/* Write a synthetic dataset and open it; returns the handle (caller closes). */
static mo_ds_t *synth_open(const char *name, int64_t rows, int64_t features, int32_t classes,
                           mo_ds_task_t task)
{
    mo_synth_opts_t o = {.rows = rows,
                         .features = features,
                         .classes = classes,
                         .seed = 7,
                         .noise = task == MO_DS_CLASSIFICATION ? 0.1 : 1.0,
                         .task = task};
    mo_error_t err = {0};
    const char *path = tmp_file(name);
    int rc = mo_synth_write(path, &o, &err);
    if (rc)
        fprintf(stderr, "\n  synth: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mo_ds_t *ds = NULL;
    rc = mo_ds_open(&ds, path, MPI_COMM_NULL, &err);
    if (rc)
        fprintf(stderr, "\n  open: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return ds;
}

/* Class counts of rows [row0, row0 + n) computed from one mo_ds_read of those rows. */
static int64_t *counts_by_reading(mo_ds_t *ds, int64_t row0, int64_t n)
{
    const mo_ds_info_t *info = mo_ds_info(ds);
    int32_t *y = calloc((size_t)n + 1, sizeof *y);
    int64_t *counts = calloc((size_t)info->n_classes, sizeof *counts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_PTR_NOT_NULL_FATAL(counts);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_ds_read(ds, row0, n, NULL, y, NULL, &err), 0);
    for (int64_t i = 0; i < n; i++) {
        CU_ASSERT_FATAL(y[i] >= 0 && y[i] < info->n_classes);
        counts[y[i]]++;
    }
    free(y);
    return counts;
}

static void assert_counts_equal(const mo_ds_stats_t *st, const int64_t *want, int32_t k)
{
    CU_ASSERT_EQUAL_FATAL(st->n_classes, k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st->class_counts);
    for (int32_t c = 0; c < k; c++) {
        CU_ASSERT_EQUAL(st->class_counts[c], want[c]);
        if (st->class_counts[c] != want[c])
            fprintf(stderr, "\n  class %d: scan %lld, read %lld\n", (int)c,
                    (long long)st->class_counts[c], (long long)want[c]);
    }
}

static void test_dataset_scan__counts_rows_and_classes_exactly(void)
{
    enum { N = 1237, D = 6, K = 4 };
    mo_ds_t *ds = synth_open("cls.h5", N, D, K, MO_DS_CLASSIFICATION);
    const mo_ds_info_t *info = mo_ds_info(ds);
    mo_ds_stats_t st;
    mo_error_t err = {0};
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&st, info, &err), 0);
    CU_ASSERT_EQUAL(st.rows, 0);
    CU_ASSERT_EQUAL(st.class_counts[0] + st.class_counts[K - 1], 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, 0, N, &err), 0);
    CU_ASSERT_EQUAL(st.rows, N);
    int64_t *want = counts_by_reading(ds, 0, N);
    assert_counts_equal(&st, want, K);
    int64_t total = 0;
    for (int c = 0; c < K; c++) {
        CU_ASSERT(st.class_counts[c] > 0); /* every class present, so a mix-up shows */
        total += st.class_counts[c];
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(st.target_sum, 0.0);
    free(want);
    mo_ds_stats_free(&st);
    CU_ASSERT_PTR_NULL(st.class_counts);
    mo_ds_close(ds);
}

static void test_dataset_scan__known_labels_give_known_counts(void)
{
    enum { N = 11, D = 2, K = 3 };
    float X[N * D];
    int32_t y[N] = {2, 0, 2, 2, 1, 2, 0, 2, 2, 2, 0};
    for (int i = 0; i < N * D; i++)
        X[i] = (float)i;
    mo_ds_info_t info = {
        .n_rows = N, .n_features = D, .task = MO_DS_CLASSIFICATION, .n_classes = K};
    mo_error_t err = {0};
    const char *path = tmp_file("known.h5");
    CU_ASSERT_EQUAL_FATAL(mo_ds_write(path, &info, X, y, NULL, &err), 0);
    mo_ds_t *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(mo_ds_open(&ds, path, MPI_COMM_NULL, &err), 0);
    mo_ds_stats_t st;
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&st, mo_ds_info(ds), &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, 0, N, &err), 0);
    const int64_t want[K] = {3, 1, 7};
    assert_counts_equal(&st, want, K);
    /* A sub-range counts only its rows: rows 4..6 are 1, 2, 0. */
    mo_ds_stats_t part;
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&part, mo_ds_info(ds), &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&part, ds, 4, 3, &err), 0);
    const int64_t want_part[K] = {1, 1, 1};
    CU_ASSERT_EQUAL(part.rows, 3);
    assert_counts_equal(&part, want_part, K);
    /* Zero rows is an empty scan, not an error. */
    CU_ASSERT_EQUAL(mo_ds_scan(&part, ds, N, 0, &err), 0);
    CU_ASSERT_EQUAL(part.rows, 3);
    mo_ds_stats_free(&part);
    mo_ds_stats_free(&st);
    mo_ds_close(ds);
}

static void test_dataset_scan__two_halves_equal_whole(void)
{
    enum { N = 1001, D = 5, K = 3 };
    mo_ds_t *ds = synth_open("halves.h5", N, D, K, MO_DS_CLASSIFICATION);
    mo_error_t err = {0};
    mo_ds_stats_t whole, halves;
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&whole, mo_ds_info(ds), &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&halves, mo_ds_info(ds), &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&whole, ds, 0, N, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&halves, ds, 0, N / 2, &err), 0);
    CU_ASSERT_EQUAL(halves.rows, N / 2);
    CU_ASSERT_EQUAL(mo_ds_scan(&halves, ds, N / 2, N - N / 2, &err), 0);
    CU_ASSERT_EQUAL(halves.rows, whole.rows);
    CU_ASSERT_EQUAL(whole.rows, N);
    assert_counts_equal(&halves, whole.class_counts, K);
    mo_ds_stats_free(&whole);
    mo_ds_stats_free(&halves);
    mo_ds_close(ds);
}

static void test_dataset_scan__regression_sums_targets(void)
{
    enum { N = 503, D = 4 };
    mo_ds_t *ds = synth_open("reg.h5", N, D, 0, MO_DS_REGRESSION);
    mo_error_t err = {0};
    mo_ds_stats_t st;
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&st, mo_ds_info(ds), &err), 0);
    CU_ASSERT_PTR_NULL(st.class_counts);
    CU_ASSERT_EQUAL(st.n_classes, 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, 0, N, &err), 0);
    CU_ASSERT_EQUAL(st.rows, N);
    float yv[N];
    CU_ASSERT_EQUAL_FATAL(mo_ds_read(ds, 0, N, NULL, NULL, yv, &err), 0);
    double sum = 0, sumsq = 0;
    for (int i = 0; i < N; i++) {
        sum += yv[i];
        sumsq += (double)yv[i] * yv[i];
    }
    CU_ASSERT(sumsq > 0);
    CU_ASSERT_DOUBLE_EQUAL(st.target_sum, sum, 1e-9 * (fabs(sum) + 1));
    CU_ASSERT_DOUBLE_EQUAL(st.target_sumsq, sumsq, 1e-9 * sumsq);
    /* Halves add up to the whole. */
    mo_ds_stats_t h;
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&h, mo_ds_info(ds), &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&h, ds, 0, 200, &err), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(&h, ds, 200, N - 200, &err), 0);
    CU_ASSERT_EQUAL(h.rows, N);
    CU_ASSERT_DOUBLE_EQUAL(h.target_sum, sum, 1e-9 * (fabs(sum) + 1));
    CU_ASSERT_DOUBLE_EQUAL(h.target_sumsq, sumsq, 1e-9 * sumsq);
    mo_ds_stats_free(&h);
    mo_ds_stats_free(&st);
    mo_ds_close(ds);
}

static void test_dataset_scan__rows_not_multiple_of_block(void)
{
    /* 3000 float features are 12000 bytes a row, so the 8 MiB blocks hold 699 rows: 1000 rows
     * take one full block and a partial one. */
    enum { N = 1000, D = 3000, K = 5 };
    mo_ds_t *ds = synth_open("wide.h5", N, D, K, MO_DS_CLASSIFICATION);
    mo_error_t err = {0};
    const int64_t ranges[][2] = {{0, N}, {0, 699}, {0, 700}, {1, 999}, {698, 2}, {300, 700}};
    for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
        mo_ds_stats_t st;
        CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&st, mo_ds_info(ds), &err), 0);
        CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, ranges[r][0], ranges[r][1], &err), 0);
        CU_ASSERT_EQUAL(st.rows, ranges[r][1]);
        int64_t *want = counts_by_reading(ds, ranges[r][0], ranges[r][1]);
        assert_counts_equal(&st, want, K);
        free(want);
        mo_ds_stats_free(&st);
    }
    mo_ds_close(ds);
}

static void test_dataset_scan__bad_arguments_return_errors(void)
{
    enum { N = 20, D = 3, K = 2 };
    mo_ds_t *ds = synth_open("args.h5", N, D, K, MO_DS_CLASSIFICATION);
    const mo_ds_info_t *info = mo_ds_info(ds);
    mo_error_t err = {0};
    mo_ds_stats_t st;
    CU_ASSERT_EQUAL(mo_ds_stats_init(NULL, info, &err), MO_EINVAL);
    ASSERT_MSG(err, "mo_ds_stats_init: NULL argument");
    CU_ASSERT_EQUAL(mo_ds_stats_init(&st, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL_FATAL(mo_ds_stats_init(&st, info, NULL), 0);
    CU_ASSERT_EQUAL(mo_ds_scan(NULL, ds, 0, N, &err), MO_EINVAL);
    ASSERT_MSG(err, "mo_ds_scan: bad arguments");
    CU_ASSERT_EQUAL(mo_ds_scan(&st, NULL, 0, N, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, -1, 2, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, 0, -1, NULL), MO_EINVAL);
    CU_ASSERT_EQUAL(st.rows, 0);
    /* Rows past the end are refused by the reader, naming the file and the range. */
    char want[700];
    snprintf(want, sizeof want, "%s: rows 15..25 are outside 0..20", tmp_file("args.h5"));
    mo_error_clear(&err);
    CU_ASSERT_EQUAL(mo_ds_scan(&st, ds, 15, 10, &err), MO_EINVAL);
    ASSERT_MSG(err, want);
    CU_ASSERT_EQUAL(st.rows, 0);
    CU_ASSERT_EQUAL(st.class_counts[0] + st.class_counts[1], 0);
    mo_ds_stats_free(&st);
    mo_ds_stats_free(&st); /* twice is harmless */
    mo_ds_stats_free(NULL);
    mo_ds_close(ds);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_dataset_scan__counts_rows_and_classes_exactly),
    MO_TEST(test_dataset_scan__known_labels_give_known_counts),
    MO_TEST(test_dataset_scan__two_halves_equal_whole),
    MO_TEST(test_dataset_scan__regression_sums_targets),
    MO_TEST(test_dataset_scan__rows_not_multiple_of_block),
    MO_TEST(test_dataset_scan__bad_arguments_return_errors),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/dataset_scan", tests);
}
