/* pruner.h - the median stopping rule for a sweep's intermediate values
 *
 * Katib's `early_stopping: {name: median, min_trials_required, start_step}` with Optuna's
 * MedianPruner semantics, which are the precise ones: at step s (s >= start_step), a running
 * trial is pruned when its best intermediate value so far is worse than the median of the
 * values that completed trials reported at that same step s, provided at least
 * min_trials_required completed trials reported step s. Katib's own medianstop averages each
 * completed trial's first start_step values instead; comparing like with like at the same step
 * is what makes the rule fair to slow starters, and is what Optuna (the TPE peer) does.
 */
#ifndef MO_JOBS_SWEEP_PRUNER_H
#define MO_JOBS_SWEEP_PRUNER_H

#include "core/status.h"
#include "jobs/sweep/sampler.h"

#include <stdint.h>

typedef struct {
    int64_t min_trials_required; /* Katib's default 3; >= 1 */
    int64_t start_step;          /* no pruning before this step; Katib's default 4 */
    int maximize;
} mo_pruner_opts_t;

void mo_pruner_opts_default(mo_pruner_opts_t *opts);

typedef struct mo_pruner mo_pruner_t;

int mo_pruner_create(mo_pruner_t **out, const mo_pruner_opts_t *opts, mo_error_t *err);
void mo_pruner_destroy(mo_pruner_t *p);

/* Record trial `trial`'s value at `step` and decide: *prune = 1 to stop it now. Steps of a
 * trial must increase. */
int mo_pruner_report(mo_pruner_t *p, int64_t trial, int64_t step, double value, int *prune,
                     mo_error_t *err);
/* The trial ended; only COMPLETED trials feed the medians. */
int mo_pruner_finish(mo_pruner_t *p, int64_t trial, mo_trial_status_t status, mo_error_t *err);

#endif
