/* dataset.h - the Maestro dataset format (docs/formats.md): features X and labels y in HDF5
 *
 *   /X  float32 [n, d], chunked          attribute feature_names (d strings)
 *   /y  int32 [n] class ids 0..k-1, or float32 [n] regression targets
 *   root attributes: kind = "dataset", format_version, task, n_classes, class_names
 *
 * A rank reads its shard as a hyperslab. With an MPI communicator the file is opened through
 * parallel HDF5 (MPI-IO driver) collectively; MPI_COMM_NULL opens it with the default driver
 * (single-process tools, tests). Reads check every value: NaN or Inf in X is an error naming
 * the first row and column; a class id outside 0..n_classes-1 names its row.
 *
 * Files are written once, atomically: into `<path>.tmp.<pid>` and renamed over `path`, so a
 * failed write never leaves a half file behind.
 */
#ifndef MO_IO_DATASET_H
#define MO_IO_DATASET_H

#include "core/status.h"

#include <mpi.h>
#include <stdint.h>

#define MO_DS_FORMAT_VERSION 1

typedef enum { MO_DS_CLASSIFICATION = 0, MO_DS_REGRESSION = 1 } mo_ds_task_t;

typedef struct {
    int64_t n_rows;
    int64_t n_features;
    mo_ds_task_t task;
    int32_t n_classes;    /* 0 for regression */
    char **feature_names; /* n_features strings, or NULL when the file has none */
    char **class_names;   /* n_classes strings, or NULL when the file has none */
    int format_version;
    int allow_nan; /* writers only: NaN in X allowed (missing features of a point-in-time
                    * training set); readers still refuse NaN, naming the row and column */
} mo_ds_info_t;

typedef struct mo_ds mo_ds_t;

/* Rows [*begin, *begin + *count) of `n` that rank `rank` of `size` owns: contiguous blocks,
 * the first n % size ranks get one row more. Every row belongs to exactly one rank. */
void mo_ds_shard_range(int64_t n, int rank, int size, int64_t *begin, int64_t *count);

/* Open and check the layout (datasets present, ranks, dtypes, X/y length, format_version).
 * `comm` is MPI_COMM_NULL or a communicator every member of which calls this (collective).
 * Errors name the file and the HDF5 path: "data/a.h5: /y has 999 rows but /X has 1000". */
int mo_ds_open(mo_ds_t **out, const char *path, MPI_Comm comm, mo_error_t *err);
const mo_ds_info_t *mo_ds_info(const mo_ds_t *ds);
/* Read rows [row0, row0 + nrows) into X (nrows * n_features floats, row-major) and into
 * y_class (classification) or y_value (regression); the other may be NULL. Independent I/O:
 * ranks may call it with different ranges. */
int mo_ds_read(mo_ds_t *ds, int64_t row0, int64_t nrows, float *X, int32_t *y_class, float *y_value,
               mo_error_t *err);
void mo_ds_close(mo_ds_t *ds);

/* Write a whole dataset from one process (atomically, see above). `y_class` is used for
 * classification, `y_value` for regression. Names may be NULL. */
int mo_ds_write(const char *path, const mo_ds_info_t *info, const float *X, const int32_t *y_class,
                const float *y_value, mo_error_t *err);

/* Streamed writing, for tables too large to hold at once: open with the final info (n_rows
 * declared up front), append rows in order in blocks of any size, then commit (which renames
 * the file into place and frees the writer) or abort (which removes the temp file; NULL is
 * fine). Appended values are checked as a reader checks them. */
typedef struct mo_ds_writer mo_ds_writer_t;
int mo_ds_writer_open(mo_ds_writer_t **out, const char *path, const mo_ds_info_t *info,
                      mo_error_t *err);
int mo_ds_writer_append(mo_ds_writer_t *w, int64_t nrows, const float *X, const int32_t *y_class,
                        const float *y_value, mo_error_t *err);
int mo_ds_writer_commit(mo_ds_writer_t *w, mo_error_t *err);
void mo_ds_writer_abort(mo_ds_writer_t *w);

/* Every rank of `comm` writes its rows [row0, row0 + nrows) of one dataset into `tmp`, a file
 * rank 0 created (and named for all): the file and its layout are made together (collective;
 * every rank passes the same info), each rank's rows go in with independent MPI-IO writes, and
 * the file is closed together. Checked as mo_ds_writer_append checks. Each rank returns its own
 * result; the caller agrees on them, then rank 0 renames tmp into place (mo_fs_commit) or
 * removes it. Every rank must call it, whatever happened before, once the others will. */
int mo_ds_write_mpi(const char *tmp, MPI_Comm comm, const mo_ds_info_t *info, int64_t row0,
                    int64_t nrows, const float *X, const int32_t *y_class, const float *y_value,
                    mo_error_t *err);

/* Free the names in `info` (not `info` itself). */
void mo_ds_info_free(mo_ds_info_t *info);

#endif
