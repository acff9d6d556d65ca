/* eval.c - training and validation metrics, reduced exactly over ranks
 *
 * Each rank accumulates counts and sums (kernels/metrics.h) over the rows it processed; one
 * allreduce(sum) of that flat array gives the totals every metric is computed from. Binary
 * tasks also keep (score, label) pairs, gathered to every rank for an exact ROC AUC.
 */
#include "jobs/train/train_impl.h"

#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of validation forwarded per call. */
#define EVAL_BLOCK 4096

int eval_acc_create(eval_acc_t *e, const train_data_t *d, int64_t max_rows, mo_error_t *err)
{
    (void)max_rows;
    memset(e, 0, sizeof *e);
    int32_t k = d->task == MO_DS_CLASSIFICATION ? d->n_classes : 0;
    e->binary = k == 2;
    return mo_metric_acc_create(&e->acc, k, err);
}

void eval_acc_free(eval_acc_t *e)
{
    if (!e)
        return;
    mo_metric_acc_destroy(e->acc);
    free(e->scores);
    free(e->labels);
    memset(e, 0, sizeof *e);
}

void eval_acc_reset(eval_acc_t *e)
{
    mo_metric_acc_reset(e->acc);
    e->n_scores = 0;
}

int eval_acc_push_scores(eval_acc_t *e, const float *score, const int32_t *labels, int64_t n,
                         mo_error_t *err)
{
    if (!e->binary || n <= 0)
        return 0;
    if (e->n_scores + n > e->cap_scores) {
        int64_t cap = e->cap_scores ? e->cap_scores : 1024;
        while (cap < e->n_scores + n)
            cap *= 2;
        float *s = mo_reallocarray(e->scores, (size_t)cap, sizeof *s);
        if (s)
            e->scores = s;
        int32_t *l = mo_reallocarray(e->labels, (size_t)cap, sizeof *l);
        if (l)
            e->labels = l;
        if (!s || !l)
            return mo_errorf(err, MO_ENOMEM, "out of memory keeping %lld scores", (long long)cap);
        e->cap_scores = cap;
    }
    memcpy(e->scores + e->n_scores, score, (size_t)n * sizeof *score);
    memcpy(e->labels + e->n_scores, labels, (size_t)n * sizeof *labels);
    e->n_scores += n;
    return 0;
}

int eval_acc_add(eval_acc_t *e, const int32_t *pred, const float *score, const int32_t *yc,
                 const float *yv_pred, const float *yv, int64_t rows, double loss_sum,
                 mo_error_t *err)
{
    if (!yc) {
        mo_metric_acc_add_reg(e->acc, yv_pred, yv, rows, loss_sum);
        return 0;
    }
    mo_metric_acc_add_class(e->acc, pred, yc, rows, loss_sum);
    return eval_acc_push_scores(e, score, yc, rows, err);
}

int eval_acc_finish(eval_acc_t *e, mo_comm_t *comm, const char *prefix, char names[][32],
                    double *values, mo_error_t *err)
{
    size_t n = 0;
    double *data = mo_metric_acc_data(e->acc, &n);
    int rc = mo_comm_allreduce(comm, data, n, MO_DT_DOUBLE, MO_OP_SUM, err);
    if (rc)
        return rc;
    mo_metric_t m[MO_METRIC_MAX];
    int count = mo_metric_finish(e->acc, m, MO_METRIC_MAX);
    for (int i = 0; i < count; i++) {
        snprintf(names[i], 32, "%s%s", prefix, m[i].name);
        values[i] = m[i].value;
    }
    if (e->binary) {
        float *scores = NULL;
        int32_t *labels = NULL;
        size_t ns = 0, nl = 0;
        rc = mo_comm_allgatherv(comm, e->scores, (size_t)e->n_scores, MO_DT_FLOAT, (void **)&scores,
                                &ns, err);
        if (!rc)
            rc = mo_comm_allgatherv(comm, e->labels, (size_t)e->n_scores, MO_DT_INT32,
                                    (void **)&labels, &nl, err);
        if (!rc) {
            snprintf(names[count], 32, "%sauc", prefix);
            values[count++] = mo_metric_auc(scores, labels, (int64_t)ns);
        }
        free(scores);
        free(labels);
        if (rc)
            return rc;
    }
    return count;
}

int eval_validation(const model_t *m, model_work_t *w, const float *params, const train_data_t *d,
                    eval_acc_t *e, mo_comm_t *comm, char names[][32], double *values,
                    mo_error_t *err)
{
    int64_t begin, count;
    mo_ds_shard_range(d->n_val, mo_comm_rank(comm), mo_comm_size(comm), &begin, &count);
    const float *X = d->val_from_file ? d->vX : d->X;
    const int32_t *yc = d->val_from_file ? d->vyc : d->yc;
    const float *yv = d->val_from_file ? d->vyv : d->yv;
    int64_t block = w->max_rows < EVAL_BLOCK ? w->max_rows : EVAL_BLOCK;
    float *bx = mo_mallocarray((size_t)(block * d->n_features), sizeof *bx);
    int32_t *byc = mo_mallocarray((size_t)block, sizeof *byc);
    float *byv = mo_mallocarray((size_t)block, sizeof *byv);
    int32_t *pred = mo_mallocarray((size_t)block, sizeof *pred);
    float *score = mo_mallocarray((size_t)block, sizeof *score);
    float *hout = mo_mallocarray((size_t)(block * m->n_out), sizeof *hout);
    /* A device backend reads the block from its own memory: one upload per block. */
    const mo_kern_backend_t *be = w->be;
    int dev = be->bind != NULL;
    float *dx = dev ? be->alloc((size_t)(block * d->n_features) * sizeof *dx) : NULL;
    void *dy = dev ? be->alloc((size_t)block * 4) : NULL;
    int rc = 0;
    if (!bx || !byc || !byv || !pred || !score || !hout || (dev && (!dx || !dy)))
        rc = mo_errorf(err, MO_ENOMEM, "out of memory for validation");
    eval_acc_reset(e);
    for (int64_t r = 0; !rc && r < count; r += block) {
        int64_t k = count - r < block ? count - r : block;
        for (int64_t i = 0; i < k; i++) {
            int64_t row = d->val_idx[begin + r + i];
            memcpy(bx + i * d->n_features, X + row * d->n_features,
                   (size_t)d->n_features * sizeof *bx);
            if (yc)
                byc[i] = yc[row];
            else
                byv[i] = yv[row];
        }
        const float *xin = bx;
        const void *yin = yc ? (const void *)byc : (const void *)byv;
        if (dev) {
            be->upload(dx, bx, (size_t)(k * d->n_features) * sizeof *bx);
            be->upload(dy, yin, (size_t)k * 4);
            xin = dx;
            yin = dy;
        }
        model_forward(m, w, params, xin, k);
        double loss = model_loss(m, w, yc ? yin : NULL, yc ? NULL : yin, k, 0.0f);
        const float *out = model_outputs(m, w, k, hout);
        if (yc)
            model_predict(m, out, k, pred, score);
        rc = dev && be->check ? be->check(err) : 0;
        if (!rc)
            rc = eval_acc_add(e, pred, score, yc ? byc : NULL, out, byv, k, loss, err);
    }
    if (dx)
        be->free(dx);
    if (dy)
        be->free(dy);
    free(hout);
    free(bx);
    free(byc);
    free(byv);
    free(pred);
    free(score);
    rc = mo_comm_agree(comm, rc, err);
    return rc ? rc : eval_acc_finish(e, comm, "val_", names, values, err);
}
