/* dataset_scan.c - block-wise pass over dataset rows with exact counts */
#include "io/dataset_scan.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

/* Rows per read: large enough for sequential I/O, small enough for a 10k-feature table. */
#define SCAN_BLOCK_BYTES (8 << 20)

int mo_ds_stats_init(mo_ds_stats_t *s, const mo_ds_info_t *info, mo_error_t *err)
{
    if (!s || !info)
        return mo_errorf(err, MO_EINVAL, "mo_ds_stats_init: NULL argument");
    memset(s, 0, sizeof *s);
    if (info->task == MO_DS_CLASSIFICATION && info->n_classes > 0) {
        s->n_classes = info->n_classes;
        s->class_counts = mo_calloc((size_t)info->n_classes, sizeof *s->class_counts);
        if (!s->class_counts)
            return mo_errorf(err, MO_ENOMEM, "out of memory for %d class counts",
                             (int)info->n_classes);
    }
    return 0;
}

void mo_ds_stats_free(mo_ds_stats_t *s)
{
    if (!s)
        return;
    free(s->class_counts);
    s->class_counts = NULL;
}

int mo_ds_scan(mo_ds_stats_t *s, mo_ds_t *ds, int64_t row0, int64_t nrows, mo_error_t *err)
{
    if (!s || !ds || row0 < 0 || nrows < 0)
        return mo_errorf(err, MO_EINVAL, "mo_ds_scan: bad arguments");
    const mo_ds_info_t *info = mo_ds_info(ds);
    int64_t row_bytes = info->n_features * (int64_t)sizeof(float);
    int64_t block = SCAN_BLOCK_BYTES / (row_bytes ? row_bytes : 1);
    if (block < 1)
        block = 1;
    if (block > nrows)
        block = nrows ? nrows : 1;
    int classify = info->task == MO_DS_CLASSIFICATION;
    float *X = mo_mallocarray((size_t)(block * info->n_features), sizeof(float));
    int32_t *yc = classify ? mo_mallocarray((size_t)block, sizeof(int32_t)) : NULL;
    float *yv = classify ? NULL : mo_mallocarray((size_t)block, sizeof(float));
    int rc = 0;
    if (!X || (classify ? !yc : !yv))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory reading %lld rows", (long long)block);
    for (int64_t r = 0; !rc && r < nrows; r += block) {
        int64_t n = nrows - r < block ? nrows - r : block;
        rc = mo_ds_read(ds, row0 + r, n, X, yc, yv, err);
        for (int64_t i = 0; !rc && i < n; i++) {
            if (classify && s->class_counts) {
                s->class_counts[yc[i]]++;
            } else if (!classify) {
                s->target_sum += yv[i];
                s->target_sumsq += (double)yv[i] * yv[i];
            }
        }
        if (!rc)
            s->rows += n;
    }
    free(X);
    free(yc);
    free(yv);
    return rc;
}
