/* pruner.c - median stopping rule (Optuna MedianPruner semantics, Katib's names)
 *
 * Each trial keeps its (step, value) series, minimised. A decision needs, for the step at hand,
 * the values of the completed trials at that step: a linear scan with a binary search per
 * trial. Sweeps have tens to thousands of trials and a decision per epoch, so this costs far
 * less than the epoch it judges, and needs no index to keep in step with resumes.
 */
#include "jobs/sweep/pruner.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int64_t number;
    mo_trial_status_t status;
    int64_t *steps;
    double *values;
    size_t n, cap;
    double best;
} series_t;

struct mo_pruner {
    mo_pruner_opts_t opts;
    double sign;
    series_t *trials;
    size_t n, cap;
    double *scratch;
    size_t cap_scratch;
};

void mo_pruner_opts_default(mo_pruner_opts_t *opts)
{
    if (!opts)
        return;
    opts->min_trials_required = 3;
    opts->start_step = 4;
    opts->maximize = 0;
}

int mo_pruner_create(mo_pruner_t **out, const mo_pruner_opts_t *opts, mo_error_t *err)
{
    if (!out)
        return mo_errorf(err, MO_EINVAL, "mo_pruner_create: out is NULL");
    *out = NULL;
    mo_pruner_opts_t o;
    mo_pruner_opts_default(&o);
    if (opts)
        o = *opts;
    if (o.min_trials_required < 1)
        return mo_errorf(err, MO_EINVAL,
                         "early_stopping.min_trials_required must be >= 1, got %lld",
                         (long long)o.min_trials_required);
    if (o.start_step < 0)
        return mo_errorf(err, MO_EINVAL, "early_stopping.start_step must be >= 0, got %lld",
                         (long long)o.start_step);
    mo_pruner_t *p = calloc(1, sizeof(*p));
    if (!p)
        return mo_errorf(err, MO_ENOMEM, "mo_pruner_create: out of memory");
    p->opts = o;
    p->sign = o.maximize ? -1.0 : 1.0;
    *out = p;
    return 0;
}

void mo_pruner_destroy(mo_pruner_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->trials[i].steps);
        free(p->trials[i].values);
    }
    free(p->trials);
    free(p->scratch);
    free(p);
}

static series_t *find_or_add(mo_pruner_t *p, int64_t trial, int add)
{
    for (size_t i = p->n; i-- > 0;)
        if (p->trials[i].number == trial)
            return &p->trials[i];
    if (!add)
        return NULL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        series_t *nt = realloc(p->trials, cap * sizeof(*nt));
        if (!nt)
            return NULL;
        p->trials = nt;
        p->cap = cap;
    }
    p->trials[p->n] = (series_t){.number = trial, .status = MO_TRIAL_RUNNING, .best = INFINITY};
    return &p->trials[p->n++];
}

/* Value of a series at exactly `step`, if reported. */
static int value_at(const series_t *t, int64_t step, double *out)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->steps[mid] < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && t->steps[lo] == step) {
        *out = t->values[lo];
        return 1;
    }
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int mo_pruner_report(mo_pruner_t *p, int64_t trial, int64_t step, double value, int *prune,
                     mo_error_t *err)
{
    if (prune)
        *prune = 0;
    if (!p || !prune)
        return mo_errorf(err, MO_EINVAL, "mo_pruner_report: %s is NULL", !p ? "pruner" : "prune");
    if (isnan(value))
        return mo_errorf(err, MO_EINVAL, "trial %lld: intermediate value is NaN", (long long)trial);
    series_t *t = find_or_add(p, trial, 1);
    if (!t)
        return mo_errorf(err, MO_ENOMEM, "pruner: out of memory");
    if (t->status != MO_TRIAL_RUNNING)
        return mo_errorf(err, MO_EINVAL, "trial %lld has already ended", (long long)trial);
    if (t->n && step <= t->steps[t->n - 1])
        return mo_errorf(err, MO_EINVAL, "trial %lld: step %lld after step %lld", (long long)trial,
                         (long long)step, (long long)t->steps[t->n - 1]);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        int64_t *ns = realloc(t->steps, cap * sizeof(int64_t));
        if (!ns)
            return mo_errorf(err, MO_ENOMEM, "pruner: out of memory");
        t->steps = ns;
        double *nv = realloc(t->values, cap * sizeof(double));
        if (!nv)
            return mo_errorf(err, MO_ENOMEM, "pruner: out of memory");
        t->values = nv;
        t->cap = cap;
    }
    double v = p->sign * value;
    t->steps[t->n] = step;
    t->values[t->n++] = v;
    t->best = fmin(t->best, v);
    if (step < p->opts.start_step)
        return 0;
    if (p->cap_scratch < p->n) {
        double *ns = realloc(p->scratch, p->n * sizeof(double));
        if (!ns)
            return mo_errorf(err, MO_ENOMEM, "pruner: out of memory");
        p->scratch = ns;
        p->cap_scratch = p->n;
    }
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->trials[i].status == MO_TRIAL_COMPLETED && value_at(&p->trials[i], step, &v))
            p->scratch[m++] = v;
    if (m == 0 || m < (size_t)p->opts.min_trials_required)
        return 0;
    qsort(p->scratch, m, sizeof(double), cmp_double);
    double median = m % 2 ? p->scratch[m / 2] : 0.5 * (p->scratch[m / 2 - 1] + p->scratch[m / 2]);
    *prune = t->best > median;
    return 0;
}

int mo_pruner_finish(mo_pruner_t *p, int64_t trial, mo_trial_status_t status, mo_error_t *err)
{
    if (!p)
        return mo_errorf(err, MO_EINVAL, "mo_pruner_finish: pruner is NULL");
    if (status == MO_TRIAL_RUNNING)
        return mo_errorf(err, MO_EINVAL, "trial %lld: finish needs an end status",
                         (long long)trial);
    series_t *t = find_or_add(p, trial, 1);
    if (!t)
        return mo_errorf(err, MO_ENOMEM, "pruner: out of memory");
    t->status = status;
    return 0;
}
