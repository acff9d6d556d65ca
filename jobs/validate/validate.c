/* validate.c - `kind: validate`: structural and count checks on a Maestro dataset
 *
 * The dataset is read once, sharded over the ranks; every value passes the reader's checks
 * (dtype, shape, NaN/Inf, label range) and the per-rank counts are summed exactly. Each check
 * in the spec then compares a number with a threshold. The report (JSON, written atomically
 * by rank 0) lists every check with its value, threshold and outcome. A failed check of
 * severity error fails the job (exit 1, so a pipeline stops); a failed warning is logged.
 *
 * This first version covers the checks a dataset file alone can answer (schema, row_count,
 * class_balance); the feature-store checks (nulls, ranges, freshness, drift) extend the same
 * table.
 */
#include "jobs/validate/validate.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/dataset.h"
#include "io/dataset_scan.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHECK_SCHEMA = 0, CHECK_ROW_COUNT, CHECK_CLASS_BALANCE };
static const char *const check_names[] = {"schema", "row_count", "class_balance", NULL};
static const char *const severity_names[] = {"error", "warn", NULL};
static const char *const task_names[] = {"classification", "regression", NULL};

typedef struct {
    int type;
    int severity; /* 0 error, 1 warn */
    int64_t features, classes, min_rows, max_rows;
    int task; /* -1: not checked */
    double min_fraction;
} check_t;

typedef struct {
    const char *path;
    check_t *checks;
    size_t n_checks;
} validate_job_t;

static int parse_check(check_t *c, mo_cfg_node_t *item, mo_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->features = c->classes = -1;
    c->task = -1;
    c->max_rows = INT64_MAX;
    int rc = mo_cfg_get_enum(item, "check", MO_CFG_REQUIRED, check_names, &c->type, err);
    if (!rc)
        rc = mo_cfg_get_enum(item, "severity", 0, severity_names, &c->severity, err);
    if (rc)
        return rc;
    switch (c->type) {
    case CHECK_SCHEMA:
        rc = mo_cfg_get_int(item, "features", 0, 1, INT64_MAX, &c->features, err);
        if (!rc)
            rc = mo_cfg_get_int(item, "classes", 0, 2, INT32_MAX, &c->classes, err);
        if (!rc)
            rc = mo_cfg_get_enum(item, "task", 0, task_names, &c->task, err);
        break;
    case CHECK_ROW_COUNT:
        rc = mo_cfg_get_int(item, "min", 0, 0, INT64_MAX, &c->min_rows, err);
        if (!rc)
            rc = mo_cfg_get_int(item, "max", 0, 0, INT64_MAX, &c->max_rows, err);
        if (!rc && c->max_rows < c->min_rows)
            rc = mo_cfg_errorf(err, MO_EINVAL, mo_cfg_child(item, "max"),
                               "row_count max (%lld) is below min (%lld)", (long long)c->max_rows,
                               (long long)c->min_rows);
        break;
    case CHECK_CLASS_BALANCE:
        rc = mo_cfg_get_double(item, "min_fraction", MO_CFG_REQUIRED | MO_CFG_LO_OPEN, 0, 1,
                               &c->min_fraction, err);
        break;
    }
    return rc;
}

/* Opening the dataset here (read only, metadata) makes a missing or malformed file bad input
 * that `maestro validate` reports and that stops a run before its output folder exists. */
static int check_data(const char *path, mo_cfg_node_t *node, mo_error_t *err)
{
    mo_ds_t *ds = NULL;
    int rc = mo_ds_open(&ds, path, MPI_COMM_NULL, err);
    mo_ds_close(ds);
    if (rc) {
        char where[256];
        mo_cfg_where(node, where, sizeof where);
        mo_error_prefix(err, "%s: data.path", where);
    }
    return rc;
}

static void destroy(void *p)
{
    validate_job_t *j = p;
    if (!j)
        return;
    free(j->checks);
    free(j);
}

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    *out = NULL;
    mo_cfg_node_t *data = NULL, *list = NULL;
    validate_job_t *j = mo_calloc(1, sizeof *j);
    if (!j)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_cfg_get_map(spec, "data", MO_CFG_REQUIRED, &data, err);
    if (!rc)
        rc = mo_cfg_get_string(data, "path", MO_CFG_REQUIRED, &j->path, err);
    if (!rc)
        rc = mo_cfg_get_list(spec, "checks", MO_CFG_REQUIRED, &list, err);
    if (!rc && mo_cfg_len(list) == 0)
        rc = mo_cfg_errorf(err, MO_EINVAL, list, "checks must list at least one check");
    if (!rc) {
        j->n_checks = mo_cfg_len(list);
        j->checks = mo_calloc(j->n_checks, sizeof *j->checks);
        if (!j->checks)
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < j->n_checks; i++) {
        mo_cfg_node_t *item = mo_cfg_at(list, i);
        if (mo_cfg_type(item) != MO_CFG_MAP)
            rc = mo_cfg_errorf(err, MO_EINVAL, item,
                               "checks[%zu] must be a map like {check: row_count, min: 1}", i);
        else
            rc = parse_check(&j->checks[i], item, err);
    }
    if (!rc)
        rc = check_data(j->path, mo_cfg_child(data, "path"), err);
    if (rc) {
        destroy(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* Evaluate one check; fills value/threshold text, returns 1 when it passes. */
static int evaluate(const check_t *c, const mo_ds_info_t *info, const mo_ds_stats_t *st,
                    char *value, char *threshold, size_t size)
{
    int pass = 1;
    switch (c->type) {
    case CHECK_SCHEMA: {
        snprintf(value, size, "%lld features, %s, %d classes", (long long)info->n_features,
                 task_names[info->task], (int)info->n_classes);
        mo_buf_t t = {0};
        if (c->features >= 0) {
            mo_buf_printf(&t, "%lld features", (long long)c->features);
            pass &= info->n_features == c->features;
        }
        if (c->task >= 0) {
            mo_buf_printf(&t, "%s%s", t.len ? ", " : "", task_names[c->task]);
            pass &= (int)info->task == c->task;
        }
        if (c->classes >= 0) {
            mo_buf_printf(&t, "%s%lld classes", t.len ? ", " : "", (long long)c->classes);
            pass &= info->n_classes == c->classes;
        }
        snprintf(threshold, size, "%s", t.data ? t.data : "readable dataset");
        mo_buf_free(&t);
        break;
    }
    case CHECK_ROW_COUNT:
        snprintf(value, size, "%lld", (long long)st->rows);
        if (c->max_rows == INT64_MAX)
            snprintf(threshold, size, ">= %lld", (long long)c->min_rows);
        else
            snprintf(threshold, size, "[%lld, %lld]", (long long)c->min_rows,
                     (long long)c->max_rows);
        pass = st->rows >= c->min_rows && st->rows <= c->max_rows;
        break;
    case CHECK_CLASS_BALANCE: {
        snprintf(threshold, size, "smallest class fraction >= %g", c->min_fraction);
        if (!st->class_counts || st->rows == 0) {
            snprintf(value, size, "no classes (regression dataset or no rows)");
            pass = 0;
            break;
        }
        int64_t smallest = st->class_counts[0];
        for (int32_t k = 1; k < st->n_classes; k++)
            smallest = st->class_counts[k] < smallest ? st->class_counts[k] : smallest;
        double frac = (double)smallest / (double)st->rows;
        snprintf(value, size, "%.6g", frac);
        pass = frac >= c->min_fraction;
        break;
    }
    }
    return pass;
}

static int write_report(const char *dir, const validate_job_t *j, const mo_ds_info_t *info,
                        const mo_ds_stats_t *st, int ranks, json_t *checks, int failed,
                        mo_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_t *o =
        json_pack("{s:s,s:i,s:s,s:s,s:i,s:I,s:I}", "kind", "validation_report", "format_version", 1,
                  "status", failed ? "failed" : "ok", "data", j->path, "ranks", ranks, "rows",
                  (json_int_t)st->rows, "features", (json_int_t)info->n_features);
    if (!o)
        return mo_errorf(err, MO_ENOMEM, "out of memory building the report");
    if (st->class_counts) {
        json_t *cc = json_array();
        for (int32_t k = 0; k < st->n_classes; k++)
            json_array_append_new(cc, json_integer(st->class_counts[k]));
        json_object_set_new(o, "class_counts", cc);
    }
    json_object_set(o, "checks", checks);
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

static int run(void *p, mo_job_ctx_t *ctx, mo_error_t *err)
{
    validate_job_t *j = p;
    mo_ds_t *ds = NULL;
    mo_ds_stats_t st = {0};
    json_t *checks = NULL;
    int rank = mo_comm_rank(ctx->comm), size = mo_comm_size(ctx->comm);
    int rc = mo_comm_agree(ctx->comm, mo_ds_open(&ds, j->path, mo_comm_mpi(ctx->comm), err), err);
    if (rc)
        goto out;
    const mo_ds_info_t *info = mo_ds_info(ds);
    int64_t begin, count;
    mo_ds_shard_range(info->n_rows, rank, size, &begin, &count);
    int local = mo_ds_stats_init(&st, info, err);
    if (!local)
        local = mo_ds_scan(&st, ds, begin, count, err);
    rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc)
        rc = mo_comm_allreduce(ctx->comm, &st.rows, 1, MO_DT_INT64, MO_OP_SUM, err);
    if (!rc && st.class_counts)
        rc = mo_comm_allreduce(ctx->comm, st.class_counts, (size_t)st.n_classes, MO_DT_INT64,
                               MO_OP_SUM, err);
    if (rc)
        goto out;
    /* Every rank evaluates the same totals, so every rank reaches the same verdict. */
    checks = json_array();
    int failed = 0;
    char first_failure[400] = "";
    for (size_t i = 0; i < j->n_checks; i++) {
        const check_t *c = &j->checks[i];
        char value[160], threshold[160];
        int pass = evaluate(c, info, &st, value, threshold, sizeof value);
        json_array_append_new(checks,
                              json_pack("{s:s,s:s,s:s,s:s,s:b}", "check", check_names[c->type],
                                        "severity", severity_names[c->severity], "value", value,
                                        "threshold", threshold, "pass", pass));
        mo_log(pass          ? MO_LOG_INFO
               : c->severity ? MO_LOG_WARN
                             : MO_LOG_ERROR,
               "validate", "%-13s %-4s %s (want %s)", check_names[c->type], pass ? "ok" : "FAIL",
               value, threshold);
        if (!pass && c->severity == 0 && !failed++)
            snprintf(first_failure, sizeof first_failure, "%s: %s, want %s", check_names[c->type],
                     value, threshold);
    }
    local = rank == 0 ? write_report(ctx->output_dir, j, info, &st, size, checks, failed, err) : 0;
    rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc && failed)
        rc = mo_errorf(err, MO_ERUNTIME, "validation failed: %d check%s of severity error (%s)",
                       failed, failed == 1 ? "" : "s", first_failure);
out:
    json_decref(checks);
    mo_ds_stats_free(&st);
    mo_ds_close(ds);
    return rc;
}

const mo_job_kind_t mo_job_validate = {
    .name = "validate",
    .summary = "checks on a dataset, with a report",
    .parse = parse,
    .run = run,
    .destroy = destroy,
};
