/* sampler_hyperband.c - asynchronous successive halving (ASHA), one bracket
 *
 * Rungs sit at min_resource * eta^k epochs, for every k with that below max_resource. When a
 * trial first reports a step at or past a rung, its value joins that rung and it is PROMOTEd
 * (it trains on to the next rung) if it is within the top 1/eta of all values the rung has seen
 * so far, itself included, else PRUNEd. No trial ever waits for a rung to fill: that is what
 * makes it asynchronous (Li et al., MLSys 2020), and the rule is Optuna's
 * SuccessiveHalvingPruner with min_early_stopping_rate 0: with fewer than eta values the trial
 * must be the best so far, since a stopped trial is never resumed later. Hyperband's several
 * brackets are left out on purpose: ASHA's paper finds one bracket with the smallest
 * min_resource as good, and it keeps every group busy. Configurations are drawn uniformly,
 * keyed by (seed, trial), as random search.
 */
#include "jobs/sweep/sampler_impl.h"

#include <stdlib.h>

typedef struct {
    double *values;
    size_t n, cap;
} rung_t;

typedef struct {
    int64_t *rung_at; /* resource (epochs) of each rung */
    rung_t *rungs;
    size_t n_rungs;
    int64_t *seen_trial; /* trial -> rungs it has entered, parallel arrays */
    size_t *seen_rungs;
    size_t n_seen, cap_seen;
} asha_t;

static void asha_destroy(mo_sampler_t *s)
{
    asha_t *a = s->impl;
    if (!a)
        return;
    for (size_t k = 0; a->rungs && k < a->n_rungs; k++)
        free(a->rungs[k].values);
    free(a->rungs);
    free(a->rung_at);
    free(a->seen_trial);
    free(a->seen_rungs);
    free(a);
    s->impl = NULL;
}

static int asha_init(mo_sampler_t *s, mo_error_t *err)
{
    asha_t *a = calloc(1, sizeof(*a));
    if (!a)
        return mo_errorf(err, MO_ENOMEM, "hyperband: out of memory");
    s->impl = a;
    size_t n = 0;
    for (int64_t r = s->opts.min_resource; r < s->opts.max_resource; r *= s->opts.eta)
        n++;
    a->n_rungs = n;
    a->rung_at = calloc(n + 1, sizeof(int64_t));
    a->rungs = calloc(n + 1, sizeof(rung_t));
    if (!a->rung_at || !a->rungs)
        return mo_errorf(err, MO_ENOMEM, "hyperband: out of memory");
    int64_t r = s->opts.min_resource;
    for (size_t k = 0; k < n; k++, r *= s->opts.eta)
        a->rung_at[k] = r;
    return 0;
}

static int asha_suggest(mo_sampler_t *s, int64_t trial, mo_rng_t *rng, double *x, mo_error_t *err)
{
    (void)trial;
    (void)err;
    mo_sampler_draw_uniform(s->space, rng, x);
    return 0;
}

static size_t *seen_slot(asha_t *a, int64_t trial)
{
    for (size_t i = 0; i < a->n_seen; i++)
        if (a->seen_trial[i] == trial)
            return &a->seen_rungs[i];
    if (a->n_seen == a->cap_seen) {
        size_t cap = a->cap_seen ? 2 * a->cap_seen : 64;
        int64_t *nt = realloc(a->seen_trial, cap * sizeof(int64_t));
        if (!nt)
            return NULL;
        a->seen_trial = nt;
        size_t *nr = realloc(a->seen_rungs, cap * sizeof(size_t));
        if (!nr)
            return NULL;
        a->seen_rungs = nr;
        a->cap_seen = cap;
    }
    a->seen_trial[a->n_seen] = trial;
    a->seen_rungs[a->n_seen] = 0;
    return &a->seen_rungs[a->n_seen++];
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Optuna's _is_trial_promotable_to_next_rung on minimised values. */
static int promotable(const rung_t *r, double value, int eta, double *scratch)
{
    for (size_t i = 0; i < r->n; i++)
        scratch[i] = r->values[i];
    qsort(scratch, r->n, sizeof(double), cmp_double);
    size_t idx = r->n / (size_t)eta;
    idx = idx ? idx - 1 : 0;
    return value <= scratch[idx];
}

static int asha_report(mo_sampler_t *s, const mo_trial_rec_t *t, int64_t step, double value,
                       mo_decision_t *decision, mo_error_t *err)
{
    asha_t *a = s->impl;
    size_t *entered = seen_slot(a, t->number);
    if (!entered)
        return mo_errorf(err, MO_ENOMEM, "hyperband: out of memory");
    while (*entered < a->n_rungs && step >= a->rung_at[*entered]) {
        rung_t *r = &a->rungs[*entered];
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 16;
            double *nv = realloc(r->values, 2 * cap * sizeof(double)); /* + sort scratch */
            if (!nv)
                return mo_errorf(err, MO_ENOMEM, "hyperband: out of memory");
            r->values = nv;
            r->cap = cap;
        }
        r->values[r->n++] = value;
        (*entered)++;
        if (!promotable(r, value, s->opts.eta, r->values + r->cap)) {
            *decision = MO_DECISION_PRUNE;
            return 0;
        }
        *decision = MO_DECISION_PROMOTE;
    }
    return 0;
}

const mo_sampler_ops_t mo_sampler_hyperband_ops = {
    .name = "hyperband",
    .init = asha_init,
    .suggest = asha_suggest,
    .report = asha_report,
    .destroy = asha_destroy,
};
