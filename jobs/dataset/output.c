/* output.c - the training set on disk: rows gathered on rank 0 in input order, labels mapped
 * as `maestro data import` maps them (docs/formats.md "CSV import"): all integers give classes
 * in numeric order; numbers with a fraction give regression; anything else gives classes in
 * byte order. */
#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "io/dataset.h"
#include "io/events.h"
#include "jobs/dataset/dataset_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Features sent to rank 0 per message: about 8 MiB of rows. */
#define MSG_BYTES ((size_t)8 << 20)
/* The message tag of those blocks (comm.h's range of small-message tags; the dataset job is the
 * only user of the communicator while it runs). */
#define TAG_ROWS 7

static int64_t piece_rows(size_t width)
{
    size_t rows = MSG_BYTES / (width * sizeof(float));
    return rows ? (int64_t)rows : 1;
}

/* Rank 0: append rows [row, row + n) of the dataset; counts the missing values. */
static int append(mo_ds_writer_t *w, const mo_ds_info_t *info, int64_t row, int64_t n,
                  const float *X, const int32_t *ids, const float *vals, int64_t *missing,
                  mo_error_t *err)
{
    for (size_t i = 0; i < (size_t)n * (size_t)info->n_features; i++)
        *missing += isnan(X[i]);
    return mo_ds_writer_append(w, n, X, ids + row, vals + row, err);
}

/* Rank 0: map the labels and open the writer; *ids / *vals hold every row's label. */
static int open_output(mo_ds_writer_t **w, mo_ds_info_t *info, const ds_spec_t *s, const char *path,
                       char *all_text, int64_t n, int32_t **ids, float **vals, mo_error_t *err)
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
    if (!rc)
        rc = mo_ds_writer_open(w, path, info, err);
    free(labels);
    return rc;
}

int ds_write_output(const ds_spec_t *s, mo_comm_t *comm, const char *path, const mo_events_t *local,
                    const float *feat, double t0, mo_error_t *err)
{
    size_t width = s->n_features;
    int rank = mo_comm_rank(comm), size = mo_comm_size(comm);
    void *all_text = NULL, *all_n = NULL;
    size_t n_text = 0, n_ranks = 0;
    int64_t n = 0, missing = 0, step = piece_rows(width);
    mo_buf_t text = {0};
    mo_ds_info_t info = {0};
    mo_ds_writer_t *w = NULL;
    int32_t *ids = NULL;
    float *vals = NULL;
    int rc = 0, local_rc = 0;
    for (int64_t i = 0; i < local->n && !rc; i++)
        rc = mo_buf_append(&text, local->pool + local->label_off[i],
                           strlen(local->pool + local->label_off[i]) + 1);
    if (rc)
        rc = mo_errorf(err, MO_ENOMEM, "out of memory");
    rc = mo_comm_agree(comm, rc, err);
    /* The labels are small beside the features: every rank gets them, rank 0 maps them. */
    if (!rc)
        rc = mo_comm_allgatherv(comm, text.data ? text.data : "", text.len, MO_DT_BYTE, &all_text,
                                &n_text, err);
    if (!rc)
        rc = mo_comm_allgatherv(comm, &local->n, 1, MO_DT_INT64, &all_n, &n_ranks, err);
    mo_buf_free(&text);
    const int64_t *counts = all_n;
    for (size_t r = 0; !rc && r < n_ranks; r++)
        n += counts[r];
    if (!rc && rank == 0)
        local_rc = open_output(&w, &info, s, path, all_text, n, &ids, &vals, err);
    if (!rc)
        rc = mo_comm_agree(comm, local_rc, err);
    /* Rank 0 appends its block, then each rank's as its pieces arrive (it receives every
     * piece even after a failure, so no sender waits for ever); the others send theirs. */
    int64_t row = 0;
    for (int64_t i = 0; !rc && rank == 0 && !local_rc && i < local->n; i += step) {
        int64_t m = local->n - i < step ? local->n - i : step;
        local_rc = append(w, &info, row, m, feat + (size_t)i * width, ids, vals, &missing, err);
        row += m;
    }
    for (int r = 1; !rc && rank == 0 && r < size; r++)
        for (int64_t i = 0; i < counts[r]; i += step) {
            int64_t m = counts[r] - i < step ? counts[r] - i : step;
            void *buf = NULL;
            size_t len = 0;
            int got = mo_comm_recv_msg(comm, r, TAG_ROWS, &buf, &len, err);
            if (!local_rc && !got && len != (size_t)m * width * sizeof(float))
                got = mo_errorf(err, MO_EIO, "rank %d sent %zu bytes of rows, expected %zu", r, len,
                                (size_t)m * width * sizeof(float));
            if (!local_rc)
                local_rc = got ? got : append(w, &info, row, m, buf, ids, vals, &missing, err);
            row += m;
            free(buf);
        }
    for (int64_t i = 0; !rc && rank > 0 && !local_rc && i < local->n; i += step) {
        int64_t m = local->n - i < step ? local->n - i : step;
        local_rc = mo_comm_send_msg(comm, 0, TAG_ROWS, feat + (size_t)i * width,
                                    (size_t)m * width * sizeof(float), err);
    }
    if (!rc && rank == 0 && !local_rc)
        local_rc = mo_ds_writer_commit(w, err);
    else if (rank == 0)
        mo_ds_writer_abort(w);
    if (!rc && rank == 0 && !local_rc)
        mo_log_info("dataset",
                    "%s: %lld rows x %zu features (%lld missing, fill %g), %s%s in %.2f s", path,
                    (long long)n, width, (long long)missing, s->fill,
                    info.task == MO_DS_REGRESSION ? "regression" : "classification",
                    info.task == MO_DS_REGRESSION ? "" : " labels", mo_time_mono() - t0);
    free(info.class_names);
    free(info.feature_names);
    free(ids);
    free(vals);
    free(all_n);
    free(all_text); /* after the writer: the class names point into it */
    return rc ? rc : mo_comm_agree(comm, local_rc, err);
}
