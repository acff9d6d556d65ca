/* events.h - event tables: the source of feature materialisation (docs/formats.md "Event
 * tables")
 *
 * An event table has an entity column (the entity's key, kept as text), an event timestamp, an
 * optional created timestamp (ties between equal event timestamps) and numeric value columns.
 * It is a CSV file with a header row (RFC 4180, as io/csv.h reads) or an HDF5 file with one
 * 1-D dataset per column at the root, all of one length (entity: strings or integers;
 * timestamps: strings, or integers/floats read as the declared epoch unit; values: any
 * number). Which it is comes from the file's first bytes (the HDF5 signature), not its name.
 *
 * mo_events_read reads the rows [first, first + count) of the table (count -1: to the end), so
 * ranks can split a table; mo_events_count says how many rows there are. Empty value cells
 * are NaN. Errors carry file:line:col for CSV (the header's for a missing column) and the
 * dataset name and row for HDF5. Only the rows read are checked: an HDF5 reader reads just its
 * hyperslab, a CSV reader scans from the start (to find rows) but splits and converts only its
 * range, so a bad row is reported by the rank that reads it. Codes: MO_ENOTFOUND (no file),
 * MO_EINVAL (a bad spec, a named column missing, a range past the end), MO_EFORMAT (the
 * content: a cell, the quoting, a field count, a dataset's type or shape), MO_EIO, MO_ENOMEM.
 *
 * A label column (spec.label, optional) is kept as text, any cell allowed (empty included):
 * HDF5 strings as they are, integers in decimal, floats in the shortest form that reads back.
 *
 * Cells (docs/formats.md "Event tables"): the entity key is the cell's text (HDF5 integers
 * as decimal text, so "42" in a CSV and 42 in an HDF5 file are one entity); an empty key is
 * an error. Timestamps follow io/timestamp.h; an empty event timestamp is an error, an empty
 * created timestamp means "same as the event timestamp". Values: an empty cell or "nan" (any
 * case) is NaN (missing); infinities and other text are errors. Spaces around unquoted CSV
 * cells are trimmed, and around numbers and timestamps even when quoted. CSV: LF or CRLF line
 * ends, blank lines skipped (not rows), a UTF-8 BOM skipped, every row as many fields as the
 * header; only the wanted columns are converted. Rows are numbered from 0 after the header
 * for first/count; messages give the physical line (1-based) and field number (1-based) in a
 * CSV, the row (0-based, as h5py indexes) in an HDF5 dataset.
 */
#ifndef MO_IO_EVENTS_H
#define MO_IO_EVENTS_H

#include "core/status.h"
#include "io/timestamp.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *path;
    const char *entity, *timestamp, *created; /* column names; created may be NULL */
    const char *const *values;                /* value columns, in the order wanted */
    size_t n_values;
    mo_ts_format_t ts_format; /* for both timestamp columns */
    const char *label;        /* optional column kept as text per row (kind: dataset's labels) */
} mo_events_spec_t;

/* Rows in memory, column-wise. Keys (and labels) live in one pool: key i is pool + key_off[i]
 * (NUL-terminated). hash[i] is mo_entity_hash of key i. */
typedef struct {
    int64_t n, cap;
    uint64_t *hash;
    uint64_t *key_off;
    char *pool;
    size_t pool_len, pool_cap;
    int64_t *ts, *created; /* created[i] == ts[i] when the table has no created column */
    double *vals;          /* row-major [n][n_values] */
    size_t n_values;
    uint64_t *label_off; /* read with spec.label: label i is pool + label_off[i]; else NULL */
} mo_events_t;

/* 64-bit hash of an entity key (stable across runs, ranks and machines; stores and the rank
 * that owns an entity depend on it, so it never changes): FNV-1a 64 over the key's bytes
 * (offset basis 0xcbf29ce484222325, prime 0x100000001b3), then the splitmix64 finaliser
 * (x ^= x >> 30; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27; x *= 0x94d049bb133111eb; x ^= x >> 31),
 * which mixes every key byte into the high bits that ranks are assigned by.
 * mo_entity_hash("", 0) == 0xf52a15e9a9b5e89b, of "a" 0x02c0bdbf481420f8. */
uint64_t mo_entity_hash(const char *key, size_t len);

/* Total rows of the table (CSV: data rows after the header). Checks the columns exist. */
int mo_events_count(int64_t *rows, const mo_events_spec_t *spec, mo_error_t *err);
/* Read rows [first, first + count) into *ev (initialised here; empty again on failure). A
 * range past the end of the table is MO_EINVAL. The caller frees *ev with mo_events_free. */
int mo_events_read(mo_events_t *ev, const mo_events_spec_t *spec, int64_t first, int64_t count,
                   mo_error_t *err);
/* Free the rows; *ev is left an empty table with the same n_values. NULL is fine. */
void mo_events_free(mo_events_t *ev);

/* Append one row (key copied; a NUL byte inside it is MO_EINVAL); for building tables and for
 * receiving shuffled rows. vals: n_values doubles, or NULL for all NaN. A table with labels
 * gets an empty label. */
int mo_events_push(mo_events_t *ev, const char *key, size_t key_len, uint64_t hash, int64_t ts,
                   int64_t created, const double *vals, mo_error_t *err);
/* Empty table with n_values value columns. */
void mo_events_init(mo_events_t *ev, size_t n_values);

/* Sort rows by (hash, key (strcmp), ts, created), stably (equal rows keep their order). The
 * key pool is rebuilt in row order. Needs about 56 bytes a row of scratch besides new copies
 * of the pool and the values. MO_ENOMEM leaves *ev as it was. */
int mo_events_sort(mo_events_t *ev, mo_error_t *err);

#endif
