/* feature_store.c - writing the offline feature store, in steps (io/feature_store.h)
 *
 * Each rank writes its slab of every table where its plan (io/feature_store_plan.c) says. The
 * file is created with the MPI-IO driver. A view's datasets are all created first, then its
 * rows go out in blocks of MO_FS_BLOCK_ROWS (blocks on the global row grid): per block, the
 * feature values of the block are made (from the caller's columns, or computed by its
 * values_fn, so a rank never holds every feature of every row), then every table's elements
 * of those rows are written: the rows, the online rows (entities whose last row is in the
 * block) and the index entries (entities whose first row is). Compressed datasets are written
 * with collective H5Dwrite calls, as parallel HDF5 requires for filtered data: every rank makes
 * the same calls in the same order, with an empty selection when it has nothing. Uncompressed
 * ones are written independently, each rank its own blocks, with no communication at all.
 * Nothing here talks to the other ranks but HDF5: the writer goes one step at a time (a step is
 * everything between two points where one rank alone may fail), and the caller agrees on each
 * step's outcome, so a failure anywhere becomes a failure everywhere at the same point and all
 * ranks close the file together; rank 0 then fsyncs and renames it into place, or removes it.
 */
#include "io/feature_store.h"

#include "core/alloc.h"
#include "core/fault.h"
#include "core/str.h"
#include "io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows per chunk: 512 KiB of float64 for the tables read in ranges; the online table, read a
 * row at a time, in 32 KiB chunks (deflate's window: no worse compression), so a lookup
 * inflates 32 KiB per column, not 512. A block is a whole number of row chunks. */
#define CHUNK_ROWS 65536
#define ONLINE_CHUNK_ROWS 4096
_Static_assert(MO_FS_BLOCK_ROWS % CHUNK_ROWS == 0, "blocks hold whole chunks");
/* Bytes per H5Dwrite at most: bounds the key buffer, keeps MPI-IO counts far below INT_MAX. */
#define WRITE_BYTES ((int64_t)64 << 20)

/* The tables of a view, each written a block of rows at a time. */
enum { T_ROWS, T_ONLINE, T_INDEX, N_TABLES };

/* One dataset: where it goes, its file type, and where its values come from on this rank.
 * Element e of this rank's part of its table (elements [0, n), the first at `off` in the
 * file) is source element pick[e] (pick NULL: e) of `base` (elem-byte values), of `keys`
 * (padded to the key width) or, feature >= 0, of that feature's values. */
typedef struct {
    hid_t loc, ftype, mtype, dset;
    const char *group, *name; /* group path for messages ("/views/v/index") */
    int table, feature;
    const void *base;
    const char *const *keys;
    const int64_t *pick;
    size_t elem;
    int64_t off, total, chunk_rows;
} col_t;

/* The steps, in order: the root's attributes and groups; per view its groups and attributes,
 * each dataset's creation, per block the values (local) and the write, and the close. */
enum { ST_ROOT, ST_VIEW, ST_CREATE, ST_FILL, ST_WRITE, ST_CLOSE, ST_DONE };

struct mo_fs_writer {
    const char *path, *tmp; /* the store, for messages, and the file written */
    const mo_fs_view_t *views;
    mo_fs_plan_t *const *plans;
    size_t n_views;
    hid_t file, dxpl; /* dxpl: collective transfers with MPI-IO when compressing */
    int compress;     /* deflate is available for writing and wanted */
    int mpi;          /* written by several ranks (the MPI-IO driver) */
    int collective;   /* every rank makes every H5Dwrite call (compressed, with MPI) */
    hid_t views_g, online_g;
    int stage;
    size_t iv, ic, ncols;           /* the view and dataset at hand */
    hid_t g, ig, og, str;           /* that view's groups and key type */
    char gv[300], gi[310], go[300]; /* and their paths */
    col_t *cols;                    /* its datasets */
    /* Blocks: every rank makes `calls` (fill, write) pairs; block k is this rank's rows
     * [lo, hi) and, per table, its elements [e0[t], e1[t]). */
    int64_t calls, k, lo, hi, e0[N_TABLES], e1[N_TABLES];
    int64_t block;   /* rows per block */
    double **vals;   /* values_fn: n_features buffers of `block` values, rows [lo, hi) */
    char *buf;       /* copies of picked and key elements */
    size_t buf_size; /* its bytes */
};

static col_t col(hid_t loc, const char *group, const char *name, hid_t ftype, int table,
                 int feature, const void *base, const char *const *keys, const int64_t *pick,
                 int64_t off, int64_t total, int64_t chunk_rows)
{
    H5T_class_t cls = H5Tget_class(ftype);
    hid_t mtype = cls == H5T_STRING    ? ftype
                  : cls == H5T_FLOAT   ? H5T_NATIVE_DOUBLE
                  : H5Tget_sign(ftype) ? H5T_NATIVE_INT64
                                       : H5T_NATIVE_UINT64;
    size_t elem = cls == H5T_STRING ? H5Tget_size(ftype) : 8;
    return (col_t){loc,  ftype, mtype, H5I_INVALID_HID, group,     name, table, feature, base, keys,
                   pick, elem,  off,   total,           chunk_rows};
}

/* Elements [lo, lo + cnt) of c, in w->buf when they must be gathered. */
static const void *fill(const mo_fs_writer_t *w, const col_t *c, int64_t lo, int64_t cnt)
{
    const char *base = c->base;
    int64_t shift = 0; /* source index of base[0] */
    if (c->feature >= 0 && w->vals) {
        base = (const char *)w->vals[c->feature];
        shift = w->lo;
    }
    if (!c->keys && !c->pick)
        return base + (lo - shift) * (int64_t)c->elem;
    for (int64_t j = 0; j < cnt; j++) {
        int64_t i = c->pick ? c->pick[lo + j] : lo + j;
        char *dst = w->buf + j * (int64_t)c->elem;
        if (c->keys) /* padded with NULs to the width, as NULLPAD strings are */
            strncpy(dst, c->keys[i], c->elem);
        else
            memcpy(dst, base + (i - shift) * (int64_t)c->elem, c->elem);
    }
    return w->buf;
}

/* Collective: create dataset c (chunks of c->chunk_rows). The caller agrees before the
 * writes: a rank without the dataset cannot join them. */
static int col_create(mo_fs_writer_t *w, col_t *c, mo_error_t *err)
{
    int64_t total = c->total;
    hsize_t dims[1] = {(hsize_t)total},
            chunk[1] = {(hsize_t)(total < c->chunk_rows ? total : c->chunk_rows)};
    hid_t dspace = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* No fill pass (every row is written), no timestamps (same rows, same content). A view
     * without rows gets empty contiguous datasets: chunks must hold at least one row. */
    int ok = dspace >= 0 && dcpl >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0 &&
             H5Pset_obj_track_times(dcpl, 0) >= 0;
    if (ok && total > 0) {
        ok = H5Pset_chunk(dcpl, 1, chunk) >= 0;
        /* Shuffle puts the like bytes of numbers together (timestamps and hashes differ in a
         * few low bytes), which deflate then packs; keys are text already. */
        if (ok && w->compress && H5Tget_class(c->ftype) != H5T_STRING)
            ok = H5Pset_shuffle(dcpl) >= 0;
        if (ok && w->compress)
            ok = H5Pset_deflate(dcpl, 1) >= 0;
    }
    if (ok)
        c->dset = H5Dcreate2(c->loc, c->name, c->ftype, dspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dspace >= 0)
        H5Sclose(dspace);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return c->dset < 0 ? mo_errorf(err, MO_EIO, "%s: %s/%s: cannot create the dataset", w->path,
                                   c->group, c->name)
                       : 0;
}

/* Close the view's datasets (0, or MO_EIO when HDF5 cannot close one). */
static int cols_close(mo_fs_writer_t *w, mo_error_t *err)
{
    int rc = 0;
    for (size_t i = 0; w->cols && i < w->ncols; i++) {
        col_t *c = &w->cols[i];
        if (c->dset >= 0 && H5Dclose(c->dset) < 0 && !rc)
            rc = mo_errorf(err, MO_EIO, "%s: %s/%s: cannot close", w->path, c->group, c->name);
        c->dset = H5I_INVALID_HID;
    }
    return rc;
}

/* Block k of the view at hand: this rank's rows [lo, hi), and the elements of each table
 * that come from them (the entities whose last row, for the online table, or first row, for
 * the index, is in the block). Blocks before k have taken the elements of rows below lo. */
static void block_bounds(mo_fs_writer_t *w, const mo_fs_part_t *p)
{
    int64_t b = p->off / w->block + w->k, glo = b * w->block, ghi = glo + w->block;
    int64_t end = p->off + p->n;
    w->lo = glo <= p->off ? 0 : glo >= end ? p->n : glo - p->off;
    w->hi = ghi >= end ? p->n : ghi <= p->off ? 0 : ghi - p->off;
    if (w->k == 0)
        memset(w->e1, 0, sizeof w->e1);
    w->e0[T_ROWS] = w->lo;
    w->e1[T_ROWS] = w->hi;
    const int64_t *rows[N_TABLES] = {NULL, p->onl_row, p->idx_row};
    const int64_t len[N_TABLES] = {0, p->n_onl, p->n_idx};
    for (int t = T_ONLINE; t < N_TABLES; t++) {
        int64_t e = w->e0[t] = w->e1[t];
        while (e < len[t] && rows[t][e] < w->hi)
            e++;
        w->e1[t] = e;
    }
}

/* This rank's elements of block k in column c: collectively, in the same number of calls on
 * every rank (empty selections where a rank has nothing: it failed, or has no more rows);
 * independently, only the calls with elements. */
static int col_write(mo_fs_writer_t *w, const col_t *c, int failed, mo_error_t *err)
{
    int rc = 0, ok;
    int64_t e0 = w->e0[c->table], n = failed ? 0 : w->e1[c->table] - e0;
    int64_t step = WRITE_BYTES / (int64_t)c->elem;
    step = step < 1 ? 1 : step;
    int64_t calls = (w->block + step - 1) / step; /* no table has more elements than rows */
    hid_t fspace = H5Dget_space(c->dset);
    if (fspace < 0)
        rc = mo_errorf(err, MO_EIO, "%s: %s/%s: cannot write", w->path, c->group, c->name);
    /* A dataset with no elements at all (a view without rows) takes no write; every rank sees
     * the same extent, so collectively they all skip it. */
    if (fspace >= 0 && H5Sget_simple_extent_npoints(fspace) == 0)
        calls = 0;
    for (int64_t k = 0; k < calls; k++) {
        int64_t lo = k * step, cnt = rc || lo >= n ? 0 : n - lo < step ? n - lo : step;
        if (!cnt && !w->collective)
            break;
        hsize_t start = (hsize_t)(c->off + e0 + lo), count = (hsize_t)cnt;
        /* An empty selection still needs a valid memory space: one element, none selected
         * (a zero-length dataspace is not one in HDF5 1.10). */
        hsize_t mcount = cnt ? count : 1;
        hid_t mspace = H5Screate_simple(1, &mcount, NULL);
        const void *data = cnt ? fill(w, c, e0 + lo, cnt) : &calls; /* never read */
        ok = mspace >= 0 && fspace >= 0 &&
             (!cnt || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0);
        if (!ok || !cnt) { /* still join the call, with nothing */
            H5Sselect_none(fspace);
            H5Sselect_none(mspace);
        }
        if ((H5Dwrite(c->dset, c->mtype, mspace, fspace, w->dxpl, data) < 0 || !ok) && !rc)
            rc = mo_errorf(err, MO_EIO, "%s: %s/%s: cannot write elements %lld..%lld", w->path,
                           c->group, c->name, (long long)(c->off + e0 + lo),
                           (long long)(c->off + e0 + lo + cnt));
        if (mspace >= 0)
            H5Sclose(mspace);
    }
    if (fspace >= 0)
        H5Sclose(fspace);
    return rc;
}

/* Local: block k's bounds and, with a values_fn, its feature values. */
static int block_fill(mo_fs_writer_t *w, mo_error_t *err)
{
    const mo_fs_view_t *v = &w->views[w->iv];
    block_bounds(w, mo_fs_plan_part(w->plans[w->iv]));
    if (!v->values_fn || w->hi == w->lo)
        return 0;
    int rc = v->values_fn(v->values_ctx, w->lo, w->hi - w->lo, w->vals, err);
    return rc ? rc : 0;
}

/* Block k of every dataset of the view; a rank whose step failed joins collective calls with
 * empty selections. */
static int block_write(mo_fs_writer_t *w, mo_error_t *err)
{
    int rc = 0;
    for (size_t i = 0; i < w->ncols; i++) {
        int r = col_write(w, &w->cols[i], rc != 0, rc ? NULL : err);
        rc = rc ? rc : r;
        if (rc && !w->collective)
            break;
    }
    return rc;
}

/* An int64 attribute of rank 1 or 2 (dims may hold 0: no ranges yet). */
static int attr_write_i64(hid_t obj, const char *name, int rank, const hsize_t *dims,
                          const int64_t *values, const char *where, mo_error_t *err)
{
    hid_t space = H5Screate_simple(rank, dims, NULL), attr = H5I_INVALID_HID;
    if (space >= 0)
        attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, values) >= 0;
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : mo_errorf(err, MO_EIO, "%s attribute '%s': cannot write", where, name);
}

static int write_view_attrs(hid_t g, const mo_fs_writer_t *w, const mo_fs_view_t *v, int64_t rows,
                            mo_error_t *err)
{
    size_t nf = v->n_features;
    const char **names = mo_calloc(3 * nf, sizeof *names);
    int64_t *windows = mo_calloc(nf, sizeof *windows);
    hsize_t wdims[1] = {nf}, rdims[2] = {v->n_ranges, 2};
    char where[512];
    snprintf(where, sizeof where, "%s: /views/%s", w->path, v->name);
    for (size_t f = 0; names && windows && f < nf; f++) {
        names[f] = v->features[f].name;
        names[nf + f] = v->features[f].agg;
        names[2 * nf + f] = v->features[f].column;
        windows[f] = v->features[f].window_us;
    }
    /* mo_h5_attr_write_strv only reads the strings; its prototype is not const-qualified. */
    char *const *s = (char *const *)(void *)names;
    int rc = !names || !windows ? mo_errorf(err, MO_ENOMEM, "%s: out of memory", where) : 0;
    if (!rc && !(rc = mo_h5_attr_write_str(g, "entity", v->entity, err)) &&
        !(rc = mo_h5_attr_write_int(g, "ttl_us", v->ttl_us, err)) &&
        !(rc = mo_h5_attr_write_int(g, "rows", rows, err)) &&
        !(rc = mo_h5_attr_write_strv(g, "features", s, nf, err)) &&
        !(rc = mo_h5_attr_write_strv(g, "aggs", s + nf, nf, err)) &&
        !(rc = mo_h5_attr_write_strv(g, "columns", s + 2 * nf, nf, err)) &&
        !(rc = attr_write_i64(g, "windows_us", 1, wdims, windows, where, err)))
        rc = attr_write_i64(g, "ranges_us", 2, rdims, v->ranges_us, where, err);
    free(names);
    free(windows);
    return rc;
}

static hid_t group_create(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

/* Collective: view iv's groups and attributes, the list of its datasets (rows, online table
 * and index) and the block buffers. */
static int view_begin(mo_fs_writer_t *w, mo_error_t *err)
{
    const mo_fs_view_t *v = &w->views[w->iv];
    const mo_fs_part_t *p = mo_fs_plan_part(w->plans[w->iv]);
    size_t nf = v->n_features;
    w->ncols = w->ic = 0;
    w->k = 0;
    /* A rank's rows span at most ceil(n / block) + 1 blocks of the grid; empty views one. */
    w->calls = (p->max_n + w->block - 1) / w->block + 1;
    w->str = H5Tcopy(H5T_C_S1);
    w->cols = mo_calloc(12 + 2 * nf, sizeof *w->cols);
    size_t widest = p->width > 8 ? p->width : 8;
    int64_t most = WRITE_BYTES / (int64_t)widest;
    w->buf_size = (size_t)(most < w->block ? most : w->block) * widest;
    w->buf = p->n ? malloc(w->buf_size) : NULL;
    int vals_ok = 1;
    if (v->values_fn && p->n) {
        if ((w->vals = mo_calloc(nf, sizeof *w->vals)))
            for (size_t f = 0; vals_ok && f < nf; f++)
                vals_ok = (w->vals[f] = mo_mallocarray((size_t)w->block, sizeof(double))) != NULL;
        vals_ok = vals_ok && w->vals;
    }
    snprintf(w->gv, sizeof w->gv, "/views/%s", v->name);
    snprintf(w->gi, sizeof w->gi, "/views/%s/index", v->name);
    snprintf(w->go, sizeof w->go, "/online/%s", v->name);
    /* Keys are NUL-padded to the longest key: fixed-length strings convert without the
     * per-string allocations of variable-length ones, and deflate absorbs the padding. */
    if (!w->cols || (p->n && !w->buf) || !vals_ok || w->str < 0 ||
        H5Tset_size(w->str, p->width) < 0 || H5Tset_cset(w->str, H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(w->str, H5T_STR_NULLPAD) < 0)
        return mo_errorf(err, MO_ENOMEM, "%s: %s: out of memory", w->path, w->gv);
    if ((w->g = group_create(w->views_g, v->name)) < 0 ||
        (w->ig = group_create(w->g, "index")) < 0 ||
        (w->og = group_create(w->online_g, v->name)) < 0)
        return mo_errorf(err, MO_EIO, "%s: %s: cannot create the view's groups", w->path, w->gv);
    int rc = write_view_attrs(w->g, w, v, p->total, err);
    if (rc)
        return rc;

    const hid_t U64 = H5T_STD_U64LE, I64 = H5T_STD_I64LE, F64 = H5T_IEEE_F64LE;
    const char *const *keys = v->keys;
    const int64_t *ir = p->idx_row;
    col_t *cols = w->cols;
    size_t n = 0;
    /* The rows and the online table have the same columns: all rows, or each entity's last. */
    for (int t = 0; t < 2; t++) {
        hid_t loc = t ? w->og : w->g;
        const char *gp = t ? w->go : w->gv;
        const int64_t *pk = t ? p->onl_row : NULL;
        int tb = t ? T_ONLINE : T_ROWS;
        int64_t off = t ? p->onl_off : p->off, total = t ? p->entities : p->total;
        int64_t ch = t ? ONLINE_CHUNK_ROWS : CHUNK_ROWS;
        cols[n++] = col(loc, gp, "key", w->str, tb, -1, NULL, keys, pk, off, total, ch);
        cols[n++] = col(loc, gp, "hash", U64, tb, -1, v->hash, NULL, pk, off, total, ch);
        cols[n++] = col(loc, gp, "event_ts", I64, tb, -1, v->event_ts, NULL, pk, off, total, ch);
        cols[n++] =
            col(loc, gp, "created_ts", I64, tb, -1, v->created_ts, NULL, pk, off, total, ch);
        for (size_t f = 0; f < nf; f++)
            cols[n++] = col(loc, gp, v->features[f].name, F64, tb, (int)f,
                            p->n && v->values ? v->values[f] : NULL, NULL, pk, off, total, ch);
    }
    int64_t io = p->idx_off, it = p->entities;
    cols[n++] = col(w->ig, w->gi, "hash", U64, T_INDEX, -1, v->hash, NULL, ir, io, it, CHUNK_ROWS);
    cols[n++] = col(w->ig, w->gi, "key", w->str, T_INDEX, -1, NULL, keys, ir, io, it, CHUNK_ROWS);
    cols[n++] =
        col(w->ig, w->gi, "first", I64, T_INDEX, -1, p->idx_first, NULL, NULL, io, it, CHUNK_ROWS);
    cols[n++] =
        col(w->ig, w->gi, "count", I64, T_INDEX, -1, p->idx_count, NULL, NULL, io, it, CHUNK_ROWS);
    w->ncols = n;
    return 0;
}

/* Close the view at hand: its datasets, groups, key type, list of datasets and buffers. */
static int view_end(mo_fs_writer_t *w, mo_error_t *err)
{
    int rc = cols_close(w, err);
    hid_t *g[] = {&w->og, &w->ig, &w->g};
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        if (*g[i] >= 0)
            H5Gclose(*g[i]);
        *g[i] = H5I_INVALID_HID;
    }
    if (w->str >= 0)
        H5Tclose(w->str);
    w->str = H5I_INVALID_HID;
    for (size_t f = 0; w->vals && w->iv < w->n_views && f < w->views[w->iv].n_features; f++)
        free(w->vals[f]);
    free(w->vals);
    w->vals = NULL;
    free(w->buf);
    w->buf = NULL;
    free(w->cols);
    w->cols = NULL;
    w->ncols = w->ic = 0;
    return rc;
}

int mo_fs_writer_step(mo_fs_writer_t *w, int *done, mo_error_t *err)
{
    int rc = 0;
    if (!w || !done)
        return mo_errorf(err, MO_EINVAL, "mo_fs_writer_step: a writer and done are required");
    *done = 0;
    switch (w->stage) {
    case ST_ROOT:
        w->stage = ST_VIEW;
        if (!(rc = mo_h5_attr_write_str(w->file, "kind", "feature_store", err)) &&
            !(rc = mo_h5_attr_write_int(w->file, "format_version", MO_FS_FORMAT_VERSION, err)) &&
            ((w->views_g = group_create(w->file, "views")) < 0 ||
             (w->online_g = group_create(w->file, "online")) < 0))
            rc = mo_errorf(err, MO_EIO, "%s: cannot create /views and /online", w->path);
        return rc;
    case ST_VIEW:
        if (w->iv == w->n_views) {
            w->stage = ST_DONE;
            *done = 1;
            return 0;
        }
        w->stage = ST_CREATE;
        return view_begin(w, err);
    case ST_CREATE:
        rc = col_create(w, &w->cols[w->ic], err);
        if (++w->ic == w->ncols)
            w->stage = ST_FILL;
        return rc;
    case ST_FILL:
        if (w->mpi && !w->collective) {
            /* Independent transfers: no rank waits for another inside the write, so all of
             * this rank's blocks are one step, agreed on once, not a rank-to-rank wait per
             * block (on a busy machine those waits added up to a fifth of the CPU time). */
            for (; !rc && w->k < w->calls; w->k++)
                if (!(rc = block_fill(w, err)) && !(rc = block_write(w, err)))
                    mo_fault_point("store_block");
            w->stage = ST_CLOSE;
            return rc;
        }
        w->stage = ST_WRITE;
        return block_fill(w, err);
    case ST_WRITE:
        if (!(rc = block_write(w, err)))
            mo_fault_point("store_block");
        w->stage = ++w->k == w->calls ? ST_CLOSE : ST_FILL;
        return rc;
    case ST_CLOSE:
        rc = view_end(w, err);
        w->iv++;
        w->stage = ST_VIEW;
        return rc;
    default:
        *done = 1;
        return 0;
    }
}

int mo_fs_temp_create(char **tmp, const char *path, mo_error_t *err)
{
    if (tmp)
        *tmp = NULL;
    if (!tmp || !path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_fs_temp_create: a path is required");
    size_t len = strlen(path) + 32;
    int fd = -1;
    if (!(*tmp = malloc(len)))
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    snprintf(*tmp, len, "%s.tmp.%ld", path, (long)getpid());
    /* open(2) first: HDF5 cannot say why a create failed, errno can. */
    if ((fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
        close(fd);
        return 0;
    }
    int rc = mo_errorf(err, MO_EIO, "%s: cannot create %s: %s", path, *tmp, strerror(errno));
    free(*tmp);
    *tmp = NULL;
    return rc;
}

/* Datasets compressed when wanted and this HDF5 can deflate (the same library, so the same
 * answer, on every rank); transfers then collective with MPI-IO, else independent. */
int mo_fs_writer_open(mo_fs_writer_t **out, const char *path, const char *tmp, MPI_Comm comm,
                      const mo_fs_view_t *views, mo_fs_plan_t *const *plans, size_t n_views,
                      mo_error_t *err)
{
    int rc = 0;
    unsigned int cfg = 0;
    mo_fs_writer_t *w = NULL;
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    if (out)
        *out = NULL;
    if (!out || !path || !tmp || (n_views && (!views || !plans)))
        return mo_errorf(err, MO_EINVAL,
                         "mo_fs_writer_open: a path, a temp name and views are required");
    for (size_t i = 0; i < n_views; i++)
        if (!mo_fs_plan_part(plans[i]) || mo_fs_plan_part(plans[i])->n != views[i].n)
            return mo_errorf(err, MO_EINVAL, "mo_fs_writer_open: view '%s' has no finished plan",
                             views[i].name ? views[i].name : "?");
    mo_h5_quiet();
    if (!(w = mo_calloc(1, sizeof *w)))
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
    *w = (mo_fs_writer_t){.path = path,
                          .tmp = tmp,
                          .views = views,
                          .plans = plans,
                          .n_views = n_views,
                          .file = H5I_INVALID_HID,
                          .dxpl = H5I_INVALID_HID,
                          .views_g = H5I_INVALID_HID,
                          .online_g = H5I_INVALID_HID,
                          .g = H5I_INVALID_HID,
                          .ig = H5I_INVALID_HID,
                          .og = H5I_INVALID_HID,
                          .str = H5I_INVALID_HID};
    w->compress = !(n_views > 0 && views && views[0].no_compression) &&
                  H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
                  H5Zget_filter_info(H5Z_FILTER_DEFLATE, &cfg) >= 0 &&
                  (cfg & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    int mpi = comm != MPI_COMM_NULL;
    /* Parallel HDF5 writes filtered datasets only collectively; plain ones each rank alone. */
    w->mpi = mpi;
    w->collective = mpi && w->compress;
    w->block = n_views > 0 && views[0].block_rows > 0 ? views[0].block_rows : MO_FS_BLOCK_ROWS;
    /* The 1.8 object format as every Maestro file (docs/formats.md "Common rules"). */
    if (fapl >= 0 && fcpl >= 0 && w->dxpl >= 0 &&
        (!mpi || (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) >= 0 &&
                  H5Pset_coll_metadata_write(fapl, 1) >= 0 &&
                  H5Pset_dxpl_mpio(w->dxpl, w->collective ? H5FD_MPIO_COLLECTIVE
                                                          : H5FD_MPIO_INDEPENDENT) >= 0)) &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) >= 0 &&
        H5Pset_obj_track_times(fcpl, 0) >= 0)
        w->file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (w->file < 0)
        rc = mo_errorf(err, MO_EIO, "%s: %s cannot create %s", path, mpi ? "parallel HDF5" : "HDF5",
                       tmp);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (rc) {
        mo_fs_writer_close(w, NULL);
        return rc;
    }
    *out = w;
    return 0;
}

int mo_fs_writer_close(mo_fs_writer_t *w, mo_error_t *err)
{
    int rc = 0;
    if (!w)
        return 0;
    view_end(w, NULL); /* after a failure: its error is told already */
    if (w->views_g >= 0)
        H5Gclose(w->views_g);
    if (w->online_g >= 0)
        H5Gclose(w->online_g);
    if (w->file >= 0 && H5Fclose(w->file) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot finish writing %s", w->path, w->tmp);
    if (w->dxpl >= 0)
        H5Pclose(w->dxpl);
    free(w);
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

/* Data on disk before the name, then the name and its directory. */
int mo_fs_commit(const char *tmp, const char *path, mo_error_t *err)
{
    if (!tmp || !path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_fs_commit: a temp name and a path are required");
    fsync_path(tmp, O_RDONLY);
    if (rename(tmp, path) != 0)
        return mo_errorf(err, MO_EIO, "%s: cannot rename %s into place: %s", path, tmp,
                         strerror(errno));
    char *dir = mo_strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        slash[slash == dir] = '\0';
    fsync_path(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    free(dir);
    return 0;
}
