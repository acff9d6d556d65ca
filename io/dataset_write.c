/* dataset_write.c - writing the dataset format: whole or streamed in row blocks
 *
 * A writer creates `<path>.tmp.<pid>`, lays out the attributes and the empty /X and /y, takes
 * rows in blocks (each block checked as a reader would check it: NaN/Inf, class range), and
 * renames the file into place on commit. Abort (or any failure) removes the temp file, so a
 * failed write never leaves a file behind. mo_ds_write is the one-block case.
 */
#include "io/dataset.h"

#include "core/alloc.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mo_ds_writer {
    hid_t file, x, y;
    char *tmp, *path;
    mo_ds_info_t info; /* names not owned */
    int64_t next_row;
};

int mo_ds_layout_create(hid_t *x, hid_t *y, hid_t file, const mo_ds_info_t *info, mo_error_t *err)
{
    int rc;
    if (!x || !y || !info)
        return mo_errorf(err, MO_EINVAL, "mo_ds_layout_create: NULL argument");
    int cls = info->task == MO_DS_CLASSIFICATION;
    int64_t xdims[2] = {info->n_rows, info->n_features};
    *x = *y = H5I_INVALID_HID;
    if ((rc = mo_h5_attr_write_str(file, "kind", "dataset", err)) ||
        (rc = mo_h5_attr_write_int(file, "format_version", MO_DS_FORMAT_VERSION, err)) ||
        (rc = mo_h5_attr_write_str(file, "task", cls ? "classification" : "regression", err)) ||
        (rc = mo_h5_attr_write_int(file, "n_classes", cls ? info->n_classes : 0, err)))
        return rc;
    if (cls && info->class_names &&
        (rc = mo_h5_attr_write_strv(file, "class_names", info->class_names, (size_t)info->n_classes,
                                    err)))
        return rc;
    if ((rc = mo_h5_dataset_create(x, file, "X", H5T_IEEE_F32LE, 2, xdims, err)) ||
        (rc = mo_h5_dataset_create(y, file, "y", cls ? H5T_STD_I32LE : H5T_IEEE_F32LE, 1, xdims,
                                   err)))
        return rc;
    if (info->feature_names)
        rc = mo_h5_attr_write_strv(*x, "feature_names", info->feature_names,
                                   (size_t)info->n_features, err);
    return rc;
}

static int check_info(const char *path, const mo_ds_info_t *info, mo_error_t *err)
{
    if (info->n_rows < 1 || info->n_features < 1)
        return mo_errorf(err, MO_EINVAL, "%s: a dataset needs at least one row and one feature",
                         path);
    if (info->task != MO_DS_CLASSIFICATION && info->task != MO_DS_REGRESSION)
        return mo_errorf(err, MO_EINVAL, "%s: unknown task %d", path, (int)info->task);
    if (info->task == MO_DS_CLASSIFICATION && info->n_classes < 1)
        return mo_errorf(err, MO_EINVAL, "%s: a classification dataset needs n_classes >= 1", path);
    for (int64_t i = 0; info->feature_names && i < info->n_features; i++)
        if (!info->feature_names[i])
            return mo_errorf(err, MO_EINVAL, "%s: feature name %lld is NULL", path, (long long)i);
    for (int32_t i = 0;
         info->class_names && info->task == MO_DS_CLASSIFICATION && i < info->n_classes; i++)
        if (!info->class_names[i])
            return mo_errorf(err, MO_EINVAL, "%s: class name %d is NULL", path, (int)i);
    return 0;
}

void mo_ds_writer_abort(mo_ds_writer_t *w)
{
    if (!w)
        return;
    if (w->x >= 0)
        H5Dclose(w->x);
    if (w->y >= 0)
        H5Dclose(w->y);
    mo_h5_abort(&w->file, &w->tmp);
    free(w->path);
    free(w);
}

int mo_ds_writer_open(mo_ds_writer_t **out, const char *path, const mo_ds_info_t *info,
                      mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_ds_writer_open: NULL out");
    *out = NULL;
    if (!path || !*path || !info)
        return mo_errorf(err, MO_EINVAL, "mo_ds_writer_open: path and info are required");
    int rc = check_info(path, info, err);
    if (rc)
        return rc;
    mo_ds_writer_t *w = mo_calloc(1, sizeof *w);
    if (!w || !(w->path = mo_strdup(path))) {
        free(w);
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    }
    w->file = w->x = w->y = H5I_INVALID_HID;
    w->info = *info;
    if ((rc = mo_h5_create_tmp(&w->file, &w->tmp, path, err)) ||
        (rc = mo_ds_layout_create(&w->x, &w->y, w->file, info, err))) {
        mo_ds_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

int mo_ds_writer_append(mo_ds_writer_t *w, int64_t nrows, const float *X, const int32_t *y_class,
                        const float *y_value, mo_error_t *err)
{
    if (!w || nrows < 0 || (nrows && !X))
        return mo_errorf(err, MO_EINVAL, "mo_ds_writer_append: bad arguments");
    int cls = w->info.task == MO_DS_CLASSIFICATION;
    if (nrows && (cls ? !y_class : !y_value))
        return mo_errorf(err, MO_EINVAL, "%s: %s labels are required", w->path,
                         cls ? "class id (y_class)" : "regression (y_value)");
    if (nrows > w->info.n_rows - w->next_row)
        return mo_errorf(err, MO_EINVAL, "%s: %lld rows appended beyond the %lld declared", w->path,
                         (long long)(w->next_row + nrows), (long long)w->info.n_rows);
    int rc;
    if ((!w->info.allow_nan &&
         (rc = mo_ds_check_x(w->path, X, w->next_row, nrows, w->info.n_features, err))) ||
        (rc = mo_ds_check_y(w->path, &w->info, cls ? y_class : NULL, cls ? NULL : y_value,
                            w->next_row, nrows, err))) {
        mo_error_prefix(err, "refusing to write");
        return rc;
    }
    if ((rc = mo_h5_write_rows(w->x, H5T_NATIVE_FLOAT, w->next_row, nrows, X, err)) ||
        (rc = mo_h5_write_rows(w->y, cls ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, w->next_row, nrows,
                               cls ? (const void *)y_class : (const void *)y_value, err)))
        return rc;
    w->next_row += nrows;
    return 0;
}

int mo_ds_writer_commit(mo_ds_writer_t *w, mo_error_t *err)
{
    if (!w)
        return mo_errorf(err, MO_EINVAL, "mo_ds_writer_commit: NULL writer");
    int rc = 0;
    if (w->next_row != w->info.n_rows)
        rc = mo_errorf(err, MO_EINVAL, "%s: %lld of %lld declared rows were written", w->path,
                       (long long)w->next_row, (long long)w->info.n_rows);
    if (!rc) {
        H5Dclose(w->x);
        H5Dclose(w->y);
        w->x = w->y = H5I_INVALID_HID;
        rc = mo_h5_commit(&w->file, &w->tmp, w->path, err);
    }
    mo_ds_writer_abort(w); /* after a commit only frees */
    return rc;
}

int mo_ds_write(const char *path, const mo_ds_info_t *info, const float *X, const int32_t *y_class,
                const float *y_value, mo_error_t *err)
{
    if (!path || !*path || !info || !X)
        return mo_errorf(err, MO_EINVAL, "mo_ds_write: path, info and X are required");
    int rc = check_info(path, info, err);
    if (rc)
        return rc;
    int cls = info->task == MO_DS_CLASSIFICATION;
    /* Refuse what a reader would refuse before anything exists on disk, not just before the
     * rename: a caller holding the whole table gets the error without a temp file appearing. */
    if ((!info->allow_nan &&
         (rc = mo_ds_check_x(path, X, 0, info->n_rows, info->n_features, err))) ||
        (rc = mo_ds_check_y(path, info, cls ? y_class : NULL, cls ? NULL : y_value, 0, info->n_rows,
                            err))) {
        mo_error_prefix(err, "refusing to write");
        return rc;
    }
    mo_ds_writer_t *w = NULL;
    if ((rc = mo_ds_writer_open(&w, path, info, err)) ||
        (rc = mo_ds_writer_append(w, info->n_rows, X, y_class, y_value, err))) {
        mo_ds_writer_abort(w);
        return rc;
    }
    return mo_ds_writer_commit(w, err);
}

int mo_ds_write_mpi(const char *tmp, MPI_Comm comm, const mo_ds_info_t *info, int64_t row0,
                    int64_t nrows, const float *X, const int32_t *y_class, const float *y_value,
                    mo_error_t *err)
{
    int rc = 0, cls = info && info->task == MO_DS_CLASSIFICATION;
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, x = H5I_INVALID_HID, y = H5I_INVALID_HID;
    if (!tmp || !info || row0 < 0 || nrows < 0 || (nrows && (!X || (cls ? !y_class : !y_value))))
        return mo_errorf(err, MO_EINVAL, "mo_ds_write_mpi: bad arguments");
    /* Checks first; a failed one does not skip the collectives below, whose partners wait. */
    rc = check_info(tmp, info, err);
    if (!rc && row0 + nrows > info->n_rows)
        rc = mo_errorf(err, MO_EINVAL, "%s: rows [%lld, %lld) beyond the %lld declared", tmp,
                       (long long)row0, (long long)(row0 + nrows), (long long)info->n_rows);
    if (!rc &&
        ((!info->allow_nan && (rc = mo_ds_check_x(tmp, X, row0, nrows, info->n_features, err))) ||
         (rc = mo_ds_check_y(tmp, info, cls ? y_class : NULL, cls ? NULL : y_value, row0, nrows,
                             err))))
        mo_error_prefix(err, "refusing to write");
    mo_h5_quiet();
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ||
        (file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        if (!rc)
            rc = mo_errorf(err, MO_EIO, "%s: HDF5 cannot create the file", tmp);
    } else {
        int lrc = mo_ds_layout_create(&x, &y, file, info, rc ? NULL : err);
        rc = rc ? rc : lrc;
        if (!rc && nrows &&
            ((rc = mo_h5_write_rows(x, H5T_NATIVE_FLOAT, row0, nrows, X, err)) == 0))
            rc = mo_h5_write_rows(y, cls ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, row0, nrows,
                                  cls ? (const void *)y_class : (const void *)y_value, err);
    }
    /* A write that failed anywhere (a full disk, mostly): empty the file before the collective
     * close, whose metadata flush otherwise fails on rank 0 alone and leaves the ranks at
     * different barriers inside HDF5. The caller removes the file anyway. */
    int failed = rc != 0, any = failed, me = 0;
    if (file >= 0 && MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm) == MPI_SUCCESS &&
        any && MPI_Comm_rank(comm, &me) == MPI_SUCCESS && me == 0)
        (void)truncate(tmp, 0);
    if (x >= 0)
        H5Dclose(x);
    if (y >= 0)
        H5Dclose(y);
    if (file >= 0 && H5Fclose(file) < 0 && !rc)
        rc = mo_errorf(err, MO_EIO, "%s: cannot finish writing the file", tmp);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}
