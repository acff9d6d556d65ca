/* test_windows.c - windowed aggregations against a brute-force reference
 *
 * The reference takes the definition literally: for each row, scan the group for the rows with
 * t - w < ts <= t and aggregate them in long double (std in two passes). Random groups have
 * ties, microsecond steps, gaps of days, NaNs, signed zeros, single-event and empty groups.
 * count, min, max, last and distinct_count must match exactly. sum and mean must match within
 * 1e-9 of the window's sum of |x| (so, 1e-9 relative whenever the values share a sign), std
 * within 1e-9 relative plus 1e-15 of the window's largest |x| (the reference itself is only
 * that good when the values are nearly equal). The drift tests are the ones a plain running
 * add/subtract, or std without re-centring, fails by orders of magnitude.
 */
#include "kernels/windows.h"
#include "tests/unit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR INT64_C(3600000000)

static uint64_t rng_state = 42;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double uniform(void)
{
    return (double)(next_u64() >> 11) * 0x1.0p-53;
}

typedef struct {
    int64_t n, n_groups;
    int64_t *ts, *created, *gs;
    double *x; /* row-major, `stride` columns; the feature is column `col` */
    size_t stride, col;
} table_t;

static void table_free(table_t *t)
{
    free(t->ts);
    free(t->created);
    free(t->gs);
    free(t->x);
}

static double random_value(int kind)
{
    double u = uniform();
    if (u < 0.08)
        return NAN;
    if (u < 0.12)
        return u < 0.10 ? -0.0 : 0.0;
    switch (kind) {
    case 0: /* few distinct values: ties for min/max/distinct */
        return (double)(next_u64() % 7) - 2.0;
    case 1: /* large offset, small spread: what breaks an unshifted variance */
        return 1e9 + uniform();
    default: /* signed, wide magnitudes */
        return (uniform() - 0.3) * pow(10.0, (double)(next_u64() % 10) - 3.0);
    }
}

/* n_groups groups of random sizes (some empty, some single), 3 value columns. */
static table_t random_table(int64_t n_groups, int64_t max_size)
{
    table_t t = {0};
    t.n_groups = n_groups;
    t.stride = 3;
    t.col = 1;
    t.gs = malloc((size_t)(n_groups + 1) * sizeof *t.gs);
    int64_t cap = n_groups * max_size + 1;
    t.ts = malloc((size_t)cap * sizeof *t.ts);
    t.created = malloc((size_t)cap * sizeof *t.created);
    t.x = malloc((size_t)cap * t.stride * sizeof *t.x);
    int64_t n = 0;
    for (int64_t g = 0; g < n_groups; g++) {
        t.gs[g] = n;
        uint64_t r = next_u64() % 10;
        int64_t size = r == 0 ? 0 : r == 1 ? 1 : 1 + (int64_t)(next_u64() % (uint64_t)max_size);
        int kind = (int)(next_u64() % 3);
        /* some groups before 1970, some with huge timestamps */
        int64_t ts = (int64_t)(next_u64() % (1000 * HOUR)) - 500 * HOUR, created = ts;
        for (int64_t i = 0; i < size; i++, n++) {
            double u = uniform();
            if (i > 0) {
                int64_t step = u < 0.3    ? 0                                   /* a tie */
                               : u < 0.45 ? (int64_t)(next_u64() % 3)           /* 1 us apart */
                               : u < 0.55 ? (int64_t)(next_u64() % (48 * HOUR)) /* a gap */
                                          : (int64_t)(next_u64() % (HOUR / 4));
                ts += step;
                created = step ? ts : created + (int64_t)(next_u64() % 2);
            }
            t.ts[n] = ts;
            t.created[n] = created;
            for (size_t c = 0; c < t.stride; c++)
                t.x[(size_t)n * t.stride + c] = c == t.col ? random_value(kind) : -12345.0;
        }
    }
    t.gs[n_groups] = n;
    t.n = n;
    return t;
}

/* ---- the reference ---------------------------------------------------------------------- */

typedef struct {
    double value;
    double tol; /* 0: exact */
} expect_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static expect_t reference(const table_t *t, mo_agg_t agg, int64_t w, int64_t g, int64_t i,
                          double *scratch)
{
    int64_t a = t->gs[g], b = t->gs[g + 1], now = t->ts[i], hi = i;
    while (hi < b && t->ts[hi] == now)
        hi++;
    size_t m = 0;
    long double sum = 0, sum_abs = 0, max_abs = 0;
    int64_t last = -1;
    /* the first row inside: rows are sorted, so scan back from the end of the window (long
     * windows of long groups would make a scan from the group's start O(n^2)) */
    int64_t lo = hi;
    while (lo > a && (!w || (long double)now - (long double)w < (long double)t->ts[lo - 1]))
        lo--;
    for (int64_t k = lo; k < hi; k++) {
        /* t - w < ts, in long double: no overflow for any int64 pair */
        if (w && !((long double)now - (long double)w < (long double)t->ts[k]))
            continue;
        if (last < 0 || t->ts[k] > t->ts[last] ||
            (t->ts[k] == t->ts[last] && t->created[k] >= t->created[last]))
            last = k;
        double v = t->x[(size_t)k * t->stride + t->col];
        if (isnan(v))
            continue;
        scratch[m++] = v;
        sum += v;
        sum_abs += fabsl(v);
        max_abs = fmaxl(max_abs, fabsl(v));
    }
    expect_t e = {0, 0};
    switch (agg) {
    case MO_AGG_COUNT:
        e.value = (double)m;
        break;
    case MO_AGG_SUM:
        e.value = (double)sum;
        e.tol = 1e-9 * (double)sum_abs;
        break;
    case MO_AGG_MEAN:
        e.value = m ? (double)(sum / m) : NAN;
        e.tol = m ? 1e-9 * (double)(sum_abs / m) : 0;
        break;
    case MO_AGG_MIN:
    case MO_AGG_MAX:
        e.value = NAN;
        for (size_t k = 0; k < m; k++)
            if (isnan(e.value) || (agg == MO_AGG_MIN ? scratch[k] < e.value : scratch[k] > e.value))
                e.value = scratch[k];
        break;
    case MO_AGG_STD: {
        if (m < 2) {
            e.value = NAN;
            break;
        }
        long double mean = sum / m, ss = 0;
        for (size_t k = 0; k < m; k++)
            ss += (scratch[k] - mean) * (scratch[k] - mean);
        e.value = (double)sqrtl(ss / (m - 1));
        e.tol = 1e-9 * fabs(e.value) + 1e-15 * (double)max_abs;
        break;
    }
    case MO_AGG_LAST:
        e.value = t->x[(size_t)last * t->stride + t->col];
        break;
    case MO_AGG_DISTINCT_COUNT: {
        for (size_t k = 0; k < m; k++)
            scratch[k] += 0.0; /* -0.0 and 0.0 are one value */
        qsort(scratch, m, sizeof *scratch, cmp_double);
        size_t d = 0;
        for (size_t k = 0; k < m; k++)
            d += k == 0 || scratch[k] != scratch[k - 1];
        e.value = (double)d;
        break;
    }
    }
    return e;
}

static int same(double got, expect_t e)
{
    if (isnan(e.value) || isnan(got))
        return isnan(e.value) && isnan(got);
    if (isinf(e.value) || e.tol == 0)
        return got == e.value;
    return fabs(got - e.value) <= e.tol;
}

/* Rows where `agg` over window `w` differs from the reference (0 when all agree). */
static int64_t mismatches(const table_t *t, mo_agg_t agg, int64_t w)
{
    double *out = malloc((size_t)(t->n ? t->n : 1) * sizeof *out);
    double *scratch = malloc((size_t)(t->n ? t->n : 1) * sizeof *scratch);
    mo_error_t err = {0};
    int64_t bad = 0;
    int rc = mo_window_compute(agg, w, t->ts, t->created, t->x + t->col, t->stride, t->n, t->gs,
                               t->n_groups, out, &err);
    CU_ASSERT_EQUAL(rc, 0);
    for (int64_t g = 0; g < t->n_groups && rc == 0; g++)
        for (int64_t i = t->gs[g]; i < t->gs[g + 1]; i++) {
            expect_t e = reference(t, agg, w, g, i, scratch);
            if (!same(out[i], e) && bad++ < 3)
                fprintf(stderr, "%s w=%lld row %lld: got %.17g, want %.17g (tol %g)\n",
                        mo_agg_names[agg], (long long)w, (long long)i, out[i], e.value, e.tol);
        }
    free(out);
    free(scratch);
    return rc ? -1 : bad;
}

static const int64_t windows[] = {0, 1, 2, HOUR, 24 * HOUR, INT64_C(1) << 60, INT64_MAX};
#define N_WINDOWS (sizeof windows / sizeof windows[0])

static void test_windows__every_agg_matches_brute_force(void)
{
    rng_state = 1;
    table_t t = random_table(300, 60);
    for (int agg = MO_AGG_COUNT; agg <= MO_AGG_DISTINCT_COUNT; agg++)
        for (size_t k = 0; k < N_WINDOWS; k++)
            CU_ASSERT_EQUAL(mismatches(&t, (mo_agg_t)agg, windows[k]), 0);
    table_free(&t);
}

/* A few long groups: windows hold hundreds of rows, the deques and the map grow and shrink. */
static void test_windows__long_groups_match_brute_force(void)
{
    rng_state = 2;
    table_t t = random_table(4, 1500);
    for (int agg = MO_AGG_COUNT; agg <= MO_AGG_DISTINCT_COUNT; agg++) {
        CU_ASSERT_EQUAL(mismatches(&t, (mo_agg_t)agg, HOUR), 0);
        CU_ASSERT_EQUAL(mismatches(&t, (mo_agg_t)agg, 0), 0);
    }
    table_free(&t);
}

/* One group, one row per second, a 100 s window. Every 1000th value is +-1e15 (one huge value
 * in the window at a time, then none); the others are small. A plain running sum keeps the
 * rounding error of each huge value after it leaves (about 0.06 each) and ends far off. */
static table_t drift_table(int64_t n, double (*value)(int64_t i))
{
    table_t t = {0};
    t.n = n;
    t.n_groups = 1;
    t.stride = 1;
    t.gs = malloc(2 * sizeof *t.gs);
    t.gs[0] = 0;
    t.gs[1] = n;
    t.ts = malloc((size_t)n * sizeof *t.ts);
    t.created = malloc((size_t)n * sizeof *t.created);
    t.x = malloc((size_t)n * sizeof *t.x);
    for (int64_t i = 0; i < n; i++) {
        t.ts[i] = t.created[i] = i * 1000000;
        t.x[i] = value(i);
    }
    return t;
}

static double spiky(int64_t i)
{
    if (i % 1000 == 0)
        return (i / 1000 % 2 ? -1 : 1) * 1e15 * (1 + uniform());
    return uniform() + 0.1;
}

/* A spread of about 0.3 around a level that jumps by 1e10 every 500 rows: the window's mean
 * leaves any fixed shift far behind (by 1e21 variances at the end), so std must re-centre to
 * keep any digits at all. */
static double stepping(int64_t i)
{
    return (double)(i / 500) * 1e10 + uniform();
}

static void test_windows__running_sums_do_not_drift(void)
{
    rng_state = 3;
    table_t t = drift_table(30000, spiky);
    CU_ASSERT_EQUAL(mismatches(&t, MO_AGG_SUM, 100 * INT64_C(1000000)), 0);
    CU_ASSERT_EQUAL(mismatches(&t, MO_AGG_MEAN, 100 * INT64_C(1000000)), 0);
    CU_ASSERT_EQUAL(mismatches(&t, MO_AGG_STD, 100 * INT64_C(1000000)), 0);
    table_free(&t);
    t = drift_table(30000, stepping);
    CU_ASSERT_EQUAL(mismatches(&t, MO_AGG_STD, 100 * INT64_C(1000000)), 0);
    CU_ASSERT_EQUAL(mismatches(&t, MO_AGG_SUM, 100 * INT64_C(1000000)), 0);
    table_free(&t);
}

/* The window start is exclusive, its end takes every row of the current timestamp. */
static void test_windows__window_edges_and_ties(void)
{
    const int64_t ts[] = {10, 20, 20, 30, 40}, created[] = {10, 21, 20, 30, 40}, gs[] = {0, 5};
    const double x[] = {1, 2, 4, NAN, 8};
    double out[5];
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 10, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    const double sum10[] = {1, 6, 6, 0, 8}; /* at 30: (20, 30] holds the NaN only */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(out[i], sum10[i]);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_COUNT, 0, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    const double count[] = {1, 3, 3, 3, 4};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(out[i], count[i]);
    /* last: the greatest created among the tie (row 1, created 21), and NaN when last is NaN */
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_LAST, 0, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    CU_ASSERT_EQUAL(out[0], 1);
    CU_ASSERT_EQUAL(out[1], 2);
    CU_ASSERT_EQUAL(out[2], 2);
    CU_ASSERT(isnan(out[3]));
    CU_ASSERT_EQUAL(out[4], 8);
    /* created out of order within a tie: the greatest wins, the later of equal ones */
    const int64_t ts3[] = {5, 5, 5}, created3[] = {9, 9, 3}, gs3[] = {0, 3};
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_LAST, 0, ts3, created3, x, 1, 3, gs3, 1, out, &err),
                    0);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(out[2], 2);
    /* std: NaN below two values; mean and min NaN with none */
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_STD, 1, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    CU_ASSERT(isnan(out[0]));
    CU_ASSERT_DOUBLE_EQUAL(out[1], sqrt(2.0), 1e-15);
    CU_ASSERT(isnan(out[3]));
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_MEAN, 1, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    CU_ASSERT(isnan(out[3]));
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 1, ts, created, x, 1, 5, gs, 1, out, &err), 0);
    CU_ASSERT_EQUAL(out[3], 0.0);
}

static void test_windows__infinities_and_signed_zeros(void)
{
    const int64_t ts[] = {1, 2, 3, 4, 5, 6}, gs[] = {0, 6};
    const double x[] = {INFINITY, -INFINITY, 1, -0.0, 0.0, 2};
    double out[6];
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 2, ts, ts, x, 1, 6, gs, 1, out, &err), 0);
    CU_ASSERT_EQUAL(out[0], INFINITY);
    CU_ASSERT(isnan(out[1]));           /* inf + -inf */
    CU_ASSERT_EQUAL(out[2], -INFINITY); /* +inf has left */
    CU_ASSERT_EQUAL(out[3], 1.0);       /* no NaN left behind by inf - inf */
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_STD, 3, ts, ts, x, 1, 6, gs, 1, out, &err), 0);
    CU_ASSERT(isnan(out[3]));
    CU_ASSERT_DOUBLE_EQUAL(out[4], sqrt(1.0 / 3.0), 1e-15); /* 1, -0, 0 */
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_DISTINCT_COUNT, 2, ts, ts, x, 1, 6, gs, 1, out, &err),
                    0);
    CU_ASSERT_EQUAL(out[4], 1.0); /* -0.0 and 0.0 */
    CU_ASSERT_EQUAL(out[5], 2.0);
}

static void test_windows__bad_arguments(void)
{
    const int64_t ts[] = {1, 2, 2}, gs[] = {0, 3}, bad_gs[] = {0, 2}, back[] = {1, 3, 2};
    const double x[] = {1, 2, 3};
    double out[3];
    mo_error_t err = {0};
    CU_ASSERT_EQUAL(mo_window_compute((mo_agg_t)99, 0, ts, ts, x, 1, 3, gs, 1, out, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, -1, ts, ts, x, 1, 3, gs, 1, out, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 0, ts, ts, x, 0, 3, gs, 1, out, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 0, ts, ts, x, 1, 3, gs, 1, NULL, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 0, ts, ts, x, 1, 3, NULL, 1, out, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 0, ts, ts, x, 1, 3, bad_gs, 1, out, &err),
                    MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_SUM, 0, back, ts, x, 1, 3, gs, 1, out, &err),
                    MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rows 1 and 2 of group 0 are not in time order"));
    /* nothing to do is fine, with NULL columns */
    const int64_t none[] = {0};
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_MIN, 5, NULL, NULL, NULL, 1, 0, none, 0, NULL, &err),
                    0);
    /* created may be NULL: ties then go to the later row */
    CU_ASSERT_EQUAL(mo_window_compute(MO_AGG_LAST, 0, ts, NULL, x, 1, 3, gs, 1, out, &err), 0);
    CU_ASSERT_EQUAL(out[1], 3.0);
}

/* mo_window_sums writes, for every subset of count, sum and mean, the bits mo_window_compute
 * writes for each alone (random groups with ties, NaN and signed zeros; then infinities). */
static void test_windows__sums_together_equal_each_alone(void)
{
    rng_state = 3;
    table_t t = random_table(300, 60);
    size_t n = (size_t)(t.n ? t.n : 1);
    double *alone = malloc(3 * n * sizeof *alone), *fused = malloc(3 * n * sizeof *fused);
    mo_error_t err = {0};
    for (size_t k = 0; k < N_WINDOWS; k++) {
        for (int a = 0; a < 3; a++)
            CU_ASSERT_EQUAL(mo_window_compute((mo_agg_t)(MO_AGG_COUNT + a), windows[k], t.ts,
                                              t.created, t.x + t.col, t.stride, t.n, t.gs,
                                              t.n_groups, alone + (size_t)a * n, &err),
                            0);
        for (int mask = 1; mask < 8; mask++) {
            for (size_t i = 0; i < 3 * n; i++)
                fused[i] = 12345.0;
            double *o[3];
            for (int a = 0; a < 3; a++)
                o[a] = mask & (1 << a) ? fused + (size_t)a * n : NULL;
            CU_ASSERT_EQUAL(mo_window_sums(windows[k], t.ts, t.x + t.col, t.stride, t.n, t.gs,
                                           t.n_groups, o[0], o[1], o[2], &err),
                            0);
            for (int a = 0; a < 3; a++) {
                const double *want = alone + (size_t)a * n, *got = fused + (size_t)a * n;
                int64_t bad = 0;
                for (int64_t i = 0; i < t.n; i++)
                    bad += o[a] ? memcmp(&got[i], &want[i], sizeof *got) != 0 : got[i] != 12345.0;
                CU_ASSERT_EQUAL(bad, 0);
            }
        }
    }
    table_free(&t);
    const int64_t ts[] = {1, 2, 3, 4, 5, 6}, gs[] = {0, 6};
    const double x[] = {INFINITY, -INFINITY, 1, -0.0, 0.0, 2};
    double c[6], sum[6], mean[6];
    CU_ASSERT_EQUAL(mo_window_sums(2, ts, x, 1, 6, gs, 1, c, sum, mean, &err), 0);
    CU_ASSERT_EQUAL(c[1], 2.0);
    CU_ASSERT(isnan(sum[1]) && isnan(mean[1])); /* inf + -inf */
    CU_ASSERT_EQUAL(sum[2], -INFINITY);
    CU_ASSERT_EQUAL(mean[3], 0.5); /* 1 and -0 */
    /* its bad arguments are mo_window_compute's, named as its own */
    const int64_t back[] = {1, 3, 2}, gs3[] = {0, 3};
    CU_ASSERT_EQUAL(mo_window_sums(0, back, x, 1, 3, gs3, 1, c, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mo_window_sums: rows 1 and 2 of group 0"));
    CU_ASSERT_EQUAL(mo_window_sums(-1, ts, x, 1, 6, gs, 1, c, NULL, NULL, &err), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_window_sums(0, ts, x, 1, 6, gs, 1, NULL, NULL, NULL, &err), MO_EINVAL);
    const int64_t none[] = {0};
    CU_ASSERT_EQUAL(mo_window_sums(0, NULL, NULL, 1, 0, none, 0, NULL, NULL, NULL, &err), 0);
    free(alone);
    free(fused);
}

static void test_windows__names_in_enum_order(void)
{
    CU_ASSERT_STRING_EQUAL(mo_agg_names[MO_AGG_COUNT], "count");
    CU_ASSERT_STRING_EQUAL(mo_agg_names[MO_AGG_STD], "std");
    CU_ASSERT_STRING_EQUAL(mo_agg_names[MO_AGG_LAST], "last");
    CU_ASSERT_STRING_EQUAL(mo_agg_names[MO_AGG_DISTINCT_COUNT], "distinct_count");
    CU_ASSERT_PTR_NULL(mo_agg_names[MO_AGG_DISTINCT_COUNT + 1]);
}

static CU_TestInfo tests[] = {
    MO_TEST(test_windows__every_agg_matches_brute_force),
    MO_TEST(test_windows__long_groups_match_brute_force),
    MO_TEST(test_windows__running_sums_do_not_drift),
    MO_TEST(test_windows__window_edges_and_ties),
    MO_TEST(test_windows__infinities_and_signed_zeros),
    MO_TEST(test_windows__bad_arguments),
    MO_TEST(test_windows__sums_together_equal_each_alone),
    MO_TEST(test_windows__names_in_enum_order),
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return mo_test_main("jobs/windows", tests);
}
