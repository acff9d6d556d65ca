/* sweep_journal_file.c - sweep.h5 on disk: write the journal whole, read it back
 *
 * The file is always rewritten whole (a few hundred KiB at thousands of trials), so it needs no
 * recovery code; a fast sweep's events between rewrites go to sweep_journal_log.c. The image
 * is built with the HDF5 core driver without a backing store and reaches the disk in one write
 * (mo_io_write_atomic). The reader uses the core driver too: the file in one read.
 *
 * Every string dataset is fixed-length (see write_text) and every numeric one is written in
 * its native type, so no H5Dwrite converts anything.
 */
#include "io/sweep_journal.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- columns: the numeric datasets of /trials and /reports, fields of the structs; one
 * table drives the writer (gather a field into a column) and the reader (scatter it back). */
enum { I64, I32, F64 };
typedef struct {
    const char *name; /* dataset path */
    size_t off;
    int type;
} column_t;

static const column_t trial_cols[] = {
    {"trials/number", offsetof(mo_sj_trial_t, number), I64},
    {"trials/status", offsetof(mo_sj_trial_t, status), I32},
    {"trials/group", offsetof(mo_sj_trial_t, group), I32},
    {"trials/objective", offsetof(mo_sj_trial_t, objective), F64},
    {"trials/start_time", offsetof(mo_sj_trial_t, start_time), F64},
    {"trials/duration", offsetof(mo_sj_trial_t, duration), F64},
    {"trials/end_seq", offsetof(mo_sj_trial_t, end_seq), I64},
};
static const column_t report_cols[] = {
    {"reports/trial", offsetof(mo_sj_report_t, trial), I64},
    {"reports/step", offsetof(mo_sj_report_t, step), I64},
    {"reports/value", offsetof(mo_sj_report_t, value), F64},
    {"reports/seq", offsetof(mo_sj_report_t, seq), I64},
};

static hid_t file_type(int type)
{
    return type == I64 ? H5T_STD_I64LE : type == I32 ? H5T_STD_I32LE : H5T_IEEE_F64LE;
}

static hid_t mem_type(int type)
{
    return type == I64 ? H5T_NATIVE_INT64 : type == I32 ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE;
}

/* Copy field `c` of n structs of `stride` bytes at `base` to or from the packed column `col`. */
static void move_column(char *base, size_t stride, char *col, size_t n, const column_t *c,
                        int to_col)
{
    size_t size = c->type == I32 ? 4 : 8;
    for (size_t i = 0; i < n; i++) {
        char *field = base + i * stride + c->off, *cell = col + i * size;
        if (size == 8)
            memcpy(to_col ? cell : field, to_col ? field : cell, 8);
        else
            memcpy(to_col ? cell : field, to_col ? field : cell, 4);
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static int group_create(hid_t loc, const char *name, const char *path, mo_error_t *err)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    if (g < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot create group /%s", path, name);
    H5Gclose(g);
    return 0;
}

/* The string datasets, tables of fixed-width cells: HDF5 converts variable-length strings
 * through two zeroed 1 MiB buffers per H5Dwrite (milliseconds for a small journal). */
enum { T_SPEC, T_NAME, T_TYPE, T_PARAMS, T_ARTIFACT, T_ERROR, N_TEXT };
static const char *const text_sets[N_TEXT] = {"spec",          "parameters/name", "parameters/type",
                                              "trials/params", "trials/artifact", "trials/error"};

static size_t text_count(const mo_sweep_journal_t *j, int t)
{
    return t == T_SPEC     ? j->spec_text != NULL
           : t <= T_TYPE   ? j->dim
           : t == T_PARAMS ? j->n_trials * j->dim
                           : j->n_trials;
}

/* String i of table t; NULL is written as "". */
static const char *text_at(const mo_sweep_journal_t *j, int t, size_t i)
{
    switch (t) {
    case T_SPEC:
        return j->spec_text;
    case T_NAME:
        return j->param_names[i];
    case T_TYPE:
        return j->param_types[i];
    case T_PARAMS:
        return j->trials[i / j->dim].text[i % j->dim];
    case T_ARTIFACT:
        return j->trials[i].artifact;
    default:
        return j->trials[i].error;
    }
}

/* Table t as NUL-terminated, NUL-padded UTF-8 cells of `width` (the longest + 1) bytes, packed
 * in `buf` (count * width bytes). */
static int write_text(hid_t file, const mo_sweep_journal_t *j, int t, size_t width,
                      const size_t *lens, char *buf, const char *path, mo_error_t *err)
{
    size_t n = text_count(j, t);
    hsize_t dims[2] = {t == T_PARAMS ? j->n_trials : n, j->dim};
    for (size_t i = 0; i < n; i++) {
        const char *s = text_at(j, t, i);
        size_t len = lens[i];
        if (len)
            memcpy(buf + i * width, s, len);
        memset(buf + i * width + len, 0, width - len);
    }
    hid_t type = H5Tcopy(H5T_C_S1);
    int rc = 0;
    if (type < 0 || H5Tset_size(type, width) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(type, H5T_STR_NULLTERM) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot make an HDF5 string type", path);
    else
        rc = mo_h5_write_whole(file, text_sets[t], type, type,
                               t == T_SPEC     ? 0
                               : t == T_PARAMS ? 2
                                               : 1,
                               dims, buf, err);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

static int write_columns(hid_t file, const column_t *cols, size_t ncols, const void *base,
                         size_t stride, size_t n, char *scratch, mo_error_t *err)
{
    hsize_t dims[1] = {n};
    int rc = 0;
    for (size_t c = 0; !rc && c < ncols; c++) {
        move_column((char *)(uintptr_t)base, stride, scratch, n, &cols[c], 1);
        rc = mo_h5_write_whole(file, cols[c].name, file_type(cols[c].type), mem_type(cols[c].type),
                               1, dims, scratch, err);
    }
    return rc;
}

/* /trials/status's status_names attribute: what the numbers mean, for h5py readers. */
static int write_status_names(hid_t file, const char *path, mo_error_t *err)
{
    hid_t d = H5Dopen2(file, "trials/status", H5P_DEFAULT);
    int rc =
        d < 0 ? mo_errorf(err, MO_EIO, "%s: cannot open /trials/status", path)
              : mo_h5_attr_write_strv(d, "status_names", (char *const *)mo_sj_status_names, 4, err);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int write_body(hid_t file, const mo_sweep_journal_t *j, const char *path, char *scratch,
                      const size_t *width, size_t *const *lens, mo_error_t *err)
{
    size_t n = j->n_trials, dim = j->dim;
    hsize_t dnd[2] = {n, dim};
    int rc;
    if ((rc = mo_h5_attr_write_str(file, "kind", "sweep", err)) ||
        (rc = mo_h5_attr_write_int(file, "format_version", MO_SWEEP_FORMAT_VERSION, err)) ||
        (rc = mo_h5_attr_write_str(file, "name", j->name, err)) ||
        (rc = mo_h5_attr_write_str(file, "algorithm", j->algorithm, err)) ||
        (rc = mo_h5_attr_write_str(file, "objective_metric", j->metric, err)) ||
        (rc = mo_h5_attr_write_str(file, "goal", j->maximize ? "maximize" : "minimize", err)) ||
        (rc = mo_h5_attr_write_str(file, "status", j->status, err)) ||
        (rc = mo_h5_attr_write_int(file, "seq", j->seq, err)) ||
        (rc = mo_h5_attr_write_str(file, "trial_kind", j->trial_kind, err)) ||
        (j->spec_text &&
         (rc = write_text(file, j, T_SPEC, width[T_SPEC], lens[T_SPEC], scratch, path, err))) ||
        (rc = group_create(file, "parameters", path, err)) ||
        (rc = write_text(file, j, T_NAME, width[T_NAME], lens[T_NAME], scratch, path, err)) ||
        (rc = write_text(file, j, T_TYPE, width[T_TYPE], lens[T_TYPE], scratch, path, err)) ||
        (rc = group_create(file, "trials", path, err)) ||
        (rc = write_columns(file, trial_cols, sizeof trial_cols / sizeof *trial_cols, j->trials,
                            sizeof *j->trials, n, scratch, err)) ||
        (rc = write_status_names(file, path, err)))
        return rc;
    double *x = (double *)(void *)scratch;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            x[i * dim + k] = j->trials[i].x[k];
    if ((rc = mo_h5_write_whole(file, "trials/x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dnd, x,
                                err)))
        return rc;
    for (int t = T_PARAMS; t <= T_ERROR; t++)
        if ((rc = write_text(file, j, t, width[t], lens[t], scratch, path, err)))
            return rc;
    if ((rc = group_create(file, "reports", path, err)))
        return rc;
    return write_columns(file, report_cols, sizeof report_cols / sizeof *report_cols, j->reports,
                         sizeof *j->reports, j->n_reports, scratch, err);
}

/* The core driver's buffer, kept when HDF5 closes the in-memory file: a properly closed
 * file's bytes without a copy. Not H5Fget_file_image: before HDF5 1.14.7 it clears the status
 * flags in the copy without updating the checksum, so 1.8-format images fail (hdf5#1915). */
typedef struct {
    void *mem;
    size_t size;
} image_t;

static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *ud)
{
    (void)op;
    void *p = malloc(size);
    ((image_t *)ud)->size = p ? size : ((image_t *)ud)->size;
    return p;
}

static void *image_memcpy(void *dst, const void *src, size_t n, H5FD_file_image_op_t op, void *ud)
{
    (void)op;
    (void)ud;
    return memcpy(dst, src, n);
}

static void *image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *ud)
{
    (void)op;
    void *p = realloc(ptr, size);
    ((image_t *)ud)->size = p ? size : ((image_t *)ud)->size;
    return p;
}

static herr_t image_free(void *ptr, H5FD_file_image_op_t op, void *ud)
{
    image_t *im = ud;
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && !im->mem)
        im->mem = ptr;
    else
        free(ptr);
    return 0;
}

/* HDF5 copies the property list and its udata; every copy is this one image. */
static void *image_udata_copy(void *ud)
{
    return ud;
}

static herr_t image_udata_free(void *ud)
{
    (void)ud;
    return 0;
}

/* The length of the file in `im` (the driver's buffer is larger): the end-of-file address of
 * its superblock, version 2 in the 1.8 format (3 has the same start): signature, four one-byte
 * fields, then base, extension and end-of-file addresses of 8 bytes, little-endian. */
static size_t image_length(const image_t *im)
{
    const unsigned char *b = im->mem;
    uint64_t eof = 0;
    if (!b || im->size < 48 || memcmp(b, "\211HDF\r\n\032\n", 8) || b[8] < 2 || b[8] > 3 ||
        b[9] != 8)
        return 0;
    for (int i = 7; i >= 0; i--)
        eof = eof << 8 | b[28 + i];
    return eof >= 48 && eof <= im->size ? (size_t)eof : 0;
}

/* String lengths, measured once for widths and fill; *size: largest table, *text: the sum. */
static void measure(const mo_sweep_journal_t *j, size_t *all, size_t **lens, size_t *width,
                    size_t *size, size_t *text)
{
    for (size_t t = 0, at = 0; t < N_TEXT; t++) {
        size_t count = text_count(j, (int)t), longest = 0;
        lens[t] = all + at;
        at += count;
        for (size_t i = 0; i < count; i++) {
            const char *s = text_at(j, (int)t, i);
            lens[t][i] = s ? strlen(s) : 0;
            longest = lens[t][i] > longest ? lens[t][i] : longest;
        }
        width[t] = longest + 1;
        *size = count * width[t] > *size ? count * width[t] : *size;
        *text += count * width[t];
    }
}

int mo_sj_write(const mo_sweep_journal_t *j, const char *path, mo_error_t *err)
{
    return mo_sj_write_ex(j, path, 1, err);
}

int mo_sj_write_ex(const mo_sweep_journal_t *j, const char *path, int durable, mo_error_t *err)
{
    int rc = 0;
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    char *scratch = NULL;
    size_t *lens_all = NULL;
    mo_buf_t mem_name = {0};
    image_t im = {NULL, 0};
    H5FD_file_image_callbacks_t cb = {image_malloc, image_memcpy,     image_realloc,
                                      image_free,   image_udata_copy, image_udata_free,
                                      &im};
    if (!j || !path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_sj_write: %s", j ? "empty path" : "NULL journal");
    mo_h5_quiet();
    /* One scratch buffer for every column and text table, sized for the largest; the core
     * driver's buffer sized for the whole file (it zeroes each piece it grows by, and fresh
     * pages cost more than filling them). */
    size_t n = j->n_trials, width[N_TEXT], cells = n * (j->dim ? j->dim : 1);
    size_t size = cells > j->n_reports ? cells * 8 : j->n_reports * 8, text = 0, counts = 0;
    size_t *lens[N_TEXT];
    for (int t = 0; t < N_TEXT; t++)
        counts += text_count(j, t);
    if ((lens_all = malloc((counts ? counts : 1) * sizeof *lens_all)))
        measure(j, lens_all, lens, width, &size, &text);
    if (!lens_all || !(scratch = malloc(size ? size : 1))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t estimate = 64 * 1024 + text + n * (48 + 8 * j->dim) + j->n_reports * 32;
    /* A name that is not on disk: H5Fcreate first tries to open an existing file of that name
     * (to see whether it is open already), and the core driver would read all of it. */
    mo_buf_printf(&mem_name, "%s (in memory)", path);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (mem_name.failed || fapl < 0 || fcpl < 0 || H5Pset_fapl_core(fapl, estimate, 0) < 0 ||
        H5Pset_file_image_callbacks(fapl, &cb) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0 ||
        (file = H5Fcreate(mem_name.data, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        rc = mo_errorf(err, MO_EIO, "%s: cannot create an HDF5 file in memory", path);
        goto out;
    }
    if ((rc = write_body(file, j, path, scratch, width, lens, err)))
        goto out;
    herr_t closed = H5Fclose(file);
    file = H5I_INVALID_HID;
    size_t len = closed < 0 ? 0 : image_length(&im);
    if (!len)
        rc = mo_errorf(err, MO_EIO, "%s: cannot finish the HDF5 image in memory", path);
    else
        rc = mo_io_write_atomic_at(path, im.mem, len, durable, "sweep_journal", err);
out:
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    free(im.mem);
    free(scratch);
    free(lens_all);
    mo_buf_free(&mem_name);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

#define ANY ((hsize_t)-1) /* any extent, in an expected shape */

/* "[3, 6]", "[*]" (ANY), " scalar" */
static void shape_text(char *buf, size_t size, int rank, const hsize_t *dims)
{
    int len = snprintf(buf, size, "%s", rank == 0 ? " scalar" : rank < 0 ? "[?]" : "[");
    for (int i = 0; i < rank && len >= 0 && (size_t)len < size; i++)
        len += dims[i] == ANY ? snprintf(buf + len, size - (size_t)len, "%s*", i ? ", " : "")
                              : snprintf(buf + len, size - (size_t)len, "%s%llu", i ? ", " : "",
                                         (unsigned long long)dims[i]);
    if (rank > 0 && len >= 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, "]");
}

/* Open dataset `name`, which must be of class `cls` and rank `rank` with the extents `want`
 * (ANY: any); the extents found go to `got` (may be NULL). */
static int dset_open(hid_t *d, hid_t file, const char *path, const char *name, H5T_class_t cls,
                     int rank, const hsize_t *want, hsize_t *got, mo_error_t *err)
{
    hsize_t dims[H5S_MAX_RANK] = {0};
    int rc = 0;
    *d = H5Dopen2(file, name, H5P_DEFAULT);
    if (*d < 0)
        return mo_errorf(err, MO_EFORMAT, "%s: /%s is missing or not a dataset", path, name);
    hid_t t = H5Dget_type(*d), s = H5Dget_space(*d);
    int r = s >= 0 ? H5Sget_simple_extent_dims(s, dims, NULL) : -1;
    int ok = t >= 0 && H5Tget_class(t) == cls && r == rank;
    for (int i = 0; ok && i < rank; i++)
        ok = want[i] == ANY || dims[i] == want[i];
    if (!ok) {
        char found[96], expected[64];
        shape_text(found, sizeof found, r, dims);
        shape_text(expected, sizeof expected, rank, want);
        rc = mo_errorf(err, MO_EFORMAT, "%s: /%s is %s%s, expected %s%s", path, name,
                       t >= 0 ? mo_h5_dtype_name(t) : "unknown", found,
                       cls == H5T_INTEGER ? "integer"
                       : cls == H5T_FLOAT ? "float"
                                          : "string",
                       expected);
        H5Dclose(*d);
        *d = H5I_INVALID_HID;
    } else if (got) {
        memcpy(got, dims, (size_t)rank * sizeof *dims);
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

/* The n strings of string dataset `d` (fixed or variable length) into v[0..n) as malloc'd
 * copies, padding removed. The file type is the memory type of fixed strings: converting to
 * a NUL-terminated type of the same width would cut a value that fills its width. */
static int dset_strings(char **v, hid_t d, size_t n, const char *path, const char *name,
                        mo_error_t *err)
{
    int rc = 0;
    hid_t ft = H5Dget_type(d), mt = H5I_INVALID_HID, s = H5Dget_space(d);
    int vlen = ft >= 0 && H5Tis_variable_str(ft) > 0;
    size_t size = ft >= 0 ? H5Tget_size(ft) : 0;
    char *fixed = NULL, **raw = NULL;
    if (ft >= 0 && vlen && (mt = H5Tcopy(H5T_C_S1)) >= 0 &&
        (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0)) {
        H5Tclose(mt);
        mt = H5I_INVALID_HID;
    } else if (ft >= 0 && !vlen) {
        mt = H5Tcopy(ft);
    }
    if (n && (vlen ? !(raw = mo_calloc(n, sizeof *raw)) : !(fixed = mo_mallocarray(n, size))))
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    else if (mt < 0 || s < 0 || size == 0 ||
             (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vlen ? (void *)raw : fixed) < 0))
        rc = mo_errorf(err, MO_EFORMAT, "%s: /%s: cannot read the strings", path, name);
    if (rc && raw) { /* nothing was read: nothing to reclaim */
        free(raw);
        raw = NULL;
    }
    int spaces = !vlen && ft >= 0 && H5Tget_strpad(ft) == H5T_STR_SPACEPAD;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *p = vlen ? (raw[i] ? raw[i] : "") : fixed + i * size;
        size_t len = vlen ? strlen(p) : strnlen(p, size);
        while (spaces && len && p[len - 1] == ' ')
            len--;
        if (!(v[i] = mo_strndup(p, len)))
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    }
    if (raw)
        H5Dvlen_reclaim(mt, s, H5P_DEFAULT, raw);
    free(raw);
    free(fixed);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

/* Open, check and read the n strings of dataset `name`. */
static int read_strings(char **v, hid_t file, const char *path, const char *name, int rank,
                        const hsize_t *want, size_t n, mo_error_t *err)
{
    hid_t d;
    int rc = dset_open(&d, file, path, name, H5T_STRING, rank, want, NULL, err);
    if (!rc)
        rc = dset_strings(v, d, n, path, name, err);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* Open, check and read a numeric dataset of n elements into buf as `mtype`. */
static int read_numbers(void *buf, hid_t mtype, hid_t file, const char *path, const char *name,
                        H5T_class_t cls, int rank, const hsize_t *want, size_t n, mo_error_t *err)
{
    hid_t d;
    int rc = dset_open(&d, file, path, name, cls, rank, want, NULL, err);
    if (!rc && n && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = mo_errorf(err, MO_EFORMAT, "%s: /%s cannot be read", path, name);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* The first extent of 1-D dataset `name` (the number of trials, parameters or reports). */
static int extent(size_t *n, hid_t file, const char *path, const char *name, H5T_class_t cls,
                  mo_error_t *err)
{
    hid_t d;
    hsize_t any[1] = {ANY}, got[1] = {0};
    int rc = dset_open(&d, file, path, name, cls, 1, any, got, err);
    if (d >= 0)
        H5Dclose(d);
    *n = (size_t)got[0];
    return rc;
}

static int read_columns(hid_t file, const char *path, const column_t *cols, size_t ncols,
                        void *base, size_t stride, size_t n, char *scratch, mo_error_t *err)
{
    hsize_t want[1] = {n};
    int rc = 0;
    for (size_t c = 0; !rc && c < ncols; c++) {
        rc = read_numbers(scratch, mem_type(cols[c].type), file, path, cols[c].name,
                          cols[c].type == F64 ? H5T_FLOAT : H5T_INTEGER, 1, want, n, err);
        if (!rc)
            move_column(base, stride, scratch, n, &cols[c], 0);
    }
    return rc;
}

/* A missing root attribute makes a malformed file (MO_EFORMAT), not a missing one; one that
 * cannot be read is damaged, the bytes being in memory already (the message stays). */
static int required(int rc, mo_error_t *err)
{
    if (rc != MO_ENOTFOUND && rc != MO_EIO)
        return rc;
    if (err)
        err->code = MO_EFORMAT;
    return MO_EFORMAT;
}

static int read_root(mo_sweep_journal_t *j, hid_t file, const char *path, mo_error_t *err)
{
    char *kind = NULL, *goal = NULL;
    int64_t version = 0;
    int rc = required(mo_h5_attr_read_str(&kind, file, "kind", err), err);
    if (!rc && strcmp(kind, "sweep"))
        rc = mo_errorf(err, MO_EFORMAT, "%s: is a '%s' file, not a sweep journal", path, kind);
    if (!rc && !(rc = required(mo_h5_attr_read_int(&version, file, "format_version", err), err)) &&
        (version < 1 || version > MO_SWEEP_FORMAT_VERSION))
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: format_version %lld is not supported (this Maestro reads 1..%d%s)",
                       path, (long long)version, MO_SWEEP_FORMAT_VERSION,
                       version > MO_SWEEP_FORMAT_VERSION ? "; written by a newer Maestro" : "");
    if (rc || (rc = required(mo_h5_attr_read_str(&j->name, file, "name", err), err)) ||
        (rc = required(mo_h5_attr_read_str(&j->algorithm, file, "algorithm", err), err)) ||
        (rc = required(mo_h5_attr_read_str(&j->metric, file, "objective_metric", err), err)) ||
        (rc = required(mo_h5_attr_read_str(&goal, file, "goal", err), err)) ||
        (rc = required(mo_h5_attr_read_str(&j->status, file, "status", err), err)) ||
        (rc = required(mo_h5_attr_read_int(&j->seq, file, "seq", err), err)) ||
        (rc = required(mo_h5_attr_read_str(&j->trial_kind, file, "trial_kind", err), err)))
        goto out;
    if (strcmp(goal, "minimize") && strcmp(goal, "maximize"))
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: root attribute 'goal' is '%s', expected minimize or maximize", path,
                       goal);
    j->maximize = !strcmp(goal, "maximize");
    if (!rc && H5Lexists(file, "spec", H5P_DEFAULT) > 0)
        rc = read_strings(&j->spec_text, file, path, "spec", 0, NULL, 1, err);
out:
    free(kind);
    free(goal);
    return rc;
}

/* Everything below the root: parameters, trials, reports. */
static int read_tables(mo_sweep_journal_t *j, hid_t file, const char *path, mo_error_t *err)
{
    size_t n = 0, m = 0, dim = 0;
    char *scratch = NULL, **strs = NULL;
    int rc = extent(&dim, file, path, "parameters/name", H5T_STRING, err);
    if (rc || (rc = extent(&n, file, path, "trials/number", H5T_INTEGER, err)) ||
        (rc = extent(&m, file, path, "reports/trial", H5T_INTEGER, err)))
        return rc;
    hsize_t d1[1] = {dim}, dn[1] = {n}, dnd[2] = {n, dim};
    size_t cells = n * (dim ? dim : 1) > m ? n * (dim ? dim : 1) : m;
    j->dim = dim;
    j->param_names = mo_calloc(dim ? dim : 1, sizeof *j->param_names);
    j->param_types = mo_calloc(dim ? dim : 1, sizeof *j->param_types);
    j->trials = mo_calloc(n ? n : 1, sizeof *j->trials);
    j->reports = mo_calloc(m ? m : 1, sizeof *j->reports);
    scratch = mo_mallocarray(cells ? cells : 1, 8);
    strs = mo_calloc(cells ? cells : 1, sizeof *strs);
    if (!j->param_names || !j->param_types || !j->trials || !j->reports || !scratch || !strs) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    j->cap_trials = n ? n : 1;
    j->cap_reports = m ? m : 1;
    j->n_trials = n;
    for (size_t i = 0; !rc && i < n; i++)
        if (mo_sj_trial_alloc(&j->trials[i], dim))
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    if (rc || (rc = read_strings(j->param_names, file, path, "parameters/name", 1, d1, dim, err)) ||
        (rc = read_strings(j->param_types, file, path, "parameters/type", 1, d1, dim, err)) ||
        (rc = read_columns(file, path, trial_cols, sizeof trial_cols / sizeof *trial_cols,
                           j->trials, sizeof *j->trials, n, scratch, err)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (j->trials[i].status < MO_SJ_RUNNING || j->trials[i].status > MO_SJ_FAILED) {
            rc = mo_errorf(err, MO_EFORMAT, "%s: /trials/status[%zu] is %d, expected 0..3", path, i,
                           (int)j->trials[i].status);
            goto out;
        }
    double *x = (double *)(void *)scratch;
    if ((rc = read_numbers(x, H5T_NATIVE_DOUBLE, file, path, "trials/x", H5T_FLOAT, 2, dnd, n * dim,
                           err)) ||
        (rc = read_strings(strs, file, path, "trials/params", 2, dnd, n * dim, err)))
        goto out;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++) {
            j->trials[i].x[k] = x[i * dim + k];
            j->trials[i].text[k] = strs[i * dim + k];
            strs[i * dim + k] = NULL;
        }
    for (int e = 0; e < 2 && !rc; e++) {
        rc = read_strings(strs, file, path, e ? "trials/error" : "trials/artifact", 1, dn, n, err);
        for (size_t i = 0; i < n; i++) {
            if (strs[i] && !*strs[i]) { /* "" is none */
                free(strs[i]);
                strs[i] = NULL;
            }
            *(e ? &j->trials[i].error : &j->trials[i].artifact) = strs[i];
            strs[i] = NULL;
        }
    }
    if (!rc)
        rc = read_columns(file, path, report_cols, sizeof report_cols / sizeof *report_cols,
                          j->reports, sizeof *j->reports, m, scratch, err);
    if (!rc)
        j->n_reports = m;
out:
    for (size_t i = 0; strs && i < cells; i++)
        free(strs[i]);
    free(strs);
    free(scratch);
    return rc;
}

int mo_sj_read_h5(mo_sweep_journal_t *j, hid_t file, const char *path, mo_error_t *err)
{
    memset(j, 0, sizeof *j);
    int rc = read_root(j, file, path, err);
    if (!rc)
        rc = read_tables(j, file, path, err);
    if (rc)
        mo_sj_free(j);
    return rc;
}

int mo_sj_read_snapshot(mo_sweep_journal_t *j, const char *path, mo_error_t *err)
{
    struct stat st;
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    int rc = 0;
    if (!j)
        return mo_errorf(err, MO_EINVAL, "mo_sj_read: NULL journal");
    memset(j, 0, sizeof *j);
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_sj_read: empty path");
    mo_h5_quiet();
    if (stat(path, &st) != 0) {
        int e = errno, absent = e == ENOENT || e == ENOTDIR;
        return mo_errorf(err, absent ? MO_ENOTFOUND : MO_EIO, "%s: %s", path,
                         absent ? "no such file" : strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return mo_errorf(err, MO_EFORMAT, "%s: not a regular file", path);
    if (access(path, R_OK) != 0)
        return mo_errorf(err, MO_EIO, "%s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return mo_errorf(err, MO_EFORMAT, "%s: not an HDF5 file", path);
    /* The core driver reads the whole file at once instead of object by object. The file is
     * there and readable, so a failed open means its bytes are damaged (often truncated: HDF5
     * checks the end of file the superblock records). */
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 64 * 1024, 0) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot set up HDF5 file access", path);
    else if ((file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0)
        rc = mo_errorf(err, MO_EFORMAT, "%s: damaged HDF5 file (truncated?): HDF5 cannot open it",
                       path);
    else
        rc = mo_sj_read_h5(j, file, path, err);
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}
