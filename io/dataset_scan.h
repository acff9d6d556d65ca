/* dataset_scan.h - one pass over rows of a dataset, counting what checks need
 *
 * Used by `maestro data check` and `kind: validate`: each rank scans its shard, then the
 * caller sums the counts over ranks (comm/), so the totals are exact for any rank count.
 */
#ifndef MO_IO_DATASET_SCAN_H
#define MO_IO_DATASET_SCAN_H

#include "io/dataset.h"

typedef struct {
    int64_t rows;          /* rows read */
    int64_t *class_counts; /* n_classes entries (classification), else NULL */
    int32_t n_classes;
    double target_sum; /* regression targets: sum and sum of squares */
    double target_sumsq;
} mo_ds_stats_t;

/* Zeroed counters for a dataset described by `info`. Release with mo_ds_stats_free. */
int mo_ds_stats_init(mo_ds_stats_t *s, const mo_ds_info_t *info, mo_error_t *err);
void mo_ds_stats_free(mo_ds_stats_t *s);

/* Read rows [row0, row0 + nrows) in blocks (every value checked by mo_ds_read) and add them
 * to `s`. */
int mo_ds_scan(mo_ds_stats_t *s, mo_ds_t *ds, int64_t row0, int64_t nrows, mo_error_t *err);

#endif
