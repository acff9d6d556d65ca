/* h5_describe.c - what any Maestro HDF5 file holds, as one JSON object (maestro inspect)
 *
 * Generic part: path, kind, format_version, root attributes, every dataset with dtype and
 * shape, sorted by name. Each kind adds its own summary (mo_ds_describe for datasets,
 * mo_ckpt_describe for checkpoints, mo_run_describe for run files, mo_sweep_describe for
 * sweep journals, mo_fs_describe for feature stores).
 */
#include "io/h5.h"
#include "io/io_impl.h"

#include "core/alloc.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

static herr_t root_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    json_object_set_new((json_t *)data, name, mo_h5_attr_json(loc, name));
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
    else if (has_kind && !strcmp(kind, "checkpoint"))
        mo_ckpt_describe(obj, file);
    else if (has_kind && !strcmp(kind, "run"))
        mo_run_describe(obj, file);
    else if (has_kind && !strcmp(kind, "sweep"))
        mo_sweep_describe(obj, file);
    else if (has_kind && !strcmp(kind, "feature_store"))
        mo_fs_describe(obj, file);
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
