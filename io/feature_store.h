/* feature_store.h - the offline feature store: one HDF5 file, one table per feature view
 * (docs/formats.md "Feature store")
 *
 *   root attributes  kind = "feature_store", format_version
 *   /views/<view>/   attributes: entity (the entity column's name), ttl_us (0: none),
 *                    features (string[]), aggs (string[]), columns (string[]: the source
 *                    column of each feature), windows_us (int64[]), ranges_us (int64[k, 2]:
 *                    the materialised [start, end) intervals, in order), rows
 *     key            fixed-length string[n]: the entity key of each row
 *     hash           uint64[n]: mo_entity_hash of the key
 *     event_ts       int64[n] (µs UTC), created_ts int64[n]
 *     <feature>      float64[n], one dataset per feature
 *     index/         hash uint64[k], key string[k], first int64[k], count int64[k]: each
 *                    entity's rows, so a lookup is a binary search, not a scan
 *   /online/<view>/  the latest row per entity as of the end of the materialised range:
 *                    key, hash, event_ts, created_ts, <feature>... ([k] each)
 *
 * Rows are sorted by (hash, key, event_ts, created_ts): entities are ordered by their hash, so a
 * rank that owns a contiguous range of hashes owns a contiguous slab of every table; files are
 * identical whatever the rank count. Datasets are chunked, and shuffled and deflate-compressed
 * unless the writer is told not to. The file is written with parallel HDF5 (each rank its
 * slab; the steps below, which jobs/materialize/store.c runs over the ranks) to a temp name,
 * then renamed: it is never seen half-written. Rows go to the file in blocks of
 * MO_FS_BLOCK_ROWS, every table at once, so feature values can be computed a block at a time
 * (mo_fs_view_t.values_fn) instead of being held for all rows.
 */
#ifndef MO_IO_FEATURE_STORE_H
#define MO_IO_FEATURE_STORE_H

#include "core/status.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define MO_FS_FORMAT_VERSION 1
/* Longest entity key in bytes: keys are stored fixed-width, as wide as the longest. */
#define MO_FS_KEY_MAX 1024
/* Rows per block of the write: blocks start at multiples of it in the global row order (so
 * compressed chunks are written whole), a rank's first and last block may be shorter. */
#define MO_FS_BLOCK_ROWS 131072

typedef struct {
    const char *name, *agg, *column;
    int64_t window_us; /* 0: none */
} mo_fs_feature_t;

/* The feature values of this rank's rows [first, first + count): out[f][i] is feature f of row
 * first + i. The writer calls it block by block, first increasing, every row once; out holds
 * count values per feature (owned by the writer, valid until the call returns). 0 or a
 * negative MO_E* code with err set. */
typedef int mo_fs_values_fn(void *ctx, int64_t first, int64_t count, double *const *out,
                            mo_error_t *err);

/* One view's rows on this rank (columns borrowed), sorted as above, and this rank's rows form
 * the slab after every lower rank's (an entity's rows may go on into the next ranks). Keys
 * are at most MO_FS_KEY_MAX bytes and hash[i] must be mo_entity_hash(keys[i]); a rank may
 * have no rows (then its columns may be NULL). Every rank passes the same names, features
 * and ranges. */
typedef struct {
    const char *name;
    const char *entity; /* the entity column's name */
    int64_t ttl_us;
    const mo_fs_feature_t *features;
    size_t n_features;
    const int64_t *ranges_us; /* [n_ranges][2] */
    size_t n_ranges;
    int64_t n;               /* rows on this rank */
    const char *const *keys; /* n */
    const uint64_t *hash;    /* n */
    const int64_t *event_ts, *created_ts;
    const double *const *values; /* n_features columns of n; NULL when values_fn is set */
    /* Instead of values: the rows' feature values computed when their block is written, so
     * they need not be held all at once (called on this rank only, between writer steps). */
    mo_fs_values_fn *values_fn;
    void *values_ctx;
    /* 1: datasets stored uncompressed (several times faster to write: no zlib, and with MPI
     * each rank writes its blocks independently, without collective transfers; about 3x
     * larger). The first view's setting applies to the whole store. */
    int no_compression;
    /* Rows per block of the write (0: MO_FS_BLOCK_ROWS): memory against calls; the same on
     * every rank. The first view's setting applies to the whole store. */
    int64_t block_rows;
} mo_fs_view_t;

/* ---- writing, in steps -----------------------------------------------------------------
 *
 * The pieces of a collective write; jobs/materialize/store.c (mat_store_write) runs them over
 * the ranks. Nothing here communicates except through parallel HDF5: every function returns
 * this rank's status, and the caller agrees on it across ranks after each one, so a failure on
 * one rank fails every rank at the same point and no rank is left in an HDF5 collective that
 * another never joins. The order:
 *
 *   1. mo_fs_check (local) on every rank; agree. mo_fs_fingerprint must be the same on every
 *      rank; the key widths are the maxima of key_len over ranks.
 *   2. Per view: mo_fs_plan_create (local); agree; exchange every rank's record
 *      (mo_fs_plan_record, the same size on every rank) in rank order; mo_fs_plan_finish
 *      (local) with them; agree.
 *   3. Rank 0: mo_fs_temp_create; agree; every rank learns the temp name.
 *   4. mo_fs_writer_open (collective HDF5); agree. mo_fs_writer_step until *done, agreeing
 *      after each (per view: its groups, each dataset's creation, then per block of rows the
 *      values computed (local) and every table's rows of the block written, then the close;
 *      uncompressed with MPI, a rank's blocks are all one step: nothing in them is collective).
 *   5. mo_fs_writer_close on every rank holding a writer (collective HDF5, also after a
 *      failure); agree. Rank 0: mo_fs_commit on success; agree. On failure rank 0 removes
 *      the temp file, and an existing store at `path` is left as it was.
 *
 * One process can run the same steps alone: a single "rank", and MPI_COMM_NULL to
 * mo_fs_writer_open (the default driver, no MPI needed). */

/* Local: check this rank's views (names HDF5 can hold, features, ranges, and rows: columns
 * present, keys at most MO_FS_KEY_MAX bytes, hashes, order). key_len (n_views, the caller's)
 * gets the longest key of each view on this rank. MO_EINVAL, "path: view 'v': ...". */
int mo_fs_check(const char *path, const mo_fs_view_t *views, size_t n_views, int64_t *key_len,
                mo_error_t *err);
/* A hash of the metadata every rank must pass identically (names, features, ranges):
 * parallel HDF5 needs the same metadata calls everywhere, and a mismatch would corrupt the
 * file rather than fail. 0: out of memory. */
uint64_t mo_fs_fingerprint(const mo_fs_view_t *views, size_t n_views);

/* This rank's part of one view: where its rows, index entries and online rows go. */
typedef struct mo_fs_plan mo_fs_plan_t;
/* What a finished plan says. Each of the rows, the index and the online table is one table
 * of all ranks, of which this rank writes a contiguous slice. Arrays belong to the plan. */
typedef struct {
    size_t width;           /* key width in bytes: the longest key of any rank, at least 1 */
    int64_t n, off, total;  /* rows: this rank's, the first one's global row, all ranks' */
    int64_t max_n;          /* the most rows any rank has: bounds every rank's collective calls */
    int64_t entities;       /* in all: the length of the index and of the online table */
    int64_t n_idx, idx_off; /* this rank's index entries (the entities whose first row it holds) */
    const int64_t *idx_row, *idx_first, *idx_count; /* each: its local, global first row; rows */
    int64_t n_onl, onl_off; /* this rank's online rows (the entities whose last row it holds) */
    const int64_t *onl_row; /* each: its local row */
} mo_fs_part_t;
/* Local: this rank's entity runs of `v` and its record for the other ranks (rows, runs, first
 * and last row), keys `width` bytes wide (the longest key over all ranks, at least 1). The
 * caller owns *out: mo_fs_plan_destroy. */
int mo_fs_plan_create(mo_fs_plan_t **out, const char *path, const mo_fs_view_t *v, size_t width,
                      mo_error_t *err);
/* The record to send every rank: *size bytes (the same on every rank for the same width),
 * owned by the plan. */
const void *mo_fs_plan_record(const mo_fs_plan_t *p, size_t *size);
/* Local: from every rank's record (`all`: `size` records in rank order), this rank's offsets
 * and which entities run over a rank boundary. Slabs out of rank order are MO_EINVAL. It may
 * be called again with other records, starting afresh. */
int mo_fs_plan_finish(mo_fs_plan_t *p, const char *path, const mo_fs_view_t *v, const void *all,
                      int rank, int size, mo_error_t *err);
/* NULL until mo_fs_plan_finish has succeeded. */
const mo_fs_part_t *mo_fs_plan_part(const mo_fs_plan_t *p);
void mo_fs_plan_destroy(mo_fs_plan_t *p);

/* Rank 0 only: create an empty `<path>.tmp.<pid>` beside `path`; *tmp (the caller frees, and
 * removes the file when the write fails) is its name; NULL on failure. */
int mo_fs_temp_create(char **tmp, const char *path, mo_error_t *err);

typedef struct mo_fs_writer mo_fs_writer_t;
/* Collective HDF5 over `comm` (MPI_COMM_NULL: this process alone): create the file `tmp`
 * (every rank the same name) to write `views` with their finished `plans` (both borrowed,
 * kept until mo_fs_writer_close). Every rank passes the same views but its own rows. */
int mo_fs_writer_open(mo_fs_writer_t **out, const char *path, const char *tmp, MPI_Comm comm,
                      const mo_fs_view_t *views, mo_fs_plan_t *const *plans, size_t n_views,
                      mo_error_t *err);
/* Collective HDF5: the next step of the write (the root's attributes and groups; then per
 * view its groups and attributes, and each dataset created, then written by every rank, its
 * slab). *done is set, with nothing done, once every step has been made. */
int mo_fs_writer_step(mo_fs_writer_t *w, int *done, mo_error_t *err);
/* Collective HDF5: close what is open and the file, and free w (NULL: nothing). Every rank
 * with a writer calls it, also after a failure. */
int mo_fs_writer_close(mo_fs_writer_t *w, mo_error_t *err);
/* Rank 0, after every rank closed the file: fsync `tmp`, rename it over `path`, fsync the
 * folder. */
int mo_fs_commit(const char *tmp, const char *path, mo_error_t *err);

/* ---- reading ---------------------------------------------------------------------------- */
typedef struct mo_fs mo_fs_t;

/* Open a store read-only (any process; no MPI needed). MO_ENOTFOUND / MO_EFORMAT. */
int mo_fs_open(mo_fs_t **out, const char *path, mo_error_t *err);
void mo_fs_close(mo_fs_t *fs);

/* Metadata of view `name` (MO_ENOTFOUND listing the views there are). Strings belong to fs. */
typedef struct {
    const char *name, *entity;
    int64_t ttl_us, rows, entities;
    size_t n_features;
    const char *const *features, *const *aggs, *const *columns;
    const int64_t *windows_us;
    const int64_t *ranges_us;
    size_t n_ranges;
} mo_fs_view_info_t;
int mo_fs_view(mo_fs_t *fs, const char *name, mo_fs_view_info_t *info, mo_error_t *err);
/* NULL-terminated names of the views (belongs to fs). */
const char *const *mo_fs_views(mo_fs_t *fs);

/* Rows [first, first + count) of a view, column-wise, into malloc'd arrays the caller frees
 * with mo_fs_rows_free. keys: one pool, as io/events.h. */
typedef struct {
    int64_t n;
    char *pool;
    uint64_t *key_off, *hash;
    int64_t *event_ts, *created_ts;
    double *values; /* row-major [n][n_features] */
    size_t n_features;
} mo_fs_rows_t;
int mo_fs_read_rows(mo_fs_t *fs, const char *view, int64_t first, int64_t count, mo_fs_rows_t *rows,
                    mo_error_t *err);
void mo_fs_rows_free(mo_fs_rows_t *rows);
/* The rows of entity `key`: *first and *count (count 0 when absent), by binary search of the
 * index. */
int mo_fs_find_entity(mo_fs_t *fs, const char *view, const char *key, int64_t *first,
                      int64_t *count, mo_error_t *err);
/* The first row whose hash is >= `hash` (for a rank's slab: [lower(h0), lower(h1))). */
int mo_fs_lower_bound(mo_fs_t *fs, const char *view, uint64_t hash, int64_t *row, mo_error_t *err);
/* The online row of entity `key` (found 0 when absent). values: n_features doubles. */
int mo_fs_online_get(mo_fs_t *fs, const char *view, const char *key, int *found, int64_t *event_ts,
                     double *values, mo_error_t *err);

/* ---- reading only what a point-in-time join needs (io/feature_store_slice.c) -------------
 *
 * A join on one rank needs the index entries of its entities, the event_ts of their rows and,
 * per feature, the value of one row per query: never the whole slab. These read just that,
 * without loading the whole index. */

/* The first index entry whose hash is >= `hash` (the view's entity count when none is): a
 * binary search of index/hash on disk (in memory when a lookup loaded the index). */
int mo_fs_index_lower(mo_fs_t *fs, const char *view, uint64_t hash, int64_t *entry,
                      mo_error_t *err);

/* Index entries [first, first + count), in index order (hash, then key): entry i is the
 * entity keys + i * (width + 1) (NUL-terminated) with hash[i], rows [row[i], row[i] +
 * rows[i]). Arrays are malloc'd; the caller frees them with mo_fs_index_free. */
typedef struct {
    int64_t n;
    size_t width; /* the index's key width */
    uint64_t *hash;
    char *keys;
    int64_t *row, *rows;
} mo_fs_index_t;
int mo_fs_read_index(mo_fs_t *fs, const char *view, int64_t first, int64_t count,
                     mo_fs_index_t *idx, mo_error_t *err);
void mo_fs_index_free(mo_fs_index_t *idx);

/* Rows [first, first + count) of one column of a view into buf: "event_ts" and "created_ts"
 * as int64, "hash" as uint64, a feature (by name) as double. MO_ENOTFOUND for another name,
 * MO_EINVAL for rows outside the table. */
int mo_fs_read_column(mo_fs_t *fs, const char *view, const char *column, int64_t first,
                      int64_t count, void *buf, mo_error_t *err);

/* out[i] = feature `feature` (its position among the view's features) of row rows[i], for
 * every i with rows[i] >= 0 (out[i] untouched where rows[i] < 0). The rows that are >= 0 must
 * not decrease (MO_EINVAL otherwise), so the column is read once, front to back, in spans
 * that cover only where wanted rows are: a dense selection reads the column in large blocks,
 * a sparse one a few values at a time. */
int mo_fs_gather(mo_fs_t *fs, const char *view, size_t feature, const int64_t *rows, int64_t n,
                 double *out, mo_error_t *err);

#endif
