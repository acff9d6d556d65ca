/* run_life.h - the life of a run around its job kind: id, spec copy, plugins, end report */
#ifndef MO_RUNNER_RUN_LIFE_H
#define MO_RUNNER_RUN_LIFE_H

#include "comm/comm.h"
#include "jobs/job.h"
#include "runner/cluster.h"
#include "runner/spec.h"

typedef struct {
    char run_id[160];
    int64_t start_ns;
    mo_plugins_t *plugins;
    maestro_kv_t *params;
    size_t n_params;
    char *spec_text;
} mo_run_life_t;

/* Collective, after the output folder exists: agree on a run id (rank 0 makes it), write the
 * resolved spec to <output>/spec.yml (rank 0, secrets as references), load the spec's plugins
 * on every rank, route log lines to them, and send run_start. */
int mo_run_life_begin(mo_run_life_t *rl, mo_comm_t *comm, const mo_spec_t *spec,
                      const mo_cluster_t *cluster, mo_error_t *err);

/* After the job: hand run.h5 and spec.yml to the plugins as artifacts (rank 0), send run_end
 * with the status that `rc` means and the job's final metrics, close the plugins. */
void mo_run_life_end(mo_run_life_t *rl, mo_comm_t *comm, const mo_spec_t *spec, int rc,
                     const mo_job_ctx_t *ctx);

#endif
