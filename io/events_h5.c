/* events_h5.c - event tables from HDF5 files (io/events.h)
 *
 * One 1-D dataset per column at the root, all of one length. Each rank opens the file on its
 * own (plain H5Fopen, default property list: reading needs no collective open) and reads only
 * the hyperslab [first, first + count) of each column, so ranks split a table by rows without
 * reading each other's. The slab is read in pieces of at most PIECE_ROWS rows, all columns of
 * a piece before the next, so temporary buffers stay small and errors come in row order.
 */
#include "core/alloc.h"
#include "io/events_impl.h"
#include "io/h5.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECE_ROWS ((int64_t)1 << 20)

enum { ROLE_ENTITY, ROLE_TS, ROLE_VALUE, ROLE_LABEL };

typedef struct {
    const char *name;
    int role;
    hid_t d, ftype;
    H5T_class_t cls;
    int64_t n;
} col_t;

typedef struct {
    const char *path;
    mo_error_t *err;
    void *scratch; /* one piece of one column */
    size_t scratch_size;
    char **strs; /* the same piece as strings */
} h5r_t;

static int list_datasets(h5r_t *r, hid_t file, const char *name)
{
    char names[8][64], list[200];
    const char *ptr[8];
    H5G_info_t gi = {0};
    size_t n = 0;
    if (H5Gget_info(file, &gi) < 0)
        gi.nlinks = 0;
    for (hsize_t i = 0; i < gi.nlinks && n < 8; i++)
        if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, names[n], sizeof names[n],
                               H5P_DEFAULT) >= 0) {
            ptr[n] = names[n];
            n++;
        }
    mo_events_list(list, sizeof list, ptr, n, (size_t)gi.nlinks);
    return mo_errorf(r->err, MO_EINVAL, "%s: no dataset '%s' (datasets: %s)", r->path, name, list);
}

static int open_col(h5r_t *r, col_t *c, hid_t file)
{
    static const char *what[] = {"strings or integers (entity keys)",
                                 "strings or numbers (timestamps)", "numbers",
                                 "strings or numbers"};
    c->d = c->ftype = H5I_INVALID_HID;
    if (H5Lexists(file, c->name, H5P_DEFAULT) <= 0)
        return list_datasets(r, file, c->name);
    c->d = H5Dopen2(file, c->name, H5P_DEFAULT);
    if (c->d < 0)
        return mo_errorf(r->err, MO_EFORMAT, "%s: /%s is not a dataset", r->path, c->name);
    hid_t space = H5Dget_space(c->d);
    int ndims = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dim = 0;
    if (ndims == 1)
        H5Sget_simple_extent_dims(space, &dim, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (ndims != 1)
        return mo_errorf(r->err, MO_EFORMAT, "%s: /%s: expected a 1-D dataset, found %d-D", r->path,
                         c->name, ndims);
    c->n = (int64_t)dim;
    c->ftype = H5Dget_type(c->d);
    c->cls = H5Tget_class(c->ftype);
    int ok = c->cls == H5T_INTEGER || (c->cls == H5T_FLOAT && c->role != ROLE_ENTITY) ||
             (c->cls == H5T_STRING && c->role != ROLE_VALUE);
    if (!ok)
        return mo_errorf(r->err, MO_EFORMAT, "%s: /%s: expected %s, found %s", r->path, c->name,
                         what[c->role], mo_h5_dtype_name(c->ftype));
    return 0;
}

static void *scratch(h5r_t *r, size_t size)
{
    if (size > r->scratch_size) {
        void *p = realloc(r->scratch, size);
        if (!p)
            return NULL;
        r->scratch = p;
        r->scratch_size = size;
    }
    return r->scratch;
}

/* Stands for the NULL HDF5 gives for an unwritten variable-length string. */
static char no_string[1];

/* Rows [r0, r0 + k) of a string column as k pointers in r->strs (never NULL) and their
 * lengths (space padding cut). *vlen_type: the memory type to reclaim with, or -1 (fixed). */
static int read_strings(h5r_t *r, const col_t *c, int64_t r0, int64_t k, size_t *lens,
                        hid_t *vlen_type)
{
    int rc = 0;
    int vlen = H5Tis_variable_str(c->ftype) > 0;
    size_t size = H5Tget_size(c->ftype);
    hid_t mt = H5Tcopy(H5T_C_S1);
    *vlen_type = H5I_INVALID_HID;
    if (mt < 0 || H5Tset_cset(mt, H5Tget_cset(c->ftype)) < 0 ||
        H5Tset_size(mt, vlen ? H5T_VARIABLE : size) < 0 ||
        (!vlen && H5Tset_strpad(mt, H5Tget_strpad(c->ftype)) < 0)) {
        rc = mo_errorf(r->err, MO_EIO, "%s: /%s: cannot set up a string type", r->path, c->name);
        goto out;
    }
    char *fixed = vlen ? NULL : scratch(r, (size_t)k * size);
    if (!vlen && !fixed) {
        rc = mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        goto out;
    }
    if ((rc = mo_h5_read_rows(c->d, mt, r0, k, vlen ? (void *)r->strs : fixed, r->err)))
        goto out;
    int spaces = !vlen && H5Tget_strpad(c->ftype) == H5T_STR_SPACEPAD;
    for (int64_t i = 0; i < k; i++) {
        if (!vlen)
            r->strs[i] = fixed + (size_t)i * size;
        else if (!r->strs[i])
            r->strs[i] = no_string;
        lens[i] = vlen ? strlen(r->strs[i]) : strnlen(r->strs[i], size);
        while (spaces && lens[i] && r->strs[i][lens[i] - 1] == ' ')
            lens[i]--;
    }
    if (vlen) {
        *vlen_type = mt;
        mt = H5I_INVALID_HID;
    }
out:
    if (mt >= 0)
        H5Tclose(mt);
    return rc;
}

static void reclaim(h5r_t *r, hid_t vlen_type, int64_t k)
{
    hsize_t dim = (hsize_t)k;
    if (vlen_type < 0)
        return;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    if (space >= 0) {
        for (int64_t i = 0; i < k; i++) /* reclaim frees only what HDF5 allocated */
            if (r->strs[i] == no_string)
                r->strs[i] = NULL;
        H5Dvlen_reclaim(vlen_type, space, H5P_DEFAULT, r->strs);
        H5Sclose(space);
    }
    H5Tclose(vlen_type);
}

/* Decimal text of an integer key into buf (24 bytes); returns its length. */
static size_t decimal(char *buf, int64_t v, int is_unsigned)
{
    char t[24];
    size_t n = 0, len = 0;
    uint64_t u = is_unsigned || v >= 0 ? (uint64_t)v : 0 - (uint64_t)v;
    do
        t[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (!is_unsigned && v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = t[--n];
    return len;
}

/* Append rows [r0, r0 + k) of the entity column to ev (room reserved for the rows). */
static int read_keys(h5r_t *r, mo_events_t *ev, const col_t *c, int64_t r0, int64_t k, size_t *lens)
{
    int rc = 0;
    if (c->cls == H5T_INTEGER) {
        int u = H5Tget_sign(c->ftype) == H5T_SGN_NONE;
        int64_t *v = scratch(r, (size_t)k * sizeof *v);
        if (!v)
            return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        if ((rc =
                 mo_h5_read_rows(c->d, u ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, r0, k, v, r->err)))
            return rc;
        if (mo_events_reserve(ev, 0, (size_t)k * 21))
            return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        for (int64_t i = 0; i < k; i++) {
            char buf[24];
            mo_events_append(ev, buf, decimal(buf, v[i], u), 0, 0);
        }
        return 0;
    }
    hid_t vt;
    if ((rc = read_strings(r, c, r0, k, lens, &vt)))
        return rc;
    size_t bytes = 0;
    for (int64_t i = 0; i < k; i++)
        bytes += lens[i] + 1;
    for (int64_t i = 0; i < k && !rc; i++)
        if (!lens[i])
            rc = mo_errorf(r->err, MO_EFORMAT, "%s: /%s row %lld: empty entity key", r->path,
                           c->name, (long long)(r0 + i));
    if (!rc && mo_events_reserve(ev, 0, bytes))
        rc = mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
    for (int64_t i = 0; i < k && !rc; i++)
        mo_events_append(ev, r->strs[i], lens[i], 0, 0);
    reclaim(r, vt, k);
    return rc;
}

/* Shortest "%.*g" text of v that reads back as v, into buf (32 bytes); returns its length. */
static size_t shortest(char *buf, double v)
{
    int len = 0;
    for (int prec = 1; prec <= 17; prec++) {
        len = snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v || v != v)
            break;
    }
    return (size_t)len;
}

/* Rows [r0, r0 + k) of the label column as text: ev->label_off[base + i]. */
static int read_labels(h5r_t *r, mo_events_t *ev, const col_t *c, int64_t r0, int64_t k,
                       int64_t base, size_t *lens)
{
    int rc = 0;
    char buf[32];
    if (c->cls == H5T_STRING) {
        hid_t vt;
        size_t bytes = 0;
        if ((rc = read_strings(r, c, r0, k, lens, &vt)))
            return rc;
        for (int64_t i = 0; i < k; i++)
            bytes += lens[i] + 1;
        if (mo_events_reserve(ev, 0, bytes))
            rc = mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        for (int64_t i = 0; i < k && !rc; i++)
            ev->label_off[base + i] = mo_events_put_text(ev, r->strs[i], lens[i]);
        reclaim(r, vt, k);
        return rc;
    }
    int u = c->cls == H5T_INTEGER && H5Tget_sign(c->ftype) == H5T_SGN_NONE;
    hid_t mt = c->cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE : u ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
    void *v = scratch(r, (size_t)k * 8);
    if (!v || mo_events_reserve(ev, 0, (size_t)k * 32))
        return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
    if ((rc = mo_h5_read_rows(c->d, mt, r0, k, v, r->err)))
        return rc;
    for (int64_t i = 0; i < k; i++) {
        size_t len = c->cls == H5T_FLOAT ? shortest(buf, ((double *)v)[i])
                                         : decimal(buf, ((int64_t *)v)[i], u);
        ev->label_off[base + i] = mo_events_put_text(ev, buf, len);
    }
    return 0;
}

/* Rows [r0, r0 + k) of a timestamp column into out[0..k). fallback (created): where a cell
 * is empty or NaN, take fallback[i]; NULL (the event timestamp): such a cell is an error. */
static int read_times(h5r_t *r, const col_t *c, int64_t r0, int64_t k, mo_ts_format_t fmt,
                      int64_t *out, const int64_t *fallback, size_t *lens)
{
    int rc = 0;
    mo_error_t e = {0};
    int64_t i = 0;
    if (c->cls == H5T_INTEGER) {
        int64_t *v = scratch(r, (size_t)k * sizeof *v);
        if (!v)
            return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        if ((rc = mo_h5_read_rows(c->d, H5T_NATIVE_INT64, r0, k, v, r->err)))
            return rc;
        for (; i < k && !rc; i++)
            rc = mo_ts_from_int(v[i], fmt, &out[i], &e);
    } else if (c->cls == H5T_FLOAT) {
        double *v = scratch(r, (size_t)k * sizeof *v);
        if (!v)
            return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
        if ((rc = mo_h5_read_rows(c->d, H5T_NATIVE_DOUBLE, r0, k, v, r->err)))
            return rc;
        for (; i < k && !rc; i++)
            if (isnan(v[i]) && fallback)
                out[i] = fallback[i];
            else if (isnan(v[i]))
                rc = mo_errorf(&e, MO_EFORMAT, "empty timestamp (NaN)");
            else
                rc = mo_ts_from_double(v[i], fmt, &out[i], &e);
    } else {
        hid_t vt;
        if ((rc = read_strings(r, c, r0, k, lens, &vt)))
            return rc;
        for (; i < k && !rc; i++) {
            const char *s = r->strs[i];
            size_t len = lens[i];
            while (len && (*s == ' ' || *s == '\t'))
                s++, len--;
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            if (!len && fallback)
                out[i] = fallback[i];
            else if (!len)
                rc = mo_errorf(&e, MO_EFORMAT, "empty timestamp");
            else
                rc = mo_ts_parse(s, len, fmt, &out[i], &e);
        }
        reclaim(r, vt, k);
    }
    if (rc) /* bad content (MO_EFORMAT), whatever code the parser used */
        return mo_errorf(r->err, MO_EFORMAT, "%s: /%s row %lld: %s", r->path, c->name,
                         (long long)(r0 + i - 1), e.msg);
    return 0;
}

/* Rows [r0, r0 + k) of value column j into vals (row-major, nv per row). */
static int read_values(h5r_t *r, const col_t *c, int64_t r0, int64_t k, double *vals, size_t j,
                       size_t nv)
{
    double *v = scratch(r, (size_t)k * sizeof *v);
    int rc;
    if (!v)
        return mo_errorf(r->err, MO_ENOMEM, "%s: /%s: out of memory", r->path, c->name);
    if ((rc = mo_h5_read_rows(c->d, H5T_NATIVE_DOUBLE, r0, k, v, r->err)))
        return rc;
    for (int64_t i = 0; i < k; i++) {
        if (isinf(v[i]))
            return mo_errorf(r->err, MO_EFORMAT, "%s: /%s row %lld: not a finite number: %s",
                             r->path, c->name, (long long)(r0 + i), v[i] > 0 ? "inf" : "-inf");
        vals[(size_t)i * nv + j] = v[i];
    }
    return 0;
}

int mo_events_h5_load(mo_events_t *ev, int64_t *rows, const mo_events_spec_t *spec, int64_t first,
                      int64_t count, mo_error_t *err)
{
    int rc = 0;
    size_t nv = spec->n_values, nc = 4 + nv;
    hid_t file = H5I_INVALID_HID;
    h5r_t r = {.path = spec->path, .err = err};
    col_t *cols = mo_calloc(nc, sizeof *cols);
    size_t *lens = NULL;
    if (!cols)
        return mo_errorf(err, MO_ENOMEM, "%s: out of memory", spec->path);
    cols[0] = (col_t){spec->entity, ROLE_ENTITY, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    cols[1] = (col_t){spec->timestamp, ROLE_TS, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    cols[2] = (col_t){spec->created, ROLE_TS, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    cols[3] = (col_t){spec->label, ROLE_LABEL, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    for (size_t j = 0; j < nv; j++)
        cols[4 + j] = (col_t){spec->values[j], ROLE_VALUE, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    if ((rc = mo_h5_open(&file, spec->path, H5P_DEFAULT, err)))
        goto out;
    for (size_t i = 0; i < nc; i++) {
        if (!cols[i].name)
            continue;
        if ((rc = open_col(&r, &cols[i], file)))
            goto out;
        if (cols[i].n != cols[0].n) {
            rc = mo_errorf(err, MO_EFORMAT, "%s: /%s has %lld rows, /%s has %lld", spec->path,
                           cols[i].name, (long long)cols[i].n, cols[0].name, (long long)cols[0].n);
            goto out;
        }
    }
    int64_t n = cols[0].n;
    *rows = n;
    if (!ev)
        goto out;
    if (first > n || (count >= 0 && count > n - first)) {
        rc = mo_events_range_error(err, spec->path, first, count, n);
        goto out;
    }
    if (count < 0)
        count = n - first;
    int64_t piece = count < PIECE_ROWS ? count : PIECE_ROWS;
    if (mo_events_reserve(ev, count, 0) ||
        !(r.strs = mo_mallocarray((size_t)piece + 1, sizeof *r.strs)) ||
        !(lens = mo_mallocarray((size_t)piece + 1, sizeof *lens))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory for %lld rows", spec->path,
                       (long long)count);
        goto out;
    }
    for (int64_t done = 0; done < count; done += piece) {
        int64_t k = count - done < piece ? count - done : piece, r0 = first + done, base = ev->n;
        if ((rc = read_keys(&r, ev, &cols[0], r0, k, lens)) ||
            (rc = read_times(&r, &cols[1], r0, k, spec->ts_format, ev->ts + base, NULL, lens)))
            goto out;
        if (!spec->created)
            memcpy(ev->created + base, ev->ts + base, (size_t)k * sizeof *ev->ts);
        else if ((rc = read_times(&r, &cols[2], r0, k, spec->ts_format, ev->created + base,
                                  ev->ts + base, lens)))
            goto out;
        if (spec->label && (rc = read_labels(&r, ev, &cols[3], r0, k, base, lens)))
            goto out;
        for (size_t j = 0; j < nv; j++)
            if ((rc = read_values(&r, &cols[4 + j], r0, k, ev->vals + (size_t)base * nv, j, nv)))
                goto out;
    }
out:
    for (size_t i = 0; i < nc; i++) {
        if (cols[i].ftype >= 0)
            H5Tclose(cols[i].ftype);
        if (cols[i].d >= 0)
            H5Dclose(cols[i].d);
    }
    if (file >= 0)
        H5Fclose(file);
    free(cols);
    free(lens);
    free(r.strs);
    free(r.scratch);
    return rc;
}
