/* sweep.h - `kind: sweep`: hyperparameter sweeps whose trials are groups of ranks */
#ifndef MO_JOBS_SWEEP_H
#define MO_JOBS_SWEEP_H

#include "jobs/job.h"

extern const mo_job_kind_t mo_job_sweep;

#endif
