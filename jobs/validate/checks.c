/* checks.c - evaluating the checks of `kind: validate` on the ranks' row blocks
 *
 * Every rank counts over its own rows, then the counts are summed (and minima, maxima, newest
 * timestamps reduced) exactly over the ranks, so every rank holds the same totals and reaches
 * the same verdict whatever the rank count. Each evaluation does its local part, agrees on
 * failure (so no rank is left waiting in a collective), then reduces. Examples in messages
 * (the first violation, the first cell that is not a timestamp) are the lowest row's of all
 * ranks, so they too do not depend on the rank count.
 */
#include "core/alloc.h"
#include "core/str.h"
#include "jobs/validate/validate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const task_names[] = {"classification", "regression"};

typedef struct {
    int64_t row;
    char text[240];
} note_t;

int mo_validate_first(mo_comm_t *comm, int64_t row, const char *text, char *buf, size_t size,
                      mo_error_t *err)
{
    note_t mine = {.row = row}, *all = NULL;
    size_t total = 0;
    mo_strlcpy(mine.text, text ? text : "", sizeof mine.text);
    int rc = mo_comm_allgatherv(comm, &mine, sizeof mine, MO_DT_BYTE, (void **)&all, &total, err);
    if (rc)
        return rc;
    const note_t *best = NULL;
    for (size_t i = 0; i < total / sizeof mine; i++)
        if (all[i].row >= 0 && (!best || all[i].row < best->row))
            best = &all[i];
    mo_strlcpy(buf, best ? best->text : "", size);
    free(all);
    return 0;
}

void mo_validate_result_free(mo_vresult_t *r)
{
    if (!r)
        return;
    json_decref(r->detail);
    free(r->drift);
    memset(r, 0, sizeof *r);
}

static json_t *detail(mo_vresult_t *r)
{
    if (!r->detail)
        r->detail = json_object();
    return r->detail;
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *type_name(const mo_table_col_t *c)
{
    switch (c->type) {
    case MO_TABLE_NUMBER:
        return c->filled == 0 ? "empty" : "number";
    case MO_TABLE_TEXT:
        return "text";
    case MO_TABLE_TIME:
        return "timestamp";
    default:
        return c->dtype;
    }
}

/* A declared type matches a column's: an all-empty CSV column matches any, timestamps are
 * numbers (int64 microseconds in the file). */
static int type_matches(int want, const mo_table_col_t *c)
{
    if (want < 0 || c->filled == 0)
        return 1;
    if (want == MO_TABLE_NUMBER)
        return c->type == MO_TABLE_NUMBER || c->type == MO_TABLE_TIME;
    return c->type == (mo_table_type_t)want;
}

static void eval_schema(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c)
{
    const mo_table_t *t = e->job->table;
    const mo_ds_info_t *info = mo_table_ds_info(t);
    mo_buf_t v = {0}, th = {0};
    int problems = 0;
    if (info) {
        mo_buf_printf(&v, "%lld features, %s, %d classes", (long long)info->n_features,
                      task_names[info->task], (int)info->n_classes);
        if (c->features >= 0) {
            mo_buf_printf(&th, "%lld features", (long long)c->features);
            problems += info->n_features != c->features;
        }
        if (c->task >= 0) {
            mo_buf_printf(&th, "%s%s", th.len ? ", " : "", task_names[c->task]);
            problems += (int)info->task != c->task;
        }
        if (c->classes >= 0) {
            mo_buf_printf(&th, "%s%lld classes", th.len ? ", " : "", (long long)c->classes);
            problems += info->n_classes != c->classes;
        }
    } else if (c->n_cols == 0) {
        mo_buf_printf(&v, "%zu columns, %lld rows", mo_table_ncols(t), (long long)e->rows);
    }
    json_t *cols = c->n_cols ? json_object() : NULL;
    for (size_t i = 0; i < c->n_cols; i++) {
        const mo_vcol_t *vc = &c->cols[i];
        const mo_table_col_t *col = vc->col >= 0 ? mo_table_col(t, (size_t)vc->col) : NULL;
        const char *found = col ? type_name(col) : "missing";
        int ok = col && type_matches(vc->want, col);
        problems += !ok;
        mo_buf_printf(&v, "%s%s: %s", v.len ? (i ? ", " : "; ") : "", vc->name, found);
        mo_buf_printf(&th, "%s%s%s", th.len ? ", " : "", vc->name,
                      vc->want < 0                  ? ""
                      : vc->want == MO_TABLE_NUMBER ? ": number"
                                                    : ": text");
        json_object_set_new(cols, vc->name, col ? json_string(found) : json_null());
    }
    if (cols)
        json_object_set_new(detail(r), "columns", cols);
    snprintf(r->value_text, sizeof r->value_text, "%s", v.data ? v.data : "");
    snprintf(r->threshold_text, sizeof r->threshold_text, "%s",
             th.data ? th.data
             : info  ? "readable dataset"
                     : "readable table");
    r->value = problems;
    r->threshold = 0;
    r->pass = problems == 0;
    mo_buf_free(&v);
    mo_buf_free(&th);
}

static void eval_row_count(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c)
{
    snprintf(r->value_text, sizeof r->value_text, "%lld", (long long)e->rows);
    if (c->max_rows == INT64_MAX)
        snprintf(r->threshold_text, sizeof r->threshold_text, ">= %lld", (long long)c->min_rows);
    else
        snprintf(r->threshold_text, sizeof r->threshold_text, "[%lld, %lld]",
                 (long long)c->min_rows, (long long)c->max_rows);
    r->value = (double)e->rows;
    r->threshold = c->max_rows == INT64_MAX ? (double)c->min_rows : NAN;
    r->pass = e->rows >= c->min_rows && e->rows <= c->max_rows;
}

static void eval_class_balance(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c)
{
    snprintf(r->threshold_text, sizeof r->threshold_text, "smallest class fraction >= %g",
             c->min_fraction);
    r->threshold = c->min_fraction;
    r->value = NAN;
    if (!e->class_counts || e->rows == 0) {
        snprintf(r->value_text, sizeof r->value_text, "no classes (regression dataset or no rows)");
        return;
    }
    int64_t smallest = e->class_counts[0];
    for (int32_t k = 1; k < e->n_classes; k++)
        smallest = e->class_counts[k] < smallest ? e->class_counts[k] : smallest;
    r->value = (double)smallest / (double)e->rows;
    snprintf(r->value_text, sizeof r->value_text, "%.6g", r->value);
    r->pass = r->value >= c->min_fraction;
}

static int eval_nulls(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err)
{
    int64_t *n = mo_calloc(c->n_cols, sizeof *n);
    int rc = mo_comm_agree(e->comm, n ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory"), err);
    if (rc) {
        free(n);
        return rc;
    }
    for (size_t k = 0; k < c->n_cols; k++) {
        const mo_table_vec_t *v = &e->block->vecs[c->cols[k].vec];
        for (int64_t i = 0; i < e->block->n; i++)
            n[k] += v->type == MO_TABLE_NUMBER ? isnan(v->num[i])
                    : v->type == MO_TABLE_TEXT ? v->text[i][0] == '\0'
                                               : 0;
    }
    if ((rc = mo_comm_allreduce(e->comm, n, c->n_cols, MO_DT_INT64, MO_OP_SUM, err))) {
        free(n);
        return rc;
    }
    json_t *cols = json_object();
    size_t worst = 0;
    double worst_ratio = -1;
    r->pass = 1;
    for (size_t k = 0; k < c->n_cols; k++) {
        double ratio = e->rows ? (double)n[k] / (double)e->rows : 0;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = k;
        }
        r->pass &= ratio <= c->max_ratio;
        json_object_set_new(cols, c->cols[k].name,
                            json_pack("{s:I,s:f}", "nulls", (json_int_t)n[k], "ratio", ratio));
    }
    json_object_set_new(detail(r), "columns", cols);
    r->value = worst_ratio;
    r->threshold = c->max_ratio;
    snprintf(r->value_text, sizeof r->value_text, "%.6g (%s: %lld of %lld)", worst_ratio,
             c->cols[worst].name, (long long)n[worst], (long long)e->rows);
    snprintf(r->threshold_text, sizeof r->threshold_text, "null ratio <= %g per column",
             c->max_ratio);
    free(n);
    return 0;
}

static int eval_range(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err)
{
    size_t k = c->n_cols;
    int64_t *cnt = mo_calloc(2 * k, sizeof *cnt), first = -1; /* below, above per column */
    double *lo = mo_mallocarray(k, sizeof *lo), *hi = mo_mallocarray(k, sizeof *hi);
    char note[240] = "", where[200];
    int rc = mo_comm_agree(e->comm,
                           cnt && lo && hi ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory"), err);
    for (size_t j = 0; !rc && j < k; j++) {
        const mo_table_vec_t *v = &e->block->vecs[c->cols[j].vec];
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
        for (int64_t i = 0; i < e->block->n && v->type != MO_TABLE_TEXT; i++) {
            double x = v->num ? v->num[i] : (double)v->time[i];
            if (isnan(x))
                continue; /* missing: the nulls check's business */
            lo[j] = x < lo[j] ? x : lo[j];
            hi[j] = x > hi[j] ? x : hi[j];
            int below = x<c->lo, above = x> c->hi;
            cnt[2 * j] += below;
            cnt[2 * j + 1] += above;
            if ((below || above) && (first < 0 || e->block->first + i < first)) {
                first = e->block->first + i;
                snprintf(
                    note, sizeof note, "%s: %.17g",
                    mo_table_where(e->job->table, e->block, i, c->cols[j].vec, where, sizeof where),
                    x);
            }
        }
    }
    if (!rc)
        rc = mo_comm_allreduce(e->comm, cnt, 2 * k, MO_DT_INT64, MO_OP_SUM, err);
    if (!rc)
        rc = mo_comm_allreduce(e->comm, lo, k, MO_DT_DOUBLE, MO_OP_MIN, err);
    if (!rc)
        rc = mo_comm_allreduce(e->comm, hi, k, MO_DT_DOUBLE, MO_OP_MAX, err);
    if (!rc)
        rc = mo_validate_first(e->comm, first, note, note, sizeof note, err);
    if (rc)
        goto out;
    int64_t total = 0;
    const char *text_col = NULL;
    json_t *cols = json_object();
    for (size_t j = 0; j < k; j++) {
        const mo_table_col_t *col = mo_table_col(e->job->table, (size_t)c->cols[j].col);
        if (col->type == MO_TABLE_TEXT && !text_col)
            text_col = col->first_text;
        total += cnt[2 * j] + cnt[2 * j + 1];
        json_object_set_new(cols, c->cols[j].name,
                            json_pack("{s:I,s:I,s:I,s:o,s:o}", "violations",
                                      (json_int_t)(cnt[2 * j] + cnt[2 * j + 1]), "below",
                                      (json_int_t)cnt[2 * j], "above", (json_int_t)cnt[2 * j + 1],
                                      "min", number(lo[j]), "max", number(hi[j])));
    }
    json_object_set_new(detail(r), "columns", cols);
    json_object_set_new(detail(r), "first_violation", note[0] ? json_string(note) : json_null());
    r->value = (double)total;
    r->threshold = (double)c->max_violations;
    r->pass = !text_col && total <= c->max_violations;
    if (text_col)
        snprintf(r->value_text, sizeof r->value_text, "not numbers: %s", text_col);
    else
        snprintf(r->value_text, sizeof r->value_text, "%lld outside%s%s%s", (long long)total,
                 note[0] ? " (first: " : "", note, note[0] ? ")" : "");
    char bounds[64];
    if (c->has_lo && c->has_hi)
        snprintf(bounds, sizeof bounds, "in [%g, %g]", c->lo, c->hi);
    else
        snprintf(bounds, sizeof bounds, "%s %g",
                 c->has_lo ? ">=" : "<=", c->has_lo ? c->lo : c->hi);
    if (c->max_violations)
        snprintf(r->threshold_text, sizeof r->threshold_text, "values %s, at most %lld outside",
                 bounds, (long long)c->max_violations);
    else
        snprintf(r->threshold_text, sizeof r->threshold_text, "values %s", bounds);
out:
    free(cnt);
    free(lo);
    free(hi);
    return rc;
}

/* "90s", "1.5h", "2d": the largest unit that fits, for messages. */
static const char *fmt_lag(char *buf, size_t size, double s)
{
    static const struct {
        double unit;
        const char *name;
    } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    size_t u = 0;
    while (u < 3 && fabs(s) < units[u].unit)
        u++;
    snprintf(buf, size, "%.4g%s", s / units[u].unit, units[u].name);
    return buf;
}

static int eval_freshness(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c,
                          mo_error_t *err)
{
    const mo_table_vec_t *v = &e->block->vecs[c->cols[0].vec];
    int64_t newest = INT64_MIN, counts[2] = {0, 0}, first = -1; /* parsed, not timestamps */
    char note[240] = "", where[200], a[40], b[40], lag[40];
    for (int64_t i = 0; i < e->block->n; i++) {
        int64_t us = 0;
        mo_error_t why = {0};
        int bad = 0;
        if (v->type == MO_TABLE_TIME) {
            us = v->time[i];
        } else if (v->type == MO_TABLE_NUMBER) {
            if (isnan(v->num[i]))
                continue;
            bad = mo_ts_from_double(v->num[i], e->job->ts_format, &us, &why) != 0;
        } else {
            const char *s = v->text[i];
            size_t len = strlen(s);
            while (*s == ' ' || *s == '\t')
                s++, len--;
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            if (!len)
                continue;
            bad = mo_ts_parse(s, len, e->job->ts_format, &us, &why) != 0;
        }
        counts[bad]++;
        if (!bad)
            newest = us > newest ? us : newest;
        else if (first < 0) {
            first = e->block->first + i;
            snprintf(
                note, sizeof note, "%.120s: %.110s",
                mo_table_where(e->job->table, e->block, i, c->cols[0].vec, where, sizeof where),
                why.msg);
        }
    }
    int rc = mo_comm_allreduce(e->comm, counts, 2, MO_DT_INT64, MO_OP_SUM, err);
    if (!rc)
        rc = mo_comm_allreduce(e->comm, &newest, 1, MO_DT_INT64, MO_OP_MAX, err);
    if (!rc)
        rc = mo_validate_first(e->comm, first, note, note, sizeof note, err);
    if (rc)
        return rc;
    int64_t as_of = c->has_as_of ? c->as_of_us : e->now_us;
    mo_ts_format(as_of, a, sizeof a);
    r->threshold = c->max_lag_s;
    r->value = counts[0] ? (double)(as_of - newest) / 1e6 : NAN;
    r->pass = counts[0] && counts[1] == 0 && r->value <= c->max_lag_s;
    snprintf(r->threshold_text, sizeof r->threshold_text, "lag <= %s as of %s%s",
             fmt_lag(lag, sizeof lag, c->max_lag_s), c->has_as_of ? "" : "now, ", a);
    if (counts[0])
        snprintf(r->value_text, sizeof r->value_text, "lag %s (newest %s)",
                 fmt_lag(lag, sizeof lag, r->value), mo_ts_format(newest, b, sizeof b));
    else
        snprintf(r->value_text, sizeof r->value_text, "no timestamps in column '%s'",
                 c->cols[0].name);
    if (counts[1]) {
        size_t len = strlen(r->value_text);
        snprintf(r->value_text + len, sizeof r->value_text - len, "; %lld %s (first: %s)",
                 (long long)counts[1],
                 counts[1] == 1 ? "cell is not a timestamp" : "cells are not timestamps", note);
    }
    json_t *d = detail(r);
    json_object_set_new(d, "column", json_string(c->cols[0].name));
    json_object_set_new(d, "newest", counts[0] ? json_string(b) : json_null());
    json_object_set_new(d, "as_of", json_string(a));
    json_object_set_new(d, "lag_s", number(r->value));
    json_object_set_new(d, "not_timestamps", json_integer(counts[1]));
    json_object_set_new(d, "first_not_timestamp", note[0] ? json_string(note) : json_null());
    return 0;
}

int mo_validate_eval(mo_vresult_t *r, const mo_veval_t *e, const mo_vcheck_t *c, mo_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->value = r->threshold = NAN;
    switch (c->type) {
    case MO_VCHECK_SCHEMA:
        eval_schema(r, e, c);
        return 0;
    case MO_VCHECK_ROW_COUNT:
        eval_row_count(r, e, c);
        return 0;
    case MO_VCHECK_CLASS_BALANCE:
        eval_class_balance(r, e, c);
        return 0;
    case MO_VCHECK_NULLS:
        return eval_nulls(r, e, c, err);
    case MO_VCHECK_RANGE:
        return eval_range(r, e, c, err);
    case MO_VCHECK_UNIQUE:
        return mo_validate_unique(r, e, c, err);
    case MO_VCHECK_FRESHNESS:
        return eval_freshness(r, e, c, err);
    default:
        return mo_validate_drift(r, e, c, err);
    }
}
