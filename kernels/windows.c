/* windows.c - windowed aggregations over sorted events, one pass and two pointers per group
 *
 * An entity's rows are sorted by (ts, created), so the window of the event at t is a range of
 * rows [lo, hi) whose ends only move forward: rows enter at hi as t advances and leave at lo
 * once ts <= t - w. Rows with one ts share their features, so the loop takes a whole run of
 * equal ts at once: add the run, evict, then write one value to every row of the run. Each
 * aggregation keeps a state with O(1) amortised add and remove:
 *   - count, sum, mean: the finite values in a double-double accumulator (TwoSum, error-free
 *     per step), infinities counted apart. A plain running add and subtract drifts: after a
 *     large value leaves, its rounding error stays behind. The pair (hi, lo) keeps the running
 *     sum to within ~k^2 eps^2 * (largest partial sum) after k steps (3e-19 of it for k = 5M),
 *     so the result is the window's exact sum to about an ulp; it is reset to exactly 0
 *     whenever the window holds no finite value. Infinities summed and then removed would
 *     leave NaN behind, hence their counts: +inf, -inf, or NaN with both, as a direct sum.
 *     (k^2 eps^2: lo gathers k errors of at most eps * |sum| each, rounded as it goes.)
 *   - min, max: monotonic deques of row indices.
 *   - std: the same accumulators over x - K for a shift K. The sum of squared deviations is
 *     S2 - S1^2 / n, which loses about (1 + n m^2 / ss) ulps when the window's mean has moved
 *     m away from K; when that ratio passes SHIFT_RATIO the sums are recomputed from the
 *     window with K the window value nearest its mean (which makes the ratio at most 1). A
 *     recompute costs the window's size and is allowed only after as many adds, so the pass
 *     stays O(n).
 *   - distinct_count: an open-addressing map value -> count (linear probing, backward-shift
 *     deletion, so no tombstones pile up in long groups); the answer is the occupied slots.
 *   - last: needs no state: the current run always lies inside its own window.
 * NaN values are skipped by everything but last.
 */
#include "kernels/windows.h"

#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mo_agg_names[] = {
    [MO_AGG_COUNT] = "count",
    [MO_AGG_SUM] = "sum",
    [MO_AGG_MEAN] = "mean",
    [MO_AGG_MIN] = "min",
    [MO_AGG_MAX] = "max",
    [MO_AGG_STD] = "std",
    [MO_AGG_LAST] = "last",
    [MO_AGG_DISTINCT_COUNT] = "distinct_count",
    NULL,
};

/* The sums of squared deviations are recomputed when n m^2 > SHIFT_RATIO * ss: at most
 * ~(1 + SHIFT_RATIO) ulps of ss are lost to cancellation before that. */
#define SHIFT_RATIO 64.0

typedef struct {
    const int64_t *ts, *created;
    const double *x;
    size_t stride;
    uint64_t w; /* 0: no window */
} src_t;

static inline double xv(const src_t *s, int64_t i)
{
    return s->x[(size_t)i * s->stride];
}

/* One past the last row of the run of rows with ts[i]'s timestamp. */
static inline int64_t run_end(const src_t *s, int64_t i, int64_t end)
{
    int64_t j = i + 1;
    while (j < end && s->ts[j] == s->ts[i])
        j++;
    return j;
}

/* 1 when row i has left the window of time t (ts[i] <= t - w). Computed as t - ts[i] >= w in
 * unsigned arithmetic: t >= ts[i] within a sorted group, and the difference of two int64
 * always fits a uint64, where t - w could overflow for timestamps near INT64_MIN. */
static inline int gone(const src_t *s, int64_t i, int64_t t)
{
    return s->w && (uint64_t)t - (uint64_t)s->ts[i] >= s->w;
}

/* ---- double-double accumulator -------------------------------------------------------- */

typedef struct {
    double hi, lo;
} dd_t;

/* hi + lo += v: TwoSum puts the exact rounding error of hi + v into lo. */
static inline void dd_add(dd_t *a, double v)
{
    double s = a->hi + v, bv = s - a->hi;
    a->lo += (a->hi - (s - bv)) + (v - bv);
    a->hi = s;
}

static inline double dd_value(const dd_t *a)
{
    return a->hi + a->lo;
}

/* ---- count, sum, mean ------------------------------------------------------------------ */

typedef struct {
    dd_t sum;
    int64_t n, pinf, ninf; /* finite values; +inf and -inf */
} sums_t;

static inline void sums_add(sums_t *st, double v, double sign)
{
    if (isnan(v))
        return;
    if (isinf(v)) {
        *(v > 0 ? &st->pinf : &st->ninf) += (int64_t)sign;
        return;
    }
    dd_add(&st->sum, sign * v);
    st->n += (int64_t)sign;
    if (st->n == 0)
        st->sum = (dd_t){0, 0};
}

static double sums_emit(const sums_t *st, mo_agg_t agg)
{
    int64_t count = st->n + st->pinf + st->ninf;
    if (agg == MO_AGG_COUNT)
        return (double)count;
    if (agg == MO_AGG_MEAN && count == 0)
        return NAN;
    if (st->pinf || st->ninf)
        return st->pinf && st->ninf ? NAN : st->pinf ? INFINITY : -INFINITY;
    double sum = dd_value(&st->sum);
    return agg == MO_AGG_SUM ? sum : sum / (double)st->n;
}

/* count, sum and mean from one pass over the same sums: out[MO_AGG_COUNT..MO_AGG_MEAN], each
 * NULL when not wanted. */
static void agg_sums(const src_t *s, const int64_t *gs, int64_t n_groups, double *const out[3])
{
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t lo = gs[g], end = gs[g + 1];
        sums_t st = {{0, 0}, 0, 0, 0};
        for (int64_t i = gs[g]; i < end;) {
            int64_t j = run_end(s, i, end), t = s->ts[i];
            for (int64_t k = i; k < j; k++)
                sums_add(&st, xv(s, k), 1.0);
            while (lo < i && gone(s, lo, t))
                sums_add(&st, xv(s, lo++), -1.0);
            for (int a = MO_AGG_COUNT; a <= MO_AGG_MEAN; a++) {
                if (!out[a])
                    continue;
                double v = sums_emit(&st, (mo_agg_t)a);
                for (int64_t k = i; k < j; k++)
                    out[a][k] = v;
            }
            i = j;
        }
    }
}

/* ---- min, max -------------------------------------------------------------------------- */

/* dq holds, oldest first, the rows that can still be the extreme of a later window: each is
 * better than every row after it. `dq` has room for the largest group. */
static void agg_extreme(int is_max, const src_t *s, const int64_t *gs, int64_t n_groups,
                        int64_t *dq, double *out)
{
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t end = gs[g + 1], head = 0, tail = 0;
        for (int64_t i = gs[g]; i < end;) {
            int64_t j = run_end(s, i, end), t = s->ts[i];
            for (int64_t k = i; k < j; k++) {
                double v = xv(s, k);
                if (isnan(v))
                    continue;
                /* a newer row at least as good makes the older one useless */
                while (tail > head &&
                       (is_max ? xv(s, dq[tail - 1]) <= v : xv(s, dq[tail - 1]) >= v))
                    tail--;
                dq[tail++] = k;
            }
            while (head < tail && gone(s, dq[head], t))
                head++;
            double v = head < tail ? xv(s, dq[head]) : NAN;
            for (; i < j; i++)
                out[i] = v;
        }
    }
}

/* ---- std ------------------------------------------------------------------------------- */

typedef struct {
    double k;      /* the shift */
    dd_t s1, s2;   /* sums of (x - k) and (x - k)^2 over the finite values */
    int64_t n;     /* finite values */
    int64_t inf;   /* infinite values: any makes std NaN, as (inf - mean) is */
    int64_t since; /* adds since the last recompute */
} moments_t;

static inline void moments_add(moments_t *st, double v, double sign)
{
    if (isnan(v))
        return;
    if (isinf(v)) {
        st->inf += (int64_t)sign;
        return;
    }
    if (st->n == 0) /* an empty window starts afresh, centred on its first value */
        st->k = v;
    double d = v - st->k;
    dd_add(&st->s1, sign * d);
    dd_add(&st->s2, sign * d * d);
    st->n += (int64_t)sign;
    st->since += sign > 0;
    if (st->n == 0) {
        st->s1 = (dd_t){0, 0};
        st->s2 = (dd_t){0, 0};
    }
}

/* Recompute the sums over rows [lo, hi) around the window value nearest to its mean. */
static void moments_reshift(moments_t *st, const src_t *s, int64_t lo, int64_t hi)
{
    dd_t sum = {0, 0};
    for (int64_t i = lo; i < hi; i++)
        if (isfinite(xv(s, i)))
            dd_add(&sum, xv(s, i));
    double mean = dd_value(&sum) / (double)st->n, best = INFINITY;
    for (int64_t i = lo; i < hi; i++) {
        double v = xv(s, i);
        if (isfinite(v) && fabs(v - mean) < best) {
            best = fabs(v - mean);
            st->k = v;
        }
    }
    st->s1 = st->s2 = (dd_t){0, 0};
    for (int64_t i = lo; i < hi; i++) {
        double v = xv(s, i);
        if (isfinite(v)) {
            double d = v - st->k;
            dd_add(&st->s1, d);
            dd_add(&st->s2, d * d);
        }
    }
    st->since = 0;
}

static double moments_std(moments_t *st, const src_t *s, int64_t lo, int64_t hi)
{
    if (st->inf || st->n < 2)
        return NAN;
    double n = (double)st->n, s1 = dd_value(&st->s1), m = s1 / n;
    double ss = dd_value(&st->s2) - s1 * m;
    if (n * m * m > SHIFT_RATIO * ss && st->since >= st->n) {
        moments_reshift(st, s, lo, hi);
        s1 = dd_value(&st->s1);
        ss = dd_value(&st->s2) - s1 * (s1 / n);
    }
    return sqrt(ss > 0 ? ss / (n - 1) : 0.0);
}

static void agg_std(const src_t *s, const int64_t *gs, int64_t n_groups, double *out)
{
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t lo = gs[g], end = gs[g + 1];
        moments_t st;
        memset(&st, 0, sizeof st);
        for (int64_t i = gs[g]; i < end;) {
            int64_t j = run_end(s, i, end), t = s->ts[i];
            for (int64_t k = i; k < j; k++)
                moments_add(&st, xv(s, k), 1.0);
            while (lo < i && gone(s, lo, t))
                moments_add(&st, xv(s, lo++), -1.0);
            double v = moments_std(&st, s, lo, j);
            for (; i < j; i++)
                out[i] = v;
        }
    }
}

/* ---- distinct_count -------------------------------------------------------------------- */

typedef struct {
    uint64_t key;  /* the value's bits, -0.0 folded into 0.0 */
    int64_t count; /* 0: empty slot */
} slot_t;

typedef struct {
    slot_t *slot;
    size_t mask, used;
} counts_t;

static inline uint64_t key_of(double v)
{
    uint64_t k;
    v = v == 0.0 ? 0.0 : v; /* -0.0 == 0.0: one value */
    memcpy(&k, &v, sizeof k);
    return k;
}

static inline size_t slot_of(const counts_t *m, uint64_t k)
{
    k ^= k >> 33; /* murmur3's finaliser: doubles differ mostly in their high bits */
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return (size_t)k & m->mask;
}

static inline size_t counts_find(const counts_t *m, uint64_t k)
{
    size_t i = slot_of(m, k);
    while (m->slot[i].count && m->slot[i].key != k)
        i = (i + 1) & m->mask;
    return i;
}

/* Double the table (kept at most half full, so probes stay short); 0 or MO_ENOMEM. */
static int counts_grow(counts_t *m)
{
    size_t cap = (m->mask + 1) * 2;
    slot_t *old = m->slot;
    m->slot = mo_calloc(cap, sizeof *m->slot);
    if (!m->slot) {
        m->slot = old;
        return MO_ENOMEM;
    }
    m->mask = cap - 1;
    for (size_t i = 0; i < cap / 2; i++)
        if (old[i].count)
            m->slot[counts_find(m, old[i].key)] = old[i];
    free(old);
    return 0;
}

static inline int counts_add(counts_t *m, double v)
{
    if (isnan(v))
        return 0;
    if ((m->used + 1) * 2 > m->mask + 1 && counts_grow(m))
        return MO_ENOMEM;
    uint64_t k = key_of(v);
    size_t i = counts_find(m, k);
    if (!m->slot[i].count) {
        m->slot[i].key = k;
        m->used++;
    }
    m->slot[i].count++;
    return 0;
}

/* Remove one occurrence (the value is in the map: it was added and not yet removed). On the
 * last one, later slots of the probe chain move back into the hole, so that a lookup never
 * stops early at it. */
static inline void counts_remove(counts_t *m, double v)
{
    if (isnan(v))
        return;
    size_t i = counts_find(m, key_of(v));
    MO_ASSERT(m->slot[i].count > 0);
    if (--m->slot[i].count)
        return;
    m->used--;
    for (size_t j = (i + 1) & m->mask; m->slot[j].count; j = (j + 1) & m->mask) {
        size_t home = slot_of(m, m->slot[j].key);
        /* j's entry may fill the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slot[i] = m->slot[j];
            m->slot[j].count = 0;
            i = j;
        }
    }
}

static int agg_distinct(const src_t *s, const int64_t *gs, int64_t n_groups, double *out,
                        mo_error_t *err)
{
    counts_t m = {mo_calloc(16, sizeof(slot_t)), 15, 0};
    int ret = 0;
    if (!m.slot)
        return mo_errorf(err, MO_ENOMEM, "mo_window_compute: out of memory");
    for (int64_t g = 0; g < n_groups && !ret; g++) {
        int64_t lo = gs[g], end = gs[g + 1];
        for (int64_t i = gs[g]; i < end && !ret;) {
            int64_t j = run_end(s, i, end), t = s->ts[i];
            for (int64_t k = i; k < j && !ret; k++)
                ret = counts_add(&m, xv(s, k));
            while (lo < i && gone(s, lo, t))
                counts_remove(&m, xv(s, lo++));
            for (double v = (double)m.used; i < j; i++)
                out[i] = v;
        }
        /* Empty the map by removing what the window still holds: O(group), where clearing
         * the whole table after one large group would cost its size for every later group. */
        while (!ret && lo < end)
            counts_remove(&m, xv(s, lo++));
    }
    free(m.slot);
    if (ret)
        return mo_errorf(err, ret, "mo_window_compute: out of memory for distinct values");
    return 0;
}

/* ---- last ------------------------------------------------------------------------------ */

static void agg_last(const src_t *s, const int64_t *gs, int64_t n_groups, double *out)
{
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t end = gs[g + 1];
        for (int64_t i = gs[g]; i < end;) {
            int64_t j = run_end(s, i, end), best = j - 1;
            /* Sorted input has the greatest created last; looking costs little and keeps an
             * unsorted run right (ties: the later row) */
            for (int64_t k = i; s->created && k < j; k++)
                if (s->created[k] >= s->created[best])
                    best = k;
            double v = xv(s, best);
            for (; i < j; i++)
                out[i] = v;
        }
    }
}

/* ---- entry point ----------------------------------------------------------------------- */

/* The groups tile [0, n) in order and each is sorted by ts; *max_group is the largest. */
static int check_rows(const char *fn, const int64_t *ts, int64_t n, const int64_t *gs,
                      int64_t n_groups, int64_t *max_group, mo_error_t *err)
{
    if (gs[0] != 0 || gs[n_groups] != n)
        return mo_errorf(err, MO_EINVAL,
                         "%s: group_start must run from 0 to n = %lld, got %lld .. %lld", fn,
                         (long long)n, (long long)gs[0], (long long)gs[n_groups]);
    *max_group = 0;
    for (int64_t g = 0; g < n_groups; g++) {
        if (gs[g + 1] < gs[g])
            return mo_errorf(err, MO_EINVAL, "%s: group_start[%lld] = %lld is below the one before",
                             fn, (long long)g + 1, (long long)gs[g + 1]);
        if (gs[g + 1] - gs[g] > *max_group)
            *max_group = gs[g + 1] - gs[g];
        for (int64_t i = gs[g] + 1; i < gs[g + 1]; i++)
            if (ts[i] < ts[i - 1])
                return mo_errorf(err, MO_EINVAL,
                                 "%s: rows %lld and %lld of group %lld are not in time order "
                                 "(ts %lld then %lld)",
                                 fn, (long long)i - 1, (long long)i, (long long)g,
                                 (long long)ts[i - 1], (long long)ts[i]);
    }
    return 0;
}

/* The arguments every entry point takes; *max_group: the largest group. */
static int check_args(const char *fn, int64_t window_us, const int64_t *ts, const double *x,
                      size_t stride, int64_t n, const int64_t *group_start, int64_t n_groups,
                      int have_out, int64_t *max_group, mo_error_t *err)
{
    if (window_us < 0)
        return mo_errorf(err, MO_EINVAL, "%s: window must be >= 0 us (0: none), got %lld", fn,
                         (long long)window_us);
    if (n < 0 || n_groups < 0)
        return mo_errorf(err, MO_EINVAL, "%s: negative row or group count (%lld, %lld)", fn,
                         (long long)n, (long long)n_groups);
    if (stride < 1 || (n > 0 && stride > SIZE_MAX / (uint64_t)n))
        return mo_errorf(err, MO_EINVAL, "%s: stride %zu is out of range for %lld rows", fn, stride,
                         (long long)n);
    if (!group_start || (n > 0 && (!ts || !x || !have_out)))
        return mo_errorf(err, MO_EINVAL, "%s: NULL argument", fn);
    return check_rows(fn, ts, n, group_start, n_groups, max_group, err);
}

int mo_window_compute(mo_agg_t agg, int64_t window_us, const int64_t *ts, const int64_t *created,
                      const double *x, size_t stride, int64_t n, const int64_t *group_start,
                      int64_t n_groups, double *out, mo_error_t *err)
{
    static const char fn[] = "mo_window_compute";
    if ((int)agg < 0 || agg > MO_AGG_DISTINCT_COUNT)
        return mo_errorf(err, MO_EINVAL, "%s: unknown aggregation %d", fn, (int)agg);
    int64_t max_group = 0;
    int ret = check_args(fn, window_us, ts, x, stride, n, group_start, n_groups, out != NULL,
                         &max_group, err);
    if (ret)
        return ret;

    src_t s = {ts, created, x, stride, (uint64_t)window_us};
    int64_t *dq = NULL;
    switch (agg) {
    case MO_AGG_COUNT:
    case MO_AGG_SUM:
    case MO_AGG_MEAN: {
        double *outs[3] = {NULL, NULL, NULL};
        outs[agg] = out;
        agg_sums(&s, group_start, n_groups, outs);
        break;
    }
    case MO_AGG_MIN:
    case MO_AGG_MAX:
        dq = mo_mallocarray(max_group ? (size_t)max_group : 1, sizeof *dq);
        if (!dq)
            return mo_errorf(err, MO_ENOMEM, "%s: out of memory for %lld rows", fn,
                             (long long)max_group);
        agg_extreme(agg == MO_AGG_MAX, &s, group_start, n_groups, dq, out);
        free(dq);
        break;
    case MO_AGG_STD:
        agg_std(&s, group_start, n_groups, out);
        break;
    case MO_AGG_LAST:
        agg_last(&s, group_start, n_groups, out);
        break;
    case MO_AGG_DISTINCT_COUNT:
        ret = agg_distinct(&s, group_start, n_groups, out, err);
        break;
    }
    return ret;
}

int mo_window_sums(int64_t window_us, const int64_t *ts, const double *x, size_t stride, int64_t n,
                   const int64_t *group_start, int64_t n_groups, double *count, double *sum,
                   double *mean, mo_error_t *err)
{
    int64_t max_group = 0;
    int ret = check_args("mo_window_sums", window_us, ts, x, stride, n, group_start, n_groups,
                         count || sum || mean, &max_group, err);
    if (ret)
        return ret;
    src_t s = {ts, NULL, x, stride, (uint64_t)window_us};
    double *const outs[3] = {[MO_AGG_COUNT] = count, [MO_AGG_SUM] = sum, [MO_AGG_MEAN] = mean};
    agg_sums(&s, group_start, n_groups, outs);
    return 0;
}
