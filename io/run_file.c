/* run_file.c - run.h5: status, spec, model, metric history, final metrics, provenance
 *
 * Rank 0 writes the file once, at the end of a run (also a failed one), so everything is
 * written whole from memory into a temp file that is renamed into place (mo_h5_create_tmp).
 * The record is checked before anything is created: a model whose layer shapes do not chain,
 * a status outside the four, or a NULL where a string belongs is MO_EINVAL and leaves no file.
 *
 * The metric history is four columns plus a name table rather than one dataset per metric:
 * metrics are added as training goes (validation every k steps, train loss every step), and a
 * long table of (step, epoch, name_id, value) grows by appending without knowing the names.
 */
#include "io/run_file.h"

#include "core/alloc.h"
#include "core/fault.h"
#include "core/str.h"
#include "io/h5.h"
#include "io/io_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- history ----------------------------------------------------------------------------- */

static int32_t intern(mo_history_t *h, const char *name)
{
    for (int32_t i = 0; i < h->n_names; i++)
        if (!strcmp(h->names[i], name))
            return i;
    if (h->n_names == INT32_MAX)
        return -1;
    char **p = mo_reallocarray(h->names, (size_t)h->n_names + 1, sizeof *p);
    if (!p)
        return -1;
    h->names = p;
    if (!(p[h->n_names] = mo_strdup(name)))
        return -1;
    return h->n_names++;
}

int mo_history_add(mo_history_t *h, int64_t step, int64_t epoch, const char *name, double value)
{
    if (!h || !name || !*name)
        return MO_EINVAL;
    if (h->n == h->cap) {
        /* Doubling: 10k rows cost ~8 reallocations. Each column keeps what it got, so a failure
         * half-way leaves every array at least `cap` long and the history intact. */
        int64_t cap = h->cap ? 2 * h->cap : 64;
        int64_t *s = mo_reallocarray(h->step, (size_t)cap, sizeof *s);
        if (s)
            h->step = s;
        int64_t *e = mo_reallocarray(h->epoch, (size_t)cap, sizeof *e);
        if (e)
            h->epoch = e;
        int32_t *id = mo_reallocarray(h->name_id, (size_t)cap, sizeof *id);
        if (id)
            h->name_id = id;
        double *v = mo_reallocarray(h->value, (size_t)cap, sizeof *v);
        if (v)
            h->value = v;
        if (!s || !e || !id || !v)
            return MO_ENOMEM;
        h->cap = cap;
    }
    int32_t id = intern(h, name);
    if (id < 0)
        return MO_ENOMEM;
    h->step[h->n] = step;
    h->epoch[h->n] = epoch;
    h->name_id[h->n] = id;
    h->value[h->n] = value;
    h->n++;
    return 0;
}

void mo_history_free(mo_history_t *h)
{
    if (!h)
        return;
    free(h->step);
    free(h->epoch);
    free(h->name_id);
    free(h->value);
    mo_h5_strv_free(h->names, (size_t)(h->n_names > 0 ? h->n_names : 0));
    memset(h, 0, sizeof *h);
}

/* ---- checking the record ----------------------------------------------------------------- */

static int check_model(const char *path, const mo_run_model_t *m, mo_error_t *err)
{
    if (!m->type || !m->task || !m->activation)
        return mo_errorf(err, MO_EINVAL, "%s: model type, task and activation must be set", path);
    if (m->n_features < 1 || m->n_outputs < 1)
        return mo_errorf(err, MO_EINVAL,
                         "%s: model has %lld features and %lld outputs; both "
                         "must be >= 1",
                         path, (long long)m->n_features, (long long)m->n_outputs);
    if ((m->n_hidden && !m->hidden) || (m->n_layers && !m->layers))
        return mo_errorf(err, MO_EINVAL, "%s: model hidden sizes or layers are NULL", path);
    for (size_t i = 0; i < m->n_hidden; i++)
        if (m->hidden[i] < 1)
            return mo_errorf(err, MO_EINVAL, "%s: model hidden[%zu] is %lld, must be >= 1", path, i,
                             (long long)m->hidden[i]);
    /* Layers chain: features -> hidden... -> outputs. A reader (serving, export) relies on it. */
    for (size_t i = 0; i < m->n_layers; i++) {
        const mo_run_layer_t *l = &m->layers[i];
        int64_t in = i ? m->layers[i - 1].out : m->n_features;
        if (!l->W || !l->b || l->in < 1 || l->out < 1 || l->in != in ||
            (i + 1 == m->n_layers && l->out != m->n_outputs))
            return mo_errorf(
                err, MO_EINVAL, "%s: model layer %zu is [%lld, %lld]%s; expected in = %lld%s", path,
                i, (long long)l->in, (long long)l->out, !l->W || !l->b ? " with NULL weights" : "",
                (long long)in, i + 1 == m->n_layers ? " and out = n_outputs" : "");
    }
    return 0;
}

static int check_record(const char *path, const mo_run_record_t *r, mo_error_t *err)
{
    static const char *const statuses[] = {"ok", "gate_failed", "failed", "preempted", "pruned"};
    if (!r->name || !*r->name || !r->job_kind || !*r->job_kind || !r->status)
        return mo_errorf(err, MO_EINVAL, "%s: run name, job_kind and status must be set", path);
    size_t k = 0;
    while (k < 5 && strcmp(r->status, statuses[k]))
        k++;
    if (k == 5)
        return mo_errorf(err, MO_EINVAL,
                         "%s: run status '%s' is not ok, gate_failed, failed, preempted or pruned",
                         path, r->status);
    if (r->n_final && (!r->final_names || !r->final_values))
        return mo_errorf(err, MO_EINVAL, "%s: %zu final metrics but NULL names or values", path,
                         r->n_final);
    for (size_t i = 0; i < r->n_final; i++)
        if (!r->final_names[i] || !*r->final_names[i])
            return mo_errorf(err, MO_EINVAL, "%s: final metric %zu has no name", path, i);
    if (r->n_provenance && !r->provenance)
        return mo_errorf(err, MO_EINVAL, "%s: %zu provenance entries but NULL", path,
                         r->n_provenance);
    for (size_t i = 0; i < r->n_provenance; i++)
        if (!r->provenance[i].key || !*r->provenance[i].key || !r->provenance[i].value)
            return mo_errorf(err, MO_EINVAL, "%s: provenance entry %zu has no key or value", path,
                             i);
    const mo_history_t *h = r->history;
    if (h && (h->n < 0 || h->n_names < 0 ||
              (h->n > 0 && (!h->step || !h->epoch || !h->name_id || !h->value)) ||
              (h->n_names > 0 && !h->names)))
        return mo_errorf(err, MO_EINVAL, "%s: history is not initialised", path);
    for (int64_t i = 0; h && i < h->n; i++)
        if (h->name_id[i] < 0 || h->name_id[i] >= h->n_names)
            return mo_errorf(err, MO_EINVAL, "%s: history row %lld has name_id %d of %d names",
                             path, (long long)i, (int)h->name_id[i], (int)h->n_names);
    return r->model ? check_model(path, r->model, err) : 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

static int group_create(hid_t *g, hid_t loc, const char *name, const char *path, mo_error_t *err)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    *g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        *g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return *g >= 0 ? 0 : mo_errorf(err, MO_EIO, "%s: cannot create group %s", path, name);
}

/* A 1-D int64 attribute of n >= 1 values (h5.h has writers for scalars and strings only). */
static int attr_write_ints(hid_t obj, const char *name, const int64_t *v, size_t n,
                           const char *path, mo_error_t *err)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL), attr = H5I_INVALID_HID;
    if (space >= 0)
        attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, v) >= 0;
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : mo_errorf(err, MO_EIO, "%s: cannot write attribute %s", path, name);
}

static int write_model(hid_t file, const char *path, const mo_run_model_t *m, mo_error_t *err)
{
    int rc = 0;
    hid_t g = H5I_INVALID_HID, lg = H5I_INVALID_HID;
    int64_t n_params = 0;
    for (size_t i = 0; i < m->n_layers; i++)
        n_params += m->layers[i].in * m->layers[i].out + m->layers[i].out;
    if ((rc = group_create(&g, file, "model", path, err)) ||
        (rc = mo_h5_attr_write_str(g, "type", m->type, err)) ||
        (rc = mo_h5_attr_write_str(g, "task", m->task, err)) ||
        (rc = mo_h5_attr_write_str(g, "activation", m->activation, err)) ||
        (rc = mo_h5_attr_write_int(g, "n_features", m->n_features, err)) ||
        (rc = mo_h5_attr_write_int(g, "n_outputs", m->n_outputs, err)) ||
        (rc = mo_h5_attr_write_int(g, "n_layers", (int64_t)m->n_layers, err)) ||
        (rc = mo_h5_attr_write_int(g, "n_params", n_params, err)))
        goto out;
    /* No hidden layers: no attribute (an HDF5 attribute cannot be empty); readers take []. */
    if (m->n_hidden && (rc = attr_write_ints(g, "hidden", m->hidden, m->n_hidden, path, err)))
        goto out;
    for (size_t i = 0; i < m->n_layers; i++) {
        const mo_run_layer_t *l = &m->layers[i];
        char name[32];
        hsize_t wd[2] = {(hsize_t)l->in, (hsize_t)l->out}, bd[1] = {(hsize_t)l->out};
        snprintf(name, sizeof name, "layer_%zu", i);
        if ((rc = group_create(&lg, g, name, path, err)) ||
            (rc = mo_h5_write_whole(lg, "W", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, wd, l->W, err)) ||
            (rc = mo_h5_write_whole(lg, "b", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, bd, l->b, err)))
            goto out;
        H5Gclose(lg);
        lg = H5I_INVALID_HID;
    }
out:
    if (lg >= 0)
        H5Gclose(lg);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

static int write_history(hid_t file, const char *path, const mo_history_t *h, mo_error_t *err)
{
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    const mo_history_t empty = {0};
    h = h ? h : &empty;
    hsize_t dims[1] = {(hsize_t)h->n};
    if ((rc = group_create(&g, file, "history", path, err)) ||
        (rc = mo_h5_write_whole(g, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims, h->step,
                                err)) ||
        (rc = mo_h5_write_whole(g, "epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims, h->epoch,
                                err)) ||
        (rc = mo_h5_write_whole(g, "name_id", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, h->name_id,
                                err)) ||
        (rc = mo_h5_write_whole(g, "value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, h->value,
                                err)))
        goto out;
    if (h->n_names > 0)
        rc = mo_h5_attr_write_strv(g, "names", h->names, (size_t)h->n_names, err);
out:
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

static int write_spec(hid_t file, const char *path, const char *text, mo_error_t *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc = 0;
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot make an HDF5 string type", path);
    else
        rc = mo_h5_write_whole(file, "spec", t, t, 0, NULL, &text, err);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

int mo_run_file_write(const char *path, const mo_run_record_t *r, mo_error_t *err)
{
    int rc = 0;
    hid_t file = H5I_INVALID_HID, g = H5I_INVALID_HID;
    char *tmp = NULL;
    if (!path || !*path || !r)
        return mo_errorf(err, MO_EINVAL, "mo_run_file_write: %s", r ? "empty path" : "NULL run");
    if ((rc = check_record(path, r, err)))
        return rc;
    if ((rc = mo_h5_create_tmp_sum(&file, &tmp, path, err)) ||
        (rc = mo_h5_attr_write_str(file, "kind", "run", err)) ||
        (rc = mo_h5_attr_write_int(file, "format_version", MO_RUN_FORMAT_VERSION, err)) ||
        (rc = mo_h5_attr_write_str(file, "name", r->name, err)) ||
        (rc = mo_h5_attr_write_str(file, "job_kind", r->job_kind, err)) ||
        (rc = mo_h5_attr_write_str(file, "status", r->status, err)))
        goto out;
    if ((r->spec_text && (rc = write_spec(file, path, r->spec_text, err))) ||
        (r->model && (rc = write_model(file, path, r->model, err))) ||
        (rc = write_history(file, path, r->history, err)))
        goto out;
    if ((rc = group_create(&g, file, "final_metrics", path, err)))
        goto out;
    for (size_t i = 0; i < r->n_final; i++)
        if ((rc = mo_h5_attr_write_double(g, r->final_names[i], r->final_values[i], err)))
            goto out;
    H5Gclose(g);
    if ((rc = group_create(&g, file, "provenance", path, err)))
        goto out;
    for (size_t i = 0; i < r->n_provenance; i++)
        if ((rc = mo_h5_attr_write_str(g, r->provenance[i].key, r->provenance[i].value, err)))
            goto out;
    H5Gclose(g);
    g = H5I_INVALID_HID;
    mo_fault_point("run_file"); /* the temp written, not renamed */
    rc = mo_h5_commit(&file, &tmp, path, err);
out:
    if (g >= 0)
        H5Gclose(g);
    mo_h5_abort(&file, &tmp);
    return rc;
}

/* ---- inspect ----------------------------------------------------------------------------- */

static json_t *str_attr(hid_t obj, const char *name)
{
    char *s = NULL;
    json_t *v = mo_h5_attr_read_str(&s, obj, name, NULL) == 0 ? json_string(s) : NULL;
    free(s);
    return v ? v : json_null();
}

static json_t *int_attr(hid_t obj, const char *name)
{
    int64_t i = 0;
    return mo_h5_attr_read_int(&i, obj, name, NULL) == 0 ? json_integer((json_int_t)i)
                                                         : json_null();
}

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    /* mo_h5_attr_json gives null for NaN and Inf: JSON has neither. */
    json_object_set_new((json_t *)data, name, mo_h5_attr_json(loc, name));
    return 0;
}

/* Every attribute of group `name` as an object; null when the group is missing. */
static json_t *group_attrs(hid_t file, const char *name)
{
    hsize_t idx = 0;
    json_t *o = NULL;
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return json_null();
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    if (g >= 0 && (o = json_object()) &&
        H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, o) < 0) {
        json_decref(o);
        o = NULL;
    }
    if (g >= 0)
        H5Gclose(g);
    return o ? o : json_null();
}

static json_t *model_json(hid_t file)
{
    if (H5Lexists(file, "model", H5P_DEFAULT) <= 0)
        return json_null();
    hid_t g = H5Gopen2(file, "model", H5P_DEFAULT);
    if (g < 0)
        return json_null();
    json_t *hidden =
        mo_h5_attr_exists(g, "hidden") == 1 ? mo_h5_attr_json(g, "hidden") : json_array();
    json_t *m =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "type", str_attr(g, "type"), "task",
                  str_attr(g, "task"), "activation", str_attr(g, "activation"), "n_features",
                  int_attr(g, "n_features"), "n_outputs", int_attr(g, "n_outputs"), "hidden",
                  hidden ? hidden : json_null(), "n_params", int_attr(g, "n_params"));
    H5Gclose(g);
    return m ? m : json_null();
}

void mo_run_describe(json_t *obj, hid_t file)
{
    hsize_t n = 0;
    int have_n = 0;
    if (!obj)
        return;
    json_object_set_new(obj, "name", str_attr(file, "name"));
    json_object_set_new(obj, "job_kind", str_attr(file, "job_kind"));
    json_object_set_new(obj, "status", str_attr(file, "status"));
    json_object_set_new(obj, "final_metrics", group_attrs(file, "final_metrics"));
    if (H5Lexists(file, "history", H5P_DEFAULT) > 0 &&
        H5Lexists(file, "history/step", H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(file, "history/step", H5P_DEFAULT);
        hid_t s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
        have_n = s >= 0 && H5Sget_simple_extent_ndims(s) == 1 &&
                 H5Sget_simple_extent_dims(s, &n, NULL) == 1;
        if (s >= 0)
            H5Sclose(s);
        if (d >= 0)
            H5Dclose(d);
    }
    json_object_set_new(obj, "history_length", have_n ? json_integer((json_int_t)n) : json_null());
    json_object_set_new(obj, "provenance", group_attrs(file, "provenance"));
    json_object_set_new(obj, "model", model_json(file));
}
