/* child.h - the runner's services for composite kinds (a sweep's trials)
 *
 * A kind that runs other specs (sweep; later pipeline) gets check_spec, run_spec, child_begin
 * and child_end in its context (jobs/job.h). They load a child spec exactly as the runner
 * loads a top-level one (same cluster.yml, secrets, --set rules and checks) and give the child
 * its own nested run for the plugins, so kinds never include each other.
 */
#ifndef MO_RUNNER_CHILD_H
#define MO_RUNNER_CHILD_H

#include "jobs/job.h"
#include "runner/run_life.h"
#include "runner/spec.h"

typedef struct {
    const mo_spec_t *spec;       /* the top-level spec */
    const mo_cluster_t *cluster; /* cluster.yml */
    mo_plugins_t *secrets;       /* secrets providers for ${secret:...} in child specs */
    mo_run_life_t *life;         /* the top-level run's id and plugins */
} mo_runner_state_t;

/* Point ctx's composite services at `state` (which must outlive ctx). */
void mo_runner_bind(mo_job_ctx_t *ctx, mo_runner_state_t *state);

#endif
