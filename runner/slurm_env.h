/* slurm_env.h - what a run learns from Slurm's environment: its labels, and requeues
 *
 * Under Slurm (SLURM_JOB_ID set) a run labels its metrics and log records with the job id,
 * the array job and task (for array jobs) and the node list, so a dashboard or a log query
 * finds the Slurm job behind a run and the other way round. A job that Slurm starts again
 * (SLURM_RESTART_COUNT > 0: `scontrol requeue`, the time-limit requeue of the sbatch script,
 * a node failure, preemption) continues from what its output folder holds, as with --resume.
 */
#ifndef MO_RUNNER_SLURM_ENV_H
#define MO_RUNNER_SLURM_ENV_H

#include "plugins/maestro_plugin.h"
#include "runner/kinds.h"

#include <stddef.h>

#define MO_SLURM_MAX_LABELS 4
/* Longer node lists are cut to this many bytes, ending in "..." (a label, not an inventory). */
#define MO_SLURM_NODELIST_MAX 256

typedef struct {
    int present;        /* SLURM_JOB_ID is set (and sane) */
    long restart_count; /* SLURM_RESTART_COUNT, 0 when unset or not a number */
    size_t n_labels;    /* labels below in use */
    char keys[MO_SLURM_MAX_LABELS][32];
    char values[MO_SLURM_MAX_LABELS][MO_SLURM_NODELIST_MAX + 1];
} mo_slurm_env_t;

/* Read the environment. Values holding control characters or not printable ASCII are left
 * out (they would be a label nobody can type); labels: slurm_job_id, slurm_array_job_id and
 * slurm_array_task_id (both only for array tasks), slurm_nodelist (SLURM_JOB_NODELIST, else
 * SLURM_NODELIST). Not under Slurm: present = 0, no labels. */
void mo_slurm_env_read(mo_slurm_env_t *out);

/* The labels as key/value pairs pointing into `env`; returns how many (<= cap). */
size_t mo_slurm_env_labels(const mo_slurm_env_t *env, maestro_kv_t *kv, size_t cap);

/* The process's Slurm environment, read once (the first call); never NULL. */
const mo_slurm_env_t *mo_slurm_env(void);

/* What a requeued run of `kind` would continue from in `output`: 1 with a description in
 * `what` ("checkpoint runs/x/checkpoints/ckpt-40.h5", "sweep journal runs/x/sweep.h5") when
 * there is something, 0 when the run starts fresh (nothing there, or a kind that does not
 * resume). Looks at the file system only. */
int mo_slurm_resume_point(const mo_kind_entry_t *kind, const char *output, char *what,
                          size_t what_size);

#endif
