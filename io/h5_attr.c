/* h5_attr.c - reading and writing HDF5 attributes
 *
 * Readers accept what h5py and other HDF5 writers produce (fixed or variable strings, any
 * integer width); writers use one canonical form (variable UTF-8 strings, int64, float64).
 * Messages name the file, the object and the attribute.
 */
#include "io/h5.h"

#include "core/alloc.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

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

/* A JSON value for an attribute: scalars and 1-D arrays of strings or numbers; null for
 * anything else (compound, enum, references, multi-dimensional). */
json_t *mo_h5_attr_json(hid_t obj, const char *name)
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
