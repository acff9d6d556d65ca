/* h5.c - HDF5 helpers: atomic files, opening, row-wise and whole datasets
 *
 * HDF5 reports failures by printing its error stack and returning a negative value; Maestro
 * wants one line naming the file and the object, so every entry point silences the stack
 * first and builds its message from H5Fget_name/H5Iget_name. Two kinds of dataset: row-wise
 * (chunked, written and read in row ranges, for datasets of any size, also from several ranks)
 * and whole (contiguous, written once and read whole, for checkpoints and run files).
 * Attributes are in h5_attr.c, describing a file for `maestro inspect` in h5_describe.c.
 */
#include "io/h5.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pieces of at most this many bytes per H5Dread/H5Dwrite: MPI-IO counts are int. */
#define PIECE_BYTES ((int64_t)256 << 20)
#define CHUNK_BYTES ((int64_t)1 << 20)

void mo_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void mo_h5_where(char *buf, size_t size, hid_t obj)
{
    char file[200] = "?", name[200] = "?";
    if (H5Fget_name(obj, file, sizeof file) < 0)
        mo_strlcpy(file, "?", sizeof file);
    if (H5Iget_name(obj, name, sizeof name) < 0)
        mo_strlcpy(name, "?", sizeof name);
    snprintf(buf, size, "%s: %s", file, name);
}

/* "a.h5: root attribute 'kind'" or "a.h5: /X attribute 'feature_names'" */
const char *mo_h5_dtype_name(hid_t type)
{
    static const char *sint[] = {"int8", "int16", "int32", "int64"};
    static const char *uint[] = {"uint8", "uint16", "uint32", "uint64"};
    size_t size = H5Tget_size(type);
    int lg = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
    static const char *other[] = {
        [H5T_TIME] = "time",     [H5T_STRING] = "string",     [H5T_BITFIELD] = "bitfield",
        [H5T_OPAQUE] = "opaque", [H5T_COMPOUND] = "compound", [H5T_REFERENCE] = "reference",
        [H5T_ENUM] = "enum",     [H5T_VLEN] = "vlen",         [H5T_ARRAY] = "array"};
    H5T_class_t c = H5Tget_class(type);
    if (c == H5T_INTEGER && lg >= 0)
        return H5Tget_sign(type) == H5T_SGN_NONE ? uint[lg] : sint[lg];
    if (c == H5T_FLOAT)
        return size == 2 ? "float16" : size == 4 ? "float32" : size == 8 ? "float64" : "float";
    if (c > H5T_FLOAT && c <= H5T_ARRAY)
        return other[c];
    return "unknown";
}

/* ---- atomic files ------------------------------------------------------------------------ */

static int create_tmp(hid_t *file, char **tmp_path, const char *path, int sum, mo_error_t *err);

int mo_h5_create_tmp(hid_t *file, char **tmp_path, const char *path, mo_error_t *err)
{
    return create_tmp(file, tmp_path, path, 0, err);
}

int mo_h5_create_tmp_sum(hid_t *file, char **tmp_path, const char *path, mo_error_t *err)
{
    return create_tmp(file, tmp_path, path, 1, err);
}

static int create_tmp(hid_t *file, char **tmp_path, const char *path, int sum, mo_error_t *err)
{
    int rc = 0;
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    char *tmp = NULL;
    mo_buf_t b = {0};
    if (!file || !tmp_path)
        return mo_errorf(err, MO_EINVAL, "mo_h5_create_tmp: NULL output");
    *file = H5I_INVALID_HID;
    *tmp_path = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_h5_create_tmp: empty path");
    mo_h5_quiet();
    if (mo_buf_printf(&b, "%s.tmp.%ld", path, (long)getpid()) || !(tmp = mo_buf_steal(&b))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Create it with open(2) first: HDF5 cannot say why a create failed, errno can. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* The 1.8 file format: attributes over 64 KiB (thousands of feature names) need its
     * dense attribute storage, and every HDF5 since 1.8 (h5py included) still reads it. */
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot set up HDF5 file access", path);
        goto out;
    }
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0 ||
        (sum && H5Pset_userblock(fcpl, MO_H5_SUM_BLOCK) < 0)) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot set up HDF5 file creation", path);
        goto out;
    }
    *file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (*file < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: HDF5 cannot create %s", path, tmp);
        goto out;
    }
out:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    mo_buf_free(&b);
    if (rc) {
        if (tmp)
            unlink(tmp);
        free(tmp);
    } else {
        *tmp_path = tmp;
    }
    return rc;
}

static void fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int mo_h5_commit(hid_t *file, char **tmp_path, const char *path, mo_error_t *err)
{
    int rc = 0;
    if (!file || !tmp_path || !*tmp_path || *file < 0 || !path || !*path) {
        if (file && tmp_path)
            mo_h5_abort(file, tmp_path);
        return mo_errorf(err, MO_EINVAL, "mo_h5_commit: no open temporary file");
    }
    hsize_t block = 0;
    hid_t fcpl = H5Fget_create_plist(*file);
    if (fcpl >= 0) {
        H5Pget_userblock(fcpl, &block);
        H5Pclose(fcpl);
    }
    herr_t closed = H5Fclose(*file);
    *file = H5I_INVALID_HID;
    if (closed < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot finish writing %s", path, *tmp_path);
        goto out;
    }
    if (block == MO_H5_SUM_BLOCK && (rc = mo_h5_sum_write(*tmp_path, path, err)))
        goto out;
    /* Data on disk before the name: a crash leaves the old file or the new, never half. */
    fsync_path(*tmp_path, O_RDONLY);
    if (rename(*tmp_path, path) != 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot rename %s into place: %s", path, *tmp_path,
                       strerror(errno));
        goto out;
    }
    char *dir = mo_strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        fsync_path(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
        free(dir);
    }
out:
    if (rc)
        unlink(*tmp_path);
    free(*tmp_path);
    *tmp_path = NULL;
    return rc;
}

void mo_h5_abort(hid_t *file, char **tmp_path)
{
    if (file && *file >= 0) {
        H5Fclose(*file);
        *file = H5I_INVALID_HID;
    }
    if (tmp_path && *tmp_path) {
        unlink(*tmp_path);
        free(*tmp_path);
        *tmp_path = NULL;
    }
}

int mo_h5_open(hid_t *file, const char *path, hid_t fapl, mo_error_t *err)
{
    struct stat st;
    if (!file)
        return mo_errorf(err, MO_EINVAL, "mo_h5_open: NULL output");
    *file = H5I_INVALID_HID;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_h5_open: empty path");
    mo_h5_quiet();
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return mo_errorf(err, MO_ENOTFOUND, "%s: no such file", path);
        return mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return mo_errorf(err, MO_EFORMAT, "%s: is a directory, not an HDF5 file", path);
    if (access(path, R_OK) != 0)
        return mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return mo_errorf(err, MO_EFORMAT, "%s: not an HDF5 file", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (*file < 0)
        return mo_errorf(err, MO_EIO, "%s: HDF5 cannot open the file", path);
    return 0;
}

/* ---- row-wise datasets ------------------------------------------------------------------- */

int mo_h5_dataset_create(hid_t *out, hid_t loc, const char *name, hid_t type, int rank,
                         const int64_t *dims, mo_error_t *err)
{
    int rc = 0;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_h5_dataset_create: NULL output");
    *out = H5I_INVALID_HID;
    mo_h5_quiet();
    if (!name || !*name || !dims || (rank != 1 && rank != 2) || dims[0] < 1 ||
        (rank == 2 && dims[1] < 1))
        return mo_errorf(err, MO_EINVAL, "mo_h5_dataset_create: bad name, rank or dims");
    size_t elem = H5Tget_size(type);
    int64_t cols = rank == 2 ? dims[1] : 1;
    hsize_t hdims[2] = {(hsize_t)dims[0], (hsize_t)cols}, chunk[2];
    if (elem == 0)
        return mo_errorf(err, MO_EINVAL, "mo_h5_dataset_create: bad type");
    if ((int64_t)elem * cols <= CHUNK_BYTES) {
        int64_t rows = CHUNK_BYTES / ((int64_t)elem * cols);
        chunk[0] = (hsize_t)(rows < dims[0] ? rows : dims[0]);
        chunk[1] = (hsize_t)cols;
    } else { /* one row is over 1 MiB: split rows too */
        chunk[0] = 1;
        chunk[1] = (hsize_t)(CHUNK_BYTES / (int64_t)elem);
    }
    space = H5Screate_simple(rank, hdims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* No timestamps in object headers: the same content gives the same bytes. */
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        rc = mo_errorf(err, MO_EIO, "cannot set up dataset %s", name);
        goto out;
    }
    *out = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (*out < 0) {
        char where[300];
        mo_h5_where(where, sizeof where, loc);
        rc = mo_errorf(err, MO_EIO, "%s: cannot create dataset %s", where, name);
    }
out:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int rows_io(int writing, hid_t dset, hid_t mem_type, int64_t row0, int64_t nrows, void *buf,
                   mo_error_t *err)
{
    int rc = 0;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 1};
    char where[400];
    mo_h5_quiet();
    mo_h5_where(where, sizeof where, dset);
    if (nrows == 0)
        return 0;
    fspace = H5Dget_space(dset);
    int rank = fspace >= 0 ? H5Sget_simple_extent_ndims(fspace) : -1;
    if (rank != 1 && rank != 2) {
        rc = mo_errorf(err, MO_EINVAL, "%s: not a 1-D or 2-D dataset", where);
        goto out;
    }
    H5Sget_simple_extent_dims(fspace, dims, NULL);
    if (!buf || row0 < 0 || nrows < 0 || (hsize_t)row0 > dims[0] ||
        (hsize_t)nrows > dims[0] - (hsize_t)row0) {
        rc = mo_errorf(err, MO_EINVAL, "%s: rows %lld..%lld are outside 0..%llu", where,
                       (long long)row0, (long long)(row0 + nrows), (unsigned long long)dims[0]);
        goto out;
    }
    int64_t row_bytes = (int64_t)H5Tget_size(mem_type) * (int64_t)dims[1];
    int64_t step = row_bytes > 0 && row_bytes < PIECE_BYTES ? PIECE_BYTES / row_bytes : 1;
    for (int64_t r = 0; r < nrows; r += step) {
        int64_t k = nrows - r < step ? nrows - r : step;
        hsize_t start[2] = {(hsize_t)(row0 + r), 0}, count[2] = {(hsize_t)k, dims[1]};
        if (mspace >= 0)
            H5Sclose(mspace);
        mspace = H5Screate_simple(rank, count, NULL);
        char *p = (char *)buf + r * row_bytes;
        herr_t st = -1;
        if (mspace >= 0 &&
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
            st = writing ? H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, p)
                         : H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, p);
        if (st < 0) {
            rc = mo_errorf(err, MO_EIO, "%s: cannot %s rows %lld..%lld", where,
                           writing ? "write" : "read", (long long)(row0 + r),
                           (long long)(row0 + r + k));
            goto out;
        }
    }
out:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return rc;
}

int mo_h5_write_rows(hid_t dset, hid_t mem_type, int64_t row0, int64_t nrows, const void *buf,
                     mo_error_t *err)
{
    /* rows_io only reads from buf when writing; the cast keeps one implementation. */
    return rows_io(1, dset, mem_type, row0, nrows, (void *)(uintptr_t)buf, err);
}

int mo_h5_read_rows(hid_t dset, hid_t mem_type, int64_t row0, int64_t nrows, void *buf,
                    mo_error_t *err)
{
    return rows_io(0, dset, mem_type, row0, nrows, buf, err);
}

/* ---- whole datasets ---------------------------------------------------------------------- */

int mo_h5_write_whole(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *buf, mo_error_t *err)
{
    int rc = 0;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    char where[300];
    mo_h5_quiet();
    mo_h5_where(where, sizeof where, loc);
    if (!name || !*name || rank < 0 || rank > 2 || (rank > 0 && !dims))
        return mo_errorf(err, MO_EINVAL, "%s: cannot write dataset (bad arguments)", where);
    hsize_t npoints = 1;
    for (int i = 0; i < rank; i++)
        npoints *= dims[i];
    if (npoints > 0 && !buf)
        return mo_errorf(err, MO_EINVAL, "%s: dataset %s: NULL data", where, name);
    space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* No fill pass before the one write (HDF5 refuses that for variable-length strings), no
     * timestamps (same content, same bytes). */
    int vlen = H5Tis_variable_str(ftype) > 0 || H5Tdetect_class(ftype, H5T_VLEN) > 0;
    if (space < 0 || dcpl < 0 || H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
        (!vlen && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0) ||
        H5Pset_obj_track_times(dcpl, 0) < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot set up dataset %s", where, name);
        goto out;
    }
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot create dataset %s", where, name);
        goto out;
    }
    if (npoints > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot write dataset %s", where, name);
out:
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}
