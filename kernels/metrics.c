/* metrics.c - evaluation metrics from totals that add up across ranks
 *
 * An accumulator is one flat array of doubles, so the cross-rank reduction is a single
 * allreduce(sum) of mo_metric_acc_data() and nothing here knows about MPI:
 *
 *   classification (k >= 2): [0, k*k)  confusion matrix, cm[true * k + pred] = row count
 *                            k*k       loss sum
 *                            k*k + 1   row count
 *   regression (k == 0):     n, sum err^2, sum |err|, sum y, sum y^2, loss sum
 *                            (err = pred - y, in double)
 *
 * Counts are exact in a double up to 2^53 rows. Sums of floats are not exact, so totals
 * reduced in another order differ in the last bits, as any reduction of floats does.
 */
#include "kernels/metrics.h"

#include "core/alloc.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

enum { REG_N, REG_SE, REG_AE, REG_SY, REG_SY2, REG_LOSS, REG_COUNT };

struct mo_metric_acc {
    int32_t k; /* classes; 0 for regression */
    size_t n;  /* doubles in data */
    double data[];
};

int mo_metric_acc_create(mo_metric_acc_t **out, int32_t k, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_metric_acc_create: out is NULL");
    *out = NULL;
    if (k < 0 || k == 1)
        return mo_errorf(err, MO_EINVAL,
                         "metrics need k >= 2 classes (or 0 for regression), got %d", (int)k);
    const size_t n = k ? (size_t)k * (size_t)k + 2 : REG_COUNT; /* k <= 2^31: no overflow */
    if (n > (SIZE_MAX - sizeof(mo_metric_acc_t)) / sizeof(double))
        return mo_errorf(err, MO_ENOMEM, "metrics for %d classes do not fit in memory", (int)k);
    mo_metric_acc_t *a = mo_calloc(1, sizeof *a + n * sizeof(double));
    if (!a)
        return mo_errorf(err, MO_ENOMEM, "metrics for %d classes: out of memory", (int)k);
    a->k = k;
    a->n = n;
    *out = a;
    return 0;
}

void mo_metric_acc_destroy(mo_metric_acc_t *a)
{
    free(a);
}

void mo_metric_acc_reset(mo_metric_acc_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        a->data[i] = 0.0;
}

/* Class ids come from argmax over k outputs and from labels checked when the dataset was
 * read; one out of range is a broken invariant. */
void mo_metric_acc_add_class(mo_metric_acc_t *a, const int32_t *pred, const int32_t *y,
                             int64_t rows, double loss_sum)
{
    if (!a || rows <= 0)
        return;
    MO_ASSERT(a->k >= 2);
    const int32_t k = a->k;
    for (int64_t i = 0; i < rows; i++) {
        MO_ASSERT(pred[i] >= 0 && pred[i] < k && y[i] >= 0 && y[i] < k);
        a->data[(size_t)y[i] * (size_t)k + (size_t)pred[i]] += 1.0;
    }
    a->data[(size_t)k * (size_t)k] += loss_sum;
    a->data[(size_t)k * (size_t)k + 1] += (double)rows;
}

void mo_metric_acc_add_reg(mo_metric_acc_t *a, const float *pred, const float *y, int64_t rows,
                           double loss_sum)
{
    if (!a || rows <= 0)
        return;
    MO_ASSERT(a->k == 0);
    double *d = a->data;
    for (int64_t i = 0; i < rows; i++) {
        const double e = (double)pred[i] - (double)y[i], t = (double)y[i];
        d[REG_SE] += e * e;
        d[REG_AE] += fabs(e);
        d[REG_SY] += t;
        d[REG_SY2] += t * t;
    }
    d[REG_N] += (double)rows;
    d[REG_LOSS] += loss_sum;
}

double *mo_metric_acc_data(mo_metric_acc_t *a, size_t *n)
{
    if (n)
        *n = a ? a->n : 0;
    return a ? a->data : NULL;
}

static int put(mo_metric_t *out, int max, int i, const char *name, double value)
{
    if (i < max) {
        out[i].name = name;
        out[i].value = value;
        return i + 1;
    }
    return i;
}

static double ratio(double num, double den)
{
    return den > 0.0 ? num / den : NAN;
}

/* Per class c, with tp = cm[c][c], fp = (column c) - tp, fn = (row c) - tp:
 *   precision = tp / (tp + fp), 0 when tp + fp == 0 (c never predicted)
 *   recall    = tp / (tp + fn), 0 when tp + fn == 0 (c never present)
 *   f1        = 2 p r / (p + r), 0 when p + r == 0
 * and the macro average is the mean over ALL k classes, a class absent from both labels and
 * predictions included (it contributes 0). This is scikit-learn's
 * precision_recall_fscore_support(y, pred, labels=range(k), average="macro",
 * zero_division=0); sklearn without labels= averages only the classes it sees, and would
 * then disagree across ranks that see different classes. */
static int finish_class(const mo_metric_acc_t *a, mo_metric_t *out, int max)
{
    const size_t k = (size_t)a->k;
    const double *cm = a->data;
    const double loss_sum = cm[k * k], rows = cm[k * k + 1];
    double trace = 0.0, sp = 0.0, sr = 0.0, sf = 0.0;
    for (size_t c = 0; c < k; c++) {
        double row = 0.0, col = 0.0;
        for (size_t j = 0; j < k; j++) {
            row += cm[c * k + j];
            col += cm[j * k + c];
        }
        const double tp = cm[c * k + c];
        const double p = col > 0.0 ? tp / col : 0.0;
        const double r = row > 0.0 ? tp / row : 0.0;
        trace += tp;
        sp += p;
        sr += r;
        sf += p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
    }
    const int has_rows = rows > 0.0;
    int i = 0;
    i = put(out, max, i, "loss", ratio(loss_sum, rows));
    i = put(out, max, i, "accuracy", ratio(trace, rows));
    i = put(out, max, i, "precision", has_rows ? sp / (double)k : NAN);
    i = put(out, max, i, "recall", has_rows ? sr / (double)k : NAN);
    i = put(out, max, i, "f1", has_rows ? sf / (double)k : NAN);
    i = put(out, max, i, "log_loss", ratio(loss_sum, rows)); /* the loss is -log p[y] */
    return i;
}

/* mse = SS_res / n, mae = sum |err| / n, r2 = 1 - SS_res / SS_tot with
 * SS_tot = sum y^2 - (sum y)^2 / n (the rank-summable form of sum (y - mean)^2).
 * r2 is NaN when SS_tot is 0, i.e. the targets are constant. "0" is anything within the
 * rounding bound of the formula, 4 n eps sum y^2 (sum y^2 carries up to n u sum y^2 of
 * rounding, (sum y)^2 / n up to 2 n u sum y^2, u = eps/2), because for a constant that is not
 * a short binary fraction (y = 0.1 repeated) the two sums rarely cancel exactly. Targets whose
 * spread is that small against their mean get NaN too: their r2 would be rounding noise. */
static int finish_reg(const mo_metric_acc_t *a, mo_metric_t *out, int max)
{
    const double *d = a->data;
    const double n = d[REG_N];
    double r2 = NAN;
    if (n > 0.0) {
        const double ss_tot = d[REG_SY2] - d[REG_SY] * d[REG_SY] / n;
        if (ss_tot > 4.0 * n * DBL_EPSILON * d[REG_SY2])
            r2 = 1.0 - d[REG_SE] / ss_tot;
    }
    int i = 0;
    i = put(out, max, i, "loss", ratio(d[REG_LOSS], n));
    i = put(out, max, i, "mse", ratio(d[REG_SE], n));
    i = put(out, max, i, "mae", ratio(d[REG_AE], n));
    i = put(out, max, i, "r2", r2);
    return i;
}

int mo_metric_finish(const mo_metric_acc_t *a, mo_metric_t *out, int max)
{
    if (!a || !out || max <= 0)
        return 0;
    return a->k ? finish_class(a, out, max) : finish_reg(a, out, max);
}

/* ---- ROC AUC ---- */

typedef struct {
    float score;
    int32_t pos;
} scored_t;

static int by_score(const void *pa, const void *pb)
{
    const float a = ((const scored_t *)pa)->score, b = ((const scored_t *)pb)->score;
    return (a > b) - (a < b);
}

/* AUC = U / (P N), U the Mann-Whitney statistic: over every (positive, negative) pair, 1 when
 * the positive scores higher, 1/2 on a tie. Sorted by score, a group of equal scores with p
 * positives and q negatives adds p * (negatives below the group) + p q / 2, which is the rank
 * sum with tied ranks averaged. Every term is an integer or a half, so the sum is exact while
 * P N < 2^53.
 * Labels: nonzero is positive. NaN when a class is absent, a score is NaN (no order to rank
 * by), n <= 0, or memory runs out. */
double mo_metric_auc(const float *scores, const int32_t *labels, int64_t n)
{
    if (n <= 0 || !scores || !labels || (uint64_t)n > SIZE_MAX / sizeof(scored_t))
        return NAN;
    scored_t *s = mo_mallocarray((size_t)n, sizeof *s);
    if (!s)
        return NAN;
    double npos = 0.0;
    int has_nan = 0;
    for (int64_t i = 0; i < n; i++) {
        s[i].score = scores[i];
        s[i].pos = labels[i] != 0;
        npos += s[i].pos;
        has_nan |= isnan(scores[i]);
    }
    const double nneg = (double)n - npos;
    double auc = NAN;
    if (!has_nan && npos > 0.0 && nneg > 0.0) {
        /* qsort is not stable, but only the size and make-up of each tie group matter. */
        qsort(s, (size_t)n, sizeof *s, by_score);
        double u = 0.0, neg_below = 0.0;
        for (int64_t i = 0; i < n;) {
            double p = 0.0, q = 0.0;
            int64_t j = i;
            for (; j < n && s[j].score == s[i].score; j++) {
                p += s[j].pos;
                q += !s[j].pos;
            }
            u += p * neg_below + 0.5 * p * q;
            neg_below += q;
            i = j;
        }
        auc = u / (npos * nneg);
    }
    free(s);
    return auc;
}
