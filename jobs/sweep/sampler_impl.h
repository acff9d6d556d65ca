/* sampler_impl.h - what the sampler files share: the base struct, the history, the vtable */
#ifndef MO_JOBS_SWEEP_SAMPLER_IMPL_H
#define MO_JOBS_SWEEP_SAMPLER_IMPL_H

#include "core/rng.h"
#include "jobs/sweep/sampler.h"

#include <stddef.h>

typedef struct {
    int64_t number;
    mo_trial_status_t status;
    double value;      /* final objective, minimised (sign applied); NAN until told */
    int64_t last_step; /* -1 until a report */
    double last_value; /* minimised */
    double *x;         /* dim values, owned */
} mo_trial_rec_t;

typedef struct {
    const char *name;
    /* Optional; called once after the base is filled in. */
    int (*init)(mo_sampler_t *s, mo_error_t *err);
    /* Draw trial `trial`'s parameters; the history does not contain it yet. */
    int (*suggest)(mo_sampler_t *s, int64_t trial, mo_rng_t *rng, double *x, mo_error_t *err);
    /* Optional: decide on an intermediate value (already in the history, minimised). */
    int (*report)(mo_sampler_t *s, const mo_trial_rec_t *t, int64_t step, double value,
                  mo_decision_t *decision, mo_error_t *err);
    void (*destroy)(mo_sampler_t *s); /* optional: frees impl */
} mo_sampler_ops_t;

struct mo_sampler {
    const mo_sampler_ops_t *ops;
    const mo_space_t *space;
    mo_sampler_opts_t opts;
    double sign; /* +1 minimise, -1 maximise */
    int64_t capacity;
    mo_trial_rec_t *trials; /* in the order suggested or restored */
    size_t n_trials, cap_trials;
    void *impl;
};

extern const mo_sampler_ops_t mo_sampler_grid_ops;
extern const mo_sampler_ops_t mo_sampler_random_ops;
extern const mo_sampler_ops_t mo_sampler_tpe_ops;
extern const mo_sampler_ops_t mo_sampler_hyperband_ops;

/* Uniform draw over the whole space (log scales uniform in log space); shared by random, the
 * TPE start-up trials and hyperband. */
void mo_sampler_draw_uniform(const mo_space_t *space, mo_rng_t *rng, double *x);

#endif
