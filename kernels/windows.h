/* windows.h - windowed aggregations over one rank's events, one pass per feature (count, sum
 * and mean of one column and window: one pass for the three)
 *
 * Input: events sorted by (entity, ts, created) (io/events.h mo_events_sort), so each entity's
 * events are one run of rows. Output: one value per event row, for one feature. The semantics
 * (docs/spec.md "kind: materialize"), for the event at time t of entity e:
 *   - a windowed feature aggregates the non-NaN values of the events of e with
 *     t - w < ts <= t; events with equal timestamps are all included (they share features);
 *   - without a window (w = 0) it aggregates every event of e with ts <= t;
 *   - count: the number of those values (0 when none); sum (0 when none), mean, min, max (NaN
 *     when none); std: sample standard deviation (n - 1), NaN below 2 values; distinct_count:
 *     the number of distinct values (-0.0 and 0.0 are one); last: the value of the event with
 *     the greatest (ts, created) among them, the later row on a tie (NaN values included: last
 *     is the last event's value);
 *   - +-inf are values: sum and mean are +-inf, or NaN with both signs in the window (as a
 *     direct sum is); std is NaN with any infinity in the window.
 * Each runs with two pointers over the sorted rows: O(n) per feature (sums with error-free
 * double-double accumulators, so sum and mean are within about an ulp of the window's exact
 * sum whatever came and went before; min/max with monotonic deques; std with shifted sums that
 * re-centre when the mean drifts; distinct_count with a hash map of counts).
 */
#ifndef MO_KERNELS_WINDOWS_H
#define MO_KERNELS_WINDOWS_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MO_AGG_COUNT = 0,
    MO_AGG_SUM,
    MO_AGG_MEAN,
    MO_AGG_MIN,
    MO_AGG_MAX,
    MO_AGG_STD,
    MO_AGG_LAST,
    MO_AGG_DISTINCT_COUNT,
} mo_agg_t;

/* "count", "sum", ... as specs write them; NULL-terminated, in enum order. */
extern const char *const mo_agg_names[];

/* Rows [0, n): ts[], created[], values x[i * stride] (stride = the value columns of the table,
 * x already offset to the feature's column); group_start[g] .. group_start[g + 1] are entity
 * g's rows (n_groups + 1 entries, the first 0, the last n). window_us 0: no window. Writes
 * out[0..n), which must not overlap x. created may be NULL (ties in ts then go to the later
 * row). MO_EINVAL, before anything is written, for a bad argument or a group whose ts go
 * backwards; MO_ENOMEM for distinct_count, min and max. */
int mo_window_compute(mo_agg_t agg, int64_t window_us, const int64_t *ts, const int64_t *created,
                      const double *x, size_t stride, int64_t n, const int64_t *group_start,
                      int64_t n_groups, double *out, mo_error_t *err);

/* count, sum and mean of one column over one window from one pass over the same sums: each
 * of count, sum, mean gets, when not NULL, exactly what mo_window_compute would write for it
 * (a feature view with all three per column and window makes one pass instead of three).
 * Same arguments and errors otherwise (created is not needed: ties do not matter here); at
 * least one output when n > 0. */
int mo_window_sums(int64_t window_us, const int64_t *ts, const double *x, size_t stride, int64_t n,
                   const int64_t *group_start, int64_t n_groups, double *count, double *sum,
                   double *mean, mo_error_t *err);

#endif
