/* dataset_impl.h - what the files of `kind: dataset` share
 *
 *   spec.c     the spec's keys -> ds_spec_t
 *   dataset.c  the kind: read entity rows, shuffle to owners, join, answer back
 *   join.c     one view's lookups on the owner rank, reading only the rows they need
 *   output.c   labels mapped as `maestro data import` maps them; the dataset written by rank 0
 */
#ifndef MO_JOBS_DATASET_IMPL_H
#define MO_JOBS_DATASET_IMPL_H

#include "comm/shuffle.h"
#include "io/events.h"
#include "io/feature_store.h"
#include "jobs/job.h"

typedef struct {
    const char *view, *feature;
    char where[128]; /* file:line:col of the reference, for messages */
} ds_ref_t;

typedef struct {
    mo_events_spec_t entities; /* entity, timestamp and label columns */
    const char *label;
    ds_ref_t *features;
    size_t n_features;
    const char *store;
    double fill; /* NaN: missing features stay NaN */
} ds_spec_t;

/* Per view: the features asked from it and where they go in the output row. */
typedef struct {
    const char *view;
    int64_t ttl_us;
    size_t *src; /* index of each wanted feature among the view's features */
    size_t *dst; /* its column in the output */
    size_t n;
    size_t n_view_features;
} ds_view_need_t;

/* Where the answers of the queries go: query i's row of features (float32) is at
 * base + slot[i] * stride + offset. */
typedef struct {
    unsigned char *base;
    size_t stride, offset;
    const int64_t *slot;
} ds_rows_t;

static inline float *ds_row(const ds_rows_t *r, int64_t i)
{
    return (float *)(void *)(r->base + (size_t)r->slot[i] * r->stride + r->offset);
}

/* On the rank `rank` of `size` that owns the entities of the queries `q` (sorted by hash,
 * key, ts): ds_row(out, i)[dst] gets each wanted feature of v for query i, where a row is in
 * range and its value is not NaN (elsewhere the row keeps what it holds: the fill). */
int ds_join_view(mo_fs_t *fs, const ds_view_need_t *v, const mo_events_t *q, int rank, int size,
                 const ds_rows_t *out, mo_error_t *err);

int ds_spec_parse(ds_spec_t **out, mo_cfg_node_t *root, mo_error_t *err);
void ds_spec_free(ds_spec_t *s);

/* Collective: every rank writes its block (its rows of the input in input order, `feat` rows
 * x n_features) at its place in the dataset at `path` (atomically: a temp renamed by rank 0
 * once every rank's block is in); no rank holds every row's features. */
int ds_write_output(const ds_spec_t *s, mo_comm_t *comm, const char *path, const mo_events_t *local,
                    const float *feat, double t0, mo_error_t *err);

#endif
