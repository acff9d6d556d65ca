/* h5.c - HDF5 helpers: atomic files, attributes, row-wise datasets, inspect
 *
 * HDF5 reports failures by printing its error stack and returning a negative value; Maestro
 * wants one line naming the file and the object, so every entry point silences the stack
 * first and builds its message from H5Fget_name/H5Iget_name. Attribute helpers accept what
 * h5py and other HDF5 writers produce (fixed or variable strings, any integer width), and
 * write one canonical form (variable UTF-8 strings, int64, float64).
 */
#include "io/h5.h"

#include "core/alloc.h"
#include "core/str.h"

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
static void attr_where(char *buf, size_t size, hid_t obj, const char *name)
{
    char file[200] = "?", oname[200] = "?";
    if (H5Fget_name(obj, file, sizeof file) < 0)
        mo_strlcpy(file, "?", sizeof file);
    if (H5Iget_name(obj, oname, sizeof oname) < 0)
        mo_strlcpy(oname, "?", sizeof oname);
    if (!strcmp(oname, "/"))
        snprintf(buf, size, "%s: root attribute '%s'", file, name);
    else
        snprintf(buf, size, "%s: %s attribute '%s'", file, oname, name);
}

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

int mo_h5_create_tmp(hid_t *file, char **tmp_path, const char *path, mo_error_t *err)
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
    if (fcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
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
    herr_t closed = H5Fclose(*file);
    *file = H5I_INVALID_HID;
    if (closed < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot finish writing %s", path, *tmp_path);
        goto out;
    }
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

/* ---- attributes -------------------------------------------------------------------------- */

int mo_h5_attr_exists(hid_t obj, const char *name)
{
    mo_h5_quiet();
    if (!name)
        return MO_EINVAL;
    htri_t e = H5Aexists(obj, name);
    return e < 0 ? MO_EIO : (int)e;
}

static hid_t vlen_str_type(H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, cset) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

static int attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                      const void *buf, mo_error_t *err)
{
    int rc = 0;
    hid_t attr = H5I_INVALID_HID;
    char where[400];
    mo_h5_quiet();
    attr_where(where, sizeof where, obj, name ? name : "?");
    if (!name || !*name || ftype < 0 || mtype < 0 || space < 0)
        return mo_errorf(err, MO_EINVAL, "%s: cannot write (bad arguments)", where);
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot replace", where);
        goto out;
    }
    attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mtype, buf) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot write", where);
out:
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

int mo_h5_attr_write_str(hid_t obj, const char *name, const char *value, mo_error_t *err)
{
    if (!value)
        return mo_errorf(err, MO_EINVAL, "attribute '%s': NULL value", name ? name : "?");
    hid_t t = vlen_str_type(H5T_CSET_UTF8), s = H5Screate(H5S_SCALAR);
    int rc = attr_write(obj, name, t, t, s, &value, err);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

int mo_h5_attr_write_int(hid_t obj, const char *name, int64_t value, mo_error_t *err)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, s, &value, err);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

int mo_h5_attr_write_double(hid_t obj, const char *name, double value, mo_error_t *err)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s, &value, err);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

int mo_h5_attr_write_strv(hid_t obj, const char *name, char *const *values, size_t n,
                          mo_error_t *err)
{
    if (!values || n == 0)
        return mo_errorf(err, MO_EINVAL, "attribute '%s': no strings", name ? name : "?");
    for (size_t i = 0; i < n; i++)
        if (!values[i])
            return mo_errorf(err, MO_EINVAL, "attribute '%s': string %zu is NULL",
                             name ? name : "?", i);
    hsize_t dims[1] = {n};
    hid_t t = vlen_str_type(H5T_CSET_UTF8), s = H5Screate_simple(1, dims, NULL);
    int rc = attr_write(obj, name, t, t, s, values, err);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

/* An open attribute with its file type and the number of elements (scalar: 1). */
typedef struct {
    hid_t attr, ftype, space;
    int ndims;
    hssize_t n;
    char where[400];
} attr_t;

static void attr_close(attr_t *a)
{
    if (a->space >= 0)
        H5Sclose(a->space);
    if (a->ftype >= 0)
        H5Tclose(a->ftype);
    if (a->attr >= 0)
        H5Aclose(a->attr);
}

static int attr_open(attr_t *a, hid_t obj, const char *name, mo_error_t *err)
{
    a->attr = a->ftype = a->space = H5I_INVALID_HID;
    mo_h5_quiet();
    if (!name || !*name)
        return mo_errorf(err, MO_EINVAL, "attribute read: empty name");
    attr_where(a->where, sizeof a->where, obj, name);
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot look up", a->where);
    if (e == 0)
        return mo_errorf(err, MO_ENOTFOUND, "%s is missing", a->where);
    a->attr = H5Aopen(obj, name, H5P_DEFAULT);
    a->ftype = a->attr >= 0 ? H5Aget_type(a->attr) : H5I_INVALID_HID;
    a->space = a->attr >= 0 ? H5Aget_space(a->attr) : H5I_INVALID_HID;
    if (a->ftype < 0 || a->space < 0) {
        attr_close(a);
        return mo_errorf(err, MO_EIO, "%s: cannot open", a->where);
    }
    a->ndims = H5Sget_simple_extent_ndims(a->space);
    a->n = H5Sget_simple_extent_npoints(a->space);
    return 0;
}

/* Read `a` (string class) into n malloc'd strings. */
static int attr_strings(char ***out, attr_t *a, mo_error_t *err)
{
    int rc = 0;
    size_t n = a->n > 0 ? (size_t)a->n : 0, size = H5Tget_size(a->ftype);
    char **v = mo_calloc(n ? n : 1, sizeof *v), *fixed = NULL;
    hid_t mtype = H5Tcopy(H5T_C_S1);
    *out = NULL;
    if (!v || mtype < 0 || H5Tset_cset(mtype, H5Tget_cset(a->ftype)) < 0) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", a->where);
        goto out;
    }
    if (n == 0)
        goto out;
    if (H5Tis_variable_str(a->ftype) > 0) {
        char **raw = mo_calloc(n, sizeof *raw);
        if (!raw || H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Aread(a->attr, mtype, raw) < 0) {
            free(raw);
            rc = mo_errorf(err, MO_EFORMAT, "%s: cannot read strings", a->where);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (!(v[i] = mo_strdup(raw[i] ? raw[i] : "")))
                rc = MO_ENOMEM;
        H5Dvlen_reclaim(mtype, a->space, H5P_DEFAULT, raw);
        free(raw);
    } else {
        fixed = mo_mallocarray(n, size);
        if (!fixed || H5Tset_size(mtype, size) < 0 || H5Aread(a->attr, mtype, fixed) < 0) {
            rc = mo_errorf(err, MO_EFORMAT, "%s: cannot read strings", a->where);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            const char *s = fixed + i * size;
            size_t len = strnlen(s, size);
            while (len && s[len - 1] == ' ' && H5Tget_strpad(a->ftype) == H5T_STR_SPACEPAD)
                len--;
            if (!(v[i] = mo_strndup(s, len)))
                rc = MO_ENOMEM;
        }
    }
    if (rc)
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", a->where);
out:
    free(fixed);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (rc)
        mo_h5_strv_free(v, n);
    else
        *out = v;
    return rc;
}

int mo_h5_attr_read_str(char **out, hid_t obj, const char *name, mo_error_t *err)
{
    attr_t a;
    char **v = NULL;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "attribute read: NULL output");
    *out = NULL;
    int rc = attr_open(&a, obj, name, err);
    if (rc)
        return rc;
    if (H5Tget_class(a.ftype) != H5T_STRING || a.n != 1 || a.ndims > 1) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: expected one string, found %s[%lld]", a.where,
                       mo_h5_dtype_name(a.ftype), (long long)a.n);
        goto out;
    }
    if ((rc = attr_strings(&v, &a, err)))
        goto out;
    *out = v[0];
    free(v);
out:
    attr_close(&a);
    return rc;
}

static int attr_read_number(void *out, hid_t mtype, int allow_float, hid_t obj, const char *name,
                            mo_error_t *err)
{
    attr_t a;
    int rc = attr_open(&a, obj, name, err);
    if (rc)
        return rc;
    H5T_class_t c = H5Tget_class(a.ftype);
    if ((c != H5T_INTEGER && !(allow_float && c == H5T_FLOAT)) || a.n != 1 || a.ndims > 1) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: expected one %s, found %s[%lld]", a.where,
                       allow_float ? "number" : "integer", mo_h5_dtype_name(a.ftype),
                       (long long)a.n);
        goto out;
    }
    if (H5Aread(a.attr, mtype, out) < 0)
        rc = mo_errorf(err, MO_EFORMAT, "%s: cannot read", a.where);
out:
    attr_close(&a);
    return rc;
}

int mo_h5_attr_read_int(int64_t *out, hid_t obj, const char *name, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "attribute read: NULL output");
    return attr_read_number(out, H5T_NATIVE_INT64, 0, obj, name, err);
}

int mo_h5_attr_read_double(double *out, hid_t obj, const char *name, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "attribute read: NULL output");
    return attr_read_number(out, H5T_NATIVE_DOUBLE, 1, obj, name, err);
}

int mo_h5_attr_read_strv(char ***out, size_t *n, hid_t obj, const char *name, mo_error_t *err)
{
    attr_t a;
    if (!out || !n)
        return mo_errorf(err, MO_EINVAL, "attribute read: NULL output");
    *out = NULL;
    *n = 0;
    int rc = attr_open(&a, obj, name, err);
    if (rc)
        return rc;
    if (H5Tget_class(a.ftype) != H5T_STRING || a.ndims > 1 || a.n < 0) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: expected a list of strings, found %s", a.where,
                       mo_h5_dtype_name(a.ftype));
        goto out;
    }
    if ((rc = attr_strings(out, &a, err)) == 0)
        *n = (size_t)a.n;
out:
    attr_close(&a);
    return rc;
}

void mo_h5_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
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

/* ---- inspect ----------------------------------------------------------------------------- */

/* A JSON value for an attribute: scalars and 1-D arrays of strings or numbers; null for
 * anything else (compound, enum, references, multi-dimensional). */
static json_t *attr_json(hid_t obj, const char *name)
{
    attr_t a;
    json_t *v = NULL;
    if (attr_open(&a, obj, name, NULL))
        return json_null();
    H5T_class_t c = H5Tget_class(a.ftype);
    int scalar = a.ndims == 0;
    if (a.ndims > 1 || a.n < 1) {
        v = json_null();
    } else if (c == H5T_STRING) {
        char **s = NULL;
        if (attr_strings(&s, &a, NULL) == 0) {
            v = scalar ? json_string(s[0]) : json_array();
            for (hssize_t i = 0; !scalar && v && i < a.n; i++)
                json_array_append_new(v, json_string(s[i]));
            mo_h5_strv_free(s, (size_t)a.n);
        }
    } else if (c == H5T_INTEGER || c == H5T_FLOAT) {
        size_t n = a.n > 0 ? (size_t)a.n : 1;
        int64_t *iv = mo_calloc(n, sizeof *iv);
        double *dv = mo_calloc(n, sizeof *dv);
        int isint = c == H5T_INTEGER;
        if (iv && dv &&
            H5Aread(a.attr, isint ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                    isint ? (void *)iv : (void *)dv) >= 0) {
            v = scalar ? NULL : json_array();
            for (size_t i = 0; i < n; i++) {
                json_t *x = isint ? json_integer(iv[i]) : json_real(dv[i]);
                x = x ? x : json_null(); /* json_real refuses NaN and Inf */
                if (scalar)
                    v = x;
                else
                    json_array_append_new(v, x);
            }
        }
        free(iv);
        free(dv);
    }
    attr_close(&a);
    return v ? v : json_null();
}

static herr_t root_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    json_object_set_new((json_t *)data, name, attr_json(loc, name));
    return 0;
}

typedef struct {
    json_t **items;
    size_t n, cap;
    int failed;
} ds_list_t;

static herr_t dataset_cb(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    ds_list_t *l = data;
    if (info->type != H5L_TYPE_HARD)
        return 0;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0)
        return 0;
    if (H5Iget_type(obj) == H5I_DATASET) {
        hid_t type = H5Dget_type(obj), space = H5Dget_space(obj);
        hsize_t dims[H5S_MAX_RANK];
        int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
        json_t *shape = json_array(), *item = NULL;
        for (int i = 0; shape && i < rank; i++)
            json_array_append_new(shape, json_integer((json_int_t)dims[i]));
        mo_buf_t full = {0};
        mo_buf_printf(&full, "/%s", name);
        item = json_pack("{s:s?, s:s, s:o?}", "name", full.data, "dtype",
                         type >= 0 ? mo_h5_dtype_name(type) : "unknown", "shape", shape);
        mo_buf_free(&full);
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 16;
            json_t **p = mo_reallocarray(l->items, cap, sizeof *p);
            if (p) {
                l->items = p;
                l->cap = cap;
            }
        }
        if (item && l->n < l->cap)
            l->items[l->n++] = item;
        else {
            json_decref(item);
            l->failed = 1;
        }
        if (type >= 0)
            H5Tclose(type);
        if (space >= 0)
            H5Sclose(space);
    }
    H5Oclose(obj);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x ? x : "", y ? y : "");
}

int mo_h5_describe(json_t **out, const char *path, mo_error_t *err)
{
    int rc = 0;
    hid_t file = H5I_INVALID_HID;
    json_t *obj = NULL, *attrs = NULL, *dsets = NULL;
    ds_list_t list = {0};
    char *kind = NULL;
    int64_t version = 0;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_h5_describe: NULL output");
    *out = NULL;
    if ((rc = mo_h5_open(&file, path, H5P_DEFAULT, err)))
        goto out;
    obj = json_object();
    attrs = json_object();
    dsets = json_array();
    if (!obj || !attrs || !dsets) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    int has_kind = mo_h5_attr_read_str(&kind, file, "kind", NULL) == 0;
    int has_version = mo_h5_attr_read_int(&version, file, "format_version", NULL) == 0;
    json_object_set_new(obj, "path", json_string(path));
    json_object_set_new(obj, "kind", json_string(has_kind ? kind : "unknown"));
    json_object_set_new(obj, "format_version",
                        has_version ? json_integer((json_int_t)version) : json_null());
    hsize_t idx = 0;
    if (H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, root_attr_cb, attrs) < 0 ||
        H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, dataset_cb, &list) < 0 || list.failed) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: cannot list the file's contents", path);
        goto out;
    }
    qsort(list.items, list.n, sizeof *list.items, by_name);
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(dsets, list.items[i]);
    list.n = 0;
    json_object_set_new(obj, "attributes", attrs);
    json_object_set_new(obj, "datasets", dsets);
    attrs = dsets = NULL;
    if (has_kind && !strcmp(kind, "dataset"))
        mo_ds_describe(obj, file);
out:
    for (size_t i = 0; i < list.n; i++)
        json_decref(list.items[i]);
    free(list.items);
    free(kind);
    json_decref(attrs);
    json_decref(dsets);
    if (file >= 0)
        H5Fclose(file);
    if (rc)
        json_decref(obj);
    else
        *out = obj;
    return rc;
}
