/* h5.h - HDF5 helpers every Maestro file format shares
 *
 * Everything Maestro writes is HDF5 (docs/formats.md). These helpers give every writer the
 * same guarantees and every reader the same messages:
 *
 *   - Atomic files: mo_h5_create_tmp() opens `<path>.tmp.<pid>`; mo_h5_commit() closes it,
 *     fsyncs it and renames it over `path`; mo_h5_abort() closes and removes it. Both commit
 *     and abort reset the caller's handle and temp path, so an error path may call abort
 *     unconditionally after a commit. Single process only: the temp name holds the pid.
 *   - Quiet errors: HDF5's automatic error-stack printing is switched off (mo_h5_quiet(),
 *     called by every helper); failures come back as one-line messages naming the file and
 *     the HDF5 object: "data/a.h5: /X attribute feature_names: expected strings, found int32".
 *   - Strings are stored as variable-length UTF-8 (what h5py writes and reads as `str`);
 *     readers also accept fixed-length strings.
 *   - Integers are stored as int64, floats as float64; readers accept any integer (or float)
 *     width and convert.
 *
 * Handles passed in (`obj`) are any HDF5 file, group or dataset id; the helpers never close
 * them. Returned strings and arrays belong to the caller (free(), mo_h5_strv_free()).
 */
#ifndef MO_IO_H5_H
#define MO_IO_H5_H

#include "core/status.h"
#include "io/dataset.h"

#include <hdf5.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Switch off HDF5's automatic error printing for this process (idempotent). */
void mo_h5_quiet(void);

/* "path: /obj" for messages: the file name and object path of `obj` into `buf`. */
void mo_h5_where(char *buf, size_t size, hid_t obj);

/* The dtype name used in messages and in `inspect --json`: "float32", "float64", "int8" ..
 * "int64", "uint8" .. "uint64", "string", "compound", "enum", "array", "opaque", "bitfield",
 * "reference", "vlen", "time" or "unknown". Never NULL; static storage. */
const char *mo_h5_dtype_name(hid_t type);

/* ---- atomic files -------------------------------------------------------------------------
 * *file receives an open file (truncating any old temp of the same name), *tmp_path the temp
 * name (caller-owned until commit/abort take it). File objects left open are closed by the
 * commit (the file is opened with H5F_CLOSE_STRONG), so data is never renamed half-flushed. */
int mo_h5_create_tmp(hid_t *file, char **tmp_path, const char *path, mo_error_t *err);
/* The same, with a checksum: the file gets a 512-byte user block (HDF5 skips it; h5py reads
 * such files as usual) in which mo_h5_commit writes "MAESTRO-SHA256 1", the length and the
 * SHA-256 of every byte after the block. mo_h5_verify checks it before HDF5 parses anything,
 * so a truncated or altered file is told apart from a good one, and a damaged file never
 * reaches HDF5's parser (docs/formats.md "Checksums"). */
int mo_h5_create_tmp_sum(hid_t *file, char **tmp_path, const char *path, mo_error_t *err);
/* Check a file's checksum: 0 when it matches; MO_EFORMAT when it does not (the message says
 * damaged: truncated or altered) or, with `required`, when the file has none; 0 for a file
 * without one when not required. MO_ENOTFOUND / MO_EIO as open and read say. */
int mo_h5_verify(const char *path, int required, mo_error_t *err);
/* Close, fsync and rename the temp over `path`. On failure the temp is removed. Always sets
 * *file = H5I_INVALID_HID and frees *tmp_path (NULL). */
int mo_h5_commit(hid_t *file, char **tmp_path, const char *path, mo_error_t *err);
/* Close and remove the temp; no-op when *file and *tmp_path are already reset. */
void mo_h5_abort(hid_t *file, char **tmp_path);

/* Open an existing file read-only with the default driver. MO_ENOTFOUND when the file does
 * not exist, MO_EFORMAT when it is not HDF5. `fapl` may be H5P_DEFAULT. */
int mo_h5_open(hid_t *file, const char *path, hid_t fapl, mo_error_t *err);

/* ---- attributes ---------------------------------------------------------------------------
 * Writers replace an attribute of the same name. Readers return MO_ENOTFOUND (with a message)
 * when the attribute is absent and MO_EFORMAT when its type or shape is wrong. */
int mo_h5_attr_exists(hid_t obj, const char *name); /* 1, 0, or negative on error */
int mo_h5_attr_write_str(hid_t obj, const char *name, const char *value, mo_error_t *err);
int mo_h5_attr_write_int(hid_t obj, const char *name, int64_t value, mo_error_t *err);
int mo_h5_attr_write_double(hid_t obj, const char *name, double value, mo_error_t *err);
/* A 1-D array of `n` strings (n >= 1; HDF5 has no empty dataspaces for attributes). */
int mo_h5_attr_write_strv(hid_t obj, const char *name, char *const *values, size_t n,
                          mo_error_t *err);
/* *out: malloc'd copy of a scalar string attribute. */
int mo_h5_attr_read_str(char **out, hid_t obj, const char *name, mo_error_t *err);
/* A scalar integer attribute, any width. */
int mo_h5_attr_read_int(int64_t *out, hid_t obj, const char *name, mo_error_t *err);
/* A scalar integer or float attribute. */
int mo_h5_attr_read_double(double *out, hid_t obj, const char *name, mo_error_t *err);
/* A 1-D string array attribute: *out holds *n malloc'd strings (mo_h5_strv_free). */
int mo_h5_attr_read_strv(char ***out, size_t *n, hid_t obj, const char *name, mo_error_t *err);
void mo_h5_strv_free(char **v, size_t n);

/* ---- row-wise datasets --------------------------------------------------------------------
 * A 1-D [rows] or 2-D [rows, cols] dataset of file type `type`, chunked by rows so that one
 * chunk holds about 1 MiB, no compression. dims[0] >= 1, dims[1] >= 1. */
int mo_h5_dataset_create(hid_t *out, hid_t loc, const char *name, hid_t type, int rank,
                         const int64_t *dims, mo_error_t *err);
/* Rows [row0, row0 + nrows) of a 1-D or 2-D dataset from/into memory of `mem_type`, row-major.
 * Large ranges go in pieces (MPI-IO counts are int). Independent I/O. nrows == 0: no-op. */
int mo_h5_write_rows(hid_t dset, hid_t mem_type, int64_t row0, int64_t nrows, const void *buf,
                     mo_error_t *err);
int mo_h5_read_rows(hid_t dset, hid_t mem_type, int64_t row0, int64_t nrows, void *buf,
                    mo_error_t *err);

/* ---- inspect ------------------------------------------------------------------------------
 * What a Maestro HDF5 file holds, as a JSON object with stable keys (docs/formats.md,
 * "maestro inspect --json"): path, kind, format_version, attributes, datasets, and per kind
 * more (kind "dataset": rows, features, task, n_classes, class_names, feature_names).
 * The caller owns *out (json_decref). */
int mo_h5_describe(json_t **out, const char *path, mo_error_t *err);
/* An attribute as JSON: scalars and 1-D arrays of strings or numbers; null for anything else
 * (compound, enum, references, multi-dimensional) or when it cannot be read. New reference. */
json_t *mo_h5_attr_json(hid_t obj, const char *name);

#endif
