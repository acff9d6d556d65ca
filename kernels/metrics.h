/* metrics.h - evaluation metrics reduced exactly across ranks
 *
 * Every metric is computed from counts and sums that add up across ranks (a confusion matrix,
 * loss sums, sums of errors and squares), never from averages of per-rank averages: a rank
 * accumulates into an mo_metric_acc_t, the trainer allreduces the flat array
 * mo_metric_acc_data() (sum), and mo_metric_finish() turns the totals into numbers. ROC AUC
 * (binary) needs every score: the trainer gathers (score, label) pairs and calls mo_metric_auc.
 */
#ifndef MO_KERNELS_METRICS_H
#define MO_KERNELS_METRICS_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mo_metric_acc mo_metric_acc_t;

/* k >= 2 classes for classification; k == 0 for regression. */
int mo_metric_acc_create(mo_metric_acc_t **out, int32_t k, mo_error_t *err);
void mo_metric_acc_destroy(mo_metric_acc_t *a);
void mo_metric_acc_reset(mo_metric_acc_t *a);

/* Classification: add rows with predicted class pred[i], true class y[i], and the summed
 * log loss of these rows (the loss the trainer computed; -log p[y]). */
void mo_metric_acc_add_class(mo_metric_acc_t *a, const int32_t *pred, const int32_t *y,
                             int64_t rows, double loss_sum);
/* Regression: add rows with prediction and target; loss_sum is the summed training loss. */
void mo_metric_acc_add_reg(mo_metric_acc_t *a, const float *pred, const float *y, int64_t rows,
                           double loss_sum);

/* The accumulator as a flat array of doubles (counts stored exactly as doubles up to 2^53),
 * for an allreduce(sum) across ranks. */
double *mo_metric_acc_data(mo_metric_acc_t *a, size_t *n);

typedef struct {
    const char *name; /* "loss", "accuracy", "precision", "recall", "f1", "log_loss", "mse",
                         "mae", "r2", "auc" */
    double value;
} mo_metric_t;

#define MO_METRIC_MAX 10

/* Turn totals into metrics: classification gives loss, accuracy, precision, recall, f1,
 * log_loss; regression gives loss, mse, mae, r2. Returns the number written (at most max,
 * in that order; names are static strings). Precision, recall and f1 are macro averages over
 * ALL k classes with scikit-learn's zero_division=0 convention: a class never predicted has
 * precision 0, a class never present has recall 0, f1 is 0 when both are, and a class
 * absent from labels and predictions still counts (as 0) in the mean (sklearn with
 * labels=range(k)); see metrics.c. r2 is NaN for constant targets; every value is NaN when
 * no rows were added. */
int mo_metric_finish(const mo_metric_acc_t *a, mo_metric_t *out, int max);

/* Exact ROC AUC of scores against binary labels (nonzero = positive; ties count one half),
 * O(n log n). Returns NaN when only one class is present, a score is NaN, n <= 0, or the
 * scratch allocation fails. */
double mo_metric_auc(const float *scores, const int32_t *labels, int64_t n);

#endif
