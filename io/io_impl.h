/* io_impl.h - what several files of io/ share and nobody outside io/ needs */
#ifndef MO_IO_IO_IMPL_H
#define MO_IO_IO_IMPL_H

#include "io/dataset.h"

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

#endif
