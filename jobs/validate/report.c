/* report.c - the validation report: <output>/report.json and <output>/report.h5
 *
 * Both say the same thing (docs/formats.md "Validation report"): JSON for people and
 * pipelines, HDF5 for tools that already read Maestro's files (one row per check in /checks,
 * one row per compared feature in /drift). Rank 0 writes both, each to a temp name renamed
 * into place, so a reader never sees half a report.
 */
#include "core/alloc.h"
#include "core/log.h"
#include "io/atomic.h"
#include "io/h5.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *columns_of(char *buf, size_t size, const mo_vcheck_t *c)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_cols && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", c->cols[i].name);
    return buf;
}

static int count_features(const mo_table_t *t)
{
    const mo_ds_info_t *info = mo_table_ds_info(t);
    if (info)
        return (int)info->n_features;
    return mo_table_format(t) == MO_TABLE_VIEW ? (int)mo_table_ncols(t) - 3 : -1;
}

static int write_json(const char *dir, const mo_veval_t *e, int ranks, const mo_vresult_t *res,
                      int failed, int warned, mo_error_t *err)
{
    const mo_vjob_t *j = e->job;
    char path[4096], cols[512];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:i,s:I}", "kind", "validation_report",
                          "format_version", 1, "status", failed ? "failed" : "ok", "data", j->path,
                          "format", mo_table_format_names[mo_table_format(j->table)], "ranks",
                          ranks, "rows", (json_int_t)e->rows);
    json_t *checks = json_array();
    if (!o || !checks) {
        json_decref(o);
        json_decref(checks);
        return mo_errorf(err, MO_ENOMEM, "out of memory building the report");
    }
    if (mo_table_view(j->table))
        json_object_set_new(o, "view", json_string(mo_table_view(j->table)));
    if (count_features(j->table) >= 0)
        json_object_set_new(o, "features", json_integer(count_features(j->table)));
    if (e->class_counts) {
        json_t *cc = json_array();
        for (int32_t k = 0; k < e->n_classes; k++)
            json_array_append_new(cc, json_integer(e->class_counts[k]));
        json_object_set_new(o, "class_counts", cc);
    }
    json_object_set_new(o, "errors", json_integer(failed));
    json_object_set_new(o, "warnings", json_integer(warned));
    for (size_t i = 0; i < j->n_checks; i++) {
        const mo_vcheck_t *c = &j->checks[i];
        const mo_vresult_t *r = &res[i];
        json_t *x = json_pack("{s:s,s:s,s:s,s:s,s:b}", "check", mo_validate_check_names[c->type],
                              "severity", mo_validate_severity_names[c->severity], "value",
                              r->value_text, "threshold", r->threshold_text, "pass", r->pass);
        if (c->n_cols && c->type != MO_VCHECK_SCHEMA)
            json_object_set_new(x, "on", json_string(columns_of(cols, sizeof cols, c)));
        json_object_set_new(x, "metric", number(r->value));
        json_object_set_new(x, "limit", number(r->threshold));
        if (r->detail)
            json_object_update(x, r->detail);
        json_array_append_new(checks, x);
    }
    json_object_set_new(o, "checks", checks);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return mo_errorf(err, MO_ENOMEM, "out of memory writing the report");
    int rc = mo_io_write_atomic(path, text, strlen(text), err);
    free(text);
    if (!rc)
        mo_log_info("validate", "report: %s", path);
    return rc;
}

/* A 1-D dataset `name` of n values under loc, contiguous and written whole (a report is
 * small; mo_h5_dataset_create's chunked layout refuses variable-length strings). */
static int put(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *buf, size_t n,
               mo_error_t *err)
{
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL), d = H5I_INVALID_HID;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = 0;
    /* No object timestamps: the same report gives the same bytes (docs/formats.md). */
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0 ||
        (d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        char where[300];
        mo_h5_where(where, sizeof where, loc);
        rc = mo_errorf(err, MO_EIO, "%s: cannot write %s", where, name);
    }
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static hid_t group(hid_t file, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

static int write_h5_checks(hid_t g, hid_t str, const mo_veval_t *e, const mo_vresult_t *res,
                           char (*cols)[512], mo_error_t *err)
{
    const mo_vjob_t *j = e->job;
    size_t k = j->n_checks;
    const char **check = mo_calloc(k, sizeof *check), **sev = mo_calloc(k, sizeof *sev);
    const char **on = mo_calloc(k, sizeof *on), **vt = mo_calloc(k, sizeof *vt);
    const char **tt = mo_calloc(k, sizeof *tt);
    double *value = mo_calloc(k, sizeof *value), *threshold = mo_calloc(k, sizeof *threshold);
    int8_t *pass = mo_calloc(k, sizeof *pass);
    int rc = 0;
    if (!check || !sev || !on || !vt || !tt || !value || !threshold || !pass)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory writing the report");
    for (size_t i = 0; !rc && i < k; i++) {
        const mo_vcheck_t *c = &j->checks[i];
        check[i] = mo_validate_check_names[c->type];
        sev[i] = mo_validate_severity_names[c->severity];
        on[i] = columns_of(cols[i], sizeof cols[i], c);
        vt[i] = res[i].value_text;
        tt[i] = res[i].threshold_text;
        value[i] = res[i].value;
        threshold[i] = res[i].threshold;
        pass[i] = (int8_t)res[i].pass;
    }
    if (!rc)
        rc = put(g, "check", str, str, check, k, err);
    if (!rc)
        rc = put(g, "severity", str, str, sev, k, err);
    if (!rc)
        rc = put(g, "columns", str, str, on, k, err);
    if (!rc)
        rc = put(g, "value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, value, k, err);
    if (!rc)
        rc = put(g, "threshold", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, threshold, k, err);
    if (!rc)
        rc = put(g, "pass", H5T_STD_I8LE, H5T_NATIVE_INT8, pass, k, err);
    if (!rc)
        rc = put(g, "value_text", str, str, vt, k, err);
    if (!rc)
        rc = put(g, "threshold_text", str, str, tt, k, err);
    free(check);
    free(sev);
    free(on);
    free(vt);
    free(tt);
    free(value);
    free(threshold);
    free(pass);
    return rc;
}

static int write_h5_drift(hid_t file, hid_t str, const mo_vjob_t *j, const mo_vresult_t *res,
                          mo_error_t *err)
{
    size_t m = 0, at = 0;
    for (size_t i = 0; i < j->n_checks; i++)
        m += res[i].n_drift;
    if (m == 0)
        return 0; /* HDF5 datasets here have at least one row: no drift, no /drift */
    const char **feature = mo_calloc(m, sizeof *feature);
    int64_t *check = mo_calloc(m, sizeof *check), *rows = mo_calloc(m, sizeof *rows);
    int64_t *ref_rows = mo_calloc(m, sizeof *ref_rows);
    double *psi = mo_calloc(m, sizeof *psi), *ks = mo_calloc(m, sizeof *ks);
    int8_t *pass = mo_calloc(m, sizeof *pass);
    hid_t g = group(file, "drift");
    int rc = 0;
    if (!feature || !check || !rows || !ref_rows || !psi || !ks || !pass || g < 0)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory writing the report's /drift");
    for (size_t i = 0; !rc && i < j->n_checks; i++)
        for (size_t k = 0; k < res[i].n_drift; k++, at++) {
            const mo_vdrift_t *d = &res[i].drift[k];
            check[at] = (int64_t)i;
            feature[at] = d->feature;
            psi[at] = d->psi;
            ks[at] = d->ks;
            pass[at] = (int8_t)d->pass;
            rows[at] = d->rows;
            ref_rows[at] = d->ref_rows;
        }
    if (!rc)
        rc = put(g, "check", H5T_STD_I64LE, H5T_NATIVE_INT64, check, m, err);
    if (!rc)
        rc = put(g, "feature", str, str, feature, m, err);
    if (!rc)
        rc = put(g, "psi", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, psi, m, err);
    if (!rc)
        rc = put(g, "ks", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ks, m, err);
    if (!rc)
        rc = put(g, "pass", H5T_STD_I8LE, H5T_NATIVE_INT8, pass, m, err);
    if (!rc)
        rc = put(g, "rows", H5T_STD_I64LE, H5T_NATIVE_INT64, rows, m, err);
    if (!rc)
        rc = put(g, "reference_rows", H5T_STD_I64LE, H5T_NATIVE_INT64, ref_rows, m, err);
    if (g >= 0)
        H5Gclose(g);
    free(feature);
    free(check);
    free(rows);
    free(ref_rows);
    free(psi);
    free(ks);
    free(pass);
    return rc;
}

static int write_h5(const char *dir, const mo_veval_t *e, int ranks, const mo_vresult_t *res,
                    int failed, mo_error_t *err)
{
    const mo_vjob_t *j = e->job;
    char path[4096], *tmp = NULL;
    hid_t file = H5I_INVALID_HID, g = H5I_INVALID_HID, str = H5Tcopy(H5T_C_S1);
    char(*cols)[512] = mo_calloc(j->n_checks, sizeof *cols);
    snprintf(path, sizeof path, "%s/report.h5", dir);
    int rc = cols && str >= 0 && H5Tset_size(str, H5T_VARIABLE) >= 0 &&
                     H5Tset_cset(str, H5T_CSET_UTF8) >= 0
                 ? 0
                 : mo_errorf(err, MO_ENOMEM, "out of memory writing %s", path);
    if (!rc)
        rc = mo_h5_create_tmp(&file, &tmp, path, err);
    if (!rc)
        rc = mo_h5_attr_write_str(file, "kind", "validation_report", err);
    if (!rc)
        rc = mo_h5_attr_write_int(file, "format_version", 1, err);
    if (!rc)
        rc = mo_h5_attr_write_str(file, "status", failed ? "failed" : "ok", err);
    if (!rc)
        rc = mo_h5_attr_write_str(file, "data", j->path, err);
    if (!rc)
        rc = mo_h5_attr_write_str(file, "format", mo_table_format_names[mo_table_format(j->table)],
                                  err);
    if (!rc && mo_table_view(j->table))
        rc = mo_h5_attr_write_str(file, "view", mo_table_view(j->table), err);
    if (!rc)
        rc = mo_h5_attr_write_int(file, "ranks", ranks, err);
    if (!rc)
        rc = mo_h5_attr_write_int(file, "rows", e->rows, err);
    if (!rc && (g = group(file, "checks")) < 0)
        rc = mo_errorf(err, MO_EIO, "%s: cannot create /checks", path);
    if (!rc)
        rc = write_h5_checks(g, str, e, res, cols, err);
    if (g >= 0)
        H5Gclose(g);
    if (!rc)
        rc = write_h5_drift(file, str, j, res, err);
    if (!rc)
        rc = mo_h5_commit(&file, &tmp, path, err);
    mo_h5_abort(&file, &tmp);
    if (str >= 0)
        H5Tclose(str);
    free(cols);
    if (!rc)
        mo_log_info("validate", "report: %s", path);
    return rc;
}

int mo_validate_report(const char *dir, const mo_veval_t *e, int ranks, const mo_vresult_t *res,
                       int failed, mo_error_t *err)
{
    int warned = 0;
    for (size_t i = 0; i < e->job->n_checks; i++)
        warned += !res[i].pass && e->job->checks[i].severity == 1;
    int rc = write_json(dir, e, ranks, res, failed, warned, err);
    return rc ? rc : write_h5(dir, e, ranks, res, failed, err);
}
