/* checkpoint.c - training state: in-memory entries and their HDF5 file (io/checkpoint.h)
 *
 * In memory a checkpoint is a short list of entries (parameters, optimiser moments, step, RNG
 * counters: tens, not thousands), searched linearly. On disk every entry is one root dataset
 * named after it, stored in exactly the type that was put, so reading it back converts nothing
 * and NaN payloads, -0.0 and denormals survive bit for bit. Scalars and single strings use a
 * scalar dataspace, arrays and string lists a 1-D one: (class, size, rank) says the entry type
 * and no marker attribute is needed. Datasets are contiguous (written once, read whole).
 *
 * The folder of checkpoints (naming, pruning, finding the latest) is io/checkpoint_dir.c; it
 * writes each file through mo_ckpt_write (io/io_impl.h).
 */
#include "io/checkpoint.h"

#include "core/alloc.h"
#include "core/fault.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 100

typedef enum { E_F32, E_F64, E_I64, E_I32, E_INT, E_DOUBLE, E_STR, E_STRV } etype_t;

/* What differs between entry types. `cls`, `size` and `rank` identify a type on disk. */
static const struct {
    const char *name;
    H5T_class_t cls;
    size_t size; /* bytes per element in memory and on disk; strings: a pointer in memory */
    int rank;    /* 0: a scalar dataspace, 1: 1-D */
} types[] = {
    [E_F32] = {"float32", H5T_FLOAT, 4, 1},
    [E_F64] = {"float64", H5T_FLOAT, 8, 1},
    [E_I64] = {"int64", H5T_INTEGER, 8, 1},
    [E_I32] = {"int32", H5T_INTEGER, 4, 1},
    [E_INT] = {"int64 scalar", H5T_INTEGER, 8, 0},
    [E_DOUBLE] = {"float64 scalar", H5T_FLOAT, 8, 0},
    [E_STR] = {"string", H5T_STRING, sizeof(char *), 0},
    [E_STRV] = {"string list", H5T_STRING, sizeof(char *), 1},
};

typedef struct {
    char *name;
    etype_t type;
    int64_t n;  /* elements; 1 for scalars and a single string */
    void *data; /* numbers: n values (never NULL); E_STR: the string; E_STRV: char *[n] */
} entry_t;

struct mo_ckpt {
    entry_t *e;
    size_t n, cap;
    char *path; /* the file it was read from, for messages; NULL when built in memory */
};

static void entry_free(entry_t *e)
{
    if (e->type == E_STRV && e->data)
        mo_h5_strv_free(e->data, (size_t)e->n);
    else
        free(e->data);
    free(e->name);
    memset(e, 0, sizeof *e);
}

int mo_ckpt_create(mo_ckpt_t **out, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_create: NULL output");
    *out = mo_calloc(1, sizeof **out);
    return *out ? 0 : mo_errorf(err, MO_ENOMEM, "checkpoint: out of memory");
}

void mo_ckpt_destroy(mo_ckpt_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_free(&c->e[i]);
    free(c->e);
    free(c->path);
    free(c);
}

/* 1 when `name` is a valid entry name: 1-100 of [A-Za-z0-9_.-], not "." or "..". '/' would
 * make HDF5 groups; "." and ".." are path components to HDF5. */
static int name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > NAME_MAX_LEN || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static int check_name(const char *fn, const char *name, mo_error_t *err)
{
    if (!name || !*name)
        return mo_errorf(err, MO_EINVAL, "%s: empty entry name", fn);
    if (!name_ok(name))
        return mo_errorf(err, MO_EINVAL,
                         "%s: bad entry name '%.120s' (1-%d of A-Z a-z 0-9 _ . -, not . or ..)", fn,
                         name, NAME_MAX_LEN);
    return 0;
}

/* Add `e` (taken over) to `c`, replacing an entry of the same name. */
static int add_entry(mo_ckpt_t *c, entry_t *e, mo_error_t *err)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].name, e->name)) {
            entry_free(&c->e[i]);
            c->e[i] = *e;
            memset(e, 0, sizeof *e);
            return 0;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        entry_t *p = mo_reallocarray(c->e, cap, sizeof *p);
        if (!p)
            return mo_errorf(err, MO_ENOMEM, "checkpoint: out of memory");
        c->e = p;
        c->cap = cap;
    }
    c->e[c->n++] = *e;
    memset(e, 0, sizeof *e);
    return 0;
}

/* Put a copy of `n` values (or strings) of type `t`. */
static int put(mo_ckpt_t *c, const char *fn, const char *name, etype_t t, const void *v, int64_t n,
               mo_error_t *err)
{
    int rc = 0;
    entry_t e = {0};
    if (!c)
        return mo_errorf(err, MO_EINVAL, "%s: NULL checkpoint", fn);
    if ((rc = check_name(fn, name, err)))
        return rc;
    if (n < 0 || (n > 0 && !v))
        return mo_errorf(err, MO_EINVAL, "%s: entry '%s': %s", fn, name,
                         n < 0 ? "negative length" : "NULL values");
    if ((uint64_t)n > SIZE_MAX / types[t].size)
        return mo_errorf(err, MO_EINVAL, "%s: entry '%s': %lld values are too many", fn, name,
                         (long long)n);
    e.type = t;
    e.n = n;
    if (!(e.name = mo_strdup(name))) {
        rc = mo_errorf(err, MO_ENOMEM, "checkpoint: out of memory");
        goto out;
    }
    if (t == E_STR) {
        e.data = mo_strdup(v);
    } else if (t == E_STRV) {
        const char *const *sv = v;
        char **copy = mo_calloc(n ? (size_t)n : 1, sizeof *copy);
        e.data = copy;
        for (int64_t i = 0; copy && i < n; i++) {
            if (!sv[i]) {
                rc = mo_errorf(err, MO_EINVAL, "%s: entry '%s': string %lld is NULL", fn, name,
                               (long long)i);
                goto out;
            }
            if (!(copy[i] = mo_strdup(sv[i]))) {
                rc = mo_errorf(err, MO_ENOMEM, "checkpoint: out of memory");
                goto out;
            }
        }
    } else {
        /* At least one element so that an empty array still gets a non-NULL pointer. */
        e.data = mo_mallocarray(n ? (size_t)n : 1, types[t].size);
        if (e.data && n)
            memcpy(e.data, v, (size_t)n * types[t].size);
    }
    if (!e.data) {
        rc = mo_errorf(err, MO_ENOMEM, "checkpoint: out of memory");
        goto out;
    }
    rc = add_entry(c, &e, err);
out:
    entry_free(&e);
    return rc;
}

/* The typed array front doors are put() and get_array() with their entry type; the macros keep
 * the public name spelled out, so it can be found with grep. */
#define PUT_ARRAY(fn, ctype, t)                                                                    \
    int fn(mo_ckpt_t *c, const char *name, const ctype *v, int64_t n, mo_error_t *err)             \
    {                                                                                              \
        return put(c, #fn, name, t, v, n, err);                                                    \
    }

PUT_ARRAY(mo_ckpt_put_f32, float, E_F32)
PUT_ARRAY(mo_ckpt_put_f64, double, E_F64)
PUT_ARRAY(mo_ckpt_put_i64, int64_t, E_I64)
PUT_ARRAY(mo_ckpt_put_i32, int32_t, E_I32)
PUT_ARRAY(mo_ckpt_put_strv, char *const, E_STRV)

int mo_ckpt_put_int(mo_ckpt_t *c, const char *name, int64_t v, mo_error_t *err)
{
    return put(c, "mo_ckpt_put_int", name, E_INT, &v, 1, err);
}

int mo_ckpt_put_double(mo_ckpt_t *c, const char *name, double v, mo_error_t *err)
{
    return put(c, "mo_ckpt_put_double", name, E_DOUBLE, &v, 1, err);
}

int mo_ckpt_put_str(mo_ckpt_t *c, const char *name, const char *v, mo_error_t *err)
{
    if (!v)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_put_str: entry '%s': NULL string",
                         name ? name : "?");
    return put(c, "mo_ckpt_put_str", name, E_STR, v, 1, err);
}

/* The entry `name` of type `t`, or NULL with MO_EFORMAT in *rc. */
static const entry_t *find(const mo_ckpt_t *c, const char *fn, const char *name, etype_t t,
                           const void *v, int *rc, mo_error_t *err)
{
    if (!c || !v) {
        *rc = mo_errorf(err, MO_EINVAL, "%s: NULL %s", fn, c ? "output" : "checkpoint");
        return NULL;
    }
    if ((*rc = check_name(fn, name, err)))
        return NULL;
    const char *file = c->path ? c->path : "", *sep = c->path ? ": " : "";
    for (size_t i = 0; i < c->n; i++) {
        const entry_t *e = &c->e[i];
        if (strcmp(e->name, name))
            continue;
        if (e->type == t)
            return e;
        char is[64];
        if (types[e->type].rank == 0)
            snprintf(is, sizeof is, "%s %s", e->type == E_INT ? "an" : "a", types[e->type].name);
        else
            snprintf(is, sizeof is, "%s[%lld]", types[e->type].name, (long long)e->n);
        *rc = mo_errorf(err, MO_EFORMAT, "%s%scheckpoint has no %s entry '%s' (it is %s)", file,
                        sep, types[t].name, name, is);
        return NULL;
    }
    *rc = mo_errorf(err, MO_EFORMAT, "%s%scheckpoint has no %s entry '%s'", file, sep,
                    types[t].name, name);
    return NULL;
}

static int get_array(const mo_ckpt_t *c, const char *fn, const char *name, etype_t t,
                     const void **v, int64_t *n, mo_error_t *err)
{
    int rc = 0;
    if (v)
        *v = NULL;
    if (n)
        *n = 0;
    const entry_t *e = find(c, fn, name, t, v, &rc, err);
    if (e) {
        *v = e->data;
        if (n)
            *n = e->n;
    }
    return rc;
}

#define GET_ARRAY(fn, ctype, t)                                                                    \
    int fn(const mo_ckpt_t *c, const char *name, const ctype **v, int64_t *n, mo_error_t *err)     \
    {                                                                                              \
        return get_array(c, #fn, name, t, (const void **)v, n, err);                               \
    }

GET_ARRAY(mo_ckpt_get_f32, float, E_F32)
GET_ARRAY(mo_ckpt_get_f64, double, E_F64)
GET_ARRAY(mo_ckpt_get_i64, int64_t, E_I64)
GET_ARRAY(mo_ckpt_get_i32, int32_t, E_I32)
GET_ARRAY(mo_ckpt_get_strv, char *const, E_STRV)

int mo_ckpt_get_int(const mo_ckpt_t *c, const char *name, int64_t *v, mo_error_t *err)
{
    int rc = 0;
    const entry_t *e = find(c, "mo_ckpt_get_int", name, E_INT, v, &rc, err);
    if (e)
        memcpy(v, e->data, sizeof *v);
    return rc;
}

int mo_ckpt_get_double(const mo_ckpt_t *c, const char *name, double *v, mo_error_t *err)
{
    int rc = 0;
    const entry_t *e = find(c, "mo_ckpt_get_double", name, E_DOUBLE, v, &rc, err);
    if (e)
        memcpy(v, e->data, sizeof *v); /* bytes, not a value: a NaN payload stays as it was */
    return rc;
}

int mo_ckpt_get_str(const mo_ckpt_t *c, const char *name, const char **v, mo_error_t *err)
{
    int rc = 0;
    if (v)
        *v = NULL;
    const entry_t *e = find(c, "mo_ckpt_get_str", name, E_STR, v, &rc, err);
    if (e)
        *v = e->data;
    return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* Variable-length UTF-8 strings, what h5py reads as str. */
static hid_t str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

/* File type (little-endian, what HDF5 tools expect) and memory type of a numeric entry. */
static void num_types(etype_t t, hid_t *ftype, hid_t *mtype)
{
    switch (t) {
    case E_F32:
        *ftype = H5T_IEEE_F32LE, *mtype = H5T_NATIVE_FLOAT;
        break;
    case E_F64:
    case E_DOUBLE:
        *ftype = H5T_IEEE_F64LE, *mtype = H5T_NATIVE_DOUBLE;
        break;
    case E_I32:
        *ftype = H5T_STD_I32LE, *mtype = H5T_NATIVE_INT32;
        break;
    default:
        *ftype = H5T_STD_I64LE, *mtype = H5T_NATIVE_INT64;
        break;
    }
}

static int write_entry(hid_t file, const entry_t *e, mo_error_t *err)
{
    hsize_t dims[1] = {(hsize_t)e->n};
    int rank = types[e->type].rank;
    if (types[e->type].cls == H5T_STRING) {
        hid_t t = str_type();
        const void *buf = e->type == E_STR ? (const void *)&e->data : e->data;
        int rc = t < 0 ? mo_errorf(err, MO_EIO, "cannot make an HDF5 string type")
                       : mo_h5_write_whole(file, e->name, t, t, rank, dims, buf, err);
        if (t >= 0)
            H5Tclose(t);
        return rc;
    }
    hid_t ftype, mtype;
    num_types(e->type, &ftype, &mtype);
    return mo_h5_write_whole(file, e->name, ftype, mtype, rank, dims, e->data, err);
}

int mo_ckpt_write(const mo_ckpt_t *c, const char *path, int64_t step, mo_error_t *err)
{
    int rc = 0;
    hid_t file = H5I_INVALID_HID;
    char *tmp = NULL;
    MO_ASSERT(c && path);
    if ((rc = mo_h5_create_tmp_sum(&file, &tmp, path, err)) ||
        (rc = mo_h5_attr_write_str(file, "kind", "checkpoint", err)) ||
        (rc = mo_h5_attr_write_int(file, "format_version", MO_CKPT_FORMAT_VERSION, err)) ||
        (rc = mo_h5_attr_write_int(file, "step", step, err)))
        goto out;
    for (size_t i = 0; i < c->n; i++)
        if ((rc = write_entry(file, &c->e[i], err)))
            goto out;
    mo_fault_point("checkpoint"); /* the temp written, not renamed */
    rc = mo_h5_commit(&file, &tmp, path, err);
out:
    mo_h5_abort(&file, &tmp);
    return rc;
}

/* ---- loading ----------------------------------------------------------------------------- */

typedef struct {
    mo_ckpt_t *c;
    mo_error_t *err;
    int rc;
} load_t;

/* The entry type of a dataset from its class, size and rank; -1 when it is none of them. */
static int classify(hid_t type, int rank)
{
    H5T_class_t cls = H5Tget_class(type);
    for (int t = 0; t <= E_STRV; t++) {
        if (cls != types[t].cls || rank != types[t].rank)
            continue;
        if (cls == H5T_STRING ? H5Tis_variable_str(type) > 0
                              : H5Tget_size(type) == types[t].size &&
                                    (cls != H5T_INTEGER || H5Tget_sign(type) == H5T_SGN_2))
            return t;
    }
    return -1;
}

/* Variable-length strings of `dset` into e->data (E_STR: the string, E_STRV: char *[n]). */
static int read_strings(entry_t *e, hid_t dset, hid_t ftype, hid_t space, const char *where,
                        mo_error_t *err)
{
    int rc = 0;
    size_t n = (size_t)e->n;
    char **raw = mo_calloc(n ? n : 1, sizeof *raw), **v = mo_calloc(n ? n : 1, sizeof *v);
    hid_t t = str_type();
    /* Read in the file's character set: HDF5 does not convert ASCII to UTF-8 or back. */
    if (!raw || !v || t < 0 || H5Tset_cset(t, H5Tget_cset(ftype)) < 0) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    if (n && H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: cannot read strings", where);
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (!(v[i] = mo_strdup(raw[i] ? raw[i] : "")))
            rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", where);
    if (n)
        H5Dvlen_reclaim(t, space, H5P_DEFAULT, raw);
out:
    if (t >= 0)
        H5Tclose(t);
    free(raw);
    if (!rc && e->type == E_STR) {
        e->data = v[0];
        free(v);
    } else if (!rc) {
        e->data = v;
    } else {
        mo_h5_strv_free(v, n);
    }
    return rc;
}

static herr_t load_cb(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    load_t *l = data;
    hid_t obj = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    entry_t e = {0};
    char where[400];
    const char *path = l->c->path;
    snprintf(where, sizeof where, "%s: /%s", path, name);
    if (info->type != H5L_TYPE_HARD || !name_ok(name) ||
        (obj = H5Oopen(root, name, H5P_DEFAULT)) < 0 || H5Iget_type(obj) != H5I_DATASET) {
        l->rc = mo_errorf(l->err, MO_EFORMAT, "%s is not a checkpoint entry", where);
        goto out;
    }
    type = H5Dget_type(obj);
    space = H5Dget_space(obj);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int t = type >= 0 && rank >= 0 && np >= 0 ? classify(type, rank) : -1;
    if (t < 0) {
        l->rc = mo_errorf(l->err, MO_EFORMAT,
                          "%s: %s of rank %d is not a checkpoint entry type (float32, float64, "
                          "int32 or int64 arrays, int64 or float64 scalars, strings)",
                          where, type >= 0 ? mo_h5_dtype_name(type) : "unknown", rank);
        goto out;
    }
    e.type = (etype_t)t;
    e.n = (int64_t)np;
    if (!(e.name = mo_strdup(name))) {
        l->rc = mo_errorf(l->err, MO_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    if (types[e.type].cls == H5T_STRING) {
        if ((l->rc = read_strings(&e, obj, type, space, where, l->err)))
            goto out;
    } else {
        hid_t ftype, mtype;
        num_types(e.type, &ftype, &mtype);
        if (!(e.data = mo_mallocarray(e.n ? (size_t)e.n : 1, types[e.type].size))) {
            l->rc = mo_errorf(l->err, MO_ENOMEM, "%s: out of memory", where);
            goto out;
        }
        if (e.n && H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, e.data) < 0) {
            l->rc = mo_errorf(l->err, MO_EIO, "%s: cannot read", where);
            goto out;
        }
    }
    l->rc = add_entry(l->c, &e, l->err);
out:
    entry_free(&e);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (obj >= 0)
        H5Oclose(obj);
    return l->rc ? -1 : 0;
}

/* A missing root attribute makes a malformed file (MO_EFORMAT), not a missing one. The message
 * ("a.h5: root attribute 'kind' is missing") stays. */
static int required(int rc, mo_error_t *err)
{
    if (rc != MO_ENOTFOUND)
        return rc;
    if (err)
        err->code = MO_EFORMAT;
    return MO_EFORMAT;
}

int mo_ckpt_load(mo_ckpt_t **out, const char *path, mo_error_t *err)
{
    int rc = 0;
    hid_t file = H5I_INVALID_HID;
    mo_ckpt_t *c = NULL;
    char *kind = NULL;
    int64_t version = 0, step = 0;
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_load: NULL output");
    *out = NULL;
    if (!path || !*path)
        return mo_errorf(err, MO_EINVAL, "mo_ckpt_load: empty path");
    /* The checksum first: HDF5 never parses a damaged checkpoint. */
    if ((rc = mo_h5_verify(path, 1, err)) || (rc = mo_h5_open(&file, path, H5P_DEFAULT, err)))
        goto out;
    if ((rc = mo_ckpt_create(&c, err)))
        goto out;
    if (!(c->path = mo_strdup(path))) {
        rc = mo_errorf(err, MO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((rc = required(mo_h5_attr_read_str(&kind, file, "kind", err), err)))
        goto out;
    if (strcmp(kind, "checkpoint")) {
        rc = mo_errorf(err, MO_EFORMAT, "%s: is a '%s' file, not a checkpoint", path, kind);
        goto out;
    }
    if ((rc = required(mo_h5_attr_read_int(&version, file, "format_version", err), err)) ||
        (rc = required(mo_h5_attr_read_int(&step, file, "step", err), err)))
        goto out;
    if (version < 1 || version > MO_CKPT_FORMAT_VERSION) {
        rc = mo_errorf(err, MO_EFORMAT,
                       "%s: format_version %lld is not supported (this Maestro reads 1..%d%s)",
                       path, (long long)version, MO_CKPT_FORMAT_VERSION,
                       version > MO_CKPT_FORMAT_VERSION ? "; written by a newer Maestro" : "");
        goto out;
    }
    load_t l = {c, err, 0};
    hsize_t idx = 0;
    if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, load_cb, &l) < 0 || l.rc) {
        rc = l.rc ? l.rc : mo_errorf(err, MO_EFORMAT, "%s: cannot list the entries", path);
        goto out;
    }
out:
    free(kind);
    if (file >= 0)
        H5Fclose(file);
    if (rc)
        mo_ckpt_destroy(c);
    else
        *out = c;
    return rc;
}

/* ---- inspect ----------------------------------------------------------------------------- */

static herr_t name_cb(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    (void)root;
    (void)info;
    json_array_append_new((json_t *)data, json_string(name));
    return 0;
}

void mo_ckpt_describe(json_t *obj, hid_t file)
{
    int64_t step = 0;
    hsize_t idx = 0;
    if (!obj)
        return;
    json_t *names = json_array();
    int has_step = mo_h5_attr_read_int(&step, file, "step", NULL) == 0;
    json_object_set_new(obj, "step", has_step ? json_integer((json_int_t)step) : json_null());
    if (names && H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, name_cb, names) < 0) {
        json_decref(names);
        names = NULL;
    }
    json_object_set_new(obj, "entries", names ? names : json_null());
}
