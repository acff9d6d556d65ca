/* store.h - writing the offline feature store over the ranks of a run
 *
 * io/feature_store.h writes the file in steps, each rank its slab, with nothing but parallel
 * HDF5 between the ranks; this runs those steps and does the talking between them (comm/):
 * the ranks agree after every step, exchange their bounds records, compare fingerprints and
 * learn rank 0's temp name.
 */
#ifndef MO_JOBS_MATERIALIZE_STORE_H
#define MO_JOBS_MATERIALIZE_STORE_H

#include "comm/comm.h"
#include "core/status.h"
#include "io/feature_store.h"

#include <stddef.h>

/* Collective over `comm`: write the store at `path` (temp + rename by rank 0 after every rank
 * closed) with these views, each rank its slab (io/feature_store.h, mo_fs_view_t); the online
 * table of each view is the last row of each entity in it (by (event_ts, created_ts)). Bad
 * input on any rank (rows out of order, ranks that disagree) is MO_EINVAL on every rank,
 * before anything is created; any failure fails every rank and leaves an existing store at
 * `path` as it was. */
int mat_store_write(const char *path, mo_comm_t *comm, const mo_fs_view_t *views, size_t n_views,
                    mo_error_t *err);

#endif
