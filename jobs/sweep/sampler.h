/* sampler.h - sweep search algorithms behind one table: grid, random, TPE, hyperband (ASHA)
 *
 * The controller drives a sampler with three calls:
 *   suggest(trial, x)              parameters for trial number `trial` (one double per space
 *                                  parameter, see space.h), recorded as running;
 *   report(trial, step, v, &d)     an intermediate value; d is continue, prune or promote
 *                                  (only hyperband answers other than continue);
 *   tell(trial, status, objective) the trial ended: completed, pruned or failed.
 *
 * Determinism and resume. Every random draw comes from Philox keyed by (seed, trial number),
 * never from a shared stream, so a trial's suggestion does not depend on how many trials run
 * in parallel or in which order groups ask. A sampler has no state beyond the history of
 * suggested, reported and told trials, so it is not serialised: a resumed sweep rebuilds it by
 * replaying the journal in event order with mo_sampler_restore (a trial's parameters, as
 * suggested), mo_sampler_report and mo_sampler_tell. Grid and random then suggest exactly what
 * the uninterrupted run would have; TPE and hyperband give the same answer as the
 * uninterrupted run would for the same history (TPE sees the old trials).
 *
 * Direction: values are minimised; with opts.maximize the sampler negates them internally.
 * The sampler borrows `space`, which must outlive it.
 */
#ifndef MO_JOBS_SWEEP_SAMPLER_H
#define MO_JOBS_SWEEP_SAMPLER_H

#include "core/status.h"
#include "jobs/sweep/space.h"

#include <stdint.h>

typedef enum {
    MO_TRIAL_RUNNING = 0,
    MO_TRIAL_COMPLETED,
    MO_TRIAL_PRUNED,
    MO_TRIAL_FAILED,
} mo_trial_status_t;

typedef enum {
    MO_DECISION_CONTINUE = 0, /* keep training */
    MO_DECISION_PRUNE,        /* stop the trial now; tell it MO_TRIAL_PRUNED */
    MO_DECISION_PROMOTE,      /* hyperband: the trial reached a rung in its top 1/eta: go on */
} mo_decision_t;

typedef struct {
    uint64_t seed;
    int maximize;
    /* tpe (Optuna's defaults but n_ei_candidates) */
    int n_startup_trials; /* 10: random trials before the Parzen estimators start */
    int n_ei_candidates;  /* 8, Optuna 24: fewer candidates explore more; over held-out seeds
                           * (1000-4999) at 50, 100 and 200 trials it lowers the mean regret on
                           * Branin and Hartmann6 by 10-20% (BENCHMARKS.md, sweep samplers) */
    double prior_weight;  /* 1.0 */
    int constant_liar;    /* 1: running trials count as bad, so parallel suggestions differ */
    /* hyperband (ASHA) */
    int64_t min_resource; /* 1: epochs of the first rung */
    int64_t max_resource; /* 9: epochs of a full trial */
    int eta;              /* 3: reduction factor */
} mo_sampler_opts_t;

void mo_sampler_opts_default(mo_sampler_opts_t *opts);

typedef struct mo_sampler mo_sampler_t;

/* `name`: "grid", "random", "tpe" or "hyperband". `opts` may be NULL (defaults). Grid checks
 * that every parameter has a finite grid (mo_space_check_grid). Caller destroys. */
int mo_sampler_create(mo_sampler_t **out, const char *name, const mo_space_t *space,
                      const mo_sampler_opts_t *opts, mo_error_t *err);
void mo_sampler_destroy(mo_sampler_t *s);
const char *mo_sampler_name(const mo_sampler_t *s);
/* Trials the algorithm can produce: the grid's size, or -1 when unbounded. */
int64_t mo_sampler_capacity(const mo_sampler_t *s);

/* Fill x[mo_space_dim(space)]. A trial number may be suggested once (MO_EINVAL after);
 * MO_ENOTFOUND when a grid is exhausted. */
int mo_sampler_suggest(mo_sampler_t *s, int64_t trial, double *x, mo_error_t *err);
/* Record a trial suggested before (from the journal) without drawing; status and objective as
 * for tell (RUNNING: it will be re-run and told later). */
int mo_sampler_restore(mo_sampler_t *s, int64_t trial, const double *x, mo_error_t *err);
/* Intermediate value at `step` (epochs, increasing). `decision` may be NULL. */
int mo_sampler_report(mo_sampler_t *s, int64_t trial, int64_t step, double value,
                      mo_decision_t *decision, mo_error_t *err);
/* End of a trial. COMPLETED needs a finite objective; PRUNED may pass NAN (the last reported
 * value is used); FAILED trials are ignored by the algorithms. */
int mo_sampler_tell(mo_sampler_t *s, int64_t trial, mo_trial_status_t status, double objective,
                    mo_error_t *err);

#endif
