/* table_impl.h - what io/table.c and io/table_csv.c share */
#ifndef MO_IO_TABLE_IMPL_H
#define MO_IO_TABLE_IMPL_H

#include "io/feature_store.h"
#include "io/table.h"

#include <hdf5.h>

enum { SRC_CSV, SRC_H5, SRC_DS, SRC_VIEW };

struct mo_table {
    char *path;
    mo_table_format_t format;
    int src;
    char source[160];
    int64_t rows;
    size_t n_cols;
    mo_table_col_t *cols;
    char **names; /* owned names (CSV, HDF5, dataset) */
    int scanned;
    hid_t file;   /* HDF5 table and dataset */
    hid_t *dsets; /* HDF5 table: one per column */
    hid_t x, y;   /* dataset */
    mo_ds_t *ds;
    mo_fs_t *fs;
    char *view;
};

/* Append a column named `name` (taken over, freed on failure). 0 or MO_ENOMEM. */
int mo_table_add_col(mo_table_t *t, char *name, mo_table_type_t type, const char *dtype);

/* The CSV source (io/table_csv.c): the header at open, rows [b->first, b->first + b->n) of
 * b's columns (allocated by the caller) at read. */
int mo_table_csv_open(mo_table_t *t, mo_error_t *err);
int mo_table_csv_read(mo_table_t *t, mo_table_block_t *b, mo_error_t *err);

#endif
