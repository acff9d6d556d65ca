/* io_impl.h - what several files of io/ share and nobody outside io/ needs */
#ifndef MO_IO_IO_IMPL_H
#define MO_IO_IO_IMPL_H

#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/sweep_journal.h"

#include <hdf5.h>
#include <jansson.h>

/* ---- dataset values (io/dataset.c) --------------------------------------------------------
 * The checks a reader applies, shared with the writer so Maestro never writes what it would
 * refuse to read. Rows are numbered from the start of the file (row0 + i). */
int mo_ds_check_x(const char *path, const float *X, int64_t row0, int64_t nrows, int64_t d,
                  mo_error_t *err);
int mo_ds_check_y(const char *path, const mo_ds_info_t *info, const int32_t *yc, const float *yv,
                  int64_t row0, int64_t nrows, mo_error_t *err);

/* ---- dataset layout (io/dataset_write.c) -------------------------------------------------- */
/* Write the root and /X attributes of `info` into `file` and create empty /X and /y. */
int mo_ds_layout_create(hid_t *x, hid_t *y, hid_t file, const mo_ds_info_t *info, mo_error_t *err);

/* ---- inspect (io/dataset.c) --------------------------------------------------------------- */
/* Add the kind-specific keys of a dataset file to the inspect object `obj` (mo_h5_describe):
 * rows, features, task, n_classes, class_names, feature_names, each null when unreadable. */
void mo_ds_describe(json_t *obj, hid_t file);
/* The same for a checkpoint (io/checkpoint.c): step and entries (the entry names). */
void mo_ckpt_describe(json_t *obj, hid_t file);
/* The same for run.h5 (io/run_file.c): name, job_kind, status, final_metrics, history_length,
 * provenance and model (docs/formats.md "Run"). */
void mo_run_describe(json_t *obj, hid_t file);
/* The same for sweep.h5 (io/sweep_journal.c): name, algorithm, objective, status, counts,
 * trials (best first) and best (docs/formats.md "Sweep journal"); all null when the journal
 * cannot be read. */
void mo_sweep_describe(json_t *obj, hid_t file);
/* The same for a feature store (io/feature_store_read.c): views, an array with each view's
 * name, entity, ttl_us, rows, entities, features ({name, agg, column, window_us}) and
 * ranges_us ([[start, end], ...]); null when the store cannot be read. */
void mo_fs_describe(json_t *obj, hid_t file);

/* ---- sweep journals (io/sweep_journal.c, io/sweep_journal_file.c) ------------------------- */
/* Names of the trial statuses by number: "running", "completed", "pruned", "failed". */
extern const char *const mo_sj_status_names[4];
/* A trial's x and text arrays for dim parameters (zeroed; dim may be 0). 0 or MO_ENOMEM. */
int mo_sj_trial_alloc(mo_sj_trial_t *t, size_t dim);
/* Read the journal in the open `file` (`path` for messages); *j is initialised here and left
 * empty on failure. mo_sj_read opens the file and calls this; inspect calls it directly. */
int mo_sj_read_h5(mo_sweep_journal_t *j, hid_t file, const char *path, mo_error_t *err);

/* ---- checkpoint files (io/checkpoint.c) ---------------------------------------------------
 * Write `c` to `path` atomically (temp + fsync + rename): root attributes kind, format_version
 * and `step`, one dataset per entry. The folder side (name, prune) is io/checkpoint_dir.c. */
int mo_ckpt_write(const mo_ckpt_t *c, const char *path, int64_t step, mo_error_t *err);

/* ---- whole datasets (io/h5.c) -------------------------------------------------------------
 * Create dataset `name` in `loc` with file type `ftype` and write all of it from `buf` in
 * `mtype`. rank 0 is a scalar, 1 or 2 use `dims`, which may hold 0 (then buf may be NULL).
 * Contiguous, no fill pass, no timestamps: for data written once and read whole (checkpoints,
 * run files), unlike the chunked row-wise datasets of mo_h5_dataset_create. */
int mo_h5_write_whole(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *buf, mo_error_t *err);

/* ---- checksums (h5_sum.c) -----------------------------------------------------------------
 * The user block of a checksummed file, and writing its header once HDF5 has closed the file
 * (`path` names the final file in messages). */
#define MO_H5_SUM_BLOCK 512
int mo_h5_sum_write(const char *tmp_path, const char *path, mo_error_t *err);

#endif
