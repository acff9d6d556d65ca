/* output.c - the training set on disk: rows gathered on rank 0 in input order, labels mapped
 * as `maestro data import` maps them (docs/formats.md "CSV import"): all integers give classes
 * in numeric order; numbers with a fraction give regression; anything else gives classes in
 * byte order. */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/dataset.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;
    double num;
} label_t;

static int by_num(const void *a, const void *b)
{
    double x = ((const label_t *)a)->num, y = ((const label_t *)b)->num;
    return (x > y) - (x < y);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(((const label_t *)a)->text, ((const label_t *)b)->text);
}

/* Class names (distinct texts, sorted) and ids, or regression values. */
static int map_labels(char *const *labels, int64_t n, mo_ds_info_t *info, int32_t *ids,
                      float *values, mo_error_t *err)
{
    int all_int = 1, all_num = 1;
    label_t *u = mo_calloc(n ? (size_t)n : 1, sizeof *u);
    if (!u)
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        int64_t iv;
        double dv = 0;
        if (mo_parse_int64(labels[i], &iv))
            all_int = 0;
        if (mo_parse_double(labels[i], &dv))
            all_num = 0;
        u[i] = (label_t){labels[i], dv};
    }
    if (all_num && !all_int) {
        info->task = MO_DS_REGRESSION;
        for (int64_t i = 0; i < n; i++)
            values[i] = (float)u[i].num;
        free(u);
        return 0;
    }
    info->task = MO_DS_CLASSIFICATION;
    qsort(u, (size_t)n, sizeof *u, all_int ? by_num : by_text);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (k == 0 || strcmp(u[k - 1].text, u[i].text))
            u[k++] = u[i];
    info->n_classes = (int32_t)k;
    info->class_names = mo_calloc(k ? (size_t)k : 1, sizeof *info->class_names);
    if (!info->class_names) {
        free(u);
        return mo_errorf(err, MO_ENOMEM, "out of memory");
    }
    for (int64_t c = 0; c < k; c++)
        info->class_names[c] = (char *)u[c].text;
    for (int64_t i = 0; i < n; i++) {
        /* Binary search in the sorted distinct names. */
        int64_t lo = 0, hi = k - 1;
        double num = 0;
        mo_parse_double(labels[i], &num);
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            int c = all_int ? (u[mid].num < num ? -1 : u[mid].num > num)
                            : strcmp(u[mid].text, labels[i]);
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        ids[i] = (int32_t)lo;
    }
    free(u);
    return 0;
}

int ds_write_output(const ds_spec_t *s, mo_comm_t *comm, const char *path, const mo_events_t *local,
                    const double *feat, double t0, mo_error_t *err)
{
    size_t width = s->n_features;
    void *all_feat = NULL, *all_text = NULL;
    size_t n_feat = 0, n_text = 0;
    mo_buf_t text = {0};
    int rc = 0;
    for (int64_t i = 0; i < local->n && !rc; i++)
        rc = mo_buf_append(&text, local->pool + local->label_off[i],
                           strlen(local->pool + local->label_off[i]) + 1);
    if (rc)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    rc = mo_comm_agree(comm, rc, err);
    if (!rc)
        rc = mo_comm_allgatherv(comm, feat, (size_t)local->n * width, MO_DT_DOUBLE, &all_feat,
                                &n_feat, err);
    if (!rc)
        rc = mo_comm_allgatherv(comm, text.data ? text.data : "", text.len, MO_DT_BYTE, &all_text,
                                &n_text, err);
    mo_buf_free(&text);
    int64_t n = width ? (int64_t)(n_feat / width) : 0;
    int local_rc = 0;
    if (!rc && mo_comm_rank(comm) == 0) {
        char **labels = mo_calloc(n ? (size_t)n : 1, sizeof *labels);
        float *X = malloc((n ? (size_t)n : 1) * width * sizeof *X);
        int32_t *ids = mo_calloc(n ? (size_t)n : 1, sizeof *ids);
        float *vals = mo_calloc(n ? (size_t)n : 1, sizeof *vals);
        char **names = mo_calloc(width, sizeof *names);
        mo_ds_info_t info = {.n_rows = n, .n_features = (int64_t)width, .allow_nan = 1};
        if (!labels || !X || !ids || !vals || !names)
            local_rc = mo_errorf(err, MO_ENOMEM, "out of memory");
        char *p = all_text;
        for (int64_t i = 0; !local_rc && i < n; i++) {
            labels[i] = p;
            p += strlen(p) + 1;
        }
        int64_t missing = 0;
        for (size_t i = 0; !local_rc && i < (size_t)n * width; i++) {
            X[i] = (float)((double *)all_feat)[i];
            missing += isnan(X[i]);
        }
        for (size_t f = 0; !local_rc && f < width; f++)
            names[f] = (char *)s->features[f].feature;
        info.feature_names = names;
        if (!local_rc)
            local_rc = map_labels(labels, n, &info, ids, vals, err);
        if (!local_rc)
            local_rc = mo_ds_write(path, &info, X, ids, vals, err);
        if (!local_rc)
            mo_log_info("dataset",
                        "%s: %lld rows x %zu features (%lld missing, fill %g), %s%s in %.2f s",
                        path, (long long)n, width, (long long)missing, s->fill,
                        info.task == MO_DS_REGRESSION ? "regression" : "classification",
                        info.task == MO_DS_REGRESSION ? "" : " labels", mo_time_mono() - t0);
        free(info.class_names);
        free(labels);
        free(X);
        free(ids);
        free(vals);
        free(names);
    }
    free(all_feat);
    free(all_text);
    return rc ? rc : mo_comm_agree(comm, local_rc, err);
}
