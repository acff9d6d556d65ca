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

/* A nested run (a sweep's trial) on `comm`, collective over it: its own run id, the parent's
 * plugins opened for this comm with `output` as run folder, run_start with the parent's run id
 * as parent_run_id and `params` (copied) as the run's parameters. Log lines keep going to the
 * parent's plugins. */
int mo_run_life_begin_child(mo_run_life_t *rl, mo_comm_t *comm, const mo_run_life_t *parent,
                            const mo_spec_t *parent_spec, const mo_cluster_t *cluster,
                            const char *name, const char *kind, const char *output,
                            const maestro_kv_t *params, size_t n_params, mo_error_t *err);
/* <output>/run.h5 and spec.yml as artifacts when present, run_end (no registration), close. */
void mo_run_life_end_child(mo_run_life_t *rl, mo_comm_t *comm, const char *output, int rc,
                           const mo_job_ctx_t *ctx);

#endif
