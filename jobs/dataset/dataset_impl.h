/* dataset_impl.h - what the files of `kind: dataset` share
 *
 *   spec.c     the spec's keys -> ds_spec_t
 *   dataset.c  the kind: read entity rows, shuffle to owners, join, answer back
 *   output.c   labels mapped as `maestro data import` maps them; the dataset written by rank 0
 */
#ifndef MO_JOBS_DATASET_IMPL_H
#define MO_JOBS_DATASET_IMPL_H

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

int ds_spec_parse(ds_spec_t **out, mo_cfg_node_t *root, mo_error_t *err);
void ds_spec_free(ds_spec_t *s);

/* Collective: gather every rank's block (rows in input order, `feat` rows x n_features) on
 * rank 0 and write the dataset at `path` (atomically). */
int ds_write_output(const ds_spec_t *s, mo_comm_t *comm, const char *path, const mo_events_t *local,
                    const double *feat, double t0, mo_error_t *err);

#endif
