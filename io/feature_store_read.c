/* feature_store_read.c - reading the offline feature store (io/feature_store.h), and its
 * summary for `maestro inspect`
 *
 * Serial, any process, the default HDF5 driver. Opening reads every view's attributes and
 * checks the layout (datasets present, 1-D, lengths, types), so later calls fail only on I/O
 * or bad arguments. Dataset handles stay open while the store is; a view's entity index is
 * read into memory on first use (one entry per entity, small beside the rows) and searched
 * there, in the order the writer sorted it: by hash, then by key (strcmp).
 */
#include "io/feature_store.h"

#include "core/alloc.h"
#include "core/str.h"
#include "io/events.h"
#include "io/feature_store_impl.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <stdlib.h>
#include <string.h>

static void close_id(hid_t *id)
{
    if (*id >= 0)
        H5Dclose(*id);
    *id = H5I_INVALID_HID;
}

static void table_close(mo_fs_table_t *t, size_t nf)
{
    close_id(&t->key);
    close_id(&t->hash);
    close_id(&t->event_ts);
    close_id(&t->created_ts);
    for (size_t f = 0; t->feat && f < nf; f++)
        close_id(&t->feat[f]);
    free(t->feat);
    t->feat = NULL;
}

static void view_free(mo_fs_vdata_t *v)
{
    table_close(&v->rows_t, v->n_features);
    table_close(&v->online, v->n_features);
    close_id(&v->idx_hash);
    close_id(&v->idx_key);
    close_id(&v->idx_first);
    close_id(&v->idx_count);
    mo_h5_strv_free(v->features, v->n_features);
    mo_h5_strv_free(v->aggs, v->n_features);
    mo_h5_strv_free(v->columns, v->n_features);
    free(v->name);
    free(v->entity);
    free(v->windows_us);
    free(v->ranges_us);
    free(v->ihash);
    free(v->ifirst);
    free(v->icount);
    free(v->ikeys);
}

void mo_fs_close(mo_fs_t *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; fs->views && i < fs->n_views; i++)
        view_free(&fs->views[i]);
    free(fs->views);
    free(fs->names);
    if (fs->own_file && fs->file >= 0)
        H5Fclose(fs->file);
    free(fs->path);
    free(fs);
}

/* ---- opening ---------------------------------------------------------------------------- */

/* Open dataset `name` of loc. An uncompressed one without a chunk cache: HDF5 then reads a
 * selection straight into the caller's buffer instead of reading its whole chunk into the
 * cache and copying it out (a point-in-time join reads every page of its columns: a third of
 * its time was that copy). A compressed one keeps HDF5's cache, so that a chunk is inflated
 * once for the reads that share it. */
static hid_t open_dataset(hid_t loc, const char *name)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0 || H5Pset_chunk_cache(dapl, 0, 0, 1.0) < 0) {
        if (dapl >= 0)
            H5Pclose(dapl);
        return H5Dopen2(loc, name, H5P_DEFAULT);
    }
    hid_t d = H5Dopen2(loc, name, dapl);
    H5Pclose(dapl);
    hid_t dcpl = d >= 0 ? H5Dget_create_plist(d) : H5I_INVALID_HID;
    int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (filters != 0) {
        H5Dclose(d);
        d = H5Dopen2(loc, name, H5P_DEFAULT);
    }
    return d;
}

/* Open dataset `gpath`/`name`: 1-D of `len` rows (len < 0: any, *len_out gets it) and of
 * class `cls` (strings: fixed-length; *width gets the width). */
static int open_col(hid_t *out, const mo_fs_t *fs, hid_t loc, const char *gpath, const char *name,
                    H5T_class_t cls, int64_t len, int64_t *len_out, size_t *width, mo_error_t *err)
{
    int rc = 0;
    hsize_t dims[1] = {0};
    *out = H5I_INVALID_HID;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0 || (*out = open_dataset(loc, name)) < 0)
        return mo_errorf(err, MO_EFORMAT, "%s: %s/%s is missing or not a dataset", fs->path, gpath,
                         name);
    hid_t type = H5Dget_type(*out), space = H5Dget_space(*out);
    int ndims = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    int ok = type >= 0 && H5Tget_class(type) == cls && ndims == 1 &&
             (len < 0 || dims[0] == (hsize_t)len) &&
             (cls != H5T_STRING || H5Tis_variable_str(type) == 0);
    if (!ok)
        rc = mo_errorf(err, MO_EFORMAT, "%s: %s/%s is %s[%lld%s], expected %s[%lld]", fs->path,
                       gpath, name, type >= 0 ? mo_h5_dtype_name(type) : "unknown",
                       (long long)dims[0], ndims > 1 ? ", ..." : "",
                       cls == H5T_STRING  ? "fixed-length string"
                       : cls == H5T_FLOAT ? "float"
                                          : "integer",
                       (long long)(len < 0 ? (int64_t)dims[0] : len));
    if (!rc && width)
        *width = H5Tget_size(type);
    if (!rc && len_out)
        *len_out = (int64_t)dims[0];
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int open_table(mo_fs_table_t *t, const mo_fs_t *fs, const mo_fs_vdata_t *v, hid_t g,
                      const char *gpath, int64_t len, mo_error_t *err)
{
    int rc;
    t->feat = mo_mallocarray(v->n_features, sizeof *t->feat);
    if (!t->feat)
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", fs->path);
    for (size_t f = 0; f < v->n_features; f++)
        t->feat[f] = H5I_INVALID_HID;
    if ((rc = open_col(&t->key, fs, g, gpath, "key", H5T_STRING, len, NULL, &t->width, err)) ||
        (rc = open_col(&t->hash, fs, g, gpath, "hash", H5T_INTEGER, len, NULL, NULL, err)) ||
        (rc =
             open_col(&t->event_ts, fs, g, gpath, "event_ts", H5T_INTEGER, len, NULL, NULL, err)) ||
        (rc = open_col(&t->created_ts, fs, g, gpath, "created_ts", H5T_INTEGER, len, NULL, NULL,
                       err)))
        return rc;
    for (size_t f = 0; f < v->n_features; f++)
        if ((rc = open_col(&t->feat[f], fs, g, gpath, v->features[f], H5T_FLOAT, len, NULL, NULL,
                           err)))
            return rc;
    return 0;
}

/* An int64 attribute of `rank` dimensions, the first `d0` long (d0 < 0: any, *d0_out gets
 * it); the second, if any, is 2. */
static int attr_i64(int64_t **out, const mo_fs_t *fs, hid_t obj, const char *gpath,
                    const char *name, int rank, int64_t d0, size_t *d0_out, mo_error_t *err)
{
    hsize_t dims[2] = {0, 0};
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    hid_t type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    int nd = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    int ok = type >= 0 && H5Tget_class(type) == H5T_INTEGER && nd == rank &&
             (d0 < 0 || dims[0] == (hsize_t)d0) && (rank == 1 || dims[1] == 2);
    size_t n = ok ? (size_t)dims[0] * (rank == 2 ? 2 : 1) : 0;
    *out = ok ? mo_calloc(n ? n : 1, sizeof **out) : NULL;
    ok = ok && *out && (n == 0 || H5Aread(a, H5T_NATIVE_INT64, *out) >= 0);
    if (ok && d0_out)
        *d0_out = (size_t)dims[0];
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (a >= 0)
        H5Aclose(a);
    if (ok)
        return 0;
    free(*out);
    *out = NULL;
    return mo_errorf(err, MO_EFORMAT, "%s: %s attribute '%s' is missing or not int64[%s]", fs->path,
                     gpath, name, rank == 2 ? "k, 2" : "features");
}

/* The attribute readers say MO_ENOTFOUND for a missing attribute; in a store it is a format
 * error (the file is there, its content is wrong). */
static int format_rc(int rc)
{
    return rc == MO_ENOTFOUND ? MO_EFORMAT : rc;
}

static int open_view(mo_fs_vdata_t *v, const mo_fs_t *fs, hid_t views_g, hid_t online_g,
                     mo_error_t *err)
{
    int rc = 0;
    size_t n_aggs = 0, n_cols = 0;
    char gv[300], gi[310], go[300];
    snprintf(gv, sizeof gv, "/views/%s", v->name);
    snprintf(gi, sizeof gi, "/views/%s/index", v->name);
    snprintf(go, sizeof go, "/online/%s", v->name);
    hid_t g = H5Gopen2(views_g, v->name, H5P_DEFAULT), ig = H5I_INVALID_HID;
    hid_t og = H5Lexists(online_g, v->name, H5P_DEFAULT) > 0
                   ? H5Gopen2(online_g, v->name, H5P_DEFAULT)
                   : H5I_INVALID_HID;
    if (g >= 0 && H5Lexists(g, "index", H5P_DEFAULT) > 0)
        ig = H5Gopen2(g, "index", H5P_DEFAULT);
    if (g < 0 || ig < 0 || og < 0) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: %s is missing a group (%s, %s/index, %s)", fs->path,
                       gv, gv, gv, go);
        goto out;
    }
    if ((rc = mo_h5_attr_read_str(&v->entity, g, "entity", err)) ||
        (rc = mo_h5_attr_read_int(&v->ttl_us, g, "ttl_us", err)) ||
        (rc = mo_h5_attr_read_int(&v->rows, g, "rows", err)) ||
        (rc = mo_h5_attr_read_strv(&v->features, &v->n_features, g, "features", err)) ||
        (rc = mo_h5_attr_read_strv(&v->aggs, &n_aggs, g, "aggs", err)) ||
        (rc = mo_h5_attr_read_strv(&v->columns, &n_cols, g, "columns", err)))
        goto out;
    if (!v->n_features || n_aggs != v->n_features || n_cols != v->n_features || v->rows < 0) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: %s has %zu features, %zu aggs and %zu columns, %lld rows", fs->path, gv,
                       v->n_features, n_aggs, n_cols, (long long)v->rows);
        goto out;
    }
    if ((rc = attr_i64(&v->windows_us, fs, g, gv, "windows_us", 1, (int64_t)v->n_features, NULL,
                       err)) ||
        (rc = attr_i64(&v->ranges_us, fs, g, gv, "ranges_us", 2, -1, &v->n_ranges, err)) ||
        (rc = open_table(&v->rows_t, fs, v, g, gv, v->rows, err)) ||
        (rc = open_col(&v->idx_hash, fs, ig, gi, "hash", H5T_INTEGER, -1, &v->entities, NULL,
                       err)) ||
        (rc = open_col(&v->idx_key, fs, ig, gi, "key", H5T_STRING, v->entities, NULL, &v->iwidth,
                       err)) ||
        (rc = open_col(&v->idx_first, fs, ig, gi, "first", H5T_INTEGER, v->entities, NULL, NULL,
                       err)) ||
        (rc = open_col(&v->idx_count, fs, ig, gi, "count", H5T_INTEGER, v->entities, NULL, NULL,
                       err)))
        goto out;
    rc = open_table(&v->online, fs, v, og, go, v->entities, err);
out:
    if (og >= 0)
        H5Gclose(og);
    if (ig >= 0)
        H5Gclose(ig);
    if (g >= 0)
        H5Gclose(g);
    return format_rc(rc);
}

static herr_t name_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    mo_fs_t *fs = data;
    mo_fs_vdata_t *v = mo_reallocarray(fs->views, fs->n_views + 1, sizeof *v);
    if (!v)
        return -1;
    fs->views = v;
    v += fs->n_views;
    memset(v, 0, sizeof *v);
    hid_t *ids[] = {&v->rows_t.key, &v->rows_t.hash, &v->rows_t.event_ts, &v->rows_t.created_ts,
                    &v->online.key, &v->online.hash, &v->online.event_ts, &v->online.created_ts,
                    &v->idx_hash,   &v->idx_key,     &v->idx_first,       &v->idx_count};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        *ids[i] = H5I_INVALID_HID;
    fs->n_views++;
    return (v->name = mo_strdup(name)) ? 0 : -1;
}

/* Read the header and every view of the open fs->file. */
static int load(mo_fs_t *fs, mo_error_t *err)
{
    int rc;
    char *kind = NULL;
    int64_t version = 0;
    hid_t views_g = H5I_INVALID_HID, online_g = H5I_INVALID_HID;
    if ((rc = mo_h5_attr_read_str(&kind, fs->file, "kind", err)))
        goto out;
    if (strcmp(kind, "feature_store")) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: is a '%s' file, not a feature store", fs->path, kind);
        goto out;
    }
    if ((rc = mo_h5_attr_read_int(&version, fs->file, "format_version", err)))
        goto out;
    if (version < 1 || version > MO_FS_FORMAT_VERSION) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: format_version %lld is not supported (this Maestro reads 1..%d%s)",
                       fs->path, (long long)version, MO_FS_FORMAT_VERSION,
                       version > MO_FS_FORMAT_VERSION ? "; written by a newer Maestro" : "");
        goto out;
    }
    if (H5Lexists(fs->file, "views", H5P_DEFAULT) <= 0 ||
        H5Lexists(fs->file, "online", H5P_DEFAULT) <= 0 ||
        (views_g = H5Gopen2(fs->file, "views", H5P_DEFAULT)) < 0 ||
        (online_g = H5Gopen2(fs->file, "online", H5P_DEFAULT)) < 0) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: /views or /online is missing", fs->path);
        goto out;
    }
    hsize_t idx = 0;
    if (H5Literate(views_g, H5_INDEX_NAME, H5_ITER_INC, &idx, name_cb, fs) < 0) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: cannot list /views", fs->path);
        goto out;
    }
    if (!(fs->names = mo_calloc(fs->n_views + 1, sizeof *fs->names))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", fs->path);
        goto out;
    }
    for (size_t i = 0; i < fs->n_views; i++) {
        fs->names[i] = fs->views[i].name;
        if ((rc = open_view(&fs->views[i], fs, views_g, online_g, err)))
            goto out;
    }
out:
    if (views_g >= 0)
        H5Gclose(views_g);
    if (online_g >= 0)
        H5Gclose(online_g);
    free(kind);
    return format_rc(rc);
}

int mo_fs_open(mo_fs_t **out, const char *path, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_fs_open: NULL output");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_fs_open: empty path");
    mo_fs_t *fs = mo_calloc(1, sizeof *fs);
    if (!fs || !(fs->path = mo_strdup(path))) {
        free(fs);
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    }
    fs->own_file = 1;
    int rc = mo_h5_open(&fs->file, path, H5P_DEFAULT, err);
    if (!rc)
        rc = load(fs, err);
    if (rc)
        mo_fs_close(fs);
    else
        *out = fs;
    return rc;
}

/* ---- views ------------------------------------------------------------------------------- */

const char *const *mo_fs_views(mo_fs_t *fs)
{
    return fs ? fs->names : NULL;
}

int mo_fs_find_view(mo_fs_vdata_t **out, mo_fs_t *fs, const char *name, mo_error_t *err)
{
    *out = NULL;
    if (!fs || !name)
        return mo_errorf(err, MO_EINVAL, "feature store: NULL store or view name");
    for (size_t i = 0; i < fs->n_views; i++)
        if (!strcmp(fs->views[i].name, name)) {
            *out = &fs->views[i];
            return 0;
        }
    mo_buf_t b = {0};
    for (size_t i = 0; i < fs->n_views; i++)
        mo_buf_printf(&b, "%s%s", i ? ", " : "", fs->views[i].name);
    int rc = mo_errorf(err, MO_ENOTFOUND, "%s: no view '%s' (views: %s)", fs->path, name,
                       b.data ? b.data : "none");
    mo_buf_free(&b);
    return rc;
}

int mo_fs_view(mo_fs_t *fs, const char *name, mo_fs_view_info_t *info, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = mo_fs_find_view(&v, fs, name, err);
    if (rc)
        return rc;
    if (!info)
        return mo_errorf(err, MO_EINVAL, "mo_fs_view: NULL info");
    *info = (mo_fs_view_info_t){.name = v->name,
                                .entity = v->entity,
                                .ttl_us = v->ttl_us,
                                .rows = v->rows,
                                .entities = v->entities,
                                .n_features = v->n_features,
                                .features = (const char *const *)v->features,
                                .aggs = (const char *const *)v->aggs,
                                .columns = (const char *const *)v->columns,
                                .windows_us = v->windows_us,
                                .ranges_us = v->ranges_us,
                                .n_ranges = v->n_ranges};
    return 0;
}

/* ---- rows -------------------------------------------------------------------------------- */

/* Keys [first, first + count) of `dset` into a pool of NUL-terminated strings. */
static int read_keys(char **pool, uint64_t *off, hid_t dset, size_t width, int64_t first,
                     int64_t count, const char *path, mo_error_t *err)
{
    int rc = 0;
    size_t len = 0, cap = (size_t)count * 8 + 1;
    int64_t block = count < MO_FS_KEY_BLOCK ? count : MO_FS_KEY_BLOCK;
    hid_t t = H5Dget_type(dset); /* read as stored: no conversion, strnlen finds the end */
    char *buf = mo_mallocarray((size_t)(block ? block : 1), width);
    *pool = mo_mallocarray(cap, 1);
    if (t < 0 || !buf || !*pool)
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    for (int64_t r = 0; !rc && r < count; r += block) {
        int64_t k = count - r < block ? count - r : block;
        if ((rc = mo_h5_read_rows(dset, t, first + r, k, buf, err)))
            break;
        for (int64_t i = 0; i < k; i++) {
            const char *s = buf + i * (int64_t)width;
            size_t n = strnlen(s, width);
            if (len + n + 1 > cap) {
                size_t ncap = 2 * cap + n + 1;
                char *p = mo_reallocarray(*pool, ncap, 1);
                if (!p) {
                    rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
                    break;
                }
                *pool = p;
                cap = ncap;
            }
            off[r + i] = len;
            memcpy(*pool + len, s, n);
            (*pool)[len + n] = '\0';
            len += n + 1;
        }
    }
    if (t >= 0)
        H5Tclose(t);
    free(buf);
    return rc;
}

void mo_fs_rows_free(mo_fs_rows_t *rows)
{
    if (!rows)
        return;
    free(rows->pool);
    free(rows->key_off);
    free(rows->hash);
    free(rows->event_ts);
    free(rows->created_ts);
    free(rows->values);
    memset(rows, 0, sizeof *rows);
}

int mo_fs_read_rows(mo_fs_t *fs, const char *view, int64_t first, int64_t count, mo_fs_rows_t *rows,
                    mo_error_t *err)
{
    mo_fs_vdata_t *v;
    double *col = NULL;
    if (rows)
        memset(rows, 0, sizeof *rows);
    int rc = mo_fs_find_view(&v, fs, view, err);
    if (rc)
        return rc;
    if (!rows)
        return mo_errorf(err, MO_EINVAL, "mo_fs_read_rows: NULL rows");
    if (first < 0 || count < 0 || first > v->rows || count > v->rows - first)
        return mo_errorf(err, MO_EINVAL, "%s: view '%s': rows %lld..%lld are outside 0..%lld",
                         fs->path, view, (long long)first, (long long)first + count,
                         (long long)v->rows);
    size_t n = (size_t)(count ? count : 1), nf = v->n_features;
    rows->n_features = nf;
    rows->key_off = mo_mallocarray(n, sizeof *rows->key_off);
    rows->hash = mo_mallocarray(n, sizeof *rows->hash);
    rows->event_ts = mo_mallocarray(n, sizeof *rows->event_ts);
    rows->created_ts = mo_mallocarray(n, sizeof *rows->created_ts);
    rows->values = mo_mallocarray(n * nf, sizeof *rows->values);
    col = nf > 1 ? mo_mallocarray(n, sizeof *col) : NULL;
    if (!rows->key_off || !rows->hash || !rows->event_ts || !rows->created_ts || !rows->values ||
        (nf > 1 && !col)) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory for %lld rows", fs->path, view,
                       (long long)count);
        goto out;
    }
    const mo_fs_table_t *t = &v->rows_t;
    if ((rc = read_keys(&rows->pool, rows->key_off, t->key, t->width, first, count, fs->path,
                        err)) ||
        (rc = mo_h5_read_rows(t->hash, H5T_NATIVE_UINT64, first, count, rows->hash, err)) ||
        (rc = mo_h5_read_rows(t->event_ts, H5T_NATIVE_INT64, first, count, rows->event_ts, err)) ||
        (rc =
             mo_h5_read_rows(t->created_ts, H5T_NATIVE_INT64, first, count, rows->created_ts, err)))
        goto out;
    /* Columns on disk, rows in memory: read each column whole, then spread it. */
    for (size_t f = 0; f < nf; f++) {
        double *dst = nf > 1 ? col : rows->values;
        if ((rc = mo_h5_read_rows(t->feat[f], H5T_NATIVE_DOUBLE, first, count, dst, err)))
            goto out;
        for (int64_t i = 0; nf > 1 && i < count; i++)
            rows->values[(size_t)i * nf + f] = col[i];
    }
    rows->n = count;
out:
    free(col);
    if (rc)
        mo_fs_rows_free(rows);
    return rc;
}

/* ---- lookups ----------------------------------------------------------------------------- */

int mo_fs_load_index(mo_fs_vdata_t *v, const char *path, mo_error_t *err)
{
    if (v->loaded)
        return 0;
    int rc = 0;
    size_t k = (size_t)(v->entities ? v->entities : 1), w = v->iwidth + 1;
    hid_t t = H5Dget_type(v->idx_key);
    v->ihash = mo_mallocarray(k, sizeof *v->ihash);
    v->ifirst = mo_mallocarray(k, sizeof *v->ifirst);
    v->icount = mo_mallocarray(k, sizeof *v->icount);
    v->ikeys = mo_calloc(k, w);
    char *raw = mo_mallocarray(k, v->iwidth);
    if (t < 0 || !v->ihash || !v->ifirst || !v->icount || !v->ikeys || !raw)
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory for the index", path, v->name);
    else if (!(rc = mo_h5_read_rows(v->idx_hash, H5T_NATIVE_UINT64, 0, v->entities, v->ihash,
                                    err)) &&
             !(rc = mo_h5_read_rows(v->idx_first, H5T_NATIVE_INT64, 0, v->entities, v->ifirst,
                                    err)) &&
             !(rc = mo_h5_read_rows(v->idx_count, H5T_NATIVE_INT64, 0, v->entities, v->icount,
                                    err)) &&
             !(rc = mo_h5_read_rows(v->idx_key, t, 0, v->entities, raw, err)))
        for (int64_t e = 0; e < v->entities; e++)
            memcpy(v->ikeys + (size_t)e * w, raw + (size_t)e * v->iwidth, v->iwidth);
    if (t >= 0)
        H5Tclose(t);
    free(raw);
    if (rc) {
        free(v->ihash);
        free(v->ifirst);
        free(v->icount);
        free(v->ikeys);
        v->ihash = NULL;
        v->ifirst = v->icount = NULL;
        v->ikeys = NULL;
    }
    v->loaded = !rc;
    return rc;
}

/* The index entry of `key`, or -1; the view's index loaded. */
static int64_t index_find(const mo_fs_vdata_t *v, const char *key)
{
    uint64_t h = mo_entity_hash(key, strlen(key));
    int64_t lo = 0, hi = v->entities;
    size_t w = v->iwidth + 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = v->ihash[mid] != h ? (v->ihash[mid] < h ? -1 : 1)
                                   : strcmp(v->ikeys + (size_t)mid * w, key);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The view and its index for a lookup of `key` (may be NULL when none is needed). */
static int lookup_view(mo_fs_vdata_t **v, mo_fs_t *fs, const char *view, const char *key,
                       int need_key, mo_error_t *err)
{
    int rc = mo_fs_find_view(v, fs, view, err);
    if (rc)
        return rc;
    if (need_key && !key)
        return mo_errorf(err, MO_EINVAL, "%s: view '%s': NULL key", fs->path, view);
    return mo_fs_load_index(*v, fs->path, err);
}

int mo_fs_find_entity(mo_fs_t *fs, const char *view, const char *key, int64_t *first,
                      int64_t *count, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = lookup_view(&v, fs, view, key, 1, err);
    if (rc)
        return rc;
    if (!first || !count)
        return mo_errorf(err, MO_EINVAL, "mo_fs_find_entity: NULL output");
    int64_t e = index_find(v, key);
    *first = e < 0 ? 0 : v->ifirst[e];
    *count = e < 0 ? 0 : v->icount[e];
    return 0;
}

int mo_fs_lower_bound(mo_fs_t *fs, const char *view, uint64_t hash, int64_t *row, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = lookup_view(&v, fs, view, NULL, 0, err);
    if (rc)
        return rc;
    if (!row)
        return mo_errorf(err, MO_EINVAL, "mo_fs_lower_bound: NULL output");
    /* Rows are sorted by hash and the index has one entry per entity in row order, so the
     * first entity with a hash >= `hash` starts the first such row. */
    int64_t lo = 0, hi = v->entities;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v->ihash[mid] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    *row = lo < v->entities ? v->ifirst[lo] : v->rows;
    return 0;
}

int mo_fs_online_get(mo_fs_t *fs, const char *view, const char *key, int *found, int64_t *event_ts,
                     double *values, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = lookup_view(&v, fs, view, key, 1, err);
    if (rc)
        return rc;
    if (!found)
        return mo_errorf(err, MO_EINVAL, "mo_fs_online_get: NULL output");
    /* The online table has one row per entity in index order. */
    int64_t e = index_find(v, key);
    *found = e >= 0;
    if (e < 0)
        return 0;
    if (event_ts &&
        (rc = mo_h5_read_rows(v->online.event_ts, H5T_NATIVE_INT64, e, 1, event_ts, err)))
        return rc;
    for (size_t f = 0; values && f < v->n_features; f++)
        if ((rc = mo_h5_read_rows(v->online.feat[f], H5T_NATIVE_DOUBLE, e, 1, &values[f], err)))
            return rc;
    return 0;
}

/* ---- inspect ----------------------------------------------------------------------------- */

static json_t *view_json(const mo_fs_vdata_t *v)
{
    json_t *feats = json_array(), *ranges = json_array();
    for (size_t f = 0; feats && f < v->n_features; f++)
        json_array_append_new(feats, json_pack("{s:s, s:s, s:s, s:I}", "name", v->features[f],
                                               "agg", v->aggs[f], "column", v->columns[f],
                                               "window_us", (json_int_t)v->windows_us[f]));
    for (size_t r = 0; ranges && r < v->n_ranges; r++)
        json_array_append_new(ranges, json_pack("[I, I]", (json_int_t)v->ranges_us[2 * r],
                                                (json_int_t)v->ranges_us[2 * r + 1]));
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:o?, s:o?}", "name", v->name, "entity", v->entity,
                     "ttl_us", (json_int_t)v->ttl_us, "rows", (json_int_t)v->rows, "entities",
                     (json_int_t)v->entities, "features", feats, "ranges_us", ranges);
}

void mo_fs_describe(json_t *obj, hid_t file)
{
    char name[512] = "?";
    mo_fs_t fs = {.path = name, .file = file};
    json_t *views = json_array();
    if (H5Fget_name(file, name, sizeof name) < 0)
        mo_strlcpy(name, "?", sizeof name);
    if (views && load(&fs, NULL) == 0) {
        for (size_t i = 0; i < fs.n_views; i++)
            json_array_append_new(views, view_json(&fs.views[i]));
    } else {
        json_decref(views);
        views = json_null();
    }
    json_object_set_new(obj, "views", views);
    for (size_t i = 0; fs.views && i < fs.n_views; i++)
        view_free(&fs.views[i]);
    free(fs.views);
    free(fs.names);
}
