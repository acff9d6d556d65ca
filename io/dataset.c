/* dataset.c - the Maestro dataset format: X float32 [n, d] and y in HDF5 (io/dataset.h)
 *
 * Opening checks the whole layout up front (attributes, ranks, dtypes, lengths), so a job
 * fails before any work with one line naming the file and the HDF5 object. Values are
 * checked as they are read (NaN/Inf, class range): a full scan at open would cost every rank
 * a pass over the whole file when it only needs its shard. Writing checks the same values
 * before creating anything (dataset_write.c), so Maestro never writes a file it would refuse to
 * read.
 */
#include "io/dataset.h"

#include "core/alloc.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mo_ds {
    hid_t file, x, y;
    mo_ds_info_t info;
    char *path;
};

void mo_ds_shard_range(int64_t n, int rank, int size, int64_t *begin, int64_t *count)
{
    int64_t b = 0, c = 0;
    if (n > 0 && size > 0 && rank >= 0 && rank < size) {
        int64_t base = n / size, extra = n % size;
        b = rank * base + (rank < extra ? rank : extra);
        c = base + (rank < extra ? 1 : 0);
    }
    if (begin)
        *begin = b;
    if (count)
        *count = c;
}

void mo_ds_info_free(mo_ds_info_t *info)
{
    if (!info)
        return;
    mo_h5_strv_free(info->feature_names, info->feature_names ? (size_t)info->n_features : 0);
    mo_h5_strv_free(info->class_names, info->class_names ? (size_t)info->n_classes : 0);
    info->feature_names = NULL;
    info->class_names = NULL;
}

/* NaN/Inf in rows [row0, row0+nrows) of X; rows are numbered from the start of the file. */
int mo_ds_check_x(const char *path, const float *X, int64_t row0, int64_t nrows, int64_t d,
                  mo_error_t *err)
{
    for (int64_t r = 0; r < nrows; r++) {
        const float *row = X + r * d;
        for (int64_t c = 0; c < d; c++)
            if (!isfinite(row[c]))
                return mo_errorf(err, MO_EFORMAT, "%s: /X has %s at row %lld, column %lld", path,
                                 isnan(row[c]) ? "NaN" : "Inf", (long long)(row0 + r),
                                 (long long)c);
    }
    return 0;
}

int mo_ds_check_y(const char *path, const mo_ds_info_t *info, const int32_t *yc, const float *yv,
                  int64_t row0, int64_t nrows, mo_error_t *err)
{
    for (int64_t r = 0; yc && r < nrows; r++)
        if (yc[r] < 0 || yc[r] >= info->n_classes)
            return mo_errorf(err, MO_EFORMAT,
                             "%s: /y has class id %d at row %lld, outside 0..%d (n_classes %d)",
                             path, (int)yc[r], (long long)(row0 + r), (int)info->n_classes - 1,
                             (int)info->n_classes);
    for (int64_t r = 0; yv && r < nrows; r++)
        if (!isfinite(yv[r]))
            return mo_errorf(err, MO_EFORMAT, "%s: /y has %s at row %lld", path,
                             isnan(yv[r]) ? "NaN" : "Inf", (long long)(row0 + r));
    return 0;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Open `name` as a dataset of `rank` dimensions; dims out. */
static int open_array(hid_t *out, int64_t *dims, const mo_ds_t *ds, const char *name, int rank,
                      mo_error_t *err)
{
    hsize_t h[2] = {0, 0};
    *out = H5I_INVALID_HID;
    if (H5Lexists(ds->file, name, H5P_DEFAULT) <= 0)
        return mo_errorf(err, MO_EFORMAT, "%s: %s is missing", ds->path, name);
    *out = H5Dopen2(ds->file, name, H5P_DEFAULT);
    if (*out < 0)
        return mo_errorf(err, MO_EFORMAT, "%s: %s is not a dataset", ds->path, name);
    hid_t space = H5Dget_space(*out);
    int got = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (got == rank)
        H5Sget_simple_extent_dims(space, h, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (got != rank)
        return mo_errorf(err, MO_EFORMAT, "%s: %s must be %d-D, found %d-D", ds->path, name, rank,
                         got);
    dims[0] = (int64_t)h[0];
    dims[1] = (int64_t)h[1];
    return 0;
}

/* Check the dtype of an open dataset: class and size (int32 or float32). */
static int check_dtype(const mo_ds_t *ds, hid_t dset, const char *name, H5T_class_t want,
                       mo_error_t *err)
{
    hid_t t = H5Dget_type(dset);
    int ok = t >= 0 && H5Tget_class(t) == want && H5Tget_size(t) == 4 &&
             (want != H5T_INTEGER || H5Tget_sign(t) == H5T_SGN_2);
    const char *found = t >= 0 ? mo_h5_dtype_name(t) : "unknown";
    int rc = ok ? 0
                : mo_errorf(err, MO_EFORMAT, "%s: %s is %s, expected %s", ds->path, name, found,
                            want == H5T_INTEGER ? "int32" : "float32");
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

static int read_header(mo_ds_t *ds, mo_error_t *err)
{
    int rc;
    char *kind = NULL, *task = NULL;
    int64_t version = 0, n_classes = 0, xd[2], yd[2];
    mo_ds_info_t *info = &ds->info;
    size_t n = 0;
    if ((rc = mo_h5_attr_read_str(&kind, ds->file, "kind", err)))
        goto out;
    if (strcmp(kind, "dataset")) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: is a '%s' file, not a dataset", ds->path, kind);
        goto out;
    }
    if ((rc = mo_h5_attr_read_int(&version, ds->file, "format_version", err)))
        goto out;
    if (version < 1 || version > MO_DS_FORMAT_VERSION) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: format_version %lld is not supported (this Maestro reads 1..%d%s)",
                       ds->path, (long long)version, MO_DS_FORMAT_VERSION,
                       version > MO_DS_FORMAT_VERSION ? "; written by a newer Maestro" : "");
        goto out;
    }
    info->format_version = (int)version;
    if ((rc = mo_h5_attr_read_str(&task, ds->file, "task", err)))
        goto out;
    if (!strcmp(task, "classification")) {
        info->task = MO_DS_CLASSIFICATION;
        if ((rc = mo_h5_attr_read_int(&n_classes, ds->file, "n_classes", err)))
            goto out;
        if (n_classes < 1 || n_classes > INT32_MAX) {
            rc = mo_errorf(err, MO_EFORMAT, "%s: n_classes must be >= 1, found %lld", ds->path,
                           (long long)n_classes);
            goto out;
        }
        info->n_classes = (int32_t)n_classes;
    } else if (!strcmp(task, "regression")) {
        info->task = MO_DS_REGRESSION;
    } else {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: root attribute 'task' is '%s', expected classification or regression",
                       ds->path, task);
        goto out;
    }
    if ((rc = open_array(&ds->x, xd, ds, "/X", 2, err)) ||
        (rc = check_dtype(ds, ds->x, "/X", H5T_FLOAT, err)) ||
        (rc = open_array(&ds->y, yd, ds, "/y", 1, err)) ||
        (rc = check_dtype(ds, ds->y, "/y",
                          info->task == MO_DS_CLASSIFICATION ? H5T_INTEGER : H5T_FLOAT, err)))
        goto out;
    if (yd[0] != xd[0]) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: /y has %lld rows but /X has %lld", ds->path,
                       (long long)yd[0], (long long)xd[0]);
        goto out;
    }
    info->n_rows = xd[0];
    info->n_features = xd[1];
    if (mo_h5_attr_exists(ds->x, "feature_names") > 0) {
        if ((rc = mo_h5_attr_read_strv(&info->feature_names, &n, ds->x, "feature_names", err)))
            goto out;
        if ((int64_t)n != info->n_features) {
            mo_h5_strv_free(info->feature_names, n);
            info->feature_names = NULL;
            rc = mo_errorf(err, MO_EFORMAT, "%s: /X has %lld columns but %zu feature_names",
                           ds->path, (long long)info->n_features, n);
            goto out;
        }
    }
    if (info->task == MO_DS_CLASSIFICATION && mo_h5_attr_exists(ds->file, "class_names") > 0) {
        if ((rc = mo_h5_attr_read_strv(&info->class_names, &n, ds->file, "class_names", err)))
            goto out;
        if ((int64_t)n != info->n_classes) {
            mo_h5_strv_free(info->class_names, n);
            info->class_names = NULL;
            rc = mo_errorf(err, MO_EFORMAT, "%s: n_classes is %d but there are %zu class_names",
                           ds->path, (int)info->n_classes, n);
            goto out;
        }
    }
out:
    /* A missing attribute is a malformed dataset, not a missing file. */
    if (rc == MO_ENOTFOUND) {
        rc = MO_EFORMAT;
        if (err)
            err->code = rc;
    }
    free(kind);
    free(task);
    return rc;
}

int mo_ds_open(mo_ds_t **out, const char *path, MPI_Comm comm, mo_error_t *err)
{
    int rc = 0;
    hid_t fapl = H5I_INVALID_HID;
    mo_ds_t *ds = NULL;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_ds_open: NULL output");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_ds_open: empty path");
    mo_h5_quiet();
    if (!(ds = mo_calloc(1, sizeof *ds)) || !(ds->path = mo_strdup(path))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    ds->file = ds->x = ds->y = H5I_INVALID_HID;
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || (comm != MPI_COMM_NULL && H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0)) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot set up parallel HDF5 access", path);
        goto out;
    }
    if ((rc = mo_h5_open(&ds->file, path, fapl, err)) || (rc = read_header(ds, err)))
        goto out;
out:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc)
        mo_ds_close(ds);
    else
        *out = ds;
    return rc;
}

const mo_ds_info_t *mo_ds_info(const mo_ds_t *ds)
{
    return ds ? &ds->info : NULL;
}

int mo_ds_read(mo_ds_t *ds, int64_t row0, int64_t nrows, float *X, int32_t *y_class, float *y_value,
               mo_error_t *err)
{
    int rc = 0;
    if (!ds)
        return mo_errorf(err, MO_EINVAL, "mo_ds_read: NULL dataset");
    const mo_ds_info_t *info = &ds->info;
    int cls = info->task == MO_DS_CLASSIFICATION;
    if (row0 < 0 || nrows < 0 || row0 > info->n_rows || nrows > info->n_rows - row0)
        return mo_errorf(err, MO_EINVAL, "%s: rows %lld..%lld are outside 0..%lld", ds->path,
                         (long long)row0, (long long)row0 + nrows, (long long)info->n_rows);
    if (cls ? (!y_class && y_value) : (y_class && !y_value))
        return mo_errorf(err, MO_EINVAL, "%s: labels are %s; pass %s", ds->path,
                         cls ? "class ids" : "regression targets", cls ? "y_class" : "y_value");
    if (X && ((rc = mo_h5_read_rows(ds->x, H5T_NATIVE_FLOAT, row0, nrows, X, err)) ||
              (rc = mo_ds_check_x(ds->path, X, row0, nrows, info->n_features, err))))
        return rc;
    if (cls && y_class)
        rc = mo_h5_read_rows(ds->y, H5T_NATIVE_INT32, row0, nrows, y_class, err);
    else if (!cls && y_value)
        rc = mo_h5_read_rows(ds->y, H5T_NATIVE_FLOAT, row0, nrows, y_value, err);
    if (rc)
        return rc;
    return mo_ds_check_y(ds->path, info, cls ? y_class : NULL, cls ? NULL : y_value, row0, nrows,
                         err);
}

void mo_ds_close(mo_ds_t *ds)
{
    if (!ds)
        return;
    if (ds->x >= 0)
        H5Dclose(ds->x);
    if (ds->y >= 0)
        H5Dclose(ds->y);
    if (ds->file >= 0)
        H5Fclose(ds->file);
    mo_ds_info_free(&ds->info);
    free(ds->path);
    free(ds);
}

/* ---- inspect ----------------------------------------------------------------------------- */

static json_t *strv_json(hid_t obj, const char *name)
{
    char **v = NULL;
    size_t n = 0;
    if (mo_h5_attr_exists(obj, name) <= 0 || mo_h5_attr_read_strv(&v, &n, obj, name, NULL))
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    mo_h5_strv_free(v, n);
    return a ? a : json_null();
}

void mo_ds_describe(json_t *obj, hid_t file)
{
    hid_t x = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    char *task = NULL;
    int64_t k = 0;
    int rank = -1;
    if (!obj)
        return;
    if (H5Lexists(file, "/X", H5P_DEFAULT) > 0 && (x = H5Dopen2(file, "/X", H5P_DEFAULT)) >= 0) {
        hid_t s = H5Dget_space(x);
        if (s >= 0 && H5Sget_simple_extent_ndims(s) == 2)
            rank = H5Sget_simple_extent_dims(s, dims, NULL);
        if (s >= 0)
            H5Sclose(s);
    }
    json_object_set_new(obj, "rows", rank == 2 ? json_integer((json_int_t)dims[0]) : json_null());
    json_object_set_new(obj, "features",
                        rank == 2 ? json_integer((json_int_t)dims[1]) : json_null());
    int has_task = mo_h5_attr_read_str(&task, file, "task", NULL) == 0;
    json_object_set_new(obj, "task", has_task ? json_string(task) : json_null());
    int has_k = mo_h5_attr_read_int(&k, file, "n_classes", NULL) == 0;
    json_object_set_new(obj, "n_classes", has_k ? json_integer((json_int_t)k) : json_null());
    json_object_set_new(obj, "class_names", strv_json(file, "class_names"));
    json_object_set_new(obj, "feature_names", x >= 0 ? strv_json(x, "feature_names") : json_null());
    free(task);
    if (x >= 0)
        H5Dclose(x);
}
