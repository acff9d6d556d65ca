/* test_events_synth.c - synthetic event tables: option checks, reproducibility, row i
 * independent of the table's length and of how it is cut, the files read back by
 * mo_events_read equal to what was generated (CSV and HDF5 alike), the table's shape (skew,
 * ties, missing amounts), labels */
#include "io/events_synth.h"

#include "io/events.h"
#include "tests/unit.h"

#include <dirent.h>
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

static mo_events_synth_opts_t opts(int64_t events, int64_t entities)
{
    mo_events_synth_opts_t o = {.events = events,
                                .entities = entities,
                                .days = 30,
                                .start_us = INT64_C(1793491200000000), /* 2026-11-01 */
                                .seed = 42};
    return o;
}

/* Columns for n rows (one allocation each; free with cols_free). */
typedef struct {
    mo_events_synth_cols_t c;
    int64_t n;
} rows_t;

static rows_t rows_alloc(int64_t n)
{
    rows_t r = {{calloc((size_t)n, 8), calloc((size_t)n, 8), calloc((size_t)n, 8),
                 calloc((size_t)n, 8), calloc((size_t)n, 8)},
                n};
    CU_ASSERT_FATAL(r.c.entity && r.c.event_ms && r.c.created_ms && r.c.amount && r.c.qty);
    return r;
}

static void rows_free(rows_t *r)
{
    free(r->c.entity);
    free(r->c.event_ms);
    free(r->c.created_ms);
    free(r->c.amount);
    free(r->c.qty);
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Rows [0, n) equal row by row (entity, times, values; NaN equals NaN). */
static int rows_equal(const rows_t *a, int64_t off_a, const rows_t *b, int64_t off_b, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t x = off_a + i, y = off_b + i;
        if (a->c.entity[x] != b->c.entity[y] || a->c.event_ms[x] != b->c.event_ms[y] ||
            a->c.created_ms[x] != b->c.created_ms[y] ||
            !same_double(a->c.amount[x], b->c.amount[y]) || a->c.qty[x] != b->c.qty[y]) {
            fprintf(stderr, "\n  rows differ at %lld\n", (long long)i);
            return 0;
        }
    }
    return 1;
}

static void expect_check_error(mo_events_synth_opts_t o, const char *want)
{
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_events_synth_check(&o, &err), MO_EINVAL);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", err.msg, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
}

static void test_events_synth__options_checked_with_cli_names(void)
{
    mo_events_synth_opts_t o = opts(100, 10);
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_events_synth_check(&o, &err), 0);
    CU_ASSERT_EQUAL(mo_events_synth_check(NULL, &err), MO_EINVAL);
    o.events = 0;
    expect_check_error(o, "--events must be >= 1, got 0");
    o = opts(100, 0);
    expect_check_error(o, "--entities must be in 1..1000000000, got 0");
    o = opts(100, MO_EVENTS_SYNTH_MAX_ENTITIES + 1);
    expect_check_error(o, "--entities must be in 1..1000000000, got 1000000001");
    o = opts(100, 10);
    o.days = 0;
    expect_check_error(o, "--days must be in 1..1000000, got 0");
    o = opts(100, 10);
    o.start_us += 1;
    expect_check_error(o, "--start must be a whole millisecond in 1970 or later");
    o.start_us = -1000;
    expect_check_error(o, "--start must be a whole millisecond in 1970 or later");
    o = opts(100, 10);
    o.start_us = INT64_C(253370764800000000); /* 9999-01-01 */
    o.days = 400;
    expect_check_error(o, "--start plus --days 400 ends after the year 9999");
    o = opts(100, 10);
    o.labels = -1;
    expect_check_error(o, "--labels must be >= 0, got -1");
}

static void test_events_synth__bad_arguments_are_errors(void)
{
    mo_events_synth_opts_t o = opts(100, 10);
    mo_error_t err = {0};
    rows_t r = rows_alloc(10);
    int64_t e[4], t[4];
    uint8_t c[4];
    CU_ASSERT_EQUAL(mo_events_synth_rows(&o, 95, 10, &r.c, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "event rows 95..105 are outside 0..100"));
    CU_ASSERT_EQUAL(mo_events_synth_rows(&o, -1, 1, &r.c, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_synth_rows(&o, 0, 1, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_synth_rows(NULL, 0, 1, &r.c, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_synth_rows(&o, 100, 0, &r.c, &err), 0); /* empty range: fine */
    CU_ASSERT_EQUAL(mo_events_synth_labels(&o, 0, 1, e, t, c, &err), MO_EINVAL); /* no labels */
    o.labels = 4;
    CU_ASSERT_EQUAL(mo_events_synth_labels(&o, 0, 4, e, t, c, &err), 0);
    CU_ASSERT_EQUAL(mo_events_synth_labels(&o, 0, 4, NULL, t, c, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_synth_write(tmp_file("x.parquet"), &o, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must end in .csv, .h5 or .hdf5"));
    CU_ASSERT_EQUAL(mo_events_synth_write(NULL, &o, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_events_synth_write("/nonexistent-dir/e.csv", &o, NULL, NULL, &err), MO_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-dir/e.csv"));
    CU_ASSERT_EQUAL(mo_events_synth_write("/nonexistent-dir/e.h5", &o, NULL, NULL, &err), MO_EIO);
    o.labels = 0;
    CU_ASSERT_EQUAL(mo_events_synth_write_labels(tmp_file("l.csv"), &o, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--labels must be >= 1"));
    rows_free(&r);
}

static void test_events_synth__keys_are_fixed_width_text(void)
{
    char k[MO_EVENTS_SYNTH_KEY_MAX];
    mo_events_synth_opts_t o = opts(1, 1000000);
    CU_ASSERT_EQUAL(mo_events_synth_key(k, &o, 42), 8);
    CU_ASSERT_STRING_EQUAL(k, "c0000042");
    o.entities = 10000000; /* largest number 9999999: still 7 digits */
    mo_events_synth_key(k, &o, 9999999);
    CU_ASSERT_STRING_EQUAL(k, "c9999999");
    o.entities = 10000001;
    mo_events_synth_key(k, &o, 7);
    CU_ASSERT_STRING_EQUAL(k, "c00000007");
    o.entities = MO_EVENTS_SYNTH_MAX_ENTITIES;
    CU_ASSERT_EQUAL(mo_events_synth_key(k, &o, MO_EVENTS_SYNTH_MAX_ENTITIES - 1),
                    MO_EVENTS_SYNTH_KEY_MAX - 1);
    CU_ASSERT_STRING_EQUAL(k, "c999999999");
}

static void test_events_synth__same_seed_same_rows_other_seed_differs(void)
{
    mo_events_synth_opts_t o = opts(2000, 50);
    mo_error_t err = {0};
    rows_t a = rows_alloc(2000), b = rows_alloc(2000);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, 2000, &a.c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, 2000, &b.c, &err), 0);
    CU_ASSERT(rows_equal(&a, 0, &b, 0, 2000));
    o.seed = 43;
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, 2000, &b.c, &err), 0);
    int64_t same = 0;
    for (int64_t i = 0; i < 2000; i++)
        same += a.c.event_ms[i] == b.c.event_ms[i];
    CU_ASSERT(same < 20);
    rows_free(&a);
    rows_free(&b);
}

/* Row i is the same whatever the table's length and however the rows are cut into calls,
 * including cuts inside a run of repeated rows (whose first row lies before the call). */
static void test_events_synth__row_independent_of_length_and_split(void)
{
    const int64_t n = 5000;
    mo_events_synth_opts_t o = opts(n, 300);
    mo_error_t err = {0};
    rows_t whole = rows_alloc(n), piece = rows_alloc(n);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, n, &whole.c, &err), 0);
    for (int64_t cut = 1; cut <= 1024; cut = cut * 3 + 1) {
        for (int64_t r = 0; r < n; r += cut) {
            int64_t k = n - r < cut ? n - r : cut;
            mo_events_synth_cols_t c = {piece.c.entity + r, piece.c.event_ms + r,
                                        piece.c.created_ms + r, piece.c.amount + r,
                                        piece.c.qty + r};
            CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, r, k, &c, &err), 0);
        }
        CU_ASSERT(rows_equal(&whole, 0, &piece, 0, n));
    }
    /* A longer table starts with the same rows; rows from the middle alone match too. */
    mo_events_synth_opts_t longer = opts(10 * n, 300);
    rows_t big = rows_alloc(n);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&longer, 0, n, &big.c, &err), 0);
    CU_ASSERT(rows_equal(&whole, 0, &big, 0, n));
    int checked_repeat = 0;
    for (int64_t i = 1; i + 1 < n && checked_repeat < 20; i++) {
        if (whole.c.entity[i] != whole.c.entity[i - 1] ||
            whole.c.event_ms[i] != whole.c.event_ms[i - 1])
            continue;
        mo_events_synth_cols_t c = {big.c.entity, big.c.event_ms, big.c.created_ms, big.c.amount,
                                    big.c.qty};
        CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&longer, i, 2, &c, &err), 0);
        CU_ASSERT(rows_equal(&whole, i, &big, 0, 2));
        checked_repeat++;
    }
    CU_ASSERT(checked_repeat >= 20); /* ~3% of 5000 rows repeat the row before */
    rows_free(&whole);
    rows_free(&piece);
    rows_free(&big);
}

/* Skew, ties, missing amounts, created after event, times in range: what the benchmarks and
 * tests need from the table. */
static void test_events_synth__table_has_skew_ties_and_gaps(void)
{
    const int64_t n = 200000, k = 20000;
    mo_events_synth_opts_t o = opts(n, k);
    mo_error_t err = {0};
    rows_t r = rows_alloc(n);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, n, &r.c, &err), 0);
    int64_t *count = calloc((size_t)k, sizeof *count), nan = 0, same_created = 0, ties = 0;
    int64_t start_ms = o.start_us / 1000, end_ms = start_ms + 30 * INT64_C(86400000);
    int in_range = 1, qty_ok = 1, cents_ok = 1;
    for (int64_t i = 0; i < n; i++) {
        CU_ASSERT_FATAL(r.c.entity[i] >= 0 && r.c.entity[i] < k);
        count[r.c.entity[i]]++;
        nan += isnan(r.c.amount[i]);
        same_created += r.c.created_ms[i] == r.c.event_ms[i];
        in_range &= r.c.event_ms[i] >= start_ms && r.c.event_ms[i] < end_ms &&
                    r.c.event_ms[i] % 1000 == 0 && r.c.created_ms[i] >= r.c.event_ms[i] &&
                    r.c.created_ms[i] <= r.c.event_ms[i] + 3000;
        qty_ok &= r.c.qty[i] >= 1 && r.c.qty[i] <= 9 && r.c.qty[i] == floor(r.c.qty[i]);
        ties += i && r.c.entity[i] == r.c.entity[i - 1] && r.c.event_ms[i] == r.c.event_ms[i - 1];
        /* whole cents: the double that decimal text with two places reads back as */
        cents_ok &= isnan(r.c.amount[i]) ||
                    (r.c.amount[i] >= 0 && r.c.amount[i] == round(r.c.amount[i] * 100) / 100);
    }
    CU_ASSERT(in_range);
    CU_ASSERT(qty_ok);
    CU_ASSERT(cents_ok);
    CU_ASSERT(nan > n / 200 && nan < n / 50);                     /* ~1% */
    CU_ASSERT(same_created > n / 5 && same_created < n * 3 / 10); /* ~25% */
    CU_ASSERT(ties > n / 50 && ties < n / 20);                    /* ~3% */
    int64_t max = 0, below_mean = 0;
    for (int64_t e = 0; e < k; e++) {
        max = count[e] > max ? count[e] : max;
        below_mean += count[e] < n / k;
    }
    CU_ASSERT(max > 20 * (n / k)); /* the most active entity: ~140 times the mean here */
    CU_ASSERT(below_mean > k / 2); /* and most entities below the mean */
    free(count);
    rows_free(&r);
}

static mo_events_spec_t events_spec(const char *path)
{
    static const char *values[] = {"amount", "qty"};
    mo_events_spec_t s = {.path = path,
                          .entity = "customer_id",
                          .timestamp = "event_ts",
                          .created = "created_ts",
                          .values = values,
                          .n_values = 2,
                          .ts_format = MO_TS_AUTO};
    return s;
}

/* The file as mo_events_read sees it equals the generated rows, column by column. */
static void expect_file_equals(const char *path, const mo_events_synth_opts_t *o, const rows_t *r)
{
    mo_events_spec_t s = events_spec(path);
    mo_events_t ev;
    mo_error_t err = {0};
    int rc = mo_events_read(&ev, &s, 0, -1, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(ev.n, o->events);
    int ok = 1;
    for (int64_t i = 0; ok && i < ev.n; i++) {
        char key[MO_EVENTS_SYNTH_KEY_MAX];
        mo_events_synth_key(key, o, r->c.entity[i]);
        ok = !strcmp(ev.pool + ev.key_off[i], key) && ev.ts[i] == r->c.event_ms[i] * 1000 &&
             ev.created[i] == r->c.created_ms[i] * 1000 &&
             same_double(ev.vals[2 * i], r->c.amount[i]) && ev.vals[2 * i + 1] == r->c.qty[i];
        if (!ok)
            fprintf(stderr, "\n  %s row %lld differs\n", path, (long long)i);
    }
    CU_ASSERT(ok);
    mo_events_free(&ev);
}

static int temp_files_left(void)
{
    DIR *d = opendir(mo_test_tmpdir());
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* More rows than one writing block (2^18), so block boundaries are crossed in both forms. */
static void test_events_synth__files_read_back_as_generated(void)
{
    const int64_t n = 300000;
    mo_events_synth_opts_t o = opts(n, 5000);
    mo_error_t err = {0};
    rows_t r = rows_alloc(n);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, n, &r.c, &err), 0);
    const char *csv = tmp_file("events.csv"), *h5 = tmp_file("events.h5");
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_write(csv, &o, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_write(h5, &o, NULL, NULL, &err), 0);
    expect_file_equals(csv, &o, &r);
    expect_file_equals(h5, &o, &r);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    rows_free(&r);
}

static void progress(void *ud, int64_t done, int64_t total)
{
    int64_t *calls = ud;
    CU_ASSERT(done > 0 && done <= total);
    calls[0]++;
    calls[1] = done;
}

static void test_events_synth__progress_reaches_the_total(void)
{
    mo_events_synth_opts_t o = opts(600000, 1000);
    mo_error_t err = {0};
    int64_t calls[2] = {0, 0};
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_write(tmp_file("p.h5"), &o, progress, calls, &err), 0);
    CU_ASSERT_EQUAL(calls[0], 3); /* blocks of 2^18 rows */
    CU_ASSERT_EQUAL(calls[1], 600000);
}

static void test_events_synth__labels_distinct_and_follow_activity(void)
{
    const int64_t n = 400000, k = 20000;
    mo_events_synth_opts_t o = opts(n, k);
    o.labels = k;
    mo_error_t err = {0};
    rows_t r = rows_alloc(n);
    int64_t *ent = calloc((size_t)k, 8), *ts = calloc((size_t)k, 8), *count = calloc((size_t)k, 8);
    uint8_t *churn = calloc((size_t)k, 1), *seen = calloc((size_t)k, 1);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_rows(&o, 0, n, &r.c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_labels(&o, 0, k, ent, ts, churn, &err), 0);
    for (int64_t i = 0; i < n; i++)
        count[r.c.entity[i]]++;
    int64_t dup = 0, churn_active = 0, active = 0, churn_quiet = 0, quiet = 0;
    for (int64_t j = 0; j < k; j++) {
        dup += seen[ent[j]]++;
        CU_ASSERT(ts[j] >= o.start_us / 1000 && ts[j] % 1000 == 0);
        if (count[ent[j]] >= 3 * (n / k)) { /* the busiest entities */
            active++;
            churn_active += churn[j];
        } else if (count[ent[j]] <= (n / k) / 2) {
            quiet++;
            churn_quiet += churn[j];
        }
    }
    CU_ASSERT_EQUAL(dup, 0); /* labels <= entities: every row a different entity */
    CU_ASSERT_FATAL(active > 100 && quiet > 100);
    CU_ASSERT(3 * churn_active * quiet < churn_quiet * active); /* 3x likelier when quiet */
    /* Row j alone is the same as within the whole run. */
    int64_t e1, t1;
    uint8_t c1;
    CU_ASSERT_EQUAL(mo_events_synth_labels(&o, 777, 1, &e1, &t1, &c1, &err), 0);
    CU_ASSERT(e1 == ent[777] && t1 == ts[777] && c1 == churn[777]);
    free(ent);
    free(ts);
    free(count);
    free(churn);
    free(seen);
    rows_free(&r);
}

/* The labels file, CSV and HDF5, read as kind: dataset reads entity rows. */
static void test_events_synth__label_files_read_back(void)
{
    mo_events_synth_opts_t o = opts(10, 1000);
    o.labels = 1500; /* more rows than entities: keys repeat after 1000 */
    mo_error_t err = {0};
    int64_t ent[1500], ts[1500], churned = -1;
    uint8_t churn[1500];
    CU_ASSERT_EQUAL_FATAL(mo_events_synth_labels(&o, 0, 1500, ent, ts, churn, &err), 0);
    int64_t want = 0;
    for (int j = 0; j < 1500; j++)
        want += churn[j];
    CU_ASSERT(ent[1000] == ent[0] && ent[1499] == ent[499]);
    const char *paths[] = {tmp_file("labels.csv"), tmp_file("labels.h5")};
    for (int p = 0; p < 2; p++) {
        CU_ASSERT_EQUAL_FATAL(mo_events_synth_write_labels(paths[p], &o, &churned, &err), 0);
        CU_ASSERT_EQUAL(churned, want);
        mo_events_spec_t s = {
            .path = paths[p], .entity = "customer_id", .timestamp = "event_ts", .label = "label"};
        mo_events_t ev;
        CU_ASSERT_EQUAL_FATAL(mo_events_read(&ev, &s, 0, -1, &err), 0);
        CU_ASSERT_EQUAL_FATAL(ev.n, 1500);
        int ok = 1;
        for (int j = 0; ok && j < 1500; j++) {
            char key[MO_EVENTS_SYNTH_KEY_MAX];
            mo_events_synth_key(key, &o, ent[j]);
            ok = !strcmp(ev.pool + ev.key_off[j], key) && ev.ts[j] == ts[j] * 1000 &&
                 !strcmp(ev.pool + ev.label_off[j], churn[j] ? "churn" : "stay");
        }
        CU_ASSERT(ok);
        mo_events_free(&ev);
    }
    CU_ASSERT_EQUAL(temp_files_left(), 0);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_events_synth__options_checked_with_cli_names),
    MO_TEST(test_events_synth__bad_arguments_are_errors),
    MO_TEST(test_events_synth__keys_are_fixed_width_text),
    MO_TEST(test_events_synth__same_seed_same_rows_other_seed_differs),
    MO_TEST(test_events_synth__row_independent_of_length_and_split),
    MO_TEST(test_events_synth__table_has_skew_ties_and_gaps),
    MO_TEST(test_events_synth__files_read_back_as_generated),
    MO_TEST(test_events_synth__progress_reaches_the_total),
    MO_TEST(test_events_synth__labels_distinct_and_follow_activity),
    MO_TEST(test_events_synth__label_files_read_back),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("io/events_synth", tests);
}
