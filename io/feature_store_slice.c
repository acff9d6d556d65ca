/* feature_store_slice.c - the reads of a point-in-time join (io/feature_store.h): a slice of
 * the entity index, a range of one column, and one column's values at a sorted list of rows
 *
 * A join needs, per query, one row of each wanted feature, and which row comes from the
 * entity's event_ts alone (rows are sorted by event_ts, then created_ts, within an entity). So
 * instead of a rank's whole slab of every column, it reads the index entries of its entities,
 * their event_ts, then each wanted feature at the chosen rows. mo_fs_gather reads those rows
 * in spans: consecutive wanted rows share a span while the gap between them is small and the
 * span short, so a dense selection streams the column in large reads into a bounded buffer
 * and a sparse one touches little more than the rows it needs.
 */
#include "core/alloc.h"
#include "io/feature_store_impl.h"
#include "io/h5.h"

#include <stdlib.h>
#include <string.h>

/* Most rows one read of mo_fs_gather covers (its buffer: 512 KiB of doubles). */
#define SPAN_ROWS 65536
/* A gap of more rows than this between wanted rows starts a new read: past it, reading the
 * rows in between costs more than another HDF5 call. */
#define SPAN_GAP 2048

static int rows_ok(const mo_fs_t *fs, const mo_fs_vdata_t *v, int64_t first, int64_t count,
                   int64_t len, mo_error_t *err)
{
    if (first < 0 || count < 0 || first > len || count > len - first)
        return mo_errorf(err, MO_EINVAL, "%s: view '%s': rows %lld..%lld are outside 0..%lld",
                         fs->path, v->name, (long long)first, (long long)first + count,
                         (long long)len);
    return 0;
}

int mo_fs_index_lower(mo_fs_t *fs, const char *view, uint64_t hash, int64_t *entry, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = mo_fs_find_view(&v, fs, view, err);
    if (rc)
        return rc;
    if (!entry)
        return mo_errorf(err, MO_EINVAL, "mo_fs_index_lower: NULL output");
    int64_t lo = 0, hi = v->entities;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        uint64_t h;
        if (v->loaded)
            h = v->ihash[mid];
        else if ((rc = mo_h5_read_rows(v->idx_hash, H5T_NATIVE_UINT64, mid, 1, &h, err)))
            return rc;
        if (h < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    *entry = lo;
    return 0;
}

void mo_fs_index_free(mo_fs_index_t *idx)
{
    if (!idx)
        return;
    free(idx->hash);
    free(idx->keys);
    free(idx->row);
    free(idx->rows);
    memset(idx, 0, sizeof *idx);
}

int mo_fs_read_index(mo_fs_t *fs, const char *view, int64_t first, int64_t count,
                     mo_fs_index_t *idx, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    char *raw = NULL;
    hid_t t = H5I_INVALID_HID;
    if (idx)
        memset(idx, 0, sizeof *idx);
    int rc = mo_fs_find_view(&v, fs, view, err);
    if (rc)
        return rc;
    if (!idx)
        return mo_errorf(err, MO_EINVAL, "mo_fs_read_index: NULL output");
    if ((rc = rows_ok(fs, v, first, count, v->entities, err)))
        return rc;
    size_t n = (size_t)(count ? count : 1), w = v->iwidth;
    idx->width = w;
    idx->hash = mo_mallocarray(n, sizeof *idx->hash);
    idx->row = mo_mallocarray(n, sizeof *idx->row);
    idx->rows = mo_mallocarray(n, sizeof *idx->rows);
    idx->keys = mo_calloc(n, w + 1);
    raw = mo_mallocarray(n, w);
    t = H5Dget_type(v->idx_key); /* as stored: the padding is NUL */
    if (!idx->hash || !idx->row || !idx->rows || !idx->keys || !raw || t < 0) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: view '%s': out of memory for %lld index entries",
                       fs->path, view, (long long)count);
        goto out;
    }
    if ((rc = mo_h5_read_rows(v->idx_hash, H5T_NATIVE_UINT64, first, count, idx->hash, err)) ||
        (rc = mo_h5_read_rows(v->idx_first, H5T_NATIVE_INT64, first, count, idx->row, err)) ||
        (rc = mo_h5_read_rows(v->idx_count, H5T_NATIVE_INT64, first, count, idx->rows, err)) ||
        (rc = mo_h5_read_rows(v->idx_key, t, first, count, raw, err)))
        goto out;
    for (int64_t e = 0; e < count; e++)
        memcpy(idx->keys + (size_t)e * (w + 1), raw + (size_t)e * w, w);
    idx->n = count;
out:
    if (t >= 0)
        H5Tclose(t);
    free(raw);
    if (rc)
        mo_fs_index_free(idx);
    return rc;
}

int mo_fs_read_column(mo_fs_t *fs, const char *view, const char *column, int64_t first,
                      int64_t count, void *buf, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = mo_fs_find_view(&v, fs, view, err);
    if (rc)
        return rc;
    if (!column || (count > 0 && !buf))
        return mo_errorf(err, MO_EINVAL, "mo_fs_read_column: NULL column or buffer");
    hid_t dset = H5I_INVALID_HID, type = H5T_NATIVE_DOUBLE;
    if (!strcmp(column, "event_ts") || !strcmp(column, "created_ts")) {
        dset = column[0] == 'e' ? v->rows_t.event_ts : v->rows_t.created_ts;
        type = H5T_NATIVE_INT64;
    } else if (!strcmp(column, "hash")) {
        dset = v->rows_t.hash;
        type = H5T_NATIVE_UINT64;
    }
    for (size_t f = 0; dset < 0 && f < v->n_features; f++)
        if (!strcmp(v->features[f], column))
            dset = v->rows_t.feat[f];
    if (dset < 0)
        return mo_errorf(err, MO_ENOTFOUND, "%s: view '%s' has no column '%s'", fs->path, view,
                         column);
    if ((rc = rows_ok(fs, v, first, count, v->rows, err)))
        return rc;
    return mo_h5_read_rows(dset, type, first, count, buf, err);
}

int mo_fs_gather(mo_fs_t *fs, const char *view, size_t feature, const int64_t *rows, int64_t n,
                 double *out, mo_error_t *err)
{
    mo_fs_vdata_t *v;
    int rc = mo_fs_find_view(&v, fs, view, err);
    if (rc)
        return rc;
    if (n < 0 || (n > 0 && (!rows || !out)))
        return mo_errorf(err, MO_EINVAL, "mo_fs_gather: NULL rows or output");
    if (feature >= v->n_features)
        return mo_errorf(err, MO_EINVAL, "%s: view '%s' has %zu features, not %zu", fs->path, view,
                         v->n_features, feature + 1);
    /* Check the whole selection first: a failure leaves out untouched. */
    int64_t prev = -1;
    for (int64_t i = 0; i < n; i++) {
        if (rows[i] < 0)
            continue;
        if (rows[i] >= v->rows || rows[i] < prev)
            return mo_errorf(err, MO_EINVAL, "%s: view '%s': gather row %lld (at %lld) is %s",
                             fs->path, view, (long long)rows[i], (long long)i,
                             rows[i] >= v->rows ? "outside the table" : "before the one before");
        prev = rows[i];
    }
    double *buf = NULL;
    for (int64_t i = 0; i < n && !rc;) {
        if (rows[i] < 0) {
            i++;
            continue;
        }
        /* One span: from rows[i] while the next wanted row is near and the span short. */
        int64_t r0 = rows[i], last = r0, j = i + 1;
        for (; j < n; j++) {
            if (rows[j] < 0)
                continue;
            if (rows[j] - last > SPAN_GAP || rows[j] - r0 >= SPAN_ROWS)
                break;
            last = rows[j];
        }
        if (!buf && !(buf = mo_mallocarray(SPAN_ROWS, sizeof *buf))) {
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", fs->path);
            break;
        }
        if ((rc = mo_h5_read_rows(v->rows_t.feat[feature], H5T_NATIVE_DOUBLE, r0, last - r0 + 1,
                                  buf, err)))
            break;
        for (; i < j; i++)
            if (rows[i] >= 0)
                out[i] = buf[rows[i] - r0];
    }
    free(buf);
    return rc;
}
