/* table.c - one column reader for CSV, HDF5 tables, datasets and feature views (io/table.h)
 *
 * Each source keeps what it needs to read row blocks later (an open file and dataset
 * handles, the feature store) and describes its columns the same way; CSV lives in
 * table_csv.c. Which source a file is comes from its content (the HDF5 signature, then the
 * root `kind` attribute), not its name, except that a file named *.h5 that is not HDF5 is
 * reported as such rather than parsed as CSV.
 */
#include "io/table.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/h5.h"
#include "io/table_impl.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const mo_table_format_names[] = {"auto", "dataset", "table", "feature_view", NULL};

int mo_table_add_col(mo_table_t *t, char *name, mo_table_type_t type, const char *dtype)
{
    mo_table_col_t *c = mo_reallocarray(t->cols, t->n_cols + 1, sizeof *c);
    char **n = c ? mo_reallocarray(t->names, t->n_cols + 1, sizeof *n) : NULL;
    if (c)
        t->cols = c;
    if (n)
        t->names = n;
    if (!c || !n || !name) {
        free(name);
        return MO_ENOMEM;
    }
    t->names[t->n_cols] = name;
    t->cols[t->n_cols++] =
        (mo_table_col_t){.name = name, .type = type, .dtype = dtype, .filled = -1};
    return 0;
}

/* ---- HDF5 tables ------------------------------------------------------------------------- */

static int h5_open_table(mo_table_t *t, mo_error_t *err)
{
    H5G_info_t gi;
    snprintf(t->source, sizeof t->source, "HDF5 table");
    t->rows = -1;
    if (H5Gget_info(t->file, &gi) < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot list the root group", t->path);
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        ssize_t len =
            H5Lget_name_by_idx(t->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        char *name = len >= 0 ? malloc((size_t)len + 1) : NULL;
        if (!name || H5Lget_name_by_idx(t->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                        (size_t)len + 1, H5P_DEFAULT) < 0) {
            free(name);
            return mo_errorf(err, MO_EIO, "%s: cannot list the root group", t->path);
        }
        hid_t o = H5Oopen(t->file, name, H5P_DEFAULT);
        hid_t space = o >= 0 && H5Iget_type(o) == H5I_DATASET ? H5Dget_space(o) : -1;
        hsize_t dim = 0;
        int one_d = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
                    H5Sget_simple_extent_dims(space, &dim, NULL) == 1;
        if (space >= 0)
            H5Sclose(space);
        if (!one_d) { /* groups, attributes' holders, 2-D data: not columns */
            if (o >= 0)
                H5Oclose(o);
            free(name);
            continue;
        }
        hid_t ft = H5Dget_type(o);
        H5T_class_t cls = H5Tget_class(ft);
        mo_table_type_t type = cls == H5T_INTEGER || cls == H5T_FLOAT ? MO_TABLE_NUMBER
                               : cls == H5T_STRING                    ? MO_TABLE_TEXT
                                                                      : MO_TABLE_OTHER;
        const char *dtype = mo_h5_dtype_name(ft);
        H5Tclose(ft);
        hid_t *d = mo_reallocarray(t->dsets, t->n_cols + 1, sizeof *d);
        if (d)
            t->dsets = d;
        if (!d || mo_table_add_col(t, name, type, dtype)) {
            H5Oclose(o);
            return mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
        }
        t->dsets[t->n_cols - 1] = o;
        if (t->rows < 0)
            t->rows = (int64_t)dim;
        else if ((int64_t)dim != t->rows)
            return mo_errorf(err, MO_EFORMAT, "%s: /%s has %lld rows but /%s has %lld", t->path,
                             t->names[t->n_cols - 1], (long long)dim, t->names[0],
                             (long long)t->rows);
    }
    if (t->n_cols == 0)
        return mo_errorf(err, MO_EFORMAT,
                         "%s: no 1-D datasets at the root; a table has one per column", t->path);
    return 0;
}

static int h5_read_text(mo_table_t *t, hid_t d, const mo_table_block_t *b, mo_table_vec_t *vec,
                        mo_error_t *err)
{
    hid_t ft = H5Dget_type(d), mt = H5Tcopy(H5T_C_S1);
    int vlen = H5Tis_variable_str(ft) > 0, rc = 0;
    size_t size = H5Tget_size(ft), n = (size_t)b->n;
    char **raw = mo_calloc(n + 1, sizeof *raw);
    char *fixed = vlen ? NULL : mo_mallocarray(n + 1, size);
    mo_buf_t pool = {0};
    uint64_t *off = mo_mallocarray(n + 1, sizeof *off);
    if (ft < 0 || mt < 0 || H5Tset_size(mt, vlen ? H5T_VARIABLE : size) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(ft)) < 0 ||
        (!vlen && H5Tset_strpad(mt, H5Tget_strpad(ft)) < 0) || !raw || (!vlen && !fixed) || !off)
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory reading strings", t->path);
    if (!rc)
        rc = mo_h5_read_rows(d, mt, b->first, b->n, vlen ? (void *)raw : fixed, err);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *s = vlen ? (raw[i] ? raw[i] : "") : fixed + i * size;
        size_t len = vlen ? strlen(s) : strnlen(s, size);
        while (!vlen && len && H5Tget_strpad(ft) == H5T_STR_SPACEPAD && s[len - 1] == ' ')
            len--;
        off[i] = pool.len;
        mo_buf_append(&pool, s, len);
        mo_buf_append(&pool, "", 1); /* the NUL */
    }
    if (!rc && vlen && n) {
        hsize_t dim = n;
        hid_t space = H5Screate_simple(1, &dim, NULL);
        H5Dvlen_reclaim(mt, space, H5P_DEFAULT, raw);
        H5Sclose(space);
    }
    if (!rc && pool.failed)
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory reading strings", t->path);
    if (!rc) {
        vec->pool = pool.data ? pool.data : mo_strdup("");
        pool.data = NULL;
        for (size_t i = 0; i < n; i++)
            vec->text[i] = vec->pool + off[i];
    }
    mo_buf_free(&pool);
    free(off);
    free(raw);
    free(fixed);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    return rc;
}

static int h5_read(mo_table_t *t, mo_table_block_t *b, mo_error_t *err)
{
    int rc = 0;
    for (size_t v = 0; !rc && v < b->n_vecs; v++) {
        mo_table_vec_t *vec = &b->vecs[v];
        hid_t d = t->dsets[vec->col];
        rc = vec->type == MO_TABLE_TEXT
                 ? h5_read_text(t, d, b, vec, err)
                 : mo_h5_read_rows(d, H5T_NATIVE_DOUBLE, b->first, b->n, vec->num, err);
    }
    return rc;
}

/* ---- datasets and feature views ---------------------------------------------------------- */

static int ds_open(mo_table_t *t, mo_error_t *err)
{
    int rc = mo_ds_open(&t->ds, t->path, MPI_COMM_NULL, err);
    if (rc)
        return rc;
    const mo_ds_info_t *info = mo_ds_info(t->ds);
    snprintf(t->source, sizeof t->source, "dataset");
    t->rows = info->n_rows;
    for (int64_t j = 0; !rc && j < info->n_features; j++) {
        char name[32];
        snprintf(name, sizeof name, "f%lld", (long long)j);
        rc = mo_table_add_col(t, mo_strdup(info->feature_names ? info->feature_names[j] : name),
                              MO_TABLE_NUMBER, "float32");
    }
    if (!rc)
        rc = mo_table_add_col(t, mo_strdup("label"), MO_TABLE_NUMBER,
                              info->task == MO_DS_CLASSIFICATION ? "int32" : "float32");
    if (rc)
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    /* Raw reads of X and y: mo_ds_read refuses NaN, which the checks want to count. */
    if ((rc = mo_h5_open(&t->file, t->path, H5P_DEFAULT, err)))
        return rc;
    t->x = H5Dopen2(t->file, "/X", H5P_DEFAULT);
    t->y = H5Dopen2(t->file, "/y", H5P_DEFAULT);
    if (t->x < 0 || t->y < 0)
        return mo_errorf(err, MO_EIO, "%s: cannot open /X and /y", t->path);
    return 0;
}

static int ds_read(mo_table_t *t, mo_table_block_t *b, mo_error_t *err)
{
    size_t d = (size_t)mo_ds_info(t->ds)->n_features, n = (size_t)b->n;
    double *X = NULL;
    int rc = 0;
    for (size_t v = 0; !rc && v < b->n_vecs; v++) {
        mo_table_vec_t *vec = &b->vecs[v];
        if (vec->col == d) { /* the label */
            rc = mo_h5_read_rows(t->y, H5T_NATIVE_DOUBLE, b->first, b->n, vec->num, err);
            continue;
        }
        if (!X) { /* X once, whatever the number of features asked for */
            if (!(X = mo_mallocarray(n + 1, d * sizeof *X)))
                rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory for %zu rows", t->path, n);
            else
                rc = mo_h5_read_rows(t->x, H5T_NATIVE_DOUBLE, b->first, b->n, X, err);
        }
        for (size_t i = 0; !rc && i < n; i++)
            vec->num[i] = X[i * d + vec->col];
    }
    free(X);
    return rc;
}

static int view_open(mo_table_t *t, const char *view, mo_error_t *err)
{
    mo_fs_view_info_t info;
    int rc = mo_fs_open(&t->fs, t->path, err);
    if (rc)
        return rc;
    const char *const *views = mo_fs_views(t->fs);
    size_t n = 0;
    while (views && views[n])
        n++;
    if (!view && n != 1) {
        mo_buf_t list = {0};
        for (size_t i = 0; i < n; i++)
            mo_buf_printf(&list, "%s%s", i ? ", " : "", views[i]);
        rc = mo_errorf(err, MO_EINVAL,
                       "%s: the feature store has %zu views (%s); say which in "
                       "data.view",
                       t->path, n, list.data ? list.data : "none");
        mo_buf_free(&list);
        return rc;
    }
    if ((rc = mo_fs_view(t->fs, view ? view : views[0], &info, err)))
        return rc;
    if (!(t->view = mo_strdup(info.name)))
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    snprintf(t->source, sizeof t->source, "feature view '%s'", info.name);
    t->rows = info.rows;
    rc = mo_table_add_col(t, mo_strdup(info.entity), MO_TABLE_TEXT, "string");
    if (!rc)
        rc = mo_table_add_col(t, mo_strdup("event_ts"), MO_TABLE_TIME, "int64");
    if (!rc)
        rc = mo_table_add_col(t, mo_strdup("created_ts"), MO_TABLE_TIME, "int64");
    for (size_t j = 0; !rc && j < info.n_features; j++)
        rc = mo_table_add_col(t, mo_strdup(info.features[j]), MO_TABLE_NUMBER, "float64");
    return rc ? mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path) : 0;
}

static int view_read(mo_table_t *t, mo_table_block_t *b, mo_error_t *err)
{
    mo_fs_rows_t rows;
    size_t n = (size_t)b->n;
    if (n == 0)
        return 0;
    int rc = mo_fs_read_rows(t->fs, t->view, b->first, b->n, &rows, err);
    for (size_t v = 0; !rc && v < b->n_vecs; v++) {
        mo_table_vec_t *vec = &b->vecs[v];
        if (vec->col == 0) { /* entity keys: a copy of the pool, so several vecs may ask */
            size_t size = 1;
            for (size_t i = 0; i < n; i++) {
                size_t end = rows.key_off[i] + strlen(rows.pool + rows.key_off[i]) + 1;
                size = end > size ? end : size;
            }
            if (!(vec->pool = malloc(size))) {
                rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
                break;
            }
            memcpy(vec->pool, rows.pool, size);
            for (size_t i = 0; i < n; i++)
                vec->text[i] = vec->pool + rows.key_off[i];
        } else if (vec->col <= 2) {
            memcpy(vec->time, vec->col == 1 ? rows.event_ts : rows.created_ts, n * sizeof(int64_t));
        } else {
            for (size_t i = 0; i < n; i++)
                vec->num[i] = rows.values[i * rows.n_features + vec->col - 3];
        }
    }
    if (!rc)
        mo_fs_rows_free(&rows);
    return rc;
}

/* ---- the table --------------------------------------------------------------------------- */

static int has_h5_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot &&
           (!strcasecmp(dot, ".h5") || !strcasecmp(dot, ".hdf5") || !strcasecmp(dot, ".he5"));
}

/* AUTO for an HDF5 file: its kind attribute says dataset or feature store, else a table. */
static int sniff_kind(mo_table_t *t, mo_table_format_t *fmt, mo_error_t *err)
{
    char *kind = NULL;
    int rc = mo_h5_open(&t->file, t->path, H5P_DEFAULT, err);
    if (rc)
        return rc;
    *fmt = MO_TABLE_TABLE;
    if (mo_h5_attr_exists(t->file, "kind") > 0 &&
        !mo_h5_attr_read_str(&kind, t->file, "kind", NULL))
        *fmt = !strcmp(kind, "dataset")         ? MO_TABLE_DATASET
               : !strcmp(kind, "feature_store") ? MO_TABLE_VIEW
                                                : MO_TABLE_TABLE;
    free(kind);
    if (*fmt != MO_TABLE_TABLE) { /* those sources open the file their own way */
        H5Fclose(t->file);
        t->file = H5I_INVALID_HID;
    }
    return 0;
}

int mo_table_open(mo_table_t **out, const char *path, const mo_table_opts_t *opts, mo_error_t *err)
{
    mo_table_opts_t o = opts ? *opts : (mo_table_opts_t){0};
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_table_open: NULL output");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_table_open: no file given");
    if (o.format < MO_TABLE_AUTO || o.format > MO_TABLE_VIEW)
        return mo_errorf(err, MO_EINVAL, "%s: unknown table format %d", path, (int)o.format);
    mo_table_t *t = mo_calloc(1, sizeof *t);
    if (!t || !(t->path = mo_strdup(path))) {
        free(t);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    t->file = t->x = t->y = H5I_INVALID_HID;
    mo_h5_quiet();
    FILE *f = fopen(path, "rb");
    int rc = f ? 0
               : mo_errorf(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, "%s: %s", path,
                           errno == ENOENT ? "no such file" : strerror(errno));
    if (f)
        fclose(f);
    int h5 = !rc && H5Fis_hdf5(path) > 0;
    mo_table_format_t fmt = o.format;
    if (!rc && !h5 && (has_h5_name(path) || fmt == MO_TABLE_DATASET || fmt == MO_TABLE_VIEW))
        rc = mo_h5_open(&t->file, path, H5P_DEFAULT, err); /* says why it is not HDF5 */
    else if (!rc && h5 && fmt == MO_TABLE_AUTO)
        rc = sniff_kind(t, &fmt, err);
    if (!rc) {
        t->format = fmt == MO_TABLE_AUTO ? MO_TABLE_TABLE : fmt;
        t->src = t->format == MO_TABLE_DATASET ? SRC_DS
                 : t->format == MO_TABLE_VIEW  ? SRC_VIEW
                 : h5                          ? SRC_H5
                                               : SRC_CSV;
    }
    if (!rc && t->src == SRC_H5 && t->file < 0)
        rc = mo_h5_open(&t->file, path, H5P_DEFAULT, err);
    if (!rc)
        rc = t->src == SRC_DS     ? ds_open(t, err)
             : t->src == SRC_VIEW ? view_open(t, o.view, err)
             : t->src == SRC_H5   ? h5_open_table(t, err)
                                  : mo_table_csv_open(t, err);
    if (rc) {
        mo_table_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void mo_table_close(mo_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cols; i++) {
        if (t->dsets && t->dsets[i] >= 0)
            H5Oclose(t->dsets[i]);
        free(t->names[i]);
    }
    if (t->x >= 0)
        H5Dclose(t->x);
    if (t->y >= 0)
        H5Dclose(t->y);
    if (t->file >= 0)
        H5Fclose(t->file);
    mo_ds_close(t->ds);
    mo_fs_close(t->fs);
    free(t->dsets);
    free(t->names);
    free(t->cols);
    free(t->view);
    free(t->path);
    free(t);
}

mo_table_format_t mo_table_format(const mo_table_t *t)
{
    return t ? t->format : MO_TABLE_AUTO;
}

const char *mo_table_path(const mo_table_t *t)
{
    return t ? t->path : "";
}

const char *mo_table_source(const mo_table_t *t)
{
    return t ? t->source : "";
}

const char *mo_table_view(const mo_table_t *t)
{
    return t ? t->view : NULL;
}

int64_t mo_table_rows(const mo_table_t *t)
{
    return t ? t->rows : -1;
}

size_t mo_table_ncols(const mo_table_t *t)
{
    return t ? t->n_cols : 0;
}

const mo_table_col_t *mo_table_col(const mo_table_t *t, size_t i)
{
    return t && i < t->n_cols ? &t->cols[i] : NULL;
}

int mo_table_find(const mo_table_t *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n_cols; i++)
        if (!strcmp(t->cols[i].name, name))
            return (int)i;
    return -1;
}

const mo_ds_info_t *mo_table_ds_info(const mo_table_t *t)
{
    return t && t->ds ? mo_ds_info(t->ds) : NULL;
}

int mo_table_read(mo_table_block_t *b, mo_table_t *t, const size_t *cols, size_t n, int64_t first,
                  int64_t count, mo_error_t *err)
{
    if (b)
        memset(b, 0, sizeof *b);
    if (!b || !t || (n && !cols))
        return mo_errorf(err, MO_EINVAL, "mo_table_read: NULL argument");
    int rc = mo_table_scan(t, err);
    if (rc)
        return rc;
    if (first < 0 || count < 0 || first > t->rows || count > t->rows - first)
        return mo_errorf(err, MO_EINVAL, "%s: rows %lld..%lld are outside 0..%lld", t->path,
                         (long long)first, (long long)first + count, (long long)t->rows);
    b->first = first;
    b->n = count;
    if (!(b->vecs = mo_calloc(n ? n : 1, sizeof *b->vecs)))
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", t->path);
    b->n_vecs = n;
    size_t rows = (size_t)count + 1;
    for (size_t v = 0; v < n; v++) {
        mo_table_vec_t *vec = &b->vecs[v];
        if (cols[v] >= t->n_cols)
            return mo_errorf(err, MO_EINVAL, "%s: no column %zu (the table has %zu)", t->path,
                             cols[v], t->n_cols);
        for (size_t u = 0; u < v; u++)
            if (cols[u] == cols[v])
                return mo_errorf(err, MO_EINVAL, "%s: column '%s' asked for twice", t->path,
                                 t->cols[cols[v]].name);
        const mo_table_col_t *c = &t->cols[cols[v]];
        vec->col = cols[v];
        vec->type = c->type;
        if (c->type == MO_TABLE_OTHER)
            return mo_errorf(err, MO_EINVAL,
                             "%s: column '%s' is %s; only numbers, strings and timestamps can "
                             "be read",
                             t->path, c->name, c->dtype);
        if (c->type == MO_TABLE_NUMBER)
            vec->num = mo_mallocarray(rows, sizeof *vec->num);
        else if (c->type == MO_TABLE_TIME)
            vec->time = mo_mallocarray(rows, sizeof *vec->time);
        else
            vec->text = mo_mallocarray(rows, sizeof *vec->text);
        if (!vec->num && !vec->time && !vec->text)
            return mo_errorf(err, MO_ENOMEM, "%s: out of memory for %lld rows", t->path,
                             (long long)count);
    }
    switch (t->src) {
    case SRC_CSV:
        return mo_table_csv_read(t, b, err);
    case SRC_H5:
        return h5_read(t, b, err);
    case SRC_DS:
        return ds_read(t, b, err);
    default:
        return view_read(t, b, err);
    }
}

void mo_table_block_free(mo_table_block_t *b)
{
    if (!b)
        return;
    for (size_t v = 0; b->vecs && v < b->n_vecs; v++) {
        free(b->vecs[v].num);
        free(b->vecs[v].time);
        free(b->vecs[v].text);
        free(b->vecs[v].pool);
    }
    free(b->vecs);
    free(b->line);
    memset(b, 0, sizeof *b);
}

const char *mo_table_where(const mo_table_t *t, const mo_table_block_t *b, int64_t i, size_t v,
                           char *buf, size_t size)
{
    if (!t || !b || v >= b->n_vecs || i < 0 || i >= b->n) {
        snprintf(buf, size, "%s", t ? t->path : "?");
        return buf;
    }
    size_t col = b->vecs[v].col;
    long long row = (long long)(b->first + i);
    if (t->src == SRC_CSV)
        snprintf(buf, size, "%s:%lld:%zu", t->path, (long long)b->line[i], col + 1);
    else if (t->src == SRC_H5)
        snprintf(buf, size, "%s: /%s row %lld", t->path, t->cols[col].name, row);
    else if (t->src == SRC_DS && col + 1 == t->n_cols)
        snprintf(buf, size, "%s: /y row %lld", t->path, row);
    else if (t->src == SRC_DS)
        snprintf(buf, size, "%s: /X row %lld column %zu", t->path, row, col);
    else
        snprintf(buf, size, "%s: view '%s' row %lld", t->path, t->view, row);
    return buf;
}
