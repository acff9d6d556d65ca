/* materialize_impl.h - what the files of `kind: materialize` share
 *
 *   spec.c         the spec's keys -> mat_spec_t (checked at validation time)
 *   kernels/windows.c  the aggregations over one rank's sorted events
 *   store.c        the offline store written collectively (exchange, agree, rename)
 *   materialize.c  the kind: read, shuffle, sort, compute, merge (incremental), write stores
 */
#ifndef MO_JOBS_MATERIALIZE_IMPL_H
#define MO_JOBS_MATERIALIZE_IMPL_H

#include "io/events.h"
#include "io/redis_online.h"
#include "jobs/job.h"
#include "kernels/windows.h"

#include <stdint.h>

typedef struct {
    const char *name, *column;
    mo_agg_t agg;
    int64_t window_us; /* 0: none */
    size_t col;        /* index of column in the source's value columns */
} mat_feature_t;

typedef struct {
    const char *name;
    int64_t ttl_us; /* 0: none */
    mat_feature_t *features;
    size_t n_features;
} mat_view_t;

typedef struct {
    mo_events_spec_t source;
    const char **columns; /* distinct value columns, in first-use order */
    size_t n_columns;
    mat_view_t *views;
    size_t n_views;
    int has_start, has_end;
    int64_t start_us, end_us;
    int incremental;
    const char *offline_path;
    int no_compression;    /* offline.compression: none (the default) */
    int64_t block_rows;    /* offline.block_rows: rows per write block (0: the store's default) */
    const char *redis_url; /* NULL: the HDF5 online table only */
    double redis_retry_s;  /* online.retry_s: how long an unreachable Redis is waited for */
    const char *project;
    mo_entity_type_t entity_type;
} mat_spec_t;

int mat_spec_parse(mat_spec_t **out, mo_cfg_node_t *root, mo_error_t *err);
void mat_spec_free(mat_spec_t *s);

#endif
