/* validate.c - `kind: validate`: checks on a dataset, a CSV/HDF5 table or a feature view
 *
 * The data is read once through io/table.h, in contiguous row blocks, one per rank; only the
 * columns some check names are read. Each check counts over its rank's rows and the counts
 * are reduced exactly over the ranks (checks.c, unique.c, drift.c), so every rank reaches the
 * same verdict whatever the rank count. The report (JSON and HDF5, written atomically by
 * rank 0, report.c) lists every check with its value, threshold and outcome. A failed check
 * of severity error fails the job (exit 1, so a pipeline stops); a failed warning is logged.
 * Spec mistakes (unknown columns, bad thresholds) are found when the spec is read (exit 2).
 */
#include "jobs/validate/validate.h"

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/dataset.h"
#include "io/feature_store.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void destroy(void *p)
{
    mo_vjob_t *j = p;
    if (!j)
        return;
    for (size_t i = 0; j->checks && i < j->n_checks; i++)
        mo_validate_check_free(&j->checks[i]);
    free(j->checks);
    mo_table_close(j->table);
    free(j);
}

/* Opening the data here (read only: a CSV's header, an HDF5 file's metadata) makes a missing
 * or malformed file, and every column a check names, bad input that `maestro validate`
 * reports and that stops a run before its output folder exists. */
static int open_data(mo_vjob_t *j, mo_cfg_node_t *data, mo_error_t *err)
{
    char where[256];
    mo_cfg_node_t *view = mo_cfg_child(data, "view");
    int rc = mo_table_open(&j->table, j->path, &j->opts, err);
    if (rc) {
        /* A store that opens on its own leaves the view to blame. */
        mo_fs_t *fs = NULL;
        int store = view && mo_fs_open(&fs, j->path, NULL) == 0;
        mo_fs_close(fs);
        mo_cfg_where(store ? view : mo_cfg_child(data, "path"), where, sizeof where);
        return mo_error_prefix(err, "%s: data.%s", where, store ? "view" : "path");
    }
    if (view && mo_table_format(j->table) != MO_TABLE_VIEW)
        return mo_cfg_errorf(err, MO_EINVAL, view,
                             "data.view names a feature view, but %s is not a feature store "
                             "(it reads as: %s)",
                             j->path, mo_table_source(j->table));
    if (!j->view)
        j->view = mo_table_view(j->table); /* a store's only view, for drift references */
    return 0;
}

static int parse(void **out, mo_cfg_node_t *spec, mo_error_t *err)
{
    *out = NULL;
    mo_cfg_node_t *data = NULL, *list = NULL;
    int format = 0, ts_format = 0;
    mo_vjob_t *j = mo_calloc(1, sizeof *j);
    if (!j)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_cfg_get_map(spec, "data", MO_CFG_REQUIRED, &data, err);
    if (!rc)
        rc = mo_cfg_get_string(data, "path", MO_CFG_REQUIRED, &j->path, err);
    if (!rc)
        rc = mo_cfg_get_enum(data, "format", 0, mo_table_format_names, &format, err);
    if (!rc)
        rc = mo_cfg_get_string(data, "view", 0, &j->view, err);
    if (!rc)
        rc = mo_cfg_get_enum(data, "timestamp_format", 0, mo_ts_format_names, &ts_format, err);
    j->opts = (mo_table_opts_t){.format = (mo_table_format_t)format, .view = j->view};
    j->ts_format = (mo_ts_format_t)ts_format;
    if (!rc)
        rc = mo_cfg_get_list(spec, "checks", MO_CFG_REQUIRED, &list, err);
    if (!rc && mo_cfg_len(list) == 0)
        rc = mo_cfg_errorf(err, MO_EINVAL, list, "checks must list at least one check");
    if (!rc)
        rc = open_data(j, data, err);
    if (!rc && !(j->checks = mo_calloc(mo_cfg_len(list), sizeof *j->checks)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < mo_cfg_len(list); i++) {
        mo_cfg_node_t *item = mo_cfg_at(list, i);
        j->n_checks = i + 1;
        if (mo_cfg_type(item) != MO_CFG_MAP)
            rc = mo_cfg_errorf(err, MO_EINVAL, item,
                               "checks[%zu] must be a map like {check: row_count, min: 1}", i);
        else
            rc = mo_validate_parse_check(j, &j->checks[i], item, err);
    }
    if (rc) {
        destroy(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* The columns the checks read, each once; sets every check column's vec. A classification
 * dataset's label is read too, for class_counts. *label: its vec, or -1. */
static int plan_columns(size_t **out, size_t *n, int *label, mo_vjob_t *j, mo_error_t *err)
{
    size_t cap = 1, *cols;
    const mo_ds_info_t *info = mo_table_ds_info(j->table);
    for (size_t i = 0; i < j->n_checks; i++)
        cap += j->checks[i].n_cols;
    *n = 0;
    *label = -1;
    if (!(*out = cols = mo_mallocarray(cap, sizeof *cols)))
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->n_checks; i++) {
        mo_vcheck_t *c = &j->checks[i];
        for (size_t k = 0; k < c->n_cols && c->type != MO_VCHECK_SCHEMA; k++) {
            size_t v = 0;
            while (v < *n && cols[v] != (size_t)c->cols[k].col)
                v++;
            if (v == *n)
                cols[(*n)++] = (size_t)c->cols[k].col;
            c->cols[k].vec = v;
        }
    }
    if (info && info->task == MO_DS_CLASSIFICATION) {
        size_t lc = mo_table_ncols(j->table) - 1, v = 0;
        while (v < *n && cols[v] != lc)
            v++;
        if (v == *n)
            cols[(*n)++] = lc;
        *label = (int)v;
    }
    return 0;
}

/* Class counts of this rank's labels; a label outside 0..k-1 is a broken file. */
static int count_classes(int64_t *counts, const mo_table_t *t, const mo_table_block_t *b, int label,
                         int32_t k, mo_error_t *err)
{
    const double *y = b->vecs[label].num;
    for (int64_t i = 0; i < b->n; i++) {
        if (!(y[i] >= 0 && y[i] < k))
            return mo_errorf(err, MO_EFORMAT, "%s: /y row %lld: class id %g outside 0..%d",
                             mo_table_path(t), (long long)(b->first + i), y[i], (int)k - 1);
        counts[(int32_t)y[i]]++;
    }
    return 0;
}

static int evaluate(mo_vresult_t *res, mo_veval_t *e, mo_job_ctx_t *ctx, int *failed,
                    mo_error_t *err)
{
    char first_failure[400] = "";
    int rc = 0;
    *failed = 0;
    for (size_t i = 0; !rc && i < e->job->n_checks; i++) {
        const mo_vcheck_t *c = &e->job->checks[i];
        const char *name = mo_validate_check_names[c->type];
        if ((rc = mo_validate_eval(&res[i], e, c, err)))
            break;
        int pass = res[i].pass;
        mo_log(pass          ? MO_LOG_INFO
               : c->severity ? MO_LOG_WARN
                             : MO_LOG_ERROR,
               "validate", "%-13s %-4s %s (want %s)", name, pass ? "ok" : "FAIL", res[i].value_text,
               res[i].threshold_text);
        if (!pass && c->severity == 0 && !(*failed)++)
            snprintf(first_failure, sizeof first_failure, "%s: %s, want %s", name,
                     res[i].value_text, res[i].threshold_text);
    }
    int local =
        rc || mo_comm_rank(ctx->comm) != 0
            ? rc
            : mo_validate_report(ctx->output_dir, e, mo_comm_size(ctx->comm), res, *failed, err);
    rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc && *failed)
        rc = mo_errorf(err, MO_ERUNTIME, "validation failed: %d check%s of severity error (%s)",
                       *failed, *failed == 1 ? "" : "s", first_failure);
    return rc;
}

static int run(void *p, mo_job_ctx_t *ctx, mo_error_t *err)
{
    mo_vjob_t *j = p;
    mo_table_block_t block = {0};
    mo_vresult_t *res = mo_calloc(j->n_checks, sizeof *res);
    const mo_ds_info_t *info = mo_table_ds_info(j->table);
    size_t *cols = NULL, n_cols = 0;
    int label = -1, failed = 0;
    int64_t *counts = NULL, begin, count;
    mo_veval_t e = {.comm = ctx->comm, .job = j, .block = &block};
    /* A CSV is read whole once here for its row count and column types, on every rank. */
    int local = res ? mo_table_scan(j->table, err) : mo_errorf(err, MO_ENOMEM, "out of memory");
    for (size_t i = 0; !local && i < j->n_checks; i++)
        local = j->checks[i].ref ? mo_table_scan(j->checks[i].ref, err) : 0;
    if (!local)
        local = mo_validate_resolve(j, err);
    if (!local)
        local = plan_columns(&cols, &n_cols, &label, j, err);
    if (!local && label >= 0 && !(counts = mo_calloc((size_t)info->n_classes, sizeof *counts)))
        local = mo_errorf(err, MO_ENOMEM, "out of memory");
    int rc = mo_comm_agree(ctx->comm, local, err);
    if (rc)
        goto out;
    e.rows = mo_table_rows(j->table);
    mo_ds_shard_range(e.rows, mo_comm_rank(ctx->comm), mo_comm_size(ctx->comm), &begin, &count);
    local = mo_table_read(&block, j->table, cols, n_cols, begin, count, err);
    if (!local && label >= 0)
        local = count_classes(counts, j->table, &block, label, info->n_classes, err);
    rc = mo_comm_agree(ctx->comm, local, err);
    if (!rc && counts)
        rc = mo_comm_allreduce(ctx->comm, counts, (size_t)info->n_classes, MO_DT_INT64, MO_OP_SUM,
                               err);
    /* "now" is rank 0's clock, so ranks on hosts with skewed clocks still agree. */
    e.now_us = mo_time_unix_ns() / 1000;
    if (!rc)
        rc = mo_comm_bcast(ctx->comm, &e.now_us, 1, MO_DT_INT64, 0, err);
    if (rc)
        goto out;
    e.class_counts = counts;
    e.n_classes = counts ? info->n_classes : 0;
    mo_log_info("validate", "%s (%s): %lld rows, %zu check%s on %d rank%s", j->path,
                mo_table_source(j->table), (long long)e.rows, j->n_checks,
                j->n_checks == 1 ? "" : "s", mo_comm_size(ctx->comm),
                mo_comm_size(ctx->comm) == 1 ? "" : "s");
    rc = evaluate(res, &e, ctx, &failed, err);
out:
    for (size_t i = 0; res && i < j->n_checks; i++)
        mo_validate_result_free(&res[i]);
    free(res);
    free(cols);
    free(counts);
    mo_table_block_free(&block);
    return rc;
}

const mo_job_kind_t mo_job_validate = {
    .name = "validate",
    .summary = "checks on a dataset, a table or a feature view, with a report",
    .parse = parse,
    .run = run,
    .destroy = destroy,
};
