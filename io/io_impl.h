/* io_impl.h - what several files of io/ share and nobody outside io/ needs */
#ifndef MO_IO_IO_IMPL_H
#define MO_IO_IO_IMPL_H

#include "io/dataset.h"

#include <hdf5.h>
#include <jansson.h>

/* ---- dataset layout (defined in io/dataset.c) ---------------------------------------------
 * For io/ writers that stream rows instead of holding X in memory (synth). */
/* Write the root and /X attributes of `info` into `file` and create empty /X and /y. */
int mo_ds_layout_create(hid_t *x, hid_t *y, hid_t file, const mo_ds_info_t *info, mo_error_t *err);
/* Add the kind-specific keys of a dataset file to the inspect object `obj` (mo_h5_describe):
 * rows, features, task, n_classes, class_names, feature_names, each null when unreadable. */
void mo_ds_describe(json_t *obj, hid_t file);

#endif
