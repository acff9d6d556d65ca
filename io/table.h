/* table.h - one column reader for every tabular source `kind: validate` checks
 *
 * A table is named columns of equal length, read in row blocks so that ranks can split it:
 *
 *   - table, CSV: a header row names the columns; cells follow io/csv.h's RFC 4180 rules
 *     (quotes, doubled quotes, line breaks inside quotes, LF/CRLF, a UTF-8 BOM, blank lines
 *     skipped, spaces around unquoted cells trimmed). A column is a number column when every
 *     non-empty cell is a number ("nan" in any case is a missing number, "inf", "-inf" and
 *     "infinity" are infinities), else a text column. That needs the whole file:
 *     mo_table_scan reads it once (row count, column types); mo_table_open reads only the
 *     header, so a spec can be checked against the column names cheaply.
 *   - table, HDF5: every 1-D dataset at the root is a column (all of one length); integers
 *     and floats are numbers (read as double: integers beyond 2^53 lose precision), strings
 *     (variable or fixed length) are text, anything else is kept as a column of type OTHER
 *     that cannot be read.
 *   - dataset (io/dataset.h): the features (named by feature_names, else f0, f1, ...) and
 *     `label` (class ids or regression targets), all numbers. X and y are read raw: NaN and
 *     infinities are values here, for checks to count, not errors as in mo_ds_read.
 *   - feature_view (io/feature_store.h): the entity column (text), event_ts and created_ts
 *     (TIME: int64 microseconds UTC) and the features (numbers).
 *
 * Missing values: NaN in a number column (an empty CSV cell is NaN), "" in a text column.
 * Errors name the file and, for CSV, line:column (physical line, 1-based field), for HDF5
 * the dataset: "data.csv:7:3: row has 2 fields, header has 4", "t.h5: /b has 9 rows but /a
 * has 10".
 */
#ifndef MO_IO_TABLE_H
#define MO_IO_TABLE_H

#include "core/status.h"
#include "io/dataset.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MO_TABLE_AUTO = 0, /* by content: an HDF5 file by its kind attribute, anything else CSV */
    MO_TABLE_DATASET,
    MO_TABLE_TABLE,
    MO_TABLE_VIEW,
} mo_table_format_t;

/* "auto", "dataset", "table", "feature_view"; NULL-terminated (spec enums). */
extern const char *const mo_table_format_names[];

typedef enum {
    MO_TABLE_UNKNOWN = 0, /* a CSV column before mo_table_scan */
    MO_TABLE_NUMBER,
    MO_TABLE_TEXT,
    MO_TABLE_TIME,  /* int64 microseconds since the epoch, UTC */
    MO_TABLE_OTHER, /* an HDF5 dtype that is neither number nor string (dtype says which) */
} mo_table_type_t;

typedef struct {
    const char *name;
    mo_table_type_t type;
    const char *dtype;    /* "float64", "string", "csv", ... for messages */
    int64_t filled;       /* CSV after the scan: non-empty cells; -1 elsewhere */
    char first_text[160]; /* CSV text column: "data.csv:7:3 'abc'", its first non-number */
} mo_table_col_t;

typedef struct {
    mo_table_format_t format; /* AUTO */
    const char *view;         /* feature_view: the view; NULL: the store's only view */
} mo_table_opts_t;

typedef struct mo_table mo_table_t;

/* Open `path` (read only, no MPI: each rank opens its own). A missing file is MO_ENOTFOUND,
 * a file that is not what `format` says MO_EFORMAT ("x.h5: not an HDF5 file" also when AUTO
 * meets a file named *.h5 or *.hdf5 that is not HDF5). opts may be NULL. The caller owns
 * *out: mo_table_close. */
int mo_table_open(mo_table_t **out, const char *path, const mo_table_opts_t *opts, mo_error_t *err);
void mo_table_close(mo_table_t *t);

/* CSV: read the file once for the row count and the column types. A no-op elsewhere and on
 * a second call. mo_table_read scans first when needed. */
int mo_table_scan(mo_table_t *t, mo_error_t *err);

mo_table_format_t mo_table_format(const mo_table_t *t);
const char *mo_table_path(const mo_table_t *t);
/* "CSV table", "HDF5 table", "dataset", "feature view 'activity'" (for messages). */
const char *mo_table_source(const mo_table_t *t);
/* A feature view's name (the one opened), else NULL. */
const char *mo_table_view(const mo_table_t *t);
/* Rows; -1 for a CSV table not scanned yet. */
int64_t mo_table_rows(const mo_table_t *t);
size_t mo_table_ncols(const mo_table_t *t);
/* Column i (NULL out of range); its strings belong to the table. */
const mo_table_col_t *mo_table_col(const mo_table_t *t, size_t i);
/* Index of the first column called `name`, or -1. */
int mo_table_find(const mo_table_t *t, const char *name);
/* The dataset's info (datasets only, else NULL); belongs to the table. */
const mo_ds_info_t *mo_table_ds_info(const mo_table_t *t);

/* One column of a block, as its type says: num (NUMBER), time (TIME) or text (TEXT: never
 * NULL pointers, into pool). */
typedef struct {
    size_t col; /* the table's column index */
    mo_table_type_t type;
    double *num;
    int64_t *time;
    char **text;
    char *pool;
} mo_table_vec_t;

typedef struct {
    int64_t first, n; /* rows [first, first + n) */
    size_t n_vecs;
    mo_table_vec_t *vecs; /* in the order asked for */
    int64_t *line;        /* CSV: the physical line of each row, else NULL */
} mo_table_block_t;

/* Read rows [first, first + count) of columns cols[0..n) (each at most once) into *b
 * (initialised here; the caller frees it with mo_table_block_free, also after a failure). A
 * column of type OTHER, an index out of range or twice, or rows past the end are MO_EINVAL. */
int mo_table_read(mo_table_block_t *b, mo_table_t *t, const size_t *cols, size_t n, int64_t first,
                  int64_t count, mo_error_t *err);
void mo_table_block_free(mo_table_block_t *b);

/* Where cell (row i of the block, vec v) is, for messages: "data.csv:12:3",
 * "t.h5: /amount row 11" (rows 0-based, as h5py indexes). Returns buf. */
const char *mo_table_where(const mo_table_t *t, const mo_table_block_t *b, int64_t i, size_t v,
                           char *buf, size_t size);

#endif
