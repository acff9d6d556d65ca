/* output.c - the training set on disk: each rank writes its block of rows in input order at
 * its place in the file (parallel HDF5), labels mapped
 * as `maestro data import` maps them (docs/formats.md "CSV import"): all integers give classes
 * in numeric order; numbers with a fraction give regression; anything else gives classes in
 * byte order. */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/dataset.h"
#include "io/events.h"
#include "io/feature_store.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *text;
    double num;
    int64_t first; /* the first row with this label: the distinct labels' key */
} label_t;

static int by_num(const void *a, const void *b)
{
    double x = ((const label_t *)a)->num, y = ((const label_t *)b)->num;
    if (x != y)
        return (x > y) - (x < y);
    return strcmp(((const label_t *)a)->text, ((const label_t *)b)->text); /* "01" and "1" */
}

static int by_text(const void *a, const void *b)
{
    return strcmp(((const label_t *)a)->text, ((const label_t *)b)->text);
}

/* The distinct labels of labels[0..n), in first-seen order, and each row's index into them:
 * an open-addressing table of the texts (a training set has a handful of classes and a
 * million rows; sorting every row's text cost more than the join). */
static int distinct_labels(char *const *labels, int64_t n, label_t **out, int64_t *n_out,
                           int64_t *row_slot, mo_error_t *err)
{
    size_t cap = 64, k = 0;
    int64_t *table = NULL; /* distinct index + 1, 0 empty */
    label_t *u = NULL;
    int rc = 0;
    for (int grow = 1; grow && !rc;) {
        grow = 0;
        free(table);
        free(u);
        k = 0;
        table = mo_calloc(cap, sizeof *table);
        u = mo_calloc(cap / 2, sizeof *u);
        if (!table || !u) {
            rc = mo_errorf(err, MO_ENOMEM, "out of memory");
            break;
        }
        for (int64_t i = 0; i < n; i++) {
            size_t len = strlen(labels[i]);
            size_t h = (size_t)mo_entity_hash(labels[i], len) & (cap - 1);
            while (table[h] && strcmp(u[table[h] - 1].text, labels[i]))
                h = (h + 1) & (cap - 1);
            if (!table[h]) {
                if (k + 1 > cap / 2) { /* keep the table at most half full */
                    cap *= 4;
                    grow = 1;
                    break;
                }
                u[k] = (label_t){labels[i], 0, i};
                table[h] = (int64_t)++k;
            }
            row_slot[i] = table[h] - 1;
        }
    }
    free(table);
    *out = u;
    *n_out = (int64_t)k;
    return rc;
}

/* Class names (distinct texts, sorted) and ids, or regression values. */
static int map_labels(char *const *labels, int64_t n, mo_ds_info_t *info, int32_t *ids,
                      float *values, mo_error_t *err)
{
    int64_t *slot = mo_calloc(n ? (size_t)n : 1, sizeof *slot), k = 0;
    label_t *u = NULL;
    int rc = slot ? distinct_labels(labels, n, &u, &k, slot, err)
                  : mo_errorf(err, MO_ENOMEM, "out of memory");
    int all_int = 1, all_num = 1;
    for (int64_t c = 0; !rc && c < k; c++) {
        int64_t iv;
        if (mo_parse_int64(u[c].text, &iv))
            all_int = 0;
        if (mo_parse_double(u[c].text, &u[c].num))
            all_num = 0;
    }
    if (!rc && all_num && !all_int) {
        info->task = MO_DS_REGRESSION;
        for (int64_t i = 0; i < n; i++)
            values[i] = (float)u[slot[i]].num;
        free(u);
        free(slot);
        return 0;
    }
    info->task = MO_DS_CLASSIFICATION;
    int64_t *rank_of = rc ? NULL : mo_calloc(k ? (size_t)k : 1, sizeof *rank_of);
    info->class_names = rc ? NULL : mo_calloc(k ? (size_t)k : 1, sizeof *info->class_names);
    if (!rc && (!rank_of || !info->class_names))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    if (!rc) {
        /* classes in numeric order when all are integers, else in byte order */
        qsort(u, (size_t)k, sizeof *u, all_int ? by_num : by_text);
        for (int64_t c = 0; c < k; c++) {
            rank_of[slot[u[c].first]] = c;
            info->class_names[c] = (char *)u[c].text;
        }
        info->n_classes = (int32_t)k;
        for (int64_t i = 0; i < n; i++)
            ids[i] = (int32_t)rank_of[slot[i]];
    }
    free(rank_of);
    free(u);
    free(slot);
    return rc;
}

/* Map every row's label (the same on every rank: each has all the labels) into info, ids and
 * vals. */
static int map_all(mo_ds_info_t *info, const ds_spec_t *s, char *all_text, int64_t n, int32_t **ids,
                   float **vals, mo_error_t *err)
{
    size_t width = s->n_features;
    char **labels = mo_calloc(n ? (size_t)n : 1, sizeof *labels);
    char **names = mo_calloc(width, sizeof *names);
    *ids = mo_calloc(n ? (size_t)n : 1, sizeof **ids);
    *vals = mo_calloc(n ? (size_t)n : 1, sizeof **vals);
    int rc = labels && names && *ids && *vals ? 0 : mo_errorf(err, MO_ENOMEM, "out of memory");
    char *p = all_text;
    for (int64_t i = 0; !rc && i < n; i++) {
        labels[i] = p;
        p += strlen(p) + 1;
    }
    for (size_t f = 0; !rc && f < width; f++)
        names[f] = (char *)s->features[f].feature;
    *info = (mo_ds_info_t){
        .n_rows = n, .n_features = (int64_t)width, .allow_nan = 1, .feature_names = names};
    if (!rc)
        rc = map_labels(labels, n, info, *ids, *vals, err);
    else
        free(names);
    free(labels);
    return rc;
}

/* Every rank writes its block of rows into the training set at its place (parallel HDF5,
 * io/dataset.h mo_ds_write_mpi); rank 0 names the temp file and renames it into place. */
int ds_write_output(const ds_spec_t *s, mo_comm_t *comm, const char *path, const mo_events_t *local,
                    const float *feat, double t0, mo_error_t *err)
{
    size_t width = s->n_features;
    int rank = mo_comm_rank(comm);
    void *all_text = NULL, *all_n = NULL;
    size_t n_text = 0, n_ranks = 0;
    int64_t n = 0, row0 = 0, missing = 0;
    mo_buf_t text = {0};
    mo_ds_info_t info = {0};
    int32_t *ids = NULL;
    float *vals = NULL;
    char *tmp = NULL;
    int rc = 0, made = 0;
    for (int64_t i = 0; i < local->n && !rc; i++)
        rc = mo_buf_append(&text, local->pool + local->label_off[i],
                           strlen(local->pool + local->label_off[i]) + 1);
    if (rc)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    rc = mo_comm_agree(comm, rc, err);
    /* The labels are small beside the features: every rank gets them all and maps them the
     * same way, so the file's class names agree and each rank has its rows' ids. */
    if (!rc)
        rc = mo_comm_allgatherv(comm, text.data ? text.data : "", text.len, MO_DT_BYTE, &all_text,
                                &n_text, err);
    if (!rc)
        rc = mo_comm_allgatherv(comm, &local->n, 1, MO_DT_INT64, &all_n, &n_ranks, err);
    mo_buf_free(&text);
    const int64_t *counts = all_n;
    for (size_t r = 0; !rc && r < n_ranks; r++) {
        row0 += (int)r < rank ? counts[r] : 0;
        n += counts[r];
    }
    if (!rc)
        rc = mo_comm_agree(comm, map_all(&info, s, all_text, n, &ids, &vals, err), err);
    mo_log_phase("dataset", "write: labels", t0);
    if (!rc)
        rc = mo_comm_agree(comm, rank == 0 ? mo_fs_temp_create(&tmp, path, err) : 0, err);
    if (!rc)
        rc = mo_comm_bcast_string(comm, &tmp, 0, err);
    if (!rc) {
        made = 1;
        for (size_t i = 0; i < (size_t)local->n * width; i++)
            missing += isnan(feat[i]);
        rc = mo_ds_write_mpi(tmp, mo_comm_mpi(comm), &info, row0, local->n, feat, ids + row0,
                             vals + row0, err);
        rc = mo_comm_agree(comm, rc, err);
    }
    mo_log_phase("dataset", "write: rows", t0);
    if (!rc && rank == 0)
        rc = mo_fs_commit(tmp, path, err);
    if (made)
        rc = mo_comm_agree(comm, rc, err);
    if (rc && made && rank == 0)
        unlink(tmp);
    if (!rc)
        rc = mo_comm_allreduce(comm, &missing, 1, MO_DT_INT64, MO_OP_SUM, err);
    if (!rc && rank == 0)
        mo_log_info("dataset",
                    "%s: %lld rows x %zu features (%lld missing, fill %g), %s%s in %.2f s", path,
                    (long long)n, width, (long long)missing, s->fill,
                    info.task == MO_DS_REGRESSION ? "regression" : "classification",
                    info.task == MO_DS_REGRESSION ? "" : " labels", mo_time_mono() - t0);
    free(tmp);
    free(info.class_names);
    free(info.feature_names);
    free(ids);
    free(vals);
    free(all_n);
    free(all_text); /* after the writer: the class names point into it */
    return rc;
}
